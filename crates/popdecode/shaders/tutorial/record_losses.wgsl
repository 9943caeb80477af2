#import tutorial/small_grad_work.wgsl

@compute @workgroup_size(64)
fn record_losses(@builtin(local_invocation_index) t: u32) {
    record(t, state[0]);
}
