//! The general path's kernels one at a time: each built from `general::shaders` (its file composed with the
//! objective's and the optimizer's WGSL, its buffers bound by their names in bindings.wgsl, its override
//! constants), given one step's uniform and a layer's, its flat buffers filled with seeded random numbers in the
//! layouts bindings.wgsl describes, dispatched as the session dispatches it, and compared with its own reference
//! in [`reference`].

pub mod reference;

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Size;
use super::case::{BufId, Case, CaseBuilder};
use popdecode::compare::tolerance;
use popdecode::error::{Error, Result};
use popdecode::gpu::general::session::{BufferLayout, LayerPlan};
use popdecode::gpu::general::shaders::{self, Constants, KERNELS, Use};
use popdecode::gpu::general::tiles_for;
use popdecode::gpu::general::uniforms::{SLOT, StepUniform};
use popdecode::gpu::runtime::device::Gpu;
use popdecode::gpu::runtime::kernel::Access;
use popdecode::gpu::runtime::wgsl::{Tiles, grid};
use popdecode::model::{Activation, Spec};
use popdecode::objective::{Objective, Penalty, class_of};
use popdecode::optim::{self, HyperParameters, Optimizer};

/// Everything one run of a kernel depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    pub n_train: usize,
    pub n_test: usize,
    pub neurons: usize,
    /// Hidden layers' widths.
    pub hidden: Vec<usize>,
    pub relu: bool,
    pub objective: Objective,
    pub tiles: Tiles,
    pub penalty: Penalty,
    /// The update kernel's optimizer; `None`: store the gradient (checks).
    pub optimizer: Option<Optimizer>,
    /// The layer of the per-layer kernels (forward_dense, backward_delta, grad_dense).
    pub layer: usize,
    /// The step's rows: `rows` entries of a shuffled row list, from `row_base`.
    pub rows: usize,
    pub row_base: usize,
    /// The loss adds to its history entry (an epoch's later batches) instead of overwriting it.
    pub accumulate: bool,
    /// penalty_partial's workgroups (the session's choice when `None`).
    pub pen_groups: Option<usize>,
    /// The optimizer's step (1 for the first) and learning rate.
    pub t: u64,
    pub lr: f64,
    pub seed: u64,
    /// Override constants given to the GPU in place of the setup's, and not to the reference.
    pub tamper: Vec<(&'static str, f64)>,
    /// Which column panel the per-panel kernels run on: the first (else they add to the sums before them) and
    /// the last (else forward_first leaves out the bias and the nonlinearity).
    pub panel_first: bool,
    pub panel_last: bool,
}

/// One way to run a kernel, by name.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    pub name: String,
    pub setup: Setup,
}

/// The general path's kernels, in the order a training step runs them.
pub fn names() -> Vec<&'static str> {
    KERNELS.iter().map(|k| k.entry).collect()
}

/// Every optimizer the registry builds: each with its defaults, and each again with every hyper-parameter it
/// takes set (momentum 0.9, weight decay 0.1); so a new optimizer is checked here with nothing added.
pub fn optimizers() -> Vec<Optimizer> {
    let mut all: Vec<Optimizer> = Vec::new();
    for (name, _) in optim::catalogue() {
        for hyper in [
            HyperParameters::default(),
            HyperParameters {
                momentum: Some(0.9),
                ..Default::default()
            },
            HyperParameters {
                weight_decay: Some(0.1),
                ..Default::default()
            },
        ] {
            if let Ok(o) = optim::build(name, &hyper)
                && !all.contains(&o)
            {
                all.push(o);
            }
        }
    }
    all
}

/// Every variant of general kernel `kernel` worth checking and timing at `size`.
pub fn variants(kernel: &str, size: Size) -> Vec<Variant> {
    let (n_train, n_test, neurons, hidden, rows) = match size {
        // Sizes that are multiples of no tile, a batch of rows in shuffled order.
        Size::Test => (37, 14, 203, vec![13, 7], 29),
        Size::Bench => (216, 144, 4000, vec![16, 8], 216),
        Size::Full => (216, 144, 23_589, vec![16, 8], 216),
    };
    let soft = tiles_for(wgpu::DeviceType::Cpu, hidden[0]);
    let base = Setup {
        n_train,
        n_test,
        neurons,
        hidden,
        relu: true,
        objective: Objective::Mse,
        tiles: soft,
        penalty: Penalty::default(),
        optimizer: None,
        layer: 1,
        rows,
        row_base: if size == Size::Test { 5 } else { 0 },
        accumulate: false,
        pen_groups: None,
        t: 3,
        lr: 0.125,
        seed: 20,
        tamper: Vec::new(),
        panel_first: true,
        panel_last: true,
    };
    let v = |name: String, setup: Setup| Variant { name, setup };
    let penalty = Penalty { l1: 0.01, l2: 0.02 };
    let tiles_name = |t: Tiles| format!("tiles {}x{}x{}", t.row, t.hidden, t.col);
    let gpu_tiles = tiles_for(wgpu::DeviceType::DiscreteGpu, base.hidden[0]);
    let last = base.hidden.len();
    match kernel {
        "penalty_partial" => vec![
            v(
                "session's workgroups".into(),
                Setup {
                    penalty,
                    ..base.clone()
                },
            ),
            v(
                "7 workgroups (uneven chunks)".into(),
                Setup {
                    penalty,
                    pen_groups: Some(7),
                    ..base.clone()
                },
            ),
            v(
                "a later panel (adds to the partials)".into(),
                Setup {
                    penalty,
                    pen_groups: Some(7),
                    panel_first: false,
                    ..base.clone()
                },
            ),
        ],
        "penalty_final" => vec![
            v(
                "3 partials".into(),
                Setup {
                    penalty,
                    pen_groups: Some(3),
                    ..base.clone()
                },
            ),
            v(
                "100 partials (more than the threads)".into(),
                Setup {
                    penalty,
                    pen_groups: Some(100),
                    ..base.clone()
                },
            ),
        ],
        "forward_first" | "grad_first" => {
            // The nonlinearity is forward_first's alone.
            let relu = if kernel == "forward_first" {
                "relu, "
            } else {
                ""
            };
            let mut all = vec![
                v(format!("{relu}{}", tiles_name(soft)), base.clone()),
                v(
                    format!("{relu}{}", tiles_name(gpu_tiles)),
                    Setup {
                        tiles: gpu_tiles,
                        ..base.clone()
                    },
                ),
                v(
                    format!(
                        "{}tiles 5x3x2",
                        if kernel == "forward_first" {
                            "identity, "
                        } else {
                            ""
                        }
                    ),
                    Setup {
                        relu: false,
                        tiles: Tiles {
                            row: 5,
                            hidden: 3,
                            col: 2,
                        },
                        ..base.clone()
                    },
                ),
            ];
            // Panels after the first add to the sums so far; grad_first's panels are independent.
            if kernel == "forward_first" {
                for (name, last) in [
                    ("a middle panel", false),
                    ("the last of several panels", true),
                ] {
                    all.push(v(
                        format!("{relu}{}, {name}", tiles_name(soft)),
                        Setup {
                            panel_first: false,
                            panel_last: last,
                            ..base.clone()
                        },
                    ));
                }
            }
            all
        }
        "forward_dense" | "backward_delta" => vec![
            v("hidden layer 1, relu".into(), base.clone()),
            v(
                "hidden layer 1, identity".into(),
                Setup {
                    relu: false,
                    ..base.clone()
                },
            ),
            v(
                format!("output layer {last}, 5 classes (NLL)"),
                Setup {
                    layer: last,
                    objective: Objective::Nll { classes: 5 },
                    ..base.clone()
                },
            ),
        ],
        "grad_dense" => vec![
            v(
                "input layer 0 (bias only)".into(),
                Setup {
                    layer: 0,
                    ..base.clone()
                },
            ),
            v("hidden layer 1".into(), base.clone()),
            v(
                format!("output layer {last}, 5 classes (NLL)"),
                Setup {
                    layer: last,
                    objective: Objective::Nll { classes: 5 },
                    ..base.clone()
                },
            ),
        ],
        "loss" => vec![
            v("mse".into(), base.clone()),
            v(
                "circular".into(),
                Setup {
                    objective: Objective::Circular,
                    ..base.clone()
                },
            ),
            v(
                "nll, 5 classes".into(),
                Setup {
                    objective: Objective::Nll { classes: 5 },
                    ..base.clone()
                },
            ),
            v(
                "mse, accumulating, with a penalty".into(),
                Setup {
                    accumulate: true,
                    penalty,
                    ..base.clone()
                },
            ),
        ],
        "update" => {
            let mut all = vec![v(
                "store gradient, with a penalty".into(),
                Setup {
                    penalty,
                    ..base.clone()
                },
            )];
            for o in optimizers() {
                all.push(v(
                    o.describe(),
                    Setup {
                        optimizer: Some(o),
                        ..base.clone()
                    },
                ));
            }
            // The last (the one with the most moments and settings) with a penalty as well.
            if let Some(o) = optimizers().pop() {
                all.push(v(
                    format!("{}, with a penalty", o.describe()),
                    Setup {
                        optimizer: Some(o),
                        penalty,
                        ..base.clone()
                    },
                ));
            }
            all
        }
        _ => Vec::new(),
    }
}

/// A 256-byte slot holding `value`.
fn slot<T: bytemuck::Pod>(value: &T) -> Vec<u8> {
    let mut s = vec![0u8; SLOT];
    let b = bytemuck::bytes_of(value);
    s[..b.len()].copy_from_slice(b);
    s
}

fn wide(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// History entries, and the one the loss writes.
const HISTORY: usize = 8;
const LOSS_SLOT: usize = 5;

/// Builds general kernel `kernel` as `variant` says, with its inputs and expected outputs.
pub fn build<'g>(gpu: &'g Gpu, kernel: &str, variant: &Variant) -> Result<Case<'g>> {
    let Some(file) = KERNELS.iter().find(|k| k.entry == kernel) else {
        return Err(Error::Usage(format!(
            "no general kernel {kernel:?}; they are {}",
            names().join(", ")
        )));
    };
    let s = &variant.setup;
    let activation = if s.relu {
        Activation::Relu
    } else {
        Activation::Linear
    };
    let spec = Spec::new(s.neurons, s.hidden.clone(), activation, s.objective)?;
    let n_rows = s.n_train + s.n_test;
    if s.row_base + s.rows > n_rows || s.rows == 0 {
        return Err(Error::Usage(format!(
            "a step of {} rows from {} does not fit {n_rows} rows",
            s.rows, s.row_base
        )));
    }
    let flat = BufferLayout::with_max_rows(
        s.n_train,
        s.n_test,
        &spec,
        s.n_train.max(s.n_test).max(s.rows),
    );
    let n_layers = flat.layers.len();
    if s.layer >= n_layers {
        return Err(Error::Usage(format!(
            "no layer {} in a net of {n_layers}",
            s.layer
        )));
    }
    let (n4, m0, classes) = (flat.n4, spec.hidden[0], spec.outputs());
    let width = n4 * 4;
    let win4 = flat.win_len / 4;
    let pen_groups = s.pen_groups.unwrap_or(win4.div_ceil(256).clamp(1, 256));
    let pen_chunk4 = win4.div_ceil(pen_groups);
    let mut constants = Constants {
        n4,
        m0,
        classes,
        last_off: flat.layers[n_layers - 1].act_off,
        win_len: flat.win_len,
        p_len: flat.p_len,
        activation: spec.activation,
        penalty: s.penalty,
        pen_groups,
        pen_chunk4,
        panel_first: s.panel_first,
        panel_last: s.panel_last,
    }
    .values();
    for &(name, value) in &s.tamper {
        match constants.iter_mut().find(|c| c.0 == name) {
            Some(c) => c.1 = value,
            None => return Err(Error::Usage(format!("no override constant {name}"))),
        }
    }
    let source = shaders::module_source(file, s.tiles, s.objective, s.optimizer.as_ref())?;
    let mut bindings = Vec::new();
    for name in file.bindings {
        let (number, used) = shaders::binding(name)?;
        let access = match used {
            Use::Uniform => Access::DynamicUniform,
            Use::Read => Access::Read,
            Use::ReadWrite => Access::ReadWrite,
        };
        bindings.push((number, access));
    }
    let mut b = CaseBuilder::new(
        gpu,
        format!("general/{kernel}"),
        variant.name.clone(),
        &source,
        kernel,
        &bindings,
        &constants,
    )?;

    // The data, seeded.
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut uniform = |n: usize, lo: f32, hi: f32| -> Vec<f32> {
        (0..n).map(|_| rng.random_range(lo..hi)).collect()
    };
    let mut x = vec![0.0f32; n_rows * width];
    let xs = uniform(n_rows * s.neurons, -1.0, 1.0);
    for r in 0..n_rows {
        x[r * width..r * width + s.neurons]
            .copy_from_slice(&xs[r * s.neurons..(r + 1) * s.neurons]);
    }
    let targets = uniform(n_rows, 0.0, 360.0);
    let labels: Vec<u32> = match s.objective.classes() {
        Some(c) => targets.iter().map(|&t| class_of(t, c) as u32).collect(),
        None => vec![0; n_rows],
    };
    let mut params = vec![0.0f32; flat.p_len];
    for (l, p) in flat.layers.iter().enumerate() {
        let w = uniform(p.outputs * p.inputs, -1.0, 1.0);
        if l == 0 {
            for m in 0..p.outputs {
                params[m * width..m * width + p.inputs]
                    .copy_from_slice(&w[m * p.inputs..(m + 1) * p.inputs]);
            }
        } else {
            params[p.w_off..p.w_off + w.len()].copy_from_slice(&w);
        }
        let bias = uniform(p.outputs, -1.0, 1.0);
        params[p.b_off..p.b_off + p.outputs].copy_from_slice(&bias);
    }
    // Activations: hidden layers' after ReLU (about half exact zeros, for the mask), the last layer's raw
    // outputs in degrees (MSE, circular) or around zero (NLL's logits).
    let mut acts = vec![0.0f32; flat.acts_len];
    for (l, p) in flat.layers.iter().enumerate() {
        let n = flat.acts_len.min(p.act_off + s.rows.max(1) * p.outputs) - p.act_off;
        let block = if l + 1 == n_layers {
            if s.objective.classes().is_some() {
                uniform(n, -3.0, 3.0)
            } else {
                uniform(n, 0.0, 360.0)
            }
        } else {
            let v = uniform(n, -1.0, 1.0);
            if s.relu {
                v.into_iter().map(|a| a.max(0.0)).collect()
            } else {
                v
            }
        };
        acts[p.act_off..p.act_off + n].copy_from_slice(&block);
    }
    let deltas = uniform(flat.acts_len, -1.0, 1.0);
    let grads = uniform(flat.p_len, -1.0, 1.0);
    let moments = s.optimizer.as_ref().map_or(0, |o| o.moments());
    // Moment k of parameter i at k P_LEN + i; second moments (Adam's) are not negative.
    let state: Vec<Vec<f32>> = (0..moments)
        .map(|k| {
            if k == 0 {
                uniform(flat.p_len, -1.0, 1.0)
            } else {
                uniform(flat.p_len, 0.0, 1.0)
            }
        })
        .collect();
    let history = uniform(HISTORY, 0.0, 10.0);
    let pen_partials: Vec<f32> = uniform(2 * pen_groups, 0.0, 10.0);
    let scalars = {
        let mut v = uniform(4, 0.0, 1.0);
        if s.penalty.is_zero() {
            v[0] = 0.0;
        }
        v
    };
    let mut index: Vec<u32> = (0..n_rows as u32).collect();
    index.shuffle(&mut rng);
    let step_rows: Vec<u32> = index[s.row_base..s.row_base + s.rows].to_vec();
    let out_base = 2;
    let weight = 0.75f32;
    let opt = s
        .optimizer
        .as_ref()
        .map_or([0.0; 4], |o| o.scalars(s.lr, s.t));
    let step = StepUniform {
        row_base: s.row_base as u32,
        rows: s.rows as u32,
        out_base: out_base as u32,
        loss_slot: LOSS_SLOT as u32,
        accumulate: u32::from(s.accumulate),
        weight,
        opt: opt.map(|v| v as f32),
        ..Default::default()
    };
    let layer_u = flat.layer_uniform(s.layer);

    // Buffers, by their names in bindings.wgsl (one buffer may go by several names, one per access); only
    // those the kernel binds are made.
    let mut bound = Bound {
        names: file.bindings,
        entries: Vec::new(),
    };
    let slot_size = Some(SLOT as u64);
    bound.add(&mut b, &["st"], slot_size, |b| {
        b.uniform("st", &slot(&step))
    })?;
    bound.add(&mut b, &["layer"], slot_size, |b| {
        b.uniform("layer", &slot(&layer_u))
    })?;
    bound.add(&mut b, &["x"], None, |b| b.storage("x", &x))?;
    bound.add(&mut b, &["index"], None, |b| b.storage_u32("index", &index))?;
    bound.add(&mut b, &["targets"], None, |b| {
        b.storage("targets", &targets)
    })?;
    bound.add(&mut b, &["labels"], None, |b| {
        b.storage_u32("labels", &labels)
    })?;
    let params_id = bound.add(&mut b, &["params4", "params_r", "params_w"], None, |b| {
        b.storage("params", &params)
    })?;
    let acts_id = bound.add(&mut b, &["acts_w", "acts_r"], None, |b| {
        b.storage("acts", &acts)
    })?;
    let deltas_id = bound.add(&mut b, &["deltas_w", "deltas_r"], None, |b| {
        b.storage("deltas", &deltas)
    })?;
    let grads_id = bound.add(&mut b, &["grads4_w", "grads_w"], None, |b| {
        b.storage("grads", &grads)
    })?;
    let state_id = bound.add(&mut b, &["state"], None, |b| {
        b.storage("state", &state.concat())
    })?;
    let outs_id = bound.add(&mut b, &["outs"], None, |b| {
        b.storage("outs", &vec![f32::NAN; (n_rows + out_base) * classes])
    })?;
    let history_id = bound.add(&mut b, &["history"], None, |b| {
        b.storage("history", &history)
    })?;
    let partials_id = bound.add(&mut b, &["pen_partials_w", "pen_partials_r"], None, |b| {
        b.storage("penalty partials", &pen_partials)
    })?;
    let scalars_id = bound.add(&mut b, &["scalars_w", "scalars_r"], None, |b| {
        b.storage("scalars", &scalars)
    })?;
    let offsets = vec![
        0u32;
        bindings
            .iter()
            .filter(|b| b.1 == Access::DynamicUniform)
            .count()
    ];
    let need = |id: Option<BufId>| {
        id.ok_or_else(|| Error::Usage(format!("{kernel} binds no buffer it writes")))
    };

    let max_groups = gpu.adapter.max_compute_workgroups_per_dimension as usize;
    let threads = |n: usize| {
        let (x, y) = grid(n, max_groups);
        [x, y, 1]
    };
    let la = &flat.layers[s.layer];
    let t = &s.tiles;
    let groups = match kernel {
        "penalty_partial" => [pen_groups as u32, 1, 1],
        "penalty_final" | "loss" => [1, 1, 1],
        "forward_first" => [
            s.rows.div_ceil(t.row) as u32,
            m0.div_ceil(t.hidden) as u32,
            1,
        ],
        "forward_dense" => threads(s.rows * la.outputs),
        "backward_delta" => threads(s.rows * la.inputs),
        "grad_first" => threads(n4.div_ceil(t.col) * m0.div_ceil(t.hidden)),
        "grad_dense" => threads(la.outputs * if s.layer == 0 { 1 } else { la.inputs + 1 }),
        "update" => threads(flat.p_len),
        _ => {
            return Err(Error::Usage(format!(
                "the harness does not know how to run general/{kernel}"
            )));
        }
    };
    b.dispatch(&bound.entries, &offsets, groups)?;

    // Each kernel's outputs against its reference.
    let block = |v: &[f32], l: usize, cols: usize| -> Vec<f32> { v[l..l + s.rows * cols].to_vec() };
    let tol = tolerance::TENSOR;
    match kernel {
        "penalty_partial" => {
            let mut r = reference::penalty_partial(&params[..flat.win_len], pen_groups, pen_chunk4);
            if !s.panel_first {
                for (v, &before) in r.iter_mut().zip(&pen_partials) {
                    *v += before as f64;
                }
            }
            b.expect(
                "penalty partials",
                &[(need(partials_id)?, 0, 2 * pen_groups)],
                r,
                tol,
            );
        }
        "penalty_final" => {
            let r = reference::penalty_final(&pen_partials, pen_groups, &s.penalty);
            b.expect(
                "penalty (scalars[0])",
                &[(need(scalars_id)?, 0, 1)],
                vec![r],
                tol,
            );
        }
        "forward_first" => {
            // This panel's sums, then the sums before it, and after the last panel the bias and nonlinearity.
            let sums = reference::forward_first(
                &x,
                &step_rows,
                width,
                &params[..flat.win_len],
                &vec![0.0; m0],
                false,
            );
            let b_in = &params[flat.win_len..flat.win_len + m0];
            let r: Vec<f64> = sums
                .iter()
                .enumerate()
                .map(|(i, &sum)| {
                    let pre = if s.panel_first {
                        sum
                    } else {
                        acts[i] as f64 + sum
                    };
                    if !s.panel_last {
                        pre
                    } else if s.relu {
                        (pre + b_in[i % m0] as f64).max(0.0)
                    } else {
                        pre + b_in[i % m0] as f64
                    }
                })
                .collect();
            b.expect(
                "first layer's activations",
                &[(need(acts_id)?, 0, s.rows * m0)],
                r,
                tol,
            );
        }
        "forward_dense" => {
            let prev = &flat.layers[s.layer - 1];
            let r = reference::forward_dense(
                &params[la.w_off..la.w_off + la.outputs * la.inputs],
                &params[la.b_off..la.b_off + la.outputs],
                &block(&acts, prev.act_off, la.inputs),
                la.inputs,
                s.layer + 1 < n_layers,
                s.relu,
            );
            b.expect(
                &format!("layer {}'s activations", s.layer),
                &[(need(acts_id)?, la.act_off, s.rows * la.outputs)],
                r,
                tol,
            );
        }
        "loss" => {
            let rows_targets: Vec<f32> = step_rows.iter().map(|&r| targets[r as usize]).collect();
            let r = reference::loss(
                s.objective,
                &block(&acts, la_last(&flat).act_off, classes),
                &rows_targets,
                scalars[0],
                s.accumulate.then_some(history[LOSS_SLOT]),
                weight,
            );
            b.expect(
                "outputs as reported",
                &[(need(outs_id)?, out_base * classes, s.rows * classes)],
                r.outs,
                tol,
            );
            b.expect(
                "d loss / d raw outputs",
                &[(need(deltas_id)?, la_last(&flat).act_off, s.rows * classes)],
                r.deltas,
                tol,
            );
            let id = need(history_id)?;
            b.expect(
                "history entry",
                &[(id, LOSS_SLOT, 1)],
                vec![r.entry],
                tolerance::LOSS,
            );
            b.expect(
                "other history entries (unchanged)",
                &[
                    (id, 0, LOSS_SLOT),
                    (id, LOSS_SLOT + 1, HISTORY - LOSS_SLOT - 1),
                ],
                wide(&history[..LOSS_SLOT])
                    .into_iter()
                    .chain(wide(&history[LOSS_SLOT + 1..]))
                    .collect(),
                0.0,
            );
        }
        "backward_delta" => {
            if s.layer == 0 {
                return Err(Error::Usage(
                    "backward_delta runs for layers 1 and up".into(),
                ));
            }
            let prev = &flat.layers[s.layer - 1];
            let r = reference::backward_delta(
                &params[la.w_off..la.w_off + la.outputs * la.inputs],
                &block(&deltas, la.act_off, la.outputs),
                &block(&acts, prev.act_off, la.inputs),
                la.outputs,
                s.relu,
            );
            b.expect(
                &format!("layer {}'s deltas", s.layer - 1),
                &[(need(deltas_id)?, prev.act_off, s.rows * la.inputs)],
                r,
                tol,
            );
        }
        "grad_first" => {
            let r = reference::grad_first(&x, &step_rows, width, &deltas[..s.rows * m0], m0);
            b.expect(
                "W_in's gradient",
                &[(need(grads_id)?, 0, flat.win_len)],
                r,
                tol,
            );
        }
        "grad_dense" => {
            let first = s.layer == 0;
            let a_in = if first {
                Vec::new()
            } else {
                block(&acts, flat.layers[s.layer - 1].act_off, la.inputs)
            };
            let (gw, gb) = reference::grad_dense(
                &block(&deltas, la.act_off, la.outputs),
                &a_in,
                la.outputs,
                la.inputs,
            );
            let id = need(grads_id)?;
            if !first {
                b.expect(
                    &format!("layer {}'s weight gradient", s.layer),
                    &[(id, la.w_off, la.outputs * la.inputs)],
                    gw,
                    tol,
                );
            }
            b.expect(
                &format!("layer {}'s bias gradient", s.layer),
                &[(id, la.b_off, la.outputs)],
                gb,
                tol,
            );
        }
        "update" => {
            let g = reference::whole_gradient(&params, &grads, flat.win_len, &s.penalty);
            match &s.optimizer {
                None => b.expect(
                    "whole gradient",
                    &[(need(grads_id)?, 0, flat.p_len)],
                    g,
                    tol,
                ),
                Some(o) => {
                    let (p, m) = reference::update(o, s.lr, s.t, &params, &g, &state);
                    let before = wide(&params);
                    let step: Vec<f64> = p.iter().zip(&before).map(|(a, b)| a - b).collect();
                    b.expect_step(
                        "parameters' step",
                        &[(need(params_id)?, 0, flat.p_len)],
                        before,
                        step,
                        tol,
                    );
                    for (k, mk) in m.into_iter().enumerate() {
                        b.expect(
                            &format!("moment {k}"),
                            &[(need(state_id)?, k * flat.p_len, flat.p_len)],
                            mk,
                            tol,
                        );
                    }
                }
            }
        }
        _ => unreachable!("dispatched above"),
    }
    b.finish()
}

fn la_last(flat: &BufferLayout) -> &LayerPlan {
    &flat.layers[flat.layers.len() - 1]
}

/// The bind-group entries of a kernel, made from buffers under their bindings.wgsl names.
struct Bound {
    /// The names the kernel binds.
    names: &'static [&'static str],
    entries: Vec<(u32, BufId, Option<u64>)>,
}

impl Bound {
    /// Makes the buffer that goes by `names` (if the kernel binds any of them) and binds it under each.
    fn add<'g>(
        &mut self,
        b: &mut CaseBuilder<'g>,
        names: &[&str],
        size: Option<u64>,
        make: impl FnOnce(&mut CaseBuilder<'g>) -> BufId,
    ) -> Result<Option<BufId>> {
        let hits: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.names.contains(n))
            .collect();
        if hits.is_empty() {
            return Ok(None);
        }
        let id = make(b);
        for n in hits {
            self.entries.push((shaders::binding(n)?.0, id, size));
        }
        Ok(Some(id))
    }
}
