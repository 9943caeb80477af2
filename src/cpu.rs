//! The CPU reference: the network's mathematics written out plainly, in f64, for checking everything else.
//!
//! Parameters are held in f64 during training and every sum accumulates in f64; the only concession to speed
//! is rayon over independent rows and hidden units, which does not change any result.

use std::time::Instant;

use rayon::prelude::*;

use crate::data::Matrix;
use crate::error::Result;
use crate::metrics::mse;
use crate::model::{Params, Spec};
use crate::problem::Problem;
use crate::train::{Backend, Config, Evaluation, History, Progress, Trained};

/// The network's weights in f64, same layouts as `Params`.
#[derive(Clone, Debug)]
struct Weights {
    in_weight: Vec<f64>,
    in_bias: Vec<f64>,
    out_weight: Vec<f64>,
    out_bias: f64,
}

impl Weights {
    fn from(params: &Params) -> Weights {
        let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        Weights {
            in_weight: wide(&params.in_weight),
            in_bias: wide(&params.in_bias),
            out_weight: wide(&params.out_weight),
            out_bias: params.out_bias[0] as f64,
        }
    }

    fn to_params(&self, neurons: usize, hidden: usize) -> Params {
        let narrow = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        Params {
            neurons,
            hidden,
            in_weight: narrow(&self.in_weight),
            in_bias: narrow(&self.in_bias),
            out_weight: narrow(&self.out_weight),
            out_bias: vec![self.out_bias as f32],
        }
    }
}

/// The forward pass over every row of `x`.
struct Forward {
    /// Hidden pre-activations, rows x hidden.
    pre: Vec<f64>,
    outputs: Vec<f64>,
}

fn dot(x: &[f32], w: &[f64]) -> f64 {
    // Eight independent partial sums let the compiler vectorise; the order is fixed, so results are repeatable.
    let mut acc = [0.0f64; 8];
    let (xc, wc) = (x.chunks_exact(8), w.chunks_exact(8));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(wc.remainder())
        .map(|(&a, &b)| a as f64 * b)
        .sum();
    for (a, b) in xc.zip(wc) {
        for i in 0..8 {
            acc[i] += a[i] as f64 * b[i];
        }
    }
    acc.iter().sum::<f64>() + tail
}

fn forward(x: &Matrix, w: &Weights, spec: &Spec) -> Forward {
    let (n, m) = (spec.neurons, spec.hidden);
    let pre: Vec<f64> = (0..x.rows)
        .into_par_iter()
        .flat_map_iter(|r| {
            let row = x.row(r);
            (0..m).map(move |j| w.in_bias[j] + dot(row, &w.in_weight[j * n..(j + 1) * n]))
        })
        .collect();
    let outputs = pre
        .chunks(m)
        .map(|h| {
            w.out_bias
                + h.iter()
                    .zip(&w.out_weight)
                    .map(|(&p, &v)| v * spec.activation.apply(p))
                    .sum::<f64>()
        })
        .collect();
    Forward { pre, outputs }
}

/// The loss on `x` and the gradient of every tensor, in `Params::tensors()` order.
fn gradients(x: &Matrix, y: &[f32], w: &Weights, spec: &Spec) -> (Forward, f64, [Vec<f64>; 4]) {
    let (n, m, rows) = (spec.neurons, spec.hidden, x.rows);
    let fwd = forward(x, w, spec);
    let loss = mse(&fwd.outputs, y);
    // d loss / d output for each row.
    let dy: Vec<f64> = fwd
        .outputs
        .iter()
        .zip(y)
        .map(|(&o, &t)| 2.0 * (o - t as f64) / rows as f64)
        .collect();
    let act = spec.activation;
    // d loss / d hidden pre-activation, rows x hidden.
    let delta: Vec<f64> = (0..rows * m)
        .map(|i| dy[i / m] * w.out_weight[i % m] * act.derivative(fwd.pre[i]))
        .collect();
    let out_bias = vec![dy.iter().sum::<f64>()];
    let out_weight: Vec<f64> = (0..m)
        .map(|j| {
            (0..rows)
                .map(|r| dy[r] * act.apply(fwd.pre[r * m + j]))
                .sum()
        })
        .collect();
    let in_bias: Vec<f64> = (0..m)
        .map(|j| (0..rows).map(|r| delta[r * m + j]).sum())
        .collect();
    let mut in_weight = vec![0.0f64; m * n];
    in_weight.par_chunks_mut(n).enumerate().for_each(|(j, g)| {
        for r in 0..rows {
            let d = delta[r * m + j];
            for (gi, &xi) in g.iter_mut().zip(x.row(r)) {
                *gi += d * xi as f64;
            }
        }
    });
    (fwd, loss, [in_weight, in_bias, out_weight, out_bias])
}

fn sgd_step(w: &mut Weights, grads: &[Vec<f64>; 4], lr: f64) {
    let step = |p: &mut [f64], g: &[f64]| p.iter_mut().zip(g).for_each(|(p, g)| *p -= lr * g);
    step(&mut w.in_weight, &grads[0]);
    step(&mut w.in_bias, &grads[1]);
    step(&mut w.out_weight, &grads[2]);
    w.out_bias -= lr * grads[3][0];
}

/// The CPU backend. It holds nothing between calls.
#[derive(Default)]
pub struct CpuBackend;

impl Backend for CpuBackend {
    fn describe(&self) -> String {
        format!(
            "cpu (f64 reference, {} threads)",
            rayon::current_num_threads()
        )
    }

    fn evaluate(&mut self, problem: &Problem, spec: &Spec, params: &Params) -> Result<Evaluation> {
        let w = Weights::from(params);
        let (fwd, loss, grads) = gradients(&problem.x_train, &problem.y_train, &w, spec);
        Ok(Evaluation {
            outputs: fwd.outputs,
            loss,
            grads,
        })
    }

    fn train(
        &mut self,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        config: &Config,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Trained> {
        let start = Instant::now();
        let mut w = Weights::from(params);
        let mut history = History::default();
        let mut test_outputs = Vec::new();
        for epoch in 1..=config.epochs {
            let (_, loss, grads) = gradients(&problem.x_train, &problem.y_train, &w, spec);
            sgd_step(&mut w, &grads, config.lr);
            let test = forward(&problem.x_test, &w, spec);
            history.train_loss.push(loss);
            history.test_loss.push(mse(&test.outputs, &problem.y_test));
            test_outputs = test.outputs;
            if epoch % config.report_every() == 0 || epoch == config.epochs {
                progress(&Progress {
                    epoch,
                    history: &history,
                });
            }
        }
        if config.epochs == 0 {
            test_outputs = forward(&problem.x_test, &w, spec).outputs;
        }
        let final_train_loss = mse(
            &forward(&problem.x_train, &w, spec).outputs,
            &problem.y_train,
        );
        Ok(Trained {
            params: w.to_params(spec.neurons, spec.hidden),
            history,
            test_outputs,
            final_train_loss,
            train_time: start.elapsed(),
            setup_time: std::time::Duration::ZERO,
        })
    }
}

/// The outputs of the network at `params` for every row of `x`, in f64: for predictions and tests.
pub fn predict(x: &Matrix, spec: &Spec, params: &Params) -> Vec<f64> {
    forward(x, &Weights::from(params), spec).outputs
}

/// Loss and gradients at `params`, for finite-difference tests.
pub fn loss_and_gradients(
    x: &Matrix,
    y: &[f32],
    spec: &Spec,
    params: &Params,
) -> (f64, [Vec<f64>; 4]) {
    let (_, loss, grads) = gradients(x, y, &Weights::from(params), spec);
    (loss, grads)
}

/// The loss at weights given in f64 (flattened in `Params::tensors()` order), for finite differences that
/// must not be rounded to f32.
pub fn loss_at(x: &Matrix, y: &[f32], spec: &Spec, flat: &[f64]) -> f64 {
    let (n, m) = (spec.neurons, spec.hidden);
    let w = Weights {
        in_weight: flat[..m * n].to_vec(),
        in_bias: flat[m * n..m * n + m].to_vec(),
        out_weight: flat[m * n + m..m * n + 2 * m].to_vec(),
        out_bias: flat[m * n + 2 * m],
    };
    mse(&forward(x, &w, spec).outputs, y)
}

/// The hidden layer's activations at `params` for every row of `x`, rows x hidden, in f64: the hidden units'
/// tuning curves when the rows are the stimuli in order.
pub fn hidden_activations(x: &Matrix, spec: &Spec, params: &Params) -> Vec<f64> {
    let pre = forward(x, &Weights::from(params), spec).pre;
    pre.into_iter().map(|p| spec.activation.apply(p)).collect()
}
