#import tutorial/small_grad_work.wgsl

@compute @workgroup_size(64)
fn small_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    small_grads(wg.x, t);
}
