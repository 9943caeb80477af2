// torch.optim.Adam and torch.optim.AdamW (src/optim/adam.rs, adamw.rs), with BETA1, BETA2 and EPS printed in
// front. st.opt.x: lr / (1 - beta1^t); st.opt.y: sqrt(1 - beta2^t); st.opt.z: the decoupled decay the weight is
// multiplied by first (AdamW's 1 - lr * weight_decay; Adam's 1, which leaves w as it is). The first moment is
// state[i], the second state[P_LEN + i].
fn optimizer_step(i: u32, w: f32, g: f32) {
    let decayed = w * st.opt.z;
    let m = BETA1 * state[i] + (1.0 - BETA1) * g;
    let v = BETA2 * state[P_LEN + i] + (1.0 - BETA2) * g * g;
    state[i] = m;
    state[P_LEN + i] = v;
    params_w[i] = decayed - st.opt.x * m / (sqrt(v) / st.opt.y + EPS);
}
