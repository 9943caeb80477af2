//! The CPU reference: the networks' mathematics written out plainly, in f64, for checking everything else.
//!
//! Parameters and optimizer state are held in f64 during training and every sum accumulates in f64; the only
//! concession to speed is rayon over independent rows and units, which does not change any result.

use std::collections::VecDeque;
use std::time::Duration;

use rayon::prelude::*;

use crate::backend::{Backend, Evaluation, History};
use crate::data::Matrix;
use crate::data::problem::Problem;
use crate::engine::{Final, Network, Session};
use crate::error::Result;
use crate::model::{Activation, Params, Spec};
use crate::objective::Penalty;
use crate::optim::Optimizer;
use crate::training::Config;

/// One layer's weights in f64, same layout as `model::Layer`.
#[derive(Clone, Debug)]
struct LayerW {
    inputs: usize,
    outputs: usize,
    weight: Vec<f64>,
    bias: Vec<f64>,
}

/// The network's weights in f64.
#[derive(Clone, Debug)]
struct Weights {
    layers: Vec<LayerW>,
}

impl Weights {
    fn from(params: &Params) -> Weights {
        let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        Weights {
            layers: params
                .layers
                .iter()
                .map(|l| LayerW {
                    inputs: l.inputs,
                    outputs: l.outputs,
                    weight: wide(&l.weight),
                    bias: wide(&l.bias),
                })
                .collect(),
        }
    }

    fn to_params(&self, spec: &Spec) -> Params {
        let mut params = Params::zeros(spec);
        for (dst, src) in params.layers.iter_mut().zip(&self.layers) {
            dst.weight = src.weight.iter().map(|&x| x as f32).collect();
            dst.bias = src.bias.iter().map(|&x| x as f32).collect();
        }
        params
    }

    /// Every tensor mutably, in `Params::tensors()` order.
    fn tensors_mut(&mut self) -> impl Iterator<Item = &mut Vec<f64>> {
        self.layers
            .iter_mut()
            .flat_map(|l| [&mut l.weight, &mut l.bias])
    }

    /// Weights from a flat vector in `Params::tensors()` order.
    fn from_flat(spec: &Spec, flat: &[f64]) -> Weights {
        let mut w = Weights::from(&Params::zeros(spec));
        let mut at = 0;
        for t in w.tensors_mut() {
            let n = t.len();
            t.copy_from_slice(&flat[at..at + n]);
            at += n;
        }
        w
    }
}

/// The forward pass over some rows of `x`.
struct Forward {
    /// Each hidden layer's activations after the nonlinearity, rows x units.
    hidden: Vec<Vec<f64>>,
    /// The last layer's raw outputs (before any LogSoftmax), rows x outputs.
    raw: Vec<f64>,
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

/// `input . W^T + b` for a small dense input, rows x outputs.
fn dense(input: &[f64], layer: &LayerW) -> Vec<f64> {
    input
        .chunks(layer.inputs)
        .flat_map(|row| {
            layer
                .weight
                .chunks(layer.inputs)
                .zip(&layer.bias)
                .map(|(w, &b)| b + row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>())
        })
        .collect()
}

fn forward(x: &Matrix, rows: &[usize], w: &Weights, act: Activation) -> Forward {
    let first = &w.layers[0];
    let n = first.inputs;
    let pre: Vec<f64> = rows
        .par_iter()
        .flat_map_iter(|&r| {
            let row = x.row(r);
            (0..first.outputs)
                .map(move |j| first.bias[j] + dot(row, &first.weight[j * n..(j + 1) * n]))
        })
        .collect();
    let mut hidden = vec![pre.iter().map(|&p| act.apply(p)).collect::<Vec<f64>>()];
    for layer in &w.layers[1..w.layers.len() - 1] {
        let pre = dense(hidden.last().expect("one hidden layer at least"), layer);
        hidden.push(pre.iter().map(|&p| act.apply(p)).collect());
    }
    let raw = dense(
        hidden.last().expect("one hidden layer at least"),
        w.layers.last().expect("an output layer"),
    );
    Forward { hidden, raw }
}

/// The objective with its penalty on `rows` of `x`, the forward pass, and the gradient of every tensor in
/// `Params::tensors()` order.
fn gradients(
    x: &Matrix,
    y: &[f32],
    rows: &[usize],
    w: &Weights,
    spec: &Spec,
    penalty: &Penalty,
) -> (Forward, f64, Vec<Vec<f64>>) {
    let act = spec.activation;
    let fwd = forward(x, rows, w, act);
    let targets: Vec<f32> = rows.iter().map(|&r| y[r]).collect();
    let (loss, mut delta) = spec.objective.loss_and_grad(&fwd.raw, &targets);
    let loss = loss + penalty.value(&w.layers[0].weight);
    let n_rows = rows.len();
    let mut grads = vec![Vec::new(); 2 * w.layers.len()];
    // From the last layer back: `delta` is d loss / d this layer's raw outputs, rows x outputs.
    for l in (0..w.layers.len()).rev() {
        let layer = &w.layers[l];
        let (outs, ins) = (layer.outputs, layer.inputs);
        grads[2 * l + 1] = (0..outs)
            .map(|o| (0..n_rows).map(|r| delta[r * outs + o]).sum())
            .collect();
        if l == 0 {
            let mut g = vec![0.0f64; outs * ins];
            g.par_chunks_mut(ins).enumerate().for_each(|(o, g)| {
                for (i, &r) in rows.iter().enumerate() {
                    let d = delta[i * outs + o];
                    for (gi, &xi) in g.iter_mut().zip(x.row(r)) {
                        *gi += d * xi as f64;
                    }
                }
            });
            for (gi, &wi) in g.iter_mut().zip(&layer.weight) {
                *gi += penalty.grad(wi);
            }
            grads[0] = g;
            break;
        }
        let input = &fwd.hidden[l - 1];
        grads[2 * l] = (0..outs * ins)
            .map(|k| {
                let (o, i) = (k / ins, k % ins);
                (0..n_rows)
                    .map(|r| delta[r * outs + o] * input[r * ins + i])
                    .sum()
            })
            .collect();
        // d loss / d the previous layer's pre-activation; ReLU's mask is read from its output (> 0 exactly
        // when the pre-activation is).
        delta = (0..n_rows * ins)
            .map(|k| {
                let (r, i) = (k / ins, k % ins);
                let back: f64 = (0..outs)
                    .map(|o| delta[r * outs + o] * layer.weight[o * ins + i])
                    .sum();
                back * act.derivative(input[k])
            })
            .collect();
    }
    (fwd, loss, grads)
}

/// An optimizer with its state: its moment tensors (`Rule::moments` of them) for each parameter tensor. The
/// arithmetic of a step is the optimizer's own (`optim::Rule::step`, in its file under `src/optim/`).
struct Stepper {
    optimizer: Optimizer,
    lr: f64,
    steps: u64,
    moments: Vec<Vec<Vec<f64>>>,
}

impl Stepper {
    fn new(config: &Config, w: &Weights) -> Stepper {
        let moments = w
            .layers
            .iter()
            .flat_map(|l| [l.weight.len(), l.bias.len()])
            .map(|n| vec![vec![0.0; n]; config.optimizer.moments()])
            .collect();
        Stepper {
            optimizer: config.optimizer,
            lr: config.lr,
            steps: 0,
            moments,
        }
    }

    fn step(&mut self, w: &mut Weights, grads: &[Vec<f64>]) {
        self.steps += 1;
        for ((p, g), moments) in w.tensors_mut().zip(grads).zip(&mut self.moments) {
            self.optimizer.step(self.lr, self.steps, p, g, moments);
        }
    }
}

/// The CPU backend. It holds nothing between calls.
#[derive(Default)]
pub struct ReferenceBackend;

impl Backend for ReferenceBackend {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn describe(&self) -> String {
        format!("reference (f64, {} threads)", rayon::current_num_threads())
    }

    fn evaluate(
        &mut self,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        penalty: &Penalty,
    ) -> Result<Evaluation> {
        let w = Weights::from(params);
        let rows: Vec<usize> = (0..problem.n_train()).collect();
        let (fwd, loss, grads) =
            gradients(&problem.x_train, &problem.y_train, &rows, &w, spec, penalty);
        Ok(Evaluation {
            outputs: spec.objective.transform(&fwd.raw),
            loss,
            grads,
        })
    }

    fn open<'a>(&'a mut self, network: Network<'a>) -> Result<Box<dyn Session + 'a>> {
        let w = Weights::from(network.params);
        Ok(Box::new(OneNetwork {
            problem: network.problem,
            spec: network.spec,
            config: network.config,
            stepper: Stepper::new(network.config, &w),
            w,
            epochs_done: 0,
            ready: VecDeque::new(),
        }))
    }
}

/// One network training in f64.
struct OneNetwork<'a> {
    problem: &'a Problem,
    spec: &'a Spec,
    config: &'a Config,
    w: Weights,
    stepper: Stepper,
    epochs_done: usize,
    /// Losses of requests run and not yet collected.
    ready: VecDeque<History>,
}

impl Session for OneNetwork<'_> {
    fn members(&self) -> usize {
        1
    }

    fn setup_time(&self) -> Duration {
        Duration::ZERO
    }

    fn submit(&mut self, epochs: usize, _live: &[bool]) -> Result<()> {
        let (problem, spec, config) = (self.problem, self.spec, self.config);
        let n_train = problem.n_train();
        let mut history = History::default();
        for _ in 0..epochs {
            let mut epoch_loss = 0.0;
            for batch in config.batches(n_train, self.epochs_done) {
                let (_, loss, grads) = gradients(
                    &problem.x_train,
                    &problem.y_train,
                    &batch,
                    &self.w,
                    spec,
                    &config.penalty,
                );
                epoch_loss += loss * batch.len() as f64 / n_train as f64;
                self.stepper.step(&mut self.w, &grads);
            }
            self.epochs_done += 1;
            history.train_loss.push(epoch_loss);
            let test = objective_on(
                &problem.x_test,
                &problem.y_test,
                &self.w,
                spec,
                &config.penalty,
            );
            history.test_loss.push(test.0);
        }
        self.ready.push_back(history);
        Ok(())
    }

    fn collect(&mut self) -> Result<Vec<History>> {
        Ok(vec![self.ready.pop_front().unwrap_or_default()])
    }

    fn finish(&mut self) -> Result<Vec<Final>> {
        let (problem, spec, penalty) = (self.problem, self.spec, &self.config.penalty);
        let (_, test_outputs) =
            objective_on(&problem.x_test, &problem.y_test, &self.w, spec, penalty);
        let (final_train_loss, _) =
            objective_on(&problem.x_train, &problem.y_train, &self.w, spec, penalty);
        Ok(vec![Final {
            params: self.w.to_params(spec),
            test_outputs,
            final_train_loss,
        }])
    }
}

/// The objective with its penalty on every row of `x`, and the network's outputs there.
fn objective_on(
    x: &Matrix,
    y: &[f32],
    w: &Weights,
    spec: &Spec,
    penalty: &Penalty,
) -> (f64, Vec<f64>) {
    let rows: Vec<usize> = (0..x.rows).collect();
    let fwd = forward(x, &rows, w, spec.activation);
    let (loss, _) = spec.objective.loss_and_grad(&fwd.raw, y);
    (
        loss + penalty.value(&w.layers[0].weight),
        spec.objective.transform(&fwd.raw),
    )
}

/// The outputs of the network at `params` for every row of `x`, in f64 (log-probabilities for classes).
pub fn predict(x: &Matrix, spec: &Spec, params: &Params) -> Vec<f64> {
    let rows: Vec<usize> = (0..x.rows).collect();
    let fwd = forward(x, &rows, &Weights::from(params), spec.activation);
    spec.objective.transform(&fwd.raw)
}

/// Each hidden layer's activations at `params` for every row of `x`, rows x units: for pictures of what the
/// hidden units respond to.
pub fn hidden_activations(x: &Matrix, spec: &Spec, params: &Params) -> Vec<Vec<f64>> {
    let rows: Vec<usize> = (0..x.rows).collect();
    forward(x, &rows, &Weights::from(params), spec.activation).hidden
}

/// Loss and gradients at `params` on all rows of `x`, for finite-difference tests.
pub fn loss_and_gradients(
    x: &Matrix,
    y: &[f32],
    spec: &Spec,
    params: &Params,
    penalty: &Penalty,
) -> (f64, Vec<Vec<f64>>) {
    let rows: Vec<usize> = (0..x.rows).collect();
    let (_, loss, grads) = gradients(x, y, &rows, &Weights::from(params), spec, penalty);
    (loss, grads)
}

/// The loss at weights given in f64 (flattened in `Params::tensors()` order), for finite differences that
/// must not be rounded to f32.
pub fn loss_at(x: &Matrix, y: &[f32], spec: &Spec, penalty: &Penalty, flat: &[f64]) -> f64 {
    objective_on(x, y, &Weights::from_flat(spec, flat), spec, penalty).0
}
