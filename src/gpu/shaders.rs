//! The WGSL sources and the override constants that specialise them to one problem's shapes.
//!
//! `shaders/shapes.wgsl` declares the constants and layouts every kernel shares; it is prepended to each
//! kernel file, so a single list of constants serves every pipeline.

pub const SHAPES: &str = include_str!("../../shaders/shapes.wgsl");
pub const FORWARD: &str = include_str!("../../shaders/forward.wgsl");
pub const BACKWARD: &str = include_str!("../../shaders/backward.wgsl");

/// Every kernel file, by name, as compiled (with the shared prelude).
pub fn modules() -> Vec<(&'static str, String)> {
    vec![
        ("forward.wgsl", source(FORWARD)),
        ("backward.wgsl", source(BACKWARD)),
    ]
}

/// A kernel file with the shared prelude in front.
pub fn source(kernel: &str) -> String {
    format!("{SHAPES}\n{kernel}")
}

/// Rows per thread in `forward_partial` (`ROW_TILE` in shapes.wgsl).
pub const ROW_TILE: usize = 4;
/// Hidden units per thread in `forward_partial` and `input_grad` (`HIDDEN_TILE`).
pub const HIDDEN_TILE: usize = 5;
/// `@workgroup_size` of the kernels that are dispatched over many threads.
pub const WORKGROUP: usize = 64;

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
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tile constants above must be the ones the WGSL uses.
    #[test]
    fn tile_constants_match_the_wgsl() {
        assert!(SHAPES.contains(&format!("const ROW_TILE: u32 = {ROW_TILE}u;")));
        assert!(SHAPES.contains(&format!("const HIDDEN_TILE: u32 = {HIDDEN_TILE}u;")));
        for (name, src) in modules() {
            for line in src
                .lines()
                .filter(|l| l.contains("@workgroup_size(") && !l.contains("(1)"))
            {
                assert!(
                    line.contains(&format!("@workgroup_size({WORKGROUP})")),
                    "{name}: {line}"
                );
            }
        }
    }
}
