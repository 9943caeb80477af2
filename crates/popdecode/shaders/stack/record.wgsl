// stack_record: one workgroup: each member's training and test objectives at the current weights (its rows'
// losses in row order, times its 1 / n, plus its penalty) into the history's next slot, then the slot moves on.
#import stack/shapes.wgsl

@group(0) @binding(0) var<storage, read> rowloss: array<f32>;
@group(0) @binding(1) var<storage, read> role: array<u32>;
@group(0) @binding(2) var<storage, read> hyper: array<Hyper>;
@group(0) @binding(3) var<storage, read> pen: array<f32>;
@group(0) @binding(4) var<storage, read_write> hist: array<f32>;
@group(0) @binding(5) var<storage, read_write> tick: array<u32>;

@compute @workgroup_size(64)
fn stack_record(@builtin(local_invocation_index) t: u32) {
    let slot = tick[0];
    for (var k = t; k < K; k += 64u) {
        var train = 0.0;
        var test = 0.0;
        for (var r = 0u; r < R; r++) {
            let l = rowloss[k * R + r];
            let role_r = role[k * R + r];
            if ((role_r & 1u) != 0u) {
                train += l;
            }
            if ((role_r & 2u) != 0u) {
                test += l;
            }
        }
        var p = 0.0;
        for (var m = 0u; m < M; m++) {
            p += pen[k * M + m];
        }
        let h = hyper[k];
        hist[(slot * K + k) * 2u] = train * h.inv_train + p;
        hist[(slot * K + k) * 2u + 1u] = test * h.inv_test + p;
    }
    // Every thread has read the slot before it moves.
    storageBarrier();
    workgroupBarrier();
    if (t == 0u) {
        tick[0] = slot + 1u;
    }
}
