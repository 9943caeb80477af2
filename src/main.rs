//! The command line: parses arguments, calls the library, prints.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

#[path = "cli/logging.rs"]
mod cli_logging;

use popdecode::backend::select::{BackendChoice, open_backend};
use popdecode::check::check;
use popdecode::data::problem::Problem;
use popdecode::data::split::Split;
use popdecode::data::synth::{self, SynthConfig};
use popdecode::data::{Dataset, TUTORIAL_MD5, md5_hex};
use popdecode::gpu::{GpuBackend, list_adapters};
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::{Objective, Penalty};
use popdecode::optim::Optimizer;
use popdecode::reference::ReferenceBackend;
use popdecode::run::folder::RunFolder;
use popdecode::run::history::{progress_line, write_history_csv};
use popdecode::run::outcome::Outcome as Summary;
use popdecode::run::progress::Console;
use popdecode::run::record::{Recorded, RunInputs, record};
use popdecode::training::Config;

#[derive(Parser)]
#[command(
    name = "popdecode",
    version,
    about = "Decode grating orientation from mouse V1 population responses with the Neuromatch tutorial's \
             networks, trained on the GPU (wgpu) and checked against a CPU reference."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log more on stderr: -v popdecode's steps and timings, -vv debug messages, -vvv everything. RUST_LOG, when
    /// set, decides instead.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Train a decoder: by default the tutorial's (Linear -> ReLU -> Linear, MSE, full-batch gradient descent);
    /// also classifiers, deeper nets, penalties, the circular loss, momentum, Adam and mini-batches. Writes a run
    /// folder with the figures.
    Train(TrainArgs),
    /// Compare the GPU with the CPU reference: outputs, loss, every gradient and a short training run.
    Check(CheckArgs),
    /// List the GPU adapters wgpu finds, with their backend, type, driver and limits.
    Info,
    /// Write the synthetic stand-in data set to an .npz file in the real file's format.
    Synth(SynthArgs),
    /// Time training epochs on the tutorial's shape (216 training and 144 test rows, synthetic data) and
    /// report ms per epoch, epochs/s, GFLOP/s and GB/s, with each GPU kernel's own time.
    Bench(BenchArgs),
    /// Fit the closed-form ridge-regression decoder onto (cos, sin) of the direction, its penalty chosen by
    /// cross-validation on the training rows, and print its test angular error beside the network's.
    Baseline(BaselineArgs),
    /// Redraw the figures of a run folder (train --out DIR) from its files.
    Plot(PlotArgs),
}

#[derive(Args)]
struct PlotArgs {
    /// The run folder: it holds summary.json, history.csv, predictions.csv, weights.npz and tuning.npz.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

#[derive(Args)]
struct RunArgs {
    /// The run folder, new or empty: summary.json, history.csv, predictions.csv, weights.npz, tuning.npz and the
    /// figures. A run never writes into another's folder [default: runs/<UTC date and time>, with -2, -3, ...
    /// added if that is taken].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print only the run's summary, as one JSON object on stdout (what summary.json holds).
    #[arg(long)]
    json: bool,
    /// No progress lines or progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BenchBackend {
    Gpu,
    Cpu,
    All,
}

#[derive(Args)]
struct BenchArgs {
    /// Which backends to time.
    #[arg(long, value_enum, default_value_t = BenchBackend::Gpu)]
    backend: BenchBackend,
    /// Hidden widths, comma-separated [default: 10,200,1000; 10,200 on a software adapter].
    #[arg(long, value_delimiter = ',', value_name = "M,M,...")]
    hidden: Option<Vec<usize>>,
    /// Epochs per timed run [default: 100 on a GPU, 10 on a software adapter, 2 on the CPU].
    #[arg(long)]
    epochs: Option<usize>,
    /// Neurons (the matrix width).
    #[arg(long, default_value_t = 23589)]
    neurons: usize,
    /// Timed runs per row; the median is reported [default: 5 on a GPU, 3 otherwise].
    #[arg(long)]
    repeats: Option<usize>,
    /// Print one JSON object per row instead of a table.
    #[arg(long)]
    json: bool,
    /// Pick the GPU adapter whose name contains this (case-insensitive).
    #[arg(long, value_name = "SUBSTRING")]
    adapter: Option<String>,
    /// Split-K threads over the neurons in the forward pass [default: chosen for the adapter].
    #[arg(long, value_name = "K")]
    k_split: Option<usize>,
    /// Register tile of the big kernels: rows, hidden units, vec4 columns [default: chosen for the adapter].
    #[arg(long, value_name = "R,H,C")]
    tiles: Option<popdecode::gpu::runtime::wgsl::Tiles>,
    /// Threads sharing each column's training rows in the weight gradient (1, 2, 4, ... 64) [default: 4 on a
    /// GPU, 1 on a software adapter].
    #[arg(long, value_name = "G")]
    row_split: Option<usize>,
    /// Split-K threads of one register tile per forward_partial workgroup (1, 2, 4, ... 64); the workgroup's
    /// other threads take neighbouring tiles, which share its reads of the input weights [default: 16 on a GPU;
    /// software adapters use no workgroup sums, so it does not apply there].
    #[arg(long, value_name = "L")]
    k_lanes: Option<usize>,
    /// Whether the weight gradient loads four training rows ahead of their multiply-adds [default: true on a GPU,
    /// false on a software adapter].
    #[arg(long, value_name = "BOOL")]
    grad_unroll: Option<bool>,
    /// Whether forward_partial loads two steps of columns ahead of their multiply-adds [default: true on a GPU,
    /// false on a software adapter].
    #[arg(long, value_name = "BOOL")]
    forward_unroll: Option<bool>,
    /// Run the big products as tiled matrix products (true) or register-tile kernels (false) [default: tiled
    /// on a GPU from 100 hidden units].
    #[arg(long, value_name = "BOOL")]
    gemm: Option<bool>,
}

#[derive(Args)]
struct DataArgs {
    /// The tutorial's data file (.npz with `resp`: stimuli x neurons and `stimuli`: degrees). Without it, the
    /// built-in synthetic stand-in of the same shape is used.
    #[arg(long, value_name = "FILE.npz")]
    data: Option<PathBuf>,
    /// Average rows into W-degree bins, as the tutorial's `load_data(bin_width)`.
    #[arg(long, value_name = "W", default_value_t = 1.0)]
    bin_width: f64,
    /// Seed of the synthetic data.
    #[arg(long, value_name = "K", default_value_t = 0, conflicts_with = "data")]
    data_seed: u64,
    /// Neurons in the synthetic data.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 23589,
        conflicts_with = "data"
    )]
    neurons: usize,
    /// Stimuli (rows) in the synthetic data.
    #[arg(long, value_name = "S", default_value_t = 360, conflicts_with = "data")]
    stimuli: usize,
    /// The train/test split: an .npz file with integer arrays `itrain` and `itest` (0-based rows).
    #[arg(long, value_name = "FILE.npz")]
    split: Option<PathBuf>,
    /// The fraction of rows used for training when the split is drawn.
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.6,
        conflicts_with = "split"
    )]
    train_fraction: f64,
    /// Seed of the shuffle that draws the split.
    #[arg(long, default_value_t = 4, conflicts_with = "split")]
    seed: u64,
}

/// What the network decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Task {
    /// The stimulus angle in degrees (the tutorial).
    Regress,
    /// The stimulus's orientation bin among --classes equal bins (the bonus tutorial).
    Classify,
}

/// The regression loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LossChoice {
    /// Mean squared error in degrees² (the tutorial's nn.MSELoss).
    Mse,
    /// Mean of |exp(i θ̂) - exp(i θ)|: no penalty for decoding across 0/360.
    Circular,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum OptimizerChoice {
    /// Gradient descent, with --momentum if given (torch.optim.SGD).
    Sgd,
    /// Adam with PyTorch's defaults: betas 0.9 and 0.999, eps 1e-8.
    Adam,
}

#[derive(Args)]
struct ModelArgs {
    /// Regress the angle, or classify it into orientation bins (Linear -> ReLU -> Linear(M, C) ->
    /// LogSoftmax, NLL loss).
    #[arg(long, value_enum, default_value_t = Task::Regress)]
    task: Task,
    /// Orientation bins C for --task classify: digitize(ori, linspace(0, 360, C + 1)) - 1.
    #[arg(long, value_name = "C", default_value_t = 20)]
    classes: usize,
    /// The regression loss (classification always uses NLL).
    #[arg(long, value_enum, default_value_t = LossChoice::Mse)]
    loss: LossChoice,
    /// Hidden units M, or several hidden layers' widths, e.g. 200,100,50 [default: 10 for regress, 20 for
    /// classify].
    #[arg(long, value_name = "M[,M2,...]", value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// The hidden nonlinearity: relu (the tutorial's DeepNetReLU) or linear (its DeepNet).
    #[arg(long, value_enum, default_value_t = Activation::Relu)]
    activation: Activation,
    /// Initial weights: an .npz with PyTorch state_dict names (in_layer.weight, in_layer.bias, [hidden_layers.0.weight, ...,]
    /// out_layer.weight, out_layer.bias).
    #[arg(long, value_name = "FILE.npz")]
    init: Option<PathBuf>,
    /// Seed of PyTorch's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    #[arg(long, value_name = "K", default_value_t = 1, conflicts_with = "init")]
    init_seed: u64,
}

/// How to train, shared by `train` and `check`.
#[derive(Args)]
struct OptimArgs {
    /// Learning rate [default: 1e-4 for regress, 0.1 for classify, as in the tutorials].
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long, value_enum, default_value_t = OptimizerChoice::Sgd)]
    optimizer: OptimizerChoice,
    /// SGD momentum (torch.optim.SGD's `momentum`).
    #[arg(long, value_name = "BETA", default_value_t = 0.0)]
    momentum: f64,
    /// Rows per gradient step (mini-batch SGD, reshuffled each epoch) [default: all training rows].
    #[arg(long, value_name = "B")]
    batch_size: Option<usize>,
    /// Seed of the mini-batch shuffles.
    #[arg(long, value_name = "K", default_value_t = 0)]
    shuffle_seed: u64,
    /// L2 penalty on the input weights: adds L2 * sum(W_in ** 2) to the loss.
    #[arg(long, value_name = "L2", default_value_t = 0.0)]
    l2: f64,
    /// L1 penalty on the input weights: adds L1 * sum(|W_in|) to the loss.
    #[arg(long, value_name = "L1", default_value_t = 0.0)]
    l1: f64,
}

/// The command line's names for `backend::select::BackendChoice`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum BackendArg {
    /// The GPU when wgpu finds an adapter, else the CPU.
    Auto,
    Gpu,
    Cpu,
}

impl From<BackendArg> for BackendChoice {
    fn from(b: BackendArg) -> BackendChoice {
        match b {
            BackendArg::Auto => BackendChoice::Auto,
            BackendArg::Gpu => BackendChoice::Gpu,
            BackendArg::Cpu => BackendChoice::Cpu,
        }
    }
}

/// Where a network trains.
#[derive(Args)]
struct BackendArgs {
    /// Where to train: the GPU when one is found (auto), the GPU, or the CPU reference.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    backend: BackendArg,
    /// Pick the GPU adapter whose name contains this (case-insensitive); see `popdecode info`.
    #[arg(long, value_name = "SUBSTRING")]
    adapter: Option<String>,
}

impl BackendArgs {
    /// The backend, and a note saying why `auto` fell back to the CPU, printed on stderr.
    fn open(&self) -> Result<Box<dyn popdecode::backend::Backend>> {
        let (backend, note) = open_backend(self.backend.into(), self.adapter.as_deref())?;
        if let Some(note) = note {
            eprintln!("note: {note}");
        }
        Ok(backend)
    }
}

#[derive(Args)]
struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Passes over the training rows.
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    #[command(flatten)]
    optim: OptimArgs,
    #[command(flatten)]
    on: BackendArgs,
    /// Write the per-epoch losses as CSV: epoch,train_loss,test_loss.
    #[arg(long, value_name = "FILE.csv")]
    history: Option<PathBuf>,
    /// Write the final weights (.npz, PyTorch state_dict names).
    #[arg(long, value_name = "FILE.npz")]
    save: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// Epochs of the short training run compared epoch by epoch.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    #[command(flatten)]
    optim: OptimArgs,
    /// Pick the GPU adapter whose name contains this (case-insensitive).
    #[arg(long, value_name = "SUBSTRING")]
    adapter: Option<String>,
}

#[derive(Args)]
struct SynthArgs {
    /// Where to write the .npz (keys `resp` and `stimuli`, float32).
    #[arg(long, value_name = "FILE.npz")]
    out: PathBuf,
    #[arg(long, value_name = "N", default_value_t = 23589)]
    neurons: usize,
    #[arg(long, value_name = "S", default_value_t = 360)]
    stimuli: usize,
    #[arg(long, value_name = "K", default_value_t = 0)]
    data_seed: u64,
}

#[derive(Args)]
struct BaselineArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Folds of the cross-validation that chooses the ridge penalty (on the training rows only).
    #[arg(long, value_name = "K", default_value_t = popdecode::ridge::DEFAULT_FOLDS)]
    folds: usize,
    /// The network trained beside the ridge, as for `train` (default: the tutorial's).
    #[command(flatten)]
    model: ModelArgs,
    /// Passes over the training rows of the network.
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    #[command(flatten)]
    optim: OptimArgs,
    /// Where the network trains.
    #[command(flatten)]
    on: BackendArgs,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    // Mesa's Vulkan device-select layer probes for a display and prints an alarming error on headless
    // machines; we choose adapters ourselves. A user's own setting wins.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: nothing else runs yet; no thread can be reading the environment.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    let cli = Cli::parse();
    cli_logging::init(cli.verbose);
    let result = match cli.command {
        Command::Train(args) => train(args),
        Command::Check(args) => check_command(args),
        Command::Info => info(),
        Command::Synth(args) => synth_command(args),
        Command::Bench(args) => bench_command(args),
        Command::Baseline(args) => baseline_command(args),
        Command::Plot(args) => plot_command(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn synth_config(neurons: usize, stimuli: usize, seed: u64) -> Result<SynthConfig> {
    if neurons == 0 {
        bail!("--neurons: expected at least 1 neuron");
    }
    if stimuli < 2 {
        bail!("--stimuli: expected at least 2 stimuli (one to train on, one to test)");
    }
    Ok(SynthConfig {
        neurons,
        stimuli,
        seed,
    })
}

/// The data, binned and split, and a line saying where it came from.
fn load_problem(args: &DataArgs) -> Result<(Problem, String)> {
    let (data, split, described) = load_data(args)?;
    Ok((Problem::new(&data, &split), described))
}

/// The binned data, its split, and a line saying where it came from.
fn load_data(args: &DataArgs) -> Result<(Dataset, Split, String)> {
    let (data, origin) = match &args.data {
        Some(path) => {
            let data = Dataset::load(path)?;
            let md5 = md5_hex(path)?;
            let known = if md5 == TUTORIAL_MD5 {
                ", md5 matches the tutorial's W3D4_stringer_oribinned1.npz"
            } else {
                ""
            };
            (data, format!("{}{known}", path.display()))
        }
        None => {
            let cfg = synth_config(args.neurons, args.stimuli, args.data_seed)?;
            (
                synth::generate(&cfg),
                format!("synthetic stand-in, data seed {}", args.data_seed),
            )
        }
    };
    let data = data.binned(args.bin_width)?;
    let split = match &args.split {
        Some(path) => Split::load(path, data.n_stimuli())?,
        None => Split::shuffled(data.n_stimuli(), args.train_fraction, args.seed)?,
    };
    let described = format!(
        "{} neurons in response to {} stimuli ({origin}); {} training and {} test stimuli{}",
        data.neurons(),
        data.n_stimuli(),
        split.train.len(),
        split.test.len(),
        match &args.split {
            Some(path) => format!(" from {}", path.display()),
            None => format!(" (seed {})", args.seed),
        }
    );
    Ok((data, split, described))
}

fn model(args: &ModelArgs, neurons: usize) -> Result<(Spec, Params)> {
    let objective = match (args.task, args.loss) {
        (Task::Regress, LossChoice::Mse) => Objective::Mse,
        (Task::Regress, LossChoice::Circular) => Objective::Circular,
        (Task::Classify, LossChoice::Mse) => Objective::Nll {
            classes: args.classes,
        },
        (Task::Classify, LossChoice::Circular) => {
            bail!("--loss circular: is for --task regress; classification is trained on NLL")
        }
    };
    let hidden = args.hidden.clone().unwrap_or(match args.task {
        Task::Regress => vec![10],
        Task::Classify => vec![20],
    });
    let spec = Spec {
        neurons,
        hidden,
        activation: args.activation,
        objective,
    };
    spec.validate()?;
    let params = match &args.init {
        Some(path) => Params::load(path, &spec)?,
        None => Params::init(&spec, args.init_seed),
    };
    Ok((spec, params))
}

/// "Linear(23589, 10) -> ReLU -> Linear(10, 1)", with "-> LogSoftmax" for classifiers.
fn describe_network(spec: &Spec) -> String {
    let act = match spec.activation {
        Activation::Relu => " -> ReLU -> ",
        Activation::Linear => " -> ",
    };
    let layers: Vec<String> = spec
        .layer_shapes()
        .iter()
        .map(|(out, inp)| format!("Linear({inp}, {out})"))
        .collect();
    let head = match spec.objective {
        Objective::Nll { .. } => " -> LogSoftmax, NLL loss",
        Objective::Mse => ", MSE loss",
        Objective::Circular => ", circular loss",
    };
    format!("{}{head}", layers.join(act))
}

fn training_config(epochs: usize, args: &OptimArgs, task: Task) -> Result<Config> {
    if epochs == 0 {
        bail!("--epochs: expected at least 1");
    }
    let lr = args.lr.unwrap_or(match task {
        Task::Regress => 1e-4,
        Task::Classify => 0.1,
    });
    if !(lr.is_finite() && lr >= 0.0) {
        bail!("--lr: expected a finite, non-negative learning rate, got {lr}");
    }
    if !(0.0..1.0).contains(&args.momentum) {
        bail!(
            "--momentum: expected a value in [0, 1), got {}",
            args.momentum
        );
    }
    let optimizer = match args.optimizer {
        OptimizerChoice::Sgd => Optimizer::Sgd {
            momentum: args.momentum,
        },
        OptimizerChoice::Adam if args.momentum != 0.0 => {
            bail!("--momentum: applies to --optimizer sgd; Adam uses its own betas (0.9, 0.999)")
        }
        OptimizerChoice::Adam => Optimizer::ADAM,
    };
    if args.batch_size == Some(0) {
        bail!("--batch-size: expected at least 1 row per batch");
    }
    for (flag, v) in [("--l1", args.l1), ("--l2", args.l2)] {
        if !(v.is_finite() && v >= 0.0) {
            bail!("{flag}: expected a finite, non-negative penalty, got {v}");
        }
    }
    Ok(Config {
        epochs,
        lr,
        optimizer,
        batch_size: args.batch_size,
        penalty: Penalty {
            l1: args.l1,
            l2: args.l2,
        },
        shuffle_seed: args.shuffle_seed,
    })
}

/// "lr 0.0001, SGD, full batch", "lr 0.001, Adam, batches of 32", with penalties when set.
fn describe_training(config: &Config, n_train: usize) -> String {
    let optimizer = match config.optimizer {
        Optimizer::Sgd { momentum: 0.0 } => "SGD".to_string(),
        Optimizer::Sgd { momentum } => format!("SGD with momentum {momentum}"),
        Optimizer::Adam { .. } => "Adam".to_string(),
    };
    let batches = match config.batch_size {
        Some(b) if b < n_train => format!(
            "batches of {b}, reshuffled each epoch (seed {})",
            config.shuffle_seed
        ),
        _ => "full batch".to_string(),
    };
    let mut s = format!("lr {}, {optimizer}, {batches}", config.lr);
    if !config.penalty.is_zero() {
        s += &format!(
            ", L2 {} and L1 {} on W_in",
            config.penalty.l2, config.penalty.l1
        );
    }
    s
}

/// Fails before any work if an output file could not be written where asked.
fn check_output_path(flag: &str, path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!("{flag}: the folder {} does not exist", dir.display());
    }
    if path.is_dir() {
        bail!(
            "{flag}: {} is a folder; expected a file name",
            path.display()
        );
    }
    Ok(())
}

fn train(args: TrainArgs) -> Result<ExitCode> {
    let launched = Instant::now();
    let config = training_config(args.epochs, &args.optim, args.model.task)?;
    if let Some(p) = &args.history {
        check_output_path("--history", p)?;
    }
    if let Some(p) = &args.save {
        check_output_path("--save", p)?;
    }
    if let Some(out) = &args.run.out {
        popdecode::run::folder::check_available(out)?;
    }
    let (data, split, described) = load_data(&args.data)?;
    let problem = Problem::new(&data, &split);
    let (spec, params) = model(&args.model, problem.neurons())?;
    let mut backend = args.on.open()?;
    let folder = RunFolder::claim(args.run.out.as_deref())?;
    let mut console = Console::new(args.run.json, args.run.quiet, config.epochs);
    console.line(format_args!("data: {described}"));
    console.line(format_args!(
        "network: {}; {}, {} epochs, {}",
        describe_network(&spec),
        describe_training(&config, problem.n_train()),
        config.epochs,
        match &args.model.init {
            Some(p) => format!("initial weights from {}", p.display()),
            None => format!("init seed {}", args.model.init_seed),
        }
    ));
    console.line(format_args!("backend: {}", backend.describe()));
    let trained = backend.train(&problem, &spec, &params, &config, &mut |p| {
        console.progress(p)
    })?;
    console.finish_progress();
    let summary = Summary::new(&trained, &problem, &spec);
    for line in summary_lines(&summary, &spec) {
        console.line(format_args!("{line}"));
    }
    if let Some(path) = &args.history {
        write_history_csv(path, &trained.history)?;
        console.line(format_args!("history: {}", path.display()));
    }
    if let Some(path) = &args.save {
        trained.params.save(path)?;
        console.line(format_args!("weights: {}", path.display()));
    }
    let recorded = record(
        folder,
        &RunInputs {
            command: std::env::args().collect(),
            config: run_configuration(&args, &spec, &config),
            data: &data,
            data_description: described.clone(),
            split: &split,
            problem: &problem,
            spec: &spec,
            network_description: describe_network(&spec),
            adapter: backend.describe(),
            trained: &trained,
            launched,
        },
    )?;
    console.line(format_args!("run: {}", describe_recorded(&recorded)));
    console.line(format_args!(
        "time: {:.3} s for {} epochs ({:.1} epochs/s) after {:.3} s setup, {:.2} s wall in all; backend: {}",
        summary.train_seconds,
        summary.epochs,
        summary.epochs_per_second(),
        summary.setup_seconds,
        launched.elapsed().as_secs_f64(),
        backend.describe()
    ));
    if console.json() {
        println!("{}", recorded.summary.to_json());
    }
    Ok(ExitCode::SUCCESS)
}

/// Every setting of a training run, defaults included, by flag name, for summary.json.
fn run_configuration(args: &TrainArgs, spec: &Spec, config: &Config) -> serde_json::Value {
    use clap::ValueEnum;
    let name = |v: Option<clap::builder::PossibleValue>| v.map(|v| v.get_name().to_string());
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let d = &args.data;
    let m = &args.model;
    serde_json::json!({
        "data": path(&d.data),
        "bin_width": d.bin_width,
        "data_seed": d.data.is_none().then_some(d.data_seed),
        "neurons": d.data.is_none().then_some(d.neurons),
        "stimuli": d.data.is_none().then_some(d.stimuli),
        "split": path(&d.split),
        "train_fraction": d.split.is_none().then_some(d.train_fraction),
        "seed": d.split.is_none().then_some(d.seed),
        "task": name(m.task.to_possible_value()),
        "classes": (m.task == Task::Classify).then_some(m.classes),
        "loss": (m.task == Task::Regress).then(|| name(m.loss.to_possible_value())),
        "hidden": spec.hidden,
        "activation": name(m.activation.to_possible_value()),
        "init": path(&m.init),
        "init_seed": m.init.is_none().then_some(m.init_seed),
        "epochs": config.epochs,
        "lr": config.lr,
        "optimizer": name(args.optim.optimizer.to_possible_value()),
        "momentum": matches!(config.optimizer, Optimizer::Sgd { .. }).then_some(args.optim.momentum),
        "batch_size": config.batch_size,
        "shuffle_seed": config.batch_size.is_some().then_some(config.shuffle_seed),
        "l2": config.penalty.l2,
        "l1": config.penalty.l1,
        "backend": name(args.on.backend.to_possible_value()),
        "adapter": args.on.adapter,
        "history": path(&args.history),
        "save": path(&args.save),
        "out": path(&args.run.out),
    })
}

/// "runs/2025-01-01_12-00-00 (summary.json, ...; figures loss.svg, ...)".
fn describe_recorded(r: &Recorded) -> String {
    let figures: Vec<String> = r
        .figures
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    format!(
        "{} ({}; figures {})",
        r.dir.display(),
        popdecode::run::folder::DATA_FILES.join(", "),
        figures.join(", ")
    )
}

fn plot_command(args: PlotArgs) -> Result<ExitCode> {
    let written = popdecode::figures::redraw(&args.dir)?;
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The final losses and errors; for classifiers, the fraction correct and the confusion between bins.
fn summary_lines(summary: &Summary, spec: &Spec) -> Vec<String> {
    let unit = match spec.objective {
        Objective::Mse => " (deg^2)",
        _ => "",
    };
    let mut lines = vec![format!(
        "final: train loss {:.4}, test loss {:.4}{unit}; test angular error{}: median {:.2} deg, mean {:.2} deg",
        summary.train_loss,
        summary.test_loss,
        if summary.classes.is_some() {
            " of the decoded bins' centres"
        } else {
            ""
        },
        summary.test_angular.median_deg,
        summary.test_angular.mean_deg
    )];
    if let Some(c) = &summary.classes {
        let n: usize = c.confusion.iter().flatten().sum();
        lines.push(format!(
            "test fraction correct: {:.3} ({} of {n} rows in their bin; chance {:.3})",
            c.fraction_correct,
            (c.fraction_correct * n as f64).round(),
            1.0 / c.classes as f64
        ));
        let width = 360.0 / c.classes as f64;
        lines.push(format!(
            "confusion (rows: true bin, columns: decoded bin; bins of {} deg):",
            if width.fract() == 0.0 {
                format!("{width:.0}")
            } else {
                format!("{width:.2}")
            }
        ));
        for (t, row) in c.confusion.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:>3}")).collect();
            lines.push(format!("  {t:>3} |{}", cells.join("")));
        }
    }
    lines
}

fn check_command(args: CheckArgs) -> Result<ExitCode> {
    let config = training_config(args.epochs, &args.optim, args.model.task)?;
    let (problem, described) = load_problem(&args.data)?;
    let (spec, params) = model(&args.model, problem.neurons())?;
    let mut gpu = GpuBackend::open(args.adapter.as_deref())?;
    let mut cpu = ReferenceBackend;
    use popdecode::backend::Backend;
    println!("check: {} against {}", gpu.describe(), cpu.describe());
    println!("data: {described}");
    println!(
        "network: {}; {}",
        describe_network(&spec),
        describe_training(&config, problem.n_train())
    );
    let report = check(&mut gpu, &mut cpu, &problem, &spec, &params, &config)
        .context("running the check")?;
    println!(
        "at the initial weights, on the {} training rows (relative error ||gpu - cpu|| / ||cpu||):",
        problem.n_train()
    );
    for c in &report.evaluation {
        println!("  {c}");
    }
    println!(
        "training {} epochs (train and test loss of each epoch):",
        config.epochs
    );
    for c in report.epochs.iter().chain(&report.final_weights) {
        println!("  {c}");
    }
    let n = report.all().count();
    let failed = report.all().filter(|c| !c.passed()).count();
    let worst = report
        .worst()
        .map(|c| format!("{} at {:.2e}", c.name, c.rel_error))
        .unwrap_or_default();
    if failed == 0 {
        println!("passed: all {n} comparisons within tolerance (closest to its limit: {worst})");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("FAILED: {failed} of {n} comparisons over tolerance");
        Ok(ExitCode::FAILURE)
    }
}

fn info() -> Result<ExitCode> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        println!(
            "no GPU adapters found. A software Vulkan adapter is one command away on Debian/Ubuntu: \
             apt-get install -y mesa-vulkan-drivers"
        );
        return Ok(ExitCode::FAILURE);
    }
    for (i, a) in adapters.iter().enumerate() {
        println!(
            "{i}: {}{}",
            a.name,
            if i == 0 { "  (preferred)" } else { "" }
        );
        println!("   backend {:?}, type {:?}", a.backend, a.device_type);
        println!("   driver {} {}", a.driver, a.driver_info);
        println!(
            "   max storage binding {} MiB, max buffer {} MiB, workgroup up to {} invocations, \
             {} workgroups per dimension, timestamp queries: {}",
            a.max_storage_buffer_binding_size >> 20,
            a.max_buffer_size >> 20,
            a.max_compute_invocations_per_workgroup,
            a.max_compute_workgroups_per_dimension,
            if a.timestamp_queries { "yes" } else { "no" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn synth_command(args: SynthArgs) -> Result<ExitCode> {
    check_output_path("--out", &args.out)?;
    let cfg = synth_config(args.neurons, args.stimuli, args.data_seed)?;
    let data = synth::generate(&cfg);
    popdecode::data::npz::NpzOut::new()
        .f32("resp", &[data.n_stimuli(), data.neurons()], data.resp.data)
        .f32("stimuli", &[data.stimuli.len()], data.stimuli)
        .write(&args.out)?;
    println!(
        "wrote {}: resp ({} stimuli x {} neurons), stimuli (degrees), float32",
        args.out.display(),
        cfg.stimuli,
        cfg.neurons
    );
    Ok(ExitCode::SUCCESS)
}

fn bench_command(args: BenchArgs) -> Result<ExitCode> {
    use popdecode::bench::{BenchPlan, BenchRow, bench, kernel_times};
    use popdecode::gpu::runtime::probe::copy_bandwidth;
    if args.neurons == 0 {
        bail!("--neurons: expected at least 1");
    }
    if args.hidden.as_ref().is_some_and(|h| h.contains(&0)) {
        bail!("--hidden: widths must be at least 1");
    }
    if args.epochs == Some(0) || args.repeats == Some(0) {
        bail!("--epochs and --repeats: expected at least 1");
    }
    let data = synth::generate(&synth_config(args.neurons, 360, 0)?);
    let split = Split::shuffled(data.n_stimuli(), 0.6, 4)?;
    let problem = Problem::new(&data, &split);
    let mut rows: Vec<BenchRow> = Vec::new();
    let mut report = |row: BenchRow| {
        if args.json {
            println!("{}", serde_json::to_string(&row).unwrap_or_default());
        } else {
            print_bench_row(&row);
        }
        rows.push(row);
    };
    if !args.json {
        println!(
            "{:<5} {:>6} {:>7} {:>10} {:>9} {:>9} {:>8} {:>9} {:>7}  kernels (ms each)",
            "",
            "hidden",
            "neurons",
            "ms/epoch",
            "epochs/s",
            "GFLOP/s",
            "GB/s",
            "floor ms",
            "/kernels"
        );
    }
    if matches!(args.backend, BenchBackend::Gpu | BenchBackend::All) {
        let mut gpu = GpuBackend::open(args.adapter.as_deref())?;
        gpu.overrides = popdecode::gpu::tutorial::layout::PlanOverrides {
            k_split: args.k_split,
            tiles: args.tiles,
            row_split: args.row_split,
            wg_reduce: None,
            k_lanes: args.k_lanes,
            grad_unroll: args.grad_unroll,
            forward_unroll: args.forward_unroll,
            fuse_small: None,
            gemm: args.gemm,
            max_panel_width4: None,
        };
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
    if matches!(args.backend, BenchBackend::Cpu | BenchBackend::All) {
        let widths = args.hidden.clone().unwrap_or(vec![10, 200, 1000]);
        for &hidden in &widths {
            let plan = BenchPlan {
                hidden,
                epochs: args.epochs.unwrap_or(2),
                repeats: args.repeats.unwrap_or(3),
                copy_bandwidth: None,
            };
            report(bench(&mut ReferenceBackend, "cpu", &problem, &plan)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_bench_row(r: &popdecode::bench::BenchRow) {
    let kernels: Vec<String> = r
        .kernels
        .iter()
        .map(|(k, ms)| format!("{k} {ms:.3}"))
        .collect();
    println!(
        "{:<5} {:>6} {:>7} {:>10.3} {:>9.1} {:>9.1} {:>8.1} {:>9} {:>7}  {}",
        r.backend,
        r.hidden,
        r.neurons,
        r.ms_per_epoch,
        r.epochs_per_s,
        r.gflops,
        r.gbps,
        r.floor_ms
            .map(|f| format!("{f:.3}"))
            .unwrap_or_else(|| "-".into()),
        r.overhead_ratio()
            .map(|x| format!("{x:.2}x"))
            .unwrap_or_else(|| "-".into()),
        kernels.join(", ")
    );
}

/// The ridge baseline and the tutorial's network (train's defaults: M = 10, ReLU, init seed 1, 50 epochs,
/// lr 1e-4) on the same split, their test angular errors side by side.
fn baseline_command(args: BaselineArgs) -> Result<ExitCode> {
    use popdecode::ridge::{CvConfig, fit_cv};
    let cv_config = CvConfig {
        folds: args.folds,
        ..CvConfig::default()
    };
    cv_config.check()?;
    let config = training_config(args.epochs, &args.optim, args.model.task)?;
    let (problem, described) = load_problem(&args.data)?;
    let (spec, params) = model(&args.model, problem.neurons())?;
    let started = Instant::now();
    let cv = fit_cv(&problem.x_train, &problem.y_train, &cv_config)?;
    let ridge = cv.model.angular_errors(&problem.x_test, &problem.y_test)?;
    let ridge_seconds = started.elapsed().as_secs_f64();
    let cv_error = cv.cv_errors[cv.chosen_index()];
    if !args.json {
        println!("data: {described}");
        println!(
            "ridge: onto (cos, sin) of the direction; {}-fold cross-validation on the {} training rows chose \
             lambda {:.3e} of {} values from {:.3e} to {:.3e}{} (held-out angular error {:.2} deg)",
            cv.folds,
            problem.n_train(),
            cv.lambda,
            cv.grid.len(),
            cv.grid[0],
            cv.grid[cv.grid.len() - 1],
            match cv.chosen_index() {
                0 => ", the smallest",
                i if i + 1 == cv.grid.len() => ", the largest",
                _ => "",
            },
            cv_error
        );
    }

    let mut backend = args.on.open()?;
    if !args.json {
        println!(
            "network: {}; {}, {} epochs",
            describe_network(&spec),
            describe_training(&config, problem.n_train()),
            config.epochs
        );
        println!("backend: {}", backend.describe());
    }
    let trained = backend.train(&problem, &spec, &params, &config, &mut |p| {
        if !args.json {
            println!("{}", progress_line(p.epoch, config.epochs, p.history));
        }
    })?;
    let network = Summary::new(&trained, &problem, &spec);

    if args.json {
        let object = serde_json::json!({
            "n_train": problem.n_train(),
            "n_test": problem.n_test(),
            "folds": cv.folds,
            "lambda": cv.lambda,
            "lambda_grid": cv.grid,
            "cv_errors": cv.cv_errors,
            "ridge": {
                "test_median_deg": ridge.median_deg,
                "test_mean_deg": ridge.mean_deg,
                "seconds": ridge_seconds,
            },
            "network": {
                "describe": describe_network(&spec),
                "backend": backend.describe(),
                "epochs": config.epochs,
                "lr": config.lr,
                "test_median_deg": network.test_angular.median_deg,
                "test_mean_deg": network.test_angular.mean_deg,
                "test_loss": network.test_loss,
                "seconds": network.train_seconds + network.setup_seconds,
            },
        });
        println!("{object}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "test angular error on the {} test stimuli, degrees around the circle:",
        problem.n_test()
    );
    println!("{:<8} {:>8} {:>8} {:>9}", "", "median", "mean", "time");
    for (name, s, seconds) in [
        ("ridge", ridge, ridge_seconds),
        (
            "network",
            network.test_angular,
            network.train_seconds + network.setup_seconds,
        ),
    ] {
        println!(
            "{name:<8} {:>8.2} {:>8.2} {:>7.2} s",
            s.median_deg, s.mean_deg, seconds
        );
    }
    Ok(ExitCode::SUCCESS)
}
