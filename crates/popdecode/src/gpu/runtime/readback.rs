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
    submit_then_read_within(gpu, encode, ranges, staging_cap(gpu))
}

/// `submit_then_read` with staging buffers of at most `cap` bytes (a multiple of 4).
fn submit_then_read_within(
    gpu: &Gpu,
    encode: impl FnOnce(&mut wgpu::ComputePass),
    ranges: &[(&wgpu::Buffer, usize, usize)],
    cap: u64,
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
    // Each staging buffer holds at most the adapter's largest buffer: a read-back larger than that (the
    // weights of a wide first layer) goes to several, a range split across them where it must.
    let mut parts: Vec<(wgpu::Buffer, u64)> = Vec::new();
    let mut copies: Vec<Vec<(&wgpu::Buffer, u64, u64, u64)>> = Vec::new();
    let mut filled = cap;
    for &(buffer, first, count) in ranges {
        let (mut src, mut left) = ((first * 4) as u64, (count * 4) as u64);
        while left > 0 {
            if filled == cap {
                copies.push(Vec::new());
                filled = 0;
            }
            let n = left.min(cap - filled);
            copies
                .last_mut()
                .expect("pushed")
                .push((buffer, src, filled, n));
            (src, left, filled) = (src + n, left - n, filled + n);
        }
    }
    for list in &copies {
        let bytes: u64 = list.iter().map(|c| c.3).sum();
        let staging = take_staging(gpu, bytes, cap);
        for &(buffer, src, dst, n) in list {
            encoder.copy_buffer_to_buffer(buffer, src, &staging, dst, n);
        }
        parts.push((staging, bytes));
    }
    let index = gpu.queue.submit([encoder.finish()]);
    gpu.take_errors()?;
    let mut receivers = Vec::with_capacity(parts.len());
    for (staging, bytes) in &parts {
        let (sender, receiver) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, ..*bytes, move |r| {
            let _ = sender.send(r);
        });
        receivers.push(receiver);
    }
    Ok(PendingRead {
        parts,
        counts,
        receivers,
        index,
    })
}

/// The most bytes one staging buffer holds: the adapter's largest buffer, in whole f32s.
fn staging_cap(gpu: &Gpu) -> u64 {
    (gpu.limits.max_buffer_size / 4 * 4).max(256)
}

/// A read-back in flight: a staging buffer whose mapping was asked for behind a submission.
pub struct PendingRead {
    /// The staging buffers, each with the bytes of it this read-back uses; the ranges lie end to end across them.
    parts: Vec<(wgpu::Buffer, u64)>,
    counts: Vec<usize>,
    receivers: Vec<std::sync::mpsc::Receiver<std::result::Result<(), wgpu::BufferAsyncError>>>,
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
        let mut all: Vec<f32> = Vec::with_capacity(self.counts.iter().sum());
        for ((staging, bytes), receiver) in self.parts.into_iter().zip(self.receivers) {
            receiver
                .recv()
                .map_err(|_| Error::Device("the read-back was dropped".into()))?
                .map_err(|e| Error::Device(format!("reading back: {e}")))?;
            if bytes > 0 {
                let view = staging
                    .get_mapped_range(..bytes)
                    .map_err(|e| Error::Device(format!("reading back: {e}")))?;
                all.extend_from_slice(bytemuck::cast_slice(&view));
            }
            staging.unmap();
            if let Ok(mut pool) = gpu.staging.lock() {
                pool.push(staging);
            }
        }
        let mut out = Vec::with_capacity(self.counts.len());
        let mut at = 0;
        for &count in &self.counts {
            out.push(all[at..at + count].to_vec());
            at += count;
        }
        Ok(out)
    }
}

/// A staging buffer of at least `bytes`: the smallest kept one that fits, or a new one of the next power of two
/// (at most `cap`, which holds `bytes`).
fn take_staging(gpu: &Gpu, bytes: u64, cap: u64) -> wgpu::Buffer {
    if let Ok(mut pool) = gpu.staging.lock()
        && let Some(i) = (0..pool.len())
            .filter(|&i| pool[i].size() >= bytes)
            .min_by_key(|&i| pool[i].size())
    {
        return pool.swap_remove(i);
    }
    gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("read back"),
        size: bytes.next_power_of_two().max(256).min(cap.max(bytes)),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::runtime::buffers::{COPY, storage};

    #[test]
    fn a_read_back_past_one_staging_buffer_is_split_across_several_in_order() {
        let gpu = Gpu::open(None).unwrap_or_else(|e| {
            panic!(
                "this test needs a GPU adapter: {e}\nOn Debian/Ubuntu: apt-get install -y mesa-vulkan-drivers"
            )
        });
        let data: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let a = storage(&gpu, "a", bytemuck::cast_slice(&data), COPY);
        let b = storage(&gpu, "b", bytemuck::cast_slice(&data[..100]), COPY);
        let ranges = [(&a, 3, 500), (&b, 10, 0), (&b, 7, 90), (&a, 600, 400)];
        // 256-byte staging buffers: 64 floats each, so 990 floats take 16 of them, ranges split across them.
        let got = submit_then_read_within(&gpu, |_| {}, &ranges, 256)
            .unwrap()
            .wait(&gpu)
            .unwrap();
        let want: Vec<Vec<f32>> = ranges
            .iter()
            .map(|&(buf, first, count)| {
                let src = if std::ptr::eq(buf, &a) {
                    &data[..]
                } else {
                    &data[..100]
                };
                src[first..first + count].to_vec()
            })
            .collect();
        assert_eq!(got, want);
    }
}
