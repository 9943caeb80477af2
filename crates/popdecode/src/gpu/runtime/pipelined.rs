//! Both single-network GPU paths as an `engine::Session`: the driver queues batch i + 1 before it reads batch
//! i's losses, so the GPU never waits for the host. A batch's losses go to a buffer of at most
//! `MAX_BATCH_EPOCHS` epochs that every batch reuses: GPU memory does not grow with the epoch count; only the
//! host's history does.

use std::collections::VecDeque;
use std::time::Duration;

use super::device::Gpu;
use super::readback::PendingRead;
use crate::backend::History;
pub use crate::engine::MAX_BATCH_EPOCHS;
use crate::engine::{Final, Session};
use crate::error::Result;
use crate::model::Params;

/// A training problem resident on the GPU, its weights set, that runs epochs on request.
pub trait Resident {
    /// Encodes and submits `epochs` more epochs (at most `MAX_BATCH_EPOCHS`); nothing waits.
    fn run_epochs(&mut self, epochs: usize) -> Result<PendingHistory>;
    fn params(&self) -> Result<Params>;
    /// The outputs on the test rows at the current weights.
    fn test_outputs(&self) -> Result<Vec<f64>>;
    /// The training objective at the current weights, for a run whose last read-back did not carry it.
    fn train_loss(&mut self) -> Result<f64>;
}

/// One network on either GPU path, its batches in flight.
pub struct Pipelined<'g, R> {
    gpu: &'g Gpu,
    resident: R,
    setup_time: Duration,
    /// The epochs the run was opened for: with none, there is no training objective to read.
    epochs: usize,
    in_flight: VecDeque<PendingHistory>,
    /// The training objective at the weights the last batch read ended with, when it carried it.
    final_train_loss: Option<f64>,
}

impl<'g, R: Resident> Pipelined<'g, R> {
    pub fn new(gpu: &'g Gpu, resident: R, setup_time: Duration, epochs: usize) -> Self {
        Pipelined {
            gpu,
            resident,
            setup_time,
            epochs,
            in_flight: VecDeque::new(),
            final_train_loss: None,
        }
    }
}

impl<R: Resident> Session for Pipelined<'_, R> {
    fn members(&self) -> usize {
        1
    }

    fn setup_time(&self) -> Duration {
        self.setup_time
    }

    fn pipelined(&self) -> bool {
        true
    }

    fn submit(&mut self, epochs: usize, _live: &[bool]) -> Result<()> {
        let pending = self.resident.run_epochs(epochs)?;
        self.in_flight.push_back(pending);
        Ok(())
    }

    fn collect(&mut self) -> Result<Vec<History>> {
        let Some(pending) = self.in_flight.pop_front() else {
            return Ok(vec![History::default()]);
        };
        let read = pending.wait(self.gpu)?;
        self.final_train_loss = read.final_train_loss;
        Ok(vec![read.history])
    }

    fn finish(&mut self) -> Result<Vec<Final>> {
        let final_train_loss = match self.final_train_loss {
            Some(loss) => loss,
            None if self.epochs > 0 => self.resident.train_loss()?,
            None => f64::NAN,
        };
        Ok(vec![Final {
            params: self.resident.params()?,
            test_outputs: self.resident.test_outputs()?,
            final_train_loss,
        }])
    }
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
