//! The tutorial path's kernel files and the override constants that specialise them to one problem's shapes.

use super::layout::Plan;
use crate::error::Result;
use crate::gpu::runtime::kernel::Access;
use crate::gpu::runtime::wgsl::{COMMON, Tiles, WORKGROUP, compose, expand};

/// The tutorial path's WGSL files, by path under `shaders/`: one file per kernel (named after its entry
/// point), and the pieces they import.
pub const FILES: &[(&str, &str)] = &[
    (
        "tutorial/shapes.wgsl",
        include_str!("../../../shaders/tutorial/shapes.wgsl"),
    ),
    (
        "tutorial/panel_io.wgsl",
        include_str!("../../../shaders/tutorial/panel_io.wgsl"),
    ),
    (
        "tutorial/weight_io.wgsl",
        include_str!("../../../shaders/tutorial/weight_io.wgsl"),
    ),
    (
        "tutorial/small_grad_work.wgsl",
        include_str!("../../../shaders/tutorial/small_grad_work.wgsl"),
    ),
    (
        "tutorial/forward_partial.wgsl",
        include_str!("../../../shaders/tutorial/forward_partial.wgsl"),
    ),
    (
        "tutorial/forward_gemm.wgsl",
        include_str!("../../../shaders/tutorial/forward_gemm.wgsl"),
    ),
    (
        "tutorial/forward_rows.wgsl",
        include_str!("../../../shaders/tutorial/forward_rows.wgsl"),
    ),
    (
        "tutorial/small_grad.wgsl",
        include_str!("../../../shaders/tutorial/small_grad.wgsl"),
    ),
    (
        "tutorial/record_losses.wgsl",
        include_str!("../../../shaders/tutorial/record_losses.wgsl"),
    ),
    (
        "tutorial/input_grad.wgsl",
        include_str!("../../../shaders/tutorial/input_grad.wgsl"),
    ),
    (
        "tutorial/input_grad_gemm.wgsl",
        include_str!("../../../shaders/tutorial/input_grad_gemm.wgsl"),
    ),
];

/// Every kernel (entry point) of the tutorial path; each is in `tutorial/<name>.wgsl`.
pub const KERNELS: [&str; 7] = [
    "forward_partial",
    "forward_gemm",
    "forward_rows",
    "small_grad",
    "record_losses",
    "input_grad",
    "input_grad_gemm",
];

/// The module of kernel `entry` (one of [`KERNELS`]), imports resolved and unrolled to `tiles`.
pub fn source(entry: &str, tiles: Tiles) -> Result<String> {
    Ok(expand(
        &compose(&format!("tutorial/{entry}.wgsl"), &[FILES, COMMON])?,
        tiles,
    ))
}

/// Each kernel's bindings (group 0) and how it uses them, as the pipeline layout declares them. The test
/// `tutorial_bindings_match_the_wgsl` in tests/shaders_naga.rs checks these against each entry point's own
/// globals in the WGSL, so the two cannot drift apart.
pub fn bindings(entry: &str) -> &'static [(u32, Access)] {
    use Access::*;
    // small_grad's bindings; the register-tile input_grad needs them too, for the same work.
    const SMALL: [(u32, Access); 11] = [
        (0, Uniform),
        (1, Read),
        (2, Read),
        (3, Read),
        (4, ReadWrite),
        (5, ReadWrite),
        (6, ReadWrite),
        (7, Read),
        (8, ReadWrite),
        (9, ReadWrite),
        (10, ReadWrite),
    ];
    const INPUT_GRAD: [(u32, Access); 14] = [
        SMALL[0],
        SMALL[1],
        SMALL[2],
        SMALL[3],
        SMALL[4],
        SMALL[5],
        SMALL[6],
        SMALL[7],
        SMALL[8],
        SMALL[9],
        SMALL[10],
        (11, Uniform),
        (12, Read),
        (13, ReadWrite),
    ];
    match entry {
        "forward_partial" | "forward_gemm" => &[(0, Uniform), (1, Read), (2, Read), (3, ReadWrite)],
        "forward_rows" => &[
            (3, ReadWrite),
            (4, Read),
            (5, Read),
            (6, Read),
            (7, ReadWrite),
            (8, ReadWrite),
            (9, Read),
            (10, ReadWrite),
        ],
        "small_grad" => &SMALL,
        "record_losses" => &[(2, Read), (3, Read), (9, ReadWrite), (10, ReadWrite)],
        "input_grad" => &INPUT_GRAD,
        "input_grad_gemm" => &[
            (0, Uniform),
            (7, Read),
            (11, Uniform),
            (12, Read),
            (13, ReadWrite),
        ],
        _ => &[],
    }
}

/// Every kernel's module, by entry point, as compiled for `tiles`.
pub fn modules(tiles: Tiles) -> Result<Vec<(&'static str, String)>> {
    KERNELS
        .iter()
        .map(|&k| Ok((k, source(k, tiles)?)))
        .collect()
}

/// The values of the override constants in shapes.wgsl.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overrides {
    pub n_train: usize,
    pub n_rows: usize,
    pub r_pad: usize,
    pub m_pad: usize,
    pub k_total: usize,
    pub relu: bool,
    pub apply_update: bool,
    /// The register-tile kernels' choices.
    pub plan: Plan,
    pub tiles: Tiles,
}

impl Overrides {
    pub fn constants(&self) -> Vec<(&'static str, f64)> {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        vec![
            ("N_TRAIN", self.n_train as f64),
            ("N_ROWS", self.n_rows as f64),
            ("R_PAD", self.r_pad as f64),
            ("M_PAD", self.m_pad as f64),
            ("K_TOTAL", self.k_total as f64),
            ("RELU", flag(self.relu)),
            ("APPLY_UPDATE", flag(self.apply_update)),
            ("WG_REDUCE", flag(self.plan.wg_reduce)),
            ("K_LANES", self.plan.k_lanes as f64),
            ("FORWARD_UNROLL", flag(self.plan.forward_unroll)),
            (
                "TILE_SUMS",
                if self.plan.wg_reduce {
                    (WORKGROUP * self.tiles.row * self.tiles.hidden) as f64
                } else {
                    1.0
                },
            ),
            ("ROW_SPLIT", self.plan.row_split as f64),
            ("GRAD_UNROLL", flag(self.plan.grad_unroll)),
            (
                "GRAD_SUMS",
                if self.plan.row_split > 1 {
                    (WORKGROUP * self.tiles.col * self.tiles.hidden) as f64
                } else {
                    1.0
                },
            ),
        ]
    }
}
