// d loss / d pre-activation of the layer before `layer`, from `layer`'s deltas: a thread per (row, input).
// ReLU's mask comes from the stored activation (> 0 exactly when the pre-activation is).
#import general/bindings.wgsl
#import general/common.wgsl

@compute @workgroup_size(64)
fn backward_delta(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    let ins = layer.inputs;
    let outs_ = layer.outputs;
    if (i >= st.rows * ins) {
        return;
    }
    let r = i / ins;
    let j = i % ins;
    let db = layer.out_off + r * outs_;
    var s = 0.0;
    for (var o = 0u; o < outs_; o++) {
        s = fma(deltas_w[db + o], params_r[layer.w_off + o * ins + j], s);
    }
    let a = acts_r[layer.in_off + i];
    deltas_w[layer.in_off + i] = select(s, select(0.0, s, a > 0.0), RELU);
}
