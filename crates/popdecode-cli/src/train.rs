//! `popdecode train`: trains one network and leaves a run folder.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::progress::Console;
use popdecode::backend::{Control, Progress, Stop};
use popdecode::model::Spec;
use popdecode::run::figures::Formats;
use popdecode::run::folder::RunFolder;
use popdecode::run::history::write_history_csv;
use popdecode::run::outcome::Outcome;
use popdecode::run::record::{RunInputs, record};
use popdecode::training::Config;

use super::args::{
    BackendArgs, BackendName, DataArgs, Loss, ModelArgs, OptimArgs, RunArgs, Task,
    check_not_an_input, check_output_path, flag_name, shown,
};
use super::print::{count, describe_recorded, describe_training, summary_lines};

#[derive(Args)]
#[command(mut_arg(
    "backend",
    BackendArgs::values(BackendArgs::TRAINING_HELP, BackendName::Auto, BackendArgs::TRAINING,)
))]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Passes over the training rows (0 evaluates the initial network).
    #[arg(long, default_value_t = 50, help_heading = "Training")]
    pub epochs: usize,
    #[command(flatten)]
    pub optim: OptimArgs,
    #[command(flatten)]
    pub on: BackendArgs,
    /// Write the per-epoch losses as CSV: epoch,train_loss,test_loss.
    #[arg(long, value_name = "FILE.csv", help_heading = "Output")]
    pub history: Option<PathBuf>,
    /// Write the final weights (.npz, PyTorch state_dict names).
    #[arg(long, value_name = "FILE.npz", help_heading = "Output")]
    pub save: Option<PathBuf>,
    /// Train every epoch even after a loss that is not finite (the run still ends marked diverged, exit code 3).
    #[arg(long)]
    pub keep_going: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The exit code of a run whose loss stopped being finite.
pub const EXIT_DIVERGED: u8 = 3;

pub fn run(mut args: TrainArgs) -> Result<ExitCode> {
    let launched = Instant::now();
    args.model.shape_from_init()?;
    check_history_fits(args.epochs)?;
    let config = args.optim.config(args.epochs, args.model.task())?;
    args.data.check_memory(&args.model, &config)?;
    let inputs = [
        ("--data", args.data.data.as_deref()),
        ("--split", args.data.split.as_deref()),
        ("--init", args.model.init.as_deref()),
    ];
    if let Some(p) = &args.history {
        check_output_path("--history", p)?;
        check_not_an_input("--history", p, &inputs)?;
    }
    if let Some(p) = &args.save {
        check_output_path("--save", p)?;
        check_not_an_input("--save", p, &inputs)?;
    }
    if let Some(out) = &args.run.out {
        popdecode::run::folder::check_available(out)?;
    }
    let loaded = args.data.load()?;
    let problem = loaded.problem();
    let (spec, params) = args.model.network(problem.neurons())?;
    let mut backend = args.on.open_for((&problem, &spec, &config))?;
    let stop = crate::stop::install()?;
    let folder = RunFolder::claim(args.run.out.as_deref())?;
    for p in [&args.history, &args.save].into_iter().flatten() {
        popdecode::run::folder::watch_temp_dir(p);
    }
    let mut console = Console::new(args.run.json, args.run.quiet, config.epochs);
    console.line(format_args!("data: {}", loaded.described));
    console.line(format_args!(
        "network: {}; {}, {}, {}",
        spec.architecture(),
        describe_training(&config, problem.n_train()),
        count(config.epochs, "epoch"),
        args.model.describe_init()
    ));
    console.line(format_args!("backend: {}", backend.describe()));
    let mut progress = |p: &Progress| console.progress(p);
    let mut control = Control::new(&mut progress)
        .stop_on(stop)
        .keep_going(args.keep_going);
    let trained = backend.train_with(&problem, &spec, &params, &config, &mut control)?;
    console.finish_progress();
    let code = match trained.stop {
        Stop::Complete => ExitCode::SUCCESS,
        Stop::Diverged { epoch } => {
            eprintln!(
                "error: training diverged: the loss was not finite at epoch {epoch} of {}{}; the run folder is \
                 written and marked diverged (exit code {EXIT_DIVERGED}). Try a smaller --lr than {}, smaller \
                 --l1/--l2, or smaller initial weights",
                config.epochs,
                if args.keep_going {
                    " (--keep-going: every epoch ran)"
                } else {
                    ", where training stopped"
                },
                config.lr
            );
            ExitCode::from(EXIT_DIVERGED)
        }
        Stop::Interrupted { epoch } => {
            let signal = crate::stop::received().unwrap_or(2);
            eprintln!(
                "popdecode: {} stopped training after epoch {epoch} of {}; the run folder is written with the \
                 history so far and marked interrupted (exit code {})",
                crate::stop::name(signal),
                config.epochs,
                crate::stop::exit_code(signal)
            );
            ExitCode::from(crate::stop::exit_code(signal))
        }
    };
    let summary = Outcome::new(&trained, &problem, &spec, &config.penalty);
    for line in summary_lines(&summary, &spec) {
        console.line(format_args!("{line}"));
    }
    if let Some(path) = &args.history {
        popdecode::run::folder::gated(|| write_history_csv(path, &trained.history))?;
        console.line(format_args!("history: {}", path.display()));
    }
    if let Some(path) = &args.save {
        popdecode::run::folder::gated(|| trained.params.save(path))?;
        console.line(format_args!("weights: {}", path.display()));
    }
    let recorded = record(
        folder,
        &RunInputs {
            command: std::env::args().collect(),
            config: serde_json::to_value(RunConfiguration::new(&args, &spec, &config))?,
            data: &loaded.data,
            data_description: loaded.described.clone(),
            split: &loaded.split,
            problem: &problem,
            spec: &spec,
            initial: &params,
            network_description: spec.architecture(),
            backend: backend.name(),
            adapter: backend.describe(),
            trained: &trained,
            test_loss: summary.test_loss,
            launched,
            formats: args.run.figures.formats,
        },
    )?;
    console.line(format_args!("run: {}", describe_recorded(&recorded)));
    console.line(format_args!(
        "time: {:.3} s for {} ({:.1} epochs/s) after {:.3} s setup, {:.2} s wall in all; backend: {}",
        summary.train_seconds,
        count(summary.epochs, "epoch"),
        summary.epochs_per_second(),
        summary.setup_seconds,
        launched.elapsed().as_secs_f64(),
        backend.describe()
    ));
    if console.json() {
        crate::say!("{}", recorded.summary.to_json());
    }
    Ok(code)
}

/// Bytes of history an epoch takes on the host: its training and test loss.
const HISTORY_BYTES_PER_EPOCH: u64 = 16;

/// Refuses, before any work, an epoch count whose history would take more than half the machine's memory
/// (`/proc/meminfo`'s MemTotal; without it, more than the address space holds).
pub(super) fn check_history_fits(epochs: usize) -> Result<()> {
    let bytes = (epochs as u64).checked_mul(HISTORY_BYTES_PER_EPOCH);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(isize::MAX as u64, |kb| kb.saturating_mul(1024));
    match bytes {
        Some(b) if b <= memory / 2 => Ok(()),
        _ => Err(popdecode::error::Error::bad_argument(
            "--epochs",
            format!(
                "{epochs} epochs would need {} of history ({HISTORY_BYTES_PER_EPOCH} bytes an epoch), more than half \
                 of this machine's {:.1} GiB of memory; expected at most {}",
                bytes.map_or("more than 2^64 bytes".to_string(), |b| format!(
                    "{:.1} GiB",
                    b as f64 / (1u64 << 30) as f64
                )),
                memory as f64 / (1u64 << 30) as f64,
                memory / 2 / HISTORY_BYTES_PER_EPOCH
            ),
        )
        .into()),
    }
}

/// Every setting of a training run, defaults included, by flag name: summary.json's "config". A setting that
/// does not apply is null (the synthetic data's when a file is read, the drawn split's when one is given, ...);
/// serialized through a `serde_json::Value`, whose keys are sorted.
#[derive(Serialize)]
pub struct RunConfiguration {
    data: Option<String>,
    /// "deg" or "rad", only with --data, so runs on the synthetic stand-in read as before it existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    stimulus_units: Option<String>,
    bin_width: f64,
    data_seed: Option<u64>,
    neurons: Option<usize>,
    stimuli: Option<usize>,
    split: Option<String>,
    train_fraction: Option<f64>,
    seed: Option<u64>,
    task: String,
    classes: Option<usize>,
    loss: Option<String>,
    hidden: Vec<usize>,
    activation: String,
    init: Option<String>,
    init_seed: Option<u64>,
    epochs: usize,
    lr: f64,
    optimizer: String,
    /// Null for an optimizer without momentum.
    momentum: Option<f64>,
    /// Only for an optimizer that has it, so runs without one read as before it existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    weight_decay: Option<f64>,
    batch_size: Option<usize>,
    shuffle_seed: Option<u64>,
    l2: f64,
    l1: f64,
    backend: String,
    adapter: Option<String>,
    history: Option<String>,
    save: Option<String>,
    out: Option<String>,
    format: Formats,
    keep_going: bool,
}

impl RunConfiguration {
    pub fn new(args: &TrainArgs, spec: &Spec, config: &Config) -> RunConfiguration {
        let d = &args.data;
        let m = &args.model;
        let synthetic = d.data.is_none();
        let drawn = d.split.is_none();
        RunConfiguration {
            data: shown(&d.data),
            stimulus_units: d
                .data
                .as_ref()
                .map(|_| d.stimulus_units().unwrap_or_default().name().to_string()),
            bin_width: d.bin_width,
            data_seed: synthetic.then_some(d.data_seed),
            neurons: synthetic.then_some(d.neurons),
            stimuli: synthetic.then_some(d.stimuli),
            split: shown(&d.split),
            train_fraction: drawn.then_some(d.train_fraction),
            seed: drawn.then_some(d.seed),
            task: flag_name(&m.task()),
            classes: (m.task() == Task::Classify).then_some(m.classes()),
            loss: (m.task() == Task::Regress).then(|| flag_name(&m.loss.unwrap_or(Loss::Mse))),
            hidden: spec.hidden.clone(),
            activation: flag_name(&m.activation),
            init: shown(&m.init),
            init_seed: m.init.is_none().then_some(m.init_seed),
            epochs: config.epochs,
            lr: config.lr,
            optimizer: args.optim.optimizer.clone(),
            momentum: config.optimizer.setting("momentum"),
            weight_decay: config.optimizer.setting("weight_decay"),
            batch_size: config.batch_size,
            shuffle_seed: config.batch_size.is_some().then_some(config.shuffle_seed),
            l2: config.penalty.l2,
            l1: config.penalty.l1,
            backend: flag_name(&args.on.backend),
            adapter: args.on.adapter.clone(),
            history: shown(&args.history),
            save: shown(&args.save),
            out: shown(&args.run.out),
            format: args.run.figures.formats,
            keep_going: args.keep_going,
        }
    }
}
