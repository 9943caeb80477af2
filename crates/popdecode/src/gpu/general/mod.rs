//! The general path: every network and setting the tutorial path does not take.
//!
//! - `shaders`: its WGSL, a file per kernel under `shaders/general/`, and the buffers each kernel binds;
//! - `uniforms`: the `Step` and `Layer` blocks as Rust writes them (checked against the WGSL by naga);
//! - `session`: the buffers on the device, the kernels and the steps of a training run.

pub mod session;
pub mod shaders;
pub mod uniforms;

pub use session::{Fitted, GeneralSession, GeneralTuning, evaluate, fit, open, tiles_for};
