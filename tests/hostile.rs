//! Issue 11's hostile inputs: each reproducer ends in a clear error naming the file, key or flag, a non-zero exit
//! that is neither a panic (101) nor a signal, and nothing on stderr about a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hostile")
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
