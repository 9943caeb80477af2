//! `popdecode bench --networks`: stacks of many networks timed through `train_stack` beside one network as wide
//! as each stack; its JSON rows, and its refusals of bad --networks values before anything is allocated.

use std::process::{Command, Output};

fn popdecode(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_popdecode"))
        .args(args)
        .output()
        .expect("the popdecode binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rows(args: &[&str]) -> Vec<serde_json::Value> {
    let out = popdecode(args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?}:\n{stdout}\n{stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not a JSON row: {l}")))
        .collect()
}

fn number(row: &serde_json::Value, key: &str) -> f64 {
    row[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {row}"))
}

#[test]
fn cpu_stacks_give_rows_with_the_stack_and_the_wide_network() {
    let rows = rows(&[
        "bench",
        "--backend",
        "cpu",
        "--networks",
        "1,3",
        "--neurons",
        "200",
        "--epochs",
        "3",
        "--json",
    ]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (row, k) in rows.iter().zip([1usize, 3]) {
        assert_eq!(row["backend"], "cpu");
        assert_eq!(row["networks"], k, "{row}");
        assert_eq!(row["rows"], "shared", "{row}");
        assert_eq!(row["hidden"], 10, "{row}");
        assert_eq!(row["network"], "200 -> 10 -> 1", "{row}");
        assert_eq!(row["neurons"], 200, "{row}");
        assert_eq!(
            (row["n_train"].clone(), row["n_test"].clone()),
            (216.into(), 144.into())
        );
        assert_eq!(row["epochs"], 3, "{row}");
        assert_eq!(row["wide_hidden"], 10 * k, "{row}");
        let ms = number(row, "ms_per_epoch");
        let wide = number(row, "wide_ms_per_epoch");
        assert!(ms > 0.0 && ms.is_finite() && ms < 10_000.0, "{row}");
        assert!(wide > 0.0 && wide.is_finite(), "{row}");
        let per_network = number(row, "us_per_network_epoch");
        assert!(
            (per_network - ms * 1e3 / k as f64).abs() <= 1e-9 * per_network,
            "{row}"
        );
        assert!(
            (number(row, "ratio_to_wide") - ms / wide).abs() <= 1e-9 * ms / wide,
            "{row}"
        );
        // The whole call includes setup, so it is no shorter than its training.
        assert!(number(row, "wall_ms_per_epoch") >= ms, "{row}");
        assert!(
            (number(row, "epochs_per_s") - 1e3 / ms).abs() <= 1e-9 * 1e3 / ms,
            "{row}"
        );
        // The stack's bytes: the matrix once and each network's input weights read and written.
        assert_eq!(
            number(row, "min_bytes_per_epoch"),
            4.0 * (360.0 * 200.0 + 2.0 * 10.0 * k as f64 * 200.0),
            "{row}"
        );
        assert!(number(row, "gflops") > 0.0 && number(row, "floor_ms") > 0.0);
    }
}

#[test]
fn folds_and_the_reference_and_a_table() {
    let rows = rows(&[
        "bench",
        "--backend",
        "cpu,reference",
        "--networks",
        "2",
        "--folds",
        "--neurons",
        "100",
        "--epochs",
        "2",
        "--repeats",
        "1",
        "--json",
    ]);
    let kinds: Vec<&str> = rows
        .iter()
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["cpu", "ref"]);
    assert!(
        rows.iter()
            .all(|r| r["rows"] == "folds" && r["networks"] == 2)
    );
    let out = popdecode(&[
        "bench",
        "--backend",
        "cpu",
        "--networks",
        "2",
        "--neurons",
        "100",
        "--epochs",
        "2",
        "--repeats",
        "1",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout
            .lines()
            .next()
            .unwrap_or_default()
            .contains("us/net-epoch"),
        "{stdout}"
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("cpu  "))
        .expect("a cpu row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    // backend, networks, hidden, neurons, rows, ..., wide M at 9.
    assert_eq!(&cells[..5], ["cpu", "2", "10", "100", "shared"], "{stdout}");
    assert_eq!(cells[8], "20", "{stdout}");
}

/// Fails without a panic, naming `flag` on stderr, quickly (nothing allocated for the asked size).
fn refused(args: &[&str], expected: &[&str]) {
    let start = std::time::Instant::now();
    let out = popdecode(args);
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "{args:?} should fail:\n{stdout}\n{stderr}"
    );
    assert_ne!(out.status.code(), Some(101), "{args:?} panicked:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}:\n{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "{args:?}: expected {e:?} in:\n{stderr}");
    }
    assert!(stdout.is_empty(), "{args:?} printed rows:\n{stdout}");
    assert!(
        start.elapsed().as_secs() < 10,
        "{args:?} took {:?}",
        start.elapsed()
    );
}

#[test]
fn bad_network_counts_are_refused_before_any_work() {
    refused(
        &["bench", "--backend", "cpu", "--networks", "0"],
        &["--networks 0", "at least 1 network"],
    );
    refused(
        &["bench", "--backend", "cpu", "--networks", "3,0"],
        &["--networks 3,0"],
    );
    refused(
        &[
            "bench",
            "--backend",
            "cpu",
            "--networks",
            "18446744073709551615",
        ],
        &["--networks 18446744073709551615"],
    );
    // Fits the integers, not the memory: refused by the count of the stack's weights.
    refused(
        &[
            "bench",
            "--backend",
            "cpu",
            "--networks",
            "100000000",
            "--neurons",
            "200",
        ],
        &["--networks 100000000", "of memory", "the stack's weights"],
    );
    refused(
        &["bench", "--backend", "reference", "--networks", "100"],
        &["--networks 100", "reference", "--neurons"],
    );
    refused(
        &[
            "bench",
            "--backend",
            "cpu",
            "--networks",
            "2",
            "--hidden",
            "10,20",
        ],
        &["--hidden", "one"],
    );
    refused(&["bench", "--backend", "cpu", "--folds"], &["--networks"]);
    refused(
        &[
            "bench",
            "--backend",
            "cpu",
            "--networks",
            "2",
            "--layers",
            "20,10",
        ],
        &["--layers", "--networks"],
    );
}
