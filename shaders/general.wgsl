// The general path (src/gpu/general.rs): any number of hidden layers, the MSE, circular and NLL objectives, the
// L1/L2 penalty on the input weights, SGD, SGD with momentum and Adam, and mini-batches whose rows are gathered
// through a list of row numbers. workgroup_sum.wgsl is put in front of it, shapes.wgsl is not; it is written in
// the same tile notation (src/gpu/shaders.rs): a line with a tile marker (a dollar sign before r, h or c) is
// repeated for each row, first-layer unit or vec4 column of the register tiles of forward_first and grad_first.
//
// Kernels: penalty_partial, penalty_final, forward_first, forward_dense, loss, backward_delta, grad_first,
// grad_dense, update.
//
// One step (a training batch, or an evaluation of the test or training rows) runs:
//   penalty_partial, penalty_final   (with a penalty) the penalty's value at the current weights
//   forward_first, forward_dense...  each layer's outputs for the step's rows
//   loss                             the objective, d loss / d raw outputs, the loss into the history
// and a training step goes on with:
//   backward_delta...                d loss / d pre-activation of each hidden layer, last to first
//   grad_first, grad_dense...        each tensor's gradient
//   update                           the optimizer over every parameter (or, for checks, the full gradient)
//
// Layouts (row-major, f32 unless said):
//   x        N_ROWS x N4 vec4s: training rows, then test rows; columns zero-padded to a multiple of 4
//   index    u32 row numbers of x: a step's rows are index[row_base .. row_base + rows]
//   params   every tensor in one flat buffer: W_in (M0 x N4 vec4s, PyTorch's in_layer.weight with each row
//            zero-padded to whole vec4s) at 0, b_in at WIN_LEN, then each later layer's weight (outputs x inputs)
//            and bias at the offsets in its Layer uniform; grads, moment1 and moment2 alike
//   acts     per layer a block of rows x outputs at the layer's out_off: hidden layers' activations after the
//            nonlinearity, the last layer's raw outputs (LAST_OFF); deltas alike, d loss / d pre-activation
//   outs     (training + test rows) x CLASSES: the outputs as reported (log-probabilities for NLL)
//   history  (train, test) loss of each epoch, then the training loss at the final weights
// Every sum runs in a fixed order (no float atomics), so results repeat exactly.

override N4: u32 = 1u;           // vec4 columns of x and of W_in's rows
override M0: u32 = 1u;           // units of the first layer
override CLASSES: u32 = 1u;      // outputs of the last layer
override OBJECTIVE: u32 = 0u;    // 0 MSE, 1 circular, 2 NLL through LogSoftmax
override LAST_OFF: u32 = 0u;     // the last layer's block in acts and deltas
override WIN_LEN: u32 = 4u;      // f32s in W_in, M0 * N4 * 4; b_in follows it
override P_LEN: u32 = 8u;        // f32s in params
override RELU: bool = true;      // the hidden nonlinearity: ReLU, or the identity
override L1: f32 = 0.0;          // penalty l1 * sum |W_in|
override L2: f32 = 0.0;          // penalty l2 * sum W_in^2
override OPTIMIZER: u32 = 1u;    // 0 gradients only (checks), 1 SGD, 2 SGD with momentum, 3 Adam
override MOMENTUM: f32 = 0.0;
override BETA1: f32 = 0.9;
override BETA2: f32 = 0.999;
override EPS: f32 = 1e-8;
override PEN_GROUPS: u32 = 1u;   // penalty_partial workgroups
override PEN_CHUNK4: u32 = 1u;   // vec4s of W_in per penalty_partial workgroup

// One step, in its own 256-byte slot of a uniform buffer bound with a dynamic offset.
struct Step {
    row_base: u32,    // the step's rows are index[row_base ..]
    rows: u32,
    out_base: u32,    // the row of outs where its outputs go
    loss_slot: u32,   // the history entry its loss goes to
    accumulate: u32,  // 1: add to the entry (an epoch's later batches); 0: overwrite it
    weight: f32,      // the loss's weight in the entry: batch rows / training rows, or 1
    lr: f32,
    step_size: f32,   // Adam: lr / (1 - beta1^t)
    c2: f32,          // Adam: sqrt(1 - beta2^t)
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

// One layer, in its own 256-byte slot.
struct Layer {
    inputs: u32,
    outputs: u32,
    w_off: u32,       // weight and bias in params (and grads)
    b_off: u32,
    in_off: u32,      // the block of acts this layer reads (the previous layer's)
    out_off: u32,     // the block of acts and deltas it writes
    hidden: u32,      // 1: the nonlinearity follows (every layer but the last)
    first: u32,       // 1: the input layer, whose weight gradient is grad_first's
}

@group(0) @binding(0) var<uniform> st: Step;
@group(0) @binding(1) var<uniform> layer: Layer;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> index: array<u32>;
@group(0) @binding(4) var<storage, read> targets: array<f32>;
@group(0) @binding(5) var<storage, read> labels: array<u32>;
@group(0) @binding(6) var<storage, read> params4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> params_r: array<f32>;
@group(0) @binding(8) var<storage, read_write> params_w: array<f32>;
@group(0) @binding(9) var<storage, read_write> acts_w: array<f32>;
@group(0) @binding(10) var<storage, read> acts_r: array<f32>;
@group(0) @binding(11) var<storage, read_write> deltas_w: array<f32>;
@group(0) @binding(12) var<storage, read> deltas_r: array<f32>;
@group(0) @binding(13) var<storage, read_write> grads4_w: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read_write> grads_w: array<f32>;
@group(0) @binding(15) var<storage, read_write> moment1: array<f32>;
@group(0) @binding(16) var<storage, read_write> moment2: array<f32>;
@group(0) @binding(17) var<storage, read_write> outs: array<f32>;
@group(0) @binding(18) var<storage, read_write> history: array<f32>;
@group(0) @binding(19) var<storage, read_write> pen_partials_w: array<f32>;
@group(0) @binding(20) var<storage, read> pen_partials_r: array<f32>;
@group(0) @binding(21) var<storage, read_write> scalars_w: array<f32>;
@group(0) @binding(22) var<storage, read> scalars_r: array<f32>;

fn act(pre: f32) -> f32 {
    return select(pre, max(pre, 0.0), RELU);
}

fn hsum(v: vec4<f32>) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

// Threads of a 1-D job dispatched as a 2-D grid of 64-thread workgroups (src/gpu/layout.rs's `grid`).
fn thread_id(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}

// workgroup_sum(t, v): shaders/workgroup_sum.wgsl, put in front of this file.

// ---- The penalty's value: sums of W_in^2 and |W_in| over chunks, then over the chunks, both in fixed order.

@compute @workgroup_size(64)
fn penalty_partial(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let start = wg.x * PEN_CHUNK4;
    let end = min(start + PEN_CHUNK4, WIN_LEN / 4u);
    var sq = 0.0;
    var ab = 0.0;
    for (var k = start + t; k < end; k += 64u) {
        let w = params4[k];
        sq += dot(w, w);
        ab += hsum(abs(w));
    }
    let s = workgroup_sum(t, sq);
    let a = workgroup_sum(t, ab);
    if (t == 0u) {
        pen_partials_w[2u * wg.x] = s;
        pen_partials_w[2u * wg.x + 1u] = a;
    }
}

@compute @workgroup_size(64)
fn penalty_final(@builtin(local_invocation_index) t: u32) {
    var sq = 0.0;
    var ab = 0.0;
    for (var g = t; g < PEN_GROUPS; g += 64u) {
        sq += pen_partials_r[2u * g];
        ab += pen_partials_r[2u * g + 1u];
    }
    let s = workgroup_sum(t, sq);
    let a = workgroup_sum(t, ab);
    if (t == 0u) {
        scalars_w[0] = L2 * s + L1 * a;
    }
}

// ---- Forward.

// forward_first's register tile: ROW_TILE step rows x HIDDEN_TILE first-layer units per workgroup.
const ROW_TILE: u32 = $ROW_TILE;
const HIDDEN_TILE: u32 = $HIDDEN_TILE;
const COL_TILE: u32 = $COL_TILE;
const TILE_OUT: u32 = ROW_TILE * HIDDEN_TILE;
var<workgroup> unit_sums: array<f32, 64u * TILE_OUT>;

fn fold_units(t: u32, stride: u32) {
    if (t < stride) {
        for (var o = 0u; o < TILE_OUT; o++) {
            unit_sums[o * 64u + t] += unit_sums[o * 64u + t + stride];
        }
    }
}

// The first layer: a workgroup per tile of ROW_TILE step rows x HIDDEN_TILE units. Its 64 threads stride the
// rows' vec4s, each keeping a sum per (row, unit) in registers, which a fixed tree adds up across the threads:
// each row of x is read once per unit tile, each row of W_in once per row tile.
@compute @workgroup_size(64)
fn forward_first(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let r0 = wg.x * ROW_TILE;
    let m0 = wg.y * HIDDEN_TILE;
    // Rows past the step's and units past M0 repeat the last one and are not written.
    let xb$r = index[st.row_base + min(r0 + $ru, st.rows - 1u)] * N4;
    let wb$h = min(m0 + $hu, M0 - 1u) * N4;
    var a$r_$h = vec4<f32>(0.0);
    for (var k = t; k < N4; k += 64u) {
        let x$r = x[xb$r + k];
        let v$h = params4[wb$h + k];
        a$r_$h = fma(x$r, v$h, a$r_$h);
    }
    unit_sums[($ru * HIDDEN_TILE + $hu) * 64u + t] = hsum(a$r_$h);
    workgroupBarrier();
    fold_units(t, 32u);
    workgroupBarrier();
    fold_units(t, 16u);
    workgroupBarrier();
    fold_units(t, 8u);
    workgroupBarrier();
    fold_units(t, 4u);
    workgroupBarrier();
    fold_units(t, 2u);
    workgroupBarrier();
    fold_units(t, 1u);
    workgroupBarrier();
    for (var o = t; o < TILE_OUT; o += 64u) {
        let r = r0 + o / HIDDEN_TILE;
        let m = m0 + o % HIDDEN_TILE;
        if (r < st.rows && m < M0) {
            let b = WIN_LEN + m;
            let pre = unit_sums[o * 64u] + params4[b / 4u][b % 4u];
            acts_w[r * M0 + m] = act(pre);
        }
    }
}

// A later layer: a thread per (step row, unit).
@compute @workgroup_size(64)
fn forward_dense(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    let ins = layer.inputs;
    let outs_ = layer.outputs;
    if (i >= st.rows * outs_) {
        return;
    }
    let r = i / outs_;
    let o = i % outs_;
    let wb = layer.w_off + o * ins;
    let ab = layer.in_off + r * ins;
    var s = 0.0;
    for (var j = 0u; j < ins; j++) {
        s = fma(params_r[wb + j], acts_w[ab + j], s);
    }
    s += params_r[layer.b_off + o];
    acts_w[layer.out_off + i] = select(s, act(s), layer.hidden == 1u);
}

// ---- The objective.

const DEG: f32 = 0.017453292519943295; // radians per degree

// One workgroup: each thread takes rows t, t + 64, ... and adds their losses in order; a fixed tree adds the
// threads'. Writes d loss / d raw output for every row and output, the outputs as reported, and
// weight * (mean loss + penalty) into the history entry.
@compute @workgroup_size(64)
fn loss(@builtin(local_invocation_index) t: u32) {
    let rows = st.rows;
    let inv = 1.0 / f32(rows);
    var acc_loss = 0.0;
    for (var r = t; r < rows; r += 64u) {
        let src = index[st.row_base + r];
        let base = LAST_OFF + r * CLASSES;
        let ob = (st.out_base + r) * CLASSES;
        if (OBJECTIVE == 2u) {
            // log_softmax from the largest entry, then NLL of the row's class.
            var mx = acts_r[base];
            for (var c = 1u; c < CLASSES; c++) {
                mx = max(mx, acts_r[base + c]);
            }
            var se = 0.0;
            for (var c = 0u; c < CLASSES; c++) {
                se += exp(acts_r[base + c] - mx);
            }
            let lse = mx + log(se);
            let label = labels[src];
            for (var c = 0u; c < CLASSES; c++) {
                let lp = acts_r[base + c] - lse;
                outs[ob + c] = lp;
                deltas_w[base + c] = (exp(lp) - select(0.0, 1.0, c == label)) * inv;
            }
            acc_loss -= acts_r[base + label] - lse;
        } else {
            let o = acts_r[base];
            let y = targets[src];
            outs[ob] = o;
            if (OBJECTIVE == 0u) {
                let d = o - y;
                acc_loss += d * d;
                deltas_w[base] = 2.0 * d * inv;
            } else {
                // |exp(i a) - exp(i b)| = 2 |sin((a - b) / 2)|, and its derivative in a, sin(a - b) / that,
                // = sign(sin h) cos h with h = (a - b) / 2: the CPU's formulas, better conditioned in f32. The
                // difference is first brought into [-180, 180] degrees, which changes neither.
                var d = o - y;
                d -= 360.0 * round(d / 360.0);
                let h = 0.5 * DEG * d;
                let s = sin(h);
                let f = 2.0 * abs(s);
                acc_loss += f;
                deltas_w[base] = select(0.0, sign(s) * cos(h), f > 0.0) * DEG * inv;
            }
        }
    }
    let total = workgroup_sum(t, acc_loss);
    if (t == 0u) {
        let value = total / f32(rows) + scalars_r[0];
        let before = select(0.0, history[st.loss_slot], st.accumulate == 1u);
        history[st.loss_slot] = before + st.weight * value;
    }
}

// ---- Backward.

// d loss / d pre-activation of the layer before `layer`, from `layer`'s deltas: a thread per (row, input).
// ReLU's mask comes from the stored activation (> 0 exactly when the pre-activation is).
@compute @workgroup_size(64)
fn backward_delta(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    let ins = layer.inputs;
    let outs_ = layer.outputs;
    if (i >= st.rows * ins) {
        return;
    }
    let r = i / ins;
    let j = i % ins;
    let db = layer.out_off + r * outs_;
    var s = 0.0;
    for (var o = 0u; o < outs_; o++) {
        s = fma(deltas_w[db + o], params_r[layer.w_off + o * ins + j], s);
    }
    let a = acts_r[layer.in_off + i];
    deltas_w[layer.in_off + i] = select(s, select(0.0, s, a > 0.0), RELU);
}

// W_in's gradient: a thread per (COL_TILE vec4 columns, HIDDEN_TILE units), summing over the step's rows in
// order. A thread's columns are col_tiles apart, so adjacent threads read adjacent vec4s of a row.
@compute @workgroup_size(64)
fn grad_first(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    let col_tiles = (N4 + COL_TILE - 1u) / COL_TILE;
    let unit_tiles = (M0 + HIDDEN_TILE - 1u) / HIDDEN_TILE;
    if (i >= col_tiles * unit_tiles) {
        return;
    }
    let kt = i % col_tiles;
    let m0 = (i / col_tiles) * HIDDEN_TILE;
    // Columns past N4 and units past M0 repeat the last one and are not written.
    let k$c = min(kt + $cu * col_tiles, N4 - 1u);
    let u$h = min(m0 + $hu, M0 - 1u);
    var g$c_$h = vec4<f32>(0.0);
    for (var r = 0u; r < st.rows; r++) {
        let xb = index[st.row_base + r] * N4;
        let db = r * M0;
        let x$c = x[xb + k$c];
        let d$h = vec4<f32>(deltas_r[db + u$h]);
        g$c_$h = fma(d$h, x$c, g$c_$h);
    }
    if (kt + $cu * col_tiles < N4 && m0 + $hu < M0) { grads4_w[u$h * N4 + k$c] = g$c_$h; }
}

// A layer's weight and bias gradients (only the bias for the first layer): a thread per (unit, input), the
// bias as input `inputs`, summing over the step's rows in order.
@compute @workgroup_size(64)
fn grad_dense(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    let ins = layer.inputs;
    let outs_ = layer.outputs;
    let first = layer.first == 1u;
    let cols = select(ins + 1u, 1u, first);
    if (i >= outs_ * cols) {
        return;
    }
    let o = i / cols;
    let j = select(i % cols, ins, first);
    var s = 0.0;
    if (j == ins) {
        for (var r = 0u; r < st.rows; r++) {
            s += deltas_r[layer.out_off + r * outs_ + o];
        }
        grads_w[layer.b_off + o] = s;
    } else {
        for (var r = 0u; r < st.rows; r++) {
            s = fma(deltas_r[layer.out_off + r * outs_ + o], acts_r[layer.in_off + r * ins + j], s);
        }
        grads_w[layer.w_off + o * ins + j] = s;
    }
}

// ---- The update: a thread per parameter. The penalty's gradient, 2 l2 w + l1 sign(w) (0 at 0, as PyTorch's
// subgradient), joins W_in's; then torch.optim's SGD, SGD with momentum (buf = momentum buf + g, the first
// step's buf being g) or Adam, or, for checks, the whole gradient is stored back in grads.
@compute @workgroup_size(64)
fn update(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    if (i >= P_LEN) {
        return;
    }
    let w = params_w[i];
    var g = grads_w[i];
    if (i < WIN_LEN) {
        g += 2.0 * L2 * w + L1 * sign(w);
    }
    switch OPTIMIZER {
        case 0u: {
            grads_w[i] = g;
        }
        case 2u: {
            let b = MOMENTUM * moment1[i] + g;
            moment1[i] = b;
            params_w[i] = w - st.lr * b;
        }
        case 3u: {
            let m = BETA1 * moment1[i] + (1.0 - BETA1) * g;
            let v = BETA2 * moment2[i] + (1.0 - BETA2) * g * g;
            moment1[i] = m;
            moment2[i] = v;
            params_w[i] = w - st.step_size * m / (sqrt(v) / st.c2 + EPS);
        }
        default: {
            params_w[i] = w - st.lr * g;
        }
    }
}
