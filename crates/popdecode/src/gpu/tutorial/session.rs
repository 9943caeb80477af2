//! One training problem resident on the GPU: the response matrix uploaded once, the weights, and the
//! pipelines specialised to its shapes. Epochs are encoded many to a submission; the per-epoch losses stay in
//! a GPU buffer that is read back only when asked (at progress prints and at the end).
//!
//! Per epoch the queue runs: input_grad (fused with the W1 update, and with small_grad's work in front of it),
//! forward_partial (split-K, all rows) and forward_rows (which also writes d loss / d hidden for the next
//! backward pass): three dispatches. The forward pass of epoch e's updated weights serves twice: as epoch e's
//! test evaluation and as epoch e + 1's training forward pass, so the matrix is read once for both. With the
//! tiled kernels (wide hidden layers) small_grad is a dispatch of its own before input_grad_gemm.

use std::time::{Duration, Instant};

use wgpu::util::DeviceExt;

use super::kernels::{self as shaders, Overrides};
use super::layout::{GEMM_BLOCK, GEMM_COLS4, Layout, PlanOverrides};
use crate::backend::Evaluation;
use crate::data::problem::Problem;
use crate::error::{Error, Result};
use crate::gpu::runtime::buffers::{COPY, storage, zeros};
use crate::gpu::runtime::device::Gpu;
use crate::gpu::runtime::kernel::{Kernel, bind, kernel};
use crate::gpu::runtime::pipelined::{MAX_BATCH_EPOCHS, PendingHistory};
use crate::gpu::runtime::readback::{PendingRead, submit_then_read};
use crate::gpu::runtime::wgsl::{WORKGROUP, grid};
use crate::model::{Activation, Params, Spec};

/// Whether the backward kernels update the weights (training) or store the gradients (checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Train,
    Gradients,
}

/// The uniform block `Panel` in shapes.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PanelUniform {
    width4: u32,
    k_threads: u32,
    k_offset: u32,
    small_groups: u32,
}

/// The uniform block `Hyper` in shapes.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct HyperUniform {
    lr: f32,
    pad: [f32; 3],
}

struct PanelBuffers {
    w1: wgpu::Buffer,
    /// Where input_grad writes in gradient mode.
    grad_w1: Option<wgpu::Buffer>,
    forward_partial: wgpu::BindGroup,
    input_grad: wgpu::BindGroup,
}

/// The pipelines of one problem: the entry point each dispatch of an epoch runs.
struct Kernels {
    /// forward_partial, or forward_gemm for the tiled plan.
    forward_partial: Kernel,
    forward_rows: Kernel,
    small_grad: Kernel,
    record_losses: Kernel,
    /// input_grad, or input_grad_gemm for the tiled plan.
    input_grad: Kernel,
}

impl Kernels {
    /// Every kernel's module composed and unrolled for the layout's tiles, specialised by its overrides.
    fn build(gpu: &Gpu, layout: &Layout, spec: &Spec, mode: Mode) -> Result<Kernels> {
        let constants = Overrides {
            n_train: layout.n_train,
            n_rows: layout.n_rows,
            r_pad: layout.r_pad,
            m_pad: layout.m_pad,
            k_total: layout.k_total,
            relu: spec.activation == Activation::Relu,
            apply_update: mode == Mode::Train,
            plan: layout.plan,
            tiles: layout.tiles,
        }
        .constants();
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let build = |entry: &str| -> Result<Kernel> {
            let module = gpu
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(entry),
                    source: wgpu::ShaderSource::Wgsl(shaders::source(entry, layout.tiles)?.into()),
                });
            Ok(kernel(
                gpu,
                &module,
                entry,
                shaders::bindings(entry),
                &constants,
            ))
        };
        let (forward, backward) = if layout.gemm {
            ("forward_gemm", "input_grad_gemm")
        } else {
            ("forward_partial", "input_grad")
        };
        let kernels = Kernels {
            forward_partial: build(forward)?,
            forward_rows: build("forward_rows")?,
            small_grad: build("small_grad")?,
            record_losses: build("record_losses")?,
            input_grad: build(backward)?,
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Device(format!("building the kernels: {e}")));
        }
        Ok(kernels)
    }
}

/// The buffers every panel's kernels share (the layouts are in shaders/tutorial/shapes.wgsl).
struct Shared {
    partial: wgpu::Buffer,
    b1: wgpu::Buffer,
    w2: wgpu::Buffer,
    b2: wgpu::Buffer,
    targets: wgpu::Buffer,
    hid: wgpu::Buffer,
    out: wgpu::Buffer,
    delta: wgpu::Buffer,
    grad_small: wgpu::Buffer,
    losses: wgpu::Buffer,
    state: wgpu::Buffer,
    hyper: wgpu::Buffer,
}

impl Shared {
    /// The targets uploaded (training rows, then test rows, then zeros up to r_pad), the rest zeroed; room for
    /// `capacity` epochs of losses.
    fn new(gpu: &Gpu, layout: &Layout, problem: &Problem, capacity: usize) -> Shared {
        let mut targets = vec![0.0f32; layout.r_pad];
        targets[..layout.n_train].copy_from_slice(&problem.y_train);
        targets[layout.n_train..layout.n_rows].copy_from_slice(&problem.y_test);
        let m_pad = layout.m_pad;
        Shared {
            partial: zeros(gpu, "partial", layout.k_total * layout.r_pad * m_pad, COPY),
            b1: zeros(gpu, "b1", m_pad, COPY),
            w2: zeros(gpu, "w2", m_pad, COPY),
            b2: zeros(gpu, "b2", 1, COPY),
            targets: storage(gpu, "targets", bytemuck::cast_slice(&targets), COPY),
            hid: zeros(gpu, "hid", layout.r_pad * m_pad, COPY),
            out: zeros(gpu, "out", layout.r_pad, COPY),
            delta: zeros(gpu, "delta", layout.n_train * m_pad, COPY),
            grad_small: zeros(gpu, "grad_small", 2 * m_pad + 1, COPY),
            losses: zeros(gpu, "losses", 2 * (capacity + 1), COPY),
            state: zeros(gpu, "state", 1, COPY),
            hyper: gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("hyper"),
                size: std::mem::size_of::<HyperUniform>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        }
    }

    /// small_grad's bindings; the register-tile input_grad takes them too, for the same work.
    fn small_bindings(&self) -> [(u32, &wgpu::Buffer); 11] {
        [
            (0, &self.hyper),
            (1, &self.hid),
            (2, &self.out),
            (3, &self.targets),
            (4, &self.b1),
            (5, &self.w2),
            (6, &self.b2),
            (7, &self.delta),
            (8, &self.grad_small),
            (9, &self.losses),
            (10, &self.state),
        ]
    }
}

impl PanelBuffers {
    /// Panel `i` of the layout: its columns of x (training rows, then test rows, then zero rows up to r_pad)
    /// uploaded, its w1 zeroed, and the bind groups of the two kernels that run per panel.
    fn new(
        gpu: &Gpu,
        layout: &Layout,
        i: usize,
        problem: &Problem,
        mode: Mode,
        kernels: &Kernels,
        shared: &Shared,
    ) -> PanelBuffers {
        let p = &layout.panels[i];
        let width = p.width4 * 4;
        let first_col = p.col4 * 4;
        let mut x = vec![0.0f32; layout.r_pad * width];
        for r in 0..layout.n_rows {
            let src = if r < layout.n_train {
                problem.x_train.row(r)
            } else {
                problem.x_test.row(r - layout.n_train)
            };
            let end = (first_col + width).min(src.len());
            if first_col < end {
                x[r * width..r * width + end - first_col].copy_from_slice(&src[first_col..end]);
            }
        }
        let x = storage(
            gpu,
            "x",
            bytemuck::cast_slice(&x),
            wgpu::BufferUsages::empty(),
        );
        let w1 = zeros(gpu, "w1", layout.m_pad * width, COPY);
        let uniform = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("panel"),
                contents: bytemuck::bytes_of(&PanelUniform {
                    width4: p.width4 as u32,
                    k_threads: p.k_threads as u32,
                    k_offset: p.k_offset as u32,
                    small_groups: layout.small_groups(i) as u32,
                }),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let grad_w1 =
            (mode == Mode::Gradients).then(|| zeros(gpu, "grad_w1", layout.m_pad * width, COPY));
        let forward_partial = bind(
            gpu,
            &kernels.forward_partial,
            &[(0, &uniform), (1, &x), (2, &w1), (3, &shared.partial)],
        );
        let mut input_grad_buffers = if layout.gemm {
            vec![(0, &shared.hyper), (7, &shared.delta)]
        } else {
            shared.small_bindings().to_vec()
        };
        input_grad_buffers.extend([
            (11, &uniform),
            (12, &x),
            (13, grad_w1.as_ref().unwrap_or(&w1)),
        ]);
        let input_grad = bind(gpu, &kernels.input_grad, &input_grad_buffers);
        PanelBuffers {
            w1,
            grad_w1,
            forward_partial,
            input_grad,
        }
    }
}

/// The kernels and buffers of one problem on one device.
pub struct Session<'g> {
    gpu: &'g Gpu,
    layout: Layout,
    panels: Vec<PanelBuffers>,
    kernels: Kernels,
    shared: Shared,
    forward_rows_bg: wgpu::BindGroup,
    small_grad_bg: wgpu::BindGroup,
    record_losses_bg: wgpu::BindGroup,
    /// Epochs the losses buffer has room for.
    capacity: usize,
    /// Epochs run since the weights were last set.
    epochs_done: usize,
    /// Whether the outputs in `out` belong to the current weights.
    forward_done: bool,
    /// Time spent creating buffers and pipelines.
    pub setup_time: Duration,
}

impl<'g> Session<'g> {
    /// Uploads the problem and builds the pipelines; room for `max_epochs` epochs of losses a batch, at most
    /// `MAX_BATCH_EPOCHS`.
    pub fn new(
        gpu: &'g Gpu,
        problem: &Problem,
        spec: &Spec,
        mode: Mode,
        max_epochs: usize,
        tuning: PlanOverrides,
    ) -> Result<Session<'g>> {
        let start = Instant::now();
        let layout = Layout::new(
            problem.n_train(),
            problem.n_test(),
            spec,
            &gpu.adapter,
            tuning,
        )?;
        let kernels = Kernels::build(gpu, &layout, spec, mode)?;
        // A batch's losses at a time, however many epochs the run has.
        let capacity = max_epochs.clamp(1, MAX_BATCH_EPOCHS);
        let shared = Shared::new(gpu, &layout, problem, capacity);
        let panels = (0..layout.panels.len())
            .map(|i| PanelBuffers::new(gpu, &layout, i, problem, mode, &kernels, &shared))
            .collect();
        let forward_rows_bg = bind(
            gpu,
            &kernels.forward_rows,
            &[
                (3, &shared.partial),
                (4, &shared.b1),
                (5, &shared.w2),
                (6, &shared.b2),
                (7, &shared.hid),
                (8, &shared.out),
                (9, &shared.targets),
                (10, &shared.delta),
            ],
        );
        let small_grad_bg = bind(gpu, &kernels.small_grad, &shared.small_bindings());
        let record_losses_bg = bind(
            gpu,
            &kernels.record_losses,
            &[
                (2, &shared.out),
                (3, &shared.targets),
                (9, &shared.losses),
                (10, &shared.state),
            ],
        );
        gpu.take_errors()?;
        Ok(Session {
            gpu,
            layout,
            panels,
            kernels,
            forward_rows_bg,
            small_grad_bg,
            record_losses_bg,
            shared,
            capacity,
            epochs_done: 0,
            forward_done: false,
            setup_time: start.elapsed(),
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Sets the weights and the learning rate, and starts the epoch count afresh.
    pub fn set_params(&mut self, params: &Params, lr: f64) -> Result<()> {
        let l = &self.layout;
        if params.layers.len() != 2
            || params.neurons() != l.neurons
            || params.width() != l.hidden
            || params.output().outputs != 1
        {
            return Err(Error::Usage(format!(
                "weights for a {}-layer net of {} neurons x {} hidden units do not fit a session of {} x {}",
                params.layers.len(),
                params.neurons(),
                params.width(),
                l.neurons,
                l.hidden
            )));
        }
        let (input, output) = (params.input(), params.output());
        let q = &self.gpu.queue;
        let padded = |v: &[f32]| {
            let mut p = v.to_vec();
            p.resize(l.m_pad, 0.0);
            p
        };
        q.write_buffer(
            &self.shared.b1,
            0,
            bytemuck::cast_slice(&padded(&input.bias)),
        );
        q.write_buffer(
            &self.shared.w2,
            0,
            bytemuck::cast_slice(&padded(&output.weight)),
        );
        q.write_buffer(&self.shared.b2, 0, bytemuck::cast_slice(&output.bias));
        for (p, buffers) in l.panels.iter().zip(&self.panels) {
            let width = p.width4 * 4;
            let first_col = p.col4 * 4;
            let mut w1 = vec![0.0f32; l.m_pad * width];
            for m in 0..l.hidden {
                let src = &input.weight[m * l.neurons..(m + 1) * l.neurons];
                let end = (first_col + width).min(l.neurons);
                if first_col < end {
                    w1[m * width..m * width + end - first_col]
                        .copy_from_slice(&src[first_col..end]);
                }
            }
            q.write_buffer(&buffers.w1, 0, bytemuck::cast_slice(&w1));
        }
        q.write_buffer(
            &self.shared.hyper,
            0,
            bytemuck::bytes_of(&HyperUniform {
                lr: lr as f32,
                pad: [0.0; 3],
            }),
        );
        q.write_buffer(&self.shared.state, 0, bytemuck::cast_slice(&[0u32]));
        self.epochs_done = 0;
        self.forward_done = false;
        Ok(())
    }

    fn encode_forward_partial(&self, pass: &mut wgpu::ComputePass) {
        let l = &self.layout;
        let max_groups = self.gpu.adapter.max_compute_workgroups_per_dimension as usize;
        pass.set_pipeline(&self.kernels.forward_partial.pipeline);
        for (p, buffers) in l.panels.iter().zip(&self.panels) {
            pass.set_bind_group(0, &buffers.forward_partial, &[]);
            if l.gemm {
                pass.dispatch_workgroups(
                    p.k_threads as u32,
                    (l.r_pad / GEMM_BLOCK) as u32,
                    (l.m_pad / GEMM_BLOCK) as u32,
                );
            } else {
                let groups = l.forward_partial_groups(p.k_threads);
                let (x, y) = grid(groups * WORKGROUP, max_groups);
                pass.dispatch_workgroups(x, y, 1);
            }
        }
    }

    fn encode_forward_rows(&self, pass: &mut wgpu::ComputePass) {
        pass.set_pipeline(&self.kernels.forward_rows.pipeline);
        pass.set_bind_group(0, &self.forward_rows_bg, &[]);
        pass.dispatch_workgroups(self.layout.n_rows as u32, 1, 1);
    }

    fn encode_small_grad(&self, pass: &mut wgpu::ComputePass) {
        pass.set_pipeline(&self.kernels.small_grad.pipeline);
        pass.set_bind_group(0, &self.small_grad_bg, &[]);
        pass.dispatch_workgroups(self.layout.m_pad as u32 + 1, 1, 1);
    }

    fn encode_input_grad(&self, pass: &mut wgpu::ComputePass) {
        let l = &self.layout;
        pass.set_pipeline(&self.kernels.input_grad.pipeline);
        for (i, (p, buffers)) in l.panels.iter().zip(&self.panels).enumerate() {
            pass.set_bind_group(0, &buffers.input_grad, &[]);
            if l.gemm {
                pass.dispatch_workgroups(
                    p.width4.div_ceil(GEMM_COLS4) as u32,
                    (l.m_pad / GEMM_BLOCK) as u32,
                    1,
                );
            } else {
                pass.dispatch_workgroups(
                    (l.small_groups(i) + l.input_grad_groups(p.width4)) as u32,
                    (l.m_pad / l.tiles.hidden) as u32,
                    1,
                );
            }
        }
    }

    fn encode_forward(&self, pass: &mut wgpu::ComputePass) {
        self.encode_forward_partial(pass);
        self.encode_forward_rows(pass);
    }

    fn encode_backward(&self, pass: &mut wgpu::ComputePass) {
        if !self.layout.plan.fuse_small {
            self.encode_small_grad(pass);
        }
        self.encode_input_grad(pass);
    }

    /// The GPU time of each kernel on its own, in ms: each is dispatched `reps` times in a compute pass of its
    /// own, between two timestamps. `None` where the adapter has no timestamp queries. The weights change
    /// (input_grad updates them) and the epoch count runs on: use a session built for this, with room for
    /// `reps` epochs.
    pub fn kernel_times(&mut self, reps: usize) -> Result<Option<Vec<(&'static str, f64)>>> {
        if !self.gpu.timestamps {
            return Ok(None);
        }
        if reps > self.capacity {
            return Err(Error::Usage(format!(
                "kernel_times records {reps} epochs of losses; the session has room for {}",
                self.capacity
            )));
        }
        // Every epoch below records its losses, from the buffer's start.
        self.gpu
            .queue
            .write_buffer(&self.shared.state, 0, bytemuck::cast_slice(&[0u32]));
        type Encode<'s, 'g> = fn(&'s Session<'g>, &mut wgpu::ComputePass);
        // The dispatches of an epoch, as encode_backward and encode_forward make them.
        let mut kernels: Vec<(&'static str, Encode<'_, 'g>)> = vec![
            ("forward_partial", Session::encode_forward_partial),
            ("forward_rows", Session::encode_forward_rows),
        ];
        if !self.layout.plan.fuse_small {
            kernels.push(("small_grad", Session::encode_small_grad));
        }
        kernels.push(("input_grad", Session::encode_input_grad));
        let count = 2 * kernels.len() as u32;
        let queries = self.gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("kernel times"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let resolved = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("kernel times"),
            size: count as u64 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        // Warm up every pipeline first (the first dispatch may compile).
        self.submit(|pass| {
            self.encode_forward(pass);
            self.encode_backward(pass);
        })?;
        self.gpu.wait()?;
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        for (i, (_, encode)) in kernels.iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &queries,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            for _ in 0..reps {
                encode(self, &mut pass);
            }
        }
        encoder.resolve_query_set(&queries, 0..count, &resolved, 0);
        self.gpu.queue.submit([encoder.finish()]);
        self.gpu.take_errors()?;
        let ticks: Vec<u64> = self
            .read(&[(&resolved, 0, 2 * count as usize)])?
            .remove(0)
            .chunks(2)
            .map(|w| bytemuck::cast_slice::<f32, u64>(w)[0])
            .collect();
        let ns_per_tick = self.gpu.queue.get_timestamp_period() as f64;
        let times = kernels
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                let ticks = ticks[2 * i + 1].saturating_sub(ticks[2 * i]);
                (*name, ticks as f64 * ns_per_tick / 1e6 / reps as f64)
            })
            .collect();
        self.epochs_done = self.capacity;
        Ok(Some(times))
    }

    fn submit(&self, encode: impl FnOnce(&mut wgpu::ComputePass)) -> Result<()> {
        self.submit_then_read(encode, &[]).map(|_| ())
    }

    /// Encodes a compute pass, then copies of `ranges` (in f32s) into a staging buffer, submits both and asks
    /// for the staging buffer to be mapped. Nothing waits here: see [`PendingRead::wait`].
    fn submit_then_read(
        &self,
        encode: impl FnOnce(&mut wgpu::ComputePass),
        ranges: &[(&wgpu::Buffer, usize, usize)],
    ) -> Result<PendingRead> {
        submit_then_read(self.gpu, encode, ranges)
    }

    /// Runs `epochs` more epochs of training (at most the losses buffer's `capacity`) in one submission and copies
    /// their losses, and the training loss at the weights they end with, out behind them.
    /// Nothing waits: encode the next batch, then [`PendingHistory::wait`] for this one, and the GPU never idles.
    pub fn run_epochs(&mut self, epochs: usize) -> Result<PendingHistory> {
        if epochs > self.capacity {
            return Err(Error::Usage(format!(
                "the session's losses buffer has room for {} epochs a batch; {} were asked for",
                self.capacity, epochs
            )));
        }
        let first = !self.forward_done;
        // The batch's losses start at the buffer's start (the batch before has been copied out behind it).
        self.gpu
            .queue
            .write_buffer(&self.shared.state, 0, bytemuck::cast_slice(&[0u32]));
        let read = self.submit_then_read(
            |pass| {
                if first {
                    self.encode_forward(pass);
                }
                for _ in 0..epochs {
                    self.encode_backward(pass);
                    self.encode_forward(pass);
                }
                // The test loss of the last epoch, which the next epoch's small_grad work would otherwise record.
                pass.set_pipeline(&self.kernels.record_losses.pipeline);
                pass.set_bind_group(0, &self.record_losses_bg, &[]);
                pass.dispatch_workgroups(1, 1, 1);
            },
            &[(&self.shared.losses, 0, 2 * epochs + 1)],
        )?;
        self.forward_done = true;
        self.epochs_done += epochs;
        Ok(PendingHistory {
            read,
            epochs,
            with_final: true,
        })
    }

    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// The training loss at the current weights (the MSE on the training rows).
    pub fn train_loss(&mut self) -> Result<f64> {
        let first = !self.forward_done;
        self.gpu
            .queue
            .write_buffer(&self.shared.state, 0, bytemuck::cast_slice(&[0u32]));
        let got = self
            .submit_then_read(
                |pass| {
                    if first {
                        self.encode_forward(pass);
                    }
                    pass.set_pipeline(&self.kernels.record_losses.pipeline);
                    pass.set_bind_group(0, &self.record_losses_bg, &[]);
                    pass.dispatch_workgroups(1, 1, 1);
                },
                &[(&self.shared.losses, 0, 1)],
            )?
            .wait(self.gpu)?;
        self.forward_done = true;
        Ok(got[0][0] as f64)
    }

    /// Copies buffer ranges (in f32s) back to the host, waiting for the queue.
    fn read(&self, ranges: &[(&wgpu::Buffer, usize, usize)]) -> Result<Vec<Vec<f32>>> {
        self.submit_then_read(|_| {}, ranges)?.wait(self.gpu)
    }

    /// The outputs on the test rows at the current weights (after at least one epoch or `evaluate`).
    pub fn test_outputs(&self) -> Result<Vec<f64>> {
        let l = &self.layout;
        let out = self
            .read(&[(&self.shared.out, l.n_train, l.n_rows - l.n_train)])?
            .remove(0);
        Ok(out.into_iter().map(f64::from).collect())
    }

    /// Reads the weights, without padding.
    pub fn params(&self) -> Result<Params> {
        let l = &self.layout;
        let (w1, small) = self.read_w1_and(
            |p| &p.w1,
            &[
                (&self.shared.b1, 0, l.hidden),
                (&self.shared.w2, 0, l.hidden),
                (&self.shared.b2, 0, 1),
            ],
        )?;
        let mut params = Params::zeros(&Spec::tutorial(l.neurons, l.hidden));
        let [input, output] = &mut params.layers[..] else {
            unreachable!("the tutorial's net has two layers")
        };
        input.weight = w1;
        input.bias = small[0].clone();
        output.weight = small[1].clone();
        output.bias = small[2].clone();
        Ok(params)
    }

    /// Reads an M x N tensor laid out like w1 across the panels, unpadded, with other ranges alongside.
    fn read_w1_and(
        &self,
        which: impl Fn(&PanelBuffers) -> &wgpu::Buffer,
        others: &[(&wgpu::Buffer, usize, usize)],
    ) -> Result<(Vec<f32>, Vec<Vec<f32>>)> {
        let l = &self.layout;
        let mut ranges: Vec<(&wgpu::Buffer, usize, usize)> = l
            .panels
            .iter()
            .zip(&self.panels)
            .map(|(p, b)| (which(b), 0, l.hidden * p.width4 * 4))
            .collect();
        ranges.extend_from_slice(others);
        let mut got = self.read(&ranges)?;
        let rest = got.split_off(l.panels.len());
        let mut w1 = vec![0.0f32; l.hidden * l.neurons];
        for (p, data) in l.panels.iter().zip(&got) {
            let width = p.width4 * 4;
            let first_col = p.col4 * 4;
            let end = (first_col + width).min(l.neurons);
            for m in 0..l.hidden {
                w1[m * l.neurons + first_col..m * l.neurons + end]
                    .copy_from_slice(&data[m * width..m * width + end - first_col]);
            }
        }
        Ok((w1, rest))
    }

    /// Outputs, loss and gradients on the training rows at the current weights (a `Mode::Gradients` session).
    pub fn evaluate(&mut self) -> Result<Evaluation> {
        if self.panels.iter().any(|p| p.grad_w1.is_none()) {
            return Err(Error::Usage(
                "evaluate needs a session built in Mode::Gradients".into(),
            ));
        }
        // small_grad's work records the loss at the epoch in `state`: make that slot 0.
        self.gpu
            .queue
            .write_buffer(&self.shared.state, 0, bytemuck::cast_slice(&[0u32]));
        self.submit(|pass| {
            self.encode_forward(pass);
            self.encode_backward(pass);
        })?;
        self.forward_done = true;
        let l = &self.layout;
        let (w1, small) = self.read_w1_and(
            |p| p.grad_w1.as_ref().unwrap_or(&p.w1),
            &[
                (&self.shared.grad_small, 0, l.hidden),
                (&self.shared.grad_small, l.m_pad, l.hidden),
                (&self.shared.grad_small, 2 * l.m_pad, 1),
                (&self.shared.out, 0, l.n_train),
                (&self.shared.losses, 0, 1),
            ],
        )?;
        let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        Ok(Evaluation {
            outputs: wide(&small[3]),
            loss: small[4][0] as f64,
            grads: vec![wide(&w1), wide(&small[0]), wide(&small[1]), wide(&small[2])],
        })
    }
}
