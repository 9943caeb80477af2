//! The one place that names every backend: which one a run gets.

use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::error::Error;
use crate::error::Result;
use crate::gpu::{GpuBackend, preferred_adapter};
use crate::reference::ReferenceBackend;

/// Which backend to run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// A hardware GPU when wgpu finds one, else the fast CPU backend (see [`open_backend`]).
    Auto,
    /// The GPU wgpu prefers, hardware or software (lavapipe, llvmpipe, WARP, SwiftShader).
    Gpu,
    /// The fast float32 CPU backend on every core (`cpu::CpuBackend`).
    Cpu,
    /// The f64 reference (`reference::ReferenceBackend`), which everything is checked against.
    Reference,
}

/// Whether an adapter of this type is a GPU's own silicon rather than a software rasteriser on the CPU.
fn hardware(device_type: wgpu::DeviceType) -> bool {
    matches!(
        device_type,
        wgpu::DeviceType::DiscreteGpu
            | wgpu::DeviceType::IntegratedGpu
            | wgpu::DeviceType::VirtualGpu
    )
}

/// Opens a backend; for `Auto`, also a note saying which it picked and why (for stderr).
///
/// `Auto`'s order: a hardware GPU, then the fast CPU backend, then a software adapter. The fast CPU backend runs
/// on any machine, so a software adapter (which is slower than it on the same cores) is used only when named
/// with `adapter`; a named adapter is opened whatever its type, and if it cannot be opened `Auto` falls back
/// to the CPU.
pub fn open_backend(
    choice: BackendChoice,
    adapter: Option<&str>,
) -> Result<(Box<dyn Backend>, Option<String>)> {
    match choice {
        BackendChoice::Reference => Ok((Box::new(ReferenceBackend), None)),
        BackendChoice::Cpu => Ok((Box::new(CpuBackend::new()), None)),
        BackendChoice::Gpu => Ok((Box::new(GpuBackend::open(adapter)?), None)),
        BackendChoice::Auto => {
            let cpu = |why: String| -> Result<(Box<dyn Backend>, Option<String>)> {
                let cpu = CpuBackend::new();
                let note = format!("auto picked {}: {why}", cpu.describe());
                Ok((Box::new(cpu), Some(note)))
            };
            if adapter.is_none() {
                match preferred_adapter() {
                    None => return cpu("wgpu finds no GPU adapter".into()),
                    Some(a) if !hardware(a.device_type) => {
                        return cpu(format!(
                            "no hardware GPU; the best adapter wgpu finds is {}, a software one, which is \
                             slower than the CPU backend (name it with --adapter to use it)",
                            a.label()
                        ));
                    }
                    Some(_) => {}
                }
            }
            match GpuBackend::open(adapter) {
                Ok(gpu) => {
                    let why = if hardware(gpu.gpu.adapter.device_type) {
                        "a hardware GPU".to_string()
                    } else {
                        "the adapter named by --adapter".to_string()
                    };
                    let note = format!("auto picked {}: {why}", gpu.describe());
                    Ok((Box::new(gpu), Some(note)))
                }
                Err(e @ Error::BadArgument { .. }) => Err(e),
                Err(e) => cpu(format!("the GPU could not be opened ({e})")),
            }
        }
    }
}
