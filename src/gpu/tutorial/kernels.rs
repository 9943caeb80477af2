//! The tutorial path's kernel files and the override constants that specialise them to one problem's shapes.

use super::layout::Plan;
use crate::gpu::runtime::wgsl::{Tiles, WORKGROUP, WORKGROUP_SUM, expand};

pub const SHAPES: &str = include_str!("../../../shaders/shapes.wgsl");
pub const FORWARD: &str = include_str!("../../../shaders/forward.wgsl");
pub const BACKWARD: &str = include_str!("../../../shaders/backward.wgsl");

/// A kernel file of the tutorial's fast path with the shared prelude in front, unrolled to `tiles`.
pub fn source(kernel: &str, tiles: Tiles) -> String {
    expand(&format!("{SHAPES}\n{WORKGROUP_SUM}\n{kernel}"), tiles)
}

/// Every kernel file, by name, as compiled for `tiles`.
pub fn modules(tiles: Tiles) -> Vec<(&'static str, String)> {
    vec![
        ("forward.wgsl", source(FORWARD, tiles)),
        ("backward.wgsl", source(BACKWARD, tiles)),
    ]
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
