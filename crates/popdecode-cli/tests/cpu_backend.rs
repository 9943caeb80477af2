//! The fast CPU backend beyond conformance: the same results bit for bit whatever the thread count (in rayon
//! pools of 1 and 2 threads, and through the command line with RAYON_NUM_THREADS), and the command line's
//! backend names: `cpu` is the fast backend, `reference` the f64 one, `auto` says which it picked and why.

#[path = "../../popdecode/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output};

use popdecode::backend::{Backend, Trained};
use popdecode::cpu::CpuBackend;
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::{Objective, Penalty};
use popdecode::optim::Optimizer;
use popdecode::training::Config;

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

fn bits(run: &Trained) -> (Vec<u32>, Vec<u64>, Vec<u64>, Vec<u64>, u64) {
    (
        run.params.flat().iter().map(|v| v.to_bits()).collect(),
        run.history.train_loss.iter().map(|v| v.to_bits()).collect(),
        run.history.test_loss.iter().map(|v| v.to_bits()).collect(),
        run.test_outputs.iter().map(|v| v.to_bits()).collect(),
        run.final_train_loss.to_bits(),
    )
}

#[test]
fn results_are_the_same_bit_for_bit_on_one_thread_and_two() {
    // 2,100 neurons: five column chunks, so two threads really share the work.
    let problem = common::random_problem(50, 30, 2100, 11);
    let cases = [
        (
            "the tutorial's network",
            Spec::tutorial(2100, 10),
            Config {
                epochs: 4,
                lr: 1e-4,
                ..Config::default()
            },
        ),
        (
            "a deeper classifier, penalties, Adam, mini-batches",
            Spec {
                neurons: 2100,
                hidden: vec![45, 12],
                activation: Activation::Relu,
                objective: Objective::Nll { classes: 6 },
            },
            Config {
                epochs: 3,
                lr: 1e-3,
                optimizer: Optimizer::ADAM,
                batch_size: Some(16),
                penalty: Penalty { l1: 1e-4, l2: 1e-3 },
                shuffle_seed: 5,
            },
        ),
    ];
    for (label, spec, config) in cases {
        let params = Params::init(&spec, 3);
        let run = |threads| {
            in_pool(threads, || {
                let mut cpu = CpuBackend::new();
                assert!(cpu.describe().contains(&format!("{threads} threads")));
                let trained = cpu
                    .train(&problem, &spec, &params, &config, &mut |_| {})
                    .expect("train");
                let eval = cpu
                    .evaluate(&problem, &spec, &trained.params, &config.penalty)
                    .expect("evaluate");
                (trained, eval)
            })
        };
        let (one, one_eval) = run(1);
        let (two, two_eval) = run(2);
        assert!(
            one.history.train_loss.iter().all(|l| l.is_finite()),
            "{label}"
        );
        assert_eq!(
            bits(&one),
            bits(&two),
            "{label}: trained on 1 and 2 threads"
        );
        let grads = |e: &popdecode::backend::Evaluation| -> Vec<Vec<u64>> {
            e.grads
                .iter()
                .map(|g| g.iter().map(|v| v.to_bits()).collect())
                .collect()
        };
        assert_eq!(grads(&one_eval), grads(&two_eval), "{label}: gradients");
        assert_eq!(one_eval.loss.to_bits(), two_eval.loss.to_bits(), "{label}");
    }
}

/// The tutorial's recipe at the full size, 360 x 23,589 (47 column chunks), and a deeper Adam classifier at a
/// tenth of it, against the reference epoch by epoch.
#[test]
fn the_full_size_tutorial_and_a_deep_adam_classifier_train_as_the_reference() {
    use popdecode::check::compare_runs;
    use popdecode::compare::assert_all;
    use popdecode::data::problem::Problem;
    use popdecode::data::split::Split;
    use popdecode::data::synth::{SynthConfig, generate};
    use popdecode::reference::ReferenceBackend;
    let data = generate(&SynthConfig::default());
    let split = Split::shuffled(360, 0.6, 4).unwrap();
    let problem = Problem::new(&data, &split);
    let spec = Spec::tutorial(problem.neurons(), 10);
    let config = Config {
        epochs: 20,
        lr: 1e-4,
        ..Config::default()
    };
    let deep_problem = common::random_problem(216, 144, 2359, 12);
    let deep = Spec {
        neurons: 2359,
        hidden: vec![200, 100, 50],
        activation: Activation::Relu,
        objective: Objective::Nll { classes: 20 },
    };
    let adam = Config {
        epochs: 8,
        lr: 1e-3,
        optimizer: Optimizer::ADAM,
        ..Config::default()
    };
    for (problem, spec, config) in [(&problem, &spec, &config), (&deep_problem, &deep, &adam)] {
        let params = Params::init(spec, 1);
        let cpu = CpuBackend::new()
            .train(problem, spec, &params, config, &mut |_| {})
            .expect("cpu");
        let reference = ReferenceBackend
            .train(problem, spec, &params, config, &mut |_| {})
            .expect("reference");
        let (epochs, end) = compare_runs(&cpu, &reference);
        assert_eq!(epochs.len(), config.epochs);
        let all: Vec<_> = epochs.into_iter().chain(end).collect();
        let worst = all.iter().map(|c| c.rel_error).fold(0.0, f64::max);
        eprintln!("{}: worst rel. error {worst:.2e}", spec.describe());
        assert_all(&all);
    }
}

/// Every kernel path this processor can run (AVX-512, AVX2+FMA, the baseline) trains as the reference, and gives
/// the same bits on one thread and two.
#[test]
fn every_instruction_set_trains_as_the_reference() {
    use popdecode::check::{compare_evaluations, compare_runs};
    use popdecode::compare::assert_all;
    use popdecode::cpu::simd::Isa;
    use popdecode::reference::ReferenceBackend;
    let problem = common::random_problem(40, 24, 1100, 21);
    let spec = Spec {
        neurons: 1100,
        hidden: vec![23, 7],
        activation: Activation::Relu,
        objective: Objective::Nll { classes: 5 },
    };
    let config = Config {
        epochs: 4,
        lr: 1e-3,
        optimizer: Optimizer::ADAM,
        batch_size: Some(16),
        penalty: Penalty { l1: 1e-4, l2: 1e-3 },
        shuffle_seed: 2,
    };
    let params = Params::init(&spec, 5);
    let reference = ReferenceBackend
        .train(&problem, &spec, &params, &config, &mut |_| {})
        .expect("reference");
    let want = ReferenceBackend
        .evaluate(&problem, &spec, &params, &config.penalty)
        .expect("reference");
    let isas: Vec<Isa> = [Isa::Baseline, Isa::Avx2, Isa::Avx512]
        .into_iter()
        .filter(|isa| isa.available())
        .collect();
    for isa in isas {
        let run = |threads| {
            in_pool(threads, || {
                CpuBackend::with_isa(isa)
                    .train(&problem, &spec, &params, &config, &mut |_| {})
                    .expect("train")
            })
        };
        let (one, two) = (run(1), run(2));
        assert_eq!(bits(&one), bits(&two), "{isa:?}: 1 and 2 threads");
        let mut cpu = CpuBackend::with_isa(isa);
        assert_eq!(cpu.isa(), isa);
        let got = cpu
            .evaluate(&problem, &spec, &params, &config.penalty)
            .expect("evaluate");
        let mut c = compare_evaluations(&got, &want, &spec);
        let (epochs, end) = compare_runs(&one, &reference);
        c.extend(epochs);
        c.extend(end);
        assert_all(&c);
    }
}

fn popdecode(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_popdecode"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("popdecode runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SMALL: [&str; 6] = ["--neurons", "1500", "--stimuli", "60", "--epochs", "6"];

/// Every file of a run folder but summary.json (which holds timings and the thread count), by name.
fn folder_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("a run folder")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.file_name().is_some_and(|n| n != "summary.json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn run_folders_are_byte_identical_with_one_thread_and_two() {
    let tmp = tempfile::tempdir().unwrap();
    let mut folders = Vec::new();
    for threads in ["1", "2"] {
        let out = tmp.path().join(format!("run-{threads}"));
        let mut args = vec!["train", "--backend", "cpu", "--quiet", "--hidden", "30,8"];
        args.extend(SMALL);
        args.extend(["--optimizer", "adam", "--lr", "1e-3", "--batch-size", "10"]);
        args.extend(["--out", out.to_str().unwrap()]);
        let run = popdecode(&args, &[("RAYON_NUM_THREADS", threads)]);
        let (stdout, stderr) = text(&run);
        assert!(run.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains(&format!("{threads} threads")), "{stdout}");
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["backend"], "cpu");
        folders.push((folder_files(&out), summary["metrics"].clone()));
    }
    let names: Vec<&String> = folders[0].0.iter().map(|(n, _)| n).collect();
    assert!(names.iter().any(|n| *n == "weights.npz"), "{names:?}");
    assert!(names.iter().any(|n| *n == "history.csv"), "{names:?}");
    assert_eq!(folders[0].0, folders[1].0, "the run folders differ");
    assert_eq!(folders[0].1, folders[1].1, "summary.json's metrics differ");
}

#[test]
fn cpu_is_the_fast_backend_and_reference_the_f64_one() {
    let run = |backend: &str| {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        let mut args = vec!["train", "--backend", backend, "--json"];
        args.extend(SMALL);
        args.extend(["--out", out.to_str().unwrap()]);
        let run = popdecode(&args, &[]);
        let (stdout, stderr) = text(&run);
        assert!(run.status.success(), "{stdout}\n{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).expect("--json prints one object")
    };
    let cpu = run("cpu");
    assert_eq!(cpu["backend"], "cpu");
    let adapter = cpu["adapter"].as_str().unwrap();
    assert!(
        adapter.starts_with("cpu (f32, ") && adapter.contains(" threads)"),
        "{adapter}"
    );
    let reference = run("reference");
    assert_eq!(reference["backend"], "reference");
    let adapter = reference["adapter"].as_str().unwrap();
    assert!(adapter.starts_with("reference (f64, "), "{adapter}");
    // The same training to float32 rounding.
    let loss = |v: &serde_json::Value| v["metrics"]["final_test_loss"].as_f64().unwrap();
    let (a, b) = (loss(&cpu), loss(&reference));
    assert!((a - b).abs() <= 1e-4 * b.abs(), "{a} against {b}");
}

#[test]
fn auto_says_which_backend_it_picked_and_why() {
    // With no adapter at all, auto picks the fast CPU backend and says so.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut args = vec!["train", "--quiet", "--out", out.to_str().unwrap()];
    args.extend(SMALL);
    let no_gpu = [
        ("WGPU_BACKEND", "vulkan"),
        ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
        ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
    ];
    let run = popdecode(&args, &no_gpu);
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("auto picked cpu (f32, ") && stderr.contains("no GPU adapter"),
        "{stderr}"
    );
    // Here wgpu finds a software adapter (lavapipe) or a hardware GPU: auto names what it picked and why.
    let out = tmp.path().join("run2");
    let mut args = vec!["train", "--quiet", "--out", out.to_str().unwrap()];
    args.extend(SMALL);
    let run = popdecode(&args, &[]);
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let hardware = popdecode::gpu::preferred_adapter().is_some_and(|a| !a.is_software());
    if hardware {
        assert!(
            stderr.contains("auto picked gpu: ") && stderr.contains("a hardware GPU"),
            "{stderr}"
        );
    } else {
        assert!(
            stderr.contains("auto picked cpu (f32, ") && stderr.contains("software"),
            "{stderr}"
        );
    }
}

#[test]
fn check_compares_the_fast_backend_with_the_reference() {
    let small = ["--neurons", "300", "--stimuli", "40", "--epochs", "2"];
    let out = popdecode(&[&["check", "--backend", "cpu"][..], &small].concat(), &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("check: cpu (f32, "), "{stdout}");
    assert!(stdout.contains("against reference (f64, "), "{stdout}");
    assert!(
        stdout.contains("||cpu - reference|| / ||reference||"),
        "{stdout}"
    );
    assert!(stdout.contains("passed: all 14 comparisons"), "{stdout}");
}

#[test]
fn info_lists_the_cpu_backend_with_its_threads_and_simd() {
    let out = popdecode(&["info"], &[("RAYON_NUM_THREADS", "2")]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("cpu: cpu (f32, ") && first.contains("2 threads"),
        "{stdout}"
    );
    let isa = CpuBackend::new().isa().name();
    assert!(stdout.contains(&format!("SIMD {isa}")), "{stdout}");
}

#[test]
fn bench_takes_a_list_of_backends() {
    let out = popdecode(
        &[
            "bench",
            "--backend",
            "cpu,reference",
            "--neurons",
            "400",
            "--hidden",
            "10",
            "--epochs",
            "2",
            "--repeats",
            "1",
            "--json",
        ],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect();
    let kinds: Vec<&str> = rows
        .iter()
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["cpu", "ref"], "{stdout}");
    assert!(
        rows.iter()
            .all(|r| r["ms_per_epoch"].as_f64().unwrap() > 0.0)
    );
    assert!(rows[0]["floor_ms"].as_f64().is_some(), "{stdout}");
    // A deeper network with Adam, and a classifier.
    let out = popdecode(
        &[
            "bench",
            "--backend",
            "cpu",
            "--neurons",
            "400",
            "--layers",
            "20,10",
            "--optimizer",
            "adam",
            "--task",
            "classify",
            "--epochs",
            "2",
            "--repeats",
            "1",
            "--json",
        ],
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let row: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(
        row["network"], "400 -> 20 -> 10 -> 20 (log-softmax)",
        "{stdout}"
    );
    assert_eq!(row["optimizer"], "Adam");
}
