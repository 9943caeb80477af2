//! Each tutorial kernel's own CPU reference: plain f64 loops doing what the kernel's comment in
//! shaders/tutorial/ says, over the padded layouts of shapes.wgsl. x is `r_pad` rows of `n4 * 4` columns and w1
//! `m_pad` rows of `n4 * 4` columns, whole (not cut into panels); padded rows, units and columns hold zeros.

use popdecode::gpu::tutorial::layout::{Layout, Panel};

fn dot4(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&p, &q)| p as f64 * q as f64).sum()
}

/// Split-K partial sums, K_TOTAL x R_PAD x M_PAD: vec4 column `k` of panel `p` (counted from the panel's
/// first) goes to partial sum `slot(p, k)`, an index among all K_TOTAL. Padded rows and units are zero.
fn split_k(l: &Layout, x: &[f32], w1: &[f32], slot: impl Fn(&Panel, usize) -> usize) -> Vec<f64> {
    let width = l.n4 * 4;
    let mut partial = vec![0.0; l.k_total * l.r_pad * l.m_pad];
    for p in &l.panels {
        for k in 0..p.width4 {
            let s = slot(p, k);
            let c = (p.col4 + k) * 4;
            for r in 0..l.n_rows {
                let xr = &x[r * width + c..r * width + c + 4];
                for m in 0..l.hidden {
                    partial[(s * l.r_pad + r) * l.m_pad + m] +=
                        dot4(xr, &w1[m * width + c..m * width + c + 4]);
                }
            }
        }
    }
    partial
}

/// forward_partial: split-K thread `kt` of a panel's `k_threads` walks the panel's vec4 columns
/// kt, kt + k_threads, ... and writes its sums to partial sum `k_offset + kt`; with WG_REDUCE the `K_LANES`
/// threads kt of one workgroup add theirs first, into `k_offset + kt / K_LANES`.
pub fn forward_partial(l: &Layout, x: &[f32], w1: &[f32]) -> Vec<f64> {
    let per_slot = if l.plan.wg_reduce { l.plan.k_lanes } else { 1 };
    split_k(l, x, w1, |p, k| p.k_offset + (k % p.k_threads) / per_slot)
}

/// forward_gemm: the panel's vec4 columns in `k_threads` contiguous chunks of ceil(width4 / k_threads); chunk c
/// writes partial sum `k_offset + c` (zeros for a chunk past the panel's end).
pub fn forward_gemm(l: &Layout, x: &[f32], w1: &[f32]) -> Vec<f64> {
    split_k(l, x, w1, |p, k| {
        p.k_offset + k / p.width4.div_ceil(p.k_threads)
    })
}

/// What forward_rows writes for real rows: `hid` (N_ROWS x M_PAD), `out` (N_ROWS) and `delta`
/// (N_TRAIN x M_PAD).
pub struct Rows {
    pub hid: Vec<f64>,
    pub out: Vec<f64>,
    pub delta: Vec<f64>,
}

/// forward_rows: per real row, pre = b1 + the sum of its K_TOTAL partial sums, hid = act(pre),
/// out = b2 + w2 . hid; on a training row delta = d w2 where d = 2 (out - target) / N_TRAIN, zeroed where ReLU
/// output zero.
#[allow(clippy::too_many_arguments)]
pub fn forward_rows(
    l: &Layout,
    relu: bool,
    partial: &[f32],
    b1: &[f32],
    w2: &[f32],
    b2: f32,
    targets: &[f32],
) -> Rows {
    let m_pad = l.m_pad;
    let mut hid = vec![0.0; l.n_rows * m_pad];
    let mut out = vec![0.0; l.n_rows];
    let mut delta = vec![0.0; l.n_train * m_pad];
    for r in 0..l.n_rows {
        let mut o = b2 as f64;
        for m in 0..m_pad {
            let mut pre = b1[m] as f64;
            for k in 0..l.k_total {
                pre += partial[(k * l.r_pad + r) * m_pad + m] as f64;
            }
            let h = if relu { pre.max(0.0) } else { pre };
            hid[r * m_pad + m] = h;
            o += w2[m] as f64 * h;
        }
        out[r] = o;
        if r < l.n_train {
            let d = 2.0 * (o - targets[r] as f64) / l.n_train as f64;
            for m in 0..m_pad {
                let dead = relu && hid[r * m_pad + m] <= 0.0;
                delta[r * m_pad + m] = if dead { 0.0 } else { d * w2[m] as f64 };
            }
        }
    }
    Rows { hid, out, delta }
}

/// The mean of (out - target)^2 over rows [first, end).
fn mean_sq_error(out: &[f32], targets: &[f32], first: usize, end: usize) -> f64 {
    let s: f64 = (first..end)
        .map(|r| (out[r] as f64 - targets[r] as f64).powi(2))
        .sum();
    s / (end - first).max(1) as f64
}

/// record_losses (and small_grad's last workgroup): with `out` at the weights after `epoch` updates,
/// losses[2 epoch] = the training rows' mean squared error and, past epoch 0, losses[2 epoch - 1] = the test
/// rows'. The rest of `losses` is left as it was.
pub fn record_losses(
    l: &Layout,
    out: &[f32],
    targets: &[f32],
    epoch: usize,
    losses: &[f32],
) -> Vec<f64> {
    let mut after: Vec<f64> = losses.iter().map(|&v| v as f64).collect();
    after[2 * epoch] = mean_sq_error(out, targets, 0, l.n_train);
    if epoch > 0 {
        after[2 * epoch - 1] = mean_sq_error(out, targets, l.n_train, l.n_rows);
    }
    after
}

/// small_grad's gradients, `grad_small` as laid out in the WGSL: db1 (M_PAD) = the sum of delta over training
/// rows, dw2 (M_PAD) = the sum of d_out(r) hid[r] with d_out(r) = 2 (out - target) / N_TRAIN, and db2 = the sum
/// of d_out. The update (with APPLY_UPDATE) is -lr times each; the losses are `record_losses`' and the epoch
/// count moves on by one.
pub fn small_grad(
    l: &Layout,
    hid: &[f32],
    out: &[f32],
    targets: &[f32],
    delta: &[f32],
) -> Vec<f64> {
    let m_pad = l.m_pad;
    let d_out = |r: usize| 2.0 * (out[r] as f64 - targets[r] as f64) / l.n_train as f64;
    let mut grad = vec![0.0; 2 * m_pad + 1];
    for r in 0..l.n_train {
        for m in 0..m_pad {
            grad[m] += delta[r * m_pad + m] as f64;
            grad[m_pad + m] += d_out(r) * hid[r * m_pad + m] as f64;
        }
        grad[2 * m_pad] += d_out(r);
    }
    grad
}

/// input_grad and input_grad_gemm: the gradient of in_layer.weight, g[m, c] = sum over training rows of
/// delta[r, m] x[r, c], M_PAD x n4 * 4 (whole, not cut into panels).
pub fn input_grad(l: &Layout, x: &[f32], delta: &[f32]) -> Vec<f64> {
    let width = l.n4 * 4;
    let mut g = vec![0.0; l.m_pad * width];
    for r in 0..l.n_train {
        let xr = &x[r * width..(r + 1) * width];
        for m in 0..l.m_pad {
            let d = delta[r * l.m_pad + m] as f64;
            if d != 0.0 {
                for (gc, &xc) in g[m * width..(m + 1) * width].iter_mut().zip(xr) {
                    *gc += d * xc as f64;
                }
            }
        }
    }
    g
}
