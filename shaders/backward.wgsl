// The backward pass and the SGD update, for the mean squared error over the training rows. forward_rows has
// already written d loss / d hidden pre-activation (delta) for every training row.
//
// small_grad: one workgroup per hidden unit: the gradients of in_layer.bias and out_layer.weight, and their
//   update; one more workgroup does out_layer.bias and records the epoch's losses. Dispatched alone before
//   input_grad_gemm; the register-tile input_grad runs the same workgroups in front of its own, which saves a
//   dispatch an epoch.
// input_grad: the gradient of in_layer.weight fused with its update, so w1 is read and written once an epoch.
//   One thread per COL_TILE vec4s of neurons and HIDDEN_TILE hidden units (ROW_SPLIT threads sharing the rows).
// input_grad_gemm: the same as a tiled matrix product, for wide hidden layers on GPUs.
// record_losses: the loss bookkeeping alone, at the end of a batch of epochs.

@group(0) @binding(0) var<uniform> hyper: Hyper;
@group(0) @binding(1) var<storage, read> hid: array<f32>;
@group(0) @binding(2) var<storage, read> out: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<f32>;
@group(0) @binding(4) var<storage, read_write> b1: array<f32>;
@group(0) @binding(5) var<storage, read_write> w2: array<f32>;
@group(0) @binding(6) var<storage, read_write> b2: array<f32>;
@group(0) @binding(7) var<storage, read> delta: array<f32>;
// db1 (M_PAD), dw2 (M_PAD), db2 (1)
@group(0) @binding(8) var<storage, read_write> grad_small: array<f32>;
// losses[2 e] = training loss of epoch e (before its update); losses[2 e + 1] = test loss after it
@group(0) @binding(9) var<storage, read_write> losses: array<f32>;
// state[0] = epochs done
@group(0) @binding(10) var<storage, read_write> state: array<u32>;

fn d_out(r: u32) -> f32 {
    return 2.0 * (out[r] - targets[r]) / f32(N_TRAIN);
}

// The workgroup's mean of (out - target)^2 over rows [first, end).
fn mean_sq_error(t: u32, first: u32, end: u32) -> f32 {
    var s = 0.0;
    for (var r = first + t; r < end; r += 64u) {
        let e = out[r] - targets[r];
        s = fma(e, e, s);
    }
    return workgroup_sum(t, s) / f32(max(end - first, 1u));
}

// `out` holds the outputs at the weights after `epoch` updates: the training loss of epoch `epoch` and the
// test loss of epoch `epoch - 1`.
fn record(t: u32, epoch: u32) {
    let train = mean_sq_error(t, 0u, N_TRAIN);
    let test = mean_sq_error(t, N_TRAIN, N_ROWS);
    if (t == 0u) {
        losses[2u * epoch] = train;
        if (epoch > 0u) {
            losses[2u * epoch - 1u] = test;
        }
    }
}

// Workgroup `g` of small_grad's M_PAD + 1: hidden unit g, whose threads share the training rows, or (g = M_PAD)
// the output bias and the losses. Called from uniform control flow by all 64 threads.
fn small_grads(g: u32, t: u32) {
    if (g < M_PAD) {
        var gb = 0.0;
        var gv = 0.0;
        for (var r = t; r < N_TRAIN; r += 64u) {
            gv = fma(d_out(r), hid[r * M_PAD + g], gv);
            gb += delta[r * M_PAD + g];
        }
        let sb = workgroup_sum(t, gb);
        let sv = workgroup_sum(t, gv);
        if (t == 0u) {
            grad_small[g] = sb;
            grad_small[M_PAD + g] = sv;
            if (APPLY_UPDATE) {
                b1[g] -= hyper.lr * sb;
                w2[g] -= hyper.lr * sv;
            }
        }
    } else {
        // Every thread reads the epoch before thread 0 moves it on, behind the barriers of the sums below.
        let epoch = state[0];
        var s = 0.0;
        for (var r = t; r < N_TRAIN; r += 64u) {
            s += d_out(r);
        }
        let sg = workgroup_sum(t, s);
        record(t, epoch);
        if (t == 0u) {
            grad_small[2u * M_PAD] = sg;
            if (APPLY_UPDATE) {
                b2[0] -= hyper.lr * sg;
            }
            state[0] = epoch + 1u;
        }
    }
}

@compute @workgroup_size(64)
fn small_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    small_grads(wg.x, t);
}

@compute @workgroup_size(64)
fn record_losses(@builtin(local_invocation_index) t: u32) {
    record(t, state[0]);
}

@group(0) @binding(11) var<uniform> panel: Panel;
@group(0) @binding(12) var<storage, read> x: array<vec4<f32>>;
// in_layer.weight (training), or where its gradient goes (checks)
@group(0) @binding(13) var<storage, read_write> w1: array<vec4<f32>>;

// With ROW_SPLIT > 1, that many threads share each column's training rows and add their sums in workgroup
// memory, in a fixed order: more threads in flight for the same work, as a GPU wants.
var<workgroup> grad_sums: array<vec4<f32>, GRAD_SUMS>;

// A workgroup covers 64 / ROW_SPLIT column slots. The thread in slot c owns columns c, c + stride, ...
// (COL_TILE of them), so adjacent threads read adjacent vec4s. A column past the panel's edge repeats the last
// one and is not written back. The first panel.small_groups workgroups of the first row of the grid do
// small_grad's work instead (and those of the other rows nothing).
@compute @workgroup_size(64)
fn input_grad(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    if (wg.x < panel.small_groups) {
        if (wg.y == 0u) {
            small_grads(wg.x, t);
        }
    } else {
        weight_grad(t, wg.x - panel.small_groups, wg.y);
    }
}

fn weight_grad(t: u32, group: u32, hidden_tile: u32) {
    let w4 = panel.width4;
    let stride = (w4 + COL_TILE - 1u) / COL_TILE;
    let slots = 64u / ROW_SPLIT;
    let part = t / slots;
    let slot = group * slots + t % slots;
    let live = slot < stride;
    let m0 = hidden_tile * HIDDEN_TILE;
    let col$c = slot + $cu * stride;
    let k$c = min(col$c, w4 - 1u);
    var g$c_$h = vec4<f32>(0.0);
    let rows = select(0u, N_TRAIN, live);
    var r = part;
    if (GRAD_UNROLL) {
        // Four rows' loads in flight before their multiply-adds, added in the same order as the loop below.
        for (; r + 3u * ROW_SPLIT < rows; r += 4u * ROW_SPLIT) {
            let d = r * M_PAD + m0;
            let e = ROW_SPLIT * M_PAD;
            let xa$c = x[r * w4 + k$c];
            let xb$c = x[(r + ROW_SPLIT) * w4 + k$c];
            let xc$c = x[(r + 2u * ROW_SPLIT) * w4 + k$c];
            let xd$c = x[(r + 3u * ROW_SPLIT) * w4 + k$c];
            let da$h = vec4<f32>(delta[d + $hu]);
            let db$h = vec4<f32>(delta[d + e + $hu]);
            let dc$h = vec4<f32>(delta[d + 2u * e + $hu]);
            let dd$h = vec4<f32>(delta[d + 3u * e + $hu]);
            g$c_$h = fma(da$h, xa$c, g$c_$h);
            g$c_$h = fma(db$h, xb$c, g$c_$h);
            g$c_$h = fma(dc$h, xc$c, g$c_$h);
            g$c_$h = fma(dd$h, xd$c, g$c_$h);
        }
    }
    for (; r < rows; r += ROW_SPLIT) {
        let d = r * M_PAD + m0;
        let d$h = vec4<f32>(delta[d + $hu]);
        let x$c = x[r * w4 + k$c];
        g$c_$h = fma(d$h, x$c, g$c_$h);
    }
    if (ROW_SPLIT > 1u) {
        grad_sums[(t * COL_TILE + $cu) * HIDDEN_TILE + $hu] = g$c_$h;
        workgroupBarrier();
        if (part == 0u) {
            for (var j = 1u; j < ROW_SPLIT; j++) {
                let o = (j * slots + t) * COL_TILE;
                g$c_$h += grad_sums[(o + $cu) * HIDDEN_TILE + $hu];
            }
        }
    }
    if (part == 0u && live) {
        let lr = hyper.lr;
        if (APPLY_UPDATE) {
            if (col$c < w4) { w1[(m0 + $hu) * w4 + k$c] -= lr * g$c_$h; }
        } else {
            if (col$c < w4) { w1[(m0 + $hu) * w4 + k$c] = g$c_$h; }
        }
    }
}

// input_grad_gemm: the gradient of in_layer.weight fused with its update for wide hidden layers on GPUs, as a
// tiled matrix product over the training rows. A workgroup of 16 x 16 threads owns 128 hidden units x 32 vec4
// columns; 8 training rows of delta and x at a time are staged in workgroup memory, and each thread adds
// 8 hidden units x 2 vec4 columns (64 multiply-adds per four vec4 reads). Needs M_PAD a multiple of 128.
var<workgroup> delta_stage: array<vec4<f32>, 256>;  // [8 rows][32 hidden quads]
var<workgroup> xg_stage: array<vec4<f32>, 256>;     // [8 rows][32 vec4 columns]

@compute @workgroup_size(16, 16)
fn input_grad_gemm(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let w4 = panel.width4;
    let n_base = wg.x * 32u;
    let m_base = wg.y * 128u;
    let srow = t / 32u;
    let sq = t % 32u;
    var g0_0 = vec4<f32>(0.0); var g0_1 = vec4<f32>(0.0);
    var g1_0 = vec4<f32>(0.0); var g1_1 = vec4<f32>(0.0);
    var g2_0 = vec4<f32>(0.0); var g2_1 = vec4<f32>(0.0);
    var g3_0 = vec4<f32>(0.0); var g3_1 = vec4<f32>(0.0);
    var g4_0 = vec4<f32>(0.0); var g4_1 = vec4<f32>(0.0);
    var g5_0 = vec4<f32>(0.0); var g5_1 = vec4<f32>(0.0);
    var g6_0 = vec4<f32>(0.0); var g6_1 = vec4<f32>(0.0);
    var g7_0 = vec4<f32>(0.0); var g7_1 = vec4<f32>(0.0);
    for (var r0 = 0u; r0 < N_TRAIN; r0 += 8u) {
        let r = r0 + srow;
        var dv = vec4<f32>(0.0);
        var xv = vec4<f32>(0.0);
        if (r < N_TRAIN) {
            let d = r * M_PAD + m_base + 4u * sq;
            dv = vec4<f32>(delta[d], delta[d + 1u], delta[d + 2u], delta[d + 3u]);
            if (n_base + sq < w4) {
                xv = x[r * w4 + n_base + sq];
            }
        }
        delta_stage[t] = dv;
        xg_stage[t] = xv;
        workgroupBarrier();
        for (var kk = 0u; kk < 8u; kk++) {
            let d0 = delta_stage[kk * 32u + lid.y];
            let d1 = delta_stage[kk * 32u + 16u + lid.y];
            let x0 = xg_stage[kk * 32u + lid.x];
            let x1 = xg_stage[kk * 32u + 16u + lid.x];
            g0_0 = fma(vec4<f32>(d0.x), x0, g0_0); g0_1 = fma(vec4<f32>(d0.x), x1, g0_1);
            g1_0 = fma(vec4<f32>(d0.y), x0, g1_0); g1_1 = fma(vec4<f32>(d0.y), x1, g1_1);
            g2_0 = fma(vec4<f32>(d0.z), x0, g2_0); g2_1 = fma(vec4<f32>(d0.z), x1, g2_1);
            g3_0 = fma(vec4<f32>(d0.w), x0, g3_0); g3_1 = fma(vec4<f32>(d0.w), x1, g3_1);
            g4_0 = fma(vec4<f32>(d1.x), x0, g4_0); g4_1 = fma(vec4<f32>(d1.x), x1, g4_1);
            g5_0 = fma(vec4<f32>(d1.y), x0, g5_0); g5_1 = fma(vec4<f32>(d1.y), x1, g5_1);
            g6_0 = fma(vec4<f32>(d1.z), x0, g6_0); g6_1 = fma(vec4<f32>(d1.z), x1, g6_1);
            g7_0 = fma(vec4<f32>(d1.w), x0, g7_0); g7_1 = fma(vec4<f32>(d1.w), x1, g7_1);
        }
        workgroupBarrier();
    }
    let col0 = n_base + lid.x;
    let col1 = col0 + 16u;
    if (APPLY_UPDATE) {
        let lr = hyper.lr;
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 0u) * w4 + col0] -= lr * g0_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 0u) * w4 + col1] -= lr * g0_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 1u) * w4 + col0] -= lr * g1_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 1u) * w4 + col1] -= lr * g1_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 2u) * w4 + col0] -= lr * g2_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 2u) * w4 + col1] -= lr * g2_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 3u) * w4 + col0] -= lr * g3_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 3u) * w4 + col1] -= lr * g3_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 64u) * w4 + col0] -= lr * g4_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 64u) * w4 + col1] -= lr * g4_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 65u) * w4 + col0] -= lr * g5_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 65u) * w4 + col1] -= lr * g5_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 66u) * w4 + col0] -= lr * g6_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 66u) * w4 + col1] -= lr * g6_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 67u) * w4 + col0] -= lr * g7_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 67u) * w4 + col1] -= lr * g7_1; }
    } else {
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 0u) * w4 + col0] = g0_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 0u) * w4 + col1] = g0_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 1u) * w4 + col0] = g1_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 1u) * w4 + col1] = g1_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 2u) * w4 + col0] = g2_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 2u) * w4 + col1] = g2_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 3u) * w4 + col0] = g3_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 3u) * w4 + col1] = g3_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 64u) * w4 + col0] = g4_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 64u) * w4 + col1] = g4_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 65u) * w4 + col0] = g5_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 65u) * w4 + col1] = g5_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 66u) * w4 + col0] = g6_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 66u) * w4 + col1] = g6_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 67u) * w4 + col0] = g7_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 67u) * w4 + col1] = g7_1; }
    }
}
