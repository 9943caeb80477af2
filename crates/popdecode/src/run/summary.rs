//! `summary.json`: what a run was (command, configuration, data, network, adapter), how long it took and how well
//! it decoded. `train --json` prints the same object.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::npz::write_atomically;
use crate::error::{Error, Result};
use crate::model::MAX_CLASSES;
use crate::run::predictions::{PredictionErrors, Task};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The version of popdecode that made the run.
    pub popdecode_version: String,
    /// When the run finished, ISO 8601 in UTC.
    pub created_utc: String,
    /// How training ended: "complete", "diverged" (a loss was not finite) or "interrupted" (a signal stopped it).
    /// Summaries written before this field read as complete.
    #[serde(default)]
    pub status: RunStatus,
    /// The epoch the status is about: the first whose loss was not finite (diverged), the last that ran
    /// (interrupted); absent for a complete run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_epoch: Option<usize>,
    /// The run folder, as given or chosen.
    pub run_folder: String,
    /// The command line, program name first.
    pub command: Vec<String>,
    pub task: Task,
    /// Every setting of the run, defaults included, by flag name.
    pub config: serde_json::Value,
    pub data: DataInfo,
    pub network: NetworkInfo,
    /// "gpu", "cpu" or "reference".
    pub backend: String,
    /// The adapter, as `train` prints it: "gpu: <name> (<API>, <device type>)", "cpu (f32, <SIMD>, N threads)"
    /// or "reference (f64, N threads)".
    pub adapter: String,
    pub timings: Timings,
    pub metrics: Metrics,
    /// The files of the run folder, figures included.
    pub files: Vec<String>,
}

/// How training ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    #[default]
    Complete,
    Diverged,
    Interrupted,
}

impl RunStatus {
    /// "complete", "diverged" or "interrupted", as summary.json and networks.csv write it.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Diverged => "diverged",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// The status and its epoch of a run that ended so.
    pub fn of(stop: crate::backend::Stop) -> (RunStatus, Option<usize>) {
        use crate::backend::Stop;
        match stop {
            Stop::Complete => (RunStatus::Complete, None),
            Stop::Diverged { epoch } => (RunStatus::Diverged, Some(epoch)),
            Stop::Interrupted { epoch } => (RunStatus::Interrupted, Some(epoch)),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    /// The line `train` prints: source, shape and split.
    pub description: String,
    pub neurons: usize,
    /// Rows (stimuli) after binning.
    pub stimuli: usize,
    pub train_rows: usize,
    pub test_rows: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// "Linear(23589, 10) -> ReLU -> Linear(10, 1)".
    pub description: String,
    pub neurons: usize,
    /// The hidden layers' widths, first to last.
    pub hidden: Vec<usize>,
    pub activation: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Upload and pipeline creation before the first epoch.
    pub setup_s: f64,
    /// All epochs, progress reads included.
    pub train_s: f64,
    pub epochs: usize,
    #[serde(deserialize_with = "null_as_nan")]
    pub epochs_per_s: f64,
    /// Writing the run folder: predictions, history, weights, tuning curves and figures.
    pub record_s: f64,
    /// From launch to this summary.
    pub wall_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// What the loss is: "mse" (degrees²), "circular" or "nll", with any penalty on the input weights included.
    pub loss: String,
    /// The loss at the final weights on the training rows and on the test rows (null if training diverged).
    #[serde(deserialize_with = "null_as_nan")]
    pub final_train_loss: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub final_test_loss: f64,
    /// The test predictions' errors: angular errors for regression, accuracy for classification.
    pub test: PredictionErrors,
    /// For classifiers, `confusion[t][d]`: test rows of true bin t decoded as bin d.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub confusion: Option<Vec<Vec<usize>>>,
}

/// JSON has no NaN or infinity: serde_json writes them as null, and this reads null back as NaN.
fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl RunSummary {
    /// Writes the summary as pretty-printed JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = self.to_json_pretty();
        write_atomically(path, |mut file| {
            use std::io::Write;
            file.write_all(text.as_bytes())?;
            file.write_all(b"\n")
        })
    }

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a summary serialises")
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a summary serialises")
    }

    /// Reads a summary and checks the numbers a reader sizes things by (`check`).
    pub fn load(path: &Path) -> Result<RunSummary> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let summary: RunSummary = serde_json::from_str(&text).map_err(|e| {
            Error::io(
                path,
                std::io::Error::other(format!("not a popdecode run summary: {e}")),
            )
        })?;
        summary.check(path)?;
        Ok(summary)
    }

    /// The numbers a reader of the run folder trusts, against sane bounds and each other, so that none of them
    /// makes it allocate or draw what no run could have made: the classes (2 to `MAX_CLASSES`, as in
    /// `config.classes`), the neurons and hidden widths (positive; `data` and `network` agreeing), and the rows
    /// (at least one test row; training and test rows within the stimuli). A mismatch names the file and key.
    pub fn check(&self, path: &Path) -> Result<()> {
        let bad = |key: &str, what: String| Error::BadArray {
            path: path.to_path_buf(),
            key: key.to_string(),
            what,
        };
        if let Task::Classification { classes } = self.task {
            if !(2..=MAX_CLASSES).contains(&classes) {
                return Err(bad(
                    "task.classes",
                    format!(
                        "{classes}: expected 2 to {MAX_CLASSES} classes (orientation bins of at least 1 degree)"
                    ),
                ));
            }
            let configured = self.config.get("classes").and_then(|c| c.as_u64());
            if configured.is_some_and(|c| c != classes as u64) {
                return Err(bad(
                    "config.classes",
                    format!(
                        "{} disagrees with task.classes, {classes}",
                        configured.unwrap_or_default()
                    ),
                ));
            }
        }
        if self.network.neurons == 0 || self.network.neurons != self.data.neurons {
            return Err(bad(
                "network.neurons",
                format!(
                    "{}: expected the data's neurons (data.neurons: {}), at least 1",
                    self.network.neurons, self.data.neurons
                ),
            ));
        }
        if self.network.hidden.is_empty() || self.network.hidden.contains(&0) {
            return Err(bad(
                "network.hidden",
                format!(
                    "{:?}: expected one or more positive widths",
                    self.network.hidden
                ),
            ));
        }
        let d = &self.data;
        if d.test_rows == 0 || d.train_rows.saturating_add(d.test_rows) > d.stimuli {
            return Err(bad(
                "data.test_rows",
                format!(
                    "{} test and {} training rows (data.train_rows) of {} stimuli (data.stimuli): expected at \
                     least 1 test row, and no more rows than stimuli",
                    d.test_rows, d.train_rows, d.stimuli
                ),
            ));
        }
        Ok(())
    }
}
