//! `popdecode check`: a backend against the f64 reference, from one set of weights.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use serde::Serialize;

use popdecode::Error;
use popdecode::check::check;
use popdecode::compare::Comparison;
use popdecode::select::{BackendChoice, open_backend};

use super::args::{BackendArgs, BackendName, DataArgs, ModelArgs, OptimArgs};
use super::print::{count, describe_training};

#[derive(Args)]
#[command(mut_arg("backend", BackendArgs::values(
    "The backend checked against the f64 reference: the GPU, the fast CPU backend, or the reference itself \
     (which checks the check: every comparison is exactly 0)",
    BackendName::Gpu,
    &[BackendName::Gpu, BackendName::Cpu, BackendName::Reference],
)))]
pub struct CheckArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Epochs of the short training run compared epoch by epoch.
    #[arg(long, default_value_t = 10, help_heading = "Training")]
    pub epochs: usize,
    #[command(flatten)]
    pub optim: OptimArgs,
    #[command(flatten)]
    pub on: BackendArgs,
    /// Print one JSON object instead: the backends, the network, every comparison (name, stage, rel_error,
    /// tolerance, passed) and the counts passed and failed.
    #[arg(long, help_heading = "Output")]
    pub json: bool,
}

/// `check --json`'s object.
#[derive(Serialize)]
struct CheckJson<'a> {
    /// The backend checked, and the reference, as `describe()` puts them.
    backend: String,
    reference: String,
    data: &'a str,
    network: String,
    training: String,
    epochs: usize,
    comparisons: Vec<ComparisonJson<'a>>,
    /// How many comparisons are within their tolerance, and how many over it.
    passed: usize,
    failed: usize,
}

#[derive(Serialize)]
struct ComparisonJson<'a> {
    name: &'a str,
    /// "initial" (at the initial weights), "epoch" (a training epoch's losses) or "trained" (what the run ends
    /// with).
    stage: &'static str,
    /// ||backend - reference|| / ||reference||.
    rel_error: f64,
    tolerance: f64,
    passed: bool,
}

/// One comparison as a line whose columns line up with the others': the name padded to `width`, the error to
/// the longest `{:.2e}` ("1.23e-10").
fn comparison_line(c: &Comparison, width: usize) -> String {
    format!(
        "{:<width$}  rel. error {:<8}  (tolerance {:.0e})  {}",
        c.name,
        format!("{:.2e}", c.rel_error),
        c.tolerance,
        if c.passed() { "ok" } else { "FAIL" }
    )
}

fn comparisons<'a>(stage: &'static str, list: &'a [Comparison]) -> Vec<ComparisonJson<'a>> {
    list.iter()
        .map(|c| ComparisonJson {
            name: &c.name,
            stage,
            rel_error: c.rel_error,
            tolerance: c.tolerance,
            passed: c.passed(),
        })
        .collect()
}

pub fn run(mut args: CheckArgs) -> Result<ExitCode> {
    args.model.shape_from_init()?;
    let config = args.optim.config(args.epochs, args.model.task())?;
    args.data.check_memory(&args.model, &config)?;
    let (problem, described) = args.data.problem()?;
    let (spec, params) = args.model.network(problem.neurons())?;
    let mut backend = match args.on.open_for((&problem, &spec, &config)) {
        Err(Error::NoAdapter) => {
            return Err(anyhow!(
                "no GPU adapter found, so there is no GPU to check. On Debian/Ubuntu a software Vulkan adapter \
                 is one command away: `apt-get install -y mesa-vulkan-drivers`; or check the fast CPU backend \
                 instead: `popdecode check --backend cpu`"
            ));
        }
        opened => opened?,
    };
    let (mut reference, _) = open_backend(BackendChoice::Reference, None)?;
    let name = args.on.backend.name();
    let network = spec.architecture();
    let training = describe_training(&config, problem.n_train());
    if !args.json {
        crate::say!(
            "check: {} against {}",
            backend.describe(),
            reference.describe()
        );
        crate::say!("data: {described}");
        crate::say!("network: {network}; {training}");
    }
    let report = check(
        &mut *backend,
        &mut *reference,
        &problem,
        &spec,
        &params,
        &config,
    )
    .context("running the check")?;
    let n = report.all().count();
    let failed = report.failed();
    if args.json {
        let object = CheckJson {
            backend: backend.describe(),
            reference: reference.describe(),
            data: &described,
            network,
            training,
            epochs: config.epochs,
            comparisons: [
                ("initial", &report.evaluation),
                ("epoch", &report.epochs),
                ("trained", &report.final_weights),
            ]
            .into_iter()
            .flat_map(|(stage, list)| comparisons(stage, list))
            .collect(),
            passed: n - failed,
            failed,
        };
        crate::say!("{}", serde_json::to_string(&object)?);
    } else {
        crate::say!(
            "at the initial weights, on the {} training rows (relative error ||{name} - reference|| / ||reference||):",
            problem.n_train()
        );
        let width = report.all().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &report.evaluation {
            crate::say!("  {}", comparison_line(c, width));
        }
        crate::say!(
            "training {} (train and test loss of each epoch):",
            count(config.epochs, "epoch")
        );
        for c in report.epochs.iter().chain(&report.final_weights) {
            crate::say!("  {}", comparison_line(c, width));
        }
        let worst = report
            .worst()
            .map(|c| format!("{} at {:.2e}", c.name, c.rel_error))
            .unwrap_or_default();
        if failed == 0 {
            crate::say!(
                "passed: all {n} comparisons within tolerance (closest to its limit: {worst})"
            );
        } else {
            crate::say!("FAILED: {failed} of {n} comparisons over tolerance");
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
