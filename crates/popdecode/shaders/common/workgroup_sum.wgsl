// Workgroup sums, put in front of every kernel file (src/gpu/shaders.rs): kernels run 64 threads a workgroup and
// sum across them in a fixed tree, so every result is deterministic. Barriers stay out of loops (some drivers
// compile those very slowly).
var<workgroup> tree: array<f32, 64>;

// The sum of `v` over the workgroup's 64 threads, returned to every thread. Call from uniform control flow.
fn workgroup_sum(t: u32, v: f32) -> f32 {
    tree[t] = v;
    workgroupBarrier();
    if (t < 32u) { tree[t] += tree[t + 32u]; }
    workgroupBarrier();
    if (t < 16u) { tree[t] += tree[t + 16u]; }
    workgroupBarrier();
    if (t < 8u) { tree[t] += tree[t + 8u]; }
    workgroupBarrier();
    if (t < 4u) { tree[t] += tree[t + 4u]; }
    workgroupBarrier();
    if (t < 2u) { tree[t] += tree[t + 2u]; }
    workgroupBarrier();
    let total = tree[0] + tree[1];
    // No thread may overwrite `tree` for the next sum before every thread has read this one.
    workgroupBarrier();
    return total;
}
