//! What every backend does: evaluate a network at given weights, and train it. This module names no backend
//! (`select.rs` is the one place that knows them all), so backends depend on it and not the other way.

use std::time::Duration;

use crate::data::problem::Problem;
use crate::error::Result;
use crate::model::{Params, Spec};
use crate::objective::Penalty;
use crate::training::Config;

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

/// A place where the network's mathematics runs: the GPU, the fast CPU backend or the f64 reference.
pub trait Backend {
    /// What it is, for people: "cpu (f32, AVX-512, 2 threads)", "reference (f64, 2 threads)",
    /// "gpu: <adapter> (<api>)".
    fn describe(&self) -> String;

    /// Its `--backend` name: what summary.json records.
    fn name(&self) -> &'static str;

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
