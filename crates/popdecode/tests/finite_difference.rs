//! The CPU reference's gradients against central finite differences of its own loss, in f64: for every
//! objective, several hidden layers, both activations and the penalties.

mod common;

use common::{init, random_problem, spec};
use popdecode::compare::Comparison;
use popdecode::model::{Activation, Spec};
use popdecode::objective::{Objective, Penalty};
use popdecode::reference::{loss_and_gradients, loss_at};

fn finite_differences(spec: &Spec, penalty: Penalty, seed: u64) {
    let problem = random_problem(9, 1, spec.neurons, seed);
    let params = init(spec, seed);
    let (x, y) = (&problem.x_train, &problem.y_train);
    let (loss, grads) = loss_and_gradients(x, y, spec, &params, &penalty);
    let base: Vec<f64> = params.flat().iter().map(|&v| v as f64).collect();
    assert_eq!(loss, loss_at(x, y, spec, &penalty, &base));
    let h = 1e-5;
    let mut at = 0;
    for (t, (name, _, tensor)) in params.tensors().iter().enumerate() {
        let numeric: Vec<f64> = (0..tensor.len())
            .map(|i| {
                let mut p = base.clone();
                p[at + i] += h;
                let up = loss_at(x, y, spec, &penalty, &p);
                p[at + i] -= 2.0 * h;
                let down = loss_at(x, y, spec, &penalty, &p);
                (up - down) / (2.0 * h)
            })
            .collect();
        at += tensor.len();
        let c = Comparison::new(
            format!("{} {penalty:?} {name}", spec.describe()),
            &grads[t],
            &numeric,
            1e-6,
        );
        eprintln!("{c}");
        assert!(c.passed(), "{c}");
    }
}

#[test]
fn relu_network_gradients_match_finite_differences() {
    finite_differences(&spec(13, 4, Activation::Relu), Penalty::default(), 11);
}

#[test]
fn linear_network_gradients_match_finite_differences() {
    finite_differences(&spec(13, 4, Activation::Linear), Penalty::default(), 12);
}

#[test]
fn classifier_with_penalties_matches_finite_differences() {
    let spec = Spec {
        objective: Objective::Nll { classes: 5 },
        ..spec(13, 6, Activation::Relu)
    };
    // No weight of the draw is within h of zero, where |w| has its kink.
    finite_differences(&spec, Penalty { l1: 3e-3, l2: 2e-2 }, 13);
}

#[test]
fn deeper_networks_match_finite_differences() {
    for (objective, seed) in [
        (Objective::Mse, 14),
        (Objective::Circular, 15),
        (Objective::Nll { classes: 4 }, 16),
    ] {
        let spec = Spec {
            hidden: vec![6, 5, 3],
            objective,
            ..spec(11, 6, Activation::Relu)
        };
        finite_differences(&spec, Penalty::default(), seed);
    }
}

#[test]
fn circular_loss_gradients_match_finite_differences() {
    let spec = Spec {
        objective: Objective::Circular,
        ..spec(13, 4, Activation::Relu)
    };
    finite_differences(&spec, Penalty { l1: 0.0, l2: 1e-3 }, 17);
}
