//! Many networks: cross-validation (`popdecode cv`) and sweeps (`popdecode sweep`), their shards and what they
//! leave on disk.
//!
//! - `results`: what a cv or sweep run found, network by network and cell by cell, and the files that hold it;
//! - `figures`: its figures, drawn from those files alone.

pub mod figures;
pub mod folder;
pub mod plan;
pub mod results;
pub mod summary;
