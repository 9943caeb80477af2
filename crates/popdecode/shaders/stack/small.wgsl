// stack_small: a thread per small parameter of every member (b1, out_layer's weight and bias): its gradient
// summed over the training rows' union in order (the deltas are 0 off the member's own), then its member's
// momentum and learning rate. No penalty: the penalties are on the input weights only.
#import stack/shapes.wgsl

@group(0) @binding(0) var<storage, read> delta: array<f32>;
@group(0) @binding(1) var<storage, read> hid: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> train_rows: array<u32>;
@group(0) @binding(4) var<storage, read> hyper: array<Hyper>;
@group(0) @binding(5) var<storage, read_write> sp: array<f32>;
@group(0) @binding(6) var<storage, read_write> sv: array<f32>;

@compute @workgroup_size(64)
fn stack_small(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let i = thread_id(gid, groups);
    let n_b1 = K * M;
    let n_w2 = K * O * M;
    if (i >= n_b1 + n_w2 + K * O) {
        return;
    }
    var g = 0.0;
    var p = 0u;
    var k = 0u;
    if (i < n_b1) {
        k = i / M;
        p = i;
        for (var u = 0u; u < NU; u++) {
            g += delta[train_rows[u] * KM_PAD + i];
        }
    } else if (i < n_b1 + n_w2) {
        let q = i - n_b1;
        k = q / (O * M);
        let o = (q / M) % O;
        let m = q % M;
        p = KM_PAD + q;
        for (var u = 0u; u < NU; u++) {
            let r = train_rows[u];
            g = fma(dout[(r * K + k) * O + o], hid[r * KM_PAD + k * M + m], g);
        }
    } else {
        let q = i - n_b1 - n_w2;
        k = q / O;
        p = KM_PAD + n_w2 + q;
        for (var u = 0u; u < NU; u++) {
            g += dout[(train_rows[u] * K + k) * O + q % O];
        }
    }
    let h = hyper[k];
    var d = g;
    if (MOMENTUM) {
        let v = h.momentum * sv[p] + g;
        sv[p] = v;
        d = v;
    }
    sp[p] = sp[p] - h.lr * d;
}
