//! How one problem is laid out on the GPU: padding to the kernels' tiles, column panels that respect the
//! adapter's binding limit, and the split-K plan of the forward pass.

use crate::error::{Error, Result};
use crate::gpu::runtime::device::AdapterSummary;
use crate::gpu::runtime::wgsl::{Tiles, WORKGROUP, grid};
use crate::model::Spec;

/// A range of vec4 columns of x and w1 held in one pair of buffers.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// First vec4 column.
    pub col4: usize,
    pub width4: usize,
    /// Split-K threads over this panel's columns.
    pub k_threads: usize,
    /// Index of the panel's first partial sum among all `Layout::k_total`.
    pub k_offset: usize,
}

/// Choices a benchmark may make instead of the defaults for the adapter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanOverrides {
    /// Split-K threads over the whole matrix in the forward pass.
    pub k_split: Option<usize>,
    pub tiles: Option<Tiles>,
    /// Threads sharing each column's training rows in input_grad (a divisor of 64).
    pub row_split: Option<usize>,
    /// Whether forward_partial's workgroups add their threads' sums before writing them.
    pub wg_reduce: Option<bool>,
    /// With workgroup sums: split-K threads of one tile per forward_partial workgroup (a divisor of 64).
    pub k_lanes: Option<usize>,
    /// Whether input_grad loads four training rows ahead of their multiply-adds.
    pub grad_unroll: Option<bool>,
    /// Whether forward_partial loads two steps of columns ahead of their multiply-adds.
    pub forward_unroll: Option<bool>,
    /// Whether the register-tile input_grad does small_grad's work in workgroups of its own (one dispatch
    /// fewer an epoch) instead of a dispatch before it.
    pub fuse_small: Option<bool>,
    /// Whether the two big products run as tiled matrix products (forward_gemm, input_grad_gemm).
    pub gemm: Option<bool>,
    /// The widest column panel, in vec4s, below what the binding limit allows (to test several panels).
    pub max_panel_width4: Option<usize>,
}

/// The choices of the register-tile kernels where a `PlanOverrides` leaves them open: one set for hardware GPUs, one
/// for software adapters. Tiles and the split-K plan also follow the network's shape (`Layout::new`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub wg_reduce: bool,
    pub k_lanes: usize,
    pub row_split: usize,
    pub grad_unroll: bool,
    pub forward_unroll: bool,
    pub fuse_small: bool,
}

impl Plan {
    /// Each choice measured best at M = 10 on an H200 (BENCHMARKS.md): workgroups that add their threads'
    /// split-K sums, 16 lanes a tile (four tiles a workgroup share their w1 reads), four threads sharing each
    /// column's rows in input_grad, loads unrolled in both big kernels, and small_grad inside input_grad.
    pub const GPU: Plan = Plan {
        wg_reduce: true,
        k_lanes: 16,
        row_split: 4,
        grad_unroll: true,
        forward_unroll: true,
        fuse_small: true,
    };
    /// lavapipe pays for every workgroup-memory access and barrier lane by lane: per-thread partial sums,
    /// one thread a column, and small_grad apart (input_grad ran slower with its barriers in it); the
    /// unrolled loads measured no faster there.
    pub const SOFTWARE: Plan = Plan {
        wg_reduce: false,
        k_lanes: WORKGROUP,
        row_split: 1,
        grad_unroll: false,
        forward_unroll: false,
        fuse_small: false,
    };

    /// This plan with the choices `tuning` makes in its place.
    pub fn with(self, tuning: PlanOverrides) -> Plan {
        Plan {
            wg_reduce: tuning.wg_reduce.unwrap_or(self.wg_reduce),
            k_lanes: tuning.k_lanes.unwrap_or(self.k_lanes),
            row_split: tuning.row_split.unwrap_or(self.row_split),
            grad_unroll: tuning.grad_unroll.unwrap_or(self.grad_unroll),
            forward_unroll: tuning.forward_unroll.unwrap_or(self.forward_unroll),
            fuse_small: tuning.fuse_small.unwrap_or(self.fuse_small),
        }
    }

    /// A `PlanOverrides` that makes every choice of this plan (to run a GPU's plan on any adapter, in tests).
    pub fn tuning(self) -> PlanOverrides {
        PlanOverrides {
            wg_reduce: Some(self.wg_reduce),
            k_lanes: Some(self.k_lanes),
            row_split: Some(self.row_split),
            grad_unroll: Some(self.grad_unroll),
            forward_unroll: Some(self.forward_unroll),
            fuse_small: Some(self.fuse_small),
            ..PlanOverrides::default()
        }
    }
}

/// Rows and hidden units per workgroup block of the tiled kernels (`forward_gemm`, `input_grad_gemm`).
pub const GEMM_BLOCK: usize = 128;
/// vec4 columns per `input_grad_gemm` workgroup.
pub const GEMM_COLS4: usize = 32;
/// vec4 columns `forward_gemm` stages at a time.
const GEMM_STEP4: usize = 4;
/// The most bytes of split-K partial sums the tiled forward pass writes: beyond this, forward_rows pays more
/// for reading them than more chunks gain.
const GEMM_PARTIAL_BYTES: usize = 16 << 20;

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub tiles: Tiles,
    pub n_train: usize,
    pub n_rows: usize,
    /// Rows stored: a multiple of the row tile.
    pub r_pad: usize,
    pub neurons: usize,
    /// Neurons in vec4s, rounded up.
    pub n4: usize,
    pub hidden: usize,
    /// Hidden units stored: a multiple of the hidden tile.
    pub m_pad: usize,
    pub panels: Vec<Panel>,
    /// Split-K partial sums per (row, hidden unit).
    pub k_total: usize,
    /// The register-tile kernels' choices as they apply to this problem: no workgroup sums, row split or
    /// fused small_grad with the tiled kernels, nor where the workgroup memory would not hold them.
    pub plan: Plan,
    /// The tiled kernels run instead of the register-tile ones; `Panel::k_threads` counts split-K chunks.
    pub gemm: bool,
}

/// Split-K threads for a panel: enough threads in all to fill the device, each walking at least a few
/// vec4s of the reduction.
fn k_threads_for(width4: usize, tiles: usize, software: bool) -> usize {
    // A software adapter runs a workgroup per core with the lanes as SIMD, and every partial sum costs a store
    // and a load: a few hundred threads do (measured on lavapipe). A GPU wants tens of thousands in flight.
    let target_threads = if software { 256 } else { 1 << 15 };
    let min_steps = 8;
    let wanted = (target_threads / tiles.max(1)).max(1);
    wanted.min((width4 / min_steps).max(1))
}

/// Register tiles of forward_partial over `r_pad` x `m_pad` outputs (or tiled blocks of forward_gemm).
fn tile_count(gemm: bool, r_pad: usize, m_pad: usize, tiles: Tiles) -> usize {
    if gemm {
        (r_pad / GEMM_BLOCK) * (m_pad / GEMM_BLOCK)
    } else {
        (r_pad / tiles.row) * (m_pad / tiles.hidden)
    }
}

impl Layout {
    pub fn new(
        n_train: usize,
        n_test: usize,
        spec: &Spec,
        adapter: &AdapterSummary,
        tuning: PlanOverrides,
    ) -> Result<Layout> {
        let tiles = tuning
            .tiles
            .unwrap_or(Tiles::for_device(adapter.device_type, spec.width()));
        let n_rows = n_train + n_test;
        if n_train == 0 {
            return Err(Error::Usage("no training rows".into()));
        }
        if spec.neurons == 0 || spec.width() == 0 {
            return Err(Error::Usage(
                "the network needs at least one neuron and one hidden unit".into(),
            ));
        }
        let max_groups = adapter.max_compute_workgroups_per_dimension as usize;
        if n_rows > max_groups {
            return Err(Error::AdapterLimits(format!(
                "{n_rows} rows are more than this adapter's {max_groups} workgroups per dispatch \
                 (binning the trials by orientation makes fewer)"
            )));
        }
        let software = adapter.device_type == wgpu::DeviceType::Cpu;
        // Tiled products pay off on GPUs once the hidden layer fills their 64-wide blocks.
        let gemm = tuning.gemm.unwrap_or(!software && spec.width() >= 100);
        let plan = if software { Plan::SOFTWARE } else { Plan::GPU }.with(tuning);
        let (r_pad, m_pad) = if gemm {
            (
                n_rows.next_multiple_of(GEMM_BLOCK),
                spec.width().next_multiple_of(GEMM_BLOCK),
            )
        } else {
            (
                n_rows.next_multiple_of(tiles.row),
                spec.width().next_multiple_of(tiles.hidden),
            )
        };
        let n4 = spec.neurons.div_ceil(4);
        // Each panel's x (r_pad rows) and w1 (m_pad rows) must fit one storage binding.
        let max_bytes = adapter
            .max_storage_buffer_binding_size
            .min(adapter.max_buffer_size) as usize;
        let max_width4 = max_bytes / (16 * r_pad.max(m_pad));
        if max_width4 == 0 {
            return Err(Error::AdapterLimits(format!(
                "one column of {} rows does not fit this adapter's {max_bytes}-byte storage bindings",
                r_pad.max(m_pad)
            )));
        }
        let max_width4 = tuning
            .max_panel_width4
            .unwrap_or(max_width4)
            .clamp(1, max_width4);
        let n_panels = n4.div_ceil(max_width4);
        let width = n4.div_ceil(n_panels);
        let tile_count = tile_count(gemm, r_pad, m_pad, tiles);
        // Workgroup sums and row splits need their workgroup memory.
        let shared = adapter.max_compute_workgroup_storage_size as usize;
        for (name, n) in [("row_split", plan.row_split), ("k_lanes", plan.k_lanes)] {
            if !WORKGROUP.is_multiple_of(n) {
                return Err(Error::invalid(
                    name,
                    format!("{n} does not divide the 64 threads of a workgroup (1, 2, 4, ... 64)"),
                ));
            }
        }
        let plan = Plan {
            wg_reduce: !gemm && plan.wg_reduce && 64 * tiles.row * tiles.hidden * 4 <= shared,
            row_split: if 64 * tiles.col * tiles.hidden * 16 <= shared {
                plan.row_split
            } else {
                1
            },
            fuse_small: !gemm && plan.fuse_small,
            ..plan
        };
        let (wg_reduce, k_lanes) = (plan.wg_reduce, plan.k_lanes);
        let max_slots = (max_bytes / (4 * r_pad * m_pad)).max(1);
        let mut panels = Vec::with_capacity(n_panels);
        let mut k_offset = 0;
        for i in 0..n_panels {
            let col4 = i * width;
            let width4 = width.min(n4 - col4);
            let mut k_threads = match tuning.k_split {
                Some(k) => (k * width4).div_ceil(n4).max(1),
                // About a thousand workgroups of 256 threads, each staging a few steps of columns.
                None if gemm => 1024usize
                    .div_ceil(tile_count * n_panels)
                    .min(width4.div_ceil(GEMM_STEP4 * 4))
                    .min(GEMM_PARTIAL_BYTES / (4 * r_pad * m_pad * n_panels))
                    .max(1),
                None => k_threads_for(width4, tile_count * n_panels, software),
            };
            if wg_reduce {
                k_threads = k_threads.next_multiple_of(WORKGROUP);
            }
            // A workgroup writes one partial sum per tile for its k_lanes threads of that tile.
            let per_slot = if wg_reduce { k_lanes } else { 1 };
            // The partial sums must fit one binding.
            k_threads = k_threads.min((max_slots / n_panels).max(1) * per_slot);
            panels.push(Panel {
                col4,
                width4,
                k_threads,
                k_offset,
            });
            k_offset += k_threads / per_slot;
        }
        let partial_bytes = k_offset * r_pad * m_pad * 4;
        if partial_bytes > max_bytes {
            return Err(Error::AdapterLimits(format!(
                "{k_offset} split-K partial sums of {r_pad} x {m_pad} need {partial_bytes} bytes, more than \
                 this adapter's {max_bytes}-byte storage bindings"
            )));
        }
        let layout = Layout {
            tiles,
            n_train,
            n_rows,
            r_pad,
            neurons: spec.neurons,
            n4,
            hidden: spec.width(),
            m_pad,
            panels,
            k_total: k_offset,
            plan,
            gemm,
        };
        let widest = &layout.panels[0];
        for (what, n) in [
            ("hidden tiles", m_pad / tiles.hidden),
            ("small_grad workgroups", m_pad + 1),
            (
                "forward_partial workgroup rows",
                grid(
                    layout.forward_partial_groups(widest.k_threads) * WORKGROUP,
                    max_groups,
                )
                .1 as usize,
            ),
            (
                "input_grad workgroups",
                layout.input_grad_groups(widest.width4) + layout.small_groups(0),
            ),
        ] {
            if n > max_groups {
                return Err(Error::AdapterLimits(format!(
                    "{n} {what} are more than this adapter's {max_groups} workgroups per dispatch"
                )));
            }
        }
        Ok(layout)
    }

    /// Register tiles of forward_partial (or tiled blocks of forward_gemm).
    pub fn tile_count(&self) -> usize {
        tile_count(self.gemm, self.r_pad, self.m_pad, self.tiles)
    }

    /// forward_partial's workgroups for a panel of `k_threads` split-K threads.
    pub fn forward_partial_groups(&self, k_threads: usize) -> usize {
        let tiles = self.tile_count();
        let Plan {
            wg_reduce, k_lanes, ..
        } = self.plan;
        if wg_reduce {
            // k_threads / k_lanes workgroups along the reduction for each group of 64 / k_lanes tiles.
            (k_threads / k_lanes) * tiles.div_ceil(WORKGROUP / k_lanes)
        } else {
            (k_threads * tiles).div_ceil(WORKGROUP)
        }
    }

    /// Register-tile input_grad's column workgroups (per hidden tile) for a panel `width4` vec4s wide.
    pub fn input_grad_groups(&self, width4: usize) -> usize {
        width4
            .div_ceil(self.tiles.col)
            .div_ceil(WORKGROUP / self.plan.row_split)
    }

    /// Workgroups in front of panel `i`'s input_grad that do small_grad's work: with `fuse_small`, the first
    /// panel's, which saves a dispatch an epoch; otherwise (and always for the tiled input_grad_gemm) none, and
    /// small_grad is dispatched before it.
    pub fn small_groups(&self, panel: usize) -> usize {
        if self.plan.fuse_small && panel == 0 {
            self.m_pad + 1
        } else {
            0
        }
    }
}
