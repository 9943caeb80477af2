// torch.optim.AdamW (src/optim/adamw.rs), with BETA1, BETA2 and EPS printed in front. st.opt.z: 1 - lr *
// weight_decay, the decay; then Adam's step (optim/adam.wgsl) from the decayed weight, st.opt.x and st.opt.y being
// Adam's. The first moment is state[i], the second state[P_LEN + i].
fn optimizer_step(i: u32, w: f32, g: f32) {
    let decayed = w * st.opt.z;
    let m = BETA1 * state[i] + (1.0 - BETA1) * g;
    let v = BETA2 * state[P_LEN + i] + (1.0 - BETA2) * g * g;
    state[i] = m;
    state[P_LEN + i] = v;
    params_w[i] = decayed - st.opt.x * m / (sqrt(v) / st.opt.y + EPS);
}
