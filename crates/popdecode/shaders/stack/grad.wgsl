// stack_grad: the first layer's gradient of every member in one product over the rows that are some member's
// training row (a member's deltas are 0 on its other rows), fused with its update: a thread per (COL_TILE vec4
// columns, HIDDEN_TILE stacked units), summing over those rows in order, then its member's penalty gradient,
// momentum and learning rate. Weights outside a member's neurons (mask 0) are never stepped and keep no
// momentum. A thread's columns are col_tiles apart, so adjacent threads read adjacent vec4s. Written in the
// tile notation (src/gpu/runtime/wgsl.rs).
#import stack/shapes.wgsl

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> train_rows: array<u32>;
@group(0) @binding(3) var<storage, read> hyper: array<Hyper>;
@group(0) @binding(4) var<storage, read> mask: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> w1: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> v1: array<vec4<f32>>;

fn step(wi: u32, mi: u32, g: vec4<f32>, h: Hyper) {
    let on = mask[mi] != vec4<f32>(0.0);
    let w = w1[wi];
    // PyTorch's subgradient of |w| at 0 is 0, as WGSL's sign.
    var d = g + 2.0 * h.l2 * w + h.l1 * sign(w);
    if (MOMENTUM) {
        let v = select(vec4<f32>(0.0), h.momentum * v1[wi] + d, on);
        v1[wi] = v;
        d = v;
    }
    w1[wi] = select(w, w - h.lr * d, on);
}

@compute @workgroup_size(64)
fn stack_grad(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    let col_tiles = (C4 + COL_TILE - 1u) / COL_TILE;
    let unit_tiles = KM_PAD / HIDDEN_TILE;
    if (i >= col_tiles * unit_tiles) {
        return;
    }
    let kt = i % col_tiles;
    let m0 = (i / col_tiles) * HIDDEN_TILE;
    // Columns past C4 repeat the last one and are not written.
    let k$c = min(kt + $cu * col_tiles, C4 - 1u);
    var g$c_$h = vec4<f32>(0.0);
    for (var u = 0u; u < NU; u++) {
        let r = train_rows[u];
        let db = r * KM_PAD + m0;
        let x$c = x[r * C4 + k$c];
        let d$h = vec4<f32>(delta[db + $hu]);
        g$c_$h = fma(d$h, x$c, g$c_$h);
    }
    let j$h = m0 + $hu;
    let mem$h = min(j$h / M, K - 1u);
    let hy$h = hyper[mem$h];
    if (kt + $cu * col_tiles < C4 && j$h < K * M) { step(j$h * C4 + k$c, mem$h * C4 + k$c, g$c_$h, hy$h); }
}
