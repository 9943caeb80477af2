//! Each general kernel's own CPU reference: plain f64 loops doing what the kernel's comment in shaders/general/
//! says, on one step's rows. The objective's and the optimizer's parts are their own f64 definitions
//! (`Objective::loss_and_grad` and `transform`, `optim::Rule::step`), the same the CPU reference trains with, so
//! that a new loss or optimizer is checked here with nothing added.

use popdecode::objective::{Objective, Penalty};
use popdecode::optim::Optimizer;

fn act(relu: bool, v: f64) -> f64 {
    if relu { v.max(0.0) } else { v }
}

/// penalty_partial: workgroup g adds up w^2 and |w| over W_in's vec4s [g chunk4, (g + 1) chunk4), into
/// partials[2 g] and partials[2 g + 1].
pub fn penalty_partial(w_in: &[f32], groups: usize, chunk4: usize) -> Vec<f64> {
    let mut p = vec![0.0; 2 * groups];
    for (i, &w) in w_in.iter().enumerate() {
        let g = i / 4 / chunk4;
        if g < groups {
            p[2 * g] += w as f64 * w as f64;
            p[2 * g + 1] += (w as f64).abs();
        }
    }
    p
}

/// penalty_final: scalars[0] = l2 * (the sum of the partial squares) + l1 * (the sum of the partial |w|s).
pub fn penalty_final(partials: &[f32], groups: usize, penalty: &Penalty) -> f64 {
    let (mut sq, mut ab) = (0.0, 0.0);
    for g in 0..groups {
        sq += partials[2 * g] as f64;
        ab += partials[2 * g + 1] as f64;
    }
    penalty.l2 * sq + penalty.l1 * ab
}

/// forward_first: for each step row r (row `rows[r]` of x) and unit m, act(b_in[m] + x[row] . W_in[m]),
/// rows x m0. x's rows and W_in's rows are `width` floats.
pub fn forward_first(
    x: &[f32],
    rows: &[u32],
    width: usize,
    w_in: &[f32],
    b_in: &[f32],
    relu: bool,
) -> Vec<f64> {
    let m0 = b_in.len();
    let mut a = Vec::with_capacity(rows.len() * m0);
    for &row in rows {
        let xr = &x[row as usize * width..(row as usize + 1) * width];
        for m in 0..m0 {
            let w = &w_in[m * width..(m + 1) * width];
            let s: f64 = xr.iter().zip(w).map(|(&p, &q)| p as f64 * q as f64).sum();
            a.push(act(relu, b_in[m] as f64 + s));
        }
    }
    a
}

/// forward_dense: out[r, o] = b[o] + W[o] . a_in[r], through the nonlinearity on a hidden layer (`hidden`).
pub fn forward_dense(
    w: &[f32],
    b: &[f32],
    a_in: &[f32],
    ins: usize,
    hidden: bool,
    relu: bool,
) -> Vec<f64> {
    let outs = b.len();
    let rows = a_in.len() / ins;
    let mut a = Vec::with_capacity(rows * outs);
    for r in 0..rows {
        for o in 0..outs {
            let s: f64 = (0..ins)
                .map(|j| w[o * ins + j] as f64 * a_in[r * ins + j] as f64)
                .sum::<f64>()
                + b[o] as f64;
            a.push(if hidden { act(relu, s) } else { s });
        }
    }
    a
}

/// What the loss kernel writes.
pub struct Loss {
    /// The reported outputs, rows x classes.
    pub outs: Vec<f64>,
    /// d loss / d raw output, rows x classes (divided by the rows).
    pub deltas: Vec<f64>,
    /// The history entry: (its value before, when accumulating) + weight * (mean loss + penalty).
    pub entry: f64,
}

/// loss: the objective's mean loss and gradient on the step's rows (raw outputs `raw`, targets of the rows),
/// its reported outputs, and the history entry.
pub fn loss(
    objective: Objective,
    raw: &[f32],
    targets: &[f32],
    penalty: f32,
    before: Option<f32>,
    weight: f32,
) -> Loss {
    let raw: Vec<f64> = raw.iter().map(|&v| v as f64).collect();
    let (mean, deltas) = objective.loss_and_grad(&raw, targets);
    Loss {
        outs: objective.transform(&raw),
        deltas,
        entry: before.map_or(0.0, |b| b as f64) + weight as f64 * (mean + penalty as f64),
    }
}

/// backward_delta: the deltas of the layer before: d[r, j] = sum over o of d_out[r, o] W[o, j], zero where that
/// layer's stored activation is not positive (ReLU).
pub fn backward_delta(w: &[f32], d_out: &[f32], a_in: &[f32], outs: usize, relu: bool) -> Vec<f64> {
    let ins = w.len() / outs;
    let rows = d_out.len() / outs;
    let mut d = Vec::with_capacity(rows * ins);
    for r in 0..rows {
        for j in 0..ins {
            let s: f64 = (0..outs)
                .map(|o| d_out[r * outs + o] as f64 * w[o * ins + j] as f64)
                .sum();
            let dead = relu && a_in[r * ins + j] <= 0.0;
            d.push(if dead { 0.0 } else { s });
        }
    }
    d
}

/// grad_first: W_in's gradient, g[m, c] = sum over the step's rows of delta[r, m] x[rows[r], c], m0 x width.
pub fn grad_first(x: &[f32], rows: &[u32], width: usize, deltas: &[f32], m0: usize) -> Vec<f64> {
    let mut g = vec![0.0; m0 * width];
    for (r, &row) in rows.iter().enumerate() {
        let xr = &x[row as usize * width..(row as usize + 1) * width];
        for m in 0..m0 {
            let d = deltas[r * m0 + m] as f64;
            for (gc, &xc) in g[m * width..(m + 1) * width].iter_mut().zip(xr) {
                *gc += d * xc as f64;
            }
        }
    }
    g
}

/// grad_dense: a layer's weight gradient, sum over rows of d[r, o] a_in[r, j] (outs x ins; none for the first
/// layer, `a_in` empty), and its bias gradient, the sum over rows of d[r, o].
pub fn grad_dense(d: &[f32], a_in: &[f32], outs: usize, ins: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = d.len() / outs;
    let mut gw = vec![0.0; if a_in.is_empty() { 0 } else { outs * ins }];
    let mut gb = vec![0.0; outs];
    for r in 0..rows {
        for o in 0..outs {
            let dv = d[r * outs + o] as f64;
            gb[o] += dv;
            if !gw.is_empty() {
                for j in 0..ins {
                    gw[o * ins + j] += dv * a_in[r * ins + j] as f64;
                }
            }
        }
    }
    (gw, gb)
}

/// update's whole gradient: the stored gradient, plus the penalty's on W_in's first `win_len` entries.
pub fn whole_gradient(
    params: &[f32],
    grads: &[f32],
    win_len: usize,
    penalty: &Penalty,
) -> Vec<f64> {
    params
        .iter()
        .zip(grads)
        .enumerate()
        .map(|(i, (&w, &g))| {
            let pen = if i < win_len {
                penalty.grad(w as f64)
            } else {
                0.0
            };
            g as f64 + pen
        })
        .collect()
}

/// update: the optimizer's own f64 step of every parameter at step `t` with learning rate `lr`, from the whole
/// gradient and its moment tensors; returns the parameters and the moments after it.
pub fn update(
    optimizer: &Optimizer,
    lr: f64,
    t: u64,
    params: &[f32],
    whole_gradient: &[f64],
    moments: &[Vec<f32>],
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut p: Vec<f64> = params.iter().map(|&v| v as f64).collect();
    let mut m: Vec<Vec<f64>> = moments
        .iter()
        .map(|v| v.iter().map(|&x| x as f64).collect())
        .collect();
    optimizer.step(lr, t, &mut p, whole_gradient, &mut m);
    (p, m)
}
