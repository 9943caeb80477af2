// The update: a thread per parameter. The penalty's gradient, 2 l2 w + l1 sign(w) (0 at 0, as PyTorch's
// subgradient), joins W_in's; then the optimizer steps the parameter.
//
// The optimizer's own WGSL (shaders/general/optim/ with its constants printed in front by its file in src/optim/,
// imported as generated/optimizer.wgsl) gives `optimizer_step(i, w, g)`: writes parameter i's new value (from `w`
// and its whole gradient `g`) to params_w[i], keeping its moment k in state[k * P_LEN + i] and reading its
// scalars for the step in st.opt. For checks, shaders/general/store_gradient.wgsl stores the gradient instead.
#import general/bindings.wgsl
#import general/common.wgsl
#import generated/optimizer.wgsl

@compute @workgroup_size(64)
fn update(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    if (i >= P_LEN) {
        return;
    }
    let w = params_w[i];
    var g = grads_w[i];
    if (i < WIN_LEN) {
        g += 2.0 * L2 * w + L1 * sign(w);
    }
    optimizer_step(i, w, g);
}
