//! Single-trial data at the recording's size, 4,598 trials x 23,589 neurons (434 MB of float32), end to end on
//! the GPU's general path and on the CPU backend: a few epochs with Adam (mini-batches, an L2 penalty) and with
//! classification, each against the f64 reference through the shared helpers (`check::compare_evaluations`,
//! tolerance 1e-4, and `check::compare_runs`, 1e-3). The matrix is past a 128 MiB storage binding (lavapipe's),
//! so the GPU cuts it into column panels; the test asks for panels no wider than lavapipe's (1,475 vec4s) so that
//! it runs four panels on any adapter.

mod common;

use common::{gpu, random_problem};
use popdecode::backend::Backend;
use popdecode::check::{compare_evaluations, compare_runs};
use popdecode::compare::{Comparison, assert_all};
use popdecode::cpu::CpuBackend;
use popdecode::data::problem::Problem;
use popdecode::gpu::general::{GeneralTuning, fit};
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::{Objective, Penalty};
use popdecode::optim::Optimizer;
use popdecode::reference::ReferenceBackend;
use popdecode::training::Config;

const TRIALS: usize = 4598;
const NEURONS: usize = 23_589;
/// The default split's training share (0.6 of the trials, rounded).
const N_TRAIN: usize = 2759;

/// The GPU (general path, at most lavapipe's panel width) and the CPU backend, each against the reference:
/// the evaluation at the initial weights, then `config`'s run epoch by epoch and its end.
fn against_reference(problem: &Problem, spec: &Spec, config: &Config, label: &str) {
    let params = Params::init(spec, 5);
    let mut gpu = gpu();
    gpu.force_general = true;
    gpu.general = GeneralTuning {
        tiles: None,
        max_panel4: Some(1475),
    };
    let fitted = fit(
        &gpu.gpu.adapter,
        problem.n_train(),
        problem.n_test(),
        spec,
        Some(config),
        gpu.general,
    )
    .expect("the GPU holds single-trial data");
    assert_eq!(
        (fitted.plan.panels, fitted.plan.n4),
        (4, 1475),
        "{label}: panels"
    );
    gpu.fits(problem, spec, config).expect("fits");

    let mut reference = ReferenceBackend;
    let want_eval = reference
        .evaluate(problem, spec, &params, &config.penalty)
        .expect("reference evaluate");
    let want = reference
        .train(problem, spec, &params, config, &mut |_| {})
        .expect("reference train");
    assert!(
        want.history.train_loss.iter().all(|l| l.is_finite()),
        "{label}: the reference diverged"
    );

    let mut c: Vec<Comparison> = Vec::new();
    let got_eval = gpu
        .evaluate(problem, spec, &params, &config.penalty)
        .expect("gpu evaluate");
    c.extend(prefixed(
        "gpu",
        compare_evaluations(&got_eval, &want_eval, spec),
    ));
    let got = gpu
        .train(problem, spec, &params, config, &mut |_| {})
        .expect("gpu train");
    let (epochs, end) = compare_runs(&got, &want);
    c.extend(prefixed("gpu", epochs.into_iter().chain(end).collect()));

    let mut cpu = CpuBackend::new();
    let got = cpu
        .train(problem, spec, &params, config, &mut |_| {})
        .expect("cpu train");
    let (epochs, end) = compare_runs(&got, &want);
    c.extend(prefixed("cpu", epochs.into_iter().chain(end).collect()));
    for x in &c {
        eprintln!("{label}: {x:?}");
    }
    assert_all(&c);
}

fn prefixed(backend: &str, c: Vec<Comparison>) -> Vec<Comparison> {
    c.into_iter()
        .map(|mut x| {
            x.name = format!("{backend}: {}", x.name);
            x
        })
        .collect()
}

#[test]
fn single_trial_data_trains_on_the_gpu_in_panels_and_on_the_cpu() {
    let problem = random_problem(N_TRAIN, TRIALS - N_TRAIN, NEURONS, 31);
    let regression = Spec::tutorial(NEURONS, 10);
    let adam = Config {
        epochs: 3,
        lr: 1e-3,
        optimizer: Optimizer::ADAM,
        batch_size: Some(1024),
        penalty: Penalty { l1: 0.0, l2: 1e-3 },
        shuffle_seed: 4,
    };
    against_reference(&problem, &regression, &adam, "adam, batches of 1024, L2");
    let classify = Spec {
        neurons: NEURONS,
        hidden: vec![16],
        activation: Activation::Relu,
        objective: Objective::Nll { classes: 12 },
    };
    let sgd = Config {
        epochs: 3,
        lr: 0.1,
        optimizer: Optimizer::Sgd { momentum: 0.0 },
        batch_size: None,
        penalty: Penalty::default(),
        shuffle_seed: 0,
    };
    against_reference(&problem, &classify, &sgd, "nll, 12 classes");
}
