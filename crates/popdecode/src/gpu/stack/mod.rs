//! A stack of networks trained together on the GPU (`Backend::open_stack`): the matrix uploaded once, the
//! members' first layers stacked into one K x M-row weight matrix (each in the stack's column space, zero
//! outside its neurons and kept there by a column mask), and per epoch one pass of products for all members
//! and rows, a small per-member head, one product for all first-layer gradients fused with every member's own
//! update, and each member's losses into a history buffer. Full batch: the products after an update give the
//! epoch's test loss and the next epoch's training loss, so the matrix is read twice an epoch. Many epochs go
//! in one submission; losses come back at read-backs sized to about 0.1 s, one batch behind the GPU.
//!
//! Scope: one hidden layer, full batch, SGD with any momentum (per member), MSE or NLL, any penalty, ReLU or
//! linear. `GpuBackend::support` sends anything else to `stack::one_by_one` (see `out_of_scope`), and so a
//! stack whose matrix alone is past a storage binding (the single-network paths cut columns into panels).
//! A stack whose members together are past the adapter's limits is cut into groups that fit (`plan::split`).
//!
//! Times: a group's setup and training time are divided evenly among its members.

pub mod plan;
pub mod session;
pub mod shaders;

use std::collections::VecDeque;
use std::time::Duration;

use crate::backend::History;
use crate::backend::stack::Stack;
use crate::engine::{self, Final};
use crate::error::{Error, Result};
use crate::gpu::runtime::device::Gpu;
use crate::objective::Objective;
pub use plan::StackTuning;
use plan::{Plan, Shape};
use session::{PendingStates, Session};

/// What in this stack the stacked kernels do not take, if anything: they take one hidden layer, MSE or NLL,
/// and every member full-batch SGD (any momentum, any penalty).
pub fn out_of_scope(stack: &Stack) -> Option<String> {
    let depth = stack.spec.hidden.len();
    if depth != 1 {
        return Some(format!(
            "{depth} hidden layers: the GPU's stacked kernels take one"
        ));
    }
    if !matches!(stack.spec.objective, Objective::Mse | Objective::Nll { .. }) {
        return Some(format!(
            "the {} loss: the GPU's stacked kernels take MSE and NLL",
            stack.spec.objective.name()
        ));
    }
    for m in stack.members {
        let name = m.config.optimizer.name();
        if name != "sgd" {
            return Some(format!(
                "optimizer {name}: the GPU's stacked kernels take SGD"
            ));
        }
        if m.config.is_mini_batch(m.train.len()) {
            return Some("mini-batches: the GPU's stacked kernels train full batch".into());
        }
    }
    None
}

/// The shape `plan::split` cuts `stack` by.
pub fn shape(stack: &Stack) -> Shape {
    Shape {
        rows: stack.x.rows,
        cols: stack.x.cols,
        members: stack.members.len(),
        hidden: stack.spec.width(),
        outputs: stack.spec.outputs(),
    }
}

/// `stack` (one group of `plan::split`'s) resident on the GPU as one session.
pub fn open<'a>(gpu: &'a Gpu, stack: &'a Stack<'a>, tuning: StackTuning) -> Result<Stacked<'a>> {
    let plan = Plan::new(&gpu.adapter, shape(stack), tuning).map_err(|r| match r {
        plan::Refusal::Matrix(m) | plan::Refusal::Members(m) => Error::AdapterLimits(m),
    })?;
    Ok(Stacked {
        gpu,
        stack,
        session: Session::new(gpu, stack, &plan)?,
        in_flight: VecDeque::new(),
        last: None,
    })
}

/// A group of a stack on the stacked kernels, its batches in flight.
pub struct Stacked<'a> {
    gpu: &'a Gpu,
    stack: &'a Stack<'a>,
    session: Session<'a>,
    in_flight: VecDeque<PendingStates>,
    /// Each member's (training, test) objective at the weights of the last state read.
    last: Option<Vec<(f64, f64)>>,
}

impl engine::Session for Stacked<'_> {
    fn members(&self) -> usize {
        self.stack.members.len()
    }

    fn setup_time(&self) -> Duration {
        self.session.setup_time
    }

    fn pipelined(&self) -> bool {
        true
    }

    fn submit(&mut self, epochs: usize, _live: &[bool]) -> Result<()> {
        let pending = self.session.run_epochs(epochs)?;
        self.in_flight.push_back(pending);
        Ok(())
    }

    /// The session reads states, the objectives at the weights after each update: epoch e's training loss is
    /// that of state e - 1, its test loss that of state e.
    fn collect(&mut self) -> Result<Vec<History>> {
        let k = self.stack.members.len();
        let mut histories = vec![History::default(); k];
        let Some(pending) = self.in_flight.pop_front() else {
            return Ok(histories);
        };
        for state in pending.wait(self.gpu)? {
            if let Some(last) = &self.last {
                for (h, (before, now)) in histories.iter_mut().zip(last.iter().zip(&state)) {
                    h.train_loss.push(before.0);
                    h.test_loss.push(now.1);
                }
            }
            self.last = Some(state);
        }
        Ok(histories)
    }

    fn finish(&mut self) -> Result<Vec<Final>> {
        let results = self.session.results(self.stack)?;
        let last = self.last.as_deref().unwrap_or(&[]);
        Ok(results
            .into_iter()
            .enumerate()
            .map(|(m, (params, test_outputs))| Final {
                params,
                test_outputs,
                final_train_loss: last.get(m).map_or(f64::NAN, |s| s.0),
            })
            .collect())
    }
}
