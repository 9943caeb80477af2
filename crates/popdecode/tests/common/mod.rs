//! Shared by the integration tests: small random problems and the GPU backend (which must exist: a test
//! that needs an adapter fails, with the way to get one, rather than skipping).

#![allow(dead_code)]

pub mod conformance;
pub mod fixtures;
pub mod stacks;
pub mod wgsl;

use popdecode::data::Matrix;
use popdecode::data::problem::Problem;
use popdecode::gpu::GpuBackend;
use popdecode::model::{Activation, Params, Spec};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The GPU backend on the preferred adapter (`POPDECODE_TEST_ADAPTER` picks another by name).
pub fn gpu() -> GpuBackend {
    let wanted = std::env::var("POPDECODE_TEST_ADAPTER").ok();
    match GpuBackend::open(wanted.as_deref()) {
        Ok(gpu) => gpu,
        Err(e) => panic!(
            "this test needs a GPU adapter and none could be opened: {e}\n\
             On Debian/Ubuntu: apt-get install -y mesa-vulkan-drivers (a software Vulkan adapter)"
        ),
    }
}

/// A problem with responses ~ U(-1, 1) and targets in degrees.
pub fn random_problem(n_train: usize, n_test: usize, neurons: usize, seed: u64) -> Problem {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut matrix = |rows: usize| {
        Matrix::new(
            rows,
            neurons,
            (0..rows * neurons)
                .map(|_| rng.random_range(-1.0f32..1.0))
                .collect(),
        )
    };
    let x_train = matrix(n_train);
    let x_test = matrix(n_test);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut degrees = |n: usize| {
        (0..n)
            .map(|_| rng.random_range(0.0f32..360.0))
            .collect::<Vec<_>>()
    };
    Problem {
        y_train: degrees(n_train),
        y_test: degrees(n_test),
        x_train,
        x_test,
    }
}

pub fn spec(neurons: usize, hidden: usize, activation: Activation) -> Spec {
    Spec {
        activation,
        ..Spec::tutorial(neurons, hidden)
    }
}

pub fn init(spec: &Spec, seed: u64) -> Params {
    Params::init(spec, seed)
}
