// W_in's gradient: a thread per (COL_TILE vec4 columns, HIDDEN_TILE units), summing over the step's rows in
// order. A thread's columns are col_tiles apart, so adjacent threads read adjacent vec4s of a row. Written in the
// tile notation (src/gpu/runtime/wgsl.rs): a line with a tile marker (a dollar sign before c or h) is repeated for
// each column or unit of the tile.
#import general/bindings.wgsl
#import general/common.wgsl
#import common/tiles.wgsl

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
