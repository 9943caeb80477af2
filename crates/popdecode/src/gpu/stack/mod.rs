//! A stack of networks trained together on the GPU (`Backend::train_stack`): the matrix uploaded once, the
//! members' first layers stacked into one K x M-row weight matrix (each in the stack's column space, zero
//! outside its neurons and kept there by a column mask), and per epoch one pass of products for all members
//! and rows, a small per-member head, one product for all first-layer gradients fused with every member's own
//! update, and each member's losses into a history buffer. Full batch: the products after an update give the
//! epoch's test loss and the next epoch's training loss, so the matrix is read twice an epoch. Many epochs go
//! in one submission; losses come back at read-backs sized to about 0.1 s, one batch behind the GPU.
//!
//! Scope: one hidden layer, full batch, SGD with any momentum (per member), MSE or NLL, any penalty, ReLU or
//! linear. `GpuBackend::train_stack` sends anything else to `stack::one_by_one` (see `out_of_scope`), and so a
//! stack whose matrix alone is past a storage binding (the single-network paths cut columns into panels).
//! A stack whose members together are past the adapter's limits is cut into groups that fit (`plan::split`).
//!
//! Times: a group's setup and training time are divided evenly among its members.

pub mod plan;
pub mod session;
pub mod shaders;

use std::time::Instant;

use crate::backend::stack::{Stack, StackControl, StackProgress, first_non_finite};
use crate::backend::{History, Stop, Trained};
use crate::error::Result;
use crate::gpu::runtime::device::Gpu;
use crate::gpu::runtime::pipelined;
use crate::objective::Objective;
pub use plan::StackTuning;
use plan::{Plan, Shape};
use session::Session;

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

/// Trains `stack` (checked and in scope) on the stacked kernels, in as many groups as the adapter's limits
/// need; `Ok(None)` when its matrix does not fit one storage binding (the caller trains it one by one).
pub fn train(
    gpu: &Gpu,
    stack: &Stack,
    control: &mut StackControl,
    tuning: StackTuning,
) -> Result<Option<Vec<Trained>>> {
    let shape = Shape {
        rows: stack.x.rows,
        cols: stack.x.cols,
        members: stack.members.len(),
        hidden: stack.spec.width(),
        outputs: stack.spec.outputs(),
    };
    if stack.members.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let Some(groups) = plan::split(&gpu.adapter, shape, tuning)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(stack.members.len());
    for (range, plan) in groups {
        if control.stop_requested() {
            break;
        }
        let part = Stack {
            members: &stack.members[range.clone()],
            ..*stack
        };
        let (trained, interrupted) = train_group(gpu, &part, &plan, control, range.start)?;
        out.extend(trained);
        if interrupted {
            break;
        }
    }
    Ok(Some(out))
}

/// One group resident on the GPU, trained for every epoch unless the stop flag is raised (then every member
/// ends `Interrupted` at the epochs done, and the second value is true).
fn train_group(
    gpu: &Gpu,
    stack: &Stack,
    plan: &Plan,
    control: &mut StackControl,
    done_before: usize,
) -> Result<(Vec<Trained>, bool)> {
    let mut session = Session::new(gpu, stack, plan)?;
    let setup_time = session.setup_time;
    let start = Instant::now();
    let epochs = stack.epochs();
    let k = stack.members.len();
    let every = (epochs / 5).max(1);
    let batch =
        |queued: usize, read: usize| pipelined::batch_epochs(start, queued, read, every, epochs);
    // states[s][k]: member k's (training, test) objective at the weights after s updates.
    let mut states: Vec<Vec<(f64, f64)>> = Vec::with_capacity(epochs + 1);
    let mut in_flight = Some(session.run_epochs(batch(0, 0))?);
    let mut interrupted = false;
    while let Some(pending) = in_flight.take() {
        let queued = session.epochs_done();
        if !control.stop_requested() && queued < epochs {
            let read = states.len().saturating_sub(1);
            in_flight = Some(session.run_epochs(batch(queued, read))?);
        }
        let before = states.len().saturating_sub(1);
        states.extend(pending.wait(gpu)?);
        let done = states.len() - 1;
        if done > 0 && (done / every > before / every || done == epochs) {
            (control.progress)(StackProgress {
                done: done_before,
                training: k,
                epoch: done,
                epochs,
            });
        }
        if in_flight.is_none() && done < epochs {
            interrupted = true;
            (control.progress)(StackProgress {
                done: done_before,
                training: k,
                epoch: done,
                epochs,
            });
        }
    }
    let done = states.len() - 1;
    let results = session.results(stack)?;
    let train_time = start.elapsed() / k as u32;
    let setup_time = setup_time / k as u32;
    let trained = results
        .into_iter()
        .enumerate()
        .map(|(m, (params, test_outputs))| {
            let mut history = History {
                train_loss: (0..done).map(|e| states[e][m].0).collect(),
                test_loss: (1..=done).map(|e| states[e][m].1).collect(),
            };
            let stop = match first_non_finite(&history.train_loss, &history.test_loss) {
                Some(epoch) => {
                    history.train_loss.truncate(epoch);
                    history.test_loss.truncate(epoch);
                    Stop::Diverged { epoch }
                }
                None if interrupted => Stop::Interrupted { epoch: done },
                None => Stop::Complete,
            };
            Trained {
                params,
                history,
                test_outputs,
                final_train_loss: states[done][m].0,
                train_time,
                setup_time,
                stop,
            }
        })
        .collect();
    Ok((trained, interrupted))
}
