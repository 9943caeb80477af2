//! `cv`, `sweep` and `collect` from the command line, on the fast CPU backend and small synthetic data: a cv
//! network is the `train` run of its fold, every stimulus is held out once per repeat, three shards collected
//! are the unsharded run file by file, and what cannot run is refused before anything runs, naming it.

use std::path::Path;
use std::process::{Command, Output};

use popdecode::data::split::Split;
use popdecode::sweep::plan;
use popdecode::sweep::summary::SweepSummary;

/// 300 neurons, 60 stimuli, 8 epochs: a second or so a run.
const SMALL: [&str; 8] = [
    "--backend",
    "cpu",
    "--neurons",
    "300",
    "--stimuli",
    "60",
    "--epochs",
    "8",
];

fn popdecode(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_popdecode"))
        .args(args)
        .output()
        .expect("popdecode runs")
}

fn ok(args: &[&str]) -> String {
    let out = popdecode(args);
    assert!(
        out.status.success(),
        "popdecode {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr of a refused command, checked to exit non-zero without leaving the folder `out`.
fn refused(args: &[&str], out: &Path) -> String {
    let o = popdecode(args);
    assert!(!o.status.success(), "popdecode {args:?} should fail");
    assert!(!out.exists(), "a refused run left {}", out.display());
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn column(table: &[Vec<String>], name: &str) -> usize {
    table[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

#[test]
fn a_cv_network_is_the_train_run_of_its_fold_and_every_stimulus_is_held_out_once_per_repeat() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cv");
    let mut args = vec![
        "cv",
        "--folds",
        "4",
        "--repeats",
        "2",
        "--baseline",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend(SMALL);
    let stdout = ok(&args);
    assert!(
        stdout.contains("cross-validated (4 folds x 2 repeats = 8 networks, mean ± SD)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ridge baseline on the same folds"),
        "{stdout}"
    );
    let networks = csv(&dir.join("networks.csv"));
    assert_eq!(networks.len(), 1 + 8);

    // Each repeat's test rows, over its folds, are every stimulus once.
    let predictions = csv(&dir.join("predictions.csv"));
    let (net, row) = (column(&predictions, "network"), column(&predictions, "row"));
    for repeat in 0..2 {
        let mut rows: Vec<usize> = predictions[1..]
            .iter()
            .filter(|p| (p[net].parse::<usize>().unwrap() / 4) == repeat)
            .map(|p| p[row].parse().unwrap())
            .collect();
        rows.sort_unstable();
        assert_eq!(rows, (0..60).collect::<Vec<_>>(), "repeat {repeat}");
    }

    // Network 5 is fold 1 of repeat 1: train it alone on that fold's split and init seed 1 + 1.
    let folds = plan::folds(60, 4, 4).unwrap();
    let (train, test) = folds[1].clone();
    let split = tmp.path().join("fold1.npz");
    Split { train, test }.save(&split).unwrap();
    let single = tmp.path().join("single");
    let mut args = vec![
        "train",
        "--split",
        split.to_str().unwrap(),
        "--init-seed",
        "2",
        "--format",
        "svg",
        "--out",
        single.to_str().unwrap(),
    ];
    args.extend(SMALL);
    ok(&args);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(single.join("summary.json")).unwrap())
            .unwrap();
    let row5 = &networks[1 + 5];
    assert_eq!(
        (
            row5[column(&networks, "fold")].as_str(),
            row5[column(&networks, "repeat")].as_str()
        ),
        ("1", "1")
    );
    assert_eq!(row5[column(&networks, "init_seed")], "2");
    for (key, col) in [
        (&s["metrics"]["final_test_loss"], "test_loss"),
        (&s["metrics"]["final_train_loss"], "train_loss"),
        (
            &s["metrics"]["test"]["median_angular_error_deg"],
            "test_median_error_deg",
        ),
    ] {
        let (single, cv) = (
            key.as_f64().unwrap(),
            row5[column(&networks, col)].parse::<f64>().unwrap(),
        );
        // The stack trains in f32 with its own summation order: agreement to f32 rounding over 8 epochs.
        assert!(
            ((single - cv) / single).abs() < 1e-4,
            "{col}: train {single} against cv {cv}"
        );
    }
    let history = csv(&single.join("history.csv"));
    let histories = csv(&dir.join("histories.csv"));
    let cv5: Vec<f64> = histories[1..]
        .iter()
        .filter(|h| h[0] == "5")
        .map(|h| h[2].parse().unwrap())
        .collect();
    let one: Vec<f64> = history[1..].iter().map(|h| h[1].parse().unwrap()).collect();
    popdecode::compare::assert_all(&[popdecode::compare::Comparison::new(
        "network 5's training loss",
        &cv5,
        &one,
        popdecode::compare::tolerance::LOSS,
    )]);
    let summary = SweepSummary::load(&dir.join("summary.json")).unwrap();
    assert_eq!(
        (summary.networks, summary.trained, summary.folds.count),
        (8, 8, Some(4))
    );
    assert!(summary.files.contains(&"cells.csv".to_string()));
}

#[test]
fn three_shards_collected_are_the_unsharded_run_file_by_file() {
    let tmp = tempfile::tempdir().unwrap();
    let base = [
        "sweep",
        "--vary",
        "neurons=20,200",
        "--vary",
        "lr=1e-4,1e-3",
        "--folds",
        "3",
        "--repeats",
        "2",
        "--baseline",
    ];
    let run = |out: &Path, extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend(SMALL);
        a.extend(extra);
        a.extend(["--out", out.to_str().unwrap(), "--quiet"]);
        ok(&a);
    };
    let whole = tmp.path().join("whole");
    run(&whole, &[]);
    let parts: Vec<_> = (1..=3)
        .map(|i| tmp.path().join(format!("part{i}")))
        .collect();
    for (i, p) in parts.iter().enumerate() {
        run(p, &["--shard", &format!("{}/3", i + 1)]);
        let s = SweepSummary::load(&p.join("summary.json")).unwrap();
        assert_eq!(s.trained, 8, "shard {} of 24 networks", i + 1);
    }
    let collected = tmp.path().join("collected");
    let p = |i: usize| parts[i].to_str().unwrap();
    ok(&["collect", collected.to_str().unwrap(), p(2), p(0), p(1)]);

    let mut names: Vec<String> = std::fs::read_dir(&whole)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut got: Vec<String> = std::fs::read_dir(&collected)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, names);
    for name in &names {
        if name == "summary.json" {
            let a = SweepSummary::load(&whole.join(name)).unwrap();
            let b = SweepSummary::load(&collected.join(name)).unwrap();
            assert_eq!(a.essential(), b.essential());
        } else {
            assert!(
                std::fs::read(whole.join(name)).unwrap()
                    == std::fs::read(collected.join(name)).unwrap(),
                "{name} differs between the run and its collected shards"
            );
        }
    }

    // What collect refuses, naming the part.
    let out = tmp.path().join("refused");
    let o = out.to_str().unwrap();
    let err = refused(&["collect", o, p(0), p(2)], &out);
    assert!(err.contains("shard 2/3 missing"), "{err}");
    let err = refused(&["collect", o, p(0), p(1), p(1), p(2)], &out);
    assert!(err.contains("is shard 2/3, as"), "{err}");
    let err = refused(&["collect", o, whole.to_str().unwrap()], &out);
    assert!(err.contains("is not a shard's folder"), "{err}");
    let other = tmp.path().join("other");
    run(&other, &["--shard", "2/3", "--init-seed", "7"]);
    let err = refused(&["collect", o, p(0), other.to_str().unwrap(), p(2)], &out);
    assert!(
        err.contains("other") && err.contains("`config` differs"),
        "{err}"
    );
}

#[test]
fn a_sweep_varies_each_parameter_and_plot_redraws_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let mut args = vec![
        "sweep",
        "--vary",
        "hidden=4,8:4",
        "--vary",
        "l2=0,1e-3",
        "--vary",
        "momentum=0,0.9",
        "--vary",
        "l1=0,1e-4",
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ];
    args.extend(SMALL);
    let stdout = ok(&args);
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["networks"], 16);
    let cells = csv(&dir.join("cells.csv"));
    assert_eq!(cells.len(), 1 + 16);
    assert_eq!(&cells[0][1..5], ["hidden", "l2", "momentum", "l1"]);
    assert_eq!(&cells[16][1..5], ["8:4", "1e-3", "0.9", "1e-4"]);
    // Different settings train differently.
    let loss = column(&cells, "test_loss_mean");
    let mut losses: Vec<&str> = cells[1..].iter().map(|c| c[loss].as_str()).collect();
    losses.dedup();
    assert_eq!(losses.len(), 16, "{losses:?}");
    ok(&["plot", dir.to_str().unwrap()]);

    // Classifiers and bin widths: fraction correct is reported.
    let dir = tmp.path().join("classes");
    let mut args = vec![
        "sweep",
        "--task",
        "classify",
        "--classes",
        "4",
        "--vary",
        "bin-width=1,10",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend(SMALL);
    let stdout = ok(&args);
    assert!(stdout.contains("fraction correct"), "{stdout}");
    let networks = csv(&dir.join("networks.csv"));
    let f = column(&networks, "fraction_correct");
    assert!(networks[1..].iter().all(|n| n[f].parse::<f64>().is_ok()));
}

#[test]
fn what_cannot_run_is_refused_before_anything_runs_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("never");
    let o = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["cv", "--out", o], "--folds"),
        (
            &["cv", "--folds", "1", "--out", o],
            "expected 2 to 60 folds",
        ),
        (
            &["cv", "--folds", "61", "--out", o],
            "expected 2 to 60 folds",
        ),
        (
            &["cv", "--folds", "3", "--repeats", "0", "--out", o],
            "--repeats",
        ),
        (
            &["sweep", "--vary", "depth=1,2", "--out", o],
            "`depth` is not a parameter",
        ),
        (&["sweep", "--vary", "lr=", "--out", o], "lists no values"),
        (
            &["sweep", "--vary", "lr=1e-4,-1", "--out", o],
            "lr=-1: --lr",
        ),
        (
            &["sweep", "--vary", "neurons=10,301", "--out", o],
            "neurons=301",
        ),
        (&["sweep", "--vary", "hidden=10,0", "--out", o], "value `0`"),
        (
            &["sweep", "--vary", "hidden=10,100000000", "--out", o],
            "hidden=100000000: --hidden 100000000: the run would need",
        ),
        (
            &["sweep", "--vary", "lr=1,2", "--vary", "lr=3", "--out", o],
            "varied twice",
        ),
        (
            &[
                "sweep",
                "--vary",
                "momentum=0.5",
                "--optimizer",
                "adam",
                "--out",
                o,
            ],
            "momentum=0.5",
        ),
        (
            &["sweep", "--vary", "bin-width=0", "--out", o],
            "bin-width=0",
        ),
        (
            &["cv", "--folds", "3", "--shard", "4/3", "--out", o],
            "1 <= I <= N",
        ),
        (
            &["cv", "--folds", "3", "--init", "x.npz", "--out", o],
            "--init",
        ),
    ];
    for (args, expected) in cases {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(SMALL);
        let err = refused(&a, &out);
        assert!(
            err.contains(expected),
            "{args:?}: expected {expected:?} in {err}"
        );
    }
}

#[test]
fn the_slurm_script_runs_each_task_and_collect_merges_them() {
    let tmp = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/slurm/sweep.sbatch");
    let parts = tmp.path().join("parts");
    for task in 1..=2 {
        let out = Command::new("bash")
            .arg(&script)
            .env("POPDECODE", env!("CARGO_BIN_EXE_popdecode"))
            .env("PARTS", &parts)
            .env(
                "SWEEP_FLAGS",
                format!("--vary lr=1e-4,1e-3 --folds 3 {}", SMALL.join(" ")),
            )
            .env("SLURM_ARRAY_TASK_ID", task.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let merged = tmp.path().join("merged");
    ok(&[
        "collect",
        merged.to_str().unwrap(),
        parts.join("part-1").to_str().unwrap(),
        parts.join("part-2").to_str().unwrap(),
    ]);
    assert_eq!(csv(&merged.join("networks.csv")).len(), 1 + 6);
}

#[test]
fn a_signal_stops_a_cv_at_an_epoch_boundary_leaving_its_folder_marked_interrupted() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cv");
    let mut child = Command::new(env!("CARGO_BIN_EXE_popdecode"))
        .args([
            "cv",
            "--folds",
            "3",
            "--backend",
            "cpu",
            "--neurons",
            "300",
            "--stimuli",
            "60",
        ])
        .args(["--epochs", "10000000", "--out", dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while !lines
        .next()
        .expect("a backend line")
        .unwrap()
        .starts_with("backend:")
    {}
    std::thread::spawn(move || for _ in lines {});
    std::thread::sleep(std::time::Duration::from_millis(500));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let out = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the run ends within 60 s of the signal")
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = SweepSummary::load(&dir.join("summary.json")).unwrap();
    assert_eq!(summary.status, "interrupted");
    assert!(summary.trained >= 1 && summary.trained <= 3);
    let networks = csv(&dir.join("networks.csv"));
    let status = column(&networks, "status");
    assert!(networks[1..].iter().any(|n| n[status] == "interrupted"));
    assert!(!dir.join(".popdecode-writing").exists());
}

#[test]
fn collect_and_plot_refuse_damaged_files_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let parts: Vec<_> = (1..=2).map(|i| tmp.path().join(format!("p{i}"))).collect();
    for (i, p) in parts.iter().enumerate() {
        let mut a = vec!["cv", "--folds", "3", "--shard"];
        let shard = format!("{}/2", i + 1);
        a.push(&shard);
        a.extend(SMALL);
        a.extend(["--out", p.to_str().unwrap(), "-q"]);
        ok(&a);
    }
    let out = tmp.path().join("merged");
    let networks = parts[1].join("networks.csv");
    let text = std::fs::read_to_string(&networks).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[1] = lines[1].replace(",complete,", ",complete,x");
    std::fs::write(&networks, lines.join("\n")).unwrap();
    let err = refused(
        &[
            "collect",
            out.to_str().unwrap(),
            parts[0].to_str().unwrap(),
            parts[1].to_str().unwrap(),
        ],
        &out,
    );
    assert!(err.contains("networks.csv: line 2: column epochs"), "{err}");
    std::fs::write(&networks, text).unwrap();
    let histories = parts[0].join("histories.csv");
    let h = std::fs::read_to_string(&histories).unwrap();
    std::fs::write(&histories, &h[..h.len() / 2]).unwrap();
    let err = refused(
        &[
            "collect",
            out.to_str().unwrap(),
            parts[0].to_str().unwrap(),
            parts[1].to_str().unwrap(),
        ],
        &out,
    );
    assert!(
        err.contains("do not belong together") || err.contains("histories.csv"),
        "{err}"
    );
    let o = popdecode(&["plot", parts[0].to_str().unwrap()]);
    assert!(!o.status.success());
}

#[test]
fn several_learning_rates_for_train_point_to_sweep() {
    let o = popdecode(&["train", "--lr", "1e-4,1e-3"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("popdecode sweep --vary lr=1e-4,1e-3"), "{err}");
}

#[test]
fn a_sweep_on_the_gpu_trains_in_stacks_and_matches_the_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |backend: &str| {
        let dir = tmp.path().join(backend);
        ok(&[
            "sweep",
            "--vary",
            "neurons=50,300",
            "--vary",
            "lr=1e-4,1e-3",
            "--folds",
            "3",
            "--repeats",
            "2",
            "--task",
            "regress",
            "--neurons",
            "300",
            "--stimuli",
            "60",
            "--epochs",
            "8",
            "--backend",
            backend,
            "--format",
            "svg",
            "--out",
            dir.to_str().unwrap(),
            "-q",
        ]);
        dir
    };
    let (gpu, cpu) = (run("gpu"), run("cpu"));
    let summary = SweepSummary::load(&gpu.join("summary.json")).unwrap();
    assert!(summary.adapter.starts_with("gpu"), "{}", summary.adapter);
    // One stack per input width, each trained together.
    assert_eq!(summary.stacks.len(), 2);
    assert!(
        summary
            .stacks
            .iter()
            .all(|s| s.path == "stacked" && s.networks == 12)
    );
    let (g, c) = (
        csv(&gpu.join("networks.csv")),
        csv(&cpu.join("networks.csv")),
    );
    assert_eq!(g.len(), c.len());
    for name in ["test_loss", "train_loss"] {
        let col = column(&g, name);
        let values = |t: &[Vec<String>]| -> Vec<f64> {
            t[1..].iter().map(|r| r[col].parse().unwrap()).collect()
        };
        // f32 on two backends with their own summation orders, 8 epochs: the conformance suite's training tolerance.
        popdecode::compare::assert_all(&[popdecode::compare::Comparison::new(
            name,
            &values(&g),
            &values(&c),
            popdecode::compare::tolerance::LOSS,
        )]);
    }
}
