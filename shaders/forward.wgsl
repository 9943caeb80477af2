// The forward pass: hidden = act(x . w1^T + b1), out = hidden . w2 + b2, over training and test rows at once.
//
// forward_partial: split-K over the long reduction (the neurons). Each thread owns a register tile of
//   ROW_TILE rows x HIDDEN_TILE hidden units and walks the panel's columns with stride k_threads, so adjacent
//   threads read adjacent vec4s. It writes one partial sum per (thread, row, unit); no atomics, no barriers.
// forward_rows: one workgroup per row sums the partials in a fixed order (deterministic), adds the bias,
//   applies the nonlinearity and reduces the output layer.

@group(0) @binding(0) var<uniform> panel: Panel;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

fn hsum(v: vec4<f32>) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

// With WG_REDUCE (k_threads a multiple of 64), the 64 threads of a workgroup share one tile: they add their
// sums in workgroup memory, in a fixed order, and write one partial sum per workgroup instead of 64.
var<workgroup> tile_sums: array<f32, TILE_SUMS>;

// Threads are numbered with the split-K index fastest, then row tiles, then hidden tiles, and dispatched as
// a 2-D grid of workgroups when there are more than one dimension holds.
@compute @workgroup_size(64)
fn forward_partial(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let i = gid.x + gid.y * groups.x * 64u;
    let kt = i % panel.k_threads;
    let tile = i / panel.k_threads;
    let row_tiles = R_PAD / ROW_TILE;
    // Threads past the last tile compute nothing, but stay for the workgroup's barrier.
    let live = tile < row_tiles * (M_PAD / HIDDEN_TILE);
    let w4 = select(0u, panel.width4, live);
    let r0 = (tile % row_tiles) * ROW_TILE;
    let m0 = (tile / row_tiles) * HIDDEN_TILE;
    let xb$r = (r0 + $ru) * w4;
    let wb$h = (m0 + $hu) * w4;
    var a$r_$h = vec4<f32>(0.0);
    for (var k = kt; k < w4; k += panel.k_threads) {
        let x$r = x[xb$r + k];
        let v$h = w1[wb$h + k];
        a$r_$h = fma(x$r, v$h, a$r_$h);
    }
    if (WG_REDUCE) {
        tile_sums[t * TILE_OUTPUTS + $ru * HIDDEN_TILE + $hu] = hsum(a$r_$h);
        workgroupBarrier();
        for (var o = t; live && o < TILE_OUTPUTS; o += 64u) {
            var s = 0.0;
            for (var j = 0u; j < 64u; j++) {
                s += tile_sums[j * TILE_OUTPUTS + o];
            }
            let slot = panel.k_offset + kt / 64u;
            partial[(slot * R_PAD + r0 + o / HIDDEN_TILE) * M_PAD + m0 + o % HIDDEN_TILE] = s;
        }
    } else if (live) {
        let p0 = ((panel.k_offset + kt) * R_PAD + r0) * M_PAD + m0;
        partial[p0 + $ru * M_PAD + $hu] = hsum(a$r_$h);
    }
}

@group(0) @binding(4) var<storage, read> b1: array<f32>;
@group(0) @binding(5) var<storage, read> w2: array<f32>;
@group(0) @binding(6) var<storage, read> b2: array<f32>;
@group(0) @binding(7) var<storage, read_write> hid: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;

// Per-slice partial sums of forward_rows, when the hidden units are fewer than the threads.
var<workgroup> slice_sum: array<f32, 64>;

// Dispatched with one workgroup per real row (N_ROWS of them). With fewer than 64 hidden units the threads also
// split the split-K sums: thread t adds the partials k = s, s + S, ... of hidden unit t % M_PAD, where
// s = t / M_PAD and S = 64 / M_PAD slices, and the slices are added in a fixed order.
@compute @workgroup_size(64)
fn forward_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let r = wg.x;
    let slices = max(64u / M_PAD, 1u);
    let m_slice = t % M_PAD;
    let s = t / M_PAD;
    var acc = 0.0;
    if (slices > 1u && s < slices) {
        for (var k = s; k < K_TOTAL; k += slices) {
            acc += partial[(k * R_PAD + r) * M_PAD + m_slice];
        }
    }
    slice_sum[t] = acc;
    workgroupBarrier();
    var y = 0.0;
    if (slices > 1u) {
        if (t < M_PAD) {
            var pre = b1[t];
            for (var j = 0u; j < slices; j++) {
                pre += slice_sum[t + j * M_PAD];
            }
            let h = act(pre);
            hid[r * M_PAD + t] = h;
            y = w2[t] * h;
        }
    } else {
        for (var m = t; m < M_PAD; m += 64u) {
            var pre = b1[m];
            for (var k = 0u; k < K_TOTAL; k++) {
                pre += partial[(k * R_PAD + r) * M_PAD + m];
            }
            let h = act(pre);
            hid[r * M_PAD + m] = h;
            y = fma(w2[m], h, y);
        }
    }
    let total = workgroup_sum(t, y);
    if (t == 0u) {
        out[r] = total + b2[0];
    }
}
