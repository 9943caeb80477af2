// stack_penalty: a workgroup per stacked hidden unit: l2 * sum w^2 + l1 * sum |w| over its row of w1 with its
// member's l1 and l2, summed in a fixed tree. stack_record adds a member's rows. Dispatched only when some
// member has a penalty (pen stays 0 otherwise).
#import stack/shapes.wgsl
#import common/workgroup_sum.wgsl

@group(0) @binding(0) var<storage, read> w1: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> hyper: array<Hyper>;
@group(0) @binding(2) var<storage, read_write> pen: array<f32>;

@compute @workgroup_size(64)
fn stack_penalty(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let j = min(wg.x + wg.y * groups.x, K * M - 1u);
    let h = hyper[j / M];
    var s = 0.0;
    for (var c = t; c < C4; c += 64u) {
        let w = w1[j * C4 + c];
        s += h.l2 * dot(w, w) + h.l1 * ((abs(w.x) + abs(w.y)) + (abs(w.z) + abs(w.w)));
    }
    let total = workgroup_sum(t, s);
    if (t == 0u && wg.x + wg.y * groups.x < K * M) {
        pen[j] = total;
    }
}
