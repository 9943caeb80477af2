// nn.NLLLoss through LogSoftmax on CLASSES outputs (src/objective/nll.rs): one row's log_softmax, computed from
// its largest entry, and the negative log-likelihood of its class. The outputs reported are the log-probabilities.
fn row_loss(src: u32, base: u32, ob: u32, inv: f32) -> f32 {
    var mx = acts_r[base];
    for (var c = 1u; c < CLASSES; c++) {
        mx = max(mx, acts_r[base + c]);
    }
    var se = 0.0;
    for (var c = 0u; c < CLASSES; c++) {
        se += exp(acts_r[base + c] - mx);
    }
    let lse = mx + log(se);
    let label = labels[src];
    for (var c = 0u; c < CLASSES; c++) {
        let lp = acts_r[base + c] - lse;
        outs[ob + c] = lp;
        deltas_w[base + c] = (exp(lp) - select(0.0, 1.0, c == label)) * inv;
    }
    return -(acts_r[base + label] - lse);
}
