//! Training stops at the first epoch whose loss is not finite, on every backend, and says so (`Trained::stop`);
//! `Control::keep_going` trains on; a raised stop flag ends training at the next epoch boundary (the GPU's: the
//! next read-back). The GPU's loss buffer holds one batch: a run longer than `MAX_BATCH_EPOCHS` reuses it, and its
//! history starts with a short run's, bit for bit.

mod common;

use std::sync::atomic::AtomicBool;

use common::{gpu, init, random_problem, spec};
use popdecode::backend::{Backend, Control, Stop, Trained};
use popdecode::cpu::CpuBackend;
use popdecode::data::problem::Problem;
use popdecode::gpu::runtime::pipelined::MAX_BATCH_EPOCHS;
use popdecode::model::{Activation, Params, Spec};
use popdecode::reference::ReferenceBackend;
use popdecode::training::Config;

fn setup() -> (Problem, Spec, Params) {
    let problem = random_problem(24, 12, 40, 7);
    let spec = spec(problem.neurons(), 5, Activation::Relu);
    let params = init(&spec, 3);
    (problem, spec, params)
}

fn run(backend: &mut dyn Backend, config: &Config, keep_going: bool, stop: &AtomicBool) -> Trained {
    let (problem, spec, params) = setup();
    let mut reports = Vec::new();
    let mut progress = |p: &popdecode::backend::Progress| reports.push(p.epoch);
    let mut control = Control::new(&mut progress)
        .stop_on(stop)
        .keep_going(keep_going);
    let trained = backend
        .train_with(&problem, &spec, &params, config, &mut control)
        .expect("train");
    // The last report is the last epoch the history holds.
    assert_eq!(
        reports.last().copied(),
        Some(trained.history.train_loss.len()),
        "{reports:?}"
    );
    trained
}

/// The learning rate 1e6 overflows f32 and f64 within a few epochs.
fn diverging() -> Config {
    Config {
        epochs: 40,
        lr: 1e6,
        ..Config::default()
    }
}

fn stops_at_the_first_non_finite_epoch(backend: &mut dyn Backend) {
    let no = AtomicBool::new(false);
    let t = run(backend, &diverging(), false, &no);
    let Stop::Diverged { epoch } = t.stop else {
        panic!(
            "{}: expected a divergence, got {:?}",
            backend.name(),
            t.stop
        )
    };
    let h = &t.history;
    assert_eq!(
        h.train_loss.len(),
        epoch,
        "{}: history ends at the divergence",
        backend.name()
    );
    assert!(epoch < 40, "{}: diverged only at {epoch}", backend.name());
    let finite = |i: usize| h.train_loss[i].is_finite() && h.test_loss[i].is_finite();
    assert!(
        !finite(epoch - 1),
        "{}: epoch {epoch} should not be finite",
        backend.name()
    );
    assert!(
        (0..epoch - 1).all(finite),
        "{}: an earlier epoch is not finite",
        backend.name()
    );

    let t = run(backend, &diverging(), true, &no);
    assert_eq!(
        t.stop,
        Stop::Diverged { epoch },
        "{}: --keep-going",
        backend.name()
    );
    assert_eq!(
        t.history.train_loss.len(),
        40,
        "{}: --keep-going trains every epoch",
        backend.name()
    );
}

fn a_raised_flag_stops_at_the_next_boundary(backend: &mut dyn Backend, at_most: usize) {
    let config = Config {
        epochs: 10_000,
        lr: 1e-4,
        ..Config::default()
    };
    let stop = AtomicBool::new(true);
    let t = run(backend, &config, false, &stop);
    let Stop::Interrupted { epoch } = t.stop else {
        panic!(
            "{}: expected an interruption, got {:?}",
            backend.name(),
            t.stop
        )
    };
    assert!(
        (1..=at_most).contains(&epoch),
        "{}: stopped after {epoch}",
        backend.name()
    );
    assert_eq!(t.history.train_loss.len(), epoch);
    assert!(t.final_train_loss.is_finite());
    let complete = run(
        backend,
        &Config {
            epochs: 5,
            ..config
        },
        false,
        &AtomicBool::new(false),
    );
    assert_eq!(complete.stop, Stop::Complete);
    assert_eq!(complete.history.train_loss.len(), 5);
}

#[test]
fn the_reference_stops_at_divergence_and_on_request() {
    stops_at_the_first_non_finite_epoch(&mut ReferenceBackend);
    a_raised_flag_stops_at_the_next_boundary(&mut ReferenceBackend, 1);
}

#[test]
fn the_cpu_stops_at_divergence_and_on_request() {
    stops_at_the_first_non_finite_epoch(&mut CpuBackend::new());
    a_raised_flag_stops_at_the_next_boundary(&mut CpuBackend::new(), 1);
    // Mini-batches: the final loss is taken at the weights training stopped with, on every row.
    let mut cpu = CpuBackend::new();
    let mini = Config {
        batch_size: Some(5),
        ..diverging()
    };
    let t = run(&mut cpu, &mini, false, &AtomicBool::new(false));
    assert!(matches!(t.stop, Stop::Diverged { .. }), "{:?}", t.stop);
}

#[test]
fn the_gpu_stops_at_divergence_and_on_request_on_both_paths() {
    let mut g = gpu();
    stops_at_the_first_non_finite_epoch(&mut g);
    // The flag is seen at the first read-back: the first batch and the one queued behind it.
    a_raised_flag_stops_at_the_next_boundary(&mut g, 2 * MAX_BATCH_EPOCHS);
    g.force_general = true;
    stops_at_the_first_non_finite_epoch(&mut g);
    a_raised_flag_stops_at_the_next_boundary(&mut g, 2 * MAX_BATCH_EPOCHS);
}

/// More epochs than the loss buffer holds: the history is whole, and its start is a short run's, bit for bit.
#[test]
fn gpu_runs_longer_than_the_loss_buffer_keep_every_epoch() {
    let (problem, spec, params) = setup();
    let mut g = gpu();
    for general in [false, true] {
        g.force_general = general;
        let long = Config {
            epochs: MAX_BATCH_EPOCHS + 300,
            lr: 1e-5,
            ..Config::default()
        };
        let short = Config { epochs: 30, ..long };
        let a = g
            .train(&problem, &spec, &params, &long, &mut |_| {})
            .expect("long");
        let b = g
            .train(&problem, &spec, &params, &short, &mut |_| {})
            .expect("short");
        assert_eq!(a.stop, Stop::Complete);
        assert_eq!(a.history.train_loss.len(), long.epochs);
        assert_eq!(a.history.test_loss.len(), long.epochs);
        assert!(a.history.train_loss.iter().all(|l| l.is_finite()));
        assert_eq!(
            a.history.train_loss[..30],
            b.history.train_loss[..],
            "general: {general}"
        );
        assert_eq!(
            a.history.test_loss[..30],
            b.history.test_loss[..],
            "general: {general}"
        );
        assert!(a.final_train_loss.is_finite());
    }
}
