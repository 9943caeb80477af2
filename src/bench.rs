//! The benchmark: milliseconds per epoch on the tutorial's shape, with the work an epoch must do (FLOPs) and
//! the bytes it must move, so each figure can be read against the hardware's floors.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::Backend;
use crate::data::problem::Problem;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::gpu::tutorial::layout::PlanOverrides;
use crate::gpu::tutorial::session::{Mode, Session};
use crate::metrics::median;
use crate::model::{Params, Spec};
use crate::objective::Objective;
use crate::optim::Optimizer;
use crate::training::Config;

/// One backend at one width.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    pub backend: String,
    pub adapter: String,
    /// The first hidden layer's width, M.
    pub hidden: usize,
    /// The whole network ("23589 -> 200 -> 100 -> 50 -> 1") and how it trains ("SGD", "Adam").
    pub network: String,
    pub optimizer: String,
    pub neurons: usize,
    pub n_train: usize,
    pub n_test: usize,
    /// Epochs per timed run.
    pub epochs: usize,
    /// The median over the timed runs.
    pub ms_per_epoch: f64,
    pub epochs_per_s: f64,
    pub gflops: f64,
    /// The fewest bytes an epoch must move, per second of epoch.
    pub gbps: f64,
    pub min_bytes_per_epoch: f64,
    /// The fewest bytes divided by the device's copy bandwidth: no epoch can be faster.
    pub floor_ms: Option<f64>,
    /// Standalone GPU time of each kernel, ms per dispatch as an epoch issues them.
    pub kernels: BTreeMap<String, f64>,
}

impl BenchRow {
    /// An epoch's time over the sum of its kernels' standalone times.
    pub fn overhead_ratio(&self) -> Option<f64> {
        let sum: f64 = self.kernels.values().sum();
        (sum > 0.0).then(|| self.ms_per_epoch / sum)
    }
}

/// Floating-point operations of one epoch: the forward pass over training and test rows (2 n_rows N M), the
/// input-weight gradient over the training rows (2 n_train N M), its update (2 N M) and the small terms.
pub fn flops_per_epoch(n_train: usize, n_test: usize, neurons: usize, hidden: usize) -> f64 {
    let (t, s, n, m) = (n_train as f64, n_test as f64, neurons as f64, hidden as f64);
    (4.0 * t + 2.0 * s) * n * m + 2.0 * n * m + 10.0 * (t + s) * m
}

/// [`flops_per_epoch`] of the first layer plus the products of every later layer (forward on every row, two
/// backward products on the training rows): the FLOPs of an epoch of any network.
pub fn network_flops_per_epoch(n_train: usize, n_test: usize, spec: &Spec) -> f64 {
    let (t, s) = (n_train as f64, n_test as f64);
    let later: f64 = spec.layer_shapes()[1..]
        .iter()
        .map(|&(o, i)| (4.0 * t + 2.0 * s) * o as f64 * i as f64)
        .sum();
    flops_per_epoch(n_train, n_test, spec.neurons, spec.width()) + later
}

/// The fewest bytes an epoch must move: the response matrix read once (the forward pass of the updated weights
/// can share its read with the gradient of the next epoch), and the input weights read and written once.
pub fn min_bytes_per_epoch(n_train: usize, n_test: usize, neurons: usize, hidden: usize) -> f64 {
    4.0 * ((n_train + n_test) as f64 * neurons as f64 + 2.0 * hidden as f64 * neurons as f64)
}

/// [`min_bytes_per_epoch`] plus the optimizer's moments of the input weights, each read and written once.
pub fn min_bytes_with_moments(
    n_train: usize,
    n_test: usize,
    neurons: usize,
    hidden: usize,
    moments: usize,
) -> f64 {
    min_bytes_per_epoch(n_train, n_test, neurons, hidden)
        + 8.0 * moments as f64 * hidden as f64 * neurons as f64
}

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchPlan {
    /// The hidden layers' widths: one for the tutorial's network, several for a deeper one.
    pub layers: Vec<usize>,
    /// MSE (the tutorial) or NLL over classes (the bonus tutorial's classifier).
    pub objective: Objective,
    pub optimizer: Optimizer,
    pub epochs: usize,
    pub repeats: usize,
    /// Bytes per second of a device copy (read + write), for the floor.
    pub copy_bandwidth: Option<f64>,
}

impl BenchPlan {
    /// The tutorial's network of `hidden` units, trained the tutorial's way.
    pub fn tutorial(hidden: usize, epochs: usize, repeats: usize) -> BenchPlan {
        BenchPlan {
            layers: vec![hidden],
            objective: Objective::Mse,
            optimizer: Config::default().optimizer,
            epochs,
            repeats,
            copy_bandwidth: None,
        }
    }
}

fn network(problem: &Problem, plan: &BenchPlan) -> (Spec, Params) {
    let spec = Spec {
        hidden: plan.layers.clone(),
        objective: plan.objective,
        ..Spec::tutorial(problem.neurons(), plan.layers[0])
    };
    let params = Params::init(&spec, 1);
    (spec, params)
}

/// The network and training `bench` times for `plan` (a backend is checked to hold them before any run).
pub fn workload(problem: &Problem, plan: &BenchPlan) -> (Spec, Config) {
    let config = Config {
        epochs: plan.epochs,
        lr: BENCH_LR,
        optimizer: plan.optimizer,
        ..Config::default()
    };
    (network(problem, plan).0, config)
}

/// Small enough that nothing diverges whatever the width; speed does not depend on it.
const BENCH_LR: f64 = 1e-6;

/// Times `backend` training from PyTorch-default weights: one warm-up run, then `repeats` runs of `epochs`
/// epochs each (progress reads included, as a user's run has them). `kernels` is left empty: see
/// [`kernel_times`].
pub fn bench(
    backend: &mut dyn Backend,
    kind: &str,
    problem: &Problem,
    plan: &BenchPlan,
) -> Result<BenchRow> {
    let (spec, config) = workload(problem, plan);
    let params = Params::init(&spec, 1);
    let warm = Config {
        epochs: plan.epochs.min(3),
        ..config
    };
    backend.train(problem, &spec, &params, &warm, &mut |_| {})?;
    let mut per_epoch = Vec::with_capacity(plan.repeats);
    for _ in 0..plan.repeats.max(1) {
        let run = backend.train(problem, &spec, &params, &config, &mut |_| {})?;
        per_epoch.push(run.train_time.as_secs_f64() / plan.epochs as f64);
    }
    let seconds = median(&per_epoch);
    let (n_train, n_test, n) = (problem.n_train(), problem.n_test(), problem.neurons());
    let hidden = spec.width();
    let bytes = min_bytes_with_moments(n_train, n_test, n, hidden, plan.optimizer.moments());
    Ok(BenchRow {
        backend: kind.to_string(),
        adapter: backend.describe(),
        hidden,
        network: spec.describe(),
        optimizer: plan.optimizer.describe(),
        neurons: n,
        n_train,
        n_test,
        epochs: plan.epochs,
        ms_per_epoch: seconds * 1e3,
        epochs_per_s: 1.0 / seconds,
        gflops: network_flops_per_epoch(n_train, n_test, &spec) / seconds / 1e9,
        gbps: bytes / seconds / 1e9,
        min_bytes_per_epoch: bytes,
        floor_ms: plan.copy_bandwidth.map(|bw| bytes / bw * 1e3),
        kernels: BTreeMap::new(),
    })
}

/// Each kernel's standalone GPU time at this width, from timestamp queries (empty without them).
pub fn kernel_times(
    gpu: &Gpu,
    problem: &Problem,
    hidden: usize,
    tuning: PlanOverrides,
) -> Result<BTreeMap<String, f64>> {
    let (spec, params) = network(problem, &BenchPlan::tutorial(hidden, 1, 1));
    let reps = 10;
    let mut session = Session::new(gpu, problem, &spec, Mode::Train, reps + 2, tuning)?;
    session.set_params(&params, BENCH_LR)?;
    Ok(session
        .kernel_times(reps)?
        .unwrap_or_default()
        .into_iter()
        .map(|(k, ms)| (k.to_string(), ms))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_and_bytes_of_the_tutorials_epoch() {
        // (4 * 216 + 2 * 144) * 23589 * 10 = 271.7 MFLOP, plus the update and small terms.
        let f = flops_per_epoch(216, 144, 23589, 10);
        assert!(
            (f - 271_745_280.0 - 471_780.0 - 36_000.0).abs() < 1.0,
            "{f}"
        );
        // 360 x 23589 floats of x and 2 x 10 x 23589 of w1.
        assert_eq!(
            min_bytes_per_epoch(216, 144, 23589, 10),
            4.0 * (360.0 * 23589.0 + 20.0 * 23589.0)
        );
    }
}
