//! The benchmark: milliseconds per epoch on the tutorial's shape, with the work an epoch must do (FLOPs) and
//! the bytes it must move, so each figure can be read against the hardware's floors.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::Backend;
use crate::backend::stack::{Member, Stack, StackControl};
use crate::data::Dataset;
use crate::data::problem::Problem;
use crate::data::split::Split;
use crate::error::{Error, Result};
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
/// `GpuBackend::kernel_times`.
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

/// How the networks of a benchmarked stack differ besides their initial weights (network k starts from
/// `Params::init(spec, k + 1)`, so network 0 is `bench`'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StackRows {
    /// Every network trains and tests on the benchmark's split (216 / 144 rows at the tutorial's size).
    Shared,
    /// Each network has its own rows, as the folds of a cross-validation do: network k of K trains on the
    /// `n_train` rows that start `k * rows / K` places into the split's shuffled order (training rows then
    /// test rows), wrapping around, and tests on the others. Every network does the same work as with the
    /// shared split, so the two are timed alike.
    Folds,
}

/// How many networks a benchmarked stack holds and how their rows differ.
#[derive(Clone, Copy, Debug)]
pub struct StackPlan {
    pub networks: usize,
    pub rows: StackRows,
}

/// A stack of same-shape networks timed together: `BenchRow`'s keys (with `ms_per_epoch`, `epochs_per_s`,
/// `gflops` and `gbps` those of the whole stack, `hidden` and `network` one member's) and the comparison with
/// one network as wide as the stack.
#[derive(Clone, Debug, Serialize)]
pub struct StackRow {
    #[serde(flatten)]
    pub row: BenchRow,
    /// K, the networks in the stack.
    pub networks: usize,
    pub rows: StackRows,
    /// `ms_per_epoch` * 1000 / K: the cost of one network's epoch.
    pub us_per_network_epoch: f64,
    /// The whole `train_stack` call per epoch, its setup included (median over the timed runs).
    pub wall_ms_per_epoch: f64,
    /// K x hidden: the width of the one network the stack is compared with.
    pub wide_hidden: usize,
    /// That network's ms per epoch through `train_with` on the same backend (`bench`'s measurement).
    pub wide_ms_per_epoch: f64,
    /// `ms_per_epoch` / `wide_ms_per_epoch`: the stack's cost against one network of the same parameter count.
    pub ratio_to_wide: f64,
}

/// The members of a benchmarked stack of `networks` networks on `data` (see [`StackRows`]).
pub fn stack_members(
    split: &Split,
    spec: &Spec,
    config: &Config,
    networks: usize,
    rows: StackRows,
) -> Vec<Member> {
    let order: Vec<usize> = split.train.iter().chain(&split.test).copied().collect();
    let n = order.len();
    (0..networks)
        .map(|k| {
            let (train, test) = match rows {
                StackRows::Shared => (split.train.clone(), split.test.clone()),
                StackRows::Folds => {
                    let start = k * n / networks;
                    let rotated: Vec<usize> = (0..n).map(|i| order[(start + i) % n]).collect();
                    let (a, b) = rotated.split_at(split.train.len());
                    (a.to_vec(), b.to_vec())
                }
            };
            Member {
                neurons: (0..spec.neurons).collect(),
                train,
                test,
                params: Params::init(spec, k as u64 + 1),
                config: *config,
            }
        })
        .collect()
}

/// The training time of one `train_stack` call, setup excluded, from its members' times. A backend that
/// trains them one by one reports each member's own time, and one that trains them together divides the
/// stack's time among them: either way the members' times sum to the stack's and, with their setup times,
/// to no more than the call's wall time. Members that each report the whole stack's time (their sum past the
/// wall time) overlapped: the longest is the stack's.
fn stack_train_seconds(trained: &[crate::backend::Trained], wall: f64) -> f64 {
    let train: f64 = trained.iter().map(|t| t.train_time.as_secs_f64()).sum();
    let setup: f64 = trained.iter().map(|t| t.setup_time.as_secs_f64()).sum();
    if train + setup <= wall * 1.01 {
        train
    } else {
        trained
            .iter()
            .map(|t| t.train_time.as_secs_f64())
            .fold(0.0, f64::max)
    }
}

/// Times `backend.train_stack` on a stack of `stack_plan.networks` networks of `plan`'s shape (one hidden layer or
/// several; `plan.layers[0]` is multiplied for the wide network) on `data` split by `split` (`problem` is
/// that split's problem): one warm-up run of at most 3 epochs, then `plan.repeats` timed runs of
/// `plan.epochs` epochs, the median reported; then one network of `networks` x `layers[0]` units timed by
/// [`bench`] on `problem`, for the ratio.
pub fn bench_stack(
    backend: &mut dyn Backend,
    kind: &str,
    data: &Dataset,
    split: &Split,
    problem: &Problem,
    plan: &BenchPlan,
    stack_plan: StackPlan,
) -> Result<StackRow> {
    let StackPlan { networks, rows } = stack_plan;
    let (spec, config) = workload(problem, plan);
    let warm_config = Config {
        epochs: plan.epochs.min(3),
        ..config
    };
    let run = |backend: &mut dyn Backend, config: &Config| -> Result<(f64, f64)> {
        let members = stack_members(split, &spec, config, networks, rows);
        let stack = Stack {
            x: &data.resp,
            stimuli: &data.stimuli,
            spec: &spec,
            members: &members,
        };
        let mut quiet = |_: crate::backend::stack::StackProgress| {};
        let mut control = StackControl::new(&mut quiet);
        let start = std::time::Instant::now();
        let trained = backend.train_stack(&stack, &mut control)?;
        let wall = start.elapsed().as_secs_f64();
        if trained.len() != networks {
            return Err(Error::Usage(format!(
                "train_stack returned {} results for a stack of {networks}",
                trained.len()
            )));
        }
        if let Some((k, t)) = trained
            .iter()
            .enumerate()
            .find(|(_, t)| t.history.train_loss.len() != config.epochs)
        {
            return Err(Error::Usage(format!(
                "stack member {k} ran {} of {} epochs ({:?}); its time would not be an epoch's",
                t.history.train_loss.len(),
                config.epochs,
                t.stop
            )));
        }
        Ok((
            stack_train_seconds(&trained, wall) / config.epochs as f64,
            wall / config.epochs as f64,
        ))
    };
    run(backend, &warm_config)?;
    let mut per_epoch = Vec::with_capacity(plan.repeats);
    let mut wall_per_epoch = Vec::with_capacity(plan.repeats);
    for _ in 0..plan.repeats.max(1) {
        let (train, wall) = run(backend, &config)?;
        per_epoch.push(train);
        wall_per_epoch.push(wall);
    }
    let seconds = median(&per_epoch);
    let (n_train, n_test, n) = (problem.n_train(), problem.n_test(), problem.neurons());
    let wide_hidden = networks.saturating_mul(plan.layers[0]);
    let mut wide_layers = plan.layers.clone();
    wide_layers[0] = wide_hidden;
    let wide = bench(
        backend,
        kind,
        problem,
        &BenchPlan {
            layers: wide_layers,
            ..plan.clone()
        },
    )?;
    // The stack's fewest bytes: the matrix read once for all, every network's input weights read and written.
    let bytes = min_bytes_with_moments(n_train, n_test, n, wide_hidden, plan.optimizer.moments());
    let flops = networks as f64 * network_flops_per_epoch(n_train, n_test, &spec);
    Ok(StackRow {
        row: BenchRow {
            backend: kind.to_string(),
            adapter: backend.describe(),
            hidden: spec.width(),
            network: spec.describe(),
            optimizer: plan.optimizer.describe(),
            neurons: n,
            n_train,
            n_test,
            epochs: plan.epochs,
            ms_per_epoch: seconds * 1e3,
            epochs_per_s: 1.0 / seconds,
            gflops: flops / seconds / 1e9,
            gbps: bytes / seconds / 1e9,
            min_bytes_per_epoch: bytes,
            floor_ms: plan.copy_bandwidth.map(|bw| bytes / bw * 1e3),
            kernels: BTreeMap::new(),
        },
        networks,
        rows,
        us_per_network_epoch: seconds * 1e6 / networks as f64,
        wall_ms_per_epoch: median(&wall_per_epoch) * 1e3,
        wide_hidden,
        wide_ms_per_epoch: wide.ms_per_epoch,
        ratio_to_wide: seconds * 1e3 / wide.ms_per_epoch,
    })
}

/// The network and learning rate a bench row of `hidden` units on the tutorial's shape trains: what
/// `GpuBackend::kernel_times` is given, so that its kernels are timed on the epochs `bench` times.
pub fn tutorial_network(problem: &Problem, hidden: usize) -> (Spec, Params, f64) {
    let (spec, params) = network(problem, &BenchPlan::tutorial(hidden, 1, 1));
    (spec, params, BENCH_LR)
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

    #[test]
    fn folds_give_each_network_its_own_rows_of_the_splits_size() {
        let split = Split::shuffled(360, 0.6, 4).unwrap();
        let spec = Spec::tutorial(5, 2);
        let config = Config::default();
        let shared = stack_members(&split, &spec, &config, 3, StackRows::Shared);
        assert!(
            shared
                .iter()
                .all(|m| m.train == split.train && m.test == split.test)
        );
        let folds = stack_members(&split, &spec, &config, 4, StackRows::Folds);
        assert_eq!(folds[0].train, split.train);
        for m in &folds {
            assert_eq!((m.train.len(), m.test.len()), (216, 144));
            let mut all: Vec<usize> = m.train.iter().chain(&m.test).copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..360).collect::<Vec<_>>());
        }
        // 90 rows apart in the shuffled order: each network's test rows differ from the next one's.
        assert_ne!(folds[1].test, folds[2].test);
        assert_eq!(folds[1].train[0], split.train[90]);
        // Each network its own initial weights; network 0 is `bench`'s.
        assert_eq!(
            folds[0].params.layers[0].weight,
            Params::init(&spec, 1).layers[0].weight
        );
        assert_ne!(
            folds[1].params.layers[0].weight,
            folds[0].params.layers[0].weight
        );
    }
}
