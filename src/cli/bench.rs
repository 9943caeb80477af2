//! `popdecode bench`: epochs timed on the tutorial's shape, per backend and hidden width, with each GPU kernel's
//! own time.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use popdecode::Error;
use popdecode::bench::{BenchPlan, BenchRow, bench, kernel_times};
use popdecode::data::problem::Problem;
use popdecode::data::split::Split;
use popdecode::data::synth;
use popdecode::gpu::GpuBackend;
use popdecode::gpu::runtime::probe::copy_bandwidth;
use popdecode::gpu::runtime::wgsl::Tiles;
use popdecode::gpu::tutorial::layout::PlanOverrides;
use popdecode::select::{BackendChoice, open_backend};

use super::args::{BackendArgs, BackendName, synth_config};
use super::print::{bench_header, bench_row};

#[derive(Args)]
#[command(mut_arg("backend", BackendArgs::values(
    "Which backends to time",
    BackendName::Gpu,
    &[BackendName::Gpu, BackendName::Cpu, BackendName::All],
)))]
pub struct BenchArgs {
    #[command(flatten)]
    pub on: BackendArgs,
    /// Hidden widths, comma-separated [default: 10,200,1000; 10,200 on a software adapter].
    #[arg(long, value_delimiter = ',', value_name = "M,M,...")]
    pub hidden: Option<Vec<usize>>,
    /// Epochs per timed run [default: 100 on a GPU, 10 on a software adapter, 2 on the CPU].
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
}

impl BenchArgs {
    fn validate(&self) -> Result<(), Error> {
        if self.neurons == 0 {
            return Err(Error::bad_argument("--neurons", "expected at least 1"));
        }
        if self.hidden.as_ref().is_some_and(|h| h.contains(&0)) {
            return Err(Error::bad_argument("--hidden", "widths must be at least 1"));
        }
        for (flag, value) in [("--epochs", self.epochs), ("--repeats", self.repeats)] {
            if value == Some(0) {
                return Err(Error::bad_argument(flag, "expected at least 1"));
            }
        }
        Ok(())
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

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    args.validate()?;
    let data = synth::generate(&synth_config(args.neurons, 360, 0)?);
    let split = Split::shuffled(data.n_stimuli(), 0.6, 4)?;
    let problem = Problem::new(&data, &split);
    let report = |row: BenchRow| {
        if args.json {
            println!("{}", serde_json::to_string(&row).unwrap_or_default());
        } else {
            println!("{}", bench_row(&row));
        }
    };
    if !args.json {
        println!("{}", bench_header());
    }
    let backend = args.on.backend;
    if matches!(backend, BackendName::Gpu | BackendName::All) {
        let mut gpu = GpuBackend::open(args.on.adapter.as_deref())?;
        gpu.overrides = args.overrides();
        let software = gpu.gpu.adapter.device_type == wgpu::DeviceType::Cpu;
        if !args.json {
            println!("gpu: {}", gpu.gpu.adapter.label());
        }
        let bandwidth = copy_bandwidth(&gpu.gpu, 10)?;
        let widths = args.hidden.clone().unwrap_or(if software {
            vec![10, 200]
        } else {
            vec![10, 200, 1000]
        });
        for &hidden in &widths {
            let plan = BenchPlan {
                hidden,
                epochs: args.epochs.unwrap_or(if software { 10 } else { 100 }),
                repeats: args.repeats.unwrap_or(if software { 3 } else { 5 }),
                copy_bandwidth: Some(bandwidth),
            };
            let mut row = bench(&mut gpu, "gpu", &problem, &plan)?;
            row.kernels = kernel_times(&gpu.gpu, &problem, hidden, gpu.overrides)?;
            report(row);
        }
    }
    if matches!(backend, BackendName::Cpu | BackendName::All) {
        let (mut cpu, _) = open_backend(BackendChoice::Cpu, None)?;
        let widths = args.hidden.clone().unwrap_or(vec![10, 200, 1000]);
        for &hidden in &widths {
            let plan = BenchPlan {
                hidden,
                epochs: args.epochs.unwrap_or(2),
                repeats: args.repeats.unwrap_or(3),
                copy_bandwidth: None,
            };
            report(bench(&mut *cpu, "cpu", &problem, &plan)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
