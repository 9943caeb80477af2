//! Any backend against the reference from one set of weights: the outputs, the loss, the gradient of every
//! tensor, and a short training run epoch by epoch, each as a relative error against the stated tolerance.

use crate::backend::{Backend, Evaluation, Trained};
use crate::compare::{Comparison, tolerance};
use crate::data::problem::Problem;
use crate::error::Result;
use crate::model::{Params, Spec};
use crate::training::Config;

pub struct CheckReport {
    /// Outputs, loss and every gradient at the initial weights.
    pub evaluation: Vec<Comparison>,
    /// (train, test) losses of each epoch of the short run.
    pub epochs: Vec<Comparison>,
    /// What the short run ends with: the weights, the test outputs and the training loss.
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

    /// How many comparisons are over their tolerance.
    pub fn failed(&self) -> usize {
        self.all().filter(|c| !c.passed()).count()
    }

    pub fn worst(&self) -> Option<&Comparison> {
        self.all()
            .max_by(|a, b| (a.rel_error / a.tolerance).total_cmp(&(b.rel_error / b.tolerance)))
    }
}

/// Outputs, loss and every gradient of one evaluation of the network `spec` against a reference's
/// (tolerance `TENSOR`).
pub fn compare_evaluations(got: &Evaluation, want: &Evaluation, spec: &Spec) -> Vec<Comparison> {
    let mut c = vec![
        Comparison::new("outputs", &got.outputs, &want.outputs, tolerance::TENSOR),
        Comparison::new("loss", &[got.loss], &[want.loss], tolerance::TENSOR),
    ];
    for ((name, g), w) in spec
        .tensor_names()
        .into_iter()
        .zip(&got.grads)
        .zip(&want.grads)
    {
        c.push(Comparison::new(
            format!("grad {name}"),
            g,
            w,
            tolerance::TENSOR,
        ));
    }
    c
}

/// Each epoch's (train, test) losses of a run against a reference run's, then what the runs end with: the
/// weights, the outputs on the test rows and the training loss at the final weights (tolerance `LOSS`).
pub fn compare_runs(got: &Trained, want: &Trained) -> (Vec<Comparison>, Vec<Comparison>) {
    let (h, r) = (&got.history, &want.history);
    let epochs = (0..h.train_loss.len().min(r.train_loss.len()))
        .map(|e| {
            Comparison::new(
                format!("epoch {} losses", e + 1),
                &[h.train_loss[e], h.test_loss[e]],
                &[r.train_loss[e], r.test_loss[e]],
                tolerance::LOSS,
            )
        })
        .collect();
    let mut end: Vec<Comparison> = got
        .params
        .tensors()
        .iter()
        .zip(want.params.tensors().iter())
        .map(|((name, _, a), (_, _, b))| {
            Comparison::new(format!("trained {name}"), a, b, tolerance::LOSS)
        })
        .collect();
    end.push(Comparison::new(
        "trained test outputs",
        &got.test_outputs,
        &want.test_outputs,
        tolerance::LOSS,
    ));
    end.push(Comparison::new(
        "trained train loss",
        &[got.final_train_loss],
        &[want.final_train_loss],
        tolerance::LOSS,
    ));
    (epochs, end)
}

/// Compares `backend` with `reference` (the CPU reference, for `popdecode check`), both given the same problem,
/// network, weights and configuration. Either may be any backend.
pub fn check(
    backend: &mut dyn Backend,
    reference: &mut dyn Backend,
    problem: &Problem,
    spec: &Spec,
    params: &Params,
    config: &Config,
) -> Result<CheckReport> {
    let evaluation = compare_evaluations(
        &backend.evaluate(problem, spec, params, &config.penalty)?,
        &reference.evaluate(problem, spec, params, &config.penalty)?,
        spec,
    );
    let quiet = &mut |_: &crate::backend::Progress| {};
    let run = backend.train(problem, spec, params, config, quiet)?;
    let reference_run = reference.train(problem, spec, params, config, quiet)?;
    let (epochs, final_weights) = compare_runs(&run, &reference_run);
    Ok(CheckReport {
        evaluation,
        epochs,
        final_weights,
    })
}
