//! The GPU kernels against the CPU reference: outputs, loss and every gradient on random shapes, odd ones
//! included, and short training runs, for every kernel variant; all through `check`'s comparisons, which use
//! `compare`'s one relative-error helper.

mod common;

use common::{gpu, init, random_problem, spec};
use popdecode::backend::Backend;
use popdecode::check::{compare_evaluations, compare_runs};
use popdecode::compare::{Comparison, assert_all};
use popdecode::data::problem::Problem;
use popdecode::gpu::GpuBackend;
use popdecode::gpu::runtime::wgsl::Tiles;
use popdecode::gpu::tutorial::layout::PlanOverrides;
use popdecode::model::Activation;
use popdecode::objective::Penalty;
use popdecode::reference::ReferenceBackend;
use popdecode::training::Config;

/// Evaluation and, with `epochs`, a training run on the GPU against the CPU; the comparisons, all checked.
fn gpu_against_cpu(
    gpu: &mut GpuBackend,
    problem: &Problem,
    hidden: usize,
    act: Activation,
    epochs: usize,
    label: &str,
) {
    let spec = spec(problem.neurons(), hidden, act);
    let params = init(&spec, 1 + hidden as u64);
    let mut c: Vec<Comparison> = compare_evaluations(
        &gpu.evaluate(problem, &spec, &params, &Penalty::default())
            .expect("gpu evaluate"),
        &ReferenceBackend
            .evaluate(problem, &spec, &params, &Penalty::default())
            .expect("cpu evaluate"),
        &spec,
    );
    if epochs > 0 {
        let config = Config {
            epochs,
            lr: 1e-3,
            ..Config::default()
        };
        let run = gpu
            .train(problem, &spec, &params, &config, &mut |_| {})
            .expect("gpu train");
        let want = ReferenceBackend
            .train(problem, &spec, &params, &config, &mut |_| {})
            .expect("cpu train");
        assert_eq!(run.history.train_loss.len(), epochs);
        let (per_epoch, end) = compare_runs(&run, &want);
        c.extend(per_epoch);
        c.extend(end);
    }
    let worst = c
        .iter()
        .max_by(|a, b| a.rel_error.total_cmp(&b.rel_error))
        .expect("comparisons");
    eprintln!("{label}: {} comparisons, worst {worst}", c.len());
    assert_all(&c);
}

fn shape(n_train: usize, n_test: usize, neurons: usize, hidden: usize, act: Activation, seed: u64) {
    let problem = random_problem(n_train, n_test, neurons, seed);
    let label = format!("{n_train}+{n_test} rows x {neurons} neurons, M = {hidden}, {act:?}");
    gpu_against_cpu(&mut gpu(), &problem, hidden, act, 0, &label);
}

#[test]
fn evaluation_matches_on_a_plain_shape() {
    shape(24, 16, 256, 10, Activation::Relu, 1);
}

#[test]
fn evaluation_matches_when_neurons_are_not_a_multiple_of_four() {
    shape(13, 7, 1001, 10, Activation::Relu, 2);
}

#[test]
fn evaluation_matches_with_one_hidden_unit() {
    shape(20, 5, 300, 1, Activation::Relu, 3);
}

#[test]
fn evaluation_matches_with_a_single_training_row() {
    shape(1, 3, 123, 7, Activation::Relu, 4);
}

#[test]
fn evaluation_matches_for_the_linear_network() {
    shape(30, 10, 517, 12, Activation::Linear, 5);
}

#[test]
fn evaluation_matches_with_many_hidden_units() {
    shape(37, 11, 2050, 203, Activation::Relu, 6);
}

#[test]
fn short_training_runs_match() {
    let problem = random_problem(40, 20, 999, 7);
    gpu_against_cpu(&mut gpu(), &problem, 9, Activation::Relu, 12, "12 epochs");
}

/// The register-tile kernels: every tiling, split-K plans from one thread to more threads than columns,
/// workgroup sums on and off with 1 to 64 split-K lanes a tile, row splits with and without the four-row
/// unroll, forward loads unrolled or not, small_grad apart and fused into input_grad, and several column panels, on a shape that fits none
/// evenly.
#[test]
fn every_register_tile_variant_matches() {
    let problem = random_problem(23, 6, 1003, 9);
    let mut gpu = gpu();
    let tilings = [
        Tiles::GPU,
        Tiles::SOFTWARE,
        Tiles {
            row: 1,
            hidden: 1,
            col: 1,
        },
        Tiles {
            row: 3,
            hidden: 7,
            col: 3,
        },
    ];
    for (i, tiles) in tilings.into_iter().enumerate() {
        for (j, k_split) in [None, Some(1), Some(7), Some(1000)].into_iter().enumerate() {
            gpu.overrides = PlanOverrides {
                k_split,
                tiles: Some(tiles),
                row_split: Some([1, 2, 8, 64][i]),
                wg_reduce: Some(i % 2 == 0),
                k_lanes: [None, Some(1), Some(8), Some(32)][j],
                grad_unroll: Some(j % 2 == 1),
                forward_unroll: Some(j % 2 == 0),
                fuse_small: Some(j < 2),
                gemm: Some(false),
                max_panel_width4: [None, Some(100), Some(17), None][i],
            };
            let label = format!("{:?}", gpu.overrides);
            gpu_against_cpu(&mut gpu, &problem, 13, Activation::Relu, 3, &label);
        }
    }
}

/// The tiled matrix-product kernels, on shapes that fill none of their blocks evenly, with several split-K
/// chunkings and column panels of one chunk or many.
#[test]
fn the_tiled_kernels_match() {
    let mut gpu = gpu();
    for (n_train, n_test, neurons, hidden, k_split, panel) in [
        (23, 6, 1003, 13, None, None),
        (70, 9, 517, 130, Some(3), Some(40)),
        (5, 1, 40, 1, Some(100), None),
        (150, 20, 301, 140, None, Some(30)),
    ] {
        let problem = random_problem(n_train, n_test, neurons, 21);
        gpu.overrides = PlanOverrides {
            k_split,
            gemm: Some(true),
            max_panel_width4: panel,
            ..PlanOverrides::default()
        };
        let label = format!(
            "tiled, {n_train}+{n_test} x {neurons}, M = {hidden}, {:?}",
            gpu.overrides
        );
        gpu_against_cpu(&mut gpu, &problem, hidden, Activation::Relu, 3, &label);
    }
}
