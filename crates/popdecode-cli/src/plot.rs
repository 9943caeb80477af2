//! `popdecode plot`: redraws a run folder's figures from its files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use popdecode::Error;
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::Objective;
use popdecode::run::folder::{DATA_FILES, INIT, PREDICTIONS, SUMMARY, TUNING, WEIGHTS};
use popdecode::run::predictions::{Predictions, Task};
use popdecode::run::summary::RunSummary;
use popdecode::run::tuning_curves::{EXAMPLE_NEURONS, HEATMAP_NEURONS, TuningCurves, keys};

use super::args::FormatArg;

#[derive(Args)]
pub struct PlotArgs {
    /// The run folder: a train run's (summary.json, history.csv, predictions.csv, weights.npz, tuning.npz) or a cv
    /// or sweep run's (summary.json, networks.csv, cells.csv, histories.csv, predictions.csv).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub figures: FormatArg,
}

pub fn run(args: PlotArgs) -> Result<ExitCode> {
    let paths = if popdecode::sweep::folder::is_sweep(&args.dir) {
        popdecode::sweep::folder::redraw(&args.dir, args.figures.formats)?
    } else {
        check_folder(&args.dir)?;
        popdecode::run::figures::redraw(&args.dir, args.figures.formats)?
    };
    for path in paths {
        crate::say!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Before anything is drawn: the numbers summary.json gives (checked against sane bounds as it loads) against the
/// files they describe — the weights' tensor shapes (neurons, hidden widths, classes), the tuning curves' rows and
/// columns, and the predictions' rows — so that a hand-edited or mismatched file is refused naming the file and
/// key, instead of drawn wrong or sizing what is drawn.
fn check_folder(dir: &Path) -> Result<(), Error> {
    popdecode::run::figures::check_complete(dir, &DATA_FILES)?;
    let summary_path = dir.join(SUMMARY);
    let summary = RunSummary::load(&summary_path)?;
    let objective = match summary.task {
        Task::Regression => Objective::Mse,
        Task::Classification { classes } => Objective::Nll { classes },
    };
    let net = &summary.network;
    let spec =
        Spec::new(net.neurons, net.hidden.clone(), Activation::Relu, objective).map_err(|e| {
            Error::BadArray {
                path: summary_path.clone(),
                key: "network".into(),
                what: e.to_string(),
            }
        })?;
    for file in [WEIGHTS, INIT] {
        Params::load_written(&dir.join(file), &spec)?;
    }

    let tuning_path = dir.join(TUNING);
    let tuning = TuningCurves::load(&tuning_path)?;
    let in_tuning = |key: &str, what: String| Error::BadArray {
        path: tuning_path.clone(),
        key: key.to_string(),
        what,
    };
    let stimuli = summary.data.stimuli;
    let expected = [
        (keys::STIMULI, tuning.stimuli.len(), stimuli, "data.stimuli"),
        (
            keys::PREFERRED,
            tuning.preferred_deg.len(),
            net.neurons,
            "network.neurons",
        ),
        (
            keys::FIRST_NEURONS,
            tuning.first_neurons.cols,
            net.neurons.min(HEATMAP_NEURONS),
            "network.neurons",
        ),
        (
            keys::EXAMPLE_NEURONS,
            tuning.example_neurons.len(),
            net.neurons.min(EXAMPLE_NEURONS),
            "network.neurons",
        ),
        (
            keys::HIDDEN,
            tuning.hidden.cols,
            net.hidden[0],
            "network.hidden",
        ),
    ];
    for (key, found, wanted, source) in expected {
        if found != wanted {
            return Err(in_tuning(
                key,
                format!("has {found} entries where {SUMMARY} says {wanted} ({source})"),
            ));
        }
    }
    if let Some(i) = tuning
        .stimuli
        .iter()
        .position(|s| !(0.0..=360.0).contains(s))
    {
        return Err(in_tuning(
            keys::STIMULI,
            format!(
                "row {i} is {}: expected degrees in [0, 360]",
                tuning.stimuli[i]
            ),
        ));
    }

    let predictions_path = dir.join(PREDICTIONS);
    let predictions = Predictions::read_csv(&predictions_path, summary.task)?;
    let in_predictions = |what: String| {
        Error::io(
            &predictions_path,
            std::io::Error::other(format!("{what}; {SUMMARY} disagrees")),
        )
    };
    if predictions.len() != summary.data.test_rows {
        return Err(in_predictions(format!(
            "has {} rows where data.test_rows is {}",
            predictions.len(),
            summary.data.test_rows
        )));
    }
    if let Some(i) = predictions.rows.iter().position(|&r| r >= stimuli) {
        return Err(in_predictions(format!(
            "prediction {i} is of row {}, not one of the {stimuli} stimuli (data.stimuli)",
            predictions.rows[i]
        )));
    }
    Ok(())
}
