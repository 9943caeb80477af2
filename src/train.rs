//! What every backend does: evaluate a network at given weights, and train it.
//!
//! The history follows the bonus tutorial's `train()`: the training loss of an epoch is the objective (with
//! its penalties) in that epoch's forward pass, before its update; the test loss is the objective on the test
//! rows after the update. With mini-batches, an epoch's training loss is the mean of its batches' objectives,
//! each taken before that batch's update and weighted by the batch's rows; the test loss is taken after the
//! epoch's last update.

use std::time::Duration;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::model::{Params, Spec};
use crate::objective::Penalty;
use crate::problem::Problem;

/// How parameters follow their gradients, as `torch.optim` does it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// `optim.SGD(lr, momentum)`: with momentum, buf = momentum * buf + grad and p -= lr * buf.
    Sgd { momentum: f64 },
    /// `optim.Adam(lr, betas=(beta1, beta2), eps)`, bias-corrected.
    Adam { beta1: f64, beta2: f64, eps: f64 },
}

impl Optimizer {
    /// PyTorch's defaults: betas 0.9 and 0.999, eps 1e-8.
    pub const ADAM: Optimizer = Optimizer::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };

    /// The tutorial's plain gradient descent.
    pub fn is_plain_sgd(&self) -> bool {
        matches!(self, Optimizer::Sgd { momentum } if *momentum == 0.0)
    }
}

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

/// Per-epoch losses, epoch 1 first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub train_loss: Vec<f64>,
    pub test_loss: Vec<f64>,
}

/// The network at one set of weights on all training rows: what `check` compares across backends.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// The network's outputs, training rows x outputs (log-probabilities for classes).
    pub outputs: Vec<f64>,
    /// The objective with its penalties.
    pub loss: f64,
    /// The gradient of the loss for each tensor, in `Params::tensors()` order.
    pub grads: Vec<Vec<f64>>,
}

/// The result of a training run.
#[derive(Clone, Debug)]
pub struct Trained {
    pub params: Params,
    pub history: History,
    /// The outputs on the test rows at the final weights, test rows x outputs (log-probabilities for classes).
    pub test_outputs: Vec<f64>,
    /// The training objective at the final weights (one step past the last recorded training loss).
    pub final_train_loss: f64,
    /// Time spent training, without setup (data upload, shader compilation).
    pub train_time: Duration,
    /// Time spent on setup before the first epoch.
    pub setup_time: Duration,
}

/// Reported to the caller every `Config::report_every()` epochs and at the end.
pub struct Progress<'a> {
    /// Epochs done so far.
    pub epoch: usize,
    pub history: &'a History,
}

/// A place where the network's mathematics runs: the CPU reference or the GPU.
pub trait Backend {
    /// What it is, for people: "cpu (f64 reference)", "gpu: <adapter> (<api>)".
    fn describe(&self) -> String;

    /// Outputs, loss (with `penalty`) and every gradient on the training rows at `params`.
    fn evaluate(
        &mut self,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        penalty: &Penalty,
    ) -> Result<Evaluation>;

    /// Trains from `params` for `config.epochs` epochs.
    fn train(
        &mut self,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        config: &Config,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Trained>;
}

/// Which backend to run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// The GPU when wgpu finds an adapter, else the CPU.
    Auto,
    Gpu,
    Cpu,
}

/// Opens a backend; the note says why `auto` fell back to the CPU.
pub fn open_backend(
    choice: BackendChoice,
    adapter: Option<&str>,
) -> Result<(Box<dyn Backend>, Option<String>)> {
    use crate::cpu::CpuBackend;
    use crate::error::Error;
    use crate::gpu::GpuBackend;
    match choice {
        BackendChoice::Cpu => Ok((Box::new(CpuBackend), None)),
        BackendChoice::Gpu => Ok((Box::new(GpuBackend::open(adapter)?), None)),
        BackendChoice::Auto => match GpuBackend::open(adapter) {
            Ok(gpu) => Ok((Box::new(gpu), None)),
            Err(e @ Error::BadArgument { .. }) => Err(e),
            Err(e) => Ok((
                Box::new(CpuBackend),
                Some(format!("no usable GPU ({e}); training on the CPU")),
            )),
        },
    }
}
