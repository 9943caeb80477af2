//! Submitting work and reading buffers back without blocking the queue: the mapping is asked for behind the
//! submission and waited for later. Staging buffers are kept on the `Gpu` once read and reused by later
//! read-backs (a training run reads back at every progress report), sized in powers of two so that they fit
//! again.

use super::device::Gpu;
use crate::error::{Error, Result};

/// Encodes a compute pass, then copies of `ranges` (in f32s) into a staging buffer, submits both and asks for the
/// staging buffer to be mapped. Nothing waits here: see [`PendingRead::wait`].
pub fn submit_then_read(
    gpu: &Gpu,
    encode: impl FnOnce(&mut wgpu::ComputePass),
    ranges: &[(&wgpu::Buffer, usize, usize)],
) -> Result<PendingRead> {
    let mut encoder = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        encode(&mut pass);
    }
    let counts: Vec<usize> = ranges.iter().map(|r| r.2).collect();
    let total: usize = counts.iter().sum();
    let bytes = (total.max(1) * 4) as u64;
    let staging = take_staging(gpu, bytes);
    let mut at = 0u64;
    for &(buffer, first, count) in ranges {
        if count > 0 {
            encoder.copy_buffer_to_buffer(
                buffer,
                (first * 4) as u64,
                &staging,
                at,
                (count * 4) as u64,
            );
        }
        at += (count * 4) as u64;
    }
    let index = gpu.queue.submit([encoder.finish()]);
    gpu.take_errors()?;
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, ..bytes, move |r| {
        let _ = sender.send(r);
    });
    Ok(PendingRead {
        staging,
        bytes,
        counts,
        receiver,
        index,
    })
}

/// A read-back in flight: a staging buffer whose mapping was asked for behind a submission.
pub struct PendingRead {
    staging: wgpu::Buffer,
    /// The bytes of `staging` this read-back uses.
    bytes: u64,
    counts: Vec<usize>,
    receiver: std::sync::mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>,
    index: wgpu::SubmissionIndex,
}

impl PendingRead {
    /// Waits for the submission it follows (and no later one), then returns each range's numbers.
    pub fn wait(self, gpu: &Gpu) -> Result<Vec<Vec<f32>>> {
        gpu.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(self.index),
                timeout: None,
            })
            .map_err(|e| Error::Device(format!("waiting for the GPU: {e}")))?;
        gpu.take_errors()?;
        self.receiver
            .recv()
            .map_err(|_| Error::Device("the read-back was dropped".into()))?
            .map_err(|e| Error::Device(format!("reading back: {e}")))?;
        let mut out = Vec::with_capacity(self.counts.len());
        {
            let view = self
                .staging
                .get_mapped_range(..self.bytes)
                .map_err(|e| Error::Device(format!("reading back: {e}")))?;
            let all: &[f32] = bytemuck::cast_slice(&view);
            let mut at = 0;
            for &count in &self.counts {
                out.push(all[at..at + count].to_vec());
                at += count;
            }
        }
        self.staging.unmap();
        if let Ok(mut pool) = gpu.staging.lock() {
            pool.push(self.staging);
        }
        Ok(out)
    }
}

/// A staging buffer of at least `bytes`: the smallest kept one that fits, or a new one of the next power of two.
fn take_staging(gpu: &Gpu, bytes: u64) -> wgpu::Buffer {
    if let Ok(mut pool) = gpu.staging.lock()
        && let Some(i) = (0..pool.len())
            .filter(|&i| pool[i].size() >= bytes)
            .min_by_key(|&i| pool[i].size())
    {
        return pool.swap_remove(i);
    }
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("read back"),
        size: bytes.next_power_of_two().max(256),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}
