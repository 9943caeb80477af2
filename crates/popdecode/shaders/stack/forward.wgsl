// stack_forward: the first layer of every member on every row in one product, split-K over the columns. Each
// thread owns a register tile of ROW_TILE rows x HIDDEN_TILE stacked hidden units (of any members) and walks
// the columns with stride KT, so adjacent threads read adjacent vec4s; it writes one partial sum per (row,
// unit), which stack_head adds up in order. Written in the tile notation (src/gpu/runtime/wgsl.rs).
#import stack/shapes.wgsl
#import common/hsum.wgsl

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w1: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(64)
fn stack_forward(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    let row_tiles = R_PAD / ROW_TILE;
    let tiles = row_tiles * (KM_PAD / HIDDEN_TILE);
    if (i >= KT * tiles) {
        return;
    }
    let kt = i % KT;
    let tile = i / KT;
    let r0 = (tile % row_tiles) * ROW_TILE;
    let m0 = (tile / row_tiles) * HIDDEN_TILE;
    let xb$r = (r0 + $ru) * C4;
    let wb$h = (m0 + $hu) * C4;
    var a$r_$h = vec4<f32>(0.0);
    for (var k = kt; k < C4; k += KT) {
        let x$r = x[xb$r + k];
        let v$h = w1[wb$h + k];
        a$r_$h = fma(x$r, v$h, a$r_$h);
    }
    let p0 = (kt * R_PAD + r0) * KM_PAD + m0;
    partial[p0 + $ru * KM_PAD + $hu] = hsum(a$r_$h);
}
