//! The bonus tutorial's classifier: `classes` outputs through LogSoftmax, `nn.NLLLoss` on the stimulus's
//! orientation bin (`class_of`), decoded as the most likely bin.

use super::{Decoded, Loss};

pub const NAME: &str = "nll";
pub const LABEL: &str = "negative log likelihood";

pub struct Nll {
    pub classes: usize,
}

impl Loss for Nll {
    fn name(&self) -> &'static str {
        NAME
    }

    fn label(&self) -> &'static str {
        LABEL
    }

    fn outputs(&self) -> usize {
        self.classes
    }

    fn loss_and_grad(&self, raw: &[f64], targets: &[f32]) -> (f64, Vec<f64>) {
        let classes = self.classes;
        let rows = targets.len() as f64;
        let mut loss = 0.0;
        let mut grad = vec![0.0; raw.len()];
        for (r, &t) in targets.iter().enumerate() {
            let z = &raw[r * classes..(r + 1) * classes];
            let logp = log_softmax(z);
            let label = class_of(t, classes);
            loss -= logp[label];
            for (c, lp) in logp.iter().enumerate() {
                let onehot = if c == label { 1.0 } else { 0.0 };
                grad[r * classes + c] = (lp.exp() - onehot) / rows;
            }
        }
        (loss / rows, grad)
    }

    /// Log-probabilities.
    fn transform(&self, raw: &[f64]) -> Vec<f64> {
        raw.chunks(self.classes).flat_map(log_softmax).collect()
    }

    /// Each row's most likely bin (the first of equals).
    fn decode(&self, outputs: &[f64]) -> Decoded {
        let bins = outputs
            .chunks(self.classes)
            .map(|row| {
                row.iter()
                    .enumerate()
                    .fold((0, f64::NEG_INFINITY), |best, (c, &v)| {
                        if v > best.1 { (c, v) } else { best }
                    })
                    .0
            })
            .collect();
        Decoded::Classes {
            bins,
            classes: self.classes,
        }
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../shaders/general/objective/nll.wgsl")
    }
}

/// log(softmax(z)), computed from the largest entry so nothing overflows.
pub fn log_softmax(z: &[f64]) -> Vec<f64> {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_sum = max + z.iter().map(|&v| (v - max).exp()).sum::<f64>().ln();
    z.iter().map(|&v| v - log_sum).collect()
}

/// The bonus tutorial's `stimulus_class`: `digitize(ori, linspace(0, 360, C + 1)) - 1`, the bin of `deg`
/// among C equal bins of [0, 360). Angles outside are folded onto the circle first (the tutorial's never are).
pub fn class_of(deg: f32, classes: usize) -> usize {
    let deg = (deg as f64).rem_euclid(360.0);
    let edges = bin_edges(classes);
    // digitize: the i with edges[i - 1] <= deg < edges[i].
    let i = edges.partition_point(|&e| e <= deg);
    i.clamp(1, classes) - 1
}

/// numpy's `linspace(0, 360, C + 1)`.
pub fn bin_edges(classes: usize) -> Vec<f64> {
    let step = 360.0 / classes as f64;
    (0..=classes)
        .map(|i| if i == classes { 360.0 } else { i as f64 * step })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_numpy_digitize() {
        // linspace(0, 360, 5) = [0, 90, 180, 270, 360]
        assert_eq!(class_of(0.0, 4), 0);
        assert_eq!(class_of(89.9, 4), 0);
        assert_eq!(class_of(90.0, 4), 1);
        assert_eq!(class_of(359.5, 4), 3);
        assert_eq!(class_of(-1.0, 4), 3);
        assert_eq!(bin_edges(3), vec![0.0, 120.0, 240.0, 360.0]);
    }

    #[test]
    fn nll_gradient_matches_differences() {
        let obj = Nll { classes: 3 };
        let raw = vec![0.3, -1.2, 2.0, 0.1, 0.0, -0.5];
        let targets = [10.0f32, 300.0];
        let (_, grad) = obj.loss_and_grad(&raw, &targets);
        for i in 0..raw.len() {
            let h = 1e-6;
            let mut up = raw.clone();
            up[i] += h;
            let mut down = raw.clone();
            down[i] -= h;
            let fd = (obj.loss_and_grad(&up, &targets).0 - obj.loss_and_grad(&down, &targets).0)
                / (2.0 * h);
            assert!((grad[i] - fd).abs() < 1e-8, "{i}: {} vs {fd}", grad[i]);
        }
    }

    #[test]
    fn rows_decode_to_their_most_likely_bin() {
        let d = Nll { classes: 3 }.decode(&[-2.0, -0.1, -3.0, -0.5, -0.5, -9.0]);
        assert_eq!(
            d,
            Decoded::Classes {
                bins: vec![1, 0],
                classes: 3
            }
        );
    }
}
