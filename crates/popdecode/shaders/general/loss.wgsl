// The objective on the step's rows. One workgroup: each thread takes rows t, t + 64, ... and adds their losses in
// order; a fixed tree adds the threads'. Writes d loss / d raw output for every row and output, the outputs as
// reported, and weight * (mean loss + penalty) into the history entry.
//
// The objective's own WGSL (shaders/general/objective/, imported as generated/objective.wgsl) gives
// `row_loss(src, base, ob, inv)`: the loss of the row that is row `src` of x, whose raw outputs are
// acts_r[base ..], writing its reported outputs to outs[ob ..] and d loss / d raw output (divided by the rows,
// `inv` being 1 / rows) to deltas_w[base ..].
#import general/bindings.wgsl
#import common/workgroup_sum.wgsl
#import generated/objective.wgsl

@compute @workgroup_size(64)
fn loss(@builtin(local_invocation_index) t: u32) {
    let rows = st.rows;
    let inv = 1.0 / f32(rows);
    var acc_loss = 0.0;
    for (var r = t; r < rows; r += 64u) {
        let src = index[st.row_base + r];
        let base = LAST_OFF + r * CLASSES;
        let ob = (st.out_base + r) * CLASSES;
        acc_loss += row_loss(src, base, ob, inv);
    }
    let total = workgroup_sum(t, acc_loss);
    if (t == 0u) {
        let value = total / f32(rows) + scalars_r[0];
        let before = select(0.0, history[st.loss_slot], st.accumulate == 1u);
        history[st.loss_slot] = before + st.weight * value;
    }
}
