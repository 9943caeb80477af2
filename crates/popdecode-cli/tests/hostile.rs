//! Issue 11's hostile inputs: each reproducer ends in a clear error naming the file, key or flag, a non-zero exit
//! that is neither a panic (101) nor a signal, and nothing on stderr about a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../popdecode/tests/fixtures/hostile")
        .join(name)
}

fn popdecode(args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().unwrap();
    // Under timeout(1), so that a hang fails the test (exit 124) instead of stalling it.
    Command::new("timeout")
        .args(["-k", "5", "60", env!("CARGO_BIN_EXE_popdecode")])
        .args(args)
        .current_dir(cwd.path())
        .output()
        .expect("the popdecode binary runs")
}

/// Fails cleanly: a non-zero exit code (not 101, not a signal), no panic, and every `expected` on stderr.
fn refused(args: &[&str], expected: &[&str]) {
    let start = Instant::now();
    let out = popdecode(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{args:?} took {:?}",
        start.elapsed()
    );
    let code = out.status.code();
    assert!(code.is_some(), "{args:?} ended by a signal:\n{stderr}");
    assert_ne!(code, Some(0), "{args:?} should fail:\n{stderr}");
    assert_ne!(code, Some(101), "{args:?} panicked:\n{stderr}");
    assert!(!matches!(code, Some(124 | 137)), "{args:?} hung:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "{args:?}: expected {e:?} in:\n{stderr}");
    }
}

const SMALL: [&str; 6] = ["--neurons", "300", "--stimuli", "60", "--epochs", "2"];

fn train_data(name: &str, extra: &[&str], expected: &[&str]) {
    let data = fixture(name);
    let mut args = vec![
        "train",
        "--backend",
        "cpu",
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend(extra);
    refused(&args, expected);
}

/// Finding 1: a shape whose element count overflows, or is more than the member holds, is refused before anything
/// is allocated for it, with and without fortran_order, and with binning.
#[test]
fn overflowing_shapes_are_refused() {
    for name in [
        "overflow.npz",
        "overflow_fortran.npz",
        "overflow_past_u64.npz",
        "overflow_product.npz",
        "too_big_for_member.npz",
    ] {
        train_data(name, &[], &[name, "`resp`", "shape"]);
        train_data(name, &["--bin-width", "20"], &[name, "`resp`", "shape"]);
    }
}

/// Finding 2: deeply nested brackets in a header are refused at once, for data, split and init files.
#[test]
fn nested_headers_are_refused_at_once() {
    train_data("nested.npz", &[], &["nested.npz", "`resp`", "header"]);
    let split = fixture("nested_split.npz");
    let mut args = vec![
        "train",
        "--backend",
        "cpu",
        "--split",
        split.to_str().unwrap(),
    ];
    args.extend(SMALL);
    refused(&args, &["nested_split.npz", "`itrain`", "header"]);
    let init = fixture("nested_init.npz");
    let mut args = vec![
        "train",
        "--backend",
        "cpu",
        "--init",
        init.to_str().unwrap(),
    ];
    args.extend(SMALL);
    refused(&args, &["nested_init.npz", "`in_layer.weight`", "header"]);
}

/// Finding 4: a flipped bit in a member is caught by its CRC-32.
#[test]
fn a_corrupt_member_fails_its_crc() {
    train_data(
        "bad_crc.npz",
        &[],
        &["bad_crc.npz", "`resp`", "resp.npy", "bad CRC-32"],
    );
}

/// Finding 8 (part): a closed stdout (`popdecode train ... | head -1`) ends the printing quietly: no panic, and
/// the run folder is written complete.
#[test]
fn a_closed_stdout_ends_the_printing_not_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_popdecode"))
        .args(["train", "--backend", "cpu", "--out", out.to_str().unwrap()])
        .args(SMALL)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the popdecode binary runs");
    drop(child.stdout.take());
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.code().is_some(), "ended by a signal:\n{stderr}");
    assert_ne!(done.status.code(), Some(101), "panicked:\n{stderr}");
    assert!(!stderr.contains("panicked"), "panicked:\n{stderr}");
    assert!(done.status.success(), "failed:\n{stderr}");
    for file in [
        "summary.json",
        "weights.npz",
        "history.csv",
        "predictions.csv",
    ] {
        assert!(
            out.join(file).is_file(),
            "{file} missing from the run folder"
        );
    }
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn synth(out: &Path) {
    let done = popdecode(&[
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--neurons",
        "20",
        "--stimuli",
        "12",
    ]);
    assert!(done.status.success(), "{done:?}");
}

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success());
}

/// Finding 7: an output naming the input is refused naming both flags, and the input is left as it was.
#[test]
fn an_output_naming_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.npz");
    synth(&data);
    let link = dir.path().join("link.npz");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let before = std::fs::read(&data).unwrap();
    let d = data.to_str().unwrap();
    for flag in ["--save", "--history"] {
        for out in [&data, &link] {
            let o = out.to_str().unwrap();
            refused(
                &[
                    "train",
                    "--backend",
                    "cpu",
                    "--data",
                    d,
                    flag,
                    o,
                    "--epochs",
                    "2",
                ],
                &[flag, "--data", o],
            );
        }
    }
    assert_eq!(std::fs::read(&data).unwrap(), before, "the input changed");
}

/// Finding 7: a FIFO or a device node as an output is refused, before anything is opened (so nothing blocks).
#[test]
fn a_fifo_or_a_device_as_an_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    refused(
        &["synth", "--out", f, "--neurons", "20", "--stimuli", "12"],
        &["--out", f, "FIFO"],
    );
    let mut args = vec!["train", "--backend", "cpu", "--save", f];
    args.extend(SMALL);
    refused(&args, &["--save", f, "FIFO"]);
    let mut args = vec!["train", "--backend", "cpu", "--history", "/dev/null"];
    args.extend(SMALL);
    refused(&args, &["--history", "/dev/null", "device node"]);
    assert!(fifo.exists() && !fifo.is_file(), "the FIFO was replaced");
}

/// Finding 7: a symlink as an output is written through to its target and stays a symlink.
#[test]
fn a_symlink_as_an_output_is_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.npz");
    std::fs::write(&real, b"old").unwrap();
    let link = dir.path().join("link.npz");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    synth(&link);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the symlink was replaced"
    );
    let data = popdecode::data::Dataset::load(&real).unwrap();
    assert_eq!((data.n_stimuli(), data.neurons()), (12, 20));
}

/// Finding 12: two identical runs give byte-identical `.npz` files (the zip members carry a fixed time).
#[test]
fn two_identical_runs_give_identical_npz_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let runs: Vec<PathBuf> = ["a", "b"].iter().map(|n| dir.path().join(n)).collect();
    for (i, run) in runs.iter().enumerate() {
        if i > 0 {
            // Let the clock move on to another zip time (two-second resolution).
            std::thread::sleep(Duration::from_millis(2100));
        }
        let mut args = vec![
            "train",
            "--backend",
            "cpu",
            "--quiet",
            "--out",
            run.to_str().unwrap(),
        ];
        args.extend(SMALL);
        let done = popdecode(&args);
        assert!(done.status.success(), "{done:?}");
    }
    for file in ["weights.npz", "init.npz", "split.npz", "tuning.npz"] {
        let [a, b] = [&runs[0], &runs[1]].map(|r| std::fs::read(r.join(file)).unwrap());
        assert!(a == b, "{file} differs between two identical runs");
    }
}

/// Finding 10 (part): `--data`, `--split` or `--init` naming a FIFO is refused at once instead of waiting for a
/// writer forever.
#[test]
fn a_fifo_as_an_input_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("data.npz");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    for flag in ["--data", "--split", "--init"] {
        let mut args = vec!["train", "--backend", "cpu", flag, f];
        // --data takes the data's own shape; the others go with the synthetic stand-in.
        args.extend(if flag == "--data" {
            &SMALL[4..]
        } else {
            &SMALL[..]
        });
        refused(&args, &[f, "FIFO"]);
    }
}

/// Runs popdecode and expects success, returning its stdout.
fn succeeds(args: &[&str]) -> String {
    let out = popdecode(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed:\n{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Finding 3: a stimulus off the circle (1e9, 1e15, 1e38, or negative) is refused naming the file, the key and
/// its row, before anything is trained or written.
#[test]
fn stimuli_off_the_circle_are_refused_naming_the_row() {
    for name in ["stimuli_1e9.npz", "stimuli_1e15.npz", "stimuli_1e38.npz"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        train_data(
            name,
            &["--epochs", "2", "--out", out.to_str().unwrap()],
            &[name, "`stimuli`", "row 5", "expected degrees in [0, 360]"],
        );
        assert!(!out.exists(), "{name}: a run folder was left behind");
    }
    train_data(
        "stimuli_negative.npz",
        &["--epochs", "2"],
        &["`stimuli`", "row 0 is -180", "[0, 360]", "% 360"],
    );
}

/// Finding 3: radians are refused with a hint, read with `--stimulus-units rad` (recorded in summary.json's
/// config), and `--stimulus-units` without `--data` is refused; integer degrees (int64, int32) are read.
#[test]
fn radians_need_saying_and_integer_degrees_are_read() {
    train_data(
        "stimuli_radians.npz",
        &["--epochs", "2"],
        &[
            "stimuli_radians.npz",
            "`stimuli`",
            "radians",
            "--stimulus-units rad",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let radians = fixture("stimuli_radians.npz");
    let out = dir.path().join("rad");
    succeeds(&[
        "train",
        "--backend",
        "cpu",
        "--quiet",
        "--data",
        radians.to_str().unwrap(),
        "--stimulus-units",
        "rad",
        "--epochs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["config"]["stimulus_units"], "rad");
    // Converted to degrees: the tuning curves' stimuli are the eight directions 0, 45, ..., 315.
    let tuning =
        popdecode::run::tuning_curves::TuningCurves::load(&out.join("tuning.npz")).unwrap();
    let expected: Vec<f32> = (0..8).map(|i| i as f32 * 45.0).collect();
    for (got, want) in tuning.stimuli.iter().zip(&expected) {
        assert!((got - want).abs() < 1e-3, "{:?}", tuning.stimuli);
    }
    let mut args = vec!["train", "--backend", "cpu", "--stimulus-units", "rad"];
    args.extend(SMALL);
    refused(&args, &["--stimulus-units", "--data"]);
    for name in ["stimuli_int64.npz", "stimuli_int32.npz"] {
        let data = fixture(name);
        let out = dir.path().join(name);
        succeeds(&[
            "train",
            "--backend",
            "cpu",
            "--quiet",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "2",
            "--out",
            out.to_str().unwrap(),
        ]);
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["config"]["stimulus_units"], "deg", "{name}");
    }
}

/// A small run folder made by `train`, for `plot` to read.
fn run_folder(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "train",
        "--backend",
        "cpu",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(SMALL);
    args.extend(extra);
    succeeds(&args);
    out
}

/// Rewrites one key of a run folder's summary.json (a path of object keys).
fn edit_summary(run: &Path, keys: &[&str], value: serde_json::Value) {
    let path = run.join("summary.json");
    let mut summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut at = &mut summary;
    for k in keys {
        at = &mut at[*k];
    }
    *at = value;
    std::fs::write(&path, serde_json::to_string_pretty(&summary).unwrap()).unwrap();
}

/// Finding 5: `plot` checks what summary.json says against sane bounds and the other files before drawing:
/// classes 4294967295, a neuron count or hidden width the weights do not have, weights of another hidden size,
/// and more test rows than the predictions hold are refused naming the file and key.
#[test]
fn plot_checks_the_summary_against_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let classify = run_folder(
        dir.path(),
        "classify",
        &["--task", "classify", "--classes", "4"],
    );
    let plot = |run: &Path, expected: &[&str]| refused(&["plot", run.to_str().unwrap()], expected);
    edit_summary(&classify, &["task", "classes"], 4294967295u64.into());
    plot(
        &classify,
        &["summary.json", "`task.classes`", "4294967295", "360"],
    );
    edit_summary(&classify, &["task", "classes"], 5.into());
    plot(&classify, &["summary.json", "`config.classes`", "4"]);
    edit_summary(&classify, &["config", "classes"], 5.into());
    plot(&classify, &["weights.npz", "`out_layer.weight`", "(5, 20)"]);

    let a = run_folder(dir.path(), "a", &[]);
    let b = run_folder(dir.path(), "b", &["--hidden", "7"]);
    std::fs::copy(b.join("weights.npz"), a.join("weights.npz")).unwrap();
    plot(
        &a,
        &["weights.npz", "`in_layer.weight`", "(10, 300)", "(7, 300)"],
    );
    std::fs::copy(b.join("init.npz"), a.join("init.npz")).unwrap();
    edit_summary(&a, &["network", "hidden"], serde_json::json!([7]));
    plot(&a, &["tuning.npz", "`hidden_tuning`", "network.hidden"]);

    let c = run_folder(dir.path(), "c", &[]);
    edit_summary(&c, &["network", "neurons"], 4294967295u64.into());
    plot(&c, &["summary.json", "`network.neurons`", "4294967295"]);
    edit_summary(&c, &["network", "neurons"], 300.into());
    edit_summary(&c, &["data", "test_rows"], 23.into());
    plot(&c, &["predictions.csv", "24 rows", "data.test_rows is 23"]);
    edit_summary(&c, &["data", "test_rows"], 24.into());
    edit_summary(&c, &["data", "stimuli"], 70.into());
    plot(&c, &["tuning.npz", "`stimuli`", "data.stimuli"]);
    edit_summary(&c, &["data", "stimuli"], 60.into());
    succeeds(&["plot", c.to_str().unwrap()]);
}

/// Finding 6: sizes beyond this machine are refused before any work, naming the flags, their values and the
/// bytes; classes beyond 360 are refused saying why; a value f32 cannot hold is refused naming its flag.
#[test]
fn huge_numbers_on_the_command_line_are_refused() {
    let train = |extra: &[&str], expected: &[&str]| {
        let mut args = vec!["train", "--backend", "cpu", "--epochs", "2"];
        args.extend(extra);
        refused(&args, expected);
    };
    train(
        &["--neurons", "18446744073709551615"],
        &["--neurons 18446744073709551615", "ZB", "MemAvailable"],
    );
    train(
        &["--hidden", "100000000"],
        &["--hidden 100000000", "TB", "more than the", "free"],
    );
    train(
        &["--stimuli", "100000000"],
        &["--neurons 23589, --stimuli 100000000", "TB", "free"],
    );
    for c in ["4294967295", "5000", "361"] {
        train(
            &["--task", "classify", "--classes", c],
            &["--classes", c, "2 to 360", "1 degree"],
        );
    }
    for flag in ["--lr", "--l1", "--l2"] {
        train(&[flag, "1e39"], &[flag, "1e39", "f32", "3.4028235e38"]);
    }
    train(&["--lr", "1e-50"], &["--lr", "1e-50", "f32"]);
    train(
        &["--optimizer", "adamw", "--weight-decay", "1e39"],
        &["--weight-decay", "1e39", "f32"],
    );
    // check and baseline refuse the same sizes before any work.
    for command in ["check", "baseline"] {
        refused(
            &[command, "--backend", "cpu", "--hidden", "100000000"],
            &["--hidden 100000000", "TB"],
        );
    }
}

/// Finding 6: the classifier's per-class output (the confusion matrix on the console and in summary.json) stays
/// bounded at the most classes allowed.
#[test]
fn per_class_output_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let stdout = succeeds(&[
        "train",
        "--backend",
        "cpu",
        "--task",
        "classify",
        "--classes",
        "360",
        "--neurons",
        "50",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let summary = std::fs::metadata(out.join("summary.json")).unwrap().len();
    assert!(stdout.len() < 1 << 20, "{} bytes of stdout", stdout.len());
    assert!(summary < 4 << 20, "summary.json is {summary} bytes");
}
