//! The general GPU path: every network and setting the tuned path (`gpu::tutorial`) does not take — several
//! hidden layers, every objective, the penalty on the input weights, every optimizer and mini-batches — with the
//! data resident on the device. The kernels are in `shaders/general/`, one file each
//! (`shaders.rs` composes them); `bindings.wgsl` there gives the layouts.
//!
//! Uploaded once: the response matrix (training rows, then test rows), the targets in degrees, the class labels
//! (computed here with `objective::class_of`, as the CPU does) and the weights. Parameters, gradients and the
//! optimizer's state live in flat buffers; the response matrix and the input layer's weights, gradient and
//! moments are cut into column panels of neurons, each in buffers under the adapter's storage binding limit
//! ([`fit`] chooses them, and checks every other size, before anything is uploaded). Each step (a batch, or an evaluation of the test or training rows)
//! has its scalars — which rows, where its loss goes, and the optimizer's (`optim::Rule::scalars`, computed in
//! f64) — in a 256-byte slot of a uniform buffer bound with a dynamic offset; a mini-batch's rows are an
//! uploaded list of row numbers through which the kernels gather rows of x. Many epochs go to one submission,
//! and the losses stay in a history buffer on the GPU (each epoch's training loss summed there, batch by batch
//! in order, weighted by the batch's rows) until a progress report or the end reads them.

use std::num::NonZeroU64;
use std::time::{Duration, Instant};

use crate::backend::Evaluation;
use crate::data::problem::Problem;
use crate::engine::Network;
use crate::error::{Error, Result};
use crate::gpu::runtime::buffers::{COPY, storage, zeros};
use crate::gpu::runtime::device::{AdapterSummary, Gpu};
use crate::gpu::runtime::kernel::{Access, Kernel, kernel};
use crate::gpu::runtime::pipelined::{MAX_BATCH_EPOCHS, PendingHistory, Pipelined, Resident};
use crate::gpu::runtime::readback::{PendingRead, submit_then_read};
use crate::gpu::runtime::wgsl::{Tiles, grid};
use crate::model::{Params, Spec};
use crate::objective::{Penalty, class_of};
use crate::optim::Optimizer;
use crate::training::Config;

use super::shaders::{Constants, KERNELS, Use, binding, module_source};
use super::uniforms::{LayerUniform, SLOT, StepUniform};

/// The register tiles for an adapter of this type and a first layer of `m0` units, before they are fitted to
/// the adapter's workgroup memory (forward_first's sums take 64 x rows x units floats). Units: as few tiles of
/// at most 8 as hold them, filled evenly (10 units are two tiles of 5). A GPU gets one row per forward_first
/// workgroup and one column per grad_first thread, for many threads in flight; a software adapter, which pays
/// for every storage load lane by lane, gets 12 rows and 4 columns, so that each load serves more sums
/// (measured on lavapipe at 216 rows x 23,589 neurons and 16 units: forward_first 25 ms against 60 ms with
/// one row, grad_first 16 ms against 38 ms with one column).
pub fn tiles_for(device_type: wgpu::DeviceType, m0: usize) -> Tiles {
    let hidden = m0.div_ceil(m0.div_ceil(8).max(1)).max(1);
    if device_type == wgpu::DeviceType::Cpu {
        Tiles {
            row: 12,
            hidden,
            col: 4,
        }
    } else {
        Tiles {
            row: 1,
            hidden,
            col: 1,
        }
    }
}

/// The most steps one submission encodes (longer runs between reports go in several submissions).
const MAX_STEPS: usize = 1024;
/// The most workgroups of penalty_partial.
const PENALTY_GROUPS: usize = 256;

/// Where one layer lives in the flat buffers.
#[derive(Clone, Debug)]
pub struct LayerPlan {
    pub inputs: usize,
    pub outputs: usize,
    pub w_off: usize,
    pub b_off: usize,
    /// Its block in the activations and deltas (max_rows x outputs).
    pub act_off: usize,
}

/// The shapes and offsets of one problem and network in the buffers of shaders/general/bindings.wgsl. The
/// neurons are cut into `panels` column panels of `n4` vec4s each (the last zero-padded), so that each panel's
/// buffers fit one storage binding: panel p holds the columns [p n4, (p + 1) n4) of x and of W_in (each row
/// padded to the panel's width), their gradient and the optimizer's moments of them. Panel 0's parameter buffer
/// goes on after its W_in: b_in at `win_len`, each later layer's weight and bias after it, each tensor at a
/// multiple of 4 floats (`p_len` in all; later panels' hold their `win_len` floats of W_in only). A block of
/// max_rows x outputs per layer in the activations and deltas. The session and the per-kernel harness both lay
/// their buffers out by it.
#[derive(Clone, Debug)]
pub struct BufferLayout {
    pub n_train: usize,
    pub n_test: usize,
    pub neurons: usize,
    /// vec4 columns of each panel (N4 in the shaders).
    pub n4: usize,
    pub panels: usize,
    pub classes: usize,
    pub layers: Vec<LayerPlan>,
    pub win_len: usize,
    pub p_len: usize,
    pub acts_len: usize,
}

impl BufferLayout {
    /// The layout for steps of at most as many rows as the training or the test set has.
    pub fn new(n_train: usize, n_test: usize, spec: &Spec) -> BufferLayout {
        BufferLayout::with_max_rows(n_train, n_test, spec, n_train.max(n_test))
    }

    /// The layout for steps of at most `max_rows` rows, in one panel.
    pub fn with_max_rows(
        n_train: usize,
        n_test: usize,
        spec: &Spec,
        max_rows: usize,
    ) -> BufferLayout {
        BufferLayout::panelled(n_train, n_test, spec, max_rows, 1)
    }

    /// The layout for steps of at most `max_rows` rows, the neurons cut into about `panels` panels of equal
    /// width (fewer where that leaves one empty).
    pub fn panelled(
        n_train: usize,
        n_test: usize,
        spec: &Spec,
        max_rows: usize,
        panels: usize,
    ) -> BufferLayout {
        let total4 = spec.neurons.div_ceil(4).max(1);
        let n4 = total4.div_ceil(panels.clamp(1, total4));
        let panels = total4.div_ceil(n4);
        let max_rows = max_rows.max(1);
        let align = |v: usize| v.next_multiple_of(4);
        let (mut p, mut a) = (0, 0);
        let mut layers = Vec::new();
        for (l, (outputs, inputs)) in spec.layer_shapes().into_iter().enumerate() {
            // W_in's rows are padded to whole vec4s.
            let stored = if l == 0 {
                outputs * n4 * 4
            } else {
                outputs * inputs
            };
            let w_off = p;
            let b_off = align(w_off + stored);
            p = align(b_off + outputs);
            layers.push(LayerPlan {
                inputs,
                outputs,
                w_off,
                b_off,
                act_off: a,
            });
            a += max_rows * outputs;
        }
        BufferLayout {
            n_train,
            n_test,
            neurons: spec.neurons,
            n4,
            panels,
            classes: spec.outputs(),
            win_len: layers[0].b_off,
            layers,
            p_len: p,
            acts_len: a,
        }
    }

    fn n_rows(&self) -> usize {
        self.n_train + self.n_test
    }

    fn m0(&self) -> usize {
        self.layers[0].outputs
    }

    /// Layer `l`'s `Layer` uniform.
    pub fn layer_uniform(&self, l: usize) -> LayerUniform {
        let p = &self.layers[l];
        LayerUniform {
            inputs: if l == 0 { self.n4 * 4 } else { p.inputs } as u32,
            outputs: p.outputs as u32,
            w_off: p.w_off as u32,
            b_off: p.b_off as u32,
            in_off: if l == 0 {
                0
            } else {
                self.layers[l - 1].act_off
            } as u32,
            out_off: p.act_off as u32,
            hidden: u32::from(l + 1 < self.layers.len()),
            first: u32::from(l == 0),
        }
    }

    /// f32s in panel `p`'s parameter buffer (and its gradient's, and each of its optimizer moments).
    pub fn panel_len(&self, p: usize) -> usize {
        if p == 0 { self.p_len } else { self.win_len }
    }

    /// The neurons panel `p` holds: its first, and how many (the rest of its width is padding).
    fn panel_neurons(&self, p: usize) -> (usize, usize) {
        let first = (p * self.n4 * 4).min(self.neurons);
        (first, (first + self.n4 * 4).min(self.neurons) - first)
    }

    /// Every tensor of `params` in the panels' parameter buffers.
    fn flatten(&self, params: &Params) -> Vec<Vec<f32>> {
        let mut flat: Vec<Vec<f32>> = (0..self.panels)
            .map(|p| vec![0.0f32; self.panel_len(p)])
            .collect();
        let stride = self.n4 * 4;
        for (l, (plan, layer)) in self.layers.iter().zip(&params.layers).enumerate() {
            if l == 0 {
                for (p, buf) in flat.iter_mut().enumerate() {
                    let (first, n) = self.panel_neurons(p);
                    for m in 0..plan.outputs {
                        let src = m * self.neurons + first;
                        buf[m * stride..m * stride + n]
                            .copy_from_slice(&layer.weight[src..src + n]);
                    }
                }
            } else {
                flat[0][plan.w_off..plan.w_off + layer.weight.len()].copy_from_slice(&layer.weight);
            }
            flat[0][plan.b_off..plan.b_off + plan.outputs].copy_from_slice(&layer.bias);
        }
        flat
    }

    /// The tensors of the panels' buffers, in `Params::tensors()` order, unpadded.
    fn tensors(&self, flat: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let mut out = Vec::with_capacity(2 * self.layers.len());
        let stride = self.n4 * 4;
        for (l, plan) in self.layers.iter().enumerate() {
            if l == 0 {
                let mut w = vec![0.0f32; plan.outputs * self.neurons];
                for (p, buf) in flat.iter().enumerate() {
                    let (first, n) = self.panel_neurons(p);
                    for m in 0..plan.outputs {
                        let dst = m * self.neurons + first;
                        w[dst..dst + n].copy_from_slice(&buf[m * stride..m * stride + n]);
                    }
                }
                out.push(w);
            } else {
                out.push(flat[0][plan.w_off..plan.w_off + plan.outputs * plan.inputs].to_vec());
            }
            out.push(flat[0][plan.b_off..plan.b_off + plan.outputs].to_vec());
        }
        out
    }
}

/// A kernel with the one bind group it runs with.
struct Bound {
    kernel: Kernel,
    group: wgpu::BindGroup,
}

/// Whether a step goes on from its loss to the gradients and the update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Train,
    Evaluate,
}

/// The kernels, those over W_in's columns (penalty_partial, forward_first, grad_first, update) once per panel.
struct Kernels {
    penalty_partial: Vec<Bound>,
    penalty_final: Bound,
    forward_first: Vec<Bound>,
    forward_dense: Bound,
    loss: Bound,
    backward_delta: Bound,
    grad_first: Vec<Bound>,
    grad_dense: Bound,
    update: Vec<Bound>,
}

/// The kernels that run once per panel, each on that panel's buffers.
const PER_PANEL: [&str; 4] = ["penalty_partial", "forward_first", "grad_first", "update"];

/// One panel's buffers: its columns of x, and its parameters, gradients and optimizer moments (panel 0's with
/// every tensor after W_in as well).
struct PanelBuffers {
    x: wgpu::Buffer,
    params: wgpu::Buffer,
    grads: wgpu::Buffer,
    state: wgpu::Buffer,
}

/// One problem and network on the device, for training with one `Config` or for evaluating gradients.
pub struct GeneralSession<'g> {
    gpu: &'g Gpu,
    plan: BufferLayout,
    spec: Spec,
    /// The training settings; `None` in a session that evaluates gradients.
    config: Option<Config>,
    penalty: Penalty,
    pen_groups: usize,
    tiles: Tiles,
    index: wgpu::Buffer,
    panels: Vec<PanelBuffers>,
    outs: wgpu::Buffer,
    history: wgpu::Buffer,
    steps: wgpu::Buffer,
    kernels: Kernels,
    /// Epochs encoded per submission at most, and where their row lists go in `index`.
    epochs_per_submission: usize,
    index_epochs: usize,
    epochs_done: usize,
    /// Optimizer steps taken (Adam's t).
    optimizer_steps: u64,
    /// Time spent uploading and building pipelines.
    pub setup_time: Duration,
}

impl<'g> GeneralSession<'g> {
    /// Uploads the problem and `params`, and builds the pipelines: for training with `config`, or (with `None`)
    /// for evaluating the objective with `penalty` and its gradients. `tuning`: other register tiles or panels
    /// than the adapter's. Everything is checked against the adapter's limits ([`fit`]) before any upload.
    pub fn new(
        gpu: &'g Gpu,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        config: Option<&Config>,
        penalty: &Penalty,
        tuning: GeneralTuning,
    ) -> Result<GeneralSession<'g>> {
        let start = Instant::now();
        spec.validate()?;
        let shapes: Vec<(usize, usize)> = params
            .layers
            .iter()
            .map(|l| (l.outputs, l.inputs))
            .collect();
        if shapes != spec.layer_shapes() || problem.neurons() != spec.neurons {
            return Err(Error::Usage(format!(
                "weights of shapes {shapes:?} on {} neurons do not fit the network {}",
                problem.neurons(),
                spec.describe()
            )));
        }
        let (n_train, n_test) = (problem.n_train(), problem.n_test());
        let Fitted {
            plan,
            tiles,
            batches,
            mini,
            epochs_per_submission,
        } = fit(&gpu.adapter, n_train, n_test, spec, config, tuning)?;
        let m0 = plan.m0();
        let optimizer = config.map(|c| &c.optimizer);
        let moments = optimizer.map_or(0, |o| o.moments());
        let win4 = plan.win_len / 4;
        let pen_groups = win4.div_ceil(256).clamp(1, PENALTY_GROUPS);
        let constants = Constants {
            n4: plan.n4,
            m0,
            classes: plan.classes,
            last_off: plan.layers.last().expect("layers").act_off,
            win_len: plan.win_len,
            p_len: plan.p_len,
            activation: spec.activation,
            penalty: *penalty,
            pen_groups,
            pen_chunk4: win4.div_ceil(pen_groups),
            panel_first: true,
            panel_last: true,
        };
        let step_slots = epochs_per_submission * (batches + 1) + 2;
        let epochs = config.map_or(0, |c| c.epochs);

        let (targets, labels) = host_targets(&plan, problem, spec);
        let n_rows = plan.n_rows();
        // Row lists: every training row in order, then the test rows, then room for a submission's shuffles.
        let index_epochs = n_rows;
        let mut index: Vec<u32> = (0..n_rows as u32).collect();
        if mini {
            index.resize(n_rows + epochs_per_submission * n_train, 0);
        }

        let none = wgpu::BufferUsages::empty();
        // Each panel's columns of x are built and uploaded in turn, so the host holds one panel's copy at a time.
        let flat = plan.flatten(params);
        let panels: Vec<PanelBuffers> = flat
            .iter()
            .enumerate()
            .map(|(p, w)| PanelBuffers {
                x: storage(
                    gpu,
                    "x",
                    bytemuck::cast_slice(&host_panel(&plan, problem, p)),
                    none,
                ),
                params: storage(gpu, "params", bytemuck::cast_slice(w), COPY),
                grads: zeros(gpu, "grads", plan.panel_len(p), COPY),
                state: zeros(
                    gpu,
                    "optimizer state",
                    (moments * plan.panel_len(p)).max(1),
                    none,
                ),
            })
            .collect();
        drop(flat);
        let targets = storage(gpu, "targets", bytemuck::cast_slice(&targets), none);
        let labels = storage(gpu, "labels", bytemuck::cast_slice(&labels), none);
        let index = storage(gpu, "index", bytemuck::cast_slice(&index), COPY);
        let acts = zeros(gpu, "acts", plan.acts_len, none);
        let deltas = zeros(gpu, "deltas", plan.acts_len, none);
        let outs = zeros(gpu, "outs", n_rows * plan.classes, COPY);
        // A batch's losses at a time (`run_epochs`), however many epochs the run has.
        let history = zeros(gpu, "history", 2 * epochs.min(MAX_BATCH_EPOCHS) + 2, COPY);
        let pen_partials = zeros(gpu, "penalty partials", 2 * pen_groups, none);
        let scalars = zeros(gpu, "scalars", 4, none);
        let uniform = |label: &str, size: usize| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        };
        let steps = uniform("steps", step_slots * SLOT);
        let layers = uniform("layers", plan.layers.len() * SLOT);
        gpu.queue.write_buffer(&layers, 0, &layer_uniforms(&plan));

        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        // The buffers, by their names in shaders/general/bindings.wgsl.
        let buffers: [(&str, &wgpu::Buffer); 15] = [
            ("st", &steps),
            ("layer", &layers),
            ("index", &index),
            ("targets", &targets),
            ("labels", &labels),
            ("acts_w", &acts),
            ("acts_r", &acts),
            ("deltas_w", &deltas),
            ("deltas_r", &deltas),
            ("outs", &outs),
            ("history", &history),
            ("pen_partials_w", &pen_partials),
            ("pen_partials_r", &pen_partials),
            ("scalars_w", &scalars),
            ("scalars_r", &scalars),
        ];
        let kernels = build_kernels(
            gpu, &plan, tiles, spec, optimizer, constants, &buffers, &panels,
        )?;
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Device(format!("building the general kernels: {e}")));
        }
        gpu.take_errors()?;
        Ok(GeneralSession {
            gpu,
            plan,
            spec: spec.clone(),
            config: config.copied(),
            penalty: *penalty,
            pen_groups,
            tiles,
            index,
            panels,
            outs,
            history,
            steps,
            kernels,
            epochs_per_submission,
            index_epochs,
            epochs_done: 0,
            optimizer_steps: 0,
            setup_time: start.elapsed(),
        })
    }

    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    fn dispatch(&self, pass: &mut wgpu::ComputePass, b: &Bound, offsets: &[u32], x: u32, y: u32) {
        if x == 0 || y == 0 {
            return;
        }
        pass.set_pipeline(&b.kernel.pipeline);
        pass.set_bind_group(0, &b.group, offsets);
        pass.dispatch_workgroups(x, y, 1);
    }

    /// `threads` threads of a 64-thread kernel, in a 2-D grid when one dimension does not hold them.
    fn dispatch_threads(
        &self,
        pass: &mut wgpu::ComputePass,
        b: &Bound,
        offsets: &[u32],
        threads: usize,
    ) {
        let max = self.gpu.adapter.max_compute_workgroups_per_dimension as usize;
        let (x, y) = grid(threads, max);
        self.dispatch(pass, b, offsets, x, y);
    }

    /// The kernels of one step whose scalars are in slot `slot`.
    fn encode_step(&self, pass: &mut wgpu::ComputePass, slot: usize, rows: usize, kind: Kind) {
        let k = &self.kernels;
        let p = &self.plan;
        let s = (slot * SLOT) as u32;
        let lo = |l: usize| (l * SLOT) as u32;
        // Panels run in order, so the sums over them are the same every time.
        if !self.penalty.is_zero() {
            for b in &k.penalty_partial {
                self.dispatch(pass, b, &[], self.pen_groups as u32, 1);
            }
            self.dispatch(pass, &k.penalty_final, &[], 1, 1);
        }
        for b in &k.forward_first {
            self.dispatch(
                pass,
                b,
                &[s],
                rows.div_ceil(self.tiles.row) as u32,
                p.m0().div_ceil(self.tiles.hidden) as u32,
            );
        }
        for (l, layer) in p.layers.iter().enumerate().skip(1) {
            self.dispatch_threads(pass, &k.forward_dense, &[s, lo(l)], rows * layer.outputs);
        }
        self.dispatch(pass, &k.loss, &[s], 1, 1);
        if kind == Kind::Evaluate {
            return;
        }
        for (l, layer) in p.layers.iter().enumerate().skip(1).rev() {
            self.dispatch_threads(pass, &k.backward_delta, &[s, lo(l)], rows * layer.inputs);
        }
        for b in &k.grad_first {
            self.dispatch_threads(
                pass,
                b,
                &[s],
                p.n4.div_ceil(self.tiles.col) * p.m0().div_ceil(self.tiles.hidden),
            );
        }
        for (l, layer) in p.layers.iter().enumerate() {
            let cols = if l == 0 { 1 } else { layer.inputs + 1 };
            self.dispatch_threads(pass, &k.grad_dense, &[s, lo(l)], layer.outputs * cols);
        }
        for (i, b) in k.update.iter().enumerate() {
            self.dispatch_threads(pass, b, &[s], p.panel_len(i));
        }
    }

    /// Writes the steps' scalars to their slots, encodes them in one compute pass, copies `ranges` out behind
    /// them and submits.
    fn submit_steps(
        &self,
        steps: &[(Kind, StepUniform)],
        ranges: &[(&wgpu::Buffer, usize, usize)],
    ) -> Result<PendingRead> {
        let mut slots = vec![0u8; steps.len() * SLOT];
        for (i, (_, u)) in steps.iter().enumerate() {
            slots[i * SLOT..i * SLOT + size_of::<StepUniform>()]
                .copy_from_slice(bytemuck::bytes_of(u));
        }
        if !slots.is_empty() {
            self.gpu.queue.write_buffer(&self.steps, 0, &slots);
        }
        submit_then_read(
            self.gpu,
            |pass| {
                for (i, (kind, u)) in steps.iter().enumerate() {
                    self.encode_step(pass, i, u.rows as usize, *kind);
                }
            },
            ranges,
        )
    }

    /// An evaluation of the training rows (`test` false) or the test rows at the current weights, its loss
    /// into history entry `slot`.
    fn evaluation_step(&self, test: bool, slot: usize) -> StepUniform {
        let p = &self.plan;
        StepUniform {
            row_base: if test { p.n_train } else { 0 } as u32,
            rows: if test { p.n_test } else { p.n_train } as u32,
            out_base: if test { p.n_train } else { 0 } as u32,
            loss_slot: slot as u32,
            weight: 1.0,
            ..StepUniform::default()
        }
    }

    /// Outputs, loss and gradients on the training rows at the session's weights (a session built without a
    /// training config).
    pub fn evaluate(&self) -> Result<Evaluation> {
        if self.config.is_some() {
            return Err(Error::Usage(
                "evaluate needs a session built for gradients".into(),
            ));
        }
        let p = &self.plan;
        let step = self.evaluation_step(false, 0);
        let mut ranges: Vec<(&wgpu::Buffer, usize, usize)> = vec![
            (&self.outs, 0, p.n_train * p.classes),
            (&self.history, 0, 1),
        ];
        for (i, panel) in self.panels.iter().enumerate() {
            ranges.push((&panel.grads, 0, p.panel_len(i)));
        }
        let mut got = self
            .submit_steps(&[(Kind::Train, step)], &ranges)?
            .wait(self.gpu)?;
        let grads = got.split_off(2);
        let wide = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        Ok(Evaluation {
            outputs: wide(&got[0]),
            loss: got[1][0] as f64,
            grads: p.tensors(&grads).iter().map(|t| wide(t)).collect(),
        })
    }

    /// Runs `epochs` more epochs (in as many submissions as the step buffer needs) and copies the losses so far
    /// out behind them; after the run's last epoch, also the training loss at the final weights (and, for a run
    /// of no epochs, the test outputs). Nothing waits: see [`PendingHistory::wait`].
    pub fn run_epochs(&mut self, epochs: usize) -> Result<PendingHistory> {
        let config = self
            .config
            .ok_or_else(|| Error::Usage("run_epochs needs a session built for training".into()))?;
        let end = self.epochs_done + epochs;
        if end > config.epochs || epochs > MAX_BATCH_EPOCHS {
            return Err(Error::Usage(format!(
                "the session trains {} epochs, at most {MAX_BATCH_EPOCHS} a batch; {} were asked for after {}",
                config.epochs, epochs, self.epochs_done
            )));
        }
        // The batch's losses start at the history buffer's start: entry 2 (e - base) for epoch e.
        let base = self.epochs_done;
        let p = self.plan.clone();
        let mini = config.is_mini_batch(p.n_train);
        loop {
            let first = self.epochs_done;
            let chunk = self.epochs_per_submission.min(end - first);
            let last = first + chunk == end;
            let mut steps = Vec::new();
            let mut rows_lists: Vec<u32> = Vec::new();
            for epoch in first..first + chunk {
                let block = self.index_epochs + (epoch - first) * p.n_train;
                let mut at = 0;
                for (b, batch) in config.batches(p.n_train, epoch).iter().enumerate() {
                    self.optimizer_steps += 1;
                    let opt = config.optimizer.scalars(config.lr, self.optimizer_steps);
                    steps.push((
                        Kind::Train,
                        StepUniform {
                            row_base: if mini { block + at } else { 0 } as u32,
                            rows: batch.len() as u32,
                            out_base: 0,
                            loss_slot: 2 * (epoch - base) as u32,
                            accumulate: u32::from(b > 0),
                            weight: (batch.len() as f64 / p.n_train as f64) as f32,
                            opt: opt.map(|v| v as f32),
                            ..StepUniform::default()
                        },
                    ));
                    if mini {
                        rows_lists.extend(batch.iter().map(|&r| r as u32));
                    }
                    at += batch.len();
                }
                steps.push((
                    Kind::Evaluate,
                    self.evaluation_step(true, 2 * (epoch - base) + 1),
                ));
            }
            if last && end == config.epochs {
                if config.epochs == 0 {
                    steps.push((Kind::Evaluate, self.evaluation_step(true, 1)));
                }
                steps.push((Kind::Evaluate, self.evaluation_step(false, 2 * epochs)));
            }
            if !rows_lists.is_empty() {
                self.gpu.queue.write_buffer(
                    &self.index,
                    (self.index_epochs * 4) as u64,
                    bytemuck::cast_slice(&rows_lists),
                );
            }
            let ranges: &[(&wgpu::Buffer, usize, usize)] = if last {
                &[(&self.history, 0, 2 * epochs + 1)]
            } else {
                &[]
            };
            let read = self.submit_steps(&steps, ranges)?;
            self.epochs_done = first + chunk;
            if last {
                return Ok(PendingHistory {
                    read,
                    epochs,
                    with_final: end == config.epochs,
                });
            }
        }
    }

    /// The training objective at the current weights, for a run stopped before its last epoch.
    pub fn train_loss(&self) -> Result<f64> {
        let step = self.evaluation_step(false, 0);
        let got = self
            .submit_steps(&[(Kind::Evaluate, step)], &[(&self.history, 0, 1)])?
            .wait(self.gpu)?;
        Ok(got[0][0] as f64)
    }

    fn read(&self, ranges: &[(&wgpu::Buffer, usize, usize)]) -> Result<Vec<Vec<f32>>> {
        submit_then_read(self.gpu, |_| {}, ranges)?.wait(self.gpu)
    }

    /// The weights, unpadded.
    pub fn params(&self) -> Result<Params> {
        let ranges: Vec<(&wgpu::Buffer, usize, usize)> = self
            .panels
            .iter()
            .enumerate()
            .map(|(i, panel)| (&panel.params, 0, self.plan.panel_len(i)))
            .collect();
        let flat = self.read(&ranges)?;
        let mut params = Params::zeros(&self.spec);
        let mut tensors = self.plan.tensors(&flat).into_iter();
        for layer in &mut params.layers {
            layer.weight = tensors.next().expect("a weight per layer");
            layer.bias = tensors.next().expect("a bias per layer");
        }
        Ok(params)
    }

    /// The outputs on the test rows from the last evaluation of them (log-probabilities for classes).
    pub fn test_outputs(&self) -> Result<Vec<f64>> {
        let p = &self.plan;
        let out = self
            .read(&[(&self.outs, p.n_train * p.classes, p.n_test * p.classes)])?
            .remove(0);
        Ok(out.into_iter().map(f64::from).collect())
    }
}

/// Panel `p`'s columns of x as uploaded: training rows, then test rows, each `n4` vec4s (zero-padded past the
/// last neuron).
fn host_panel(plan: &BufferLayout, problem: &Problem, p: usize) -> Vec<f32> {
    let n_rows = plan.n_rows();
    let width = plan.n4 * 4;
    let (first, n) = plan.panel_neurons(p);
    let mut x = vec![0.0f32; n_rows * width];
    for r in 0..n_rows {
        let src = if r < plan.n_train {
            problem.x_train.row(r)
        } else {
            problem.x_test.row(r - plan.n_train)
        };
        x[r * width..r * width + n].copy_from_slice(&src[first..first + n]);
    }
    x
}

/// The targets in degrees (training rows, then test rows) and the class labels (computed here with
/// `class_of`, as the CPU does; zeros for regression).
fn host_targets(plan: &BufferLayout, problem: &Problem, spec: &Spec) -> (Vec<f32>, Vec<u32>) {
    let targets: Vec<f32> = problem
        .y_train
        .iter()
        .chain(&problem.y_test)
        .copied()
        .collect();
    let labels: Vec<u32> = match spec.objective.classes() {
        Some(c) => targets.iter().map(|&t| class_of(t, c) as u32).collect(),
        None => vec![0; plan.n_rows()],
    };
    (targets, labels)
}

/// Each layer's `Layer` uniform in its own slot.
fn layer_uniforms(plan: &BufferLayout) -> Vec<u8> {
    let mut layer_slots = vec![0u8; plan.layers.len() * SLOT];
    for l in 0..plan.layers.len() {
        layer_slots[l * SLOT..l * SLOT + size_of::<LayerUniform>()]
            .copy_from_slice(bytemuck::bytes_of(&plan.layer_uniform(l)));
    }
    layer_slots
}

/// One pipeline per kernel, each from its own module (composed with this objective's loss and this optimizer's
/// step), bound to `buffers` and the panels' buffers by their names in shaders/general/bindings.wgsl. The
/// kernels over W_in's columns get a bind group per panel, on a pipeline whose constants say whether the panel
/// is the first or the last (and, for the update, how long its parameter buffer is).
#[allow(clippy::too_many_arguments)]
fn build_kernels(
    gpu: &Gpu,
    plan: &BufferLayout,
    tiles: Tiles,
    spec: &Spec,
    optimizer: Option<&Optimizer>,
    constants: Constants,
    buffers: &[(&str, &wgpu::Buffer)],
    panels: &[PanelBuffers],
) -> Result<Kernels> {
    // Panel `p`'s buffer for `name`: its own columns and parameters, panel 0's for the tensors after W_in
    // (`params_r`: b_in and the later layers), else the shared one.
    let buffer = |name: &str, p: usize| -> Result<&wgpu::Buffer> {
        Ok(match name {
            "x" => &panels[p].x,
            "params4" | "params_w" => &panels[p].params,
            "params_r" => &panels[0].params,
            "grads4_w" | "grads_w" => &panels[p].grads,
            "state" => &panels[p].state,
            _ => buffers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, b)| *b)
                .ok_or_else(|| Error::Usage(format!("no general buffer called {name:?}")))?,
        })
    };
    let last = panels.len() - 1;
    let mut modules: Vec<(&str, wgpu::ShaderModule)> = Vec::new();
    // Pipelines by entry point and override constants: panels with the same role share one.
    type Built<'a> = (&'a str, Vec<(&'static str, f64)>, Kernel);
    let mut pipelines: Vec<Built> = Vec::new();
    let mut bound: Vec<(&str, Vec<Bound>)> = Vec::with_capacity(KERNELS.len());
    for file in &KERNELS {
        if !modules.iter().any(|(f, _)| *f == file.file) {
            let text = module_source(file, tiles, spec.objective, optimizer)?;
            let module = gpu
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(file.file),
                    source: wgpu::ShaderSource::Wgsl(text.into()),
                });
            modules.push((file.file, module));
        }
        let module = &modules
            .iter()
            .find(|(f, _)| *f == file.file)
            .expect("built")
            .1;
        let mut access = Vec::with_capacity(file.bindings.len());
        for &name in file.bindings {
            let (number, usage) = binding(name)?;
            access.push((
                number,
                match usage {
                    Use::Uniform => Access::DynamicUniform,
                    Use::Read => Access::Read,
                    Use::ReadWrite => Access::ReadWrite,
                },
            ));
        }
        let count = if PER_PANEL.contains(&file.entry) {
            panels.len()
        } else {
            1
        };
        let mut per_panel = Vec::with_capacity(count);
        for p in 0..count {
            let values = Constants {
                panel_first: p == 0,
                panel_last: p == last,
                p_len: plan.panel_len(p),
                ..constants
            }
            .values();
            let kernel = match pipelines
                .iter()
                .find(|(e, v, _)| *e == file.entry && *v == values)
            {
                Some((_, _, k)) => k.clone(),
                None => {
                    let k = kernel(gpu, module, file.entry, &access, &values);
                    pipelines.push((file.entry, values, k.clone()));
                    k
                }
            };
            let mut entries = Vec::with_capacity(file.bindings.len());
            for &name in file.bindings {
                let (number, usage) = binding(name)?;
                let buffer = buffer(name, p)?;
                entries.push(wgpu::BindGroupEntry {
                    binding: number,
                    resource: match usage {
                        Use::Uniform => wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer,
                            offset: 0,
                            size: NonZeroU64::new(SLOT as u64),
                        }),
                        _ => buffer.as_entire_binding(),
                    },
                });
            }
            let group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(file.entry),
                layout: &kernel.layout,
                entries: &entries,
            });
            per_panel.push(Bound { kernel, group });
        }
        bound.push((file.entry, per_panel));
    }
    let mut take = |entry: &str| -> Result<Vec<Bound>> {
        let at = bound
            .iter()
            .position(|(e, _)| *e == entry)
            .ok_or_else(|| Error::Usage(format!("no general kernel {entry:?}")))?;
        Ok(bound.swap_remove(at).1)
    };
    let mut one = |entry: &str| -> Result<Bound> {
        take(entry)?
            .pop()
            .ok_or_else(|| Error::Usage(format!("no general kernel {entry:?}")))
    };
    let penalty_final = one("penalty_final")?;
    let forward_dense = one("forward_dense")?;
    let loss = one("loss")?;
    let backward_delta = one("backward_delta")?;
    let grad_dense = one("grad_dense")?;
    Ok(Kernels {
        penalty_partial: take("penalty_partial")?,
        penalty_final,
        forward_first: take("forward_first")?,
        forward_dense,
        loss,
        backward_delta,
        grad_first: take("grad_first")?,
        grad_dense,
        update: take("update")?,
    })
}

/// Bytes of workgroup memory forward_first uses with `tiles`: a sum per thread for each (row, unit) of the
/// tile, and tree_sum's 64.
fn workgroup_bytes(tiles: Tiles) -> usize {
    4 * 64 * (tiles.row * tiles.hidden + 1)
}

/// `tiles` with as few rows as it takes to fit `max_bytes` of workgroup memory.
fn fit_workgroup_memory(tiles: Tiles, max_bytes: usize) -> Tiles {
    let mut t = tiles;
    while t.row > 1 && workgroup_bytes(t) > max_bytes {
        t.row -= 1;
    }
    t
}

/// Settings of the general path other than the adapter's defaults (tests and benchmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeneralTuning {
    /// Register tiles instead of [`tiles_for`] the adapter.
    pub tiles: Option<Tiles>,
    /// The widest column panel, in vec4s, below what the binding limit allows (to test several panels).
    pub max_panel4: Option<usize>,
}

/// How a problem and network go onto an adapter on the general path, worked out from the shapes alone before
/// anything is uploaded ([`fit`]).
#[derive(Clone, Debug)]
pub struct Fitted {
    pub plan: BufferLayout,
    pub tiles: Tiles,
    /// Batches per epoch, and whether they are mini-batches (rows gathered through a shuffled list).
    batches: usize,
    mini: bool,
    /// Epochs one submission encodes at most: their steps' slots and row lists fill the step and index buffers.
    epochs_per_submission: usize,
}

/// What the general path needs of adapter `a` for `n_train` + `n_test` rows and `spec`, trained with `config`
/// (`None`: evaluating gradients): the panels that keep every storage binding under the adapter's limit, the
/// register tiles that fit its workgroup memory; or an `AdapterLimits` error naming the size, the limit, and the
/// flag that sets it, for what no panelling helps.
pub fn fit(
    a: &AdapterSummary,
    n_train: usize,
    n_test: usize,
    spec: &Spec,
    config: Option<&Config>,
    tuning: GeneralTuning,
) -> Result<Fitted> {
    if n_train == 0 {
        return Err(Error::Usage("no training rows".into()));
    }
    let whole = BufferLayout::new(n_train, n_test, spec);
    let m0 = whole.m0();
    let shared = a.max_compute_workgroup_storage_size as usize;
    let tiles = tuning
        .tiles
        .unwrap_or_else(|| fit_workgroup_memory(tiles_for(a.device_type, m0), shared));
    if tiles.row == 0 || tiles.hidden == 0 || tiles.col == 0 {
        return Err(Error::Usage(format!("empty register tiles {tiles:?}")));
    }
    if workgroup_bytes(tiles) > shared {
        return Err(Error::AdapterLimits(format!(
            "register tiles {tiles:?} need {} bytes of workgroup memory, more than this adapter's {shared}",
            workgroup_bytes(tiles)
        )));
    }
    let limits = |what: String| -> Result<Fitted> {
        Err(Error::AdapterLimits(format!(
            "the GPU cannot hold this problem on its general path: {what}"
        )))
    };
    let moments = config.map_or(0, |c| c.optimizer.moments());
    let max = a.max_storage_buffer_binding_size.min(a.max_buffer_size) as usize;
    let n_rows = whole.n_rows();
    // Panel 0's parameters: its W_in (m0 x width vec4s), then `rest` floats (b_in and the later layers);
    // its moments are as large, `moments` times over.
    let rest = whole.p_len - whole.win_len;
    let copies = moments.max(1);
    let fixed = 4 * rest * copies;
    if fixed >= max {
        return limits(format!(
            "the biases and the layers after the first (hidden widths {}) take {rest} floats{}, {fixed} bytes, and \
             this adapter's storage bindings hold {max} bytes",
            describe_hidden(spec),
            if moments > 0 {
                format!(", {moments} times over for the optimizer's moments")
            } else {
                String::new()
            }
        ));
    }
    let x_col = 16 * n_rows;
    if x_col > max {
        return limits(format!(
            "one column of 4 neurons over {n_rows} rows (the data's stimuli) takes {x_col} bytes, and this \
             adapter's storage bindings hold {max} bytes"
        ));
    }
    let widest = (max / x_col)
        .min((max - fixed) / (16 * m0 * copies))
        .min(tuning.max_panel4.unwrap_or(usize::MAX));
    if widest == 0 {
        return limits(format!(
            "one column of 4 neurons of the first layer's {m0} units with the later layers takes \
             more than this adapter's {max}-byte storage bindings"
        ));
    }
    let max_rows = n_train.max(n_test);
    let plan = BufferLayout::panelled(n_train, n_test, spec, max_rows, whole.n4.div_ceil(widest));

    let (batches, mini) = match config {
        Some(c) if c.is_mini_batch(n_train) => (
            n_train.div_ceil(c.batch_size.unwrap_or(n_train).max(1)),
            true,
        ),
        _ => (1, false),
    };
    // The index buffer holds every row's number, then a submission's shuffled row lists.
    let index_room = (max / 4).saturating_sub(n_rows) / n_train;
    if mini && index_room == 0 {
        return limits(format!(
            "the row lists of {n_rows} rows and one epoch's {n_train} shuffled training rows take more than \
             this adapter's {max}-byte storage bindings"
        ));
    }
    let epochs_per_submission = (MAX_STEPS / (batches + 1))
        .min(if mini { index_room } else { usize::MAX })
        .max(1);
    let layer_units: usize = plan.layers.iter().map(|l| l.outputs).sum();
    for (what, bytes) in [
        (
            format!(
                "the activations of {max_rows} rows (the data's stimuli) x {layer_units} units (the hidden \
                 layers' and the outputs)"
            ),
            4 * plan.acts_len,
        ),
        (
            format!("the outputs of {n_rows} rows x {} classes", plan.classes),
            4 * n_rows * plan.classes,
        ),
    ] {
        if bytes > max {
            return limits(format!(
                "{what} take {bytes} bytes, and this adapter's storage bindings hold {max}"
            ));
        }
    }
    // Dispatches: forward_first's grid, and every 1-D job (as a 2-D grid of 64-thread workgroups).
    let groups = a.max_compute_workgroups_per_dimension as usize;
    if max_rows.div_ceil(tiles.row) > groups || m0.div_ceil(tiles.hidden) > groups {
        return limits(format!(
            "{max_rows} rows (the data's stimuli; binning them by orientation makes fewer) or {m0} first-layer units \
             in tiles of {} x {} are more than this adapter's {groups} workgroups per dispatch",
            tiles.row, tiles.hidden
        ));
    }
    let most_threads = (groups * groups * 64).min(u32::MAX as usize);
    let mut jobs = vec![
        ("update's parameters", plan.p_len),
        (
            "grad_first's tiles",
            plan.n4.div_ceil(tiles.col) * m0.div_ceil(tiles.hidden),
        ),
    ];
    for l in &plan.layers {
        jobs.push(("a layer's rows x units", max_rows * l.outputs.max(l.inputs)));
        jobs.push(("a layer's weights", l.outputs * (l.inputs + 1)));
    }
    if let Some((what, n)) = jobs.into_iter().find(|j| j.1 > most_threads) {
        return limits(format!(
            "{what} ({n}) are more threads than one dispatch of this adapter holds ({most_threads})"
        ));
    }
    // Bindings per kernel.
    let mut most = (0, 0);
    for k in &KERNELS {
        let mut count = (0, 0);
        for name in k.bindings {
            match binding(name)?.1 {
                Use::Uniform => count.1 += 1,
                Use::Read | Use::ReadWrite => count.0 += 1,
            }
        }
        most = (most.0.max(count.0), most.1.max(count.1));
    }
    if most.0 > a.max_storage_buffers_per_shader_stage as usize
        || most.1 > a.max_dynamic_uniform_buffers_per_pipeline_layout as usize
    {
        return limits(format!(
            "its kernels bind up to {} storage buffers and {} dynamic uniform buffers, and this adapter \
             allows {} and {}",
            most.0,
            most.1,
            a.max_storage_buffers_per_shader_stage,
            a.max_dynamic_uniform_buffers_per_pipeline_layout
        ));
    }
    Ok(Fitted {
        plan,
        tiles,
        batches,
        mini,
        epochs_per_submission,
    })
}

/// "100" or "16,8": the hidden widths as --hidden takes them.
fn describe_hidden(spec: &Spec) -> String {
    spec.hidden
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Outputs, loss (with `penalty`) and every gradient on the training rows at `params`, on the general path
/// (`tuning`: other register tiles or panels than the adapter's).
pub fn evaluate(
    gpu: &Gpu,
    problem: &Problem,
    spec: &Spec,
    params: &Params,
    penalty: &Penalty,
    tuning: GeneralTuning,
) -> Result<Evaluation> {
    GeneralSession::new(gpu, problem, spec, params, None, penalty, tuning)?.evaluate()
}

/// One network on the general path (`tuning`: other register tiles or panels than the adapter's), ready to
/// train as `config` says.
pub fn open<'a>(
    gpu: &'a Gpu,
    network: Network<'a>,
    tuning: GeneralTuning,
) -> Result<Pipelined<'a, GeneralSession<'a>>> {
    let config = network.config;
    let session = GeneralSession::new(
        gpu,
        network.problem,
        network.spec,
        network.params,
        Some(config),
        &config.penalty,
        tuning,
    )?;
    let setup_time = session.setup_time;
    Ok(Pipelined::new(gpu, session, setup_time, config.epochs))
}

impl Resident for GeneralSession<'_> {
    fn run_epochs(&mut self, epochs: usize) -> Result<PendingHistory> {
        GeneralSession::run_epochs(self, epochs)
    }
    fn params(&self) -> Result<Params> {
        GeneralSession::params(self)
    }
    fn test_outputs(&self) -> Result<Vec<f64>> {
        GeneralSession::test_outputs(self)
    }
    fn train_loss(&mut self) -> Result<f64> {
        GeneralSession::train_loss(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Activation;
    use crate::objective::Objective;

    fn deep_spec() -> Spec {
        Spec {
            neurons: 10,
            hidden: vec![3, 2],
            activation: Activation::Relu,
            objective: Objective::Nll { classes: 5 },
        }
    }

    #[test]
    fn tensors_sit_at_aligned_offsets_and_round_trip_through_the_flat_layout() {
        let spec = deep_spec();
        let plan = BufferLayout::new(7, 4, &spec);
        // W_in: 3 rows of 12 (10 neurons padded to 3 vec4s), b_in at 36, hidden_layers.0 (2 x 3) at 40, its
        // bias at 48, out_layer (5 x 2) at 52, its bias at 64, 72 in all; activations: 7 rows of 3, 2 and 5.
        let offsets: Vec<(usize, usize, usize)> = plan
            .layers
            .iter()
            .map(|l| (l.w_off, l.b_off, l.act_off))
            .collect();
        assert_eq!(offsets, [(0, 36, 0), (40, 48, 21), (52, 64, 35)]);
        assert_eq!((plan.win_len, plan.p_len, plan.acts_len), (36, 72, 70));
        let params = Params::init(&spec, 3);
        let flat = plan.flatten(&params);
        assert_eq!(flat.len(), 1);
        // Padded columns hold zeros.
        assert!(flat[0][10..12].iter().all(|&v| v == 0.0));
        let back = plan.tensors(&flat);
        let want: Vec<Vec<f32>> = params.tensors().into_iter().map(|t| t.2.to_vec()).collect();
        assert_eq!(back, want);
    }

    #[test]
    fn panels_split_w_in_by_columns_and_round_trip() {
        let spec = deep_spec();
        // 10 neurons are 3 vec4s: two panels of 2 vec4s, the second holding neurons 8 and 9 and padding.
        let plan = BufferLayout::panelled(7, 4, &spec, 7, 2);
        assert_eq!((plan.panels, plan.n4, plan.win_len), (2, 2, 24));
        assert_eq!((plan.panel_len(0), plan.panel_len(1)), (plan.p_len, 24));
        assert_eq!(plan.p_len, 24 + 36);
        // Asking for more panels than leave each one a column gives one a column.
        let thin = BufferLayout::panelled(7, 4, &spec, 7, 9);
        assert_eq!((thin.panels, thin.n4), (3, 1));
        let params = Params::init(&spec, 3);
        let flat = plan.flatten(&params);
        let w = &params.layers[0].weight;
        // Unit 1's row: neurons 0..8 in panel 0, 8..10 in panel 1, then zeros.
        assert_eq!(&flat[0][8..16], &w[10..18]);
        assert_eq!(&flat[1][8..10], &w[18..20]);
        assert!(flat[1][10..16].iter().all(|&v| v == 0.0));
        let back = plan.tensors(&flat);
        let want: Vec<Vec<f32>> = params.tensors().into_iter().map(|t| t.2.to_vec()).collect();
        assert_eq!(back, want);
    }

    #[test]
    fn unit_tiles_are_few_and_even_and_software_adapters_get_wider_ones() {
        let h = |m| tiles_for(wgpu::DeviceType::DiscreteGpu, m).hidden;
        assert_eq!(
            (h(1), h(8), h(10), h(16), h(17), h(200)),
            (1, 8, 5, 8, 6, 8)
        );
        assert_eq!(
            tiles_for(wgpu::DeviceType::DiscreteGpu, 10),
            Tiles {
                row: 1,
                hidden: 5,
                col: 1
            }
        );
        assert_eq!(tiles_for(wgpu::DeviceType::Cpu, 10).row, 12);
    }

    fn adapter(binding: u64, groups: u32) -> AdapterSummary {
        AdapterSummary {
            name: "small".into(),
            backend: wgpu::Backend::Vulkan,
            device_type: wgpu::DeviceType::DiscreteGpu,
            driver: String::new(),
            driver_info: String::new(),
            max_storage_buffer_binding_size: binding,
            max_buffer_size: 1 << 30,
            max_compute_workgroup_size_x: 256,
            max_compute_invocations_per_workgroup: 256,
            max_compute_workgroups_per_dimension: groups,
            max_compute_workgroup_storage_size: 16384,
            max_storage_buffers_per_shader_stage: 8,
            max_dynamic_uniform_buffers_per_pipeline_layout: 8,
            timestamp_queries: false,
        }
    }

    fn adam(epochs: usize) -> Config {
        Config {
            epochs,
            lr: 1e-3,
            optimizer: Optimizer::Adam {
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
            batch_size: None,
            penalty: Penalty::default(),
            shuffle_seed: 0,
        }
    }

    #[test]
    fn single_trial_data_is_cut_into_panels_under_the_binding_limit() {
        // 4,598 stimuli x 23,589 neurons (434 MB) against 128 MiB bindings: 4 panels of 1,475 vec4s.
        let a = adapter(128 << 20, 65535);
        let spec = Spec::tutorial(23_589, 10);
        let max = 128usize << 20;
        for config in [None, Some(adam(2))] {
            let f = fit(
                &a,
                2759,
                1839,
                &spec,
                config.as_ref(),
                GeneralTuning::default(),
            )
            .unwrap();
            let p = &f.plan;
            assert_eq!((p.panels, p.n4), (4, 1475));
            assert!(4598 * p.n4 * 16 <= max);
            assert!(3 * p.panel_len(0) * 4 <= max);
        }
        // The tutorial's trial-averaged data fits one panel, as before.
        let f = fit(&a, 216, 144, &spec, None, GeneralTuning::default()).unwrap();
        assert_eq!((f.plan.panels, f.plan.n4), (1, 5898));
        // A narrower panel when asked (tests).
        let tuning = GeneralTuning {
            max_panel4: Some(1000),
            ..GeneralTuning::default()
        };
        let f = fit(&a, 216, 144, &spec, None, tuning).unwrap();
        assert_eq!((f.plan.panels, f.plan.n4), (6, 983));
    }

    #[test]
    fn what_no_panel_helps_is_refused_naming_the_size_the_limit_and_the_flag() {
        let a = adapter(1 << 20, 65535);
        // The layers after the first (1000 x 300 floats, 1.2 MB) cannot be panelled.
        let deep = Spec {
            neurons: 100,
            hidden: vec![10, 1000, 300],
            activation: Activation::Relu,
            objective: Objective::Mse,
        };
        let err = fit(&a, 20, 10, &deep, None, GeneralTuning::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("hidden widths 10,1000,300")
                && err.contains("1048576")
                && !err.contains("--"),
            "{err}"
        );
        // Adam's two moments of them double it past the limit too.
        let mid = Spec {
            hidden: vec![10, 500, 300],
            ..deep.clone()
        };
        assert!(fit(&a, 20, 10, &mid, None, GeneralTuning::default()).is_ok());
        let err = fit(&a, 20, 10, &mid, Some(&adam(1)), GeneralTuning::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 times over"), "{err}");
        // Rows past the workgroups of one dispatch: 216 rows in tiles of 12 are 18 workgroups.
        let few = adapter(1 << 30, 16);
        let tuning = GeneralTuning {
            tiles: Some(tiles_for(wgpu::DeviceType::Cpu, 10)),
            ..GeneralTuning::default()
        };
        let err = fit(&few, 216, 144, &Spec::tutorial(1000, 10), None, tuning)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("binning them") && err.contains("16 workgroups"),
            "{err}"
        );
    }

    #[test]
    fn register_tiles_must_fit_workgroup_memory() {
        let a = adapter(1 << 20, 65535);
        let small = Spec::tutorial(1000, 16);
        // forward_first's sums must fit workgroup memory: 12 x 8 tiles need 24.8 kB, 7 x 8 fit 16 kB.
        let wide = tiles_for(wgpu::DeviceType::Cpu, 16);
        let with = |tiles| GeneralTuning {
            tiles: Some(tiles),
            max_panel4: None,
        };
        let err = fit(&a, 20, 10, &small, None, with(wide))
            .unwrap_err()
            .to_string();
        assert!(err.contains("workgroup memory"), "{err}");
        let fitted = fit_workgroup_memory(wide, 16384);
        assert_eq!((fitted.row, fitted.hidden), (7, 8));
        assert!(fit(&a, 20, 10, &small, None, with(fitted)).is_ok());
    }
}
