//! Finding an adapter and opening a device on it.
//!
//! Preference: Vulkan, Metal and DX12 over GL; within those, discrete over integrated over virtual over
//! software (CPU) adapters. `WGPU_BACKEND` (e.g. `vulkan`) narrows the backends, as in every wgpu program.

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// One adapter as `popdecode info` lists it.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: wgpu::Backend,
    pub device_type: wgpu::DeviceType,
    pub driver: String,
    pub driver_info: String,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroup_size_x: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub max_storage_buffers_per_shader_stage: u32,
    pub max_dynamic_uniform_buffers_per_pipeline_layout: u32,
    pub timestamp_queries: bool,
}

impl AdapterSummary {
    /// A software adapter (lavapipe, SwiftShader, WARP): the CPU in a GPU's clothes.
    pub fn is_software(&self) -> bool {
        self.device_type == wgpu::DeviceType::Cpu
    }

    fn of(adapter: &wgpu::Adapter) -> AdapterSummary {
        let info = adapter.get_info();
        let limits = adapter.limits();
        AdapterSummary {
            name: info.name,
            backend: info.backend,
            device_type: info.device_type,
            driver: info.driver,
            driver_info: info.driver_info,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroup_size_x: limits.max_compute_workgroup_size_x,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            max_dynamic_uniform_buffers_per_pipeline_layout: limits
                .max_dynamic_uniform_buffers_per_pipeline_layout,
            timestamp_queries: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
        }
    }

    /// "llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)"
    pub fn label(&self) -> String {
        format!("{} ({:?}, {:?})", self.name, self.backend, self.device_type)
    }

    /// Lower is preferred.
    fn rank(&self) -> (u8, u8) {
        let api = match self.backend {
            wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
            wgpu::Backend::Gl => 1,
            _ => 2,
        };
        let kind = match self.device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Cpu => 3,
            wgpu::DeviceType::Other => 4,
        };
        (api, kind)
    }
}

/// An instance over `backends`, narrowed by `WGPU_BACKEND` when it is set.
fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    // The noop backend is for wgpu's own tests, never a place to compute.
    desc.backends = desc.backends.intersection(backends) - wgpu::Backends::NOOP;
    wgpu::Instance::new(desc)
}

/// The adapters of `backends`, best first.
fn adapters(backends: wgpu::Backends) -> Vec<wgpu::Adapter> {
    let instance = instance(backends);
    let mut all = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    all.retain(|a| a.get_info().backend != wgpu::Backend::Noop);
    all.sort_by_key(|a| AdapterSummary::of(a).rank());
    all
}

/// Every adapter wgpu finds, best first.
pub fn list_adapters() -> Vec<AdapterSummary> {
    adapters(wgpu::Backends::all())
        .iter()
        .map(AdapterSummary::of)
        .collect()
}

/// The adapter `Gpu::open(None)` would open, without opening it (for `--backend auto`'s choice).
pub fn preferred_adapter() -> Option<AdapterSummary> {
    let mut candidates = adapters(wgpu::Backends::PRIMARY);
    if candidates.is_empty() {
        candidates = adapters(wgpu::Backends::SECONDARY);
    }
    candidates.first().map(AdapterSummary::of)
}

/// An open device with what we learnt about it.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub limits: wgpu::Limits,
    pub timestamps: bool,
    errors: Arc<Mutex<Vec<String>>>,
    /// Staging buffers of finished read-backs, kept for the next ones (`readback.rs`).
    pub(super) staging: Mutex<Vec<wgpu::Buffer>>,
}

impl Gpu {
    /// Opens the preferred adapter, or the best one whose name contains `name_part` or whose API is `name_part`
    /// (`vulkan`, `gl`, ... as `info` prints them), case-insensitively.
    pub fn open(name_part: Option<&str>) -> Result<Gpu> {
        // GL only when no Vulkan, Metal or DX12 adapter exists: it is slower to compile for, and starting it
        // probes the window system, which prints noise on headless machines.
        let mut candidates = adapters(wgpu::Backends::PRIMARY);
        let matches = |a: &wgpu::Adapter| {
            let info = a.get_info();
            name_part.is_none_or(|p| {
                let p = p.to_lowercase();
                info.name.to_lowercase().contains(&p)
                    || format!("{:?}", info.backend).to_lowercase() == p
            })
        };
        if !candidates.iter().any(matches) {
            candidates.extend(adapters(wgpu::Backends::SECONDARY));
        }
        if candidates.is_empty() {
            return Err(Error::NoAdapter);
        }
        if let Some(part) = name_part {
            let names: Vec<String> = candidates
                .iter()
                .map(|a| AdapterSummary::of(a).label())
                .collect();
            candidates.retain(matches);
            if candidates.is_empty() {
                return Err(Error::invalid(
                    "adapter",
                    format!(
                        "no adapter's name contains {part:?}, nor is its API; the adapters are: {}",
                        names.join("; ")
                    ),
                ));
            }
        }
        let adapter = candidates.swap_remove(0);
        let summary = AdapterSummary::of(&adapter);
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        // Ask for everything the adapter offers: the response matrix alone is 34 MB, past the default limits
        // on some adapters.
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("popdecode"),
            required_features: if timestamps {
                wgpu::Features::TIMESTAMP_QUERY
            } else {
                wgpu::Features::empty()
            },
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| Error::Device(format!("cannot open {}: {e}", summary.label())))?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        Ok(Gpu {
            device,
            queue,
            adapter: summary,
            limits,
            timestamps,
            errors,
            staging: Mutex::new(Vec::new()),
        })
    }

    /// Errors the device reported since the last call, as one error.
    pub fn take_errors(&self) -> Result<()> {
        let mut errors = self
            .errors
            .lock()
            .map_err(|_| Error::Device("error log poisoned".into()))?;
        if errors.is_empty() {
            Ok(())
        } else {
            let all = errors.join("\n");
            errors.clear();
            Err(Error::Device(all))
        }
    }

    /// Blocks until the queue is idle.
    pub fn wait(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(format!("waiting for the GPU: {e}")))?;
        self.take_errors()
    }
}
