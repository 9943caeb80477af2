//! The GPU's general path (src/gpu/general/, shaders/general/) against the CPU reference, feature by
//! feature: at the initial weights the outputs, the loss and every gradient (`check::compare_evaluations`,
//! tolerance 1e-4), then a short training run epoch by epoch and what it ends with (`check::compare_runs`,
//! 1e-3). The backend suite runs on the general path forced (crates/popdecode/tests/conformance_gpu_general.rs:
//! every objective, penalties, depth, every optimizer, mini-batches, the tutorial's network, PyTorch's runs);
//! this file holds the general path's own cases, forced onto it whatever the network: many classes, a deep
//! linear network, every register tiling, column panels, no epochs, and the limits it refuses at.

#[path = "../../popdecode/tests/common/mod.rs"]
mod common;

use common::{gpu, random_problem};
use popdecode::backend::{Backend, Evaluation};
use popdecode::check::{compare_evaluations, compare_runs};
use popdecode::compare::{Comparison, assert_all, tolerance};
use popdecode::data::problem::Problem;
use popdecode::gpu::GpuBackend;
use popdecode::gpu::general::{GeneralTuning, fit, tiles_for};
use popdecode::gpu::runtime::wgsl::Tiles;
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::{Objective, Penalty};
use popdecode::optim::Optimizer;
use popdecode::reference::ReferenceBackend;
use popdecode::training::Config;

fn net(neurons: usize, hidden: &[usize], objective: Objective) -> Spec {
    Spec {
        neurons,
        hidden: hidden.to_vec(),
        activation: Activation::Relu,
        objective,
    }
}

fn sgd(epochs: usize, lr: f64) -> Config {
    Config {
        epochs,
        lr,
        optimizer: Optimizer::Sgd { momentum: 0.0 },
        batch_size: None,
        penalty: Penalty::default(),
        shuffle_seed: 0,
    }
}

/// The evaluation at the initial weights and a training run, GPU (general path) against CPU, all checked.
fn gpu_against_cpu(problem: &Problem, spec: &Spec, config: &Config, label: &str) {
    gpu_against_cpu_with(problem, spec, config, GeneralTuning::default(), label);
}

/// As `gpu_against_cpu`, with the general kernels unrolled to other tiles or cut into narrower column panels
/// than the adapter's (`tuning`); the progress reports must come at the same epochs as the CPU's, with the
/// losses so far.
fn gpu_against_cpu_with(
    problem: &Problem,
    spec: &Spec,
    config: &Config,
    tuning: GeneralTuning,
    label: &str,
) {
    let mut gpu = gpu();
    gpu.force_general = true;
    gpu.general = tuning;
    let params = Params::init(spec, 7);
    let got = gpu
        .evaluate(problem, spec, &params, &config.penalty)
        .expect("gpu evaluate");
    let want = ReferenceBackend
        .evaluate(problem, spec, &params, &config.penalty)
        .expect("cpu evaluate");
    let mut c: Vec<Comparison> = compare_evaluations(&got, &want, spec);
    if !config.penalty.is_zero() {
        c.push(penalty_share(&mut gpu, problem, spec, &params, &got, &want));
    }
    let mut reports = Vec::new();
    let run = gpu
        .train(problem, spec, &params, config, &mut |p| {
            assert_eq!(p.history.train_loss.len(), p.epoch);
            assert_eq!(p.history.test_loss.len(), p.epoch);
            reports.push(p.epoch);
        })
        .expect("gpu train");
    let mut cpu_reports = Vec::new();
    let reference = ReferenceBackend
        .train(problem, spec, &params, config, &mut |p| {
            cpu_reports.push(p.epoch)
        })
        .expect("cpu train");
    assert_eq!(reports, cpu_reports, "{label}: progress reports");
    assert_eq!(run.history.train_loss.len(), config.epochs);
    assert!(
        reference.history.train_loss.iter().all(|l| l.is_finite()),
        "{label}: the reference run diverged: {:?}",
        reference.history.train_loss
    );
    let (per_epoch, end) = compare_runs(&run, &reference);
    c.extend(per_epoch);
    c.extend(end);
    report(label, &c);
    eprintln!(
        "{label}: train loss {:.6} -> {:.6} (cpu {:.6} -> {:.6})",
        run.history.train_loss[0],
        run.final_train_loss,
        reference.history.train_loss[0],
        reference.final_train_loss
    );
    assert_all(&c);
}

/// What the penalty adds to W_in's gradient, on its own: a small term beside the data's gradient, so it gets a
/// comparison of its own (tolerance 1e-3, as it is a difference of two f32 gradients).
fn penalty_share(
    gpu: &mut GpuBackend,
    problem: &Problem,
    spec: &Spec,
    params: &Params,
    got: &Evaluation,
    want: &Evaluation,
) -> Comparison {
    let none = Penalty::default();
    let got0 = gpu.evaluate(problem, spec, params, &none).expect("gpu");
    let want0 = ReferenceBackend
        .evaluate(problem, spec, params, &none)
        .expect("cpu");
    let diff = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a - b).collect::<Vec<f64>>();
    Comparison::new(
        "penalty's share of grad in_layer.weight",
        &diff(&got.grads[0], &got0.grads[0]),
        &diff(&want.grads[0], &want0.grads[0]),
        tolerance::LOSS,
    )
}

/// The worst relative error among the evaluation's comparisons and among the run's (by their names).
fn report(label: &str, c: &[Comparison]) {
    let in_run = |x: &Comparison| {
        ["epoch", "trained", "final", "penalty"]
            .iter()
            .any(|p| x.name.starts_with(p))
    };
    let worst = |pick: &dyn Fn(&Comparison) -> bool| {
        c.iter()
            .filter(|x| pick(x))
            .max_by(|a, b| a.rel_error.total_cmp(&b.rel_error))
            .map(|x| format!("{} {:.2e}", x.name, x.rel_error))
            .unwrap_or_default()
    };
    eprintln!(
        "{label}: {} comparisons; worst evaluation: {}; worst run: {}",
        c.len(),
        worst(&|x| !in_run(x)),
        worst(&|x| in_run(x)),
    );
}

#[test]
fn classification_with_12_classes_matches() {
    let problem = random_problem(60, 24, 700, 11);
    let spec = net(700, &[16], Objective::Nll { classes: 12 });
    gpu_against_cpu(&problem, &spec, &sgd(20, 0.1), "nll C=12");
}

#[test]
fn classification_with_20_classes_matches() {
    let problem = random_problem(70, 30, 1001, 12);
    let spec = net(1001, &[16], Objective::Nll { classes: 20 });
    gpu_against_cpu(&problem, &spec, &sgd(20, 0.1), "nll C=20");
}

#[test]
fn the_linear_network_matches() {
    let problem = random_problem(40, 16, 517, 23);
    let spec = Spec {
        activation: Activation::Linear,
        ..net(517, &[12, 6], Objective::Mse)
    };
    gpu_against_cpu(&problem, &spec, &sgd(12, 1e-4), "linear");
}

/// The register tiles of forward_first and grad_first: the GPUs' default on this adapter, single units, and
/// tiles that fit none of the shapes evenly, on a network and training that use everything at once.
#[test]
fn every_register_tiling_matches() {
    let problem = random_problem(23, 7, 1003, 25);
    let spec = Spec {
        activation: Activation::Relu,
        ..net(1003, &[13, 5], Objective::Nll { classes: 7 })
    };
    let config = Config {
        optimizer: Optimizer::ADAM,
        batch_size: Some(10),
        shuffle_seed: 1,
        // L2 only: Adam amplifies an L1 subgradient that flips sign at a weight near zero, where f32 and f64 part
        // ways by chance (the L1 penalty is checked with SGD above).
        penalty: Penalty { l1: 0.0, l2: 1e-2 },
        ..sgd(6, 1e-3)
    };
    for tiles in [
        tiles_for(wgpu::DeviceType::DiscreteGpu, 13),
        Tiles {
            row: 1,
            hidden: 1,
            col: 1,
        },
        Tiles {
            row: 3,
            hidden: 5,
            col: 3,
        },
        Tiles {
            row: 8,
            hidden: 7,
            col: 2,
        },
    ] {
        let tuning = GeneralTuning {
            tiles: Some(tiles),
            max_panel4: None,
        };
        gpu_against_cpu_with(&problem, &spec, &config, tuning, &format!("{tiles:?}"));
    }
}

#[test]
fn a_run_of_no_epochs_gives_the_initial_weights_and_outputs() {
    let problem = random_problem(30, 10, 300, 24);
    let spec = net(300, &[8, 4], Objective::Nll { classes: 5 });
    let params = Params::init(&spec, 2);
    let config = sgd(0, 0.1);
    let run = gpu()
        .train(&problem, &spec, &params, &config, &mut |_| {})
        .expect("gpu");
    let want = ReferenceBackend
        .train(&problem, &spec, &params, &config, &mut |_| {})
        .expect("cpu");
    assert_eq!(run.params, params);
    let (epochs, end) = compare_runs(&run, &want);
    assert!(epochs.is_empty());
    assert_all(&end);
}

/// The general path with its neurons cut into column panels (as a binding limit smaller than the matrix cuts
/// them; here an artificially narrow panel width): every feature against the reference, with panels of one
/// vec4 column up to several of uneven fill, the last one padded.
#[test]
fn every_feature_matches_in_column_panels() {
    let problem = random_problem(41, 13, 203, 26);
    let adam_l2 = Config {
        optimizer: Optimizer::ADAM,
        batch_size: Some(12),
        shuffle_seed: 2,
        penalty: Penalty { l1: 0.0, l2: 1e-2 },
        ..sgd(6, 1e-3)
    };
    let sgd_penalties = Config {
        penalty: Penalty { l1: 5e-4, l2: 1e-2 },
        ..sgd(8, 0.1)
    };
    let cases = [
        // 203 neurons are 51 vec4s: 51 panels of one, 8 of 7 (the last of 2), 2 of 26 (the last of 25).
        (
            1,
            51,
            net(203, &[16], Objective::Nll { classes: 12 }),
            sgd_penalties,
            "nll + L1 + L2",
        ),
        (
            7,
            8,
            net(203, &[24, 16, 8], Objective::Mse),
            adam_l2,
            "mse [24, 16, 8], adam, batches",
        ),
        (
            26,
            2,
            net(203, &[12], Objective::Circular),
            sgd(10, 20.0),
            "circular",
        ),
        (
            7,
            8,
            net(203, &[10], Objective::Nll { classes: 5 }),
            adam_l2,
            "nll, adam, batches",
        ),
    ];
    let adapter = gpu().gpu.adapter;
    for (width4, panels, spec, config, label) in cases {
        let tuning = GeneralTuning {
            tiles: None,
            max_panel4: Some(width4),
        };
        let fitted = fit(&adapter, 41, 13, &spec, Some(&config), tuning).expect("fits");
        assert_eq!(fitted.plan.panels, panels, "{label}");
        let label = format!("{label}, {panels} panels of {width4} vec4s");
        gpu_against_cpu_with(&problem, &spec, &config, tuning, &label);
    }
}

/// Hidden widths whose third layer alone (width x width floats) is past this adapter's storage binding, which
/// no panel of the first layer's columns helps.
fn too_wide_for(gpu: &GpuBackend) -> Vec<usize> {
    let a = &gpu.gpu.adapter;
    let max = a.max_storage_buffer_binding_size.min(a.max_buffer_size);
    let h = ((max / 4) as f64).sqrt() as usize + 1;
    vec![10, h, h]
}

/// `--backend gpu` refuses a problem the GPU cannot hold, from the shapes, naming the size, the limit and the
/// value that set it (the command line adds the way out); `auto` (with the adapter named, which it would
/// otherwise take) picks the CPU and says why.
#[test]
fn a_problem_the_gpu_cannot_hold_is_refused_or_left_to_the_cpu() {
    use popdecode::select::{BackendChoice, open_backend_for};
    let probe = gpu();
    let name = probe.gpu.adapter.name.clone();
    let hidden = too_wide_for(&probe);
    drop(probe);
    let problem = random_problem(20, 10, 50, 27);
    let spec = net(50, &hidden, Objective::Mse);
    let config = sgd(1, 0.1);
    let work = (&problem, &spec, &config);
    let err = match open_backend_for(BackendChoice::Gpu, Some(&name), work) {
        Ok(_) => panic!("the GPU took a second layer of {hidden:?}"),
        Err(e) => e.to_string(),
    };
    let widths = format!("hidden widths 10,{},{}", hidden[1], hidden[2]);
    assert!(
        err.contains("cannot hold") && err.contains(&widths) && !err.contains("--"),
        "the library names the value, not a flag: {err}"
    );
    let (backend, note) =
        open_backend_for(BackendChoice::Auto, Some(&name), work).expect("auto opens a backend");
    assert_eq!(backend.name(), "cpu");
    let note = note.expect("auto says why");
    assert!(
        note.starts_with("auto picked cpu")
            && note.contains("cannot hold")
            && note.contains(&widths),
        "{note}"
    );
    // A problem it holds keeps the GPU.
    let small = net(50, &[10, 8], Objective::Mse);
    let (backend, _) = open_backend_for(
        BackendChoice::Auto,
        Some(&name),
        (&problem, &small, &config),
    )
    .expect("auto opens a backend");
    assert_eq!(backend.name(), "gpu");
}

/// `train --backend gpu` on a network the GPU cannot hold stops before training, with the size check's error
/// and a non-zero exit, and writes no run folder.
#[test]
fn train_refuses_what_the_gpu_cannot_hold_before_training() {
    let probe = gpu();
    let name = probe.gpu.adapter.name.clone();
    let hidden = too_wide_for(&probe);
    drop(probe);
    let dir = std::env::temp_dir().join(format!("popdecode-gpusize-{}", std::process::id()));
    let widths = format!("10,{},{}", hidden[1], hidden[2]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_popdecode"))
        .args([
            "train",
            "--backend",
            "gpu",
            "--adapter",
            &name,
            "--neurons",
            "40",
        ])
        .args([
            "--stimuli",
            "20",
            "--epochs",
            "1",
            "--hidden",
            &widths,
            "--out",
        ])
        .arg(&dir)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot hold")
            && stderr.contains(&format!("hidden widths {widths}"))
            && stderr.contains("; use --backend cpu"),
        "{stderr}"
    );
    assert!(!dir.exists(), "a run folder was left at {}", dir.display());
}
