//! The general path's WGSL: a file per kernel under `shaders/general/`, each composed into a module of its own
//! (`runtime::wgsl::compose`, then the tile notation's `expand`) with the files it imports: the shapes, uniforms
//! and buffers (`bindings.wgsl`), small helpers, and two files given by Rust — the objective's per-row loss
//! (`Objective::wgsl`, as `generated/objective.wgsl`) and the optimizer's step with its constants
//! (`optim::Rule::wgsl`, as `generated/optimizer.wgsl`).
//!
//! Buffers are bound by their names in `bindings.wgsl`, whose binding numbers and access modes are read from
//! that file, so they are written in one place.

use crate::error::{Error, Result};
use crate::gpu::runtime::wgsl::{COMMON, Tiles, compose, expand};
use crate::model::Activation;
use crate::objective::{Objective, Penalty};
use crate::optim::Optimizer;

/// The general path's files, by path under `shaders/`.
pub const FILES: &[(&str, &str)] = &[
    (
        "general/bindings.wgsl",
        include_str!("../../../shaders/general/bindings.wgsl"),
    ),
    (
        "general/common.wgsl",
        include_str!("../../../shaders/general/common.wgsl"),
    ),
    (
        "general/penalty.wgsl",
        include_str!("../../../shaders/general/penalty.wgsl"),
    ),
    (
        "general/forward_first.wgsl",
        include_str!("../../../shaders/general/forward_first.wgsl"),
    ),
    (
        "general/forward_dense.wgsl",
        include_str!("../../../shaders/general/forward_dense.wgsl"),
    ),
    (
        "general/loss.wgsl",
        include_str!("../../../shaders/general/loss.wgsl"),
    ),
    (
        "general/backward_delta.wgsl",
        include_str!("../../../shaders/general/backward_delta.wgsl"),
    ),
    (
        "general/grad_first.wgsl",
        include_str!("../../../shaders/general/grad_first.wgsl"),
    ),
    (
        "general/grad_dense.wgsl",
        include_str!("../../../shaders/general/grad_dense.wgsl"),
    ),
    (
        "general/update.wgsl",
        include_str!("../../../shaders/general/update.wgsl"),
    ),
];

/// What the update kernel runs instead of an optimizer when a session only evaluates gradients.
pub const STORE_GRADIENT: &str = include_str!("../../../shaders/general/store_gradient.wgsl");

/// One kernel: its entry point, its file, and the buffers it binds, by their names in `bindings.wgsl` (a
/// superset of those it uses, which tests/wgsl_layouts.rs checks with naga).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelFile {
    pub entry: &'static str,
    pub file: &'static str,
    pub bindings: &'static [&'static str],
}

const fn k(
    entry: &'static str,
    file: &'static str,
    bindings: &'static [&'static str],
) -> KernelFile {
    KernelFile {
        entry,
        file,
        bindings,
    }
}

/// Every kernel of the general path, in the order a training step runs them.
pub const KERNELS: [KernelFile; 9] = [
    k(
        "penalty_partial",
        "general/penalty.wgsl",
        &["params4", "pen_partials_w"],
    ),
    k(
        "penalty_final",
        "general/penalty.wgsl",
        &["pen_partials_r", "scalars_w"],
    ),
    k(
        "forward_first",
        "general/forward_first.wgsl",
        &["st", "x", "index", "params4", "params_r", "acts_w"],
    ),
    k(
        "forward_dense",
        "general/forward_dense.wgsl",
        &["st", "layer", "params_r", "acts_w"],
    ),
    k(
        "loss",
        "general/loss.wgsl",
        &[
            "st",
            "index",
            "targets",
            "labels",
            "acts_r",
            "deltas_w",
            "outs",
            "history",
            "scalars_r",
        ],
    ),
    k(
        "backward_delta",
        "general/backward_delta.wgsl",
        &["st", "layer", "params_r", "acts_r", "deltas_w"],
    ),
    k(
        "grad_first",
        "general/grad_first.wgsl",
        &["st", "x", "index", "deltas_r", "grads4_w"],
    ),
    k(
        "grad_dense",
        "general/grad_dense.wgsl",
        &["st", "layer", "acts_r", "deltas_r", "grads_w"],
    ),
    k(
        "update",
        "general/update.wgsl",
        &["st", "params_w", "grads_w", "state"],
    ),
];

/// The kernel whose entry point is `entry`.
pub fn kernel_file(entry: &str) -> &'static KernelFile {
    KERNELS
        .iter()
        .find(|k| k.entry == entry)
        .unwrap_or_else(|| panic!("no general kernel {entry:?}"))
}

/// The WGSL module of `kernel`, unrolled to `tiles`, for a network trained on `objective` with `optimizer`
/// (`None`: a session that evaluates gradients).
pub fn module_source(
    kernel: &KernelFile,
    tiles: Tiles,
    objective: Objective,
    optimizer: Option<&Optimizer>,
) -> Result<String> {
    let step = optimizer.map_or_else(|| STORE_GRADIENT.to_string(), |o| o.wgsl());
    let generated: &[(&str, &str)] = &[
        ("generated/objective.wgsl", objective.wgsl()),
        ("generated/optimizer.wgsl", &step),
    ];
    Ok(expand(
        &compose(kernel.file, &[FILES, COMMON, generated])?,
        tiles,
    ))
}

/// How a kernel may use a buffer, as `bindings.wgsl` declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// `var<uniform>`: in this path always a slot of a larger buffer, bound with a dynamic offset.
    Uniform,
    Read,
    ReadWrite,
}

/// The binding number and use of the buffer called `name` in `bindings.wgsl`.
pub fn binding(name: &str) -> Result<(u32, Use)> {
    let text = FILES[0].1;
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("@group(0) @binding(") else {
            continue;
        };
        let parsed = rest.split_once(')').and_then(|(number, decl)| {
            let decl = decl.trim().strip_prefix("var<")?;
            let (space, decl) = decl.split_once('>')?;
            let (var, _) = decl.split_once(':')?;
            let kind = match space.replace(' ', "").as_str() {
                "uniform" => Use::Uniform,
                "storage,read" => Use::Read,
                "storage,read_write" => Use::ReadWrite,
                _ => return None,
            };
            Some((number.parse::<u32>().ok()?, var.trim(), kind))
        });
        match parsed {
            Some((number, var, kind)) if var == name => return Ok((number, kind)),
            Some(_) => {}
            None => {
                return Err(Error::Usage(format!(
                    "general/bindings.wgsl: cannot read the binding {line:?}"
                )));
            }
        }
    }
    Err(Error::Usage(format!(
        "general/bindings.wgsl has no binding {name:?}"
    )))
}

/// The override constants of `bindings.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Constants {
    /// vec4 columns of x and of W_in's rows.
    pub n4: usize,
    /// Units of the first layer.
    pub m0: usize,
    /// Outputs of the last layer.
    pub classes: usize,
    /// Where the last layer's block starts in the activations and deltas.
    pub last_off: usize,
    /// f32s of W_in as stored (m0 * n4 * 4); b_in follows it.
    pub win_len: usize,
    /// f32s of all parameters.
    pub p_len: usize,
    pub activation: Activation,
    pub penalty: Penalty,
    pub pen_groups: usize,
    pub pen_chunk4: usize,
    /// Whether the kernel runs on the first, and on the last, of the column panels (both with one panel).
    pub panel_first: bool,
    pub panel_last: bool,
}

impl Constants {
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("N4", self.n4 as f64),
            ("M0", self.m0 as f64),
            ("CLASSES", self.classes as f64),
            ("LAST_OFF", self.last_off as f64),
            ("WIN_LEN", self.win_len as f64),
            ("P_LEN", self.p_len as f64),
            (
                "RELU",
                if self.activation == Activation::Relu {
                    1.0
                } else {
                    0.0
                },
            ),
            ("L1", self.penalty.l1),
            ("L2", self.penalty.l2),
            ("PEN_GROUPS", self.pen_groups as f64),
            ("PEN_CHUNK4", self.pen_chunk4 as f64),
            ("PANEL_FIRST", f64::from(u8::from(self.panel_first))),
            ("PANEL_LAST", f64::from(u8::from(self.panel_last))),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernels_bindings_are_declared_and_numbered_once() {
        let mut seen = std::collections::BTreeMap::new();
        for k in &KERNELS {
            for name in k.bindings {
                let (number, _) = binding(name).unwrap();
                assert_eq!(*seen.entry(number).or_insert(*name), *name, "{number}");
            }
        }
        assert_eq!(binding("st").unwrap(), (0, Use::Uniform));
        assert_eq!(binding("params_r").unwrap().1, Use::Read);
        assert_eq!(binding("state").unwrap().1, Use::ReadWrite);
        assert!(binding("nope").is_err());
    }

    #[test]
    fn every_kernel_composes() {
        let tiles = Tiles {
            row: 2,
            hidden: 3,
            col: 2,
        };
        for k in &KERNELS {
            let text = module_source(k, tiles, Objective::Mse, None).unwrap();
            assert!(text.contains(&format!("fn {}(", k.entry)), "{}", k.entry);
            assert!(!text.contains("#import"), "{}", k.entry);
        }
    }
}
