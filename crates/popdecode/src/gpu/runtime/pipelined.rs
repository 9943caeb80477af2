//! Training runs on either GPU path the same way: batches of epochs between read-backs, batch i + 1 queued before
//! batch i's losses are read, so the GPU never waits for the host. A batch's losses go to a buffer of at most
//! `MAX_BATCH_EPOCHS` epochs that every batch reuses: GPU memory does not grow with the epoch count; only the host's
//! history does. Batches are sized to last about `BATCH_TIME`, so a stop request is seen within a fraction of a
//! second, and end on the progress reports' epochs.

use std::time::{Duration, Instant};

use super::device::Gpu;
use super::readback::PendingRead;
use crate::backend::{Control, History, Trained};
use crate::error::Result;
use crate::model::Params;
use crate::training::Config;

/// The most epochs one batch runs: the loss buffer's size, in epochs.
pub const MAX_BATCH_EPOCHS: usize = 4096;

/// How long a batch should take, once the speed is known.
const BATCH_TIME: Duration = Duration::from_millis(100);

/// The first batch's epochs, before the speed is known.
const FIRST_BATCH: usize = 4;

/// A training problem resident on the GPU, its weights set, that runs epochs on request.
pub trait Resident {
    /// Encodes and submits `epochs` more epochs (at most `MAX_BATCH_EPOCHS`); nothing waits.
    fn run_epochs(&mut self, epochs: usize) -> Result<PendingHistory>;
    fn epochs_done(&self) -> usize;
    fn params(&self) -> Result<Params>;
    /// The outputs on the test rows at the current weights.
    fn test_outputs(&self) -> Result<Vec<f64>>;
    /// The training objective at the current weights, for a run whose last read-back did not carry it.
    fn train_loss(&mut self) -> Result<f64>;
}

/// How many epochs the next submission encodes, `queued` of `epochs` already queued and `read` of them read back
/// since `start`: about `BATCH_TIME` of work at the rate seen so far (`FIRST_BATCH` before any), at most
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

/// Runs `config.epochs` epochs on `session`, reporting through `control` (one batch behind the GPU); stops at
/// the first read-back that holds a loss that is not finite (the history ends at that epoch; the weights are
/// those of the epochs queued by then) or after the batch in flight when a stop is requested.
pub fn train(
    gpu: &Gpu,
    session: &mut impl Resident,
    config: &Config,
    setup_time: Duration,
    control: &mut Control,
) -> Result<Trained> {
    let start = Instant::now();
    let every = config.report_every();
    let batch =
        |queued: usize, read: usize| batch_epochs(start, queued, read, every, config.epochs);
    let mut history = History::default();
    // With no epochs, the batch of none still evaluates the initial network.
    let mut in_flight = Some(session.run_epochs(batch(0, 0))?);
    let mut stop = None;
    let mut final_train_loss = None;
    while let Some(pending) = in_flight.take() {
        let queued = session.epochs_done();
        if stop.is_none() && !control.stop_requested() && queued < config.epochs {
            in_flight = Some(session.run_epochs(batch(queued, history.train_loss.len()))?);
        }
        let read = pending.wait(gpu)?;
        final_train_loss = read.final_train_loss;
        if stop.is_some() {
            // The batch queued before a divergence was seen: its weights stand, its losses are not history.
            continue;
        }
        let before = history.train_loss.len();
        history.train_loss.extend(read.history.train_loss);
        history.test_loss.extend(read.history.test_loss);
        stop = control.check(&mut history, config, before);
        if stop.is_none() && in_flight.is_none() {
            stop = control.interrupted(&history, config);
        }
    }
    let final_train_loss = match final_train_loss {
        Some(loss) => loss,
        None if config.epochs > 0 => session.train_loss()?,
        None => f64::NAN,
    };
    let train_time = start.elapsed();
    Ok(Trained {
        params: session.params()?,
        test_outputs: session.test_outputs()?,
        history,
        final_train_loss,
        train_time,
        setup_time,
        stop: stop.unwrap_or_else(|| control.finished()),
    })
}

/// The losses of a batch of epochs, on their way back: `epochs` (train, test) pairs from the start of the
/// losses buffer, then the training loss at the weights they ended with where `with_final`.
pub struct PendingHistory {
    pub read: PendingRead,
    /// Epochs in the batch.
    pub epochs: usize,
    /// Whether the entry after the batch's losses holds the training loss at its final weights.
    pub with_final: bool,
}

/// A batch's losses, read back.
pub struct BatchLosses {
    pub history: History,
    pub final_train_loss: Option<f64>,
}

impl PendingHistory {
    /// Waits for the batch's losses.
    pub fn wait(self, gpu: &Gpu) -> Result<BatchLosses> {
        let e = self.epochs;
        let losses = self.read.wait(gpu)?.remove(0);
        Ok(BatchLosses {
            history: History {
                train_loss: (0..e).map(|i| losses[2 * i] as f64).collect(),
                test_loss: (0..e).map(|i| losses[2 * i + 1] as f64).collect(),
            },
            final_train_loss: self.with_final.then(|| losses[2 * e] as f64),
        })
    }
}
