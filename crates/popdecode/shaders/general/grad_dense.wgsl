// A layer's weight and bias gradients (only the bias for the first layer): a thread per (unit, input), the
// bias as input `inputs`, summing over the step's rows in order.
#import general/bindings.wgsl
#import general/common.wgsl

@compute @workgroup_size(64)
fn grad_dense(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    let ins = layer.inputs;
    let outs_ = layer.outputs;
    let first = layer.first == 1u;
    let cols = select(ins + 1u, 1u, first);
    if (i >= outs_ * cols) {
        return;
    }
    let o = i / cols;
    let j = select(i % cols, ins, first);
    var s = 0.0;
    if (j == ins) {
        for (var r = 0u; r < st.rows; r++) {
            s += deltas_r[layer.out_off + r * outs_ + o];
        }
        grads_w[layer.b_off + o] = s;
    } else {
        for (var r = 0u; r < st.rows; r++) {
            s = fma(deltas_r[layer.out_off + r * outs_ + o], acts_r[layer.in_off + r * ins + j], s);
        }
        grads_w[layer.w_off + o * ins + j] = s;
    }
}
