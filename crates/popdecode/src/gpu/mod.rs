//! The GPU backend: wgpu compute pipelines running the kernels in `shaders/`. `runtime` is what both paths
//! share; `tutorial` is the tuned path for the tutorial's network and training, `general` everything else;
//! `stack` trains many networks of one shape together.

pub mod backend;
pub mod general;
pub mod runtime;
pub mod stack;
pub mod tutorial;

pub use backend::GpuBackend;
pub use runtime::device::{Gpu, list_adapters, preferred_adapter};
