//! The tutorial's full size, 360 stimuli x 23,589 neurons (the synthetic stand-in), 50 epochs of its recipe:
//! the GPU (with this adapter's plan, and with a hardware GPU's) against the CPU reference epoch by epoch, and
//! the stand-in's calibration against the tutorial's printout on the real data.

mod common;

use popdecode::backend::{Backend, Trained};
use popdecode::check::compare_runs;
use popdecode::compare::assert_all;
use popdecode::data::problem::Problem;
use popdecode::data::split::Split;
use popdecode::data::synth::{SynthConfig, generate};
use popdecode::gpu::runtime::wgsl::Tiles;
use popdecode::gpu::tutorial::layout::{Plan, PlanOverrides};
use popdecode::model::{Params, Spec};
use popdecode::reference::ReferenceBackend;
use popdecode::training::Config;

/// The losses the tutorial prints at epochs 10, 20, 30, 40 and 50 on the real data.
const TUTORIAL_PRINTOUT: [f64; 5] = [12219.761, 1672.732, 548.096, 235.619, 144.001];

fn tutorial_run(backend: &mut dyn Backend) -> Trained {
    let data = generate(&SynthConfig::default());
    assert_eq!((data.n_stimuli(), data.neurons()), (360, 23589));
    let split = Split::shuffled(360, 0.6, 4).unwrap();
    let problem = Problem::new(&data, &split);
    let spec = Spec::tutorial(23589, 10);
    let params = Params::init(&spec, 1);
    let config = Config {
        epochs: 50,
        lr: 1e-4,
        ..Config::default()
    };
    backend
        .train(&problem, &spec, &params, &config, &mut |_| {})
        .expect("training")
}

#[test]
fn fifty_epochs_at_full_size_match_gpu_against_cpu_and_the_tutorials_scale() {
    let gpu = tutorial_run(&mut common::gpu());
    let cpu = tutorial_run(&mut ReferenceBackend);
    let (epochs, end) = compare_runs(&gpu, &cpu);
    assert_eq!(epochs.len(), 50);
    for x in end.iter().chain(epochs.last()) {
        eprintln!("{x}");
    }
    let c: Vec<_> = epochs.into_iter().chain(end).collect();
    assert_all(&c);

    // The stand-in's scale: each printed loss within a factor of 2.5 of the tutorial's on the real data.
    for (i, &real) in TUTORIAL_PRINTOUT.iter().enumerate() {
        let epoch = 10 * (i + 1);
        let ours = cpu.history.train_loss[epoch - 1];
        eprintln!(
            "epoch {epoch}: {ours:.1} here, {real} in the tutorial (ratio {:.2})",
            ours / real
        );
        assert!(
            ours > real / 2.5 && ours < real * 2.5,
            "epoch {epoch}: loss {ours} is not within a factor of 2.5 of the tutorial's {real}"
        );
    }
}

/// The plan a hardware GPU gets by default (`Plan::GPU`: workgroup sums over 16 lanes a tile, unrolled loads,
/// small_grad inside input_grad), run on this adapter whatever it is, at the full size.
#[test]
fn the_gpu_plan_at_full_size_matches_the_cpu() {
    let mut gpu = common::gpu();
    gpu.overrides = PlanOverrides {
        tiles: Some(Tiles::GPU),
        gemm: Some(false),
        ..Plan::GPU.tuning()
    };
    let (epochs, end) = compare_runs(
        &tutorial_run(&mut gpu),
        &tutorial_run(&mut ReferenceBackend),
    );
    assert_eq!(epochs.len(), 50);
    for x in end.iter().chain(epochs.last()) {
        eprintln!("{x}");
    }
    assert_all(&epochs.into_iter().chain(end).collect::<Vec<_>>());
}
