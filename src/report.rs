//! What a training run leaves behind: the summary it prints and the history file.

use std::io::Write;
use std::path::Path;

use crate::data::npz::write_atomically;
use crate::error::Result;
use crate::metrics::{AngularSummary, ClassSummary, angular_summary, class_summary};
use crate::model::Spec;
use crate::problem::Problem;
use crate::train::{History, Trained};

/// The tutorial's progress line: `iteration 10/50 | loss: 12219.761 | test loss: 13012.345`.
pub fn progress_line(epoch: usize, epochs: usize, history: &History) -> String {
    format!(
        "iteration {epoch}/{epochs} | loss: {:.3} | test loss: {:.3}",
        history.train_loss[epoch - 1],
        history.test_loss[epoch - 1]
    )
}

/// The final numbers of a run.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The training objective (with penalties) at the final weights.
    pub train_loss: f64,
    /// The test objective at the final weights (the last epoch's test loss).
    pub test_loss: f64,
    /// Angular error of the test predictions around the circle: of the decoded angle for regression, of the
    /// decoded bin's centre for classification.
    pub test_angular: AngularSummary,
    /// For classifiers: fraction correct and the confusion between bins.
    pub classes: Option<ClassSummary>,
    pub epochs: usize,
    pub train_seconds: f64,
    pub setup_seconds: f64,
}

impl Summary {
    pub fn new(trained: &Trained, problem: &Problem, spec: &Spec) -> Summary {
        let classes = spec
            .objective
            .classes()
            .map(|c| class_summary(&trained.test_outputs, &problem.y_test, c));
        Summary {
            train_loss: trained.final_train_loss,
            test_loss: trained
                .history
                .test_loss
                .last()
                .copied()
                .unwrap_or(f64::NAN),
            test_angular: match &classes {
                Some(c) => c.angular,
                None => angular_summary(&trained.test_outputs, &problem.y_test),
            },
            classes,
            epochs: trained.history.train_loss.len(),
            train_seconds: trained.train_time.as_secs_f64(),
            setup_seconds: trained.setup_time.as_secs_f64(),
        }
    }

    pub fn epochs_per_second(&self) -> f64 {
        self.epochs as f64 / self.train_seconds
    }
}

/// `epoch,train_loss,test_loss`, one row per epoch counted from 1, written atomically.
pub fn write_history_csv(path: &Path, history: &History) -> Result<()> {
    write_atomically(path, |file| {
        let mut w = std::io::BufWriter::new(file);
        writeln!(w, "epoch,train_loss,test_loss")?;
        for (i, (train, test)) in history
            .train_loss
            .iter()
            .zip(&history.test_loss)
            .enumerate()
        {
            writeln!(w, "{},{},{}", i + 1, train, test)?;
        }
        w.flush()
    })
}

/// Reads a file written by `write_history_csv`.
pub fn read_history_csv(path: &Path) -> Result<History> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::error::Error::io(path, e))?;
    let bad = |what: String| crate::error::Error::io(path, std::io::Error::other(what));
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    if header.trim() != "epoch,train_loss,test_loss" {
        return Err(bad(format!(
            "expected the header `epoch,train_loss,test_loss`, found `{header}`"
        )));
    }
    let mut history = History::default();
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let fields: Vec<Option<f64>> = line.split(',').map(|f| f.trim().parse().ok()).collect();
        match fields[..] {
            [Some(epoch), Some(train), Some(test)] if epoch == (i + 1) as f64 => {
                history.train_loss.push(train);
                history.test_loss.push(test);
            }
            _ => {
                return Err(bad(format!(
                    "line {}: expected `{},<train loss>,<test loss>`, found `{line}`",
                    i + 2,
                    i + 1
                )));
            }
        }
    }
    Ok(history)
}
