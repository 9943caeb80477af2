//! One stack resident on the GPU: its matrix uploaded once, every member's weights stacked, and the kernels of
//! `shaders/stack/` that run an epoch of all of them. `mod.rs` decides which stacks come here and how they are
//! split; this file only builds, runs and reads back.

use std::time::{Duration, Instant};

use super::plan::Plan;
use super::shaders::{self, Constants, KERNELS};
use crate::backend::stack::Stack;
use crate::error::Result;
use crate::gpu::runtime::buffers::{COPY, storage, zeros};
use crate::gpu::runtime::device::Gpu;
use crate::gpu::runtime::kernel::{Kernel, bind, kernel};
use crate::gpu::runtime::readback::{PendingRead, submit_then_read};
use crate::gpu::runtime::wgsl::{WORKGROUP, grid};
use crate::model::{Activation, Layer, Params};
use crate::objective::{Objective, class_of};

/// One member's settings as the kernels read them (`Hyper` in shapes.wgsl).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct HyperRow {
    lr: f32,
    momentum: f32,
    l1: f32,
    l2: f32,
    inv_train: f32,
    inv_test: f32,
    pad: [f32; 2],
}

struct Bound {
    kernel: Kernel,
    group: wgpu::BindGroup,
    groups: (u32, u32),
}

pub struct Session<'g> {
    gpu: &'g Gpu,
    c: Constants,
    /// Columns of the stack's matrix (C4 * 4 rounded up from it).
    cols: usize,
    w1: wgpu::Buffer,
    sp: wgpu::Buffer,
    outs: wgpu::Buffer,
    hist: wgpu::Buffer,
    tick: wgpu::Buffer,
    grad: Bound,
    small: Bound,
    forward: Bound,
    head: Bound,
    penalty: Option<Bound>,
    record: Bound,
    epochs_done: usize,
    /// Whether the initial weights' pass has been queued.
    started: bool,
    pub setup_time: Duration,
}

/// The losses of a batch, on their way back: `states` (training, test) pairs per member.
pub struct PendingStates {
    read: PendingRead,
    states: usize,
    members: usize,
}

impl PendingStates {
    /// Each state's (training, test) objective of each member: `[state][member]`.
    pub fn wait(self, gpu: &Gpu) -> Result<Vec<Vec<(f64, f64)>>> {
        let v = self.read.wait(gpu)?.remove(0);
        Ok((0..self.states)
            .map(|s| {
                (0..self.members)
                    .map(|k| {
                        let i = (s * self.members + k) * 2;
                        (v[i] as f64, v[i + 1] as f64)
                    })
                    .collect()
            })
            .collect())
    }
}

impl<'g> Session<'g> {
    /// Uploads `stack` (checked by the caller, within the scope and the limits `plan` was made for).
    pub fn new(gpu: &'g Gpu, stack: &Stack, plan: &Plan) -> Result<Session<'g>> {
        let start = Instant::now();
        let spec = stack.spec;
        let (rows, cols) = (stack.x.rows, stack.x.cols);
        let (k_n, m, o) = (stack.members.len(), spec.width(), spec.outputs());
        let tiles = plan.tiles;
        let c4 = cols.div_ceil(4);
        let r_pad = rows.next_multiple_of(tiles.row);
        let km_pad = (k_n * m).next_multiple_of(tiles.hidden);
        let mut union: Vec<u32> = stack
            .members
            .iter()
            .flat_map(|mb| mb.train.iter().map(|&r| r as u32))
            .collect();
        union.sort_unstable();
        union.dedup();
        let momentum: Vec<f64> = stack
            .members
            .iter()
            .map(|mb| mb.config.optimizer.setting("momentum").unwrap_or(0.0))
            .collect();
        let c = Constants {
            r: rows,
            r_pad,
            c4,
            k: k_n,
            m,
            km_pad,
            o,
            kt: plan.kt,
            nu: union.len(),
            nll: matches!(spec.objective, Objective::Nll { .. }),
            relu: spec.activation == Activation::Relu,
            momentum: momentum.iter().any(|&v| v != 0.0),
        };
        let w4 = c4 * 4;
        // The matrix, zero-padded to R_PAD rows and whole vec4s.
        let mut x = vec![0f32; r_pad * w4];
        for r in 0..rows {
            x[r * w4..r * w4 + cols].copy_from_slice(stack.x.row(r));
        }
        let mut w1 = vec![0f32; km_pad * w4];
        let mut mask = vec![0f32; k_n * w4];
        let n_small = km_pad + k_n * o * m + k_n * o;
        let mut sp = vec![0f32; n_small];
        let mut role = vec![0u32; k_n * rows];
        let mut hyper = Vec::with_capacity(k_n);
        for (k, mb) in stack.members.iter().enumerate() {
            let (l1, l2) = (&mb.params.layers[0], &mb.params.layers[1]);
            for (i, &col) in mb.neurons.iter().enumerate() {
                mask[k * w4 + col] = 1.0;
                for u in 0..m {
                    w1[(k * m + u) * w4 + col] = l1.weight[u * spec.neurons + i];
                }
            }
            sp[k * m..(k + 1) * m].copy_from_slice(&l1.bias);
            sp[km_pad + k * o * m..km_pad + (k + 1) * o * m].copy_from_slice(&l2.weight);
            let b2 = km_pad + k_n * o * m + k * o;
            sp[b2..b2 + o].copy_from_slice(&l2.bias);
            for &r in &mb.train {
                role[k * rows + r] |= 1;
            }
            for &r in &mb.test {
                role[k * rows + r] |= 2;
            }
            hyper.push(HyperRow {
                lr: mb.config.lr as f32,
                momentum: momentum[k] as f32,
                l1: mb.config.penalty.l1 as f32,
                l2: mb.config.penalty.l2 as f32,
                inv_train: 1.0 / mb.train.len() as f32,
                inv_test: 1.0 / mb.test.len() as f32,
                pad: [0.0; 2],
            });
        }
        let labels: Vec<u32> = match spec.objective {
            Objective::Nll { classes } => stack
                .stimuli
                .iter()
                .map(|&s| class_of(s, classes) as u32)
                .collect(),
            _ => vec![0; rows],
        };
        let none = wgpu::BufferUsages::empty();
        let b = |label: &str, data: &[u8]| storage(gpu, label, data, COPY);
        let x_buf = b("stack x", bytemuck::cast_slice(&x));
        drop(x);
        let w1_buf = b("stack w1", bytemuck::cast_slice(&w1));
        let mask_buf = b("stack mask", bytemuck::cast_slice(&mask));
        let sp_buf = b("stack small params", bytemuck::cast_slice(&sp));
        let role_buf = b("stack roles", bytemuck::cast_slice(&role));
        let hyper_buf = b("stack hyper", bytemuck::cast_slice(&hyper));
        let targets = b("stack targets", bytemuck::cast_slice(stack.stimuli));
        let labels = b("stack labels", bytemuck::cast_slice(&labels));
        let union_buf = b("stack training rows", bytemuck::cast_slice(&union));
        // Without momentum, a stand-in of one vec4 (bindings may not be empty, and v1 is read as vec4s).
        let v1 = zeros(
            gpu,
            "stack w1 momentum",
            if c.momentum { km_pad * w4 } else { 4 },
            none,
        );
        let sv = zeros(
            gpu,
            "stack small momentum",
            if c.momentum { n_small } else { 1 },
            none,
        );
        let partial = zeros(gpu, "stack partial sums", c.kt * r_pad * km_pad, none);
        let hid = zeros(gpu, "stack hidden", r_pad * km_pad, none);
        let delta = zeros(gpu, "stack deltas", r_pad * km_pad, none);
        let outs = zeros(gpu, "stack outputs", rows * k_n * o, COPY);
        let dout = zeros(gpu, "stack output deltas", rows * k_n * o, none);
        let rowloss = zeros(gpu, "stack row losses", k_n * rows, none);
        let pen = zeros(gpu, "stack penalties", km_pad, none);
        let hist = zeros(gpu, "stack history", plan.max_states * k_n * 2, COPY);
        let tick = zeros(gpu, "stack slot", 1, COPY);

        let constants = c.values();
        let max_dim = gpu.adapter.max_compute_workgroups_per_dimension as usize;
        let build = |i: usize, buffers: &[&wgpu::Buffer], threads: usize| -> Result<Bound> {
            let file = &KERNELS[i];
            let source = shaders::module_source(file, tiles)?;
            let module = gpu
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(file.entry),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                });
            let layout: Vec<(u32, _)> = file
                .bindings
                .iter()
                .enumerate()
                .map(|(i, &a)| (i as u32, a))
                .collect();
            let kernel = kernel(gpu, &module, file.entry, &layout, &constants);
            let entries: Vec<(u32, &wgpu::Buffer)> = buffers
                .iter()
                .enumerate()
                .map(|(i, &b)| (i as u32, b))
                .collect();
            let group = bind(gpu, &kernel, &entries);
            Ok(Bound {
                kernel,
                group,
                groups: grid(threads, max_dim),
            })
        };
        let grad = build(
            0,
            &[
                &x_buf, &delta, &union_buf, &hyper_buf, &mask_buf, &w1_buf, &v1,
            ],
            c4.div_ceil(tiles.col) * (km_pad / tiles.hidden),
        )?;
        let small = build(
            1,
            &[&delta, &hid, &dout, &union_buf, &hyper_buf, &sp_buf, &sv],
            k_n * m + k_n * o * m + k_n * o,
        )?;
        let forward = build(
            2,
            &[&x_buf, &w1_buf, &partial],
            c.kt * (r_pad / tiles.row) * (km_pad / tiles.hidden),
        )?;
        let head = build(
            3,
            &[
                &partial, &sp_buf, &hyper_buf, &role_buf, &targets, &labels, &hid, &delta, &outs,
                &dout, &rowloss,
            ],
            k_n * rows,
        )?;
        let penalty = if stack.members.iter().any(|mb| !mb.config.penalty.is_zero()) {
            let mut p = build(4, &[&w1_buf, &hyper_buf, &pen], 0)?;
            // A workgroup per stacked hidden unit.
            p.groups = grid((k_n * m) * WORKGROUP, max_dim);
            Some(p)
        } else {
            None
        };
        let mut record = build(5, &[&rowloss, &role_buf, &hyper_buf, &pen, &hist, &tick], 0)?;
        record.groups = (1, 1);
        gpu.take_errors()?;
        Ok(Session {
            gpu,
            c,
            cols,
            w1: w1_buf,
            sp: sp_buf,
            outs,
            hist,
            tick,
            grad,
            small,
            forward,
            head,
            penalty,
            record,
            epochs_done: 0,
            started: false,
            setup_time: start.elapsed(),
        })
    }

    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    fn dispatch(pass: &mut wgpu::ComputePass, b: &Bound) {
        pass.set_pipeline(&b.kernel.pipeline);
        pass.set_bind_group(0, &b.group, &[]);
        pass.dispatch_workgroups(b.groups.0, b.groups.1, 1);
    }

    /// The products at the current weights and their losses into the history's next slot.
    fn encode_state(&self, pass: &mut wgpu::ComputePass) {
        Self::dispatch(pass, &self.forward);
        Self::dispatch(pass, &self.head);
        if let Some(p) = &self.penalty {
            Self::dispatch(pass, p);
        }
        Self::dispatch(pass, &self.record);
    }

    /// Queues `epochs` more epochs (and, first, the pass at the initial weights) and the read-back of the
    /// losses of every state they reach; nothing waits.
    pub fn run_epochs(&mut self, epochs: usize) -> Result<PendingStates> {
        let initial = !self.started;
        let states = epochs + usize::from(initial);
        self.gpu
            .queue
            .write_buffer(&self.tick, 0, bytemuck::bytes_of(&0u32));
        let read = submit_then_read(
            self.gpu,
            |pass| {
                if initial {
                    self.encode_state(pass);
                }
                for _ in 0..epochs {
                    Self::dispatch(pass, &self.grad);
                    Self::dispatch(pass, &self.small);
                    self.encode_state(pass);
                }
            },
            &[(&self.hist, 0, states * self.c.k * 2)],
        )?;
        self.started = true;
        self.epochs_done += epochs;
        Ok(PendingStates {
            read,
            states,
            members: self.c.k,
        })
    }

    /// Every member's weights (its neurons only, in its order) and its outputs on its test rows.
    pub fn results(&self, stack: &Stack) -> Result<Vec<(Params, Vec<f64>)>> {
        let c = &self.c;
        let w4 = c.c4 * 4;
        let n_small = c.km_pad + c.k * c.o * c.m + c.k * c.o;
        let mut read = submit_then_read(
            self.gpu,
            |_| {},
            &[
                (&self.w1, 0, c.km_pad * w4),
                (&self.sp, 0, n_small),
                (&self.outs, 0, c.r * c.k * c.o),
            ],
        )?
        .wait(self.gpu)?;
        let outs = read.pop().unwrap_or_default();
        let sp = read.pop().unwrap_or_default();
        let w1 = read.pop().unwrap_or_default();
        debug_assert!(self.cols <= w4);
        let (m, o, n) = (c.m, c.o, stack.spec.neurons);
        Ok(stack
            .members
            .iter()
            .enumerate()
            .map(|(k, mb)| {
                let mut weight = vec![0f32; m * n];
                for u in 0..m {
                    for (i, &col) in mb.neurons.iter().enumerate() {
                        weight[u * n + i] = w1[(k * m + u) * w4 + col];
                    }
                }
                let b2 = c.km_pad + c.k * o * m + k * o;
                let names = stack.spec.layer_names();
                let params = Params {
                    layers: vec![
                        Layer {
                            name: names[0].clone(),
                            inputs: n,
                            outputs: m,
                            weight,
                            bias: sp[k * m..(k + 1) * m].to_vec(),
                        },
                        Layer {
                            name: names[1].clone(),
                            inputs: m,
                            outputs: o,
                            weight: sp[c.km_pad + k * o * m..c.km_pad + (k + 1) * o * m].to_vec(),
                            bias: sp[b2..b2 + o].to_vec(),
                        },
                    ],
                };
                let test_outputs = mb
                    .test
                    .iter()
                    .flat_map(|&r| {
                        let b = (r * c.k + k) * o;
                        outs[b..b + o].iter().map(|&v| v as f64)
                    })
                    .collect();
                (params, test_outputs)
            })
            .collect())
    }
}
