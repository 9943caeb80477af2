// A later layer's outputs for the step's rows: a thread per (step row, unit).
#import general/bindings.wgsl
#import general/common.wgsl

@compute @workgroup_size(64)
fn forward_dense(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    let ins = layer.inputs;
    let outs_ = layer.outputs;
    if (i >= st.rows * outs_) {
        return;
    }
    let r = i / outs_;
    let o = i % outs_;
    let wb = layer.w_off + o * ins;
    let ab = layer.in_off + r * ins;
    var s = 0.0;
    for (var j = 0u; j < ins; j++) {
        s = fma(params_r[wb + j], acts_w[ab + j], s);
    }
    s += params_r[layer.b_off + o];
    acts_w[layer.out_off + i] = select(s, act(s), layer.hidden == 1u);
}
