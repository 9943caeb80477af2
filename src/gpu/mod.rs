//! The GPU backend: wgpu compute pipelines running the kernels in `shaders/`: a tuned path for the tutorial's
//! network and training (`session`), and a general one for everything else (`general`).

pub mod backend;
pub mod context;
pub mod general;
pub mod layout;
mod pipelined;
pub mod probe;
pub mod session;
pub mod shaders;

pub use backend::GpuBackend;
pub use context::{Gpu, list_adapters};
