//! What a network is trained to minimise: the tutorial's mean squared error on degrees, the users' circular
//! loss, or the bonus tutorial's negative log-likelihood over orientation bins; and the penalties on the
//! input weights.
//!
//! Each loss is one file here and one WGSL file beside the general GPU path's kernels
//! (`shaders/general/objective/`), holding all of it: its value and gradient in f64 for the CPU reference, the
//! network's head (how many outputs, and how they are reported and decoded into predictions), the label of its
//! axis in the figures, and its per-row loss for the GPU's `loss` kernel, which imports it.

pub mod circular;
pub mod mse;
pub mod nll;

pub use nll::{bin_edges, class_of, log_softmax};

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

/// What one loss is, on both backends.
pub trait Loss {
    /// Its name in summary.json and on the command line.
    fn name(&self) -> &'static str;

    /// The label of its axis in the figures.
    fn label(&self) -> &'static str;

    /// Output units of the network's last layer.
    fn outputs(&self) -> usize {
        1
    }

    /// The loss averaged over rows, and d loss / d raw output, rows x outputs. `raw` holds the last layer's
    /// outputs, rows x outputs; `targets` the stimuli in degrees.
    fn loss_and_grad(&self, raw: &[f64], targets: &[f32]) -> (f64, Vec<f64>);

    /// What the network outputs for people and files, from its raw outputs: degrees as they are by default.
    fn transform(&self, raw: &[f64]) -> Vec<f64> {
        raw.to_vec()
    }

    /// What the reported outputs (`transform`'s) of some rows decode to: by default angles in degrees.
    fn decode(&self, outputs: &[f64]) -> Decoded {
        Decoded::Regression(outputs.to_vec())
    }

    /// Its WGSL: `fn row_loss(src: u32, base: u32, ob: u32, inv: f32) -> f32`, the loss of one row for the
    /// general GPU path's `loss` kernel (`shaders/general/loss.wgsl`, which says what it gets and writes).
    fn wgsl(&self) -> &'static str;
}

/// The decoded value of each of some rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// The network's output in degrees (not wrapped into [0, 360)).
    Regression(Vec<f64>),
    /// The decoded bin of each row, of `classes` equal bins over 0-360 degrees.
    Classes { bins: Vec<usize>, classes: usize },
}

/// Every loss's name and figure label, for files that name a loss (summary.json's `loss`).
const LABELS: &[(&str, &str)] = &[
    (mse::NAME, mse::LABEL),
    (circular::NAME, circular::LABEL),
    (nll::NAME, nll::LABEL),
];

/// The figure label of the loss called `name` (`Loss::name`), if there is one.
pub fn label_of(name: &str) -> Option<&'static str> {
    LABELS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

impl Objective {
    /// The loss's own definition (its file in `src/objective/`).
    pub fn loss(self) -> Box<dyn Loss> {
        match self {
            Objective::Mse => Box::new(mse::Mse),
            Objective::Circular => Box::new(circular::Circular),
            Objective::Nll { classes } => Box::new(nll::Nll { classes }),
        }
    }

    /// Output units of the network's last layer.
    pub fn outputs(self) -> usize {
        self.loss().outputs()
    }

    pub fn classes(self) -> Option<usize> {
        match self {
            Objective::Nll { classes } => Some(classes),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        self.loss().name()
    }

    /// The label of its axis in the figures.
    pub fn label(self) -> &'static str {
        self.loss().label()
    }

    /// The loss averaged over rows, and d loss / d raw output (before LogSoftmax), rows x outputs.
    /// `raw` holds the last layer's outputs, rows x outputs; `targets` the stimuli in degrees.
    pub fn loss_and_grad(self, raw: &[f64], targets: &[f32]) -> (f64, Vec<f64>) {
        self.loss().loss_and_grad(raw, targets)
    }

    /// What the network outputs for people and files: degrees as they are, log-probabilities for classes.
    pub fn transform(self, raw: &[f64]) -> Vec<f64> {
        self.loss().transform(raw)
    }

    /// What reported outputs (`transform`'s) decode to: angles, or each row's most likely bin.
    pub fn decode(self, outputs: &[f64]) -> Decoded {
        self.loss().decode(outputs)
    }

    /// Its per-row loss in WGSL, for the general GPU path's `loss` kernel.
    pub fn wgsl(self) -> &'static str {
        self.loss().wgsl()
    }
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
    fn every_loss_has_its_label_by_name() {
        for o in [
            Objective::Mse,
            Objective::Circular,
            Objective::Nll { classes: 3 },
        ] {
            assert_eq!(label_of(o.name()), Some(o.label()));
            assert!(o.wgsl().contains("fn row_loss("), "{o:?}");
        }
        assert_eq!(label_of("hinge"), None);
        assert_eq!(Objective::Nll { classes: 3 }.outputs(), 3);
        assert_eq!(Objective::Circular.outputs(), 1);
    }

    #[test]
    fn penalty_subgradient_at_zero_is_zero() {
        let p = Penalty { l1: 0.5, l2: 0.25 };
        assert_eq!(p.grad(0.0), 0.0);
        assert_eq!(p.grad(2.0), 2.0 * 0.25 * 2.0 + 0.5);
        assert_eq!(p.value(&[1.0, -2.0]), 0.25 * 5.0 + 0.5 * 3.0);
    }
}
