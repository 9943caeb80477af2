// The forward pass: hidden = act(x . w1^T + b1), out = hidden . w2 + b2, over training and test rows at once.
//
// forward_partial: split-K over the long reduction (the neurons). Each thread owns a register tile of
//   ROW_TILE rows x HIDDEN_TILE hidden units and walks the panel's columns with stride k_threads, so adjacent
//   threads read adjacent vec4s. It writes one partial sum per (thread, row, unit), or with WG_REDUCE per
//   (workgroup, row, unit); no atomics.
// forward_gemm: the same partial sums as a tiled matrix product, for wide hidden layers on GPUs.
// forward_rows: one workgroup per row sums the partials in a fixed order (deterministic), adds the bias,
//   applies the nonlinearity and reduces the output layer; on a training row, it also writes the row's
//   d loss / d hidden (delta) for the backward pass.

@group(0) @binding(0) var<uniform> panel: Panel;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w1: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

fn hsum(v: vec4<f32>) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

// With WG_REDUCE (k_threads a multiple of 64), a workgroup holds 64 / K_LANES consecutive tiles and K_LANES
// split-K threads of each: the threads add their sums per tile in workgroup memory, in a fixed order, and each
// tile writes one partial sum per workgroup instead of one per thread. Tiles that share a workgroup read the
// same w1 columns at the same time, so fewer lanes per tile means fewer w1 reads from L2.
var<workgroup> tile_sums: array<f32, TILE_SUMS>;

// Without WG_REDUCE, threads are numbered with the split-K index fastest, then row tiles, then hidden tiles.
// Either way workgroups are dispatched as a 2-D grid when there are more than one dimension holds.
@compute @workgroup_size(64)
fn forward_partial(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let w = wg.x + wg.y * groups.x;
    let row_tiles = R_PAD / ROW_TILE;
    let tiles = row_tiles * (M_PAD / HIDDEN_TILE);
    let per_group = 64u / K_LANES;
    let k_groups = max(panel.k_threads / K_LANES, 1u);
    let i = w * 64u + t;
    let kt = select(i % panel.k_threads, (w % k_groups) * K_LANES + t % K_LANES, WG_REDUCE);
    let tile = select(i / panel.k_threads, (w / k_groups) * per_group + t / K_LANES, WG_REDUCE);
    // Threads past the last tile compute nothing, but stay for the workgroup's barrier.
    let live = tile < tiles;
    let w4 = select(0u, panel.width4, live);
    let r0 = (tile % row_tiles) * ROW_TILE;
    let m0 = (tile / row_tiles) * HIDDEN_TILE;
    let xb$r = (r0 + $ru) * w4;
    let wb$h = (m0 + $hu) * w4;
    var a$r_$h = vec4<f32>(0.0);
    var k = kt;
    if (FORWARD_UNROLL) {
        // Two steps' loads in flight before their multiply-adds, added in the same order as the loop below.
        let step = panel.k_threads;
        for (; k + step < w4; k += 2u * step) {
            let x$r = x[xb$r + k];
            let v$h = w1[wb$h + k];
            let y$r = x[xb$r + k + step];
            let u$h = w1[wb$h + k + step];
            a$r_$h = fma(x$r, v$h, a$r_$h);
            a$r_$h = fma(y$r, u$h, a$r_$h);
        }
    }
    for (; k < w4; k += panel.k_threads) {
        let x$r = x[xb$r + k];
        let v$h = w1[wb$h + k];
        a$r_$h = fma(x$r, v$h, a$r_$h);
    }
    if (WG_REDUCE) {
        tile_sums[t * TILE_OUTPUTS + $ru * HIDDEN_TILE + $hu] = hsum(a$r_$h);
        workgroupBarrier();
        let slot = panel.k_offset + w % k_groups;
        for (var o = t; o < per_group * TILE_OUTPUTS; o += 64u) {
            let sub = o / TILE_OUTPUTS;
            let q = o % TILE_OUTPUTS;
            let tile_o = (w / k_groups) * per_group + sub;
            if (tile_o < tiles) {
                var s = 0.0;
                for (var j = 0u; j < K_LANES; j++) {
                    s += tile_sums[(sub * K_LANES + j) * TILE_OUTPUTS + q];
                }
                let row = (tile_o % row_tiles) * ROW_TILE + q / HIDDEN_TILE;
                let m = (tile_o / row_tiles) * HIDDEN_TILE + q % HIDDEN_TILE;
                partial[(slot * R_PAD + row) * M_PAD + m] = s;
            }
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
@group(0) @binding(9) var<storage, read> targets: array<f32>;
@group(0) @binding(10) var<storage, read_write> delta: array<f32>;

// Per-slice partial sums of forward_rows, when the hidden units are fewer than the threads.
var<workgroup> slice_sum: array<f32, 64>;

// Dispatched with one workgroup per real row (N_ROWS of them). With fewer than 64 hidden units the threads also
// split the split-K sums: thread t adds the partials k = s, s + S, ... of hidden unit t % M_PAD, where
// s = t / M_PAD and S = 64 / M_PAD slices, and the slices are added in a fixed order.
// On a training row it also starts the backward pass, which needs nothing but this row: d loss / d hidden
// pre-activation for the row's hidden units (delta), from the output it has just computed.
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
    let o = workgroup_sum(t, y) + b2[0];
    if (t == 0u) {
        out[r] = o;
    }
    if (r < N_TRAIN) {
        // The mean squared error's derivative; ReLU passes no gradient where it output zero, the identity all.
        let d = 2.0 * (o - targets[r]) / f32(N_TRAIN);
        for (var m = t; m < M_PAD; m += 64u) {
            // This thread wrote hid[r, m] above.
            let h = hid[r * M_PAD + m];
            delta[r * M_PAD + m] = select(d * w2[m], 0.0, RELU && h <= 0.0);
        }
    }
}

// forward_gemm: the same partial sums as forward_partial for wide hidden layers on GPUs, as a tiled matrix
// product. A workgroup of 16 x 16 threads owns 128 rows x 128 hidden units over one split-K chunk of the panel's
// columns (panel.k_threads chunks): it stages 16 columns of both operands at a time in workgroup memory,
// transposed so that each thread reads 8 rows and 8 hidden units as four vec4s and does 64 multiply-adds.
// Needs R_PAD and M_PAD multiples of 128.
var<workgroup> x_stage: array<vec4<f32>, 512>;  // [16 columns][32 row quads]
var<workgroup> w_stage: array<vec4<f32>, 512>;  // [16 columns][32 hidden quads]

fn store4(i: u32, v: vec4<f32>) {
    partial[i] = v.x;
    partial[i + 1u] = v.y;
    partial[i + 2u] = v.z;
    partial[i + 3u] = v.w;
}

@compute @workgroup_size(16, 16)
fn forward_gemm(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let w4 = panel.width4;
    let per_chunk = (w4 + panel.k_threads - 1u) / panel.k_threads;
    let k_begin = wg.x * per_chunk;
    let k_end = min(k_begin + per_chunk, w4);
    let r_base = wg.y * 128u;
    let m_base = wg.z * 128u;
    // Staging: threads 0..127 load x, 128..255 load w1; each takes 4 rows of one vec4 column and transposes
    // them into one vec4 per column.
    let e = t % 128u;
    let quad = e / 4u;
    let kv = e % 4u;
    let base = select(r_base, m_base, t >= 128u) + 4u * quad;
    var c0_0 = vec4<f32>(0.0); var c0_1 = vec4<f32>(0.0);
    var c1_0 = vec4<f32>(0.0); var c1_1 = vec4<f32>(0.0);
    var c2_0 = vec4<f32>(0.0); var c2_1 = vec4<f32>(0.0);
    var c3_0 = vec4<f32>(0.0); var c3_1 = vec4<f32>(0.0);
    var c4_0 = vec4<f32>(0.0); var c4_1 = vec4<f32>(0.0);
    var c5_0 = vec4<f32>(0.0); var c5_1 = vec4<f32>(0.0);
    var c6_0 = vec4<f32>(0.0); var c6_1 = vec4<f32>(0.0);
    var c7_0 = vec4<f32>(0.0); var c7_1 = vec4<f32>(0.0);
    for (var k0 = k_begin; k0 < k_end; k0 += 4u) {
        let k = k0 + kv;
        var q0 = vec4<f32>(0.0);
        var q1 = vec4<f32>(0.0);
        var q2 = vec4<f32>(0.0);
        var q3 = vec4<f32>(0.0);
        if (k < k_end) {
            if (t < 128u) {
                q0 = x[(base + 0u) * w4 + k];
                q1 = x[(base + 1u) * w4 + k];
                q2 = x[(base + 2u) * w4 + k];
                q3 = x[(base + 3u) * w4 + k];
            } else {
                q0 = w1[(base + 0u) * w4 + k];
                q1 = w1[(base + 1u) * w4 + k];
                q2 = w1[(base + 2u) * w4 + k];
                q3 = w1[(base + 3u) * w4 + k];
            }
        }
        let s = kv * 4u * 32u + quad;
        if (t < 128u) {
            x_stage[s] = vec4<f32>(q0.x, q1.x, q2.x, q3.x);
            x_stage[s + 32u] = vec4<f32>(q0.y, q1.y, q2.y, q3.y);
            x_stage[s + 64u] = vec4<f32>(q0.z, q1.z, q2.z, q3.z);
            x_stage[s + 96u] = vec4<f32>(q0.w, q1.w, q2.w, q3.w);
        } else {
            w_stage[s] = vec4<f32>(q0.x, q1.x, q2.x, q3.x);
            w_stage[s + 32u] = vec4<f32>(q0.y, q1.y, q2.y, q3.y);
            w_stage[s + 64u] = vec4<f32>(q0.z, q1.z, q2.z, q3.z);
            w_stage[s + 96u] = vec4<f32>(q0.w, q1.w, q2.w, q3.w);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk++) {
            // Rows 4 lid.y + 0..3 and 64 + 4 lid.y + 0..3; hidden units likewise with lid.x.
            let a0 = x_stage[kk * 32u + lid.y];
            let a1 = x_stage[kk * 32u + 16u + lid.y];
            let b0 = w_stage[kk * 32u + lid.x];
            let b1 = w_stage[kk * 32u + 16u + lid.x];
            c0_0 = fma(vec4<f32>(a0.x), b0, c0_0); c0_1 = fma(vec4<f32>(a0.x), b1, c0_1);
            c1_0 = fma(vec4<f32>(a0.y), b0, c1_0); c1_1 = fma(vec4<f32>(a0.y), b1, c1_1);
            c2_0 = fma(vec4<f32>(a0.z), b0, c2_0); c2_1 = fma(vec4<f32>(a0.z), b1, c2_1);
            c3_0 = fma(vec4<f32>(a0.w), b0, c3_0); c3_1 = fma(vec4<f32>(a0.w), b1, c3_1);
            c4_0 = fma(vec4<f32>(a1.x), b0, c4_0); c4_1 = fma(vec4<f32>(a1.x), b1, c4_1);
            c5_0 = fma(vec4<f32>(a1.y), b0, c5_0); c5_1 = fma(vec4<f32>(a1.y), b1, c5_1);
            c6_0 = fma(vec4<f32>(a1.z), b0, c6_0); c6_1 = fma(vec4<f32>(a1.z), b1, c6_1);
            c7_0 = fma(vec4<f32>(a1.w), b0, c7_0); c7_1 = fma(vec4<f32>(a1.w), b1, c7_1);
        }
        workgroupBarrier();
    }
    let row0 = r_base + 4u * lid.y + 0u;
    let row1 = r_base + 4u * lid.y + 1u;
    let row2 = r_base + 4u * lid.y + 2u;
    let row3 = r_base + 4u * lid.y + 3u;
    let row4 = r_base + 4u * lid.y + 64u;
    let row5 = r_base + 4u * lid.y + 65u;
    let row6 = r_base + 4u * lid.y + 66u;
    let row7 = r_base + 4u * lid.y + 67u;
    let m0 = m_base + 4u * lid.x;
    let m1 = m0 + 64u;
    let slot = panel.k_offset + wg.x;
    store4((slot * R_PAD + row0) * M_PAD + m0, c0_0);
    store4((slot * R_PAD + row0) * M_PAD + m1, c0_1);
    store4((slot * R_PAD + row1) * M_PAD + m0, c1_0);
    store4((slot * R_PAD + row1) * M_PAD + m1, c1_1);
    store4((slot * R_PAD + row2) * M_PAD + m0, c2_0);
    store4((slot * R_PAD + row2) * M_PAD + m1, c2_1);
    store4((slot * R_PAD + row3) * M_PAD + m0, c3_0);
    store4((slot * R_PAD + row3) * M_PAD + m1, c3_1);
    store4((slot * R_PAD + row4) * M_PAD + m0, c4_0);
    store4((slot * R_PAD + row4) * M_PAD + m1, c4_1);
    store4((slot * R_PAD + row5) * M_PAD + m0, c5_0);
    store4((slot * R_PAD + row5) * M_PAD + m1, c5_1);
    store4((slot * R_PAD + row6) * M_PAD + m0, c6_0);
    store4((slot * R_PAD + row6) * M_PAD + m1, c6_1);
    store4((slot * R_PAD + row7) * M_PAD + m0, c7_0);
    store4((slot * R_PAD + row7) * M_PAD + m1, c7_1);
}
