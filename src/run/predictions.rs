//! What a decoder said about each test stimulus, for `predictions.csv` and the decoded-against-true figure.
//!
//! A regression decoder (the tutorial's Section 3) outputs an angle in degrees; a classifier (its Section 4) one of
//! C equal orientation bins, `[i * 360 / C, (i + 1) * 360 / C)`, as the tutorial's `stimulus_class`.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::npz::write_atomically;
use crate::error::{Error, Result};
use crate::metrics::{angular_error, mean, median};
pub use crate::objective::Decoded;
use crate::objective::Objective;

/// What the network is trained to output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Task {
    /// One output: the orientation in degrees, mean squared error.
    Regression,
    /// C outputs, one per orientation bin, LogSoftmax and negative log likelihood.
    Classification { classes: usize },
}

/// The y-axis label of a loss, by the name summary.json gives it (`Objective::name`): the loss's own
/// (`Loss::label`), or "loss" for a name no loss has.
pub fn loss_label(loss: &str) -> &'static str {
    crate::objective::label_of(loss).unwrap_or("loss")
}

/// The decoder's answer for each test row, with the truth.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    /// The row of each test stimulus in the (binned) data set, 0-based: the split's `itest`.
    pub rows: Vec<usize>,
    /// The true stimulus orientation of each row, in degrees.
    pub true_deg: Vec<f64>,
    pub decoded: Decoded,
}

/// The bin of a true angle, as the classifier was trained on it (`objective::class_of`).
fn class_of(deg: f64, classes: usize) -> usize {
    crate::objective::class_of(deg as f32, classes)
}

/// How many bins apart two bins are, around the circle.
pub fn bin_distance(a: usize, b: usize, classes: usize) -> usize {
    let d = a.abs_diff(b) % classes;
    d.min(classes - d)
}

/// The summary numbers of a set of predictions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionErrors {
    /// Regression: the median and mean absolute angular error, around the circle, in degrees.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub median_angular_error_deg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mean_angular_error_deg: Option<f64>,
    /// Classification: the fraction of rows decoded into their true bin, and the mean distance in bins.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mean_bin_error: Option<f64>,
}

impl Predictions {
    /// What a network trained on `objective` decodes its reported outputs on the test rows to
    /// (`Objective::decode`).
    pub fn of(
        objective: Objective,
        rows: &[usize],
        true_deg: &[f32],
        outputs: &[f64],
    ) -> Predictions {
        match objective.decode(outputs) {
            Decoded::Regression(out) => Predictions::regression(rows, true_deg, &out),
            Decoded::Classes { bins, classes } => {
                Predictions::classes(rows, true_deg, &bins, classes)
            }
        }
    }

    /// A regression decoder's outputs on the test rows.
    pub fn regression(rows: &[usize], true_deg: &[f32], outputs: &[f64]) -> Predictions {
        assert_eq!(rows.len(), true_deg.len());
        assert_eq!(rows.len(), outputs.len());
        Predictions {
            rows: rows.to_vec(),
            true_deg: true_deg.iter().map(|&t| t as f64).collect(),
            decoded: Decoded::Regression(outputs.to_vec()),
        }
    }

    /// A classifier's decoded bins on the test rows.
    pub fn classes(
        rows: &[usize],
        true_deg: &[f32],
        bins: &[usize],
        classes: usize,
    ) -> Predictions {
        assert_eq!(rows.len(), true_deg.len());
        assert_eq!(rows.len(), bins.len());
        assert!(classes >= 1 && bins.iter().all(|&b| b < classes));
        Predictions {
            rows: rows.to_vec(),
            true_deg: true_deg.iter().map(|&t| t as f64).collect(),
            decoded: Decoded::Classes {
                bins: bins.to_vec(),
                classes,
            },
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn task(&self) -> Task {
        match &self.decoded {
            Decoded::Regression(_) => Task::Regression,
            Decoded::Classes { classes, .. } => Task::Classification { classes: *classes },
        }
    }

    /// The error of each row: the absolute angular error in degrees (regression) or the distance in bins around the
    /// circle (classification).
    pub fn errors(&self) -> Vec<f64> {
        match &self.decoded {
            Decoded::Regression(out) => out
                .iter()
                .zip(&self.true_deg)
                .map(|(&o, &t)| angular_error(o, t))
                .collect(),
            Decoded::Classes { bins, classes } => bins
                .iter()
                .zip(&self.true_deg)
                .map(|(&b, &t)| bin_distance(b, class_of(t, *classes), *classes) as f64)
                .collect(),
        }
    }

    pub fn summary(&self) -> PredictionErrors {
        let errors = self.errors();
        match &self.decoded {
            Decoded::Regression(_) => PredictionErrors {
                median_angular_error_deg: Some(median(&errors)),
                mean_angular_error_deg: Some(mean(&errors)),
                accuracy: None,
                mean_bin_error: None,
            },
            Decoded::Classes { .. } => PredictionErrors {
                median_angular_error_deg: None,
                mean_angular_error_deg: None,
                accuracy: Some(
                    errors.iter().filter(|&&e| e == 0.0).count() as f64 / errors.len() as f64,
                ),
                mean_bin_error: Some(mean(&errors)),
            },
        }
    }

    /// The CSV header for a task.
    pub fn csv_header(task: Task) -> &'static str {
        match task {
            Task::Regression => "row,true_deg,decoded_deg,error_deg",
            Task::Classification { .. } => "row,true_deg,true_bin,decoded_bin,error_bins",
        }
    }

    /// One line per test row, in test order, under `csv_header`. Numbers are written in Rust's shortest form that
    /// reads back to the same value.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let errors = self.errors();
        write_atomically(path, |file| {
            let mut w = std::io::BufWriter::new(file);
            writeln!(w, "{}", Self::csv_header(self.task()))?;
            for i in 0..self.len() {
                let (row, truth, error) = (self.rows[i], self.true_deg[i], errors[i]);
                match &self.decoded {
                    Decoded::Regression(out) => {
                        writeln!(w, "{row},{truth},{},{error}", out[i])?;
                    }
                    Decoded::Classes { bins, classes } => {
                        let true_bin = class_of(truth, *classes);
                        writeln!(w, "{row},{truth},{true_bin},{},{error}", bins[i])?;
                    }
                }
            }
            w.flush()
        })
    }

    /// Reads a file written by `write_csv` for `task`.
    pub fn read_csv(path: &Path, task: Task) -> Result<Predictions> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |what: String| Error::io(path, std::io::Error::other(what));
        let mut lines = text.lines();
        let header = lines.next().unwrap_or("");
        let expected = Self::csv_header(task);
        if header.trim() != expected {
            return Err(bad(format!(
                "expected the header `{expected}` (task {task:?}), found `{header}`"
            )));
        }
        let (mut rows, mut true_deg, mut values) = (Vec::new(), Vec::new(), Vec::new());
        for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let columns = expected.split(',').count();
            // Decoded values may be NaN or infinite (a run that diverged); rows and angles may not.
            let value = |i: usize, finite: bool| -> Result<f64> {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<f64>().ok())
                    .filter(|x| x.is_finite() || !finite)
                    .ok_or_else(|| {
                        bad(format!(
                            "line {}: expected {columns} numbers, found `{line}`",
                            n + 2
                        ))
                    })
            };
            let number = |i: usize| value(i, true);
            let index = |i: usize| -> Result<usize> {
                let x = number(i)?;
                if x < 0.0 || x.fract() != 0.0 {
                    return Err(bad(format!(
                        "line {}: column {} must be a non-negative integer, found {x}",
                        n + 2,
                        i + 1
                    )));
                }
                Ok(x as usize)
            };
            if fields.len() != columns {
                return Err(bad(format!(
                    "line {}: expected {columns} columns, found {}",
                    n + 2,
                    fields.len()
                )));
            }
            rows.push(index(0)?);
            true_deg.push(number(1)?);
            values.push(match task {
                Task::Regression => value(2, false)?,
                Task::Classification { classes } => {
                    let b = index(3)?;
                    if b >= classes {
                        return Err(bad(format!(
                            "line {}: decoded bin {b} is not one of the {classes} classes",
                            n + 2
                        )));
                    }
                    b as f64
                }
            });
        }
        let decoded = match task {
            Task::Regression => Decoded::Regression(values),
            Task::Classification { classes } => Decoded::Classes {
                bins: values.into_iter().map(|b| b as usize).collect(),
                classes,
            },
        };
        Ok(Predictions {
            rows,
            true_deg,
            decoded,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_loss_labels_its_axis_and_decodes_its_outputs() {
        assert_eq!(loss_label("mse"), "mean squared error (deg²)");
        assert_eq!(loss_label("nll"), "negative log likelihood");
        assert_eq!(loss_label("circular"), "circular loss |exp(iθ̂) − exp(iθ)|");
        assert_eq!(loss_label("hinge"), "loss");
        let reg = Predictions::of(Objective::Circular, &[0, 1], &[10.0, 20.0], &[12.0, 370.0]);
        assert_eq!(
            reg,
            Predictions::regression(&[0, 1], &[10.0, 20.0], &[12.0, 370.0])
        );
        let nll = Objective::Nll { classes: 2 };
        let cls = Predictions::of(nll, &[0, 1], &[10.0, 200.0], &[-0.1, -2.4, -3.0, -0.05]);
        assert_eq!(
            cls,
            Predictions::classes(&[0, 1], &[10.0, 200.0], &[0, 1], 2)
        );
    }

    #[test]
    fn bins_are_apart_around_the_circle() {
        assert_eq!(bin_distance(0, 7, 8), 1);
        assert_eq!(bin_distance(2, 6, 8), 4);
    }

    #[test]
    fn both_kinds_round_trip_through_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        let reg = Predictions::regression(&[3, 0, 7], &[10.0, 350.0, 90.5], &[12.25, -5.0, 1e-7]);
        reg.write_csv(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("row,true_deg,decoded_deg,error_deg\n3,10,12.25,2.25\n0,350,-5,5\n"),
            "{text}"
        );
        assert_eq!(Predictions::read_csv(&path, Task::Regression).unwrap(), reg);
        let s = reg.summary();
        assert_eq!(s.median_angular_error_deg, Some(5.0));
        let cls = Predictions::classes(&[1, 2, 4], &[10.0, 100.0, 350.0], &[0, 3, 0], 8);
        cls.write_csv(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "row,true_deg,true_bin,decoded_bin,error_bins\n1,10,0,0,0\n2,100,2,3,1\n4,350,7,0,1\n"
        );
        let task = Task::Classification { classes: 8 };
        assert_eq!(Predictions::read_csv(&path, task).unwrap(), cls);
        assert_eq!(cls.summary().accuracy, Some(1.0 / 3.0));
        let err = Predictions::read_csv(&path, Task::Regression)
            .unwrap_err()
            .to_string();
        assert!(err.contains("p.csv") && err.contains("header"), "{err}");
        let err = Predictions::read_csv(&path, Task::Classification { classes: 2 })
            .unwrap_err()
            .to_string();
        assert!(err.contains("not one of the 2 classes"), "{err}");
    }
}
