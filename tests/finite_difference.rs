//! The CPU reference's gradients against central finite differences of its own loss, in f64.

mod common;

use common::{init, random_problem, spec};
use popdecode::compare::Comparison;
use popdecode::cpu::{loss_and_gradients, loss_at};
use popdecode::model::Activation;

fn finite_differences(activation: Activation, seed: u64) {
    let problem = random_problem(9, 1, 13, seed);
    let spec = spec(13, 4, activation);
    let params = init(&spec, seed);
    let (loss, grads) = loss_and_gradients(&problem.x_train, &problem.y_train, &spec, &params);
    let base: Vec<f64> = params.flat().iter().map(|&v| v as f64).collect();
    assert_eq!(
        loss,
        loss_at(&problem.x_train, &problem.y_train, &spec, &base)
    );
    let h = 1e-5;
    let mut at = 0;
    for (t, (name, _, tensor)) in params.tensors().iter().enumerate() {
        let numeric: Vec<f64> = (0..tensor.len())
            .map(|i| {
                let mut p = base.clone();
                p[at + i] += h;
                let up = loss_at(&problem.x_train, &problem.y_train, &spec, &p);
                p[at + i] -= 2.0 * h;
                let down = loss_at(&problem.x_train, &problem.y_train, &spec, &p);
                (up - down) / (2.0 * h)
            })
            .collect();
        at += tensor.len();
        let c = Comparison::new(format!("{activation:?} {name}"), &grads[t], &numeric, 1e-6);
        eprintln!("{c}");
        assert!(c.passed(), "{c}");
    }
}

#[test]
fn relu_network_gradients_match_finite_differences() {
    finite_differences(Activation::Relu, 11);
}

#[test]
fn linear_network_gradients_match_finite_differences() {
    finite_differences(Activation::Linear, 12);
}
