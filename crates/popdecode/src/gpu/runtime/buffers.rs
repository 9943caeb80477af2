//! Device buffers: uploaded, zeroed, and the usages that let them be copied.

use wgpu::util::DeviceExt;

use super::device::Gpu;

pub fn storage(gpu: &Gpu, label: &str, contents: &[u8], extra: wgpu::BufferUsages) -> wgpu::Buffer {
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE | extra,
        })
}

pub fn zeros(gpu: &Gpu, label: &str, floats: usize, extra: wgpu::BufferUsages) -> wgpu::Buffer {
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        // Bindings may not be empty.
        size: (floats.max(1) * 4) as u64,
        usage: wgpu::BufferUsages::STORAGE | extra,
        mapped_at_creation: false,
    })
}

pub const COPY: wgpu::BufferUsages =
    wgpu::BufferUsages::COPY_SRC.union(wgpu::BufferUsages::COPY_DST);
