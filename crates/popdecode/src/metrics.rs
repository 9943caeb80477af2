//! How good a decoder is, in the units a neuroscientist reads: squared error in degrees², and the absolute
//! angular error, taken around the circle (decoding 359° for 1° is a 2° error); for classifiers, the fraction
//! of test rows put in the right orientation bin and the confusion between bins.

use crate::objective::class_of;

/// The absolute difference between two directions in degrees, around the circle: in [0, 180].
pub fn angular_error(decoded: f64, truth: f64) -> f64 {
    let d = (decoded - truth).rem_euclid(360.0);
    d.min(360.0 - d)
}

pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The median (the mean of the two middle values for an even count); NaN for no values.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The mean squared error between outputs and targets.
pub fn mse(outputs: &[f64], targets: &[f32]) -> f64 {
    outputs
        .iter()
        .zip(targets)
        .map(|(&o, &t)| (o - t as f64).powi(2))
        .sum::<f64>()
        / outputs.len() as f64
}

/// Angular errors of a regression decoder's outputs against the true directions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AngularSummary {
    pub median_deg: f64,
    pub mean_deg: f64,
}

pub fn angular_summary(outputs: &[f64], targets: &[f32]) -> AngularSummary {
    let errors: Vec<f64> = outputs
        .iter()
        .zip(targets)
        .map(|(&o, &t)| angular_error(o, t as f64))
        .collect();
    AngularSummary {
        median_deg: median(&errors),
        mean_deg: mean(&errors),
    }
}

/// How a classifier did on the test rows: the decoded bin is the most probable one.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassSummary {
    pub classes: usize,
    /// Test rows whose decoded bin is their true bin, as a fraction.
    pub fraction_correct: f64,
    /// `confusion[t][d]`: test rows of true bin t decoded as bin d.
    pub confusion: Vec<Vec<usize>>,
    /// Circular errors between each row's true angle and its decoded bin's centre, in degrees.
    pub angular: AngularSummary,
}

/// The most probable bin of each row of `log_probs` (rows x classes); the lowest bin wins ties.
pub fn decoded_bins(log_probs: &[f64], classes: usize) -> Vec<usize> {
    log_probs
        .chunks(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (c, &v)| {
                    if v > best.1 { (c, v) } else { best }
                })
                .0
        })
        .collect()
}

pub fn class_summary(log_probs: &[f64], targets: &[f32], classes: usize) -> ClassSummary {
    let decoded = decoded_bins(log_probs, classes);
    let mut confusion = vec![vec![0usize; classes]; classes];
    let mut correct = 0;
    let width = 360.0 / classes as f64;
    let centres: Vec<f64> = decoded.iter().map(|&d| (d as f64 + 0.5) * width).collect();
    for (&d, &t) in decoded.iter().zip(targets) {
        let truth = class_of(t, classes);
        confusion[truth][d] += 1;
        correct += usize::from(truth == d);
    }
    ClassSummary {
        classes,
        fraction_correct: correct as f64 / targets.len().max(1) as f64,
        confusion,
        angular: angular_summary(&centres, targets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angular_error_wraps_around_the_circle() {
        assert_eq!(angular_error(359.0, 1.0), 2.0);
        assert_eq!(angular_error(1.0, 359.0), 2.0);
        assert_eq!(angular_error(90.0, 270.0), 180.0);
        assert_eq!(angular_error(-10.0, 10.0), 20.0);
        assert_eq!(angular_error(725.0, 5.0), 0.0);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn class_summary_counts_bins() {
        // Two classes: [0, 180) and [180, 360).
        let log_probs = [-0.1, -2.0, -3.0, -0.05, -0.2, -1.0];
        let s = class_summary(&log_probs, &[10.0, 200.0, 300.0], 2);
        assert_eq!(s.confusion, vec![vec![1, 0], vec![1, 1]]);
        assert!((s.fraction_correct - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(decoded_bins(&[0.0, 0.0], 2), vec![0]);
    }
}
