//! GPU against CPU from one set of weights: the outputs, the loss, the gradient of every tensor, and a short
//! training run epoch by epoch, each as a relative error against the stated tolerance.

use crate::compare::{Comparison, tolerance};
use crate::error::Result;
use crate::model::{Params, Spec};
use crate::problem::Problem;
use crate::train::{Backend, Config, Trained};

pub struct CheckReport {
    /// Outputs, loss and the four gradients at the initial weights.
    pub evaluation: Vec<Comparison>,
    /// (train, test) losses of each epoch of the short run.
    pub epochs: Vec<Comparison>,
    /// The weights the short run ends with.
    pub final_weights: Vec<Comparison>,
}

impl CheckReport {
    pub fn all(&self) -> impl Iterator<Item = &Comparison> {
        self.evaluation
            .iter()
            .chain(&self.epochs)
            .chain(&self.final_weights)
    }

    pub fn passed(&self) -> bool {
        self.all().all(Comparison::passed)
    }

    pub fn worst(&self) -> Option<&Comparison> {
        self.all()
            .max_by(|a, b| (a.rel_error / a.tolerance).total_cmp(&(b.rel_error / b.tolerance)))
    }
}

/// Compares `backend` with `reference` (the CPU).
pub fn check(
    backend: &mut dyn Backend,
    reference: &mut dyn Backend,
    problem: &Problem,
    spec: &Spec,
    params: &Params,
    config: &Config,
) -> Result<CheckReport> {
    let got = backend.evaluate(problem, spec, params)?;
    let want = reference.evaluate(problem, spec, params)?;
    let mut evaluation = vec![
        Comparison::new("outputs", &got.outputs, &want.outputs, tolerance::TENSOR),
        Comparison::new("loss", &[got.loss], &[want.loss], tolerance::TENSOR),
    ];
    for (i, (name, _, _)) in params.tensors().iter().enumerate() {
        evaluation.push(Comparison::new(
            format!("grad {name}"),
            &got.grads[i],
            &want.grads[i],
            tolerance::TENSOR,
        ));
    }
    let quiet = &mut |_: &crate::train::Progress| {};
    let run: Trained = backend.train(problem, spec, params, config, quiet)?;
    let reference_run: Trained = reference.train(problem, spec, params, config, quiet)?;
    let epochs = (0..config.epochs)
        .map(|e| {
            let h = &run.history;
            let r = &reference_run.history;
            Comparison::new(
                format!("epoch {} losses", e + 1),
                &[h.train_loss[e], h.test_loss[e]],
                &[r.train_loss[e], r.test_loss[e]],
                tolerance::LOSS,
            )
        })
        .collect();
    let final_weights = run
        .params
        .tensors()
        .iter()
        .zip(reference_run.params.tensors().iter())
        .map(|((name, _, a), (_, _, b))| {
            Comparison::new(format!("trained {name}"), a, b, tolerance::LOSS)
        })
        .collect();
    Ok(CheckReport {
        evaluation,
        epochs,
        final_weights,
    })
}
