//! Issue 11's hostile inputs: each reproducer ends in a clear error naming the file, key or flag, a non-zero exit
//! that is neither a panic (101) nor a signal, and nothing on stderr about a panic.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hostile")
        .join(name)
}

fn popdecode(args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_popdecode"))
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
