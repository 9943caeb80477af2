//! Writes a finished run into its folder: its split and initial weights (what PyTorch needs to replay it),
//! predictions, history, final weights, tuning curves, the figures, and last the summary, which says whether
//! training completed, diverged or was interrupted. On any failure the folder is removed (`RunFolder`'s drop).

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use crate::backend::Trained;
use crate::data::Dataset;
use crate::data::problem::Problem;
use crate::data::split::Split;
use crate::error::Result;
use crate::metrics::class_summary;
use crate::model::{Params, Spec};
use crate::run::figures::{self, FigureData, Formats};
use crate::run::folder::{
    DATA_FILES, HISTORY, INIT, PREDICTIONS, RunFolder, SPLIT, SUMMARY, TUNING, WEIGHTS, gated,
};
use crate::run::history::write_history_csv;
use crate::run::predictions::Predictions;
use crate::run::summary::{DataInfo, Metrics, NetworkInfo, RunStatus, RunSummary, Timings};
use crate::run::tuning_curves::TuningCurves;

/// What a finished run hands over to be recorded.
pub struct RunInputs<'a> {
    /// The command line, program name first.
    pub command: Vec<String>,
    /// Every setting, by flag name.
    pub config: serde_json::Value,
    /// The binned data set the split refers to.
    pub data: &'a Dataset,
    pub data_description: String,
    pub split: &'a Split,
    pub problem: &'a Problem,
    pub spec: &'a Spec,
    /// The weights training started from (`--init-seed`'s or `--init`'s).
    pub initial: &'a Params,
    pub network_description: String,
    /// The backend's `--backend` name.
    pub backend: &'static str,
    /// The backend as it describes itself.
    pub adapter: String,
    pub trained: &'a Trained,
    /// The test objective at the final weights (`Outcome::test_loss`: the last epoch's, or the initial
    /// network's when no epoch ran).
    pub test_loss: f64,
    /// When the program started, for the wall time.
    pub launched: Instant,
    /// The figures' formats (`--format`).
    pub formats: Formats,
}

/// A recorded run: where it is, its summary and its figures.
pub struct Recorded {
    pub dir: PathBuf,
    pub summary: RunSummary,
    pub figures: Vec<PathBuf>,
}

/// Writes the run folder's files (see `run_folder`) and releases the folder.
pub fn record(folder: RunFolder, run: &RunInputs) -> Result<Recorded> {
    let started = Instant::now();
    let trained = run.trained;
    gated(|| run.split.save(&folder.file(SPLIT)))?;
    gated(|| run.initial.save(&folder.file(INIT)))?;
    let (rows, truth) = (&run.split.test, &run.problem.y_test);
    let predictions = Predictions::of(run.spec.objective, rows, truth, &trained.test_outputs);
    gated(|| predictions.write_csv(&folder.file(PREDICTIONS)))?;
    gated(|| write_history_csv(&folder.file(HISTORY), &trained.history))?;
    gated(|| trained.params.save(&folder.file(WEIGHTS)))?;
    log::info!(
        "wrote {SPLIT}, {INIT}, {PREDICTIONS} ({} test rows), {HISTORY}, {WEIGHTS} in {:.3} s",
        predictions.len(),
        started.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let tuning = TuningCurves::compute(run.data, run.spec, &trained.params);
    gated(|| tuning.save(&folder.file(TUNING)))?;
    log::info!(
        "wrote {TUNING} (preferred orientations of {} neurons, {} hidden units' tuning) in {:.3} s",
        tuning.neurons(),
        tuning.hidden.cols,
        t.elapsed().as_secs_f64()
    );

    let epochs = trained.history.train_loss.len();
    let (status, status_epoch) = RunStatus::of(trained.stop);
    let train_s = trained.train_time.as_secs_f64();
    let mut summary =
        RunSummary {
            popdecode_version: env!("CARGO_PKG_VERSION").to_string(),
            created_utc: String::new(),
            status,
            status_epoch,
            run_folder: folder.path().display().to_string(),
            command: run.command.clone(),
            task: predictions.task(),
            config: run.config.clone(),
            data: DataInfo {
                description: run.data_description.clone(),
                neurons: run.data.neurons(),
                stimuli: run.data.n_stimuli(),
                train_rows: run.split.train.len(),
                test_rows: run.split.test.len(),
            },
            network: NetworkInfo {
                description: run.network_description.clone(),
                neurons: run.spec.neurons,
                hidden: run.spec.hidden.clone(),
                activation: format!("{:?}", run.spec.activation).to_lowercase(),
            },
            backend: run.backend.to_string(),
            adapter: run.adapter.clone(),
            timings: Timings {
                setup_s: trained.setup_time.as_secs_f64(),
                train_s,
                epochs,
                epochs_per_s: epochs as f64 / train_s,
                record_s: 0.0,
                wall_s: 0.0,
            },
            metrics: Metrics {
                loss: run.spec.objective.name().to_string(),
                final_train_loss: trained.final_train_loss,
                final_test_loss: run.test_loss,
                test: predictions.summary(),
                confusion: run.spec.objective.classes().map(|c| {
                    class_summary(&trained.test_outputs, &run.problem.y_test, c).confusion
                }),
            },
            files: Vec::new(),
        };

    let t = Instant::now();
    let drawn = figures::draw_all(&FigureData::read(folder.path(), &summary)?)?;
    let figure_paths = gated(|| figures::write(folder.path(), &drawn, run.formats))?;
    log::info!("figures in {:.3} s", t.elapsed().as_secs_f64());
    for f in &drawn {
        log::debug!("{}: {} bytes of SVG", f.name, f.svg.len());
    }

    summary.files = DATA_FILES
        .iter()
        .map(|s| s.to_string())
        .chain(
            figure_paths
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
        )
        .collect();
    summary.timings.record_s = started.elapsed().as_secs_f64();
    summary.timings.wall_s = run.launched.elapsed().as_secs_f64();
    summary.created_utc = crate::run::folder::iso_utc(SystemTime::now());
    gated(|| summary.save(&folder.file(SUMMARY)))?;
    log::info!(
        "wrote {SUMMARY}; the run took {:.3} s",
        summary.timings.wall_s
    );
    let dir = folder.finish()?;
    Ok(Recorded {
        dir,
        summary,
        figures: figure_paths,
    })
}
