//! What a network is trained to minimise: the tutorial's mean squared error on degrees, the users' circular
//! loss, or the bonus tutorial's negative log-likelihood over orientation bins; and the penalties on the
//! input weights. Written once in f64 for the CPU reference; the GPU kernels mirror it.

use std::f64::consts::PI;

/// The loss, and with it the network's head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// One output, the stimulus in degrees; `nn.MSELoss`.
    Mse,
    /// One output in degrees; the mean of |exp(i θ̂) - exp(i θ)| with the angles in radians, which does not
    /// punish decoding 359° for 1°.
    Circular,
    /// `classes` outputs through LogSoftmax, `nn.NLLLoss` on the stimulus's orientation bin.
    Nll { classes: usize },
}

impl Objective {
    /// Output units of the network's last layer.
    pub fn outputs(self) -> usize {
        match self {
            Objective::Mse | Objective::Circular => 1,
            Objective::Nll { classes } => classes,
        }
    }

    pub fn classes(self) -> Option<usize> {
        match self {
            Objective::Nll { classes } => Some(classes),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Objective::Mse => "mse",
            Objective::Circular => "circular",
            Objective::Nll { .. } => "nll",
        }
    }

    /// The loss averaged over rows, and d loss / d raw output (before LogSoftmax), rows x outputs.
    /// `raw` holds the last layer's outputs, rows x outputs; `targets` the stimuli in degrees.
    pub fn loss_and_grad(self, raw: &[f64], targets: &[f32]) -> (f64, Vec<f64>) {
        let rows = targets.len() as f64;
        match self {
            Objective::Mse => {
                let loss = raw
                    .iter()
                    .zip(targets)
                    .map(|(&o, &t)| (o - t as f64).powi(2))
                    .sum::<f64>()
                    / rows;
                let grad = raw
                    .iter()
                    .zip(targets)
                    .map(|(&o, &t)| 2.0 * (o - t as f64) / rows)
                    .collect();
                (loss, grad)
            }
            Objective::Circular => {
                let mut loss = 0.0;
                let grad = raw
                    .iter()
                    .zip(targets)
                    .map(|(&o, &t)| {
                        let (f, d) = circular_distance(o, t as f64);
                        loss += f;
                        d / rows
                    })
                    .collect();
                (loss / rows, grad)
            }
            Objective::Nll { classes } => {
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
        }
    }

    /// What the network outputs for people and files: degrees as they are, log-probabilities for classes.
    pub fn transform(self, raw: &[f64]) -> Vec<f64> {
        match self {
            Objective::Mse | Objective::Circular => raw.to_vec(),
            Objective::Nll { classes } => raw.chunks(classes).flat_map(log_softmax).collect(),
        }
    }
}

/// |exp(i a) - exp(i b)| for a and b in degrees, and its derivative in a (per degree).
fn circular_distance(a_deg: f64, b_deg: f64) -> (f64, f64) {
    let to_rad = PI / 180.0;
    let (a, b) = (a_deg * to_rad, b_deg * to_rad);
    let f = ((a.cos() - b.cos()).powi(2) + (a.sin() - b.sin()).powi(2)).sqrt();
    // d f / d a = sin(a - b) / f; at f = 0 the distance has a cusp and we take 0, as a subgradient.
    let d = if f > 0.0 { (a - b).sin() / f } else { 0.0 };
    (f, d * to_rad)
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

/// The bonus tutorial's `regularized_loss` terms on the input weights: `l2 * sum(W ** 2) + l1 * sum(|W|)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Penalty {
    pub l1: f64,
    pub l2: f64,
}

impl Penalty {
    pub fn is_zero(&self) -> bool {
        self.l1 == 0.0 && self.l2 == 0.0
    }

    pub fn value(&self, w: &[f64]) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        let (sq, abs) = w
            .iter()
            .fold((0.0, 0.0), |(s, a), &v| (s + v * v, a + v.abs()));
        self.l2 * sq + self.l1 * abs
    }

    /// d penalty / d w for one weight. PyTorch's subgradient of |w| at 0 is 0.
    pub fn grad(&self, w: f64) -> f64 {
        let sign = if w > 0.0 {
            1.0
        } else if w < 0.0 {
            -1.0
        } else {
            0.0
        };
        2.0 * self.l2 * w + self.l1 * sign
    }
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
    fn circular_loss_wraps_and_its_gradient_matches_differences() {
        let (near, _) = circular_distance(359.0, 1.0);
        let (same, _) = circular_distance(2.0, 0.0);
        assert!((near - same).abs() < 1e-12);
        for (a, b) in [(10.0, 50.0), (350.0, 5.0), (200.0, 20.5)] {
            let (_, d) = circular_distance(a, b);
            let h = 1e-6;
            let fd = (circular_distance(a + h, b).0 - circular_distance(a - h, b).0) / (2.0 * h);
            assert!((d - fd).abs() < 1e-8, "{a} {b}: {d} vs {fd}");
        }
    }

    #[test]
    fn nll_gradient_matches_differences() {
        let obj = Objective::Nll { classes: 3 };
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
    fn penalty_subgradient_at_zero_is_zero() {
        let p = Penalty { l1: 0.5, l2: 0.25 };
        assert_eq!(p.grad(0.0), 0.0);
        assert_eq!(p.grad(2.0), 2.0 * 0.25 * 2.0 + 0.5);
        assert_eq!(p.value(&[1.0, -2.0]), 0.25 * 5.0 + 0.5 * 3.0);
    }
}
