//! Many networks: cross-validation (`popdecode cv`) and sweeps (`popdecode sweep`), their shards and what they
//! leave on disk.
//!
//! - `plan`: which networks a run trains: the grid of varied values, the folds, the seeds, the shards;
//! - `grid`: those networks trained, stack by stack, with the ridge baseline beside them;
//! - `results`: what a run found, network by network and cell by cell, and the CSV files that hold it;
//! - `summary`: its summary.json, what `collect` checks the parts against;
//! - `folder`: the run folder written and read back (for `plot` and `collect`);
//! - `collect`: the partial folders of a sharded run merged into what one run finds;
//! - `figures`: its figures, drawn from those files alone.
//!
//! The networks themselves train through `backend::stack` (`Backend::train_stack`), which `grid` drives; the command
//! line's `cv` and `sweep` parse their flags into a `grid::Grid` and write what it returns.

pub mod collect;
pub mod figures;
pub mod folder;
pub mod grid;
pub mod plan;
pub mod results;
pub mod summary;
