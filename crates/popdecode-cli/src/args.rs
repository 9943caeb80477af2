//! The argument groups the commands share, one per concern: where the data comes from (`DataArgs`), the network
//! (`ModelArgs`), how it trains (`OptimArgs`), where it runs (`BackendArgs`, the one `--adapter`) and what a run
//! leaves (`RunArgs`). Each group turns itself into library values through the library's validating
//! constructors, so a bad flag is refused here exactly as a library user's bad value would be.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, ValueEnum};

use popdecode::Error;
use popdecode::backend::Backend;
use popdecode::data::npz::NpzFile;
use popdecode::data::problem::Problem;
use popdecode::data::split::Split;
use popdecode::data::synth::{self, SynthConfig};
use popdecode::data::{Dataset, StimulusUnits, TUTORIAL_MD5, md5_hex};
use popdecode::memory;
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::{Objective, Penalty};
use popdecode::optim::{self, HyperParameters};
use popdecode::run::figures::Formats;
use popdecode::select::{BackendChoice, Workload, open_backend_for};
use popdecode::training::Config;

/// The name a value has on the command line (`Task::Classify` -> "classify").
pub fn flag_name<E: ValueEnum>(value: &E) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// A path as summary.json and the console show it.
pub fn shown(path: &Option<PathBuf>) -> Option<String> {
    path.as_ref().map(|p| p.display().to_string())
}

/// The `display_order` of `-q` and `-v`, which come last in every command's help.
pub const LAST: usize = 10_000;

#[derive(Args)]
#[command(next_help_heading = "Data")]
pub struct DataArgs {
    /// The tutorial's data file (.npz with `resp`: stimuli x neurons and `stimuli`: degrees). Without it, the
    /// built-in synthetic stand-in of the same shape is used.
    #[arg(long, value_name = "FILE.npz")]
    pub data: Option<PathBuf>,
    /// The units of the --data file's `stimuli`: degrees in [0, 360], or radians in [0, 2 pi] (converted to
    /// degrees) [default: deg]. Refused without --data.
    #[arg(long, value_enum, value_name = "UNITS")]
    pub stimulus_units: Option<StimulusUnitsArg>,
    /// Average rows into W-degree bins, as the tutorial's `load_data(bin_width)`.
    #[arg(long, value_name = "W", default_value_t = 1.0)]
    pub bin_width: f64,
    /// Seed of the synthetic data.
    #[arg(
        long,
        value_name = "SEED",
        default_value_t = 0,
        conflicts_with = "data"
    )]
    pub data_seed: u64,
    /// Neurons in the synthetic data.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 23589,
        conflicts_with = "data"
    )]
    pub neurons: usize,
    /// Stimuli (rows) in the synthetic data.
    #[arg(long, value_name = "S", default_value_t = 360, conflicts_with = "data")]
    pub stimuli: usize,
    /// The train/test split: an .npz file with integer arrays `itrain` and `itest` (0-based rows).
    #[arg(long, value_name = "FILE.npz")]
    pub split: Option<PathBuf>,
    /// The fraction of rows used for training when the split is drawn.
    #[arg(
        long,
        value_name = "F",
        default_value_t = 0.6,
        conflicts_with = "split"
    )]
    pub train_fraction: f64,
    /// Seed of the split: torch.manual_seed(SEED); torch.randperm(stimuli), as the tutorial (--seed is the same
    /// flag).
    #[arg(
        long = "split-seed",
        visible_alias = "seed",
        value_name = "SEED",
        default_value_t = 4,
        conflicts_with = "split"
    )]
    pub seed: u64,
}

/// The command line's names for `data::StimulusUnits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StimulusUnitsArg {
    /// Degrees in [0, 360].
    Deg,
    /// Radians in [0, 2 pi], converted to degrees.
    Rad,
}

impl From<StimulusUnitsArg> for StimulusUnits {
    fn from(u: StimulusUnitsArg) -> StimulusUnits {
        match u {
            StimulusUnitsArg::Deg => StimulusUnits::Degrees,
            StimulusUnitsArg::Rad => StimulusUnits::Radians,
        }
    }
}

/// The synthetic stand-in's shape, checked (`--neurons`, `--stimuli`), and its matrix, which generating it holds
/// twice, against the memory this machine has free.
pub fn synth_config(neurons: usize, stimuli: usize, seed: u64) -> Result<SynthConfig, Error> {
    if neurons == 0 {
        return Err(Error::bad_argument(
            "--neurons",
            "expected at least 1 neuron",
        ));
    }
    if stimuli < 2 {
        return Err(Error::bad_argument(
            "--stimuli",
            "expected at least 2 stimuli (one to train on, one to test)",
        ));
    }
    let values = (neurons as u128).saturating_mul(stimuli as u128);
    memory::check(
        &[memory::Part {
            what: "the synthetic data (generated in f32, held twice)",
            flags: format!("--neurons {neurons}, --stimuli {stimuli}"),
            bytes: values.saturating_mul(2 * 4),
        }],
        memory::available(),
    )?;
    Ok(SynthConfig {
        neurons,
        stimuli,
        seed,
    })
}

/// The data as a run sees it: binned, split, and a line saying where it came from.
pub struct Loaded {
    pub data: Dataset,
    pub split: Split,
    pub described: String,
}

impl Loaded {
    pub fn problem(&self) -> Problem {
        Problem::new(&self.data, &self.split)
    }
}

impl DataArgs {
    /// The data, binned and split, and a line saying where it came from.
    pub fn problem(&self) -> Result<(Problem, String)> {
        let loaded = self.load()?;
        Ok((loaded.problem(), loaded.described))
    }

    /// The units of the --data file's stimuli; --stimulus-units without --data is refused, as it would mean
    /// nothing (the synthetic stand-in is drawn in degrees).
    pub fn stimulus_units(&self) -> Result<StimulusUnits, Error> {
        match (&self.data, self.stimulus_units) {
            (None, Some(u)) => Err(Error::bad_argument(
                "--stimulus-units",
                format!(
                    "{} says the units of the --data file's stimuli, and without --data the synthetic stand-in \
                     is used, which is in degrees (add --data FILE.npz)",
                    flag_name(&u)
                ),
            )),
            (_, u) => Ok(u.map_or(StimulusUnits::Degrees, Into::into)),
        }
    }

    /// Before anything is allocated: the data's shape from the flags or the --data file's header, the network
    /// `model` builds on it (checked by `Spec::new`), and the memory a run of `config` on them needs, against
    /// what this machine has free. A refusal names the flags that set the largest part, and every part's bytes.
    pub fn check_memory(&self, model: &ModelArgs, config: &Config) -> Result<()> {
        self.stimulus_units()?;
        let (rows, neurons, data_flags) = match &self.data {
            Some(path) => {
                let (rows, neurons) = Dataset::shape_in(path)?;
                if rows == 0 || neurons == 0 {
                    // Loading it says what is wrong, in the data's own terms.
                    return Ok(());
                }
                (rows, neurons, format!("--data {}", path.display()))
            }
            None => {
                synth_config(self.neurons, self.stimuli, self.data_seed)?;
                (
                    self.stimuli,
                    self.neurons,
                    format!("--neurons {}, --stimuli {}", self.neurons, self.stimuli),
                )
            }
        };
        let spec = model.spec(neurons)?;
        let widths = spec.hidden.iter().map(usize::to_string).collect::<Vec<_>>();
        let network_flags = match spec.objective.classes() {
            Some(c) => format!("--hidden {}, --classes {c}", widths.join(",")),
            None => format!("--hidden {}", widths.join(",")),
        };
        memory::check(
            &memory::training_run(
                rows,
                &spec,
                config.optimizer.moments(),
                &data_flags,
                &network_flags,
            ),
            memory::available(),
        )?;
        Ok(())
    }

    /// The binned data, its split, and a line saying where it came from.
    pub fn load(&self) -> Result<Loaded> {
        let (data, origin, _) = self.raw()?;
        self.bin_and_split(&data, &origin, self.bin_width)
    }

    /// The data before binning, where it came from, and the --data file's md5 (None for the stand-in).
    pub fn raw(&self) -> Result<(Dataset, String, Option<String>)> {
        let units = self.stimulus_units()?;
        let mut file_md5 = None;
        let (data, origin) = match &self.data {
            Some(path) => {
                let data = Dataset::load_with(path, units)?;
                let md5 = md5_hex(path)?;
                let known = if md5 == TUTORIAL_MD5 {
                    ", md5 matches the tutorial's W3D4_stringer_oribinned1.npz"
                } else {
                    ""
                };
                let origin = format!("{}{known}", path.display());
                file_md5 = Some(md5);
                (data, origin)
            }
            None => {
                let cfg = synth_config(self.neurons, self.stimuli, self.data_seed)?;
                (
                    synth::generate(&cfg),
                    format!("synthetic stand-in, data seed {}", self.data_seed),
                )
            }
        };
        Ok((data, origin, file_md5))
    }

    /// `data` binned at `bin_width` and split as the flags say.
    pub fn bin_and_split(&self, data: &Dataset, origin: &str, bin_width: f64) -> Result<Loaded> {
        let data = data.binned(bin_width)?;
        let split = match &self.split {
            Some(path) => Split::load(path, data.n_stimuli())?,
            None => Split::shuffled(data.n_stimuli(), self.train_fraction, self.seed)?,
        };
        let described = format!(
            "{} neurons in response to {} stimuli ({origin}); {} training and {} test stimuli{}",
            data.neurons(),
            data.n_stimuli(),
            split.train.len(),
            split.test.len(),
            match &self.split {
                Some(path) => format!(" from {}", path.display()),
                None => format!(" (seed {})", self.seed),
            }
        );
        Ok(Loaded {
            data,
            split,
            described,
        })
    }
}

/// What the network decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// The stimulus angle in degrees (the tutorial).
    Regress,
    /// The stimulus's orientation bin among --classes equal bins (the bonus tutorial).
    Classify,
}

/// The regression loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Loss {
    /// Mean squared error in degrees² (the tutorial's nn.MSELoss).
    Mse,
    /// Mean of |exp(i θ̂) - exp(i θ)|: no penalty for decoding across 0/360.
    Circular,
}

/// The command line's names for `model::Activation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// ReLU between the layers (the tutorial's DeepNetReLU).
    Relu,
    /// No nonlinearity: a linear network (the tutorial's DeepNet).
    Linear,
}

impl From<ActivationArg> for Activation {
    fn from(a: ActivationArg) -> Activation {
        match a {
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Linear => Activation::Linear,
        }
    }
}

#[derive(Args)]
#[command(next_help_heading = "Network")]
pub struct ModelArgs {
    /// Regress the angle, or classify it into orientation bins (Linear -> ReLU -> Linear(M, C) ->
    /// LogSoftmax, NLL loss) [default: regress, or what the --init file holds].
    #[arg(long, value_enum)]
    pub task: Option<Task>,
    /// Orientation bins C for --task classify: digitize(ori, linspace(0, 360, C + 1)) - 1 [default: 20, or the
    /// --init file's outputs].
    /// Refused with --task regress.
    #[arg(long, value_name = "C")]
    pub classes: Option<usize>,
    /// The regression loss [default: mse]. Refused with --task classify, which is always trained on NLL.
    #[arg(long, value_enum)]
    pub loss: Option<Loss>,
    /// Hidden units M, or several hidden layers' widths, e.g. 200,100,50 [default: 10 for regress, 20 for
    /// classify, or the --init file's widths].
    #[arg(long, value_name = "M[,M2,...]", value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// The hidden nonlinearity: relu (the tutorial's DeepNetReLU) or linear (its DeepNet).
    #[arg(long, value_enum, default_value_t = ActivationArg::Relu)]
    pub activation: ActivationArg,
    /// Initial weights: an .npz with PyTorch state_dict names (in_layer.weight, in_layer.bias, [hidden_layers.0.weight, ...,]
    /// out_layer.weight, out_layer.bias). The hidden widths and the task (classify with C classes when out_layer
    /// has C > 1 outputs) come from its shapes unless --hidden, --task and --classes say them.
    #[arg(long, value_name = "FILE.npz")]
    pub init: Option<PathBuf>,
    /// Seed of PyTorch's default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    #[arg(
        long,
        value_name = "SEED",
        default_value_t = 1,
        conflicts_with = "init"
    )]
    pub init_seed: u64,
}

/// The network a weight file holds, from its tensors' shapes: the hidden layers' widths (the rows of
/// in_layer.weight, hidden_layers.0.weight, ...) and the outputs (out_layer.weight's rows).
struct FileShape {
    hidden: Vec<usize>,
    outputs: usize,
}

impl FileShape {
    fn read(path: &Path) -> Result<FileShape> {
        let mut file = NpzFile::open(path)?;
        let rows = |file: &mut NpzFile, key: &str| -> Result<usize, Error> {
            let shape = file.array_f32_any(key)?.shape;
            match shape[..] {
                [rows, _] if rows > 0 => Ok(rows),
                _ => Err(file.bad(key, format!("shape {shape:?}: expected a matrix with rows"))),
            }
        };
        let mut hidden = vec![rows(&mut file, "in_layer.weight")?];
        for k in 0.. {
            let key = format!("hidden_layers.{k}.weight");
            if !file.contains(&key) {
                break;
            }
            hidden.push(rows(&mut file, &key)?);
        }
        Ok(FileShape {
            outputs: rows(&mut file, "out_layer.weight")?,
            hidden,
        })
    }

    /// The name of the weight whose rows are hidden layer `i`'s width.
    fn layer_key(i: usize) -> String {
        match i {
            0 => "in_layer.weight".to_string(),
            i => format!("hidden_layers.{}.weight", i - 1),
        }
    }
}

impl ModelArgs {
    /// What --task says, or regress.
    pub fn task(&self) -> Task {
        self.task.unwrap_or(Task::Regress)
    }

    /// With --init, the hidden widths, task and classes the file holds, where the flags do not say them; a flag
    /// that says otherwise is refused, naming the flag and the tensor.
    pub fn shape_from_init(&mut self) -> Result<()> {
        let Some(path) = &self.init else {
            return Ok(());
        };
        let found = FileShape::read(path)?;
        let file = path.display();
        let widths = |w: &[usize]| w.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        match &self.hidden {
            Some(given) if given.len() != found.hidden.len() => {
                return Err(Error::bad_argument(
                    "--hidden",
                    format!(
                        "{} is {} hidden layer(s), but {file} holds {} ({}: {})",
                        widths(given),
                        given.len(),
                        found.hidden.len(),
                        (0..found.hidden.len())
                            .map(FileShape::layer_key)
                            .collect::<Vec<_>>()
                            .join(", "),
                        widths(&found.hidden)
                    ),
                )
                .into());
            }
            Some(given) => {
                if let Some(i) = (0..given.len()).find(|&i| given[i] != found.hidden[i]) {
                    return Err(Error::bad_argument(
                        "--hidden",
                        format!(
                            "{} asks {} units of hidden layer {}, but {} in {file} has {} rows",
                            widths(given),
                            given[i],
                            i + 1,
                            FileShape::layer_key(i),
                            found.hidden[i]
                        ),
                    )
                    .into());
                }
            }
            None => self.hidden = Some(found.hidden.clone()),
        }
        let held = if found.outputs == 1 {
            Task::Regress
        } else {
            Task::Classify
        };
        if let Some(task) = self.task
            && task != held
        {
            return Err(Error::bad_argument(
                &format!("--task {}", flag_name(&task)),
                match held {
                    Task::Regress => format!(
                        "out_layer.weight in {file} has 1 row, a regression's single output"
                    ),
                    Task::Classify => format!(
                        "out_layer.weight in {file} has {} rows, a classifier's classes",
                        found.outputs
                    ),
                },
            )
            .into());
        }
        self.task = Some(held);
        if held == Task::Classify {
            match self.classes {
                Some(c) if c != found.outputs => {
                    return Err(Error::bad_argument(
                        "--classes",
                        format!(
                            "{c}, but out_layer.weight in {file} has {} rows (classes)",
                            found.outputs
                        ),
                    )
                    .into());
                }
                _ => self.classes = Some(found.outputs),
            }
        }
        Ok(())
    }

    /// The orientation bins of --task classify: --classes, or 20.
    pub fn classes(&self) -> usize {
        self.classes.unwrap_or(20)
    }

    /// The loss, from --task, --loss and --classes.
    pub fn objective(&self) -> Result<Objective, Error> {
        if self.task() == Task::Regress
            && let Some(c) = self.classes
        {
            return Err(Error::bad_argument(
                "--classes",
                format!(
                    "{c} is for --task classify; --task regress has no classes (add --task classify)"
                ),
            ));
        }
        match (self.task(), self.loss) {
            (Task::Regress, None | Some(Loss::Mse)) => Ok(Objective::Mse),
            (Task::Regress, Some(Loss::Circular)) => Ok(Objective::Circular),
            (Task::Classify, None) => Ok(Objective::Nll {
                classes: self.classes(),
            }),
            (Task::Classify, Some(loss)) => Err(Error::bad_argument(
                &format!("--loss {}", flag_name(&loss)),
                "is for --task regress; --task classify is trained on NLL",
            )),
        }
    }

    /// The network for `neurons` inputs, checked.
    pub fn spec(&self, neurons: usize) -> Result<Spec, Error> {
        let hidden = self.hidden.clone().unwrap_or(match self.task() {
            Task::Regress => vec![10],
            Task::Classify => vec![20],
        });
        Spec::new(neurons, hidden, self.activation.into(), self.objective()?)
    }

    /// The network for `neurons` inputs, checked, and its initial weights.
    pub fn network(&self, neurons: usize) -> Result<(Spec, Params)> {
        let spec = self.spec(neurons)?;
        let params = match &self.init {
            Some(path) => Params::load(path, &spec)?,
            None => Params::init(&spec, self.init_seed),
        };
        Ok((spec, params))
    }

    /// "initial weights from FILE" or "init seed K".
    pub fn describe_init(&self) -> String {
        match &self.init {
            Some(p) => format!("initial weights from {}", p.display()),
            None => format!("init seed {}", self.init_seed),
        }
    }
}

/// `--optimizer`'s values: `optim::catalogue()`, each with its line of help.
fn optimizer_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(
        optim::catalogue()
            .into_iter()
            .map(|(name, help)| PossibleValue::new(name).help(help)),
    )
}

/// A number; several, comma-separated, are pointed to `sweep`, which trains one network per value.
fn one_number(text: &str) -> std::result::Result<f64, String> {
    if text.contains(',') {
        return Err(format!(
            "one value, got several: `popdecode sweep --vary lr={text}` trains a network for each (with \
             --folds K, cross-validated)"
        ));
    }
    text.trim()
        .parse()
        .map_err(|e| format!("{e}: expected a number such as 1e-4"))
}

/// How to train, shared by `train`, `check` and `baseline`.
#[derive(Args)]
#[command(next_help_heading = "Training")]
pub struct OptimArgs {
    /// Learning rate [default: 1e-4 for regress, 0.1 for classify, as in the tutorials].
    #[arg(long, value_parser = one_number)]
    pub lr: Option<f64>,
    /// The optimizer: how the parameters follow their gradients.
    #[arg(long, value_name = "NAME", default_value = "sgd", value_parser = optimizer_parser())]
    pub optimizer: String,
    /// SGD momentum (torch.optim.SGD's `momentum`) [default: 0 for sgd].
    #[arg(long, value_name = "BETA")]
    pub momentum: Option<f64>,
    /// Weight decay, for the optimizers that take it (refused by the others).
    #[arg(long, value_name = "WD")]
    pub weight_decay: Option<f64>,
    /// Rows per gradient step (mini-batch SGD, reshuffled each epoch) [default: all training rows].
    #[arg(long, value_name = "B")]
    pub batch_size: Option<usize>,
    /// Seed of the mini-batch shuffles [default: 0]. Refused without --batch-size.
    #[arg(long, value_name = "SEED")]
    pub shuffle_seed: Option<u64>,
    /// L2 penalty on the input weights: adds L2 * sum(W_in ** 2) to the loss.
    #[arg(long, value_name = "L2", default_value_t = 0.0)]
    pub l2: f64,
    /// L1 penalty on the input weights: adds L1 * sum(|W_in|) to the loss.
    #[arg(long, value_name = "L1", default_value_t = 0.0)]
    pub l1: f64,
}

impl OptimArgs {
    /// The training configuration for `epochs` epochs of `task`, through `optim::build` and `Config::new`.
    pub fn config(&self, epochs: usize, task: Task) -> Result<Config, Error> {
        let lr = self.lr.unwrap_or(match task {
            Task::Regress => 1e-4,
            Task::Classify => 0.1,
        });
        if self.batch_size.is_none()
            && let Some(seed) = self.shuffle_seed
        {
            return Err(Error::bad_argument(
                "--shuffle-seed",
                format!(
                    "{seed} seeds the mini-batch shuffles of --batch-size; without --batch-size every step \
                     takes all training rows and nothing is shuffled (add --batch-size)"
                ),
            ));
        }
        let optimizer = optim::build(
            &self.optimizer,
            &HyperParameters {
                momentum: self.momentum,
                weight_decay: self.weight_decay,
            },
        )?;
        Config::new(
            epochs,
            lr,
            optimizer,
            self.batch_size,
            Penalty {
                l1: self.l1,
                l2: self.l2,
            },
            self.shuffle_seed.unwrap_or(0),
        )
    }
}

/// The command line's names for the backends (`select::BackendChoice`), and bench's `all`. Each command
/// takes the values that mean something to it (`BackendArgs::values`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendName {
    /// A hardware GPU when wgpu finds one, else the fast CPU backend (and it says which on stderr).
    Auto,
    /// The GPU wgpu prefers, hardware or software (see `popdecode info`).
    Gpu,
    /// The fast CPU backend: float32 on every core, with the processor's SIMD.
    Cpu,
    /// The f64 CPU reference everything is checked against.
    Reference,
    /// Every backend, one after the other.
    All,
}

impl BackendName {
    /// Its `--backend` name.
    pub fn name(self) -> &'static str {
        match self {
            BackendName::Auto => "auto",
            BackendName::Gpu => "gpu",
            BackendName::Cpu => "cpu",
            BackendName::Reference => "reference",
            BackendName::All => "all",
        }
    }

    /// The library's choice; `None` for `all`.
    pub fn choice(self) -> Option<BackendChoice> {
        match self {
            BackendName::Auto => Some(BackendChoice::Auto),
            BackendName::Gpu => Some(BackendChoice::Gpu),
            BackendName::Cpu => Some(BackendChoice::Cpu),
            BackendName::Reference => Some(BackendChoice::Reference),
            BackendName::All => None,
        }
    }
}

/// Where a command runs: `--backend` and the one `--adapter`. Each command states what `--backend` means to it,
/// its default and the values it takes, through `BackendArgs::values` in a `mut_arg` of its own arguments.
#[derive(Args)]
#[command(next_help_heading = "Backend")]
pub struct BackendArgs {
    #[arg(long, value_enum, default_value_t = BackendName::Auto)]
    pub backend: BackendName,
    /// Pick the GPU adapter whose name contains this, or whose API is this (vulkan, metal, dx12, gl), both
    /// case-insensitive, as `popdecode info` lists them.
    #[arg(long, value_name = "NAME")]
    pub adapter: Option<String>,
}

impl BackendArgs {
    /// Sets `--backend`'s help, default and accepted values for one command.
    pub fn values(
        help: &'static str,
        default: BackendName,
        accepted: &'static [BackendName],
    ) -> impl FnOnce(clap::Arg) -> clap::Arg {
        move |arg| {
            let parser = PossibleValuesParser::new(
                accepted
                    .iter()
                    .filter_map(ValueEnum::to_possible_value)
                    .collect::<Vec<_>>(),
            )
            .map(|name| BackendName::from_str(&name, false).expect("a value the parser accepted"));
            arg.help(help)
                .value_parser(parser)
                .default_value(default.name())
        }
    }

    /// The backends a run can train on, for `train` and `baseline`.
    /// `--backend`'s help for the commands that train.
    pub const TRAINING_HELP: &'static str = "Where to train: a hardware GPU when one is found, else the fast CPU \
        backend (auto); the GPU; the fast CPU backend (f32, every core, SIMD); or the f64 reference";

    pub const TRAINING: &'static [BackendName] = &[
        BackendName::Auto,
        BackendName::Gpu,
        BackendName::Cpu,
        BackendName::Reference,
    ];

    /// The backend `--backend` names (not `all`), with a note on stderr saying which `auto` picked and why, for
    /// `work` known already: a GPU that cannot hold it is refused (`--backend gpu`) or passed
    /// over for the CPU (`auto`, with the note saying why), before any upload (`select::open_backend_for`).
    pub fn open_for(&self, work: Workload) -> Result<Box<dyn Backend>, Error> {
        let choice = self.check()?;
        let (backend, note) = open_backend_for(choice, self.adapter.as_deref(), work)?;
        if let Some(note) = note {
            eprintln!("note: {note}");
        }
        Ok(backend)
    }

    /// The backend `--backend` names, checked against `--adapter` (which only a GPU takes), before any work.
    pub fn check(&self) -> Result<BackendChoice, Error> {
        let choice = self.backend.choice().ok_or_else(|| {
            Error::bad_argument("--backend", "`all` names several backends; choose one")
        })?;
        if let Some(adapter) = &self.adapter
            && matches!(choice, BackendChoice::Cpu | BackendChoice::Reference)
        {
            return Err(Error::bad_argument(
                "--adapter",
                format!(
                    "{adapter:?} picks a GPU adapter, and --backend {} runs on none (use --backend gpu or auto)",
                    self.backend.name()
                ),
            ));
        }
        Ok(choice)
    }
}

/// What a training run leaves.
#[derive(Args)]
#[command(next_help_heading = "Output")]
pub struct RunArgs {
    /// The run folder, new or empty: summary.json, history.csv, predictions.csv, weights.npz, tuning.npz and the
    /// figures. A run never writes into another's folder [default: runs/<UTC date and time>, with -2, -3, ...
    /// added if that is taken].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print only the run's summary, as one JSON object on stdout (what summary.json holds).
    #[arg(long)]
    pub json: bool,
    /// No progress lines or progress bar.
    #[arg(long, short, display_order = LAST)]
    pub quiet: bool,
    #[command(flatten)]
    pub figures: FormatArg,
}

/// `--format`: one declaration for every command that draws figures (train, evaluate, baseline, plot).
#[derive(Args, Clone, Copy)]
#[command(next_help_heading = "Output")]
pub struct FormatArg {
    /// The figures' formats, comma-separated: svg, png, or both (the PNG is the SVG rendered at twice its size
    /// with a built-in font).
    #[arg(long = "format", value_name = "svg,png", default_value = "svg,png", value_parser = Formats::parse)]
    pub formats: Formats,
}

/// Fails before any work if an output file could not be written where asked.
pub fn check_output_path(flag: &str, path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::bad_argument(
            flag,
            format!("the folder {} does not exist", dir.display()),
        ));
    }
    if path.is_dir() {
        return Err(Error::bad_argument(
            flag,
            format!("{} is a folder; expected a file name", path.display()),
        ));
    }
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        return Err(Error::bad_argument(
            flag,
            format!(
                "{} is {}; expected a regular file",
                path.display(),
                popdecode::data::npz::node_kind(&meta)
            ),
        ));
    }
    Ok(())
}

/// Fails if the output file `out` (given by `flag`) is one of the `inputs` (flag, path), symlinks resolved: a
/// run never overwrites what it reads.
pub fn check_not_an_input(
    flag: &str,
    out: &Path,
    inputs: &[(&str, Option<&Path>)],
) -> Result<(), Error> {
    let Ok(target) = std::fs::canonicalize(out) else {
        return Ok(());
    };
    for (input_flag, input) in inputs {
        if let Some(input) = input
            && std::fs::canonicalize(input).is_ok_and(|i| i == target)
        {
            return Err(Error::bad_argument(
                flag,
                format!(
                    "{} is the file {input_flag} reads; {flag} would overwrite it (name another file)",
                    out.display()
                ),
            ));
        }
    }
    Ok(())
}
