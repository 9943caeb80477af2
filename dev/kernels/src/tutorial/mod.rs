//! The tutorial path's kernels one at a time: each built from `tutorial::kernels` (its module, bindings and
//! override constants), its buffers laid out by `tutorial::layout::Layout` as the session lays them out and
//! filled with seeded random numbers, dispatched as the session dispatches it, and compared with its own
//! reference in [`reference`].

pub mod reference;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Size;
use super::case::{BufId, Case, CaseBuilder};
use popdecode::compare::tolerance;
use popdecode::error::{Error, Result};
use popdecode::gpu::runtime::device::Gpu;
use popdecode::gpu::runtime::wgsl::{Tiles, WORKGROUP, grid};
use popdecode::gpu::tutorial::kernels::{self, KERNELS, Overrides};
use popdecode::gpu::tutorial::layout::{
    GEMM_BLOCK, GEMM_COLS4, Layout, Panel, Plan, PlanOverrides,
};
use popdecode::model::{Activation, Spec};

/// The problem's size: training rows, test rows, neurons and hidden units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub n_train: usize,
    pub n_test: usize,
    pub neurons: usize,
    pub hidden: usize,
}

/// Everything one run of a kernel depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    pub shape: Shape,
    pub relu: bool,
    /// APPLY_UPDATE: SGD in place, or store the gradients.
    pub apply_update: bool,
    /// Tiles, plan switches, the widest panel (several panels), split-K; `gemm` is set by the kernel.
    pub tuning: PlanOverrides,
    /// The epoch count (`state[0]`) before the launch: where small_grad's work records its losses.
    pub epoch: u32,
    pub lr: f32,
    pub seed: u64,
    /// Override constants given to the GPU in place of the layout's, and not to the reference: a way to show
    /// that the check catches a kernel that disagrees with its reference.
    pub tamper: Vec<(&'static str, f64)>,
}

/// One way to run a kernel, by name.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    pub name: String,
    pub setup: Setup,
}

/// The tiles and plan a software adapter gets for `hidden` units; the same everywhere, so that every adapter
/// checks the same variants.
fn software(hidden: usize) -> PlanOverrides {
    PlanOverrides {
        tiles: Some(Tiles::for_device(wgpu::DeviceType::Cpu, hidden)),
        ..Plan::SOFTWARE.tuning()
    }
}

/// The tiles and plan a GPU gets.
fn gpu_plan() -> PlanOverrides {
    PlanOverrides {
        tiles: Some(Tiles::GPU),
        ..Plan::GPU.tuning()
    }
}

fn tiles_name(t: Option<Tiles>) -> String {
    t.map(|t| format!("tiles {}x{}x{}", t.row, t.hidden, t.col))
        .unwrap_or_default()
}

/// The shape of the register-tile kernels, of the tiled ones (which pad rows and units to 128), and the
/// widest column panel, at `size`. Tests use sizes that are multiples of nothing (51 rows, 203 neurons, 13
/// units) and several panels; the gemm shape has two blocks of rows and units, and panels of a block and a
/// part of input_grad_gemm's columns.
fn shapes(size: Size) -> (Shape, Shape, Option<usize>, Option<usize>) {
    match size {
        Size::Test => (
            Shape {
                n_train: 37,
                n_test: 14,
                neurons: 203,
                hidden: 13,
            },
            Shape {
                n_train: 137,
                n_test: 14,
                neurons: 303,
                hidden: 131,
            },
            Some(20),
            Some(40),
        ),
        Size::Bench => {
            let s = Shape {
                n_train: 216,
                n_test: 144,
                neurons: 4000,
                hidden: 10,
            };
            (s, s, None, None)
        }
        Size::Full => {
            let s = Shape {
                n_train: 216,
                n_test: 144,
                neurons: 23_589,
                hidden: 10,
            };
            (s, s, None, None)
        }
    }
}

/// Every variant of tutorial kernel `kernel` worth checking and timing at `size`.
pub fn variants(kernel: &str, size: Size) -> Vec<Variant> {
    let (shape, gemm_shape, widest, gemm_widest) = shapes(size);
    let base = |shape: Shape, tuning: PlanOverrides| Setup {
        tuning: PlanOverrides {
            max_panel_width4: if shape == gemm_shape {
                gemm_widest
            } else {
                widest
            },
            ..tuning
        },
        shape,
        relu: true,
        apply_update: true,
        epoch: 3,
        lr: 0.125,
        seed: 10,
        tamper: Vec::new(),
    };
    let soft = software(shape.hidden);
    let v = |name: String, setup: Setup| Variant { name, setup };
    match kernel {
        "forward_partial" => vec![
            v(
                format!("software plan, {}", tiles_name(soft.tiles)),
                base(shape, soft),
            ),
            v(
                format!(
                    "gpu plan (wg_reduce, k_lanes 16, unroll), {}",
                    tiles_name(Some(Tiles::GPU))
                ),
                base(shape, gpu_plan()),
            ),
            v(
                "wg_reduce, k_lanes 64".into(),
                base(
                    shape,
                    PlanOverrides {
                        wg_reduce: Some(true),
                        ..soft
                    },
                ),
            ),
            v(
                "wg_reduce, k_lanes 4, tiles 4x5x1".into(),
                base(
                    shape,
                    PlanOverrides {
                        wg_reduce: Some(true),
                        k_lanes: Some(4),
                        tiles: Some(Tiles::GPU),
                        ..soft
                    },
                ),
            ),
            v(
                "forward_unroll".into(),
                base(
                    shape,
                    PlanOverrides {
                        forward_unroll: Some(true),
                        ..soft
                    },
                ),
            ),
            v(
                "tiles 1x1x1".into(),
                base(
                    shape,
                    PlanOverrides {
                        tiles: Some(Tiles {
                            row: 1,
                            hidden: 1,
                            col: 1,
                        }),
                        ..soft
                    },
                ),
            ),
        ],
        "forward_gemm" => vec![
            v("default chunks".into(), base(gemm_shape, soft)),
            v(
                "k_split 5 (uneven chunks)".into(),
                base(
                    gemm_shape,
                    PlanOverrides {
                        k_split: Some(5),
                        ..soft
                    },
                ),
            ),
        ],
        "forward_rows" => {
            let wide = Shape {
                hidden: if size == Size::Test { 70 } else { 100 },
                ..shape
            };
            vec![
                v("relu, M_PAD < 64 (slices)".into(), base(shape, soft)),
                v(
                    "identity, M_PAD < 64 (slices)".into(),
                    Setup {
                        relu: false,
                        ..base(shape, soft)
                    },
                ),
                v(
                    format!("relu, M_PAD >= 64 ({} units)", wide.hidden),
                    base(wide, software(wide.hidden)),
                ),
            ]
        }
        "small_grad" => vec![
            v("update".into(), base(shape, soft)),
            v(
                "gradients only (no APPLY_UPDATE)".into(),
                Setup {
                    apply_update: false,
                    ..base(shape, soft)
                },
            ),
        ],
        "record_losses" => vec![
            v("epoch 3".into(), base(shape, soft)),
            v(
                "epoch 0 (no test loss)".into(),
                Setup {
                    epoch: 0,
                    ..base(shape, soft)
                },
            ),
        ],
        "input_grad" => vec![
            v(
                format!("software plan, {}", tiles_name(soft.tiles)),
                base(shape, soft),
            ),
            v(
                format!(
                    "gpu plan (row_split 4, unroll, fused), {}",
                    tiles_name(Some(Tiles::GPU))
                ),
                base(shape, gpu_plan()),
            ),
            v(
                "row_split 2, grad_unroll, 2 columns".into(),
                base(
                    shape,
                    PlanOverrides {
                        row_split: Some(2),
                        grad_unroll: Some(true),
                        tiles: soft.tiles.map(|t| Tiles { col: 2, ..t }),
                        ..soft
                    },
                ),
            ),
            v(
                "small_grad fused".into(),
                base(
                    shape,
                    PlanOverrides {
                        fuse_small: Some(true),
                        ..soft
                    },
                ),
            ),
            v(
                "gradients only (no APPLY_UPDATE)".into(),
                Setup {
                    apply_update: false,
                    ..base(shape, soft)
                },
            ),
        ],
        "input_grad_gemm" => vec![
            v("update".into(), base(gemm_shape, soft)),
            v(
                "gradients only (no APPLY_UPDATE)".into(),
                Setup {
                    apply_update: false,
                    ..base(gemm_shape, soft)
                },
            ),
        ],
        _ => Vec::new(),
    }
}

/// Seeded random inputs over the padded layouts of shapes.wgsl, zero where the layout pads.
struct Inputs {
    /// r_pad x n4 * 4
    x: Vec<f32>,
    /// m_pad x n4 * 4
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: f32,
    targets: Vec<f32>,
    /// k_total x r_pad x m_pad
    partial: Vec<f32>,
    /// r_pad x m_pad
    hid: Vec<f32>,
    out: Vec<f32>,
    /// n_train x m_pad
    delta: Vec<f32>,
}

impl Inputs {
    fn random(l: &Layout, seed: u64) -> Inputs {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let width = l.n4 * 4;
        let mut matrix = |rows: usize, cols: usize, real_rows: usize, real_cols: usize| {
            let mut v = vec![0.0f32; rows * cols];
            for r in 0..real_rows {
                for c in 0..real_cols {
                    v[r * cols + c] = rng.random_range(-1.0f32..1.0);
                }
            }
            v
        };
        let x = matrix(l.r_pad, width, l.n_rows, l.neurons);
        let w1 = matrix(l.m_pad, width, l.hidden, l.neurons);
        let b1 = matrix(1, l.m_pad, 1, l.hidden);
        let w2 = matrix(1, l.m_pad, 1, l.hidden);
        let b2 = matrix(1, 1, 1, 1)[0];
        let targets = matrix(1, l.r_pad, 1, l.n_rows);
        let mut partial = Vec::with_capacity(l.k_total * l.r_pad * l.m_pad);
        for _ in 0..l.k_total {
            partial.extend(matrix(l.r_pad, l.m_pad, l.n_rows, l.hidden));
        }
        let hid = matrix(l.r_pad, l.m_pad, l.n_rows, l.hidden);
        let out = matrix(1, l.r_pad, 1, l.n_rows);
        let delta = matrix(l.n_train, l.m_pad, l.n_train, l.hidden);
        Inputs {
            x,
            w1,
            b1,
            w2,
            b2,
            targets,
            partial,
            hid,
            out,
            delta,
        }
    }
}

/// The columns of panel `p` of a `rows` x `n4 * 4` matrix, as the panel's buffer holds them.
fn panel_columns(full: &[f32], rows: usize, n4: usize, p: &Panel) -> Vec<f32> {
    let (width, first) = (p.width4 * 4, p.col4 * 4);
    (0..rows)
        .flat_map(|r| {
            full[r * n4 * 4 + first..r * n4 * 4 + first + width]
                .iter()
                .copied()
        })
        .collect()
}

/// The same for a reference in f64.
fn panel_columns_f64(full: &[f64], rows: usize, n4: usize, p: &Panel) -> Vec<f64> {
    let (width, first) = (p.width4 * 4, p.col4 * 4);
    (0..rows)
        .flat_map(|r| {
            full[r * n4 * 4 + first..r * n4 * 4 + first + width]
                .iter()
                .copied()
        })
        .collect()
}

fn wide(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// small_grad's buffers (also bound by the register-tile input_grad).
struct SmallBuffers {
    hid: BufId,
    out: BufId,
    targets: BufId,
    b1: BufId,
    w2: BufId,
    b2: BufId,
    grad_small: BufId,
    losses: BufId,
    state: BufId,
}

/// The uniform block `Panel` of shapes.wgsl: width4, k_threads, k_offset, small_groups.
fn panel_uniform(p: &Panel, small_groups: usize) -> [u32; 4] {
    [
        p.width4 as u32,
        p.k_threads as u32,
        p.k_offset as u32,
        small_groups as u32,
    ]
}

/// Losses slots: room for the epoch count to run on through every repetition of a timing.
fn losses_len(epoch: u32) -> usize {
    2 * (epoch as usize + 1100)
}

/// The layout a setup gives for `kernel` on this adapter (the tiled kernels get the tiled layout).
pub fn layout(gpu: &Gpu, kernel: &str, setup: &Setup) -> Result<Layout> {
    let s = setup.shape;
    let spec = Spec {
        activation: if setup.relu {
            Activation::Relu
        } else {
            Activation::Linear
        },
        ..Spec::tutorial(s.neurons, s.hidden)
    };
    let tuning = PlanOverrides {
        gemm: Some(kernel.ends_with("_gemm")),
        ..setup.tuning
    };
    Layout::new(s.n_train, s.n_test, &spec, &gpu.adapter, tuning)
}

/// What the adapter's limits changed of what the variant asked for (the layout turns off workgroup sums and
/// row splits that do not fit the workgroup memory), to put in the variant's name.
fn layout_notes(l: &Layout, asked: &PlanOverrides) -> String {
    let mut notes = Vec::new();
    if asked.wg_reduce == Some(true) && !l.plan.wg_reduce && !l.gemm {
        notes.push("no wg_reduce: workgroup memory");
    }
    if asked.row_split.is_some_and(|r| r > 1) && l.plan.row_split == 1 {
        notes.push("no row_split: workgroup memory");
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!(" [{}]", notes.join(", "))
    }
}

/// Builds tutorial kernel `kernel` as `variant` says, with its inputs and expected outputs.
pub fn build<'g>(gpu: &'g Gpu, kernel: &str, variant: &Variant) -> Result<Case<'g>> {
    if !KERNELS.contains(&kernel) {
        return Err(Error::Usage(format!(
            "no tutorial kernel {kernel:?}; they are {}",
            KERNELS.join(", ")
        )));
    }
    let setup = &variant.setup;
    let l = layout(gpu, kernel, setup)?;
    let overrides = Overrides {
        n_train: l.n_train,
        n_rows: l.n_rows,
        r_pad: l.r_pad,
        m_pad: l.m_pad,
        k_total: l.k_total,
        relu: setup.relu,
        apply_update: setup.apply_update,
        plan: l.plan,
        tiles: l.tiles,
    };
    let mut constants = overrides.constants();
    for &(name, value) in &setup.tamper {
        match constants.iter_mut().find(|c| c.0 == name) {
            Some(c) => c.1 = value,
            None => return Err(Error::Usage(format!("no override constant {name}"))),
        }
    }
    let source = kernels::source(kernel, l.tiles)?;
    let mut b = CaseBuilder::new(
        gpu,
        format!("tutorial/{kernel}"),
        format!("{}{}", variant.name, layout_notes(&l, &setup.tuning)),
        &source,
        kernel,
        kernels::bindings(kernel),
        &constants,
    )?;
    let data = Inputs::random(&l, setup.seed);
    let max_groups = gpu.adapter.max_compute_workgroups_per_dimension as usize;
    let (n4, m_pad, r_pad) = (l.n4, l.m_pad, l.r_pad);
    let lr = setup.lr as f64;
    match kernel {
        "forward_partial" | "forward_gemm" => {
            let len = l.k_total * r_pad * m_pad;
            // Every partial sum must be written: NaN where one is not fails the comparison.
            let partial = b.storage("partial", &vec![f32::NAN; len]);
            for p in &l.panels {
                let u = b.uniform("panel", bytemuck::cast_slice(&panel_uniform(p, 0)));
                let x = b.storage("x", &panel_columns(&data.x, r_pad, n4, p));
                let w1 = b.storage("w1", &panel_columns(&data.w1, m_pad, n4, p));
                let groups = if l.gemm {
                    [
                        p.k_threads as u32,
                        (r_pad / GEMM_BLOCK) as u32,
                        (m_pad / GEMM_BLOCK) as u32,
                    ]
                } else {
                    let (gx, gy) = grid(
                        l.forward_partial_groups(p.k_threads) * WORKGROUP,
                        max_groups,
                    );
                    [gx, gy, 1]
                };
                b.dispatch(
                    &[
                        (0, u, None),
                        (1, x, None),
                        (2, w1, None),
                        (3, partial, None),
                    ],
                    &[],
                    groups,
                )?;
            }
            let reference = if l.gemm {
                reference::forward_gemm(&l, &data.x, &data.w1)
            } else {
                reference::forward_partial(&l, &data.x, &data.w1)
            };
            b.expect(
                "partial",
                &[(partial, 0, len)],
                reference,
                tolerance::TENSOR,
            );
        }
        "forward_rows" => {
            let partial = b.storage("partial", &data.partial);
            let b1 = b.storage("b1", &data.b1);
            let w2 = b.storage("w2", &data.w2);
            let b2 = b.storage("b2", &[data.b2]);
            let hid = b.storage("hid", &vec![f32::NAN; r_pad * m_pad]);
            let out = b.storage("out", &vec![f32::NAN; r_pad]);
            let targets = b.storage("targets", &data.targets);
            let delta = b.storage("delta", &vec![f32::NAN; l.n_train * m_pad]);
            b.dispatch(
                &[
                    (3, partial, None),
                    (4, b1, None),
                    (5, w2, None),
                    (6, b2, None),
                    (7, hid, None),
                    (8, out, None),
                    (9, targets, None),
                    (10, delta, None),
                ],
                &[],
                [l.n_rows as u32, 1, 1],
            )?;
            let rows = reference::forward_rows(
                &l,
                setup.relu,
                &data.partial,
                &data.b1,
                &data.w2,
                data.b2,
                &data.targets,
            );
            b.expect(
                "hid",
                &[(hid, 0, l.n_rows * m_pad)],
                rows.hid,
                tolerance::TENSOR,
            );
            b.expect("out", &[(out, 0, l.n_rows)], rows.out, tolerance::TENSOR);
            b.expect(
                "delta",
                &[(delta, 0, l.n_train * m_pad)],
                rows.delta,
                tolerance::TENSOR,
            );
        }
        "record_losses" => {
            let out = b.storage("out", &data.out);
            let targets = b.storage("targets", &data.targets);
            let losses0 = vec![0.0f32; losses_len(setup.epoch)];
            let losses = b.storage("losses", &losses0);
            let state = b.storage_u32("state", &[setup.epoch]);
            b.dispatch(
                &[
                    (2, out, None),
                    (3, targets, None),
                    (9, losses, None),
                    (10, state, None),
                ],
                &[],
                [1, 1, 1],
            )?;
            let reference = reference::record_losses(
                &l,
                &data.out,
                &data.targets,
                setup.epoch as usize,
                &losses0,
            );
            b.expect(
                "losses",
                &[(losses, 0, losses0.len())],
                reference,
                tolerance::LOSS,
            );
            b.expect_u32(
                "state (unchanged)",
                &[(state, 0, 1)],
                vec![setup.epoch as f64],
            );
        }
        "small_grad" | "input_grad" | "input_grad_gemm" => {
            let small = kernel != "input_grad_gemm";
            // The uniform block `Hyper` of shapes.wgsl: lr and three pads.
            let hyper = b.uniform("hyper", bytemuck::cast_slice(&[setup.lr, 0.0, 0.0, 0.0]));
            let delta = b.storage("delta", &data.delta);
            let mut bindings = vec![(0, hyper, None), (7, delta, None)];
            let small_ids = small.then(|| SmallBuffers {
                hid: b.storage("hid", &data.hid),
                out: b.storage("out", &data.out),
                targets: b.storage("targets", &data.targets),
                b1: b.storage("b1", &data.b1),
                w2: b.storage("w2", &data.w2),
                b2: b.storage("b2", &[data.b2]),
                grad_small: b.storage("grad_small", &vec![f32::NAN; 2 * m_pad + 1]),
                losses: b.storage("losses", &vec![0.0f32; losses_len(setup.epoch)]),
                state: b.storage_u32("state", &[setup.epoch]),
            });
            if let Some(s) = &small_ids {
                bindings.extend([
                    (1, s.hid, None),
                    (2, s.out, None),
                    (3, s.targets, None),
                    (4, s.b1, None),
                    (5, s.w2, None),
                    (6, s.b2, None),
                    (8, s.grad_small, None),
                    (9, s.losses, None),
                    (10, s.state, None),
                ]);
            }
            // small_grad's work runs in small_grad, or in front of the first panel's input_grad when fused.
            let small_work = kernel == "small_grad" || (small && l.small_groups(0) > 0);
            if kernel == "small_grad" {
                b.dispatch(&bindings, &[], [m_pad as u32 + 1, 1, 1])?;
            } else {
                let mut w1_ids = Vec::new();
                for (i, p) in l.panels.iter().enumerate() {
                    let u = b.uniform(
                        "panel",
                        bytemuck::cast_slice(&panel_uniform(p, l.small_groups(i))),
                    );
                    let x = b.storage("x", &panel_columns(&data.x, r_pad, n4, p));
                    let w1 = b.storage("w1", &panel_columns(&data.w1, m_pad, n4, p));
                    w1_ids.push((w1, 0, m_pad * p.width4 * 4));
                    let mut all = bindings.clone();
                    all.extend([(11, u, None), (12, x, None), (13, w1, None)]);
                    let groups = if l.gemm {
                        [
                            p.width4.div_ceil(GEMM_COLS4) as u32,
                            (m_pad / GEMM_BLOCK) as u32,
                            1,
                        ]
                    } else {
                        [
                            (l.small_groups(i) + l.input_grad_groups(p.width4)) as u32,
                            (m_pad / l.tiles.hidden) as u32,
                            1,
                        ]
                    };
                    b.dispatch(&all, &[], groups)?;
                }
                let g = reference::input_grad(&l, &data.x, &data.delta);
                let per_panel = |full: &[f64]| -> Vec<f64> {
                    l.panels
                        .iter()
                        .flat_map(|p| panel_columns_f64(full, m_pad, n4, p))
                        .collect()
                };
                if setup.apply_update {
                    let step: Vec<f64> = g.iter().map(|&v| -lr * v).collect();
                    b.expect_step(
                        "w1 step",
                        &w1_ids,
                        per_panel(&wide(&data.w1)),
                        per_panel(&step),
                        tolerance::TENSOR,
                    );
                } else {
                    b.expect("w1 gradient", &w1_ids, per_panel(&g), tolerance::TENSOR);
                }
            }
            if let (true, Some(ids)) = (small_work, small_ids) {
                let grad =
                    reference::small_grad(&l, &data.hid, &data.out, &data.targets, &data.delta);
                let step = |v: &[f64]| -> Vec<f64> {
                    v.iter()
                        .map(|&g| if setup.apply_update { -lr * g } else { 0.0 })
                        .collect()
                };
                b.expect(
                    "grad_small (db1, dw2, db2)",
                    &[(ids.grad_small, 0, 2 * m_pad + 1)],
                    grad.clone(),
                    tolerance::TENSOR,
                );
                b.expect_step(
                    if setup.apply_update {
                        "b1 step"
                    } else {
                        "b1 (unchanged)"
                    },
                    &[(ids.b1, 0, m_pad)],
                    wide(&data.b1),
                    step(&grad[..m_pad]),
                    tolerance::TENSOR,
                );
                b.expect_step(
                    if setup.apply_update {
                        "w2 step"
                    } else {
                        "w2 (unchanged)"
                    },
                    &[(ids.w2, 0, m_pad)],
                    wide(&data.w2),
                    step(&grad[m_pad..2 * m_pad]),
                    tolerance::TENSOR,
                );
                b.expect_step(
                    if setup.apply_update {
                        "b2 step"
                    } else {
                        "b2 (unchanged)"
                    },
                    &[(ids.b2, 0, 1)],
                    vec![data.b2 as f64],
                    step(&grad[2 * m_pad..]),
                    tolerance::TENSOR,
                );
                let losses0 = vec![0.0f32; losses_len(setup.epoch)];
                b.expect(
                    "losses",
                    &[(ids.losses, 0, losses0.len())],
                    reference::record_losses(
                        &l,
                        &data.out,
                        &data.targets,
                        setup.epoch as usize,
                        &losses0,
                    ),
                    tolerance::LOSS,
                );
                b.expect_u32(
                    "state (epoch + 1)",
                    &[(ids.state, 0, 1)],
                    vec![setup.epoch as f64 + 1.0],
                );
            }
        }
        _ => unreachable!("checked against KERNELS above"),
    }
    b.finish()
}
