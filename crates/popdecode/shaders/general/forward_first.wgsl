// The first layer's outputs for the step's rows: a workgroup per tile of ROW_TILE step rows x HIDDEN_TILE units,
// once per column panel (bindings.wgsl), each adding its panel's sums to those before it.
// Its 64 threads stride the rows' vec4s, each keeping a sum per (row, unit) in registers, which a fixed tree adds
// up across the threads: each row of x is read once per unit tile, each row of W_in once per row tile. Written in
// the tile notation (src/gpu/runtime/wgsl.rs): a line with a tile marker (a dollar sign before r or h) is repeated
// for each row or unit of the tile.
#import general/bindings.wgsl
#import general/common.wgsl
#import common/tiles.wgsl

const TILE_OUT: u32 = ROW_TILE * HIDDEN_TILE;
var<workgroup> unit_sums: array<f32, 64u * TILE_OUT>;

fn fold_units(t: u32, stride: u32) {
    if (t < stride) {
        for (var o = 0u; o < TILE_OUT; o++) {
            unit_sums[o * 64u + t] += unit_sums[o * 64u + t + stride];
        }
    }
}

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
            // Across panels: the sum so far plus this panel's; the bias and the nonlinearity after the last.
            var pre = unit_sums[o * 64u];
            if (!PANEL_FIRST) {
                pre = acts_w[r * M0 + m] + pre;
            }
            if (PANEL_LAST) {
                acts_w[r * M0 + m] = act(pre + params_r[WIN_LEN + m]);
            } else {
                acts_w[r * M0 + m] = pre;
            }
        }
    }
}
