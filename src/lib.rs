//! popdecode: decode a grating's orientation from mouse V1 population responses with the Neuromatch tutorial's
//! networks, trained by WGSL compute shaders on any GPU wgpu reaches and checked against a CPU reference.

pub mod bench;
pub mod check;
pub mod compare;
pub mod cpu;
pub mod data;
pub mod error;
pub mod figures;
pub mod gpu;
pub mod layer_weights;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod objective;
pub mod predictions;
pub mod problem;
pub mod progress;
pub mod report;
pub mod ridge;
pub mod run_folder;
pub mod run_record;
pub mod run_summary;
pub mod train;
pub mod tuning;

pub use error::{Error, Result};
