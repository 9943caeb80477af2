//! How good a decoder is, in the units a neuroscientist reads: squared error in degrees², and the absolute
//! angular error, taken around the circle (decoding 359° for 1° is a 2° error).

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
#[derive(Clone, Copy, Debug)]
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
}
