// Small helpers of the general path's kernels (hsum, the sum of a vec4's lanes, is shaders/common/hsum.wgsl).
#import common/hsum.wgsl

#import common/act.wgsl

// Threads of a 1-D job dispatched as a 2-D grid of 64-thread workgroups (src/gpu/runtime/wgsl.rs's `grid`).
fn thread_id(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 64u;
}
