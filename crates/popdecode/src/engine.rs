//! The one training loop. A backend opens a `Session`: K >= 1 networks resident on its device (one network on a
//! `Problem`, or a group of a `Stack` trained together) that run epochs when asked and hand back their losses.
//! `drive` owns everything around those epochs, the same way for every backend: how many epochs each request
//! holds (one at a time where epochs run on the host; batches of about `BATCH_TIME`, one queued ahead of the one
//! being read, where they run on a GPU), the histories, the report cadence, divergence (a member whose loss is
//! not finite stops there unless told to keep going; the others go on), the stop flag, and the times.
//!
//! A backend writes only its epochs (`Session::submit`) and its read-out (`Session::finish`); what a run
//! reports, when it stops and what it returns is decided here once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::data::problem::Problem;
use crate::error::{Error, Result};
use crate::model::{Params, Spec};
use crate::training::Config;

/// The most epochs one request holds: a GPU session's loss buffer is this many epochs long.
pub const MAX_BATCH_EPOCHS: usize = 4096;

/// How long a pipelined request should take, once the speed is known.
const BATCH_TIME: Duration = Duration::from_millis(100);

/// A pipelined session's first request, before the speed is known.
const FIRST_BATCH: usize = 4;

/// Per-epoch losses, epoch 1 first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub train_loss: Vec<f64>,
    pub test_loss: Vec<f64>,
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
    /// Why training ended: every epoch done, a loss that was not finite, or a stop request.
    pub stop: Stop,
}

/// Why training ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every epoch of `Config::epochs` ran.
    Complete,
    /// Epoch `epoch` (from 1) was the first whose training or test loss was not finite. Training stopped there
    /// unless the caller asked to keep going (`Steering::keep_going`); on the CPU and the reference the history
    /// ends at that epoch; the GPU sees losses only at its read-backs, so its weights may be a few epochs past it.
    Diverged { epoch: usize },
    /// The stop flag was raised; `epoch` epochs ran.
    Interrupted { epoch: usize },
}

/// One network to train: its problem, shape, initial weights and how it trains (what `Backend::open` takes).
#[derive(Clone, Copy)]
pub struct Network<'a> {
    pub problem: &'a Problem,
    pub spec: &'a Spec,
    pub params: &'a Params,
    pub config: &'a Config,
}

/// One member at the end of training.
pub struct Final {
    pub params: Params,
    /// Its outputs on its test rows, test rows x outputs (log-probabilities for classes).
    pub test_outputs: Vec<f64>,
    /// Its training objective at those weights.
    pub final_train_loss: f64,
}

/// Networks resident on a backend, their weights set, that run epochs on request.
pub trait Session {
    /// How many networks it trains.
    fn members(&self) -> usize;

    /// Time its opening took (data upload, layout, shader compilation), for all its members.
    fn setup_time(&self) -> Duration;

    /// Whether its epochs run on another device: then `drive` sizes requests by time and queues one ahead of
    /// the one it reads. Otherwise it asks for one epoch at a time and sees each epoch's losses before the next.
    fn pipelined(&self) -> bool {
        false
    }

    /// Queues `epochs` more epochs (at most `MAX_BATCH_EPOCHS`; none asks for the losses at the initial
    /// weights' first pass only). `live[k]` is false for a member that has stopped: its weights should stay as
    /// they are, though a session may go on computing it (its losses are then ignored).
    fn submit(&mut self, epochs: usize, live: &[bool]) -> Result<()>;

    /// The losses of the oldest request not yet collected, one `History` per member, each as long as that
    /// request: epoch e's training objective before its update and its test objective after it.
    fn collect(&mut self) -> Result<Vec<History>>;

    /// Each member's weights, test outputs and training objective at the current weights.
    fn finish(&mut self) -> Result<Vec<Final>>;
}

/// Where a run stands, as reported to the caller every `epochs / 5` epochs (at least every epoch), at the end,
/// when every member has stopped, and when a stop request ends it.
pub struct Report<'a> {
    /// Epochs run so far (a diverged member's history may be shorter).
    pub epoch: usize,
    pub epochs: usize,
    /// Each member's losses so far.
    pub histories: &'a [History],
}

/// How the caller steers a run.
#[derive(Clone, Copy, Default)]
pub struct Steering<'a> {
    /// Raised (by a signal handler, a callback, another thread): the run stops at the next epoch boundary the
    /// driver sees.
    pub stop: Option<&'a AtomicBool>,
    /// Train every epoch even past a loss that is not finite (the member still ends `Stop::Diverged`).
    pub keep_going: bool,
}

impl Steering<'_> {
    pub fn stop_requested(&self) -> bool {
        self.stop.is_some_and(|f| f.load(Ordering::Relaxed))
    }
}

/// What `drive` returns: each member's result, and whether the stop flag ended the run.
pub struct Driven {
    pub trained: Vec<Trained>,
    pub interrupted: bool,
}

/// Trains `session` for `epochs` epochs. Each member's setup and training time is the session's divided evenly
/// among its members.
pub fn drive(
    session: &mut dyn Session,
    epochs: usize,
    steering: Steering,
    report: &mut dyn FnMut(&Report),
) -> Result<Driven> {
    let k = session.members();
    let pipelined = session.pipelined();
    let start = Instant::now();
    let every = (epochs / 5).max(1);
    let mut histories = vec![History::default(); k];
    let mut diverged: Vec<Option<usize>> = vec![None; k];
    let mut live = vec![true; k];
    let (mut queued, mut read, mut in_flight) = (0, 0, 0);
    let mut reported = 0;
    let mut interrupted = false;
    let size = |queued: usize, read: usize| {
        if pipelined {
            batch_epochs(start, queued, read, every, epochs)
        } else {
            (epochs - queued).min(1)
        }
    };
    // With no epochs, the request of none still evaluates the initial networks.
    let first = size(0, 0);
    session.submit(first, &live)?;
    (queued, in_flight) = (queued + first, in_flight + 1);
    while in_flight > 0 {
        let go_on = |live: &[bool], queued: usize| {
            live.contains(&true) && !steering.stop_requested() && queued < epochs
        };
        if pipelined && go_on(&live, queued) {
            let n = size(queued, read);
            session.submit(n, &live)?;
            (queued, in_flight) = (queued + n, in_flight + 1);
        }
        let batch = session.collect()?;
        in_flight -= 1;
        if batch.len() != k {
            return Err(Error::Usage(format!(
                "a session of {k} networks returned losses for {}",
                batch.len()
            )));
        }
        if !live.contains(&true) {
            // A request queued before every member stopped: its weights stand, its losses are not history.
            continue;
        }
        let before = read;
        read += batch[0].train_loss.len();
        let mut stopped_now = false;
        for (m, got) in batch.into_iter().enumerate() {
            if !live[m] {
                continue;
            }
            let h = &mut histories[m];
            let at = h.train_loss.len();
            h.train_loss.extend(got.train_loss);
            h.test_loss.extend(got.test_loss);
            if diverged[m].is_none()
                && let Some(e) = first_non_finite(&h.train_loss[at..], &h.test_loss[at..])
            {
                diverged[m] = Some(at + e);
                if !steering.keep_going {
                    h.train_loss.truncate(at + e);
                    h.test_loss.truncate(at + e);
                    live[m] = false;
                    stopped_now = true;
                }
            }
        }
        let all_stopped = stopped_now && !live.contains(&true);
        let due = read > 0 && (read / every > before / every || read == epochs);
        if due || all_stopped {
            reported = read;
            report(&Report {
                epoch: read,
                epochs,
                histories: &histories,
            });
        }
        if !pipelined && go_on(&live, queued) {
            let n = size(queued, read);
            session.submit(n, &live)?;
            (queued, in_flight) = (queued + n, in_flight + 1);
        }
        if in_flight == 0 && live.contains(&true) && read < epochs {
            interrupted = true;
            if reported != read {
                report(&Report {
                    epoch: read,
                    epochs,
                    histories: &histories,
                });
            }
        }
    }
    let train_time = start.elapsed();
    let finals = session.finish()?;
    let share = |d: Duration| d / k.max(1) as u32;
    let setup_time = share(session.setup_time());
    let trained = finals
        .into_iter()
        .zip(histories)
        .enumerate()
        .map(|(m, (f, history))| Trained {
            params: f.params,
            history,
            test_outputs: f.test_outputs,
            final_train_loss: f.final_train_loss,
            train_time: share(train_time),
            setup_time,
            stop: match diverged[m] {
                Some(epoch) if !live[m] => Stop::Diverged { epoch },
                _ if interrupted => Stop::Interrupted { epoch: read },
                Some(epoch) => Stop::Diverged { epoch },
                None => Stop::Complete,
            },
        })
        .collect();
    Ok(Driven {
        trained,
        interrupted,
    })
}

/// The first epoch (from 1) whose training or test loss is not finite.
pub fn first_non_finite(train_loss: &[f64], test_loss: &[f64]) -> Option<usize> {
    train_loss
        .iter()
        .zip(test_loss)
        .position(|(a, b)| !(a.is_finite() && b.is_finite()))
        .map(|i| i + 1)
}

/// How many epochs the next pipelined request holds, `queued` of `epochs` already queued and `read` of them read
/// back since `start`: about `BATCH_TIME` of work at the rate seen so far (`FIRST_BATCH` before any), at most
/// `MAX_BATCH_EPOCHS`, ending at the next report (every `every` epochs) and at the last epoch.
pub fn batch_epochs(
    start: Instant,
    queued: usize,
    read: usize,
    every: usize,
    epochs: usize,
) -> usize {
    let target = if read == 0 {
        FIRST_BATCH
    } else {
        let per_s = read as f64 / start.elapsed().as_secs_f64().max(1e-9);
        (per_s * BATCH_TIME.as_secs_f64()) as usize
    };
    target
        .clamp(1, MAX_BATCH_EPOCHS)
        .min(every - queued % every)
        .min(epochs - queued)
}
