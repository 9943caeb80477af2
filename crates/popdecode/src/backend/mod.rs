//! What every backend does: evaluate a network at given weights, and train it. This module names no backend
//! (`select.rs` is the one place that knows them all), so backends depend on it and not the other way.

pub mod stack;

use std::sync::atomic::AtomicBool;

use crate::data::problem::Problem;
use crate::engine::{self, Network, Report, Session, Steering};
pub use crate::engine::{History, Stop, Trained};
use crate::error::Result;
use crate::model::{Params, Spec};
use crate::objective::Penalty;
use crate::training::Config;

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

/// How a caller steers training: where progress goes, a flag that stops it at the next epoch boundary (a signal
/// handler's), and whether to go on past a loss that is not finite.
pub struct Control<'a> {
    progress: &'a mut dyn FnMut(&Progress),
    stop: Option<&'a AtomicBool>,
    keep_going: bool,
    /// The epoch count at the last report.
    reported: usize,
}

impl<'a> Control<'a> {
    /// Reports to `progress`; stops at the first epoch whose loss is not finite, and at no request.
    pub fn new(progress: &'a mut dyn FnMut(&Progress)) -> Control<'a> {
        Control {
            progress,
            stop: None,
            keep_going: false,
            reported: 0,
        }
    }

    /// Stops at the next epoch boundary once `flag` is set.
    pub fn stop_on(mut self, flag: &'a AtomicBool) -> Control<'a> {
        self.stop = Some(flag);
        self
    }

    /// Trains every epoch even after a loss that is not finite (the run still ends `Stop::Diverged`).
    pub fn keep_going(mut self, keep_going: bool) -> Control<'a> {
        self.keep_going = keep_going;
        self
    }

    /// Whether the stop flag is up.
    pub fn stop_requested(&self) -> bool {
        self.steering().stop_requested()
    }

    /// What the driver needs of it besides the progress.
    pub fn steering(&self) -> Steering<'a> {
        Steering {
            stop: self.stop,
            keep_going: self.keep_going,
        }
    }

    /// Reports `history` (epochs so far) to the caller, once per epoch count.
    pub fn report(&mut self, history: &History) {
        let epoch = history.train_loss.len();
        if epoch > 0 && epoch != self.reported {
            self.reported = epoch;
            (self.progress)(&Progress { epoch, history });
        }
    }
}

/// Reported to the caller every `Config::report_every()` epochs and at the end.
pub struct Progress<'a> {
    /// Epochs done so far.
    pub epoch: usize,
    pub history: &'a History,
}

/// A place where the network's mathematics runs: the GPU, the fast CPU backend or the f64 reference. A backend
/// evaluates, and opens `Session`s: one network (`open`), or a group of a stack trained together
/// (`support`, `open_stack`). The training loop around a session is `engine::drive`, the same for every
/// backend; `train_with` and `train_stack` are that loop.
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

    /// One network, resident and ready to train.
    fn open<'a>(&'a mut self, network: Network<'a>) -> Result<Box<dyn Session + 'a>>;

    /// How this backend trains `stack` (checked, not empty): which members together, one session a group, or
    /// why it trains them one by one. Said before anything is trained, and recorded.
    fn support(&self, _stack: &stack::Stack) -> Result<stack::Support> {
        Ok(stack::Support::OneByOne(
            "this backend has no stacked path".into(),
        ))
    }

    /// A group of a stack that `support` said trains together (`stack` holds that group's members).
    fn open_stack<'a>(&'a mut self, _stack: &'a stack::Stack<'a>) -> Result<Box<dyn Session + 'a>> {
        Err(crate::Error::Usage(format!(
            "the {} backend has no stacked path",
            self.name()
        )))
    }

    /// Trains from `params` for `config.epochs` epochs, reporting to `progress` every `config.report_every()`
    /// epochs and at the end; stops at the first epoch whose loss is not finite.
    fn train(
        &mut self,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        config: &Config,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Trained> {
        self.train_with(problem, spec, params, config, &mut Control::new(progress))
    }

    /// `train`, steered by `control`: a stop flag, whether to go on past a divergence. `Trained::stop` says how
    /// it ended.
    fn train_with(
        &mut self,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        config: &Config,
        control: &mut Control,
    ) -> Result<Trained> {
        let steering = control.steering();
        let mut session = self.open(Network {
            problem,
            spec,
            params,
            config,
        })?;
        let mut report = |r: &Report| control.report(&r.histories[0]);
        let driven = engine::drive(session.as_mut(), config.epochs, steering, &mut report)?;
        driven
            .trained
            .into_iter()
            .next()
            .ok_or_else(|| crate::Error::Usage("a session of one network returned none".into()))
    }

    /// Trains every member of `stack` (networks of one shape on one matrix) and returns each one's result in
    /// member order; shorter than the stack only when the stop flag ended it. Each member's trajectory is the
    /// one `train_with` gives it on `stack.problem(k)` (to within the backend's rounding): see `stack::train`.
    fn train_stack(
        &mut self,
        stack: &stack::Stack,
        control: &mut stack::StackControl,
    ) -> Result<Vec<Trained>> {
        stack::train(self, stack, control)
    }
}
