//! The per-kernel harness, in the spirit of llm.c's `dev/cuda`, kept out of the library (a development crate of
//! the workspace; it reaches the kernels through the library's public `gpu` modules): any one kernel of either GPU path on seeded
//! random inputs, one launch of it alone, its outputs compared with that kernel's own f64 CPU reference through
//! `popdecode::compare`, then timed; each kernel's variants (tiles, plan switches, modes) side by side.
//!
//! - [`kernels`] lists every kernel ("tutorial/forward_partial", ...), [`select`] picks some by name;
//! - [`variants`] lists a kernel's variants at a [`Size`]; [`build`] makes a [`Case`] of one;
//! - [`Case::check`] compares, [`Case::time`] times (GPU timestamps where the adapter has them).
//!
//! `tests/kernels.rs` checks every variant at `Size::Test` on whatever adapter opens; `benches/kernels.rs`
//! checks and times them (`cargo bench --bench kernels -- NAME ...`).

pub mod case;
pub mod general;
pub mod tutorial;

use std::fmt;
use std::time::Duration;

pub use case::{Case, Clock, Timing};

use popdecode::compare::Comparison;
use popdecode::error::{Error, Result};
use popdecode::gpu::runtime::device::Gpu;

/// How big the random problems are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Small shapes that exercise the edges (sizes that are multiples of no tile, several column panels, two
    /// blocks of the tiled kernels): for tests.
    Test,
    /// 216 + 144 rows x 4,000 neurons: a benchmark that runs on a software adapter in seconds.
    Bench,
    /// The tutorial's 216 + 144 rows x 23,589 neurons.
    Full,
}

/// The GPU paths.
pub const PATHS: [&str; 2] = ["tutorial", "general"];

/// One kernel: its path and entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelId {
    pub path: &'static str,
    pub name: &'static str,
}

impl fmt::Display for KernelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.path, self.name)
    }
}

/// Every kernel of both GPU paths.
pub fn kernels() -> Vec<KernelId> {
    let tutorial = popdecode::gpu::tutorial::kernels::KERNELS
        .iter()
        .map(|&name| KernelId {
            path: "tutorial",
            name,
        });
    let general = general::names().into_iter().map(|name| KernelId {
        path: "general",
        name,
    });
    tutorial.chain(general).collect()
}

/// The kernels `names` name: a kernel ("forward_rows" or "tutorial/forward_rows") or a whole path
/// ("tutorial"); every kernel when `names` is empty.
pub fn select(names: &[String]) -> Result<Vec<KernelId>> {
    let all = kernels();
    if names.is_empty() {
        return Ok(all);
    }
    let mut picked = Vec::new();
    for n in names {
        let hits: Vec<KernelId> = all
            .iter()
            .copied()
            .filter(|k| n == k.path || n == k.name || *n == k.to_string())
            .collect();
        if hits.is_empty() {
            return Err(Error::Usage(format!(
                "no kernel {n:?}; the kernels are: {}",
                all.iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        for k in hits {
            if !picked.contains(&k) {
                picked.push(k);
            }
        }
    }
    Ok(picked)
}

/// One way to run a kernel.
#[derive(Clone, Debug, PartialEq)]
pub enum Variant {
    Tutorial(tutorial::Variant),
    General(general::Variant),
}

impl Variant {
    pub fn name(&self) -> &str {
        match self {
            Variant::Tutorial(v) => &v.name,
            Variant::General(v) => &v.name,
        }
    }
}

/// Every variant of `kernel` at `size`.
pub fn variants(kernel: KernelId, size: Size) -> Vec<Variant> {
    match kernel.path {
        "tutorial" => tutorial::variants(kernel.name, size)
            .into_iter()
            .map(Variant::Tutorial)
            .collect(),
        "general" => general::variants(kernel.name, size)
            .into_iter()
            .map(Variant::General)
            .collect(),
        _ => Vec::new(),
    }
}

/// `kernel` set up as `variant` says: pipeline, random inputs, expected outputs.
pub fn build<'g>(gpu: &'g Gpu, kernel: KernelId, variant: &Variant) -> Result<Case<'g>> {
    match variant {
        Variant::Tutorial(v) => tutorial::build(gpu, kernel.name, v),
        Variant::General(v) => general::build(gpu, kernel.name, v),
    }
}

/// What one variant's check (and timing) found.
pub struct Report {
    pub kernel: String,
    pub variant: String,
    pub dispatches: usize,
    pub comparisons: Vec<Comparison>,
    pub timing: Option<Timing>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.comparisons.iter().all(Comparison::passed)
    }

    /// The worst relative error over the outputs, each relative to its own tolerance: (error, tolerance).
    pub fn worst(&self) -> Option<(f64, f64)> {
        self.comparisons
            .iter()
            .map(|c| (c.rel_error, c.tolerance))
            .max_by(|a, b| {
                let r = |(e, t): (f64, f64)| {
                    if e.is_nan() {
                        f64::INFINITY
                    } else {
                        e / t.max(1e-300)
                    }
                };
                r(*a).total_cmp(&r(*b))
            })
    }
}

/// Builds `variant` of `kernel`, checks it, and with a `budget` times it too.
pub fn run(
    gpu: &Gpu,
    kernel: KernelId,
    variant: &Variant,
    budget: Option<Duration>,
) -> Result<Report> {
    let case = build(gpu, kernel, variant)?;
    let comparisons = case.check()?;
    let timing = budget.map(|b| case.time(b)).transpose()?;
    Ok(Report {
        kernel: case.kernel.clone(),
        variant: case.variant.clone(),
        dispatches: case.dispatch_count(),
        comparisons,
        timing,
    })
}
