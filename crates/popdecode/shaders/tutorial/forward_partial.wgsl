// forward_partial: split-K over the long reduction (the neurons). Each thread owns a register tile of
//   ROW_TILE rows x HIDDEN_TILE hidden units and walks the panel's columns with stride k_threads, so adjacent
//   threads read adjacent vec4s. It writes one partial sum per (thread, row, unit), or with WG_REDUCE per
//   (workgroup, row, unit); no atomics. forward_rows adds them up.

#import tutorial/shapes.wgsl
#import tutorial/panel_io.wgsl
#import common/hsum.wgsl

// With WG_REDUCE (k_threads a multiple of 64), a workgroup holds 64 / K_LANES consecutive tiles and K_LANES
// split-K threads of each: the threads add their sums per tile in workgroup memory, in a fixed order, and each
// tile writes one partial sum per workgroup instead of one per thread. Tiles that share a workgroup read the
// same w1 columns at the same time, so fewer lanes per tile means fewer w1 reads from L2.
var<workgroup> tile_sums: array<f32, TILE_SUMS>;

// Without WG_REDUCE, threads are numbered with the split-K index fastest, then row tiles, then hidden tiles.
// Either way workgroups are dispatched as a 2-D grid when there are more than one dimension holds.
@compute @workgroup_size(64)
fn forward_partial(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let w = wg.x + wg.y * groups.x;
    let row_tiles = R_PAD / ROW_TILE;
    let tiles = row_tiles * (M_PAD / HIDDEN_TILE);
    let per_group = 64u / K_LANES;
    let k_groups = max(panel.k_threads / K_LANES, 1u);
    let i = w * 64u + t;
    let kt = select(i % panel.k_threads, (w % k_groups) * K_LANES + t % K_LANES, WG_REDUCE);
    let tile = select(i / panel.k_threads, (w / k_groups) * per_group + t / K_LANES, WG_REDUCE);
    // Threads past the last tile compute nothing, but stay for the workgroup's barrier.
    let live = tile < tiles;
    let w4 = select(0u, panel.width4, live);
    let r0 = (tile % row_tiles) * ROW_TILE;
    let m0 = (tile / row_tiles) * HIDDEN_TILE;
    let xb$r = (r0 + $ru) * w4;
    let wb$h = (m0 + $hu) * w4;
    var a$r_$h = vec4<f32>(0.0);
    var k = kt;
    if (FORWARD_UNROLL) {
        // Two steps' loads in flight before their multiply-adds, added in the same order as the loop below.
        let step = panel.k_threads;
        for (; k + step < w4; k += 2u * step) {
            let x$r = x[xb$r + k];
            let v$h = w1[wb$h + k];
            let y$r = x[xb$r + k + step];
            let u$h = w1[wb$h + k + step];
            a$r_$h = fma(x$r, v$h, a$r_$h);
            a$r_$h = fma(y$r, u$h, a$r_$h);
        }
    }
    for (; k < w4; k += panel.k_threads) {
        let x$r = x[xb$r + k];
        let v$h = w1[wb$h + k];
        a$r_$h = fma(x$r, v$h, a$r_$h);
    }
    if (WG_REDUCE) {
        tile_sums[t * TILE_OUTPUTS + $ru * HIDDEN_TILE + $hu] = hsum(a$r_$h);
        workgroupBarrier();
        let slot = panel.k_offset + w % k_groups;
        for (var o = t; o < per_group * TILE_OUTPUTS; o += 64u) {
            let sub = o / TILE_OUTPUTS;
            let q = o % TILE_OUTPUTS;
            let tile_o = (w / k_groups) * per_group + sub;
            if (tile_o < tiles) {
                var s = 0.0;
                for (var j = 0u; j < K_LANES; j++) {
                    s += tile_sums[(sub * K_LANES + j) * TILE_OUTPUTS + q];
                }
                let row = (tile_o % row_tiles) * ROW_TILE + q / HIDDEN_TILE;
                let m = (tile_o / row_tiles) * HIDDEN_TILE + q % HIDDEN_TILE;
                partial[(slot * R_PAD + row) * M_PAD + m] = s;
            }
        }
    } else if (live) {
        let p0 = ((panel.k_offset + kt) * R_PAD + r0) * M_PAD + m0;
        partial[p0 + $ru * M_PAD + $hu] = hsum(a$r_$h);
    }
}
