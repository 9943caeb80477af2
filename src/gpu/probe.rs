//! What the card itself can do, as a yardstick for the kernels: its buffer-copy bandwidth.

use std::time::Instant;

use super::context::Gpu;
use crate::error::Result;

/// Bytes per second a buffer-to-buffer copy moves on this device, counting bytes read and bytes written, from
/// the wall time of `reps` back-to-back copies of up to 256 MiB in one submission (after one warm-up).
pub fn copy_bandwidth(gpu: &Gpu, reps: usize) -> Result<f64> {
    let size = (256u64 << 20).min(gpu.limits.max_buffer_size / 2) & !255;
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
        let start = Instant::now();
        gpu.queue.submit([encoder.finish()]);
        gpu.wait()?;
        Ok(start.elapsed().as_secs_f64())
    };
    run(1)?;
    let seconds = run(reps)?;
    Ok(2.0 * size as f64 * reps as f64 / seconds)
}
