//! What a decoder said about each test stimulus, for `predictions.csv` and the decoded-against-true figure.
//!
//! A regression decoder (the tutorial's Section 3) outputs an angle in degrees; a classifier (its Section 4) one of
//! C equal orientation bins, `[i * 360 / C, (i + 1) * 360 / C)`, as the tutorial's `stimulus_class`, with each
//! bin's probability; its decoded angle is the decoded bin's centre.

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
    /// For a classifier whose outputs were at hand, each row's probability of each bin (rows x classes, row
    /// major): what predictions.csv's `p_0 .. p_{C-1}` hold. None for regression.
    pub probabilities: Option<Vec<f64>>,
}

/// The bin of a true angle, as the classifier was trained on it (`objective::class_of`).
fn class_of(deg: f64, classes: usize) -> usize {
    crate::objective::class_of(deg as f32, classes)
}

/// The centre of bin `bin` of `classes` equal bins over 0-360 degrees: a classifier's decoded angle.
pub fn bin_centre(bin: usize, classes: usize) -> f64 {
    (bin as f64 + 0.5) * (360.0 / classes as f64)
}

/// How many bins apart two bins are, around the circle.
pub fn bin_distance(a: usize, b: usize, classes: usize) -> usize {
    let d = a.abs_diff(b) % classes;
    d.min(classes - d)
}

/// The summary numbers of a set of predictions: every number of the console's final summary about them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionErrors {
    /// The test rows.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rows: Option<usize>,
    /// The median and mean absolute angular error, around the circle, in degrees: of the decoded angle
    /// (regression) or of the decoded bin's centre (classification).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub median_angular_error_deg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mean_angular_error_deg: Option<f64>,
    /// Classification: the fraction of rows decoded into their true bin (the console's "fraction correct"),
    /// how many rows that is, chance (1 / classes), the bins' width and the mean distance in bins.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub correct: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub chance: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bin_width_deg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mean_bin_error: Option<f64>,
}

impl Predictions {
    /// What a network trained on `objective` decodes its reported outputs on the test rows to
    /// (`Objective::decode`). A circular loss's angles are wrapped into [0, 360): its outputs are angles only
    /// modulo 360, and unwrapped they would look like errors they are not. A classifier's outputs are its
    /// log-probabilities, kept as probabilities.
    pub fn of(
        objective: Objective,
        rows: &[usize],
        true_deg: &[f32],
        outputs: &[f64],
    ) -> Predictions {
        match objective.decode(outputs) {
            Decoded::Regression(out) if objective == Objective::Circular => {
                let wrapped: Vec<f64> = out.iter().map(|&o| wrap_deg(o)).collect();
                Predictions::regression(rows, true_deg, &wrapped)
            }
            Decoded::Regression(out) => Predictions::regression(rows, true_deg, &out),
            Decoded::Classes { bins, classes } => {
                let mut p = Predictions::classes(rows, true_deg, &bins, classes);
                p.probabilities = Some(outputs.iter().map(|&l| l.exp()).collect());
                p
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
            probabilities: None,
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
            probabilities: None,
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
            Decoded::Regression(_) => self.angular_errors(),
            Decoded::Classes { bins, classes } => bins
                .iter()
                .zip(&self.true_deg)
                .map(|(&b, &t)| bin_distance(b, class_of(t, *classes), *classes) as f64)
                .collect(),
        }
    }

    /// The decoded angle of each row in degrees: the output (regression) or the decoded bin's centre.
    pub fn decoded_deg(&self) -> Vec<f64> {
        match &self.decoded {
            Decoded::Regression(out) => out.clone(),
            Decoded::Classes { bins, classes } => {
                bins.iter().map(|&b| bin_centre(b, *classes)).collect()
            }
        }
    }

    /// The absolute angular error of each row's decoded angle, around the circle, in degrees.
    pub fn angular_errors(&self) -> Vec<f64> {
        self.decoded_deg()
            .iter()
            .zip(&self.true_deg)
            .map(|(&o, &t)| angular_error(o, t))
            .collect()
    }

    pub fn summary(&self) -> PredictionErrors {
        let angular = self.angular_errors();
        let mut s = PredictionErrors {
            rows: Some(self.len()),
            median_angular_error_deg: Some(median(&angular)),
            mean_angular_error_deg: Some(mean(&angular)),
            accuracy: None,
            correct: None,
            chance: None,
            bin_width_deg: None,
            mean_bin_error: None,
        };
        if let Decoded::Classes { classes, .. } = &self.decoded {
            let errors = self.errors();
            let correct = errors.iter().filter(|&&e| e == 0.0).count();
            s.accuracy = Some(correct as f64 / errors.len() as f64);
            s.correct = Some(correct);
            s.chance = Some(1.0 / *classes as f64);
            s.bin_width_deg = Some(360.0 / *classes as f64);
            s.mean_bin_error = Some(mean(&errors));
        }
        s
    }

    /// The CSV header for a task: for a classifier, with its bins' probabilities (`p_0 .. p_{C-1}`) or, for
    /// predictions made without them, none.
    pub fn csv_header(task: Task, probabilities: bool) -> String {
        match task {
            Task::Regression => "row,true_deg,decoded_deg,error_deg".to_string(),
            Task::Classification { classes } => {
                let mut h = "row,true_deg,true_bin,decoded_bin,decoded_deg,error_bins,error_deg"
                    .to_string();
                if probabilities {
                    for c in 0..classes {
                        h += &format!(",p_{c}");
                    }
                }
                h
            }
        }
    }

    /// One line per test row, in test order, under `csv_header`. Numbers are written in Rust's shortest form that
    /// reads back to the same value.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let errors = self.errors();
        let angular = self.angular_errors();
        let decoded_deg = self.decoded_deg();
        let header = Self::csv_header(self.task(), self.probabilities.is_some());
        write_atomically(path, |file| {
            let mut w = std::io::BufWriter::new(file);
            writeln!(w, "{header}")?;
            for i in 0..self.len() {
                let (row, truth) = (self.rows[i], self.true_deg[i]);
                match &self.decoded {
                    Decoded::Regression(out) => {
                        writeln!(w, "{row},{truth},{},{}", out[i], angular[i])?;
                    }
                    Decoded::Classes { bins, classes } => {
                        let true_bin = class_of(truth, *classes);
                        write!(
                            w,
                            "{row},{truth},{true_bin},{},{},{},{}",
                            bins[i], decoded_deg[i], errors[i], angular[i]
                        )?;
                        if let Some(p) = &self.probabilities {
                            for v in &p[i * classes..(i + 1) * classes] {
                                write!(w, ",{v}")?;
                            }
                        }
                        writeln!(w)?;
                    }
                }
            }
            w.flush()
        })
    }

    /// Reads a file written by `write_csv` for `task`, checking what it can: every row and bin a non-negative
    /// integer (a bin one of the task's classes, the true bin the true angle's), the decoded angle the decoded
    /// bin's centre, and the probabilities, where present, in [0, 1] with the decoded bin the most probable.
    pub fn read_csv(path: &Path, task: Task) -> Result<Predictions> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |what: String| Error::io(path, std::io::Error::other(what));
        let mut lines = text.lines();
        let header = lines.next().unwrap_or("").trim();
        let with_p = Self::csv_header(task, true);
        let without_p = Self::csv_header(task, false);
        let probabilities = match task {
            Task::Classification { .. } if header == with_p => true,
            _ if header == without_p => false,
            _ => {
                return Err(bad(format!(
                    "expected the header `{with_p}` (task {task:?}), found `{header}`"
                )));
            }
        };
        let columns = header.split(',').count();
        let (mut rows, mut true_deg, mut values, mut probs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let line_no = n + 2;
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != columns {
                return Err(bad(format!(
                    "line {line_no}: expected {columns} columns, found {}",
                    fields.len()
                )));
            }
            let name = |i: usize| header.split(',').nth(i).unwrap_or("?").to_string();
            // Decoded values may be NaN or infinite (a run that diverged); rows and angles may not.
            let value = |i: usize, finite: bool| -> Result<f64> {
                fields[i]
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() || !finite)
                    .ok_or_else(|| {
                        bad(format!(
                            "line {line_no}, column {}: expected a {}number, found `{}`",
                            name(i),
                            if finite { "finite " } else { "" },
                            fields[i]
                        ))
                    })
            };
            // Integers are read as integers: -1 is refused, and 2^64 - 1 is not rounded to a float first.
            let index = |i: usize| -> Result<usize> {
                fields[i].parse::<usize>().map_err(|_| {
                    bad(format!(
                        "line {line_no}, column {}: expected a non-negative integer, found `{}`",
                        name(i),
                        fields[i]
                    ))
                })
            };
            rows.push(index(0)?);
            let truth = value(1, true)?;
            true_deg.push(truth);
            values.push(match task {
                Task::Regression => value(2, false)?,
                Task::Classification { classes } => {
                    let in_range = |i: usize| -> Result<usize> {
                        let b = index(i)?;
                        if b >= classes {
                            return Err(bad(format!(
                                "line {line_no}, column {}: bin {b} is not one of the {classes} classes \
                                 (0 to {})",
                                name(i),
                                classes - 1
                            )));
                        }
                        Ok(b)
                    };
                    let true_bin = in_range(2)?;
                    let expected = class_of(truth, classes);
                    if true_bin != expected {
                        return Err(bad(format!(
                            "line {line_no}, column true_bin: {true_bin}, but true_deg {truth} lies in bin \
                             {expected} of {classes}"
                        )));
                    }
                    let b = in_range(3)?;
                    let deg = value(4, true)?;
                    if deg != bin_centre(b, classes) {
                        return Err(bad(format!(
                            "line {line_no}, column decoded_deg: {deg}, but the centre of decoded bin {b} is \
                             {}",
                            bin_centre(b, classes)
                        )));
                    }
                    if probabilities {
                        let first = probs.len();
                        for i in 7..7 + classes {
                            let p = value(i, true)?;
                            if !(0.0..=1.0).contains(&p) {
                                return Err(bad(format!(
                                    "line {line_no}, column {}: {p} is not a probability (0 to 1)",
                                    name(i)
                                )));
                            }
                            probs.push(p);
                        }
                        let row = &probs[first..];
                        if row.iter().any(|&p| p > row[b]) {
                            return Err(bad(format!(
                                "line {line_no}: decoded bin {b} is not the most probable (p_{b} = {})",
                                row[b]
                            )));
                        }
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
            probabilities: probabilities.then_some(probs),
        })
    }
}

/// An angle in degrees wrapped into [0, 360) (NaN stays NaN).
pub fn wrap_deg(deg: f64) -> f64 {
    let w = deg.rem_euclid(360.0);
    // A tiny negative angle wraps to 360 - tiny, which rounds to 360.0.
    if w >= 360.0 { 0.0 } else { w }
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
        // A circular loss's angles are wrapped into [0, 360); mean squared error's are the outputs as they are.
        let out = [12.0, 370.0, -140.75, -1e-20, 720.0];
        let truth = [10.0, 20.0, 220.0, 0.0, 0.0];
        let rows = [0, 1, 2, 3, 4];
        let reg = Predictions::of(Objective::Circular, &rows, &truth, &out);
        assert_eq!(
            reg,
            Predictions::regression(&rows, &truth, &[12.0, 10.0, 219.25, 0.0, 0.0])
        );
        assert_eq!(
            Predictions::of(Objective::Mse, &rows, &truth, &out),
            Predictions::regression(&rows, &truth, &out)
        );
        assert!(wrap_deg(f64::NAN).is_nan());
        // A classifier's log-probabilities become its bins' probabilities.
        let nll = Objective::Nll { classes: 2 };
        let log_p = [-0.1f64, -2.4, -3.0, -0.05];
        let cls = Predictions::of(nll, &[0, 1], &[10.0, 200.0], &log_p);
        let mut expected = Predictions::classes(&[0, 1], &[10.0, 200.0], &[0, 1], 2);
        expected.probabilities = Some(log_p.iter().map(|l| l.exp()).collect());
        assert_eq!(cls, expected);
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
            "row,true_deg,true_bin,decoded_bin,decoded_deg,error_bins,error_deg\n1,10,0,0,22.5,0,12.5\n\
             2,100,2,3,157.5,1,57.5\n4,350,7,0,22.5,1,32.5\n"
        );
        let task = Task::Classification { classes: 8 };
        assert_eq!(Predictions::read_csv(&path, task).unwrap(), cls);
        let s = cls.summary();
        assert_eq!(s.accuracy, Some(1.0 / 3.0));
        assert_eq!(s.correct, Some(1));
        assert_eq!(s.chance, Some(0.125));
        assert_eq!(s.median_angular_error_deg, Some(32.5));
        assert_eq!(s.mean_angular_error_deg, Some(34.166666666666664));
        let err = Predictions::read_csv(&path, Task::Regression)
            .unwrap_err()
            .to_string();
        assert!(err.contains("p.csv") && err.contains("header"), "{err}");
        let err = Predictions::read_csv(&path, Task::Classification { classes: 2 })
            .unwrap_err()
            .to_string();
        assert!(err.contains("the centre of decoded bin 0 is 90"), "{err}");
    }

    /// Probabilities go out as p_0 .. p_{C-1} and come back, and what a file says about bins is checked on the
    /// way in: a bin of -1 or 2^64 - 1, or past the classes, a true bin that is not the true angle's, a decoded
    /// angle that is not its bin's centre, a probability outside [0, 1], a decoded bin that is not the most
    /// probable.
    #[test]
    fn probabilities_round_trip_and_bad_bins_are_refused_naming_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        let log_p = [
            0.7f64.ln(),
            0.2f64.ln(),
            0.1f64.ln(),
            0.25f64.ln(),
            0.25f64.ln(),
            0.5f64.ln(),
        ];
        let cls = Predictions::of(
            Objective::Nll { classes: 3 },
            &[5, 9],
            &[10.0, 359.0],
            &log_p,
        );
        cls.write_csv(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("row,true_deg,true_bin,decoded_bin,decoded_deg,error_bins,error_deg,p_0,p_1,p_2")
        );
        let first: Vec<f64> = lines
            .next()
            .unwrap()
            .split(',')
            .map(|f| f.parse().unwrap())
            .collect();
        assert_eq!(&first[..7], &[5.0, 10.0, 0.0, 0.0, 60.0, 0.0, 50.0]);
        assert!((first[7] - 0.7).abs() < 1e-12 && (first[9] - 0.1).abs() < 1e-12);
        let task = Task::Classification { classes: 3 };
        assert_eq!(Predictions::read_csv(&path, task).unwrap(), cls);

        let header =
            "row,true_deg,true_bin,decoded_bin,decoded_deg,error_bins,error_deg,p_0,p_1,p_2";
        for (line, expected) in [
            (
                "0,10,0,-1,60,0,50,0.7,0.2,0.1",
                "column decoded_bin: expected a non-negative integer, found `-1`",
            ),
            (
                "0,10,0,18446744073709551615,60,0,50,0.7,0.2,0.1",
                "bin 18446744073709551615 is not one of the 3",
            ),
            (
                "0,10,0,3,60,0,50,0.7,0.2,0.1",
                "column decoded_bin: bin 3 is not one of the 3 classes",
            ),
            (
                "0,10,-1,0,60,0,50,0.7,0.2,0.1",
                "column true_bin: expected a non-negative integer",
            ),
            (
                "0,10,2,0,60,0,50,0.7,0.2,0.1",
                "true_bin: 2, but true_deg 10 lies in bin 0",
            ),
            (
                "-1,10,0,0,60,0,50,0.7,0.2,0.1",
                "column row: expected a non-negative integer",
            ),
            (
                "0,10,0,0,61,0,50,0.7,0.2,0.1",
                "decoded_deg: 61, but the centre of decoded bin 0 is 60",
            ),
            (
                "0,10,0,0,60,0,50,1.7,0.2,0.1",
                "column p_0: 1.7 is not a probability",
            ),
            (
                "0,10,0,0,60,0,50,0.1,0.2,0.7",
                "decoded bin 0 is not the most probable",
            ),
            ("0,10,0,0,60,0,50,0.7,0.2", "expected 10 columns, found 9"),
        ] {
            std::fs::write(&path, format!("{header}\n{line}\n")).unwrap();
            let err = Predictions::read_csv(&path, task).unwrap_err().to_string();
            assert!(
                err.contains("p.csv") && err.contains("line 2"),
                "{line}: {err}"
            );
            assert!(
                err.contains(expected),
                "{line}: expected {expected:?} in {err}"
            );
        }
    }
}
