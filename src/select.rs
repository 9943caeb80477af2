//! The one place that names every backend: which one a run gets.

use crate::backend::Backend;
use crate::error::Error;
use crate::error::Result;
use crate::gpu::GpuBackend;
use crate::reference::ReferenceBackend;

/// Which backend to run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// The GPU when wgpu finds an adapter, else the CPU.
    Auto,
    Gpu,
    Cpu,
}

/// Opens a backend; the note says why `auto` fell back to the CPU.
pub fn open_backend(
    choice: BackendChoice,
    adapter: Option<&str>,
) -> Result<(Box<dyn Backend>, Option<String>)> {
    match choice {
        BackendChoice::Cpu => Ok((Box::new(ReferenceBackend), None)),
        BackendChoice::Gpu => Ok((Box::new(GpuBackend::open(adapter)?), None)),
        BackendChoice::Auto => match GpuBackend::open(adapter) {
            Ok(gpu) => Ok((Box::new(gpu), None)),
            Err(e @ Error::BadArgument { .. }) => Err(e),
            Err(e) => Ok((
                Box::new(ReferenceBackend),
                Some(format!("no usable GPU ({e}); training on the CPU")),
            )),
        },
    }
}
