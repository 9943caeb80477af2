// nn.MSELoss on one output in degrees (src/objective/mse.rs): one row's squared error.
fn row_loss(src: u32, base: u32, ob: u32, inv: f32) -> f32 {
    let o = acts_r[base];
    outs[ob] = o;
    let d = o - targets[src];
    deltas_w[base] = 2.0 * d * inv;
    return d * d;
}
