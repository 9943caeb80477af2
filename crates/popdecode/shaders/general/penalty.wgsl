// The penalty's value at the current weights, l2 * sum W_in^2 + l1 * sum |W_in|: sums over chunks of W_in
// (penalty_partial, once per column panel, in order), then over the chunks (penalty_final), both in fixed order.
// The loss kernel adds it.
#import general/bindings.wgsl
#import general/common.wgsl
#import common/workgroup_sum.wgsl

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
    // A panel after the first adds its chunk's sums to the earlier panels'.
    if (t == 0u) {
        if (PANEL_FIRST) {
            pen_partials_w[2u * wg.x] = s;
            pen_partials_w[2u * wg.x + 1u] = a;
        } else {
            pen_partials_w[2u * wg.x] += s;
            pen_partials_w[2u * wg.x + 1u] += a;
        }
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
