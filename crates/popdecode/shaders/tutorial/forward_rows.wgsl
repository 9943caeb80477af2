// forward_rows: one workgroup per row sums the partials in a fixed order (deterministic), adds the bias,
//   applies the nonlinearity and reduces the output layer; on a training row, it also writes the row's
//   d loss / d hidden (delta) for the backward pass.

#import tutorial/shapes.wgsl
#import common/workgroup_sum.wgsl

@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@group(0) @binding(4) var<storage, read> b1: array<f32>;
@group(0) @binding(5) var<storage, read> w2: array<f32>;
@group(0) @binding(6) var<storage, read> b2: array<f32>;
@group(0) @binding(7) var<storage, read_write> hid: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;
@group(0) @binding(9) var<storage, read> targets: array<f32>;
@group(0) @binding(10) var<storage, read_write> delta: array<f32>;

// Per-slice partial sums of forward_rows, when the hidden units are fewer than the threads.
var<workgroup> slice_sum: array<f32, 64>;

// Dispatched with one workgroup per real row (N_ROWS of them). With fewer than 64 hidden units the threads also
// split the split-K sums: thread t adds the partials k = s, s + S, ... of hidden unit t % M_PAD, where
// s = t / M_PAD and S = 64 / M_PAD slices, and the slices are added in a fixed order.
// On a training row it also starts the backward pass, which needs nothing but this row: d loss / d hidden
// pre-activation for the row's hidden units (delta), from the output it has just computed.
@compute @workgroup_size(64)
fn forward_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let r = wg.x;
    let slices = max(64u / M_PAD, 1u);
    let m_slice = t % M_PAD;
    let s = t / M_PAD;
    var acc = 0.0;
    if (slices > 1u && s < slices) {
        for (var k = s; k < K_TOTAL; k += slices) {
            acc += partial[(k * R_PAD + r) * M_PAD + m_slice];
        }
    }
    slice_sum[t] = acc;
    workgroupBarrier();
    var y = 0.0;
    if (slices > 1u) {
        if (t < M_PAD) {
            var pre = b1[t];
            for (var j = 0u; j < slices; j++) {
                pre += slice_sum[t + j * M_PAD];
            }
            let h = act(pre);
            hid[r * M_PAD + t] = h;
            y = w2[t] * h;
        }
    } else {
        for (var m = t; m < M_PAD; m += 64u) {
            var pre = b1[m];
            for (var k = 0u; k < K_TOTAL; k++) {
                pre += partial[(k * R_PAD + r) * M_PAD + m];
            }
            let h = act(pre);
            hid[r * M_PAD + m] = h;
            y = fma(w2[m], h, y);
        }
    }
    let o = workgroup_sum(t, y) + b2[0];
    if (t == 0u) {
        out[r] = o;
    }
    if (r < N_TRAIN) {
        // The mean squared error's derivative; ReLU passes no gradient where it output zero, the identity all.
        let d = 2.0 * (o - targets[r]) / f32(N_TRAIN);
        for (var m = t; m < M_PAD; m += 64u) {
            // This thread wrote hid[r, m] above.
            let h = hid[r * M_PAD + m];
            delta[r * M_PAD + m] = select(d * w2[m], 0.0, RELU && h <= 0.0);
        }
    }
}
