//! One kernel set up to run alone: its pipeline, its buffers filled with seeded random inputs, the dispatches
//! of one launch (one per column panel where the kernel takes panels), and what each output must be according
//! to that kernel's own CPU reference. [`Case::check`] runs one launch and compares; [`Case::time`] repeats it.

use std::num::NonZeroU64;
use std::time::{Duration, Instant};

use popdecode::compare::Comparison;
use popdecode::error::{Error, Result};
use popdecode::gpu::runtime::device::Gpu;
use popdecode::gpu::runtime::kernel::{Access, Kernel, kernel};
use popdecode::gpu::runtime::readback::submit_then_read;

/// A buffer of a case, by its index in the case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufId(usize);

struct Buffer {
    buffer: wgpu::Buffer,
    /// What it holds before every checked launch (`None`: uniforms, never written by a kernel).
    init: Option<Vec<u8>>,
}

/// One dispatch of the launch: its bind group, dynamic offsets and workgroup grid.
struct Dispatch {
    group: wgpu::BindGroup,
    offsets: Vec<u32>,
    groups: [u32; 3],
}

/// How an output's numbers are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    F32,
    U32,
}

/// One output of the kernel and what it must hold.
pub struct Output {
    pub name: String,
    /// (buffer, first element, count): read back and concatenated in this order.
    ranges: Vec<(BufId, usize, usize)>,
    scalar: Scalar,
    /// Subtracted from what the GPU wrote before the comparison: an update is compared as the step it made
    /// (after - before), so that a small step on large weights is still checked to the tolerance.
    before: Option<Vec<f64>>,
    pub reference: Vec<f64>,
    pub tolerance: f64,
}

/// How a time was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// GPU timestamps at the beginning and end of one compute pass holding every repetition.
    Timestamps,
    /// Host wall-clock around one submission of every repetition and the wait for it.
    WallClock,
}

#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Milliseconds per launch (every dispatch of one launch: one per column panel where there are panels).
    pub ms: f64,
    pub reps: usize,
    pub clock: Clock,
}

/// A kernel ready to run alone on random inputs.
pub struct Case<'g> {
    gpu: &'g Gpu,
    /// "tutorial/forward_partial"
    pub kernel: String,
    pub variant: String,
    pipeline: Kernel,
    buffers: Vec<Buffer>,
    dispatches: Vec<Dispatch>,
    pub outputs: Vec<Output>,
}

/// Builds a [`Case`]: the pipeline first, then buffers, dispatches and expected outputs.
pub struct CaseBuilder<'g> {
    case: Case<'g>,
    bindings: Vec<(u32, Access)>,
}

/// The most repetitions a time is taken over.
const MAX_REPS: usize = 1000;

impl<'g> CaseBuilder<'g> {
    /// Compiles `entry` of the WGSL module `source` with its bind-group table and override constants.
    pub fn new(
        gpu: &'g Gpu,
        kernel_name: impl Into<String>,
        variant: impl Into<String>,
        source: &str,
        entry: &str,
        bindings: &[(u32, Access)],
        constants: &[(&str, f64)],
    ) -> Result<CaseBuilder<'g>> {
        let kernel_name = kernel_name.into();
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = gpu
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(entry),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let pipeline = kernel(gpu, &module, entry, bindings, constants);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Device(format!("building {kernel_name}: {e}")));
        }
        Ok(CaseBuilder {
            case: Case {
                gpu,
                kernel: kernel_name,
                variant: variant.into(),
                pipeline,
                buffers: Vec::new(),
                dispatches: Vec::new(),
                outputs: Vec::new(),
            },
            bindings: bindings.to_vec(),
        })
    }

    fn add(
        &mut self,
        label: &str,
        bytes: &[u8],
        usage: wgpu::BufferUsages,
        restore: bool,
    ) -> BufId {
        let size = (bytes.len().max(4) as u64).next_multiple_of(4);
        let buffer = self.case.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: usage | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        if !bytes.is_empty() {
            self.case.gpu.queue.write_buffer(&buffer, 0, bytes);
        }
        self.case.buffers.push(Buffer {
            buffer,
            init: restore.then(|| bytes.to_vec()),
        });
        BufId(self.case.buffers.len() - 1)
    }

    /// A storage buffer holding `data`, put back before every checked launch.
    pub fn storage(&mut self, label: &str, data: &[f32]) -> BufId {
        self.add(
            label,
            bytemuck::cast_slice(data),
            wgpu::BufferUsages::STORAGE,
            true,
        )
    }

    /// A storage buffer of u32s, put back before every checked launch.
    pub fn storage_u32(&mut self, label: &str, data: &[u32]) -> BufId {
        self.add(
            label,
            bytemuck::cast_slice(data),
            wgpu::BufferUsages::STORAGE,
            true,
        )
    }

    /// A uniform buffer (kernels only read it).
    pub fn uniform(&mut self, label: &str, bytes: &[u8]) -> BufId {
        self.add(label, bytes, wgpu::BufferUsages::UNIFORM, false)
    }

    /// One dispatch of the launch: `buffers` by binding number (with a binding size for dynamic uniforms),
    /// dynamic offsets in binding order, and the workgroup grid.
    pub fn dispatch(
        &mut self,
        buffers: &[(u32, BufId, Option<u64>)],
        offsets: &[u32],
        groups: [u32; 3],
    ) -> Result<()> {
        let mut declared: Vec<u32> = self.bindings.iter().map(|b| b.0).collect();
        let mut given: Vec<u32> = buffers.iter().map(|b| b.0).collect();
        declared.sort_unstable();
        given.sort_unstable();
        if declared != given {
            return Err(Error::Usage(format!(
                "{}: bindings {given:?} given for a kernel that declares {declared:?}",
                self.case.kernel
            )));
        }
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .map(|&(binding, id, size)| wgpu::BindGroupEntry {
                binding,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &self.case.buffers[id.0].buffer,
                    offset: 0,
                    size: size.and_then(NonZeroU64::new),
                }),
            })
            .collect();
        let group = self
            .case
            .gpu
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &self.case.pipeline.layout,
                entries: &entries,
            });
        self.case.dispatches.push(Dispatch {
            group,
            offsets: offsets.to_vec(),
            groups,
        });
        Ok(())
    }

    /// An f32 output: `ranges` read back and concatenated must be `reference` to `tolerance` (relative error
    /// of the whole tensor).
    pub fn expect(
        &mut self,
        name: &str,
        ranges: &[(BufId, usize, usize)],
        reference: Vec<f64>,
        tolerance: f64,
    ) {
        self.push(name, ranges, Scalar::F32, None, reference, tolerance);
    }

    /// An updated tensor compared as its step: (what the GPU left - `before`) against `step`.
    pub fn expect_step(
        &mut self,
        name: &str,
        ranges: &[(BufId, usize, usize)],
        before: Vec<f64>,
        step: Vec<f64>,
        tolerance: f64,
    ) {
        self.push(name, ranges, Scalar::F32, Some(before), step, tolerance);
    }

    /// A u32 output (counters), compared as numbers.
    pub fn expect_u32(
        &mut self,
        name: &str,
        ranges: &[(BufId, usize, usize)],
        reference: Vec<f64>,
    ) {
        self.push(name, ranges, Scalar::U32, None, reference, 0.0);
    }

    fn push(
        &mut self,
        name: &str,
        ranges: &[(BufId, usize, usize)],
        scalar: Scalar,
        before: Option<Vec<f64>>,
        reference: Vec<f64>,
        tolerance: f64,
    ) {
        let count: usize = ranges.iter().map(|r| r.2).sum();
        assert_eq!(
            count,
            reference.len(),
            "{}: output {name} reads {count} numbers but its reference has {}",
            self.case.kernel,
            reference.len()
        );
        self.case.outputs.push(Output {
            name: name.to_string(),
            ranges: ranges.to_vec(),
            scalar,
            before,
            reference,
            tolerance,
        });
    }

    pub fn finish(self) -> Result<Case<'g>> {
        self.case.gpu.take_errors()?;
        Ok(self.case)
    }
}

impl<'g> Case<'g> {
    /// Dispatches in this launch (one per column panel where the kernel takes panels).
    pub fn dispatch_count(&self) -> usize {
        self.dispatches.len()
    }

    /// The reference of output `name`, to change (to show that a check fails when its reference is wrong).
    pub fn reference_mut(&mut self, name: &str) -> Option<&mut Vec<f64>> {
        self.outputs
            .iter_mut()
            .find(|o| o.name == name)
            .map(|o| &mut o.reference)
    }

    fn restore(&self) {
        for b in &self.buffers {
            if let Some(init) = &b.init
                && !init.is_empty()
            {
                self.gpu.queue.write_buffer(&b.buffer, 0, init);
            }
        }
    }

    fn encode(&self, pass: &mut wgpu::ComputePass, reps: usize) {
        pass.set_pipeline(&self.pipeline.pipeline);
        for _ in 0..reps {
            for d in &self.dispatches {
                pass.set_bind_group(0, &d.group, &d.offsets);
                pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
            }
        }
    }

    /// Puts the inputs back, runs one launch and returns every output as the GPU left it, in order.
    pub fn run(&self) -> Result<Vec<Vec<f64>>> {
        self.restore();
        let ranges: Vec<(&wgpu::Buffer, usize, usize)> = self
            .outputs
            .iter()
            .flat_map(|o| o.ranges.iter())
            .map(|&(id, first, count)| (&self.buffers[id.0].buffer, first, count))
            .collect();
        let mut got = submit_then_read(self.gpu, |pass| self.encode(pass, 1), &ranges)?
            .wait(self.gpu)?
            .into_iter();
        let mut outs = Vec::with_capacity(self.outputs.len());
        for o in &self.outputs {
            let mut v = Vec::new();
            for _ in &o.ranges {
                let part = got.next().unwrap_or_default();
                v.extend(part.into_iter().map(|x| match o.scalar {
                    Scalar::F32 => x as f64,
                    Scalar::U32 => x.to_bits() as f64,
                }));
            }
            if let Some(before) = &o.before {
                for (a, b) in v.iter_mut().zip(before) {
                    *a -= b;
                }
            }
            outs.push(v);
        }
        Ok(outs)
    }

    /// Runs one launch on the inputs and compares each output with its reference.
    pub fn check(&self) -> Result<Vec<Comparison>> {
        let got = self.run()?;
        Ok(self
            .outputs
            .iter()
            .zip(&got)
            .map(|(o, g)| Comparison::new(o.name.clone(), g, &o.reference, o.tolerance))
            .collect())
    }

    /// Time per launch: a warm-up launch, then as many launches as fill about `budget` (at least 3, at most
    /// 1000) in one compute pass, between GPU timestamps where the adapter has them, else wall-clock around
    /// their submission and the wait. Kernels that update weights in place go on updating them.
    pub fn time(&self, budget: Duration) -> Result<Timing> {
        self.restore();
        let once = Instant::now();
        self.submit(1, None)?;
        self.gpu.wait()?;
        let once = once.elapsed().as_secs_f64();
        let reps = ((budget.as_secs_f64() / once.max(1e-6)) as usize).clamp(3, MAX_REPS);
        if self.gpu.timestamps {
            let queries = self.gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("kernel time"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let resolved = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("kernel time"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            self.submit(reps, Some((&queries, &resolved)))?;
            let ticks = submit_then_read(self.gpu, |_| {}, &[(&resolved, 0, 4)])?.wait(self.gpu)?;
            let tick = |i: usize| {
                (ticks[0][2 * i].to_bits() as u64) | ((ticks[0][2 * i + 1].to_bits() as u64) << 32)
            };
            let ns = tick(1).saturating_sub(tick(0)) as f64
                * self.gpu.queue.get_timestamp_period() as f64;
            Ok(Timing {
                ms: ns / 1e6 / reps as f64,
                reps,
                clock: Clock::Timestamps,
            })
        } else {
            let start = Instant::now();
            self.submit(reps, None)?;
            self.gpu.wait()?;
            Ok(Timing {
                ms: start.elapsed().as_secs_f64() * 1e3 / reps as f64,
                reps,
                clock: Clock::WallClock,
            })
        }
    }

    fn submit(&self, reps: usize, stamps: Option<(&wgpu::QuerySet, &wgpu::Buffer)>) -> Result<()> {
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: stamps.map(|(q, _)| wgpu::ComputePassTimestampWrites {
                    query_set: q,
                    beginning_of_pass_write_index: Some(0),
                    end_of_pass_write_index: Some(1),
                }),
            });
            self.encode(&mut pass, reps);
        }
        if let Some((q, resolved)) = stamps {
            encoder.resolve_query_set(q, 0..2, resolved, 0);
        }
        self.gpu.queue.submit([encoder.finish()]);
        self.gpu.take_errors()
    }
}
