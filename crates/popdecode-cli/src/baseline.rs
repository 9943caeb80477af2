//! `popdecode baseline`: the cross-validated ridge decoder beside the network, on the same split.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use popdecode::data::npz::write_atomically;
use popdecode::ridge::{CvConfig, DEFAULT_FOLDS, fit_cv};
use popdecode::run::folder::RunFolder;
use popdecode::run::history::progress_line;
use popdecode::run::outcome::Outcome;
use popdecode::run::record::{RunInputs, record};

use super::args::{
    BackendArgs, BackendName, DataArgs, FormatArg, LAST, ModelArgs, OptimArgs, flag_name,
};
use super::print::{count, describe_recorded, describe_training};

/// The file of a baseline's run folder that holds the ridge and the comparison (`--json`'s object).
pub const BASELINE_JSON: &str = "baseline.json";

#[derive(Args)]
#[command(mut_arg(
    "backend",
    BackendArgs::values(
        "Where the network trains: a hardware GPU when one is found, else the fast CPU backend (auto); the GPU; \
     the fast CPU backend; or the f64 reference",
        BackendName::Auto,
        BackendArgs::TRAINING,
    )
))]
pub struct BaselineArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The network trained beside the ridge, as for `train` (default: the tutorial's).
    #[command(flatten)]
    pub model: ModelArgs,
    /// Folds of the cross-validation that chooses the ridge penalty (on the training rows only).
    #[arg(long, value_name = "K", default_value_t = DEFAULT_FOLDS, help_heading = "Training")]
    pub folds: usize,
    /// Passes over the training rows of the network.
    #[arg(long, default_value_t = 50, help_heading = "Training")]
    pub epochs: usize,
    #[command(flatten)]
    pub optim: OptimArgs,
    #[command(flatten)]
    pub on: BackendArgs,
    /// Also leave a run folder, new or empty: the network's files and figures as train leaves them, and
    /// baseline.json, the ridge and both decoders' test errors (what --json prints).
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long, help_heading = "Output")]
    pub json: bool,
    #[command(flatten)]
    pub figures: FormatArg,
    /// No progress lines.
    #[arg(long, short, help_heading = "Output", display_order = LAST)]
    pub quiet: bool,
}

/// The ridge baseline and the tutorial's network (train's defaults: M = 10, ReLU, init seed 1, 50 epochs,
/// lr 1e-4) on the same split, their test angular errors side by side.
pub fn run(mut args: BaselineArgs) -> Result<ExitCode> {
    let launched = Instant::now();
    let cv_config = CvConfig {
        folds: args.folds,
        ..CvConfig::default()
    };
    cv_config.check()?;
    args.model.shape_from_init()?;
    args.on.check()?;
    let config = args.optim.config(args.epochs, args.model.task())?;
    args.data.check_memory(&args.model, &config)?;
    if let Some(out) = &args.out {
        popdecode::run::folder::check_available(out)?;
    }
    let loaded = args.data.load()?;
    let (problem, described) = (loaded.problem(), loaded.described.clone());
    let (spec, params) = args.model.network(problem.neurons())?;
    // Opened (and its size check passed) before the ridge fit, so a network the GPU cannot hold costs no fit.
    let mut backend = args.on.open_for((&problem, &spec, &config))?;
    let started = Instant::now();
    let cv = fit_cv(&problem.x_train, &problem.y_train, &cv_config)?;
    let ridge = cv.model.angular_errors(&problem.x_test, &problem.y_test)?;
    let ridge_seconds = started.elapsed().as_secs_f64();
    let cv_error = cv.cv_errors[cv.chosen_index()];
    if !args.json {
        crate::say!("data: {described}");
        crate::say!(
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

    if !args.json {
        crate::say!(
            "network: {}; {}, {}",
            spec.architecture(),
            describe_training(&config, problem.n_train()),
            count(config.epochs, "epoch")
        );
        crate::say!("backend: {}", backend.describe());
    }
    let folder = args
        .out
        .as_deref()
        .map(|out| RunFolder::claim(Some(out)))
        .transpose()?;
    let trained = backend.train(&problem, &spec, &params, &config, &mut |p| {
        if !args.json && !args.quiet {
            crate::say!("{}", progress_line(p.epoch, config.epochs, p.history));
        }
    })?;
    let network = Outcome::new(&trained, &problem, &spec, &config.penalty);

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
            "describe": spec.architecture(),
            "backend": backend.describe(),
            "epochs": config.epochs,
            "lr": config.lr,
            "test_median_deg": network.test_angular.median_deg,
            "test_mean_deg": network.test_angular.mean_deg,
            "test_loss": network.test_loss,
            "seconds": network.train_seconds + network.setup_seconds,
        },
    });
    let recorded = match folder {
        None => None,
        Some(folder) => {
            let text = serde_json::to_string_pretty(&object)?;
            write_atomically(&folder.file(BASELINE_JSON), |mut file| {
                use std::io::Write;
                file.write_all(text.as_bytes())?;
                file.write_all(b"\n")
            })?;
            let configuration = serde_json::json!({
                "command": "baseline",
                "folds": cv.folds,
                "data": args.data.data.as_ref().map(|p| p.display().to_string()),
                "split": args.data.split.as_ref().map(|p| p.display().to_string()),
                "task": flag_name(&args.model.task()),
                "hidden": spec.hidden,
                "epochs": config.epochs,
                "lr": config.lr,
                "optimizer": args.optim.optimizer,
                "backend": flag_name(&args.on.backend),
                "adapter": args.on.adapter,
                "out": args.out.as_ref().map(|p| p.display().to_string()),
            });
            Some(record(
                folder,
                &RunInputs {
                    formats: args.figures.formats,
                    command: std::env::args().collect(),
                    config: configuration,
                    data: &loaded.data,
                    data_description: described.clone(),
                    split: &loaded.split,
                    problem: &problem,
                    spec: &spec,
                    initial: &params,
                    network_description: spec.architecture(),
                    backend: backend.name(),
                    adapter: backend.describe(),
                    trained: &trained,
                    test_loss: network.test_loss,
                    launched,
                },
            )?)
        }
    };
    if args.json {
        crate::say!("{object}");
        return Ok(ExitCode::SUCCESS);
    }
    crate::say!(
        "test angular error on the {} test stimuli, degrees around the circle:",
        problem.n_test()
    );
    crate::say!("{:<8} {:>8} {:>8} {:>9}", "", "median", "mean", "time");
    for (name, s, seconds) in [
        ("ridge", ridge, ridge_seconds),
        (
            "network",
            network.test_angular,
            network.train_seconds + network.setup_seconds,
        ),
    ] {
        crate::say!(
            "{name:<8} {:>8.2} {:>8.2} {:>7.2} s",
            s.median_deg,
            s.mean_deg,
            seconds
        );
    }
    if let Some(recorded) = recorded {
        crate::say!("run: {} and {BASELINE_JSON}", describe_recorded(&recorded));
    }
    Ok(ExitCode::SUCCESS)
}
