//! `popdecode evaluate`: saved weights on data, without training. On a train run's weights.npz and split.npz, with
//! the same backend, it reproduces that run's test metrics and predictions exactly, and leaves a run folder as
//! train's with no history.

use std::path::Path;
use std::process::{Command, Output};

const SMALL: [&str; 6] = ["--backend", "cpu", "--neurons", "300", "--stimuli", "60"];

fn popdecode_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_popdecode"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .output()
        .expect("the popdecode binary runs")
}

fn ok(cwd: &Path, args: &[&str]) -> String {
    let out = popdecode_in(cwd, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}:\n{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The console's final summary: the `final:` line and what follows it up to the `run:` line.
fn final_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("final:"))
        .take_while(|l| !l.starts_with("run:"))
        .collect()
}

fn train_then_evaluate(extra: &[&str]) {
    let cwd = tempfile::tempdir().unwrap();
    let mut train = vec!["train", "--out", "run", "--epochs", "10"];
    train.extend(SMALL);
    train.extend(extra);
    let trained = ok(cwd.path(), &train);
    let mut evaluate = vec![
        "evaluate",
        "--weights",
        "run/weights.npz",
        "--split",
        "run/split.npz",
        "--out",
        "eval",
    ];
    evaluate.extend(SMALL);
    if extra.contains(&"circular") {
        evaluate.extend(["--loss", "circular"]);
    }
    let evaluated = ok(cwd.path(), &evaluate);
    let (run, eval) = (cwd.path().join("run"), cwd.path().join("eval"));

    assert!(!final_lines(&trained).is_empty(), "{trained}");
    assert_eq!(final_lines(&trained), final_lines(&evaluated), "{extra:?}");
    for file in ["predictions.csv", "split.npz"] {
        assert_eq!(
            std::fs::read(run.join(file)).unwrap(),
            std::fs::read(eval.join(file)).unwrap(),
            "{extra:?}: {file}"
        );
    }
    // The weights evaluated are the folder's initial and final weights alike: nothing trained them.
    let weights = std::fs::read(run.join("weights.npz")).unwrap();
    assert_eq!(weights, std::fs::read(eval.join("weights.npz")).unwrap());
    assert_eq!(weights, std::fs::read(eval.join("init.npz")).unwrap());
    let (a, b) = (
        json(&run.join("summary.json")),
        json(&eval.join("summary.json")),
    );
    assert_eq!(a["metrics"], b["metrics"], "{extra:?}");
    assert_eq!(a["task"], b["task"]);
    assert_eq!(a["network"], b["network"]);
    assert_eq!(b["timings"]["epochs"], 0);
    assert_eq!(b["config"]["command"], "evaluate");
    assert_eq!(b["config"]["weights"], "run/weights.npz");
    assert!(
        b["config"]["training"]
            .as_str()
            .unwrap()
            .starts_with("none"),
        "summary.json says nothing was trained: {}",
        b["config"]
    );
    let history = std::fs::read_to_string(eval.join("history.csv")).unwrap();
    assert_eq!(history.lines().count(), 1, "no epochs: {history}");
    // The folder is complete: plot redraws it.
    ok(cwd.path(), &["plot", "eval"]);
}

#[test]
fn evaluate_reproduces_a_regression_runs_test_metrics_and_predictions() {
    train_then_evaluate(&[]);
}

#[test]
fn evaluate_reproduces_a_classifiers_test_metrics_and_predictions() {
    train_then_evaluate(&["--task", "classify", "--classes", "6"]);
}

#[test]
fn evaluate_reproduces_a_circular_loss_runs_test_metrics_and_predictions() {
    train_then_evaluate(&["--loss", "circular", "--lr", "1"]);
}

#[test]
fn evaluate_json_prints_the_summary_alone() {
    let cwd = tempfile::tempdir().unwrap();
    let mut train = vec!["train", "--out", "run", "--epochs", "2", "-q"];
    train.extend(SMALL);
    ok(cwd.path(), &train);
    let mut evaluate = vec![
        "evaluate",
        "--weights",
        "run/weights.npz",
        "--json",
        "--out",
        "e",
    ];
    evaluate.extend(SMALL);
    let stdout = ok(cwd.path(), &evaluate);
    let printed: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(printed, json(&cwd.path().join("e/summary.json")));
}

#[test]
fn evaluate_refuses_bad_weights_naming_the_file_and_what_was_expected() {
    let cwd = tempfile::tempdir().unwrap();
    let mut train = vec!["train", "--out", "run", "--epochs", "1", "-q"];
    train.extend(SMALL);
    ok(cwd.path(), &train);
    std::fs::write(cwd.path().join("junk.npz"), b"not a zip").unwrap();
    let fails = |args: &[&str], expected: &[&str]| {
        let out = popdecode_in(cwd.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert_ne!(out.status.code(), Some(101), "{args:?} panicked:\n{stderr}");
        for e in expected {
            assert!(stderr.contains(e), "{args:?}: expected {e:?} in:\n{stderr}");
        }
    };
    fails(&["evaluate"], &["--weights <FILE.npz>"]);
    fails(&["evaluate", "--weights", "missing.npz"], &["missing.npz"]);
    fails(&["evaluate", "--weights", "junk.npz"], &["junk.npz"]);
    // Weights for 300 neurons on data of 200.
    fails(
        &[
            "evaluate",
            "--weights",
            "run/weights.npz",
            "--neurons",
            "200",
        ],
        &["run/weights.npz", "in_layer.weight"],
    );
    // A classifier's weights take no regression loss.
    let mut classify = vec![
        "train", "--out", "c", "--epochs", "1", "-q", "--task", "classify",
    ];
    classify.extend(SMALL);
    ok(cwd.path(), &classify);
    let mut args = vec!["evaluate", "--weights", "c/weights.npz", "--loss", "mse"];
    args.extend(SMALL);
    fails(&args, &["--loss mse", "--task regress"]);
    // A failed evaluation leaves no folder behind.
    let mut args = vec!["evaluate", "--weights", "junk.npz", "--out", "never"];
    args.extend(SMALL);
    fails(&args, &["junk.npz"]);
    assert!(!cwd.path().join("never").exists());
}
