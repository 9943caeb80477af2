//! Training runs on either GPU path the same way: batches of epochs between progress reports, batch i + 1
//! queued before batch i's losses are read, so the GPU never waits for the host.

use std::time::{Duration, Instant};

use super::device::Gpu;
use super::readback::PendingRead;
use crate::backend::{History, Progress, Trained};
use crate::error::Result;
use crate::model::Params;
use crate::training::Config;

/// A training problem resident on the GPU, its weights set, that runs epochs on request.
pub trait Resident {
    /// Encodes and submits `epochs` more epochs; nothing waits.
    fn run_epochs(&mut self, epochs: usize) -> Result<PendingHistory>;
    fn epochs_done(&self) -> usize;
    fn params(&self) -> Result<Params>;
    /// The outputs on the test rows at the current weights.
    fn test_outputs(&self) -> Result<Vec<f64>>;
}

/// Runs `config.epochs` epochs on `session`, reporting every `config.report_every()` epochs (one batch behind
/// the GPU) and at the end.
pub fn train(
    gpu: &Gpu,
    session: &mut impl Resident,
    config: &Config,
    setup_time: Duration,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Trained> {
    let start = Instant::now();
    let every = config.report_every();
    let mut in_flight = session.run_epochs(every.min(config.epochs))?;
    while session.epochs_done() < config.epochs {
        let batch = every.min(config.epochs - session.epochs_done());
        let done = std::mem::replace(&mut in_flight, session.run_epochs(batch)?);
        let (history, _) = done.wait(gpu)?;
        report(progress, &history);
    }
    let (history, final_train_loss) = in_flight.wait(gpu)?;
    if config.epochs > 0 {
        report(progress, &history);
    }
    let train_time = start.elapsed();
    Ok(Trained {
        params: session.params()?,
        test_outputs: session.test_outputs()?,
        history,
        final_train_loss,
        train_time,
        setup_time,
    })
}

fn report(progress: &mut dyn FnMut(&Progress), history: &History) {
    progress(&Progress {
        epoch: history.train_loss.len(),
        history,
    });
}

/// The losses of a batch of epochs, on their way back.
pub struct PendingHistory {
    pub read: PendingRead,
    /// Epochs run when the losses were copied.
    pub epochs: usize,
}

impl PendingHistory {
    /// The losses of every epoch run so far, and the training loss at the weights they ended with.
    pub fn wait(self, gpu: &Gpu) -> Result<(History, f64)> {
        let e = self.epochs;
        let losses = self.read.wait(gpu)?.remove(0);
        let history = History {
            train_loss: (0..e).map(|i| losses[2 * i] as f64).collect(),
            test_loss: (0..e).map(|i| losses[2 * i + 1] as f64).collect(),
        };
        Ok((history, losses[2 * e] as f64))
    }
}
