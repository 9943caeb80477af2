//! The GPU kernels against the CPU reference: outputs, loss and every gradient on random shapes, odd ones
//! included, and short training runs; all through `compare`'s one relative-error helper.

mod common;

use common::{gpu, init, random_problem, spec};
use popdecode::compare::{Comparison, assert_all, tolerance};
use popdecode::cpu::CpuBackend;
use popdecode::model::Activation;
use popdecode::train::{Backend, Config};

fn compare_evaluation(
    n_train: usize,
    n_test: usize,
    neurons: usize,
    hidden: usize,
    act: Activation,
    seed: u64,
) {
    let problem = random_problem(n_train, n_test, neurons, seed);
    let spec = spec(neurons, hidden, act);
    let params = init(&spec, seed + 1);
    let got = gpu()
        .evaluate(&problem, &spec, &params)
        .expect("gpu evaluate");
    let want = CpuBackend
        .evaluate(&problem, &spec, &params)
        .expect("cpu evaluate");
    let mut c = vec![
        Comparison::new("outputs", &got.outputs, &want.outputs, tolerance::TENSOR),
        Comparison::new("loss", &[got.loss], &[want.loss], tolerance::TENSOR),
    ];
    for i in 0..4 {
        c.push(Comparison::new(
            format!("grad {i}"),
            &got.grads[i],
            &want.grads[i],
            tolerance::TENSOR,
        ));
    }
    eprintln!("{n_train}+{n_test} rows x {neurons} neurons, M = {hidden}, {act:?}:");
    for x in &c {
        eprintln!("  {x}");
    }
    assert_all(&c);
}

#[test]
fn evaluation_matches_on_a_plain_shape() {
    compare_evaluation(24, 16, 256, 10, Activation::Relu, 1);
}

#[test]
fn evaluation_matches_when_neurons_are_not_a_multiple_of_four() {
    compare_evaluation(13, 7, 1001, 10, Activation::Relu, 2);
}

#[test]
fn evaluation_matches_with_one_hidden_unit() {
    compare_evaluation(20, 5, 300, 1, Activation::Relu, 3);
}

#[test]
fn evaluation_matches_with_a_single_training_row() {
    compare_evaluation(1, 3, 123, 7, Activation::Relu, 4);
}

#[test]
fn evaluation_matches_for_the_linear_network() {
    compare_evaluation(30, 10, 517, 12, Activation::Linear, 5);
}

#[test]
fn evaluation_matches_with_many_hidden_units() {
    compare_evaluation(37, 11, 2050, 203, Activation::Relu, 6);
}

#[test]
fn short_training_runs_match() {
    let problem = random_problem(40, 20, 999, 7);
    let spec = spec(999, 9, Activation::Relu);
    let params = init(&spec, 8);
    let config = Config {
        epochs: 12,
        lr: 1e-3,
    };
    let quiet = &mut |_: &popdecode::train::Progress| {};
    let got = gpu()
        .train(&problem, &spec, &params, &config, quiet)
        .expect("gpu train");
    let want = CpuBackend
        .train(&problem, &spec, &params, &config, quiet)
        .expect("cpu train");
    let mut c = vec![
        Comparison::new(
            "train losses",
            &got.history.train_loss,
            &want.history.train_loss,
            tolerance::LOSS,
        ),
        Comparison::new(
            "test losses",
            &got.history.test_loss,
            &want.history.test_loss,
            tolerance::LOSS,
        ),
        Comparison::new(
            "test outputs",
            &got.test_outputs,
            &want.test_outputs,
            tolerance::LOSS,
        ),
        Comparison::new(
            "final train loss",
            &[got.final_train_loss],
            &[want.final_train_loss],
            tolerance::LOSS,
        ),
    ];
    for ((name, _, a), (_, _, b)) in got
        .params
        .tensors()
        .iter()
        .zip(want.params.tensors().iter())
    {
        c.push(Comparison::new(*name, a, b, tolerance::LOSS));
    }
    for x in &c {
        eprintln!("  {x}");
    }
    assert_all(&c);
    assert_eq!(got.history.train_loss.len(), 12);
}

/// Every tiling the kernels can be unrolled to, and split-K plans from one thread to more threads than columns,
/// on a shape that fits none of them evenly.
#[test]
fn every_kernel_variant_matches() {
    use popdecode::gpu::layout::Tuning;
    use popdecode::gpu::shaders::Tiles;
    let problem = random_problem(23, 6, 1003, 9);
    let spec = spec(1003, 13, Activation::Relu);
    let params = init(&spec, 10);
    let want = CpuBackend
        .evaluate(&problem, &spec, &params)
        .expect("cpu evaluate");
    let config = Config {
        epochs: 3,
        lr: 1e-3,
    };
    let want_run = CpuBackend
        .train(&problem, &spec, &params, &config, &mut |_| {})
        .expect("cpu train");
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
        for k_split in [None, Some(1), Some(7), Some(1000)] {
            let row_split = Some([1, 2, 8, 64][i]);
            let wg_reduce = Some(i % 2 == 0);
            gpu.tuning = Tuning {
                k_split,
                tiles: Some(tiles),
                row_split,
                wg_reduce,
                gemm: Some(false),
                max_panel_width4: [None, Some(100), Some(17), None][i],
            };
            let got = gpu
                .evaluate(&problem, &spec, &params)
                .expect("gpu evaluate");
            let run = gpu
                .train(&problem, &spec, &params, &config, &mut |_| {})
                .expect("gpu train");
            let mut c = vec![
                Comparison::new("outputs", &got.outputs, &want.outputs, tolerance::TENSOR),
                Comparison::new(
                    "train losses",
                    &run.history.train_loss,
                    &want_run.history.train_loss,
                    tolerance::LOSS,
                ),
                Comparison::new(
                    "test losses",
                    &run.history.test_loss,
                    &want_run.history.test_loss,
                    tolerance::LOSS,
                ),
            ];
            for i in 0..4 {
                c.push(Comparison::new(
                    format!("grad {i}"),
                    &got.grads[i],
                    &want.grads[i],
                    tolerance::TENSOR,
                ));
            }
            eprintln!(
                "{tiles:?}, k_split {k_split:?}, row_split {row_split:?}, wg_reduce {wg_reduce:?}, panel width {:?}: worst {:.2e}",
                gpu.tuning.max_panel_width4,
                c.iter().map(|x| x.rel_error).fold(0.0, f64::max)
            );
            assert_all(&c);
        }
    }
}

/// The tiled matrix-product kernels, on shapes that fill none of their blocks evenly, with several split-K
/// chunkings and column panels of one chunk or many.
#[test]
fn the_tiled_kernels_match() {
    use popdecode::gpu::layout::Tuning;
    let mut gpu = gpu();
    for (n_train, n_test, neurons, hidden, k_split, panel) in [
        (23, 6, 1003, 13, None, None),
        (70, 9, 517, 130, Some(3), Some(40)),
        (5, 0, 40, 1, Some(100), None),
        (150, 20, 301, 140, None, Some(30)),
    ] {
        let problem = random_problem(n_train, n_test.max(1), neurons, 21);
        let spec = spec(neurons, hidden, Activation::Relu);
        let params = init(&spec, 22);
        gpu.tuning = Tuning {
            k_split,
            gemm: Some(true),
            max_panel_width4: panel,
            ..Tuning::default()
        };
        let want = CpuBackend
            .evaluate(&problem, &spec, &params)
            .expect("cpu evaluate");
        let got = gpu
            .evaluate(&problem, &spec, &params)
            .expect("gpu evaluate");
        let config = Config {
            epochs: 3,
            lr: 1e-3,
        };
        let want_run = CpuBackend
            .train(&problem, &spec, &params, &config, &mut |_| {})
            .expect("cpu train");
        let run = gpu
            .train(&problem, &spec, &params, &config, &mut |_| {})
            .expect("gpu train");
        let mut c = vec![
            Comparison::new("outputs", &got.outputs, &want.outputs, tolerance::TENSOR),
            Comparison::new(
                "train losses",
                &run.history.train_loss,
                &want_run.history.train_loss,
                tolerance::LOSS,
            ),
            Comparison::new(
                "test losses",
                &run.history.test_loss,
                &want_run.history.test_loss,
                tolerance::LOSS,
            ),
        ];
        for i in 0..4 {
            c.push(Comparison::new(
                format!("grad {i}"),
                &got.grads[i],
                &want.grads[i],
                tolerance::TENSOR,
            ));
        }
        for ((name, _, a), (_, _, b)) in run
            .params
            .tensors()
            .iter()
            .zip(want_run.params.tensors().iter())
        {
            c.push(Comparison::new(
                format!("trained {name}"),
                a,
                b,
                tolerance::LOSS,
            ));
        }
        eprintln!(
            "{n_train}+{n_test} x {neurons}, M = {hidden}, k_split {k_split:?}: worst {:.2e}",
            c.iter().map(|x| x.rel_error).fold(0.0, f64::max)
        );
        assert_all(&c);
    }
}
