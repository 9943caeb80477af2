// grad_forward: one pass over the response matrix per epoch. For its chunk of FUSED_COLS vec4 columns a
// workgroup first finishes the previous epoch's backward pass — the gradient of in_layer.weight over the
// training rows and its SGD update — and then, with the updated weights of the chunk still in workgroup memory
// and the chunk's columns of x still in cache, computes the next forward pass's split-K partial sums over every
// row (one partial per chunk; forward_rows adds them in a fixed order). This is input_grad and forward_partial
// in one kernel, and the matrix is read from memory once an epoch instead of 1.6 times.
//
// Phase 1: thread t takes column t % FUSED_COLS and every (64 / FUSED_COLS)-th training row; the row groups meet
// in workgroup memory in a fixed order. Phase 2: thread t takes rows t, t + 64, ... and every hidden unit, reading
// the chunk's weights from workgroup memory (the same address for all threads: a broadcast).
// With delta all zero (before the first epoch) it is a plain forward pass. GPUs only: training mode.

const FUSED_COLS: u32 = 8u;
const FUSED_GROUPS: u32 = 8u;  // 64 / FUSED_COLS

@group(0) @binding(0) var<uniform> hyper: Hyper;
@group(0) @binding(1) var<uniform> panel: Panel;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> w1: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> delta: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

// The chunk's updated weights, [hidden unit][column].
var<workgroup> w_chunk: array<vec4<f32>, M_PAD * FUSED_COLS>;
// Phase 1's per-group sums, [group][column][hidden in tile].
var<workgroup> group_sums: array<vec4<f32>, 64u * HIDDEN_TILE>;

fn hsum4(v: vec4<f32>) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

@compute @workgroup_size(64)
fn grad_forward(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let w4 = panel.width4;
    let k0 = wg.x * FUSED_COLS;
    let c = t % FUSED_COLS;
    let g = t / FUSED_COLS;
    let col = k0 + c;
    let live = col < w4;
    let rows = select(0u, N_TRAIN, live);
    let lr = hyper.lr;
    for (var mt = 0u; mt < M_PAD; mt += HIDDEN_TILE) {
        var g$h = vec4<f32>(0.0);
        for (var r = g; r < rows; r += FUSED_GROUPS) {
            let xv = x[r * w4 + col];
            let d = r * M_PAD + mt;
            g$h = fma(vec4<f32>(delta[d + $hu]), xv, g$h);
        }
        group_sums[(g * FUSED_COLS + c) * HIDDEN_TILE + $hu] = g$h;
        workgroupBarrier();
        if (g == 0u) {
            for (var j = 1u; j < FUSED_GROUPS; j++) {
                g$h += group_sums[(j * FUSED_COLS + c) * HIDDEN_TILE + $hu];
            }
            var nw$h = vec4<f32>(0.0);
            if (live) {
                nw$h = w1[(mt + $hu) * w4 + col] - lr * g$h;
                w1[(mt + $hu) * w4 + col] = nw$h;
            }
            w_chunk[(mt + $hu) * FUSED_COLS + c] = nw$h;
        }
        workgroupBarrier();
    }
    // Phase 2: the forward pass's partial sums of this chunk, every row.
    let cols = min(FUSED_COLS, w4 - min(k0, w4));
    let slot = panel.k_offset + wg.x;
    for (var r = t; r < R_PAD; r += 64u) {
        for (var mt = 0u; mt < M_PAD; mt += HIDDEN_TILE) {
            var a$h = vec4<f32>(0.0);
            for (var cc = 0u; cc < cols; cc++) {
                let xv = x[r * w4 + k0 + cc];
                a$h = fma(xv, w_chunk[(mt + $hu) * FUSED_COLS + cc], a$h);
            }
            partial[(slot * R_PAD + r) * M_PAD + mt + $hu] = hsum4(a$h);
        }
    }
}
