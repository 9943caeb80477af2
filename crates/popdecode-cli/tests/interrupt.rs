//! What `train` leaves when it is stopped or fails (issue 11, items 8 to 10): SIGINT, SIGTERM and SIGHUP end it
//! at an epoch boundary with a complete folder marked interrupted (exit 128 + the signal); a second signal ends
//! it at once with nothing left; a SIGKILLed run's claim is taken over by the next run; a diverging run exits 3
//! with its folder marked diverged; a failed write (a full disk, injected by POPDECODE_FAIL_WRITE) leaves no
//! folder, claim or temporary file. Never a claim or temporary file left behind.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_popdecode");
/// A small synthetic problem: epochs take well under a millisecond.
const SMALL: [&str; 6] = ["--neurons", "300", "--stimuli", "60", "--backend", "cpu"];

fn train(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("train").args(SMALL).args(args).current_dir(dir);
    c
}

/// Starts a long run into `out` and returns once it trains (its "backend:" line is out).
fn start_long(dir: &Path, out: &str) -> Child {
    let mut child = train(dir, &["--epochs", "10000000", "--out", out])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("popdecode runs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().expect("a backend line").unwrap();
        if line.starts_with("backend:") {
            break;
        }
    }
    // Drain the rest so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    std::thread::sleep(Duration::from_millis(300));
    child
}

fn kill(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal}");
}

fn finish(child: Child) -> Output {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the run ends within 60 s of the signal")
        .unwrap()
}

/// No claim and no temporary file anywhere under `dir`.
fn nothing_left_behind(dir: &Path) {
    for entry in walk(dir) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.starts_with(".popdecode-writing") && !name.contains(".tmp-"),
            "left behind: {}",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            all.extend(walk(&p));
        }
        all.push(p);
    }
    all
}

fn summary(folder: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(folder.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn each_signal_stops_at_an_epoch_boundary_with_a_complete_folder() {
    let dir = tempfile::tempdir().unwrap();
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let out = format!("run-{signal}");
        let child = start_long(dir.path(), &out);
        kill(&child, signal);
        let done = finish(child);
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(
            stderr.contains(&format!("SIG{signal} stopped training after epoch")),
            "{stderr}"
        );
        let folder = dir.path().join(&out);
        let s = summary(&folder);
        assert_eq!(s["status"], "interrupted", "SIG{signal}");
        let epoch = s["status_epoch"].as_u64().expect("status_epoch") as usize;
        assert!((1..10_000_000).contains(&epoch));
        assert_eq!(s["timings"]["epochs"], epoch as u64);
        let history = std::fs::read_to_string(folder.join("history.csv")).unwrap();
        assert_eq!(
            history.lines().count(),
            epoch + 1,
            "a header and each epoch"
        );
        for name in popdecode::run::folder::DATA_FILES {
            assert!(folder.join(name).is_file(), "SIG{signal}: {name} missing");
        }
    }
    nothing_left_behind(dir.path());
}

#[test]
fn a_second_signal_stops_at_once_leaving_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // An --out folder this run creates is removed; one that existed empty is emptied again.
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    for (out, exists) in [("fresh", false), ("empty", true)] {
        let child = start_long(dir.path(), out);
        kill(&child, "INT");
        std::thread::sleep(Duration::from_millis(30));
        kill(&child, "TERM");
        let done = finish(child);
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert!(matches!(done.status.code(), Some(130 | 143)), "{stderr}");
        let folder = dir.path().join(out);
        if stderr.contains("unfinished folder, claim and temporary files are removed") {
            if exists {
                let left: Vec<_> = std::fs::read_dir(&folder)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                assert!(left.is_empty(), "{out} not emptied: {left:?}");
            } else {
                assert!(!folder.exists(), "{out} not removed");
            }
        } else {
            // The run was written and ended before the second signal came.
            assert_eq!(summary(&folder)["status"], "interrupted", "{stderr}");
        }
    }
    nothing_left_behind(dir.path());
}

#[test]
fn a_killed_runs_claim_is_taken_over_and_a_live_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = start_long(dir.path(), "run");
    // A live run's folder is refused.
    let second = train(dir.path(), &["--epochs", "2", "--out", "run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("being written by another popdecode run"),
        "{stderr}"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let claim = dir.path().join("run/.popdecode-writing");
    let text = std::fs::read_to_string(&claim).expect("a SIGKILLed run leaves its claim");
    assert!(
        text.contains(&format!("pid {}", child.id())) && text.contains("started "),
        "{text}"
    );
    let third = train(dir.path(), &["--epochs", "2", "--out", "run", "-q"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert_eq!(third.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("is gone") && stderr.contains("taking it over"),
        "{stderr}"
    );
    assert_eq!(summary(&dir.path().join("run"))["status"], "complete");
    nothing_left_behind(dir.path());
}

#[test]
fn a_diverging_run_exits_3_with_its_folder_marked_diverged() {
    let dir = tempfile::tempdir().unwrap();
    // Initial weights of 1e30 (the tutorial's network, its weights scaled): their outputs overflow at once.
    let huge = dir.path().join("huge.npz");
    let spec = popdecode::model::Spec::tutorial(300, 10);
    let mut params = popdecode::model::Params::init(&spec, 1);
    for layer in &mut params.layers {
        layer.weight.iter_mut().for_each(|w| *w = w.signum() * 1e30);
    }
    params.save(&huge).unwrap();
    for (args, out) in [
        (vec!["--lr", "10"], "lr"),
        (vec!["--l1", "1e30"], "l1"),
        (vec!["--init", huge.to_str().unwrap()], "init"),
        (vec!["--lr", "10", "--keep-going"], "keep"),
    ] {
        let mut all = vec!["--epochs", "30", "-q", "--out", out];
        all.extend(&args);
        let done = train(dir.path(), &all).output().unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains("training diverged") && stderr.contains("smaller --lr"),
            "{stderr}"
        );
        let folder = dir.path().join(out);
        let s = summary(&folder);
        assert_eq!(s["status"], "diverged", "{args:?}");
        let epoch = s["status_epoch"].as_u64().unwrap() as usize;
        assert!(
            stderr.contains(&format!("at epoch {epoch} of 30")),
            "{stderr}"
        );
        let rows = std::fs::read_to_string(folder.join("history.csv"))
            .unwrap()
            .lines()
            .count()
            - 1;
        assert_eq!(rows, if out == "keep" { 30 } else { epoch }, "{args:?}");
    }
    nothing_left_behind(dir.path());
}

#[test]
fn a_failed_write_leaves_no_folder_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("given")).unwrap();
    for name in [
        "split.npz",
        "weights.npz",
        "history.csv",
        "loss.svg",
        "summary.json",
    ] {
        for (out, exists) in [("new", false), ("given", true)] {
            let done = Command::new(BIN)
                .arg("train")
                .args(SMALL)
                .args(["--epochs", "3", "-q", "--out", out])
                .env("POPDECODE_FAIL_WRITE", name)
                .current_dir(dir.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&done.stderr);
            assert_eq!(done.status.code(), Some(1), "{name}: {stderr}");
            assert!(
                stderr.contains(&format!("{out}/{name}")) && stderr.contains("no space left"),
                "{name}: {stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "one clear error: {stderr}");
            let folder = dir.path().join(out);
            if exists {
                assert!(
                    std::fs::read_dir(&folder).unwrap().next().is_none(),
                    "{name}: not emptied"
                );
            } else {
                assert!(!folder.exists(), "{name}: {out} left behind");
            }
        }
    }
    nothing_left_behind(dir.path());
}

#[test]
fn an_epoch_count_whose_history_cannot_fit_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    for epochs in ["4611686018427387904", "18446744073709551615"] {
        let done = train(dir.path(), &["--epochs", epochs]).output().unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("--epochs") && stderr.contains("16 bytes an epoch"),
            "{stderr}"
        );
    }
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing created"
    );
}
