// stack_head: a thread per (member, row): the hidden units (the split-K sums in order, the bias, the
// nonlinearity), the output layer, the row's loss, and the deltas back to the hidden pre-activations. Off the
// member's training rows the deltas are 0; on them they carry the member's own 1 / n_train.
#import stack/shapes.wgsl

@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read> sp: array<f32>;
@group(0) @binding(2) var<storage, read> hyper: array<Hyper>;
@group(0) @binding(3) var<storage, read> role: array<u32>;
@group(0) @binding(4) var<storage, read> targets: array<f32>;
@group(0) @binding(5) var<storage, read> labels: array<u32>;
@group(0) @binding(6) var<storage, read_write> hid: array<f32>;
@group(0) @binding(7) var<storage, read_write> delta: array<f32>;
@group(0) @binding(8) var<storage, read_write> outs: array<f32>;
@group(0) @binding(9) var<storage, read_write> dout: array<f32>;
@group(0) @binding(10) var<storage, read_write> rowloss: array<f32>;

@compute @workgroup_size(64)
fn stack_head(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    if (i >= K * R) {
        return;
    }
    let k = i / R;
    let r = i % R;
    let hb = r * KM_PAD + k * M;
    for (var m = 0u; m < M; m++) {
        var s = 0.0;
        for (var t = 0u; t < KT; t++) {
            s += partial[(t * R_PAD + r) * KM_PAD + k * M + m];
        }
        hid[hb + m] = act(s + sp[k * M + m]);
    }
    let w2 = KM_PAD + k * O * M;
    let b2 = KM_PAD + K * O * M + k * O;
    let ob = (r * K + k) * O;
    var top = -3.4028235e38;
    for (var o = 0u; o < O; o++) {
        var s = 0.0;
        for (var m = 0u; m < M; m++) {
            s = fma(sp[w2 + o * M + m], hid[hb + m], s);
        }
        s += sp[b2 + o];
        outs[ob + o] = s;
        top = max(top, s);
    }
    let scale = select(0.0, hyper[k].inv_train, (role[k * R + r] & 1u) != 0u);
    var loss = 0.0;
    if (NLL) {
        // LogSoftmax from the largest output, so nothing overflows.
        var sum = 0.0;
        for (var o = 0u; o < O; o++) {
            sum += exp(outs[ob + o] - top);
        }
        let lse = top + log(sum);
        let label = labels[r];
        for (var o = 0u; o < O; o++) {
            let lp = outs[ob + o] - lse;
            outs[ob + o] = lp;
            dout[ob + o] = (exp(lp) - select(0.0, 1.0, o == label)) * scale;
            if (o == label) {
                loss = -lp;
            }
        }
    } else {
        let e = outs[ob] - targets[r];
        loss = e * e;
        dout[ob] = 2.0 * e * scale;
    }
    rowloss[k * R + r] = loss;
    for (var m = 0u; m < M; m++) {
        var d = 0.0;
        for (var o = 0u; o < O; o++) {
            d = fma(sp[w2 + o * M + m], dout[ob + o], d);
        }
        // ReLU passes no gradient where its output is 0 (its input was not positive).
        delta[hb + m] = select(d, select(0.0, d, hid[hb + m] > 0.0), RELU);
    }
}
