#import tutorial/shapes.wgsl
#import tutorial/panel_io.wgsl

// forward_gemm: the same partial sums as forward_partial for wide hidden layers on GPUs, as a tiled matrix
// product. A workgroup of 16 x 16 threads owns 128 rows x 128 hidden units over one split-K chunk of the panel's
// columns (panel.k_threads chunks): it stages 16 columns of both operands at a time in workgroup memory,
// transposed so that each thread reads 8 rows and 8 hidden units as four vec4s and does 64 multiply-adds.
// Needs R_PAD and M_PAD multiples of 128.
var<workgroup> x_stage: array<vec4<f32>, 512>;  // [16 columns][32 row quads]
var<workgroup> w_stage: array<vec4<f32>, 512>;  // [16 columns][32 hidden quads]

fn store4(i: u32, v: vec4<f32>) {
    partial[i] = v.x;
    partial[i + 1u] = v.y;
    partial[i + 2u] = v.z;
    partial[i + 3u] = v.w;
}

@compute @workgroup_size(16, 16)
fn forward_gemm(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
) {
    let w4 = panel.width4;
    let per_chunk = (w4 + panel.k_threads - 1u) / panel.k_threads;
    let k_begin = wg.x * per_chunk;
    let k_end = min(k_begin + per_chunk, w4);
    let r_base = wg.y * 128u;
    let m_base = wg.z * 128u;
    // Staging: threads 0..127 load x, 128..255 load w1; each takes 4 rows of one vec4 column and transposes
    // them into one vec4 per column.
    let e = t % 128u;
    let quad = e / 4u;
    let kv = e % 4u;
    let base = select(r_base, m_base, t >= 128u) + 4u * quad;
    var c0_0 = vec4<f32>(0.0); var c0_1 = vec4<f32>(0.0);
    var c1_0 = vec4<f32>(0.0); var c1_1 = vec4<f32>(0.0);
    var c2_0 = vec4<f32>(0.0); var c2_1 = vec4<f32>(0.0);
    var c3_0 = vec4<f32>(0.0); var c3_1 = vec4<f32>(0.0);
    var c4_0 = vec4<f32>(0.0); var c4_1 = vec4<f32>(0.0);
    var c5_0 = vec4<f32>(0.0); var c5_1 = vec4<f32>(0.0);
    var c6_0 = vec4<f32>(0.0); var c6_1 = vec4<f32>(0.0);
    var c7_0 = vec4<f32>(0.0); var c7_1 = vec4<f32>(0.0);
    for (var k0 = k_begin; k0 < k_end; k0 += 4u) {
        let k = k0 + kv;
        var q0 = vec4<f32>(0.0);
        var q1 = vec4<f32>(0.0);
        var q2 = vec4<f32>(0.0);
        var q3 = vec4<f32>(0.0);
        if (k < k_end) {
            if (t < 128u) {
                q0 = x[(base + 0u) * w4 + k];
                q1 = x[(base + 1u) * w4 + k];
                q2 = x[(base + 2u) * w4 + k];
                q3 = x[(base + 3u) * w4 + k];
            } else {
                q0 = w1[(base + 0u) * w4 + k];
                q1 = w1[(base + 1u) * w4 + k];
                q2 = w1[(base + 2u) * w4 + k];
                q3 = w1[(base + 3u) * w4 + k];
            }
        }
        let s = kv * 4u * 32u + quad;
        if (t < 128u) {
            x_stage[s] = vec4<f32>(q0.x, q1.x, q2.x, q3.x);
            x_stage[s + 32u] = vec4<f32>(q0.y, q1.y, q2.y, q3.y);
            x_stage[s + 64u] = vec4<f32>(q0.z, q1.z, q2.z, q3.z);
            x_stage[s + 96u] = vec4<f32>(q0.w, q1.w, q2.w, q3.w);
        } else {
            w_stage[s] = vec4<f32>(q0.x, q1.x, q2.x, q3.x);
            w_stage[s + 32u] = vec4<f32>(q0.y, q1.y, q2.y, q3.y);
            w_stage[s + 64u] = vec4<f32>(q0.z, q1.z, q2.z, q3.z);
            w_stage[s + 96u] = vec4<f32>(q0.w, q1.w, q2.w, q3.w);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk++) {
            // Rows 4 lid.y + 0..3 and 64 + 4 lid.y + 0..3; hidden units likewise with lid.x.
            let a0 = x_stage[kk * 32u + lid.y];
            let a1 = x_stage[kk * 32u + 16u + lid.y];
            let b0 = w_stage[kk * 32u + lid.x];
            let b1 = w_stage[kk * 32u + 16u + lid.x];
            c0_0 = fma(vec4<f32>(a0.x), b0, c0_0); c0_1 = fma(vec4<f32>(a0.x), b1, c0_1);
            c1_0 = fma(vec4<f32>(a0.y), b0, c1_0); c1_1 = fma(vec4<f32>(a0.y), b1, c1_1);
            c2_0 = fma(vec4<f32>(a0.z), b0, c2_0); c2_1 = fma(vec4<f32>(a0.z), b1, c2_1);
            c3_0 = fma(vec4<f32>(a0.w), b0, c3_0); c3_1 = fma(vec4<f32>(a0.w), b1, c3_1);
            c4_0 = fma(vec4<f32>(a1.x), b0, c4_0); c4_1 = fma(vec4<f32>(a1.x), b1, c4_1);
            c5_0 = fma(vec4<f32>(a1.y), b0, c5_0); c5_1 = fma(vec4<f32>(a1.y), b1, c5_1);
            c6_0 = fma(vec4<f32>(a1.z), b0, c6_0); c6_1 = fma(vec4<f32>(a1.z), b1, c6_1);
            c7_0 = fma(vec4<f32>(a1.w), b0, c7_0); c7_1 = fma(vec4<f32>(a1.w), b1, c7_1);
        }
        workgroupBarrier();
    }
    let row0 = r_base + 4u * lid.y + 0u;
    let row1 = r_base + 4u * lid.y + 1u;
    let row2 = r_base + 4u * lid.y + 2u;
    let row3 = r_base + 4u * lid.y + 3u;
    let row4 = r_base + 4u * lid.y + 64u;
    let row5 = r_base + 4u * lid.y + 65u;
    let row6 = r_base + 4u * lid.y + 66u;
    let row7 = r_base + 4u * lid.y + 67u;
    let m0 = m_base + 4u * lid.x;
    let m1 = m0 + 64u;
    let slot = panel.k_offset + wg.x;
    store4((slot * R_PAD + row0) * M_PAD + m0, c0_0);
    store4((slot * R_PAD + row0) * M_PAD + m1, c0_1);
    store4((slot * R_PAD + row1) * M_PAD + m0, c1_0);
    store4((slot * R_PAD + row1) * M_PAD + m1, c1_1);
    store4((slot * R_PAD + row2) * M_PAD + m0, c2_0);
    store4((slot * R_PAD + row2) * M_PAD + m1, c2_1);
    store4((slot * R_PAD + row3) * M_PAD + m0, c3_0);
    store4((slot * R_PAD + row3) * M_PAD + m1, c3_1);
    store4((slot * R_PAD + row4) * M_PAD + m0, c4_0);
    store4((slot * R_PAD + row4) * M_PAD + m1, c4_1);
    store4((slot * R_PAD + row5) * M_PAD + m0, c5_0);
    store4((slot * R_PAD + row5) * M_PAD + m1, c5_1);
    store4((slot * R_PAD + row6) * M_PAD + m0, c6_0);
    store4((slot * R_PAD + row6) * M_PAD + m1, c6_1);
    store4((slot * R_PAD + row7) * M_PAD + m0, c7_0);
    store4((slot * R_PAD + row7) * M_PAD + m1, c7_1);
}
