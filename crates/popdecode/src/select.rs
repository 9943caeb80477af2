//! The one place that names every backend: which one a run gets.

use crate::backend::Backend;
use crate::cpu::CpuBackend;
use crate::data::problem::Problem;
use crate::error::Error;
use crate::error::Result;
use crate::gpu::{GpuBackend, preferred_adapter};
use crate::model::Spec;
use crate::reference::ReferenceBackend;
use crate::training::Config;

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
    open(choice, adapter, None)
}

/// The problem a backend is opened for: its data, network and training.
pub type Workload<'a> = (&'a Problem, &'a Spec, &'a Config);

/// Opens a backend for `work`, known already (the data loaded, the network and training built): as
/// [`open_backend`], and a GPU must hold it (`GpuBackend::fits`, from the shapes alone, before any upload).
/// `Gpu` refuses a problem the GPU cannot hold with that error, which names the size, the limit and what sets
/// it; `Auto`, which would pick the GPU, picks the fast CPU backend instead, its note saying why.
pub fn open_backend_for(
    choice: BackendChoice,
    adapter: Option<&str>,
    work: Workload,
) -> Result<(Box<dyn Backend>, Option<String>)> {
    open(choice, adapter, Some(work))
}

fn open(
    choice: BackendChoice,
    adapter: Option<&str>,
    work: Option<Workload>,
) -> Result<(Box<dyn Backend>, Option<String>)> {
    let fits = |gpu: &GpuBackend| match work {
        Some((problem, spec, config)) => gpu.fits(problem, spec, config),
        None => Ok(()),
    };
    match choice {
        BackendChoice::Reference => Ok((Box::new(ReferenceBackend), None)),
        BackendChoice::Cpu => Ok((Box::new(CpuBackend::new()), None)),
        BackendChoice::Gpu => {
            let gpu = GpuBackend::open(adapter)?;
            fits(&gpu)?;
            Ok((Box::new(gpu), None))
        }
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
                             slower than the CPU backend (ask for it by name to use it)",
                            a.label()
                        ));
                    }
                    Some(_) => {}
                }
            }
            match GpuBackend::open(adapter) {
                Ok(gpu) if let Err(e) = fits(&gpu) => {
                    let why = match e {
                        Error::AdapterLimits(m) => m,
                        other => other.to_string(),
                    };
                    cpu(format!("{why} (on {})", gpu.gpu.adapter.label()))
                }
                Ok(gpu) => {
                    let why = if hardware(gpu.gpu.adapter.device_type) {
                        "a hardware GPU".to_string()
                    } else {
                        "the adapter asked for by name".to_string()
                    };
                    let note = format!("auto picked {}: {why}", gpu.describe());
                    Ok((Box::new(gpu), Some(note)))
                }
                Err(e @ (Error::BadArgument { .. } | Error::Invalid { .. })) => Err(e),
                Err(e) => cpu(format!("the GPU could not be opened ({e})")),
            }
        }
    }
}
