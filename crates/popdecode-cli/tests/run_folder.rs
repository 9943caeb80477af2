//! Run folders from the command line: `train --out` leaves every file it promises and nothing else, never writes
//! into another run's folder, `--json` and `--quiet` print what they say, `plot` redraws the figures from the
//! folder alone, and the folder's `split.npz` and `init.npz` are what PyTorch makes and replays the run from.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use popdecode::data::npz::NpzFile;
use popdecode::data::split::Split;
use popdecode::model::{Params, Spec};
use popdecode::run::layer_weights::LayerWeights;
use popdecode::run::tuning_curves::TuningCurves;

/// Small synthetic runs on the CPU reference: 60 stimuli (36 training, 24 test rows), 300 neurons.
const SMALL: [&str; 8] = [
    "--backend",
    "cpu",
    "--neurons",
    "300",
    "--stimuli",
    "60",
    "--epochs",
    "10",
];
const TEST_ROWS: usize = 24;

const FILES: [&str; 19] = [
    "data.png",
    "data.svg",
    "decoded.png",
    "decoded.svg",
    "hidden.png",
    "hidden.svg",
    "history.csv",
    "init.npz",
    "loss.png",
    "loss.svg",
    "predictions.csv",
    "split.npz",
    "summary.json",
    "summary.png",
    "summary.svg",
    "tuning.npz",
    "weights.npz",
    "weights.png",
    "weights.svg",
];

fn popdecode_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_popdecode"));
    cmd.args(args).current_dir(cwd).env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the popdecode binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn train_into(cwd: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train", "--out", out.to_str().unwrap()];
    args.extend(SMALL);
    args.extend(extra);
    popdecode_in(cwd, &args, &[])
}

/// Every file of a folder, hidden ones included, with its bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn train_writes_every_file_of_the_run_folder_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("results/run1");
    let out = train_into(tmp.path(), &run, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("run: {}", run.display())),
        "{stdout}"
    );
    let files = contents(&run);
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        FILES,
        "exactly the promised files: no temporary or claim file left behind"
    );
    assert!(
        !tmp.path().join("runs").exists(),
        "no default folder with --out"
    );

    let summary: serde_json::Value = serde_json::from_slice(&files["summary.json"]).unwrap();
    for key in [
        "popdecode_version",
        "created_utc",
        "run_folder",
        "command",
        "task",
        "config",
        "data",
        "network",
        "backend",
        "adapter",
        "timings",
        "metrics",
        "files",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    assert_eq!(summary["task"]["kind"], "regression");
    assert_eq!(summary["backend"], "cpu");
    assert_eq!(summary["config"]["epochs"], 10);
    assert_eq!(summary["config"]["hidden"], serde_json::json!([10]));
    assert_eq!(summary["config"]["neurons"], 300);
    assert_eq!(summary["data"]["test_rows"], TEST_ROWS);
    assert_eq!(summary["network"]["hidden"], serde_json::json!([10]));
    assert_eq!(summary["timings"]["epochs"], 10);
    assert!(summary["timings"]["wall_s"].as_f64().unwrap() > 0.0);
    assert!(summary["metrics"]["final_test_loss"].as_f64().unwrap() > 0.0);
    assert!(
        summary["metrics"]["test"]["median_angular_error_deg"]
            .as_f64()
            .is_some()
    );
    assert_eq!(summary["files"].as_array().unwrap().len(), FILES.len());

    // The summary's test loss is the printed one, and the history's last test loss.
    let history = String::from_utf8(files["history.csv"].clone()).unwrap();
    assert_eq!(history.lines().count(), 11);
    let last_test: f64 = history
        .lines()
        .last()
        .unwrap()
        .rsplit(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let final_test = summary["metrics"]["final_test_loss"].as_f64().unwrap();
    assert!(
        (last_test - final_test).abs() <= 1e-9 * final_test,
        "{last_test} {final_test}"
    );
    assert!(
        stdout.contains(&format!("test loss {final_test:.4}")),
        "{stdout}"
    );

    let predictions = String::from_utf8(files["predictions.csv"].clone()).unwrap();
    let lines: Vec<&str> = predictions.lines().collect();
    assert_eq!(lines[0], "row,true_deg,decoded_deg,error_deg");
    assert_eq!(lines.len(), 1 + TEST_ROWS, "one line per test row");
    let mut rows: Vec<usize> = lines[1..]
        .iter()
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            assert_eq!(f.len(), 4);
            assert_eq!(
                f[1],
                f[0] * 6.0,
                "row r of 60 stimuli is at 6 r degrees: {l}"
            );
            let d = (f[2] - f[1]).rem_euclid(360.0);
            assert!((d.min(360.0 - d) - f[3]).abs() < 1e-9, "{l}");
            f[0] as usize
        })
        .collect();
    // The split it kept is the one it used (the tutorial's, seed 4): its test rows are the predictions' rows.
    let split = Split::load(&run.join("split.npz"), 60).unwrap();
    assert_eq!(split, Split::shuffled(60, 0.6, 4).unwrap());
    assert_eq!(rows, split.test, "predictions.csv follows itest");
    rows.sort_unstable();
    rows.dedup();
    assert_eq!(rows.len(), TEST_ROWS, "distinct test rows");

    let spec = Spec::tutorial(300, 10);
    let params = Params::load(&run.join("weights.npz"), &spec).unwrap();
    assert_ne!(params, Params::init(&spec, 1), "the trained weights");
    let init = Params::load(&run.join("init.npz"), &spec).unwrap();
    assert_eq!(init, Params::init(&spec, 1), "the initial weights (seed 1)");
    let w = LayerWeights::read(&run.join("weights.npz")).unwrap();
    assert_eq!((w.input.rows, w.input.cols, w.output.rows), (10, 300, 1));
    let tuning = TuningCurves::load(&run.join("tuning.npz")).unwrap();
    assert_eq!(tuning.stimuli.len(), 60);
    assert_eq!(tuning.neurons(), 300);
    assert_eq!((tuning.hidden.rows, tuning.hidden.cols), (60, 10));
    assert_eq!(tuning.first_neurons.cols, 100);
}

#[test]
fn a_second_run_into_the_same_folder_fails_and_leaves_the_first_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    assert!(train_into(tmp.path(), &run, &[]).status.success());
    let before = contents(&run);
    let out = train_into(tmp.path(), &run, &["--quiet"]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    for part in ["--out", "already holds files", "never overwrites"] {
        assert!(stderr.contains(part), "expected {part:?} in:\n{stderr}");
    }
    assert!(
        !stdout.contains("iteration"),
        "refused before training:\n{stdout}"
    );
    assert_eq!(
        contents(&run),
        before,
        "the first run's files are untouched"
    );
    // A file where the folder should be is refused too, and left alone.
    let file = tmp.path().join("file");
    std::fs::write(&file, "mine").unwrap();
    let out = train_into(tmp.path(), &file, &[]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("is not a folder"), "{:?}", text(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
}

#[test]
fn default_folders_are_dated_under_runs_and_never_shared() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = vec!["train"];
    args.extend(SMALL);
    args.push("--quiet");
    for _ in 0..2 {
        let out = popdecode_in(tmp.path(), &args, &[]);
        assert!(out.status.success(), "{:?}", text(&out));
    }
    let mut names: Vec<String> = std::fs::read_dir(tmp.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    for name in &names {
        // YYYY-MM-DD_HH-MM-SS, perhaps with -2.
        let stamp = &name[..19];
        let shape: String = stamp
            .chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect();
        assert_eq!(shape, "9999-99-99_99-99-99", "{name}");
        assert!(name.len() == 19 || &name[19..] == "-2", "{name}");
        assert!(
            tmp.path()
                .join("runs")
                .join(name)
                .join("summary.json")
                .is_file()
        );
    }
}

#[test]
fn json_prints_the_summary_alone_and_quiet_drops_the_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = train_into(tmp.path(), &run, &["--json"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.lines().count(), 1, "one line:\n{stdout}");
    let printed: serde_json::Value =
        serde_json::from_str(&stdout).expect("stdout is one JSON object");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(printed, saved, "--json prints what summary.json holds");

    let out = train_into(tmp.path(), &tmp.path().join("quiet"), &["--quiet"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("iteration"), "{stdout}");
    for part in ["data:", "final: train loss", "run: ", "time: "] {
        assert!(stdout.contains(part), "missing {part:?} in:\n{stdout}");
    }

    // Not a terminal: the tutorial's lines, and no progress bar's control characters.
    let out = train_into(tmp.path(), &tmp.path().join("plain"), &[]);
    let (stdout, _) = text(&out);
    assert_eq!(stdout.matches("iteration ").count(), 5, "{stdout}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\r'),
        "{stdout:?}"
    );
}

#[test]
fn verbose_logs_to_stderr_and_rust_log_decides_when_set() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = vec!["-v", "train", "--out"];
    let run = tmp.path().join("v");
    args.push(run.to_str().unwrap());
    args.extend(SMALL);
    let out = popdecode_in(tmp.path(), &args, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("INFO") && stderr.contains("run folder"),
        "{stderr}"
    );
    assert!(!stdout.contains("INFO"), "logs stay off stdout:\n{stdout}");

    let run = tmp.path().join("quiet-log");
    let out = train_into(tmp.path(), &run, &[]);
    assert!(
        !text(&out).1.contains("INFO"),
        "no -v, no info: {:?}",
        text(&out).1
    );

    let run = tmp.path().join("rust-log");
    let mut args = vec!["train", "--out", run.to_str().unwrap()];
    args.extend(SMALL);
    let out = popdecode_in(tmp.path(), &args, &[("RUST_LOG", "popdecode=debug")]);
    let stderr = text(&out).1;
    assert!(
        stderr.contains("DEBUG") && stderr.contains("figures in"),
        "{stderr}"
    );
}

#[test]
fn plot_redraws_the_same_figures_from_the_folder_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = train_into(tmp.path(), &run, &[]);
    assert!(out.status.success(), "{:?}", text(&out));
    let figures: Vec<&str> = FILES
        .into_iter()
        .filter(|f| f.ends_with(".svg") || f.ends_with(".png"))
        .collect();
    let before: Vec<Vec<u8>> = figures
        .iter()
        .map(|f| std::fs::read(run.join(f)).unwrap())
        .collect();
    for f in &figures {
        std::fs::remove_file(run.join(f)).unwrap();
    }
    // From another working folder, with no data file anywhere: the folder is enough.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = popdecode_in(elsewhere.path(), &["plot", run.to_str().unwrap()], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for (f, old) in figures.iter().zip(&before) {
        assert!(
            stdout.contains(&format!("wrote {}", run.join(f).display())),
            "{stdout}"
        );
        assert!(
            std::fs::read(run.join(f)).unwrap() == *old,
            "{f} redrawn byte for byte"
        );
    }
    assert_eq!(contents(&run).len(), FILES.len(), "no temporary files left");
}

#[test]
fn format_chooses_the_figure_files_and_summary_json_records_it() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = train_into(tmp.path(), &run, &["--format", "svg"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let names: Vec<String> = contents(&run).into_keys().collect();
    assert!(names.iter().any(|n| n == "loss.svg"));
    assert!(!names.iter().any(|n| n.ends_with(".png")), "{names:?}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["config"]["format"], serde_json::json!(["svg"]));
    // plot adds the PNGs only.
    let out = popdecode_in(
        tmp.path(),
        &["plot", run.to_str().unwrap(), "--format", "png"],
        &[],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(contents(&run).len(), FILES.len());
    // The default is both.
    let both = tmp.path().join("both");
    assert!(train_into(tmp.path(), &both, &[]).status.success());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(both.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["config"]["format"],
        serde_json::json!(["svg", "png"])
    );
    // A format that is not one is refused before any work, naming the flag and the value.
    for bad in ["gif", "svg,", ""] {
        let out = train_into(tmp.path(), &tmp.path().join("bad"), &["--format", bad]);
        let stderr = text(&out).1;
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(
            stderr.contains("--format") && stderr.contains("expected figure formats"),
            "{stderr}"
        );
        assert!(!tmp.path().join("bad").exists());
    }
    let out = popdecode_in(
        tmp.path(),
        &["plot", run.to_str().unwrap(), "--format", "jpg"],
        &[],
    );
    assert!(!out.status.success() && text(&out).1.contains("`jpg`"));
}

#[test]
fn plot_names_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let none = tmp.path().join("nothing-here");
    let out = popdecode_in(tmp.path(), &["plot", none.to_str().unwrap()], &[]);
    let stderr = text(&out).1;
    assert!(!out.status.success());
    assert!(
        stderr.contains("nothing-here") && stderr.contains("no such run folder"),
        "{stderr}"
    );

    let run = tmp.path().join("run");
    assert!(train_into(tmp.path(), &run, &[]).status.success());
    for missing in ["tuning.npz", "summary.json", "weights.npz"] {
        let copy = tmp.path().join(format!("without-{missing}"));
        std::fs::create_dir(&copy).unwrap();
        for (name, bytes) in contents(&run) {
            if name != missing {
                std::fs::write(copy.join(name), bytes).unwrap();
            }
        }
        let out = popdecode_in(tmp.path(), &["plot", copy.to_str().unwrap()], &[]);
        let stderr = text(&out).1;
        assert!(!out.status.success(), "{missing}");
        assert_ne!(out.status.code(), Some(101), "panicked: {stderr}");
        assert!(
            stderr.contains(&copy.join(missing).display().to_string())
                && stderr.contains("missing"),
            "{stderr}"
        );
    }
    // A damaged file is named with what is wrong with it.
    std::fs::write(run.join("history.csv"), "epoch,train_loss,test_loss\n1,2\n").unwrap();
    let out = popdecode_in(tmp.path(), &["plot", run.to_str().unwrap()], &[]);
    let stderr = text(&out).1;
    assert!(
        !out.status.success() && stderr.contains("history.csv") && stderr.contains("line 2"),
        "{stderr}"
    );
}

#[test]
fn a_run_that_diverges_still_leaves_a_complete_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = train_into(tmp.path(), &run, &["--lr", "1"]);
    let (stdout, stderr) = text(&out);
    // Exit 3: diverged (README, "Exit codes"); training stopped at the first non-finite epoch.
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(stdout.contains("test loss NaN"), "{stdout}");
    assert_eq!(contents(&run).len(), FILES.len());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert!(
        summary["metrics"]["final_test_loss"].is_null(),
        "JSON has no NaN"
    );
    assert_eq!(summary["status"], "diverged");
    let predictions = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    assert!(predictions.lines().nth(1).unwrap().ends_with(",NaN,NaN"));
    let out = popdecode_in(tmp.path(), &["plot", run.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{:?}", text(&out));
    let loss = std::fs::read_to_string(run.join("loss.svg")).unwrap();
    assert!(loss.contains("not finite from epoch"));
}

/// `tests/fixtures/torch-replay`: PyTorch made the tutorial's split and initial weights for a small data set
/// (`torch.manual_seed(4); torch.randperm(60)`, `torch.manual_seed(1); DeepNetReLU(300, 10)`) and replayed the run
/// from them with the README's lines. `train` on that data with the default seeds keeps exactly those two files in
/// its folder, and its history is the replay's to float32 accuracy (the replay in float64 strays 1.2e-6 from the
/// float32 one).
#[test]
fn the_folders_split_and_initial_weights_are_pytorchs_and_the_run_replays_in_pytorch() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../popdecode/tests/fixtures/torch-replay");
    let about: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.join("about.json")).unwrap())
            .unwrap();
    let (epochs, lr) = (
        about["epochs"].as_u64().unwrap(),
        about["lr"].as_f64().unwrap(),
    );
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let data = fixture.join("data.npz");
    let (epochs, lr) = (epochs.to_string(), lr.to_string());
    let args = [
        "train",
        "--backend",
        "cpu",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        &epochs,
        "--lr",
        &lr,
        "--out",
        run.to_str().unwrap(),
        "--quiet",
    ];
    let out = popdecode_in(tmp.path(), &args, &[]);
    assert!(out.status.success(), "{:?}", text(&out));

    // The files themselves, key by key and bit for bit (int64 rows, float32 weights).
    for file in ["split.npz", "init.npz"] {
        let mut ours = NpzFile::open(&run.join(file)).unwrap();
        let mut theirs = NpzFile::open(&fixture.join(file)).unwrap();
        let mut keys = ours.keys();
        keys.sort();
        let mut their_keys = theirs.keys();
        their_keys.sort();
        assert_eq!(keys, their_keys, "{file}: keys");
        for key in keys {
            if file == "split.npz" {
                let (a, b) = (
                    ours.array_i64(&key).unwrap(),
                    theirs.array_i64(&key).unwrap(),
                );
                assert_eq!((a.shape, a.data), (b.shape, b.data), "{file}: {key}");
            } else {
                let (a, b) = (
                    ours.array_f32(&key).unwrap(),
                    theirs.array_f32(&key).unwrap(),
                );
                assert_eq!(a.shape, b.shape, "{file}: {key}");
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert!(bits(&a.data) == bits(&b.data), "{file}: {key} differs");
            }
        }
    }

    let history = std::fs::read_to_string(run.join("history.csv")).unwrap();
    let mut replayed = NpzFile::open(&fixture.join("history.npz")).unwrap();
    let train = replayed.array_f32("train_loss").unwrap().data;
    let test = replayed.array_f32("test_loss").unwrap().data;
    let rows: Vec<Vec<f64>> = history
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), train.len(), "one row per epoch");
    for (row, (&a, &b)) in rows.iter().zip(train.iter().zip(&test)) {
        for (ours, theirs) in [(row[1], a as f64), (row[2], b as f64)] {
            let rel = (ours - theirs).abs() / theirs.abs();
            assert!(
                rel < 1e-5,
                "epoch {}: {ours} here, {theirs} replayed in PyTorch",
                row[0]
            );
        }
    }
}

/// The numbers after `label` in a console line, in order ("0.958 (138 of 144 ...; chance 0.125)" -> 0.958, 138,
/// 144, 0.125).
fn numbers_after(stdout: &str, label: &str) -> Vec<f64> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{stdout}"));
    line[label.len()..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
        .filter_map(|w| w.trim_matches(|c| c == '.' || c == 'e').parse().ok())
        .collect()
}

/// Everything the console's final summary says is in summary.json, to its printed precision: a classifier's
/// losses, angular errors of the decoded bins' centres, fraction correct (with the rows and chance) and the
/// confusion; and predictions.csv holds each bin's probability and the decoded angle, the bin's centre.
#[test]
fn a_classifiers_folder_holds_every_number_the_console_printed() {
    let cwd = tempfile::tempdir().unwrap();
    let run = cwd.path().join("run");
    let out = train_into(cwd.path(), &run, &["--task", "classify", "--classes", "6"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    let m = &summary["metrics"];
    let t = &m["test"];
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    let printed = numbers_after(&stdout, "final: ");
    // train loss, test loss, median, mean (no unit number for NLL).
    let json = [
        f(&m["final_train_loss"]),
        f(&m["final_test_loss"]),
        f(&t["median_angular_error_deg"]),
        f(&t["mean_angular_error_deg"]),
    ];
    assert_eq!(printed.len(), 4, "{printed:?}");
    for (p, (j, digits)) in printed.iter().zip(json.iter().zip([4, 4, 2, 2])) {
        assert_eq!(format!("{p:.digits$}"), format!("{j:.digits$}"), "{stdout}");
    }
    let printed = numbers_after(&stdout, "test fraction correct: ");
    assert_eq!(
        format!("{:.3}", printed[0]),
        format!("{:.3}", f(&t["accuracy"]))
    );
    assert_eq!(printed[1], f(&t["correct"]));
    assert_eq!(printed[2], f(&t["rows"]));
    assert_eq!(printed[2], TEST_ROWS as f64);
    assert_eq!(
        format!("{:.3}", printed[3]),
        format!("{:.3}", f(&t["chance"]))
    );
    assert_eq!(f(&t["bin_width_deg"]), 60.0);
    assert!(stdout.contains("bins of 60 deg"), "{stdout}");
    let confusion: Vec<Vec<f64>> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("confusion"))
        .skip(1)
        .take(6)
        .map(|l| {
            l.split('|')
                .nth(1)
                .unwrap()
                .split_whitespace()
                .map(|v| v.parse().unwrap())
                .collect()
        })
        .collect();
    let json_confusion: Vec<Vec<f64>> = m["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(f).collect())
        .collect();
    assert_eq!(confusion, json_confusion);

    let csv = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,true_deg,true_bin,decoded_bin,decoded_deg,error_bins,error_deg,p_0,p_1,p_2,p_3,p_4,p_5"
    );
    let (mut correct, mut errors) = (0, Vec::new());
    for l in lines {
        let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
        assert_eq!(
            v[4],
            (v[3] + 0.5) * 60.0,
            "the decoded angle is the bin's centre: {l}"
        );
        let p = &v[7..];
        assert!(
            (p.iter().sum::<f64>() - 1.0).abs() < 1e-9,
            "probabilities sum to 1: {l}"
        );
        let most = p.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(
            p[v[3] as usize], most,
            "the decoded bin is the most probable: {l}"
        );
        correct += usize::from(v[2] == v[3]);
        errors.push(v[6]);
    }
    assert_eq!(correct as f64, f(&t["correct"]));
    assert_eq!(
        errors.iter().sum::<f64>() / errors.len() as f64,
        f(&t["mean_angular_error_deg"])
    );
}

/// With the circular loss the decoded angles are wrapped into [0, 360): the network's outputs are angles only
/// modulo 360, and its errors are the same either way.
#[test]
fn circular_loss_predictions_are_wrapped_into_0_360() {
    let cwd = tempfile::tempdir().unwrap();
    let run = cwd.path().join("run");
    // A large step sends some outputs well past the circle's ends.
    let out = train_into(cwd.path(), &run, &["--loss", "circular", "--lr", "20"]);
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let csv = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    let spec = Spec::new(
        300,
        vec![10],
        popdecode::model::Activation::Relu,
        popdecode::objective::Objective::Circular,
    )
    .unwrap();
    // The network's own outputs, from its saved weights and the data: some lie outside [0, 360).
    let w = Params::load(&run.join("weights.npz"), &spec).unwrap();
    let data = popdecode::data::synth::generate(&popdecode::data::synth::SynthConfig {
        neurons: 300,
        stimuli: 60,
        seed: 0,
    });
    let (first, last) = (&w.layers[0], &w.layers[1]);
    let raw = |row: usize| -> f64 {
        let x = &data.resp.data[row * 300..(row + 1) * 300];
        let hidden = (0..10).map(|j| {
            let z: f64 = (0..300)
                .map(|i| f64::from(first.weight[j * 300 + i]) * f64::from(x[i]))
                .sum::<f64>()
                + f64::from(first.bias[j]);
            z.max(0.0)
        });
        hidden
            .zip(&last.weight)
            .map(|(h, &v)| h * f64::from(v))
            .sum::<f64>()
            + f64::from(last.bias[0])
    };
    let mut outside = 0;
    for l in csv.lines().skip(1) {
        let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
        assert!((0.0..360.0).contains(&v[2]), "decoded_deg in [0, 360): {l}");
        let d = (v[2] - v[1]).rem_euclid(360.0);
        assert_eq!(d.min(360.0 - d), v[3], "{l}");
        let out = raw(v[0] as usize);
        outside += usize::from(!(0.0..360.0).contains(&out));
        let apart = (out - v[2]).rem_euclid(360.0);
        assert!(
            apart.min(360.0 - apart) < 1e-2,
            "{l}: the output {out} wrapped"
        );
    }
    assert!(
        outside > 0,
        "no output outside [0, 360): the test shows nothing"
    );
}
