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

// Threads are numbered with the split-K index fastest, then row tiles, then hidden tiles, and dispatched as
// a 2-D grid of workgroups when there are more than one dimension holds.
@compute @workgroup_size(64)
fn forward_partial(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = gid.x + gid.y * groups.x * 64u;
    let kt = i % panel.k_threads;
    let tile = i / panel.k_threads;
    let row_tiles = R_PAD / ROW_TILE;
    if (tile >= row_tiles * (M_PAD / HIDDEN_TILE)) {
        return;
    }
    let w4 = panel.width4;
    let r0 = (tile % row_tiles) * ROW_TILE;
    let m0 = (tile / row_tiles) * HIDDEN_TILE;
    let x0b = r0 * w4;
    let x1b = x0b + w4;
    let x2b = x1b + w4;
    let x3b = x2b + w4;
    let w0b = m0 * w4;
    let w1b = w0b + w4;
    let w2b = w1b + w4;
    let w3b = w2b + w4;
    let w4b = w3b + w4;
    // Scalar-named accumulators, not an indexed array: drivers keep these in registers.
    var a00 = vec4<f32>(0.0); var a01 = vec4<f32>(0.0); var a02 = vec4<f32>(0.0); var a03 = vec4<f32>(0.0); var a04 = vec4<f32>(0.0);
    var a10 = vec4<f32>(0.0); var a11 = vec4<f32>(0.0); var a12 = vec4<f32>(0.0); var a13 = vec4<f32>(0.0); var a14 = vec4<f32>(0.0);
    var a20 = vec4<f32>(0.0); var a21 = vec4<f32>(0.0); var a22 = vec4<f32>(0.0); var a23 = vec4<f32>(0.0); var a24 = vec4<f32>(0.0);
    var a30 = vec4<f32>(0.0); var a31 = vec4<f32>(0.0); var a32 = vec4<f32>(0.0); var a33 = vec4<f32>(0.0); var a34 = vec4<f32>(0.0);
    for (var k = kt; k < w4; k += panel.k_threads) {
        let x0 = x[x0b + k];
        let x1 = x[x1b + k];
        let x2 = x[x2b + k];
        let x3 = x[x3b + k];
        let v0 = w1[w0b + k];
        let v1 = w1[w1b + k];
        let v2 = w1[w2b + k];
        let v3 = w1[w3b + k];
        let v4 = w1[w4b + k];
        a00 = fma(x0, v0, a00); a01 = fma(x0, v1, a01); a02 = fma(x0, v2, a02); a03 = fma(x0, v3, a03); a04 = fma(x0, v4, a04);
        a10 = fma(x1, v0, a10); a11 = fma(x1, v1, a11); a12 = fma(x1, v2, a12); a13 = fma(x1, v3, a13); a14 = fma(x1, v4, a14);
        a20 = fma(x2, v0, a20); a21 = fma(x2, v1, a21); a22 = fma(x2, v2, a22); a23 = fma(x2, v3, a23); a24 = fma(x2, v4, a24);
        a30 = fma(x3, v0, a30); a31 = fma(x3, v1, a31); a32 = fma(x3, v2, a32); a33 = fma(x3, v3, a33); a34 = fma(x3, v4, a34);
    }
    let p0 = ((panel.k_offset + kt) * R_PAD + r0) * M_PAD + m0;
    let p1 = p0 + M_PAD;
    let p2 = p1 + M_PAD;
    let p3 = p2 + M_PAD;
    partial[p0] = hsum(a00); partial[p0 + 1u] = hsum(a01); partial[p0 + 2u] = hsum(a02); partial[p0 + 3u] = hsum(a03); partial[p0 + 4u] = hsum(a04);
    partial[p1] = hsum(a10); partial[p1 + 1u] = hsum(a11); partial[p1 + 2u] = hsum(a12); partial[p1 + 3u] = hsum(a13); partial[p1 + 4u] = hsum(a14);
    partial[p2] = hsum(a20); partial[p2 + 1u] = hsum(a21); partial[p2 + 2u] = hsum(a22); partial[p2 + 3u] = hsum(a23); partial[p2 + 4u] = hsum(a24);
    partial[p3] = hsum(a30); partial[p3 + 1u] = hsum(a31); partial[p3 + 2u] = hsum(a32); partial[p3 + 3u] = hsum(a33); partial[p3 + 4u] = hsum(a34);
}

@group(0) @binding(4) var<storage, read> b1: array<f32>;
@group(0) @binding(5) var<storage, read> w2: array<f32>;
@group(0) @binding(6) var<storage, read> b2: array<f32>;
@group(0) @binding(7) var<storage, read_write> hid: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;

const ROW_THREADS: u32 = 64u;
var<workgroup> row_part: array<f32, 64>;

// Dispatched with one workgroup per real row (N_ROWS of them).
@compute @workgroup_size(64)
fn forward_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let r = wg.x;
    var y = 0.0;
    for (var m = t; m < M_PAD; m += ROW_THREADS) {
        var s = b1[m];
        for (var k = 0u; k < K_TOTAL; k++) {
            s += partial[(k * R_PAD + r) * M_PAD + m];
        }
        let h = act(s);
        hid[r * M_PAD + m] = h;
        y = fma(w2[m], h, y);
    }
    // A fixed tree, written out: barriers stay out of loops (some drivers compile those slowly).
    row_part[t] = y;
    workgroupBarrier();
    if (t < 32u) { row_part[t] += row_part[t + 32u]; }
    workgroupBarrier();
    if (t < 16u) { row_part[t] += row_part[t + 16u]; }
    workgroupBarrier();
    if (t < 8u) { row_part[t] += row_part[t + 8u]; }
    workgroupBarrier();
    if (t < 4u) { row_part[t] += row_part[t + 4u]; }
    workgroupBarrier();
    if (t < 2u) { row_part[t] += row_part[t + 2u]; }
    workgroupBarrier();
    if (t == 0u) {
        out[r] = (row_part[0] + row_part[1]) + b2[0];
    }
}
