//! The GPU runtime both paths build on: the device, kernels and their bindings, buffers, read-back, the WGSL
//! tile notation, the pipelined training loop and the bandwidth probe.

pub mod buffers;
pub mod device;
pub mod kernel;
pub mod pipelined;
pub mod probe;
pub mod readback;
pub mod wgsl;
