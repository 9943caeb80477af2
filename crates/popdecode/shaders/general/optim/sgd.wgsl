// torch.optim.SGD (src/optim/sgd.rs), with MOMENTUM printed in front. st.opt.x: the learning rate. With momentum,
// the buffer is state[i].
fn optimizer_step(i: u32, w: f32, g: f32) {
    if (MOMENTUM == 0.0) {
        params_w[i] = w - st.opt.x * g;
    } else {
        let b = MOMENTUM * state[i] + g;
        state[i] = b;
        params_w[i] = w - st.opt.x * b;
    }
}
