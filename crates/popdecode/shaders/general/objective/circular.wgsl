// The circular loss on one output in degrees (src/objective/circular.rs): one row's |exp(i a) - exp(i b)|.

const DEG: f32 = 0.017453292519943295; // radians per degree

// |exp(i a) - exp(i b)| = 2 |sin((a - b) / 2)|, and its derivative in a, sin(a - b) / that, = sign(sin h) cos h
// with h = (a - b) / 2: the CPU's formulas, better conditioned in f32. The difference is first brought into
// [-180, 180] degrees, which changes neither.
fn row_loss(src: u32, base: u32, ob: u32, inv: f32) -> f32 {
    let o = acts_r[base];
    outs[ob] = o;
    var d = o - targets[src];
    d -= 360.0 * round(d / 360.0);
    let h = 0.5 * DEG * d;
    let s = sin(h);
    let f = 2.0 * abs(s);
    deltas_w[base] = select(0.0, sign(s) * cos(h), f > 0.0) * DEG * inv;
    return f;
}
