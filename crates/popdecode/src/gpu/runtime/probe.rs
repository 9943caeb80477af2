//! What the card itself can do, as a yardstick for the kernels: how fast a shader copies memory.

use std::time::Instant;

use super::device::Gpu;
use super::wgsl::grid;
use crate::error::{Error, Result};

const COPY: &str = include_str!("../../../shaders/common/probe.wgsl");

/// The device's copy bandwidth in bytes per second, counting bytes read and bytes written: the faster of a
/// buffer-to-buffer copy and a vec4 copy kernel (drivers may run the first on a DMA engine slower than the
/// shader cores; a software adapter runs the second lane by lane), each from the wall time of `reps`
/// back-to-back copies of up to 256 MiB in one submission, after a warm-up.
pub fn copy_bandwidth(gpu: &Gpu, reps: usize) -> Result<f64> {
    Ok(kernel_copy_bandwidth(gpu, reps)?.max(buffer_copy_bandwidth(gpu, reps)?))
}

fn probe_size(gpu: &Gpu) -> u64 {
    (256u64 << 20)
        .min(gpu.limits.max_storage_buffer_binding_size)
        .min(gpu.limits.max_buffer_size / 2)
        & !255
}

fn time_submission(gpu: &Gpu, encoder: wgpu::CommandEncoder) -> Result<f64> {
    let start = Instant::now();
    gpu.queue.submit([encoder.finish()]);
    gpu.wait()?;
    Ok(start.elapsed().as_secs_f64())
}

fn buffer_copy_bandwidth(gpu: &Gpu, reps: usize) -> Result<f64> {
    let size = probe_size(gpu);
    let buffer = |usage| {
        gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("copy probe"),
            size,
            usage,
            mapped_at_creation: false,
        })
    };
    let src = buffer(wgpu::BufferUsages::COPY_SRC);
    let dst = buffer(wgpu::BufferUsages::COPY_DST);
    let run = |n: usize| -> Result<f64> {
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        for _ in 0..n {
            encoder.copy_buffer_to_buffer(&src, 0, &dst, 0, size);
        }
        time_submission(gpu, encoder)
    };
    run(1)?;
    Ok(2.0 * size as f64 * reps as f64 / run(reps)?)
}

fn kernel_copy_bandwidth(gpu: &Gpu, reps: usize) -> Result<f64> {
    let size = probe_size(gpu);
    let buffer = |label| {
        gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        })
    };
    let (src, dst) = (
        buffer("copy probe source"),
        buffer("copy probe destination"),
    );
    let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = gpu
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("probe.wgsl"),
            source: wgpu::ShaderSource::Wgsl(COPY.into()),
        });
    let pipeline = gpu
        .device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("copy"),
            layout: None,
            module: &module,
            entry_point: Some("copy"),
            compilation_options: Default::default(),
            cache: None,
        });
    let bind = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: src.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: dst.as_entire_binding(),
            },
        ],
    });
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(Error::Device(format!("the copy probe: {e}")));
    }
    let (x, y) = grid(
        (size / 16) as usize,
        gpu.adapter.max_compute_workgroups_per_dimension as usize,
    );
    let run = |n: usize| -> Result<f64> {
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            for _ in 0..n {
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        time_submission(gpu, encoder)
    };
    run(1)?;
    Ok(2.0 * size as f64 * reps as f64 / run(reps)?)
}
