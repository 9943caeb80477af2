#import tutorial/small_grad_work.wgsl
#import tutorial/weight_io.wgsl

// input_grad_gemm: the gradient of in_layer.weight fused with its update for wide hidden layers on GPUs, as a
// tiled matrix product over the training rows. A workgroup of 16 x 16 threads owns 128 hidden units x 32 vec4
// columns; 8 training rows of delta and x at a time are staged in workgroup memory, and each thread adds
// 8 hidden units x 2 vec4 columns (64 multiply-adds per four vec4 reads). Needs M_PAD a multiple of 128.
var<workgroup> delta_stage: array<vec4<f32>, 256>;  // [8 rows][32 hidden quads]
var<workgroup> xg_stage: array<vec4<f32>, 256>;     // [8 rows][32 vec4 columns]

@compute @workgroup_size(16, 16)
fn input_grad_gemm(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let w4 = panel.width4;
    let n_base = wg.x * 32u;
    let m_base = wg.y * 128u;
    let srow = t / 32u;
    let sq = t % 32u;
    var g0_0 = vec4<f32>(0.0); var g0_1 = vec4<f32>(0.0);
    var g1_0 = vec4<f32>(0.0); var g1_1 = vec4<f32>(0.0);
    var g2_0 = vec4<f32>(0.0); var g2_1 = vec4<f32>(0.0);
    var g3_0 = vec4<f32>(0.0); var g3_1 = vec4<f32>(0.0);
    var g4_0 = vec4<f32>(0.0); var g4_1 = vec4<f32>(0.0);
    var g5_0 = vec4<f32>(0.0); var g5_1 = vec4<f32>(0.0);
    var g6_0 = vec4<f32>(0.0); var g6_1 = vec4<f32>(0.0);
    var g7_0 = vec4<f32>(0.0); var g7_1 = vec4<f32>(0.0);
    for (var r0 = 0u; r0 < N_TRAIN; r0 += 8u) {
        let r = r0 + srow;
        var dv = vec4<f32>(0.0);
        var xv = vec4<f32>(0.0);
        if (r < N_TRAIN) {
            let d = r * M_PAD + m_base + 4u * sq;
            dv = vec4<f32>(delta[d], delta[d + 1u], delta[d + 2u], delta[d + 3u]);
            if (n_base + sq < w4) {
                xv = x[r * w4 + n_base + sq];
            }
        }
        delta_stage[t] = dv;
        xg_stage[t] = xv;
        workgroupBarrier();
        for (var kk = 0u; kk < 8u; kk++) {
            let d0 = delta_stage[kk * 32u + lid.y];
            let d1 = delta_stage[kk * 32u + 16u + lid.y];
            let x0 = xg_stage[kk * 32u + lid.x];
            let x1 = xg_stage[kk * 32u + 16u + lid.x];
            g0_0 = fma(vec4<f32>(d0.x), x0, g0_0); g0_1 = fma(vec4<f32>(d0.x), x1, g0_1);
            g1_0 = fma(vec4<f32>(d0.y), x0, g1_0); g1_1 = fma(vec4<f32>(d0.y), x1, g1_1);
            g2_0 = fma(vec4<f32>(d0.z), x0, g2_0); g2_1 = fma(vec4<f32>(d0.z), x1, g2_1);
            g3_0 = fma(vec4<f32>(d0.w), x0, g3_0); g3_1 = fma(vec4<f32>(d0.w), x1, g3_1);
            g4_0 = fma(vec4<f32>(d1.x), x0, g4_0); g4_1 = fma(vec4<f32>(d1.x), x1, g4_1);
            g5_0 = fma(vec4<f32>(d1.y), x0, g5_0); g5_1 = fma(vec4<f32>(d1.y), x1, g5_1);
            g6_0 = fma(vec4<f32>(d1.z), x0, g6_0); g6_1 = fma(vec4<f32>(d1.z), x1, g6_1);
            g7_0 = fma(vec4<f32>(d1.w), x0, g7_0); g7_1 = fma(vec4<f32>(d1.w), x1, g7_1);
        }
        workgroupBarrier();
    }
    let col0 = n_base + lid.x;
    let col1 = col0 + 16u;
    if (APPLY_UPDATE) {
        let lr = hyper.lr;
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 0u) * w4 + col0] -= lr * g0_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 0u) * w4 + col1] -= lr * g0_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 1u) * w4 + col0] -= lr * g1_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 1u) * w4 + col1] -= lr * g1_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 2u) * w4 + col0] -= lr * g2_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 2u) * w4 + col1] -= lr * g2_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 3u) * w4 + col0] -= lr * g3_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 3u) * w4 + col1] -= lr * g3_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 64u) * w4 + col0] -= lr * g4_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 64u) * w4 + col1] -= lr * g4_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 65u) * w4 + col0] -= lr * g5_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 65u) * w4 + col1] -= lr * g5_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 66u) * w4 + col0] -= lr * g6_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 66u) * w4 + col1] -= lr * g6_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 67u) * w4 + col0] -= lr * g7_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 67u) * w4 + col1] -= lr * g7_1; }
    } else {
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 0u) * w4 + col0] = g0_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 0u) * w4 + col1] = g0_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 1u) * w4 + col0] = g1_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 1u) * w4 + col1] = g1_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 2u) * w4 + col0] = g2_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 2u) * w4 + col1] = g2_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 3u) * w4 + col0] = g3_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 3u) * w4 + col1] = g3_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 64u) * w4 + col0] = g4_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 64u) * w4 + col1] = g4_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 65u) * w4 + col0] = g5_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 65u) * w4 + col1] = g5_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 66u) * w4 + col0] = g6_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 66u) * w4 + col1] = g6_1; }
        if (col0 < w4) { w1[(m_base + 4u * lid.y + 67u) * w4 + col0] = g7_0; }
        if (col1 < w4) { w1[(m_base + 4u * lid.y + 67u) * w4 + col1] = g7_1; }
    }
}
