#import tutorial/small_grad_work.wgsl
#import tutorial/weight_io.wgsl

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
