//! popdecode: decode a grating's orientation from mouse V1 population responses with the Neuromatch tutorial's
//! networks, trained by WGSL compute shaders on any GPU wgpu reaches and checked against a CPU reference.
//!
//! The rooms (README's "How the code is laid out" walks through them):
//! - `data`: the response matrix and stimuli, loaded or synthesised, binned, split into a `Problem`;
//! - `model`: the network's shape (`Spec`) and weights (`Params`);
//! - `objective`, `optim`, `training`: what a loss, an optimizer step and a training run are;
//! - `backend`: the trait every backend implements; `select`, the one place naming every backend;
//! - `reference`: the f64 oracle; `gpu`: the wgpu runtime, its two paths for one network and its stacks;
//! - `check`, `compare`: any backend against the reference; `bench`, `ridge`, `metrics`;
//! - `run`: what a run leaves on disk, its figures included;
//! - `sweep`: many networks (cv, sweeps, shards): their plan, results, folder and figures.

pub mod backend;
pub mod bench;
pub mod check;
pub mod compare;
pub mod cpu;
pub mod data;
pub mod engine;
pub mod error;
pub mod gpu;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod objective;
pub mod optim;
pub mod reference;
pub mod ridge;
pub mod run;
pub mod select;
pub mod sweep;
pub mod torch_rng;
pub mod training;

pub use error::{Error, Result};
