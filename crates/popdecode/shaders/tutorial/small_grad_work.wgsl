// The backward pass and the SGD update, for the mean squared error over the training rows. forward_rows has
// already written d loss / d hidden pre-activation (delta) for every training row.
//
// small_grad: one workgroup per hidden unit: the gradients of in_layer.bias and out_layer.weight, and their
//   update; one more workgroup does out_layer.bias and records the epoch's losses. Dispatched alone before
//   input_grad_gemm; the register-tile input_grad runs the same workgroups in front of its own, which saves a
//   dispatch an epoch.
// input_grad: the gradient of in_layer.weight fused with its update, so w1 is read and written once an epoch.
//   One thread per COL_TILE vec4s of neurons and HIDDEN_TILE hidden units (ROW_SPLIT threads sharing the rows).
// input_grad_gemm: the same as a tiled matrix product, for wide hidden layers on GPUs.
// record_losses: the loss bookkeeping alone, at the end of a batch of epochs.

#import tutorial/shapes.wgsl
#import common/workgroup_sum.wgsl

@group(0) @binding(0) var<uniform> hyper: Hyper;
@group(0) @binding(1) var<storage, read> hid: array<f32>;
@group(0) @binding(2) var<storage, read> out: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<f32>;
@group(0) @binding(4) var<storage, read_write> b1: array<f32>;
@group(0) @binding(5) var<storage, read_write> w2: array<f32>;
@group(0) @binding(6) var<storage, read_write> b2: array<f32>;
@group(0) @binding(7) var<storage, read> delta: array<f32>;
// db1 (M_PAD), dw2 (M_PAD), db2 (1)
@group(0) @binding(8) var<storage, read_write> grad_small: array<f32>;
// losses[2 e] = training loss of epoch e (before its update); losses[2 e + 1] = test loss after it
@group(0) @binding(9) var<storage, read_write> losses: array<f32>;
// state[0] = epochs done
@group(0) @binding(10) var<storage, read_write> state: array<u32>;

fn d_out(r: u32) -> f32 {
    return 2.0 * (out[r] - targets[r]) / f32(N_TRAIN);
}

// The workgroup's mean of (out - target)^2 over rows [first, end).
fn mean_sq_error(t: u32, first: u32, end: u32) -> f32 {
    var s = 0.0;
    for (var r = first + t; r < end; r += 64u) {
        let e = out[r] - targets[r];
        s = fma(e, e, s);
    }
    return workgroup_sum(t, s) / f32(max(end - first, 1u));
}

// `out` holds the outputs at the weights after `epoch` updates: the training loss of epoch `epoch` and the
// test loss of epoch `epoch - 1`.
fn record(t: u32, epoch: u32) {
    let train = mean_sq_error(t, 0u, N_TRAIN);
    let test = mean_sq_error(t, N_TRAIN, N_ROWS);
    if (t == 0u) {
        losses[2u * epoch] = train;
        if (epoch > 0u) {
            losses[2u * epoch - 1u] = test;
        }
    }
}

// Workgroup `g` of small_grad's M_PAD + 1: hidden unit g, whose threads share the training rows, or (g = M_PAD)
// the output bias and the losses. Called from uniform control flow by all 64 threads.
fn small_grads(g: u32, t: u32) {
    if (g < M_PAD) {
        var gb = 0.0;
        var gv = 0.0;
        for (var r = t; r < N_TRAIN; r += 64u) {
            gv = fma(d_out(r), hid[r * M_PAD + g], gv);
            gb += delta[r * M_PAD + g];
        }
        let sb = workgroup_sum(t, gb);
        let sv = workgroup_sum(t, gv);
        if (t == 0u) {
            grad_small[g] = sb;
            grad_small[M_PAD + g] = sv;
            if (APPLY_UPDATE) {
                b1[g] -= hyper.lr * sb;
                w2[g] -= hyper.lr * sv;
            }
        }
    } else {
        // Every thread reads the epoch before thread 0 moves it on, behind the barriers of the sums below.
        let epoch = state[0];
        var s = 0.0;
        for (var r = t; r < N_TRAIN; r += 64u) {
            s += d_out(r);
        }
        let sg = workgroup_sum(t, s);
        record(t, epoch);
        if (t == 0u) {
            grad_small[2u * M_PAD] = sg;
            if (APPLY_UPDATE) {
                b2[0] -= hyper.lr * sg;
            }
            state[0] = epoch + 1u;
        }
    }
}
