//! The conformance suite: what any backend must do, checked against the f64 reference through `check`'s
//! comparisons (whole-tensor relative errors, `compare::tolerance`: 1e-4 at the initial weights, 1e-3 over a
//! run). A test file instantiates it for one backend with [`popdecode_conformance!`], so the next backend gets
//! every case by writing one line (with the tolerance of its stacks against its own single runs, `common::stacks`):
//!
//! ```ignore
//! mod common;
//! popdecode_conformance!(common::gpu(), alone: popdecode::compare::tolerance::LOSS);
//! ```
//!
//! The cases: odd shapes (neurons not a multiple of 4, one hidden unit, one training row, many hidden units,
//! the linear network), every objective, penalties, depth, mini-batches, and every optimizer in
//! `optim::catalogue()` (so a new optimizer is covered the day it is registered), and PyTorch's own runs in
//! tests/fixtures.

use popdecode::backend::Backend;
use popdecode::check::{compare_evaluations, compare_runs};
use popdecode::compare::{Comparison, assert_all};
use popdecode::data::problem::Problem;
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::{Objective, Penalty};
use popdecode::optim::{self, HyperParameters};
use popdecode::reference::ReferenceBackend;
use popdecode::training::Config;

use super::random_problem;

/// Instantiates the backend suite for the backend that `$make` builds (an expression evaluated per test): the
/// single-network cases against the reference, and the stack cases (`common::stacks`) against the same backend
/// one network at a time to within `$alone` and against the reference.
#[macro_export]
macro_rules! popdecode_conformance {
    ($make:expr, alone: $alone:expr) => {
        mod conformance {
            use super::common::conformance as suite;
            use super::common::stacks;
            #[allow(unused_imports)]
            use super::*;

            fn backend() -> Box<dyn popdecode::backend::Backend> {
                Box::new($make)
            }

            const ALONE: f64 = $alone;

            #[test]
            fn a_mixed_regression_stack_trains_as_each_network_alone() {
                stacks::mixed_regression(&mut *backend(), ALONE);
            }

            #[test]
            fn a_stack_of_mixed_optimizers_trains_as_each_network_alone() {
                stacks::mixed_optimizers(&mut *backend(), ALONE);
            }

            #[test]
            fn a_classifier_stack_trains_as_each_network_alone() {
                stacks::classifier(&mut *backend(), ALONE);
            }

            #[test]
            fn a_plain_sgd_stack_trains_as_each_network_alone() {
                stacks::plain_sgd(&mut *backend(), ALONE);
            }

            #[test]
            fn the_stop_flag_interrupts_a_stack_at_an_epoch_boundary() {
                stacks::stop_flag(&mut *backend(), ALONE);
            }

            #[test]
            fn a_diverging_member_does_not_disturb_the_others() {
                stacks::diverging_member(&mut *backend(), ALONE);
            }

            #[test]
            fn a_mini_batch_stack_trains_one_by_one() {
                stacks::mini_batches(&mut *backend());
            }

            #[test]
            fn odd_shapes_evaluate_as_the_reference() {
                suite::odd_shapes(&mut *backend());
            }

            #[test]
            fn the_tutorials_network_trains_as_the_reference() {
                suite::tutorial(&mut *backend());
            }

            #[test]
            fn every_objective_trains_as_the_reference() {
                suite::objectives(&mut *backend());
            }

            #[test]
            fn penalties_train_as_the_reference() {
                suite::penalties(&mut *backend());
            }

            #[test]
            fn deeper_networks_train_as_the_reference() {
                suite::depth(&mut *backend());
            }

            #[test]
            fn every_registered_optimizer_trains_as_the_reference() {
                suite::optimizers(&mut *backend());
            }

            #[test]
            fn mini_batches_train_as_the_reference() {
                suite::mini_batches(&mut *backend());
            }

            #[test]
            fn pytorchs_own_runs_are_reproduced() {
                suite::pytorch_fixtures(&mut *backend());
            }
        }
    };
}

fn spec(neurons: usize, hidden: &[usize], activation: Activation, objective: Objective) -> Spec {
    Spec {
        neurons,
        hidden: hidden.to_vec(),
        activation,
        objective,
    }
}

fn config(epochs: usize, lr: f64) -> Config {
    Config {
        epochs,
        lr,
        ..Config::default()
    }
}

/// `backend` against the reference at the initial weights and, with epochs, over a training run: the
/// comparisons, all checked, and the progress reports at the same epochs.
pub fn against_reference(
    backend: &mut dyn Backend,
    problem: &Problem,
    spec: &Spec,
    config: Option<&Config>,
    label: &str,
) {
    let params = Params::init(spec, 7);
    let penalty = config.map(|c| c.penalty).unwrap_or_default();
    let got = backend
        .evaluate(problem, spec, &params, &penalty)
        .unwrap_or_else(|e| panic!("{label}: {} evaluate: {e}", backend.describe()));
    let want = ReferenceBackend
        .evaluate(problem, spec, &params, &penalty)
        .expect("reference evaluate");
    let mut c: Vec<Comparison> = compare_evaluations(&got, &want, spec);
    if let Some(config) = config {
        let mut reports = Vec::new();
        let run = backend
            .train(problem, spec, &params, config, &mut |p| {
                reports.push(p.epoch)
            })
            .unwrap_or_else(|e| panic!("{label}: {} train: {e}", backend.describe()));
        let mut want_reports = Vec::new();
        let reference = ReferenceBackend
            .train(problem, spec, &params, config, &mut |p| {
                want_reports.push(p.epoch)
            })
            .expect("reference train");
        assert!(
            reference.history.train_loss.iter().all(|l| l.is_finite()),
            "{label}: the reference run diverged, so the case proves nothing: {:?}",
            reference.history.train_loss
        );
        assert_eq!(reports, want_reports, "{label}: progress reports");
        let (per_epoch, end) = compare_runs(&run, &reference);
        c.extend(per_epoch);
        c.extend(end);
    }
    let worst = c
        .iter()
        .max_by(|a, b| a.rel_error.total_cmp(&b.rel_error))
        .map(|w| w.to_string())
        .unwrap_or_default();
    eprintln!(
        "{label} on {}: {} comparisons, worst {worst}",
        backend.describe(),
        c.len()
    );
    assert_all(&c);
}

pub fn odd_shapes(backend: &mut dyn Backend) {
    for (n_train, n_test, neurons, hidden, act) in [
        (30, 20, 101, 10, Activation::Relu),
        (30, 20, 64, 1, Activation::Relu),
        (1, 5, 50, 4, Activation::Relu),
        (24, 12, 80, 130, Activation::Relu),
        (30, 20, 101, 10, Activation::Linear),
    ] {
        let problem = random_problem(n_train, n_test, neurons, neurons as u64);
        let s = spec(neurons, &[hidden], act, Objective::Mse);
        let label = format!("{n_train}+{n_test} rows x {neurons} neurons, M = {hidden}, {act:?}");
        against_reference(backend, &problem, &s, None, &label);
    }
}

pub fn tutorial(backend: &mut dyn Backend) {
    let problem = random_problem(40, 20, 203, 1);
    let s = spec(203, &[10], Activation::Relu, Objective::Mse);
    against_reference(backend, &problem, &s, Some(&config(6, 1e-3)), "tutorial");
}

pub fn objectives(backend: &mut dyn Backend) {
    let problem = random_problem(40, 20, 157, 2);
    for (objective, lr) in [
        (Objective::Mse, 1e-3),
        (Objective::Circular, 0.5),
        (Objective::Nll { classes: 12 }, 0.1),
    ] {
        let s = spec(157, &[16], Activation::Relu, objective);
        against_reference(
            backend,
            &problem,
            &s,
            Some(&config(5, lr)),
            &format!("{objective:?}"),
        );
    }
}

pub fn penalties(backend: &mut dyn Backend) {
    let problem = random_problem(40, 20, 157, 3);
    for objective in [Objective::Mse, Objective::Nll { classes: 8 }] {
        let s = spec(157, &[12], Activation::Relu, objective);
        let c = Config {
            penalty: Penalty { l1: 5e-4, l2: 1e-2 },
            ..config(
                5,
                if objective == Objective::Mse {
                    1e-3
                } else {
                    0.1
                },
            )
        };
        against_reference(
            backend,
            &problem,
            &s,
            Some(&c),
            &format!("penalties, {objective:?}"),
        );
    }
}

pub fn depth(backend: &mut dyn Backend) {
    let problem = random_problem(40, 20, 123, 4);
    for objective in [Objective::Mse, Objective::Nll { classes: 6 }] {
        let s = spec(123, &[24, 16, 8], Activation::Relu, objective);
        let lr = if objective == Objective::Mse {
            1e-4
        } else {
            0.05
        };
        against_reference(
            backend,
            &problem,
            &s,
            Some(&config(5, lr)),
            &format!("three hidden layers, {objective:?}"),
        );
    }
}

/// Every optimizer the command line offers, on a classifier, with its defaults (and SGD with momentum too).
pub fn optimizers(backend: &mut dyn Backend) {
    let problem = random_problem(40, 20, 111, 5);
    let s = spec(111, &[16], Activation::Relu, Objective::Nll { classes: 6 });
    let mut cases: Vec<(String, HyperParameters)> = optim::catalogue()
        .into_iter()
        .map(|(name, _)| (name.to_string(), HyperParameters::default()))
        .collect();
    cases.push((
        "sgd".to_string(),
        HyperParameters {
            momentum: Some(0.9),
            ..HyperParameters::default()
        },
    ));
    for (name, hyper) in cases {
        let optimizer = optim::build(&name, &hyper).expect("a registered optimizer builds");
        let c = Config {
            optimizer,
            ..config(6, 1e-2)
        };
        against_reference(
            backend,
            &problem,
            &s,
            Some(&c),
            &format!("optimizer {name} {hyper:?}"),
        );
    }
}

pub fn mini_batches(backend: &mut dyn Backend) {
    let problem = random_problem(45, 20, 131, 6);
    let s = spec(131, &[10], Activation::Relu, Objective::Nll { classes: 5 });
    for batch in [8, 16, 45] {
        let c = Config {
            batch_size: Some(batch),
            shuffle_seed: 3,
            ..config(4, 0.05)
        };
        against_reference(
            backend,
            &problem,
            &s,
            Some(&c),
            &format!("batches of {batch}"),
        );
    }
}

/// Every folder of tests/fixtures reproduced: the first outputs, the first gradients, every epoch's losses and
/// the final weights against PyTorch's.
pub fn pytorch_fixtures(backend: &mut dyn Backend) {
    super::fixtures::reproduce_all(backend);
}
