//! The stack's WGSL: a file per kernel under `shaders/stack/`, each composed into a module of its own with the
//! files it imports (`shaders/stack/shapes.wgsl` and the common helpers), then unrolled to the register tiles
//! (`runtime::wgsl`), as the general path composes its own.

use crate::error::Result;
use crate::gpu::runtime::kernel::Access::{self, Read, ReadWrite};
use crate::gpu::runtime::wgsl::{COMMON, Tiles, compose, expand};

/// The stack's files, by path under `shaders/`.
pub const FILES: &[(&str, &str)] = &[
    (
        "stack/shapes.wgsl",
        include_str!("../../../shaders/stack/shapes.wgsl"),
    ),
    (
        "stack/forward.wgsl",
        include_str!("../../../shaders/stack/forward.wgsl"),
    ),
    (
        "stack/head.wgsl",
        include_str!("../../../shaders/stack/head.wgsl"),
    ),
    (
        "stack/penalty.wgsl",
        include_str!("../../../shaders/stack/penalty.wgsl"),
    ),
    (
        "stack/record.wgsl",
        include_str!("../../../shaders/stack/record.wgsl"),
    ),
    (
        "stack/grad.wgsl",
        include_str!("../../../shaders/stack/grad.wgsl"),
    ),
    (
        "stack/small.wgsl",
        include_str!("../../../shaders/stack/small.wgsl"),
    ),
];

/// One kernel: its entry point, its file, and its bindings' access modes in binding order (0, 1, ...), as the
/// file declares them.
#[derive(Clone, Copy, Debug)]
pub struct KernelFile {
    pub entry: &'static str,
    pub file: &'static str,
    pub bindings: &'static [Access],
}

/// Every kernel of the stack, in the order an epoch runs them (after the first forward pass).
pub const KERNELS: [KernelFile; 6] = [
    KernelFile {
        entry: "stack_grad",
        file: "stack/grad.wgsl",
        bindings: &[Read, Read, Read, Read, Read, ReadWrite, ReadWrite],
    },
    KernelFile {
        entry: "stack_small",
        file: "stack/small.wgsl",
        bindings: &[Read, Read, Read, Read, Read, ReadWrite, ReadWrite],
    },
    KernelFile {
        entry: "stack_forward",
        file: "stack/forward.wgsl",
        bindings: &[Read, Read, ReadWrite],
    },
    KernelFile {
        entry: "stack_head",
        file: "stack/head.wgsl",
        bindings: &[
            Read, Read, Read, Read, Read, Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite,
            ReadWrite,
        ],
    },
    KernelFile {
        entry: "stack_penalty",
        file: "stack/penalty.wgsl",
        bindings: &[Read, Read, ReadWrite],
    },
    KernelFile {
        entry: "stack_record",
        file: "stack/record.wgsl",
        bindings: &[Read, Read, Read, Read, ReadWrite, ReadWrite],
    },
];

/// The WGSL module of `kernel`, unrolled to `tiles`.
pub fn module_source(kernel: &KernelFile, tiles: Tiles) -> Result<String> {
    Ok(expand(&compose(kernel.file, &[FILES, COMMON])?, tiles))
}

/// Every kernel's module at `tiles`, named by entry point (for naga's checks in tests/shaders_naga.rs).
pub fn modules(tiles: Tiles) -> Result<Vec<(&'static str, String)>> {
    KERNELS
        .iter()
        .map(|k| Ok((k.entry, module_source(k, tiles)?)))
        .collect()
}

/// The override constants of `shapes.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Constants {
    pub r: usize,
    pub r_pad: usize,
    pub c4: usize,
    pub k: usize,
    pub m: usize,
    pub km_pad: usize,
    pub o: usize,
    pub kt: usize,
    pub nu: usize,
    pub nll: bool,
    pub relu: bool,
    pub momentum: bool,
}

impl Constants {
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        let flag = |b: bool| f64::from(u8::from(b));
        vec![
            ("R", self.r as f64),
            ("R_PAD", self.r_pad as f64),
            ("C4", self.c4 as f64),
            ("K", self.k as f64),
            ("M", self.m as f64),
            ("KM_PAD", self.km_pad as f64),
            ("O", self.o as f64),
            ("KT", self.kt as f64),
            ("NU", self.nu as f64),
            ("NLL", flag(self.nll)),
            ("RELU", flag(self.relu)),
            ("MOMENTUM", flag(self.momentum)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_composes_with_its_entry_point_and_bindings() {
        let tiles = Tiles {
            row: 2,
            hidden: 3,
            col: 2,
        };
        for k in &KERNELS {
            let text = module_source(k, tiles).unwrap();
            assert!(text.contains(&format!("fn {}(", k.entry)), "{}", k.entry);
            assert!(
                !text.contains("#import") && !text.contains('$'),
                "{}",
                k.entry
            );
            // The file declares exactly the bindings Rust binds, in order, with their access modes.
            let declared: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("@group(0) @binding("))
                .collect();
            assert_eq!(declared.len(), k.bindings.len(), "{}", k.entry);
            for (i, (line, access)) in declared.iter().zip(k.bindings).enumerate() {
                assert!(
                    line.starts_with(&format!("@group(0) @binding({i})")),
                    "{line}"
                );
                let want = match access {
                    Access::Read => "var<storage, read>",
                    Access::ReadWrite => "var<storage, read_write>",
                    _ => "var<uniform>",
                };
                assert!(line.contains(want), "{}: {line}", k.entry);
            }
        }
    }
}
