//! How to train: epochs, learning rate, optimizer, mini-batches and penalties, and the rows each step sees.
//!
//! The history follows the bonus tutorial's `train()`: the training loss of an epoch is the objective (with
//! its penalties) in that epoch's forward pass, before its update; the test loss is the objective on the test
//! rows after the update. With mini-batches, an epoch's training loss is the mean of its batches' objectives,
//! each taken before that batch's update and weighted by the batch's rows; the test loss is taken after the
//! epoch's last update.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::objective::Penalty;
use crate::optim::{HyperParameters, Optimizer};

/// How to train: the tutorial's full-batch gradient descent by default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    pub epochs: usize,
    pub lr: f64,
    pub optimizer: Optimizer,
    /// Rows per step; `None` for the whole training set (full batch).
    pub batch_size: Option<usize>,
    /// Penalties on the input weights, part of the objective.
    pub penalty: Penalty,
    /// Seed of the per-epoch shuffle of the training rows into mini-batches.
    pub shuffle_seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            epochs: 50,
            lr: 1e-4,
            optimizer: Optimizer::Sgd { momentum: 0.0 },
            batch_size: None,
            penalty: Penalty::default(),
            shuffle_seed: 0,
        }
    }
}

impl Config {
    /// A configuration, checked: a finite, non-negative learning rate (`lr`),
    /// at least one row per batch (`batch_size`) and finite, non-negative penalties (`l1`, `l2`), each of
    /// them and the optimizer's settings (`momentum`, `weight_decay`) representable in f32. What is
    /// wrong is an `Invalid` naming the value a user would change. The optimizer checks its own
    /// hyper-parameters when it is built (`optim::build`). Any number of epochs: 0 evaluates the initial
    /// network, as the tutorial does with its untrained net.
    pub fn new(
        epochs: usize,
        lr: f64,
        optimizer: Optimizer,
        batch_size: Option<usize>,
        penalty: Penalty,
        shuffle_seed: u64,
    ) -> Result<Config> {
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(Error::invalid(
                "lr",
                format!("expected a finite, non-negative learning rate, got {lr}"),
            ));
        }
        if batch_size == Some(0) {
            return Err(Error::invalid(
                "batch_size",
                "expected at least 1 row per batch",
            ));
        }
        for (name, v) in [("l1", penalty.l1), ("l2", penalty.l2)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(
                    name,
                    format!("expected a finite, non-negative penalty, got {v}"),
                ));
            }
        }
        // The GPU and the fast CPU backend compute in f32: a value f32 cannot hold would become infinity or 0.
        let mut scalars = vec![("lr", lr), ("l1", penalty.l1), ("l2", penalty.l2)];
        for key in HyperParameters::KEYS {
            if let Some(v) = optimizer.setting(key) {
                scalars.push((key, v));
            }
        }
        for (name, v) in scalars {
            fits_f32(name, v)?;
        }
        Ok(Config {
            epochs,
            lr,
            optimizer,
            batch_size,
            penalty,
            shuffle_seed,
        })
    }

    /// The tutorial prints every `epochs / 5` epochs (and we at least every epoch).
    pub fn report_every(&self) -> usize {
        (self.epochs / 5).max(1)
    }

    /// Whether each step sees only part of the training rows.
    pub fn is_mini_batch(&self, n_train: usize) -> bool {
        self.batch_size.is_some_and(|b| b < n_train)
    }

    /// The training rows of each step of epoch `epoch` (counted from 0), in order: all rows in their order for
    /// full-batch training; a seeded shuffle cut into batches otherwise (the last may be smaller). Every backend
    /// takes its batches from here, so they see the same rows.
    pub fn batches(&self, n_train: usize, epoch: usize) -> Vec<Vec<usize>> {
        let mut rows: Vec<usize> = (0..n_train).collect();
        if !self.is_mini_batch(n_train) {
            return vec![rows];
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.shuffle_seed);
        rng.set_stream(epoch as u64);
        rows.shuffle(&mut rng);
        rows.chunks(self.batch_size.unwrap_or(n_train).max(1))
            .map(<[usize]>::to_vec)
            .collect()
    }
}
/// `value` as f32 would be the same number to within f32's rounding: not beyond f32's largest (about 3.4e38,
/// which would become infinity) and not so small that it would become 0 (below about 1.4e-45).
pub fn fits_f32(name: &str, value: f64) -> Result<()> {
    let rounded = value as f32;
    if value.is_finite() && (rounded.is_infinite() || (rounded == 0.0 && value != 0.0)) {
        return Err(Error::invalid(
            name,
            format!(
                "{value:e} does not fit in f32, which the GPU and the fast CPU backend compute in: expected a \
                 magnitude from {:e} to {:e}, or 0",
                f32::from_bits(1),
                f32::MAX
            ),
        ));
    }
    Ok(())
}
