//! `popdecode bench`: epochs timed on the tutorial's shape, per backend and network (each hidden width, or one
//! deeper network; regression or classification; any optimizer), with each GPU tutorial kernel's own time; or,
//! with --networks, stacks of many same-shape networks trained together through `Backend::train_stack`, beside
//! one network as wide as each stack.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use popdecode::Error;
use popdecode::backend::Backend;
use popdecode::bench::{
    BenchPlan, BenchRow, StackPlan, StackRow, StackRows, bench, bench_stack, tutorial_network,
};
use popdecode::cpu::CpuBackend;
use popdecode::data::Dataset;
use popdecode::data::problem::Problem;
use popdecode::data::split::Split;
use popdecode::data::synth;
use popdecode::gpu::GpuBackend;
use popdecode::gpu::runtime::probe::copy_bandwidth;
use popdecode::gpu::runtime::wgsl::Tiles;
use popdecode::gpu::tutorial::layout::PlanOverrides;
use popdecode::memory;
use popdecode::objective::Objective;
use popdecode::optim::{self, HyperParameters};
use popdecode::select::{BackendChoice, open_backend};

use super::args::{BackendName, Task, synth_config};
use super::print::{bench_header, bench_networks_header, bench_networks_row, bench_row};

#[derive(Args)]
pub struct BenchArgs {
    /// Which backends to time, comma-separated (gpu, cpu, reference), or all.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "gpu",
        value_name = "B,B,..."
    )]
    pub backend: Vec<BackendName>,
    /// Pick the GPU adapter whose name contains this (case-insensitive); see `popdecode info`.
    #[arg(long, value_name = "SUBSTRING")]
    pub adapter: Option<String>,
    /// One deeper network instead of one per --hidden width: its hidden layers' widths, first to last (e.g.
    /// 200,100,50).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "M1,M2,...",
        conflicts_with = "hidden"
    )]
    pub layers: Option<Vec<usize>>,
    /// What the network decodes: the angle (MSE, the tutorial) or its bin among --classes (NLL, the bonus
    /// tutorial's classifier).
    #[arg(long, value_enum, default_value_t = Task::Regress)]
    pub task: Task,
    /// Orientation bins for --task classify [default: 20]. Refused with --task regress.
    #[arg(long, value_name = "C")]
    pub classes: Option<usize>,
    /// The optimizer (with its defaults; the learning rate is 1e-6, as speed does not depend on it).
    #[arg(long, default_value = "sgd", value_name = "NAME")]
    pub optimizer: String,
    /// Hidden widths, comma-separated [default: 10,200,1000; 10,200 on a software adapter; with --networks, one
    /// width, default 10].
    #[arg(long, value_delimiter = ',', value_name = "M,M,...")]
    pub hidden: Option<Vec<usize>>,
    /// Epochs per timed run [default: 100 on a GPU, 10 on a software adapter or the fast CPU backend, 2 on the
    /// reference].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Neurons (the matrix width).
    #[arg(long, default_value_t = 23589)]
    pub neurons: usize,
    /// Timed runs per row; the median is reported [default: 5 on a GPU, 3 otherwise].
    #[arg(long)]
    pub repeats: Option<usize>,
    /// Print one JSON object per row instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Split-K threads over the neurons in the forward pass [default: chosen for the adapter].
    #[arg(long, value_name = "K")]
    pub k_split: Option<usize>,
    /// Register tile of the big kernels: rows, hidden units, vec4 columns [default: chosen for the adapter].
    #[arg(long, value_name = "R,H,C")]
    pub tiles: Option<Tiles>,
    /// Threads sharing each column's training rows in the weight gradient (1, 2, 4, ... 64) [default: 4 on a
    /// GPU, 1 on a software adapter].
    #[arg(long, value_name = "G")]
    pub row_split: Option<usize>,
    /// Split-K threads of one register tile per forward_partial workgroup (1, 2, 4, ... 64); the workgroup's
    /// other threads take neighbouring tiles, which share its reads of the input weights [default: 16 on a GPU;
    /// software adapters use no workgroup sums, so it does not apply there].
    #[arg(long, value_name = "L")]
    pub k_lanes: Option<usize>,
    /// Whether the weight gradient loads four training rows ahead of their multiply-adds [default: true on a GPU,
    /// false on a software adapter].
    #[arg(long, value_name = "BOOL")]
    pub grad_unroll: Option<bool>,
    /// Whether forward_partial loads two steps of columns ahead of their multiply-adds [default: true on a GPU,
    /// false on a software adapter].
    #[arg(long, value_name = "BOOL")]
    pub forward_unroll: Option<bool>,
    /// Run the big products as tiled matrix products (true) or register-tile kernels (false) [default: tiled
    /// on a GPU from 100 hidden units].
    #[arg(long, value_name = "BOOL")]
    pub gemm: Option<bool>,
    /// Time stacks of K networks trained together (`train_stack`), one stack per K, comma-separated (e.g.
    /// 1,10,100). Each network has one hidden layer of --hidden units (one width; default 10) and its own
    /// initial weights (network k from seed k + 1); all share the split unless --folds. Each row gives the
    /// stack's ms per epoch (setup excluded), `us_per_network_epoch` (that / K), `wall_ms_per_epoch` (the whole
    /// call, setup included), and one network of K x --hidden units timed alone on the same backend
    /// (`wide_hidden`, `wide_ms_per_epoch`) with `ratio_to_wide` = stack / wide; JSON rows add those keys and
    /// `networks` and `rows` (shared or folds) to bench's. The reference backend takes at most 10^7 weights
    /// in a stack (networks x --neurons x --hidden): use a small --neurons there.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "K,K,...",
        conflicts_with = "layers",
        help_heading = "Many networks"
    )]
    pub networks: Option<Vec<usize>>,
    /// With --networks: give each network its own rows, as cross-validation folds do: network k of K trains on
    /// the 216 rows (at the tutorial's size) that start k x 360 / K places into the split's shuffled order,
    /// wrapping, and tests on the other 144, so each network's work is the same as with the shared split.
    #[arg(long, requires = "networks", help_heading = "Many networks")]
    pub folds: bool,
}

/// The most weights (networks x neurons x hidden units) the f64 reference is asked to train in one stack: at
/// the tutorial's size 100 networks of 10 units would be minutes of work there.
const REFERENCE_STACK_WEIGHTS: u128 = 10_000_000;

impl BenchArgs {
    fn validate(&self) -> Result<(), Error> {
        if self.neurons == 0 {
            return Err(Error::bad_argument("--neurons", "expected at least 1"));
        }
        for (flag, widths) in [("--hidden", &self.hidden), ("--layers", &self.layers)] {
            if widths
                .as_ref()
                .is_some_and(|h| h.is_empty() || h.contains(&0))
            {
                return Err(Error::bad_argument(flag, "widths must be at least 1"));
            }
        }
        for (flag, value) in [("--epochs", self.epochs), ("--repeats", self.repeats)] {
            if value == Some(0) {
                return Err(Error::bad_argument(flag, "expected at least 1"));
            }
        }
        match (self.task, self.classes) {
            (Task::Classify, Some(c)) if c < 2 => {
                return Err(Error::bad_argument("--classes", "expected at least 2"));
            }
            (Task::Regress, Some(c)) => {
                return Err(Error::bad_argument(
                    "--classes",
                    format!(
                        "{c} is for --task classify; --task regress has no classes (add --task classify)"
                    ),
                ));
            }
            _ => {}
        }
        let gpu_flags = [
            ("--k-split", self.k_split.is_some()),
            ("--tiles", self.tiles.is_some()),
            ("--row-split", self.row_split.is_some()),
            ("--k-lanes", self.k_lanes.is_some()),
            ("--grad-unroll", self.grad_unroll.is_some()),
            ("--forward-unroll", self.forward_unroll.is_some()),
            ("--gemm", self.gemm.is_some()),
        ];
        if let Some((flag, _)) = gpu_flags.iter().find(|(_, given)| *given)
            && !self.wants(BackendName::Gpu)
        {
            return Err(Error::bad_argument(
                flag,
                format!(
                    "sets a GPU kernel, and --backend {} times no GPU (add gpu)",
                    self.backend
                        .iter()
                        .map(|b| b.name())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ));
        }
        if let Some(adapter) = &self.adapter
            && !self.wants(BackendName::Gpu)
        {
            return Err(Error::bad_argument(
                "--adapter",
                format!(
                    "{adapter:?} picks a GPU adapter, and --backend {} times none (add gpu)",
                    self.backend
                        .iter()
                        .map(|b| b.name())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ));
        }
        if self.backend.contains(&BackendName::Auto) {
            return Err(Error::bad_argument(
                "--backend",
                "bench times named backends: gpu, cpu, reference or all",
            ));
        }
        if let Some(networks) = &self.networks {
            self.validate_networks(networks)?;
        }
        Ok(())
    }

    /// --networks: every K at least 1, one --hidden width, and the largest stack and its wide twin within the
    /// memory this machine has free (and the reference's limit), all before anything is allocated.
    fn validate_networks(&self, networks: &[usize]) -> Result<(), Error> {
        let list = networks
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let flag = format!("--networks {list}");
        if networks.is_empty() || networks.contains(&0) {
            return Err(Error::bad_argument(
                &flag,
                "expected stacks of at least 1 network each",
            ));
        }
        let hidden = self.stack_hidden()?;
        let k = networks.iter().copied().max().unwrap_or(1);
        let wide = k.checked_mul(hidden).ok_or_else(|| {
            Error::bad_argument(
                &flag,
                format!("{k} networks x --hidden {hidden} units is past this machine's integers"),
            )
        })?;
        let weights = (k as u128)
            .saturating_mul(self.neurons as u128)
            .saturating_mul(hidden as u128);
        if self.wants(BackendName::Reference) && weights > REFERENCE_STACK_WEIGHTS {
            return Err(Error::bad_argument(
                &flag,
                format!(
                    "a stack of {k} networks of {} x {hidden} weights is {weights} weights, and the f64 reference \
                     takes at most {REFERENCE_STACK_WEIGHTS} in a stack (a minute or more of work past that); use a \
                     smaller --neurons with --backend reference",
                    self.neurons
                ),
            ));
        }
        // What the largest stack holds (each network's initial and trained weights and a backend's state of
        // them, counted as a training run's parameters) and the wide network's whole run.
        let moments = optim::build(&self.optimizer, &HyperParameters::default())?.moments();
        let classes = match self.task {
            Task::Regress => None,
            Task::Classify => Some(self.classes.unwrap_or(20)),
        };
        let spec_of = |width: usize| popdecode::model::Spec {
            hidden: vec![width],
            objective: match classes {
                None => Objective::Mse,
                Some(classes) => Objective::Nll { classes },
            },
            ..popdecode::model::Spec::tutorial(self.neurons, width)
        };
        let sizes = format!("{flag}, --hidden {hidden}, --neurons {}", self.neurons);
        let mut parts = vec![memory::Part {
            what: "the stack's weights",
            flags: sizes.clone(),
            bytes: spec_of(hidden)
                .parameter_count()
                .saturating_mul(k as u128)
                .saturating_mul(memory::bytes_per_parameter(moments)),
        }];
        parts.extend(
            memory::training_run(360, &spec_of(wide), moments, "--neurons", &sizes)
                .into_iter()
                .map(|mut p| {
                    p.what = match p.what {
                        "the data" => "the data",
                        "the activations" => "the wide network's activations",
                        _ => "the wide network's weights",
                    };
                    p
                }),
        );
        memory::check(&parts, memory::available())
    }

    /// The one hidden width of every network in a --networks stack: --hidden's, or 10.
    fn stack_hidden(&self) -> Result<usize, Error> {
        match self.hidden.as_deref() {
            None => Ok(10),
            Some([m]) => Ok(*m),
            Some(many) => Err(Error::bad_argument(
                "--hidden",
                format!(
                    "{} widths with --networks, which times stacks of one width; give one",
                    many.len()
                ),
            )),
        }
    }

    fn wants(&self, name: BackendName) -> bool {
        self.backend.contains(&name) || self.backend.contains(&BackendName::All)
    }

    /// The networks to time: one per --hidden width (or the default widths), or the one --layers names.
    fn networks(&self, default_widths: &[usize]) -> Vec<Vec<usize>> {
        match (&self.layers, &self.hidden) {
            (Some(layers), _) => vec![layers.clone()],
            (None, Some(widths)) => widths.iter().map(|&w| vec![w]).collect(),
            (None, None) => default_widths.iter().map(|&w| vec![w]).collect(),
        }
    }

    fn plan(&self, layers: Vec<usize>, epochs: usize, repeats: usize) -> Result<BenchPlan, Error> {
        Ok(BenchPlan {
            layers,
            objective: match self.task {
                Task::Regress => Objective::Mse,
                Task::Classify => Objective::Nll {
                    classes: self.classes.unwrap_or(20),
                },
            },
            optimizer: optim::build(&self.optimizer, &HyperParameters::default())?,
            epochs: self.epochs.unwrap_or(epochs),
            repeats: self.repeats.unwrap_or(repeats),
            copy_bandwidth: None,
        })
    }

    /// Whether the GPU's tutorial kernels run this network (so their own times mean something).
    fn tutorial_net(&self, layers: &[usize]) -> bool {
        layers.len() == 1 && self.task == Task::Regress && self.optimizer == "sgd"
    }

    /// The GPU's kernel choices other than the adapter's defaults.
    fn overrides(&self) -> PlanOverrides {
        PlanOverrides {
            k_split: self.k_split,
            tiles: self.tiles,
            row_split: self.row_split,
            wg_reduce: None,
            k_lanes: self.k_lanes,
            grad_unroll: self.grad_unroll,
            forward_unroll: self.forward_unroll,
            fuse_small: None,
            gemm: self.gemm,
            max_panel_width4: None,
        }
    }
}

/// The GPU `--adapter` names, with the flags' kernel overrides, its label printed (not with --json); and
/// whether it is a software adapter, which gets fewer and shorter runs.
fn open_gpu(args: &BenchArgs) -> Result<(GpuBackend, bool)> {
    let mut gpu = GpuBackend::open(args.adapter.as_deref())?;
    gpu.overrides = args.overrides();
    let software = gpu.gpu.adapter.is_software();
    if !args.json {
        crate::say!("gpu: {}", gpu.gpu.adapter.label());
    }
    Ok((gpu, software))
}

/// One result: a JSON object with --json, else its table row.
fn say_row<R: serde::Serialize>(json: bool, row: &R, text: impl Fn(&R) -> String) {
    if json {
        crate::say!("{}", serde_json::to_string(row).unwrap_or_default());
    } else {
        crate::say!("{}", text(row));
    }
}

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    args.validate()?;
    // Refuse an unknown optimizer before any work.
    args.plan(vec![1], 1, 1)?;
    let data = synth::generate(&synth_config(args.neurons, 360, 0)?);
    let split = Split::shuffled(data.n_stimuli(), 0.6, 4)?;
    let problem = Problem::new(&data, &split);
    if let Some(networks) = &args.networks {
        return run_networks(&args, networks, &data, &split, &problem);
    }
    let report = |row: BenchRow| say_row(args.json, &row, bench_row);
    if !args.json {
        crate::say!("{}", bench_header());
    }
    if args.wants(BackendName::Gpu) {
        let (mut gpu, software) = open_gpu(&args)?;
        let widths: &[usize] = if software {
            &[10, 200]
        } else {
            &[10, 200, 1000]
        };
        let (epochs, repeats) = if software { (10, 3) } else { (100, 5) };
        // Every network is checked against the adapter's limits before any of them runs.
        for layers in args.networks(widths) {
            let (spec, config) =
                popdecode::bench::workload(&problem, &args.plan(layers, epochs, repeats)?);
            gpu.fits(&problem, &spec, &config)?;
        }
        let bandwidth = copy_bandwidth(&gpu.gpu, 10)?;
        for layers in args.networks(widths) {
            let first = layers[0];
            let tutorial = args.tutorial_net(&layers);
            let mut plan = args.plan(layers, epochs, repeats)?;
            plan.copy_bandwidth = Some(bandwidth);
            let mut row = bench(&mut gpu, "gpu", &problem, &plan)?;
            if tutorial {
                let (spec, params, lr) = tutorial_network(&problem, first);
                row.kernels = gpu.kernel_times(&problem, &spec, &params, lr)?;
            }
            report(row);
        }
    }
    if args.wants(BackendName::Cpu) {
        let mut cpu = CpuBackend::new();
        let bandwidth = popdecode::cpu::copy_bandwidth(&problem, 10);
        if !args.json {
            crate::say!(
                "cpu: {}; copy bandwidth {:.1} GB/s (read + write, the matrix copied by every thread)",
                cpu.describe(),
                bandwidth / 1e9
            );
        }
        for layers in args.networks(&[10, 200, 1000]) {
            let mut plan = args.plan(layers, 10, 3)?;
            plan.copy_bandwidth = Some(bandwidth);
            report(bench(&mut cpu, "cpu", &problem, &plan)?);
        }
    }
    if args.wants(BackendName::Reference) {
        let (mut reference, _) = open_backend(BackendChoice::Reference, None)?;
        for layers in args.networks(&[10, 200, 1000]) {
            let plan = args.plan(layers, 2, 3)?;
            report(bench(&mut *reference, "ref", &problem, &plan)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `bench --networks`: for each backend asked for and each K, a stack of K networks timed through
/// `train_stack` beside one network of K x --hidden units (see `popdecode::bench::bench_stack`).
fn run_networks(
    args: &BenchArgs,
    networks: &[usize],
    data: &Dataset,
    split: &Split,
    problem: &Problem,
) -> Result<ExitCode> {
    let hidden = args.stack_hidden()?;
    let rows = if args.folds {
        StackRows::Folds
    } else {
        StackRows::Shared
    };
    let report = |row: StackRow| say_row(args.json, &row, bench_networks_row);
    if !args.json {
        crate::say!("{}", bench_networks_header());
    }
    if args.wants(BackendName::Gpu) {
        let (mut gpu, software) = open_gpu(args)?;
        let (epochs, repeats) = if software { (10, 3) } else { (100, 5) };
        // Each stack's networks and each wide network are checked against the adapter before any runs.
        for &k in networks {
            for width in [hidden, k * hidden] {
                let (spec, config) =
                    popdecode::bench::workload(problem, &args.plan(vec![width], epochs, repeats)?);
                gpu.fits(problem, &spec, &config)?;
            }
        }
        let bandwidth = copy_bandwidth(&gpu.gpu, 10)?;
        for &k in networks {
            let mut plan = args.plan(vec![hidden], epochs, repeats)?;
            plan.copy_bandwidth = Some(bandwidth);
            report(bench_stack(
                &mut gpu,
                "gpu",
                data,
                split,
                problem,
                &plan,
                StackPlan { networks: k, rows },
            )?);
        }
    }
    if args.wants(BackendName::Cpu) {
        let mut cpu = CpuBackend::new();
        let bandwidth = popdecode::cpu::copy_bandwidth(problem, 10);
        if !args.json {
            crate::say!(
                "cpu: {}; copy bandwidth {:.1} GB/s (read + write, the matrix copied by every thread)",
                cpu.describe(),
                bandwidth / 1e9
            );
        }
        for &k in networks {
            let mut plan = args.plan(vec![hidden], 10, 3)?;
            plan.copy_bandwidth = Some(bandwidth);
            report(bench_stack(
                &mut cpu,
                "cpu",
                data,
                split,
                problem,
                &plan,
                StackPlan { networks: k, rows },
            )?);
        }
    }
    if args.wants(BackendName::Reference) {
        let (mut reference, _) = open_backend(BackendChoice::Reference, None)?;
        for &k in networks {
            let plan = args.plan(vec![hidden], 2, 3)?;
            report(bench_stack(
                &mut *reference,
                "ref",
                data,
                split,
                problem,
                &plan,
                StackPlan { networks: k, rows },
            )?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
