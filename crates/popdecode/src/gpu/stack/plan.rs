//! What a stack needs of the adapter, checked from the shapes alone before anything is uploaded: every buffer
//! under the storage-binding limit and every dispatch within the workgroup grid. A stack past them is cut into
//! the fewest groups of consecutive members that fit (`split`).

use crate::error::{Error, Result};
use crate::gpu::runtime::device::AdapterSummary;
use crate::gpu::runtime::pipelined::MAX_BATCH_EPOCHS;
use crate::gpu::runtime::wgsl::{Tiles, WORKGROUP};

/// Choices other than the adapter's own, for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackTuning {
    /// A storage-binding limit below the adapter's, in bytes (to exercise the split).
    pub max_binding: Option<u64>,
    /// Register tiles instead of the adapter's defaults.
    pub tiles: Option<Tiles>,
    /// Split-K threads of stack_forward instead of the adapter's choice (with `tiles`, what makes a split's
    /// groups sum exactly as the whole stack).
    pub k_split: Option<usize>,
}

/// The sizes of a stack that set its buffers.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub rows: usize,
    pub cols: usize,
    pub members: usize,
    pub hidden: usize,
    pub outputs: usize,
}

/// How one stack runs on one adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub tiles: Tiles,
    /// Split-K threads of stack_forward.
    pub kt: usize,
    /// History slots: the most states one batch records (its epochs, and the initial weights' pass).
    pub max_states: usize,
}

/// Why a stack does not fit: the matrix itself (no split helps), or what grows with the members.
#[derive(Debug)]
pub enum Refusal {
    Matrix(String),
    Members(String),
}

fn max_binding(a: &AdapterSummary, tuning: StackTuning) -> u64 {
    let adapter = a.max_storage_buffer_binding_size.min(a.max_buffer_size);
    tuning.max_binding.map_or(adapter, |t| t.min(adapter))
}

impl Plan {
    /// The plan for `shape` on adapter `a`, or what does not fit (naming the buffer, its size and the limit).
    pub fn new(
        a: &AdapterSummary,
        shape: Shape,
        tuning: StackTuning,
    ) -> std::result::Result<Plan, Refusal> {
        let software = a.device_type == wgpu::DeviceType::Cpu;
        let km = shape.members * shape.hidden;
        let tiles = tuning
            .tiles
            .unwrap_or_else(|| Tiles::for_device(a.device_type, km));
        let r_pad = shape.rows.next_multiple_of(tiles.row);
        let km_pad = km.next_multiple_of(tiles.hidden);
        let c4 = shape.cols.div_ceil(4);
        let tile_count = (r_pad / tiles.row) * (km_pad / tiles.hidden);
        // Enough split-K threads to fill the device, each walking at least a few vec4s (as the tutorial path's
        // forward_partial: a few hundred threads on a software adapter, tens of thousands on a GPU).
        let target = if software { 256 } else { 1 << 15 };
        let mut kt = tuning
            .k_split
            .unwrap_or((target / tile_count.max(1)).clamp(1, (c4 / 8).max(1)))
            .max(1);
        let limit = max_binding(a, tuning);
        // The partial sums must fit a binding too: fewer split-K threads first.
        while kt > 1 && (4 * kt * r_pad * km_pad) as u64 > limit {
            kt /= 2;
        }
        let plan = Plan {
            tiles,
            kt,
            max_states: MAX_BATCH_EPOCHS + 1,
        };
        let what = |name: String, bytes: usize| {
            format!(
                "{name} take {bytes} bytes, past this adapter's {limit}-byte storage bindings \
                 (max_storage_buffer_binding_size)"
            )
        };
        let x_bytes = 16 * r_pad * c4;
        if x_bytes as u64 > limit {
            return Err(Refusal::Matrix(what(
                format!(
                    "the stack's matrix of {} rows x {} columns",
                    shape.rows, shape.cols
                ),
                x_bytes,
            )));
        }
        let n_small = km_pad + shape.members * shape.outputs * (shape.hidden + 1);
        let buffers = [
            (
                format!(
                    "the first layers of {} members ({km} units) x {} columns",
                    shape.members, shape.cols
                ),
                16 * km_pad * c4,
            ),
            (
                format!("the column masks of {} members", shape.members),
                16 * shape.members * c4,
            ),
            (
                format!("the split-K sums of {} rows x {km} units", shape.rows),
                4 * kt * r_pad * km_pad,
            ),
            (
                format!("the hidden activations of {} rows x {km} units", shape.rows),
                4 * r_pad * km_pad,
            ),
            (
                format!(
                    "the outputs of {} rows x {} members",
                    shape.rows, shape.members
                ),
                4 * shape.rows * shape.members * shape.outputs,
            ),
            (
                format!("the row losses of {} members", shape.members),
                4 * shape.rows * shape.members,
            ),
            (
                format!("the history of {} members", shape.members),
                8 * plan.max_states * shape.members,
            ),
            ("the small parameters".to_string(), 4 * n_small),
        ];
        for (name, bytes) in buffers {
            if bytes as u64 > limit {
                return Err(Refusal::Members(what(name, bytes)));
            }
        }
        let max_groups = (a.max_compute_workgroups_per_dimension as usize).pow(2);
        for (name, threads) in [
            ("stack_forward", kt * tile_count),
            (
                "stack_grad",
                c4.div_ceil(tiles.col) * (km_pad / tiles.hidden),
            ),
            ("stack_small", n_small),
            ("stack_head", shape.rows * shape.members),
            ("stack_penalty", km * WORKGROUP),
        ] {
            let groups = threads.div_ceil(WORKGROUP);
            if groups > max_groups {
                return Err(Refusal::Members(format!(
                    "{name} needs {groups} workgroups, past this adapter's {max_groups} \
                     (max_compute_workgroups_per_dimension squared)"
                )));
            }
        }
        Ok(plan)
    }
}

/// A run of consecutive members trained together, with its plan.
pub type Group = (std::ops::Range<usize>, Plan);

/// The members of a stack of `shape` cut into the fewest runs of consecutive members (sizes differing by at most
/// one) that each fit adapter `a`, with each run's plan; `Ok(None)` when the matrix alone does not fit (no
/// split helps), an error when not even one member does.
pub fn split(a: &AdapterSummary, shape: Shape, tuning: StackTuning) -> Result<Option<Vec<Group>>> {
    let k = shape.members;
    let mut groups = 1;
    loop {
        let size = k.div_ceil(groups);
        match Plan::new(
            a,
            Shape {
                members: size,
                ..shape
            },
            tuning,
        ) {
            Ok(_) => break,
            Err(Refusal::Matrix(m)) => {
                log::info!("stack: {m}; training its members one by one");
                return Ok(None);
            }
            Err(Refusal::Members(m)) if size == 1 => {
                return Err(Error::AdapterLimits(format!(
                    "the GPU cannot hold even one network of this stack: {m}"
                )));
            }
            Err(Refusal::Members(m)) => {
                log::debug!("stack: {m} with {size} members a group");
                // The next count that makes the groups smaller.
                groups = k.div_ceil(size - 1);
            }
        }
    }
    if groups > 1 {
        log::info!("stack: {k} members trained in {groups} groups to fit the adapter's limits");
    }
    let (base, extra) = (k / groups, k % groups);
    let mut out = Vec::with_capacity(groups);
    let mut at = 0;
    for g in 0..groups {
        let n = base + usize::from(g < extra);
        let plan = Plan::new(
            a,
            Shape {
                members: n,
                ..shape
            },
            tuning,
        )
        .map_err(|r| {
            Error::AdapterLimits(match r {
                Refusal::Matrix(m) | Refusal::Members(m) => m,
            })
        })?;
        out.push((at..at + n, plan));
        at += n;
    }
    Ok(Some(out))
}
