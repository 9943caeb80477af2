//! The one way results are compared, GPU against CPU or against PyTorch: the relative error of whole tensors,
//! ||a - b|| / ||b||, against a stated tolerance. Comparing whole tensors (not elements) keeps tiny entries,
//! whose relative error means nothing, from dominating.

use std::fmt;

/// ||actual - reference||_2 / ||reference||_2. A zero reference gives the absolute error ||actual||.
pub fn rel_error<A: Copy + Into<f64>, B: Copy + Into<f64>>(actual: &[A], reference: &[B]) -> f64 {
    assert_eq!(
        actual.len(),
        reference.len(),
        "compared tensors must have the same length"
    );
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (&a, &b) in actual.iter().zip(reference) {
        let (a, b): (f64, f64) = (a.into(), b.into());
        diff += (a - b) * (a - b);
        norm += b * b;
    }
    if norm == 0.0 {
        diff.sqrt()
    } else {
        (diff / norm).sqrt()
    }
}

/// The tolerances f32 GPU results meet against the f64 CPU reference.
pub mod tolerance {
    /// Outputs and gradients of one evaluation.
    pub const TENSOR: f64 = 1e-4;
    /// Per-epoch losses of a training run, and the weights it ends with.
    pub const LOSS: f64 = 1e-3;
}

/// One comparison: what, how far apart, and the tolerance it was held to.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub name: String,
    pub rel_error: f64,
    pub tolerance: f64,
}

impl Comparison {
    pub fn new<A: Copy + Into<f64>, B: Copy + Into<f64>>(
        name: impl Into<String>,
        actual: &[A],
        reference: &[B],
        tolerance: f64,
    ) -> Comparison {
        Comparison {
            name: name.into(),
            rel_error: rel_error(actual, reference),
            tolerance,
        }
    }

    pub fn passed(&self) -> bool {
        // NaN compares false, so it fails.
        self.rel_error <= self.tolerance
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<28} rel. error {:.2e}  (tolerance {:.0e})  {}",
            self.name,
            self.rel_error,
            self.tolerance,
            if self.passed() { "ok" } else { "FAIL" }
        )
    }
}

/// Panics with every comparison listed if any is over its tolerance: for tests.
pub fn assert_all(comparisons: &[Comparison]) {
    let failed: Vec<String> = comparisons
        .iter()
        .filter(|c| !c.passed())
        .map(|c| c.to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "over tolerance:\n{}\nall:\n{}",
        failed.join("\n"),
        comparisons
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_error_of_whole_tensors() {
        assert_eq!(rel_error(&[1.0f64, 2.0], &[1.0f64, 2.0]), 0.0);
        // ||(0, 0.3)|| / ||(3, 4)|| = 0.3 / 5
        let e = rel_error(&[3.0f64, 4.3], &[3.0f64, 4.0]);
        assert!((e - 0.06).abs() <= 1e-12, "{e}");
        // A zero reference falls back to the absolute error: sqrt(3² + 4²), exactly 5.
        assert_eq!(rel_error(&[3.0f32, 4.0], &[0.0f32, 0.0]), 5.0);
    }

    #[test]
    fn nan_fails_a_comparison() {
        let c = Comparison::new("x", &[f64::NAN], &[1.0f64], 1.0);
        assert!(!c.passed());
        let ok = Comparison::new("x", &[1.0f32 + 1e-6], &[1.0f32], 1e-4);
        assert!(ok.passed());
    }
}
