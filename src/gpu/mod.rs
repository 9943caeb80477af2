//! The GPU backend: wgpu compute pipelines running the kernels in `shaders/`.

pub mod backend;
pub mod context;
pub mod layout;
pub mod probe;
pub mod session;
pub mod shaders;

pub use backend::GpuBackend;
pub use context::{Gpu, list_adapters};
