// torch.optim.Adam (src/optim/adam.rs), with BETA1, BETA2 and EPS printed in front. st.opt.x: lr / (1 - beta1^t);
// st.opt.y: sqrt(1 - beta2^t). The first moment is state[i], the second state[P_LEN + i].
fn optimizer_step(i: u32, w: f32, g: f32) {
    let m = BETA1 * state[i] + (1.0 - BETA1) * g;
    let v = BETA2 * state[P_LEN + i] + (1.0 - BETA2) * g * g;
    state[i] = m;
    state[P_LEN + i] = v;
    params_w[i] = w - st.opt.x * m / (sqrt(v) / st.opt.y + EPS);
}
