//! Everything after the first layer's product: its bias and activation, the later (small) layers, the loss
//! and the backward pass down to d loss / d the first layer's pre-activations. These are a few hundred rows by
//! at most a few hundred units, so they run in f64 from the f32 weights, as the reference does, each output
//! summed by one thread in a fixed order (rayon over rows or units), so the thread count changes nothing.

use rayon::prelude::*;

use crate::model::{Activation, Spec};

/// The tensors after `in_layer.weight`, in `Params::tensors()` order: `in_layer.bias`, then each later layer's
/// weight (outputs x inputs) and bias.
pub struct Head<'a> {
    pub spec: &'a Spec,
    pub tensors: &'a [Vec<f32>],
}

/// The head's forward pass over some rows.
pub struct Forward {
    /// Each hidden layer's activations, rows x units.
    pub hidden: Vec<Vec<f64>>,
    /// The last layer's raw outputs, rows x outputs.
    pub raw: Vec<f64>,
}

/// `input . W^T + b`, rows x outputs, in f64.
fn dense(input: &[f64], ins: usize, weight: &[f32], bias: &[f32]) -> Vec<f64> {
    let outs = bias.len();
    let mut out = vec![0.0f64; input.len() / ins * outs];
    out.par_chunks_mut(outs)
        .zip(input.par_chunks(ins))
        .for_each(|(out, row)| {
            for ((o, w), &b) in out.iter_mut().zip(weight.chunks(ins)).zip(bias) {
                *o = f64::from(b)
                    + row
                        .iter()
                        .zip(w)
                        .map(|(&a, &w)| a * f64::from(w))
                        .sum::<f64>();
            }
        });
    out
}

impl Head<'_> {
    fn layers(&self) -> usize {
        self.spec.hidden.len() + 1
    }

    /// Layer `l`'s (weight, bias), for `l` >= 1.
    fn layer(&self, l: usize) -> (&[f32], &[f32]) {
        (&self.tensors[2 * l - 1], &self.tensors[2 * l])
    }

    /// From the first layer's products (rows x M, without its bias) to the outputs.
    pub fn forward(&self, products: &[f64]) -> Forward {
        let act = self.spec.activation;
        let b1 = &self.tensors[0];
        let first: Vec<f64> = products
            .chunks(b1.len())
            .flat_map(|row| {
                row.iter()
                    .zip(b1)
                    .map(move |(&p, &b)| act.apply(p + f64::from(b)))
            })
            .collect();
        let mut hidden = vec![first];
        let shapes = self.spec.layer_shapes();
        for (l, &(_, ins)) in shapes.iter().enumerate().skip(1) {
            let (w, b) = self.layer(l);
            let pre = dense(hidden.last().expect("a hidden layer"), ins, w, b);
            if l + 1 == shapes.len() {
                return Forward { hidden, raw: pre };
            }
            hidden.push(pre.into_iter().map(|p| act.apply(p)).collect());
        }
        unreachable!("a network has an output layer")
    }

    /// From d loss / d raw outputs back: the gradient of every head tensor (in `tensors` order) and d loss /
    /// d the first layer's pre-activations, rows x M.
    pub fn backward(&self, fwd: &Forward, mut delta: Vec<f64>) -> (Vec<Vec<f64>>, Vec<f64>) {
        let act: Activation = self.spec.activation;
        let shapes = self.spec.layer_shapes();
        let mut grads = vec![Vec::new(); self.tensors.len()];
        for l in (1..self.layers()).rev() {
            let (outs, ins) = shapes[l];
            let (weight, _) = self.layer(l);
            let input = &fwd.hidden[l - 1];
            let rows = input.len() / ins;
            grads[2 * l] = (0..outs)
                .map(|o| (0..rows).map(|r| delta[r * outs + o]).sum())
                .collect();
            let mut gw = vec![0.0f64; outs * ins];
            gw.par_chunks_mut(ins).enumerate().for_each(|(o, g)| {
                for r in 0..rows {
                    let d = delta[r * outs + o];
                    for (g, &x) in g.iter_mut().zip(&input[r * ins..(r + 1) * ins]) {
                        *g += d * x;
                    }
                }
            });
            grads[2 * l - 1] = gw;
            let mut back = vec![0.0f64; rows * ins];
            back.par_chunks_mut(ins)
                .zip(input.par_chunks(ins))
                .enumerate()
                .for_each(|(r, (back, input))| {
                    for (o, w) in weight.chunks(ins).enumerate() {
                        let d = delta[r * outs + o];
                        for (b, &w) in back.iter_mut().zip(w) {
                            *b += d * f64::from(w);
                        }
                    }
                    for (b, &h) in back.iter_mut().zip(input) {
                        *b *= act.derivative(h);
                    }
                });
            delta = back;
        }
        let m = self.tensors[0].len();
        let rows = delta.len() / m;
        grads[0] = (0..m)
            .map(|u| (0..rows).map(|r| delta[r * m + u]).sum())
            .collect();
        (grads, delta)
    }
}
