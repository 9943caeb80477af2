//! What every backend does: evaluate a network at given weights, and train it.
//!
//! The history follows the bonus tutorial's `train()`: the training loss of an epoch is the objective in that
//! epoch's forward pass, before its update; the test loss is the objective on the test rows after the update.

use std::time::Duration;

use crate::error::Result;
use crate::model::{Params, Spec};
use crate::problem::Problem;

/// How to train: full-batch gradient descent on the mean squared error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Config {
    pub epochs: usize,
    pub lr: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            epochs: 50,
            lr: 1e-4,
        }
    }
}

impl Config {
    /// The tutorial prints every `epochs / 5` epochs (and we at least every epoch).
    pub fn report_every(&self) -> usize {
        (self.epochs / 5).max(1)
    }
}

/// Per-epoch losses, epoch 1 first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub train_loss: Vec<f64>,
    pub test_loss: Vec<f64>,
}

/// The network at one set of weights on the training rows: what `check` compares across backends.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// One output per training row.
    pub outputs: Vec<f64>,
    pub loss: f64,
    /// The gradient of the loss for each tensor, in `Params::tensors()` order.
    pub grads: [Vec<f64>; 4],
}

/// The result of a training run.
#[derive(Clone, Debug)]
pub struct Trained {
    pub params: Params,
    pub history: History,
    /// The outputs on the test rows at the final weights.
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

    /// Outputs, loss and every gradient on the training rows at `params`.
    fn evaluate(&mut self, problem: &Problem, spec: &Spec, params: &Params) -> Result<Evaluation>;

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
