//! `popdecode evaluate`: saved weights on data, without training: the final summary and a run folder as `train`
//! leaves (with no history).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::progress::Console;
use popdecode::model::Spec;
use popdecode::objective::Penalty;
use popdecode::optim::{self, HyperParameters};
use popdecode::run::folder::RunFolder;
use popdecode::run::outcome::Outcome;
use popdecode::run::record::{RunInputs, record};
use popdecode::training::Config;

use super::args::{
    ActivationArg, BackendArgs, BackendName, DataArgs, FormatArg, Loss, ModelArgs, Task, flag_name,
    shown,
};
use super::print::{describe_recorded, summary_lines};

/// What summary.json's `config` says of an evaluation: it trained nothing.
pub const NO_TRAINING: &str =
    "none: evaluate trains nothing, so history.csv holds no epochs and loss.svg no curve";

#[derive(Args)]
#[command(mut_arg(
    "backend",
    BackendArgs::values(
        "Where to evaluate: a hardware GPU when one is found, else the fast CPU backend (auto); the GPU; the fast \
     CPU backend (f32, every core, SIMD); or the f64 reference. The same backend as the run's reproduces its \
     numbers exactly",
        BackendName::Auto,
        BackendArgs::TRAINING,
    )
))]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The weights to evaluate: an .npz with PyTorch state_dict names, as a run folder's weights.npz or train
    /// --save writes them. The hidden widths and the task (classify with C classes when out_layer.weight has C > 1
    /// rows) come from its shapes.
    #[arg(long, value_name = "FILE.npz", help_heading = "Network")]
    pub weights: PathBuf,
    /// The hidden nonlinearity the weights were trained with: relu (the tutorial's DeepNetReLU) or linear (its
    /// DeepNet).
    #[arg(long, value_enum, default_value_t = ActivationArg::Relu, help_heading = "Network")]
    pub activation: ActivationArg,
    /// The regression loss the weights were trained with, in which the losses are reported; circular also wraps
    /// the decoded angles into [0, 360) [default: mse]. Refused for a classifier's weights (NLL).
    #[arg(long, value_enum, help_heading = "Network")]
    pub loss: Option<Loss>,
    /// L2 penalty on the input weights, part of both losses as in train: adds L2 * sum(W_in ** 2).
    #[arg(
        long,
        value_name = "L2",
        default_value_t = 0.0,
        help_heading = "Training"
    )]
    pub l2: f64,
    /// L1 penalty on the input weights, part of both losses as in train: adds L1 * sum(|W_in|).
    #[arg(
        long,
        value_name = "L1",
        default_value_t = 0.0,
        help_heading = "Training"
    )]
    pub l1: f64,
    #[command(flatten)]
    pub on: BackendArgs,
    /// The run folder, new or empty, as train's: summary.json, split.npz, init.npz (the weights evaluated),
    /// history.csv (no epochs), predictions.csv, weights.npz, tuning.npz and the figures [default: runs/<UTC date
    /// and time>, with -2, -3, ... added if that is taken].
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: Option<PathBuf>,
    /// Print only the summary, as one JSON object on stdout (what summary.json holds).
    #[arg(long, help_heading = "Output")]
    pub json: bool,
    #[command(flatten)]
    pub figures: FormatArg,
}

pub fn run(args: EvaluateArgs) -> Result<ExitCode> {
    let launched = Instant::now();
    let mut model = ModelArgs {
        task: None,
        classes: None,
        loss: args.loss,
        hidden: None,
        activation: args.activation,
        init: Some(args.weights.clone()),
        init_seed: 0,
    };
    model.shape_from_init()?;
    // No epoch runs: the optimizer and learning rate are never used, but the backends take a whole Config.
    let config = Config::new(
        0,
        0.0,
        optim::build("sgd", &HyperParameters::default())?,
        None,
        Penalty {
            l1: args.l1,
            l2: args.l2,
        },
        0,
    )?;
    if let Some(out) = &args.out {
        popdecode::run::folder::check_available(out)?;
    }
    let loaded = args.data.load()?;
    let problem = loaded.problem();
    let (spec, params) = model.network(problem.neurons())?;
    let mut backend = args.on.open_for((&problem, &spec, &config))?;
    let folder = RunFolder::claim(args.out.as_deref())?;
    let console = Console::new(args.json, false, 0);
    console.line(format_args!("data: {}", loaded.described));
    console.line(format_args!(
        "network: {}; weights from {} (evaluated, not trained)",
        spec.architecture(),
        args.weights.display()
    ));
    console.line(format_args!("backend: {}", backend.describe()));
    let evaluated = backend.train(&problem, &spec, &params, &config, &mut |_| {})?;
    let summary = Outcome::new(&evaluated, &problem, &spec, &config.penalty);
    for line in summary_lines(&summary, &spec) {
        console.line(format_args!("{line}"));
    }
    let recorded = record(
        folder,
        &RunInputs {
            formats: args.figures.formats,
            command: std::env::args().collect(),
            config: serde_json::to_value(EvaluateConfiguration::new(&args, &model, &spec))?,
            data: &loaded.data,
            data_description: loaded.described.clone(),
            split: &loaded.split,
            problem: &problem,
            spec: &spec,
            initial: &params,
            network_description: spec.architecture(),
            backend: backend.name(),
            adapter: backend.describe(),
            trained: &evaluated,
            test_loss: summary.test_loss,
            launched,
        },
    )?;
    console.line(format_args!("run: {}", describe_recorded(&recorded)));
    console.line(format_args!(
        "time: {:.3} s setup and evaluation, {:.2} s wall in all; backend: {}",
        summary.setup_seconds + summary.train_seconds,
        launched.elapsed().as_secs_f64(),
        backend.describe()
    ));
    if console.json() {
        crate::say!("{}", recorded.summary.to_json());
    }
    Ok(ExitCode::SUCCESS)
}

/// summary.json's "config" for an evaluation: the command, the weights, the data and split as for train, and
/// `training`, which says that nothing was trained.
#[derive(Serialize)]
struct EvaluateConfiguration {
    command: &'static str,
    training: &'static str,
    weights: String,
    data: Option<String>,
    bin_width: f64,
    data_seed: Option<u64>,
    neurons: Option<usize>,
    stimuli: Option<usize>,
    split: Option<String>,
    train_fraction: Option<f64>,
    split_seed: Option<u64>,
    task: String,
    classes: Option<usize>,
    loss: Option<String>,
    hidden: Vec<usize>,
    activation: String,
    epochs: usize,
    l2: f64,
    l1: f64,
    backend: String,
    adapter: Option<String>,
    out: Option<String>,
}

impl EvaluateConfiguration {
    fn new(args: &EvaluateArgs, model: &ModelArgs, spec: &Spec) -> EvaluateConfiguration {
        let d = &args.data;
        let synthetic = d.data.is_none();
        let drawn = d.split.is_none();
        EvaluateConfiguration {
            command: "evaluate",
            training: NO_TRAINING,
            weights: args.weights.display().to_string(),
            data: shown(&d.data),
            bin_width: d.bin_width,
            data_seed: synthetic.then_some(d.data_seed),
            neurons: synthetic.then_some(d.neurons),
            stimuli: synthetic.then_some(d.stimuli),
            split: shown(&d.split),
            train_fraction: drawn.then_some(d.train_fraction),
            split_seed: drawn.then_some(d.seed),
            task: flag_name(&model.task()),
            classes: (model.task() == Task::Classify).then_some(model.classes()),
            loss: (model.task() == Task::Regress)
                .then(|| flag_name(&model.loss.unwrap_or(Loss::Mse))),
            hidden: spec.hidden.clone(),
            activation: flag_name(&args.activation),
            epochs: 0,
            l2: args.l2,
            l1: args.l1,
            backend: flag_name(&args.on.backend),
            adapter: args.on.adapter.clone(),
            out: shown(&args.out),
        }
    }
}
