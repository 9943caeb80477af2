//! The command line as a user meets it: the commands run and write what they say, and bad input ends in a
//! clear message and a non-zero exit, never a panic or a half-written file.

use std::process::{Command, Output};

use popdecode::data::Dataset;
use popdecode::model::{Activation, Params, Spec};

/// Runs popdecode in a fresh working folder, so that `train`'s default run folders (`runs/...`) go nowhere that
/// lasts.
fn popdecode(args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_popdecode"))
        .args(args)
        .current_dir(cwd.path())
        .output()
        .expect("the popdecode binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fails_with(args: &[&str], expected: &[&str]) {
    let out = popdecode(args);
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "{args:?} should fail:\n{stdout}\n{stderr}"
    );
    assert_ne!(out.status.code(), Some(101), "{args:?} panicked:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "{args:?}: expected {e:?} in:\n{stderr}");
    }
}

const SMALL: [&str; 6] = ["--neurons", "300", "--stimuli", "60", "--epochs", "10"];

#[test]
fn train_on_the_cpu_prints_the_tutorials_progress_and_writes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.csv");
    let weights = dir.path().join("w.npz");
    let mut args = vec!["train", "--backend", "cpu"];
    args.extend(SMALL);
    args.extend([
        "--history",
        history.to_str().unwrap(),
        "--save",
        weights.to_str().unwrap(),
    ]);
    let out = popdecode(&args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for line in [
        "iteration 2/10 | loss: ",
        "iteration 10/10 | loss: ",
        "| test loss: ",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert_eq!(stdout.matches("iteration ").count(), 5, "{stdout}");
    for part in [
        "final: train loss",
        "test angular error: median",
        "epochs/s",
        "backend: cpu",
    ] {
        assert!(stdout.contains(part), "missing {part:?} in:\n{stdout}");
    }
    let csv = std::fs::read_to_string(&history).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "epoch,train_loss,test_loss");
    assert_eq!(lines.len(), 11);
    assert!(lines[1].starts_with("1,") && lines[10].starts_with("10,"));
    let spec = Spec::tutorial(300, 10);
    let params = Params::load(&weights, &spec).unwrap();
    assert_ne!(
        params,
        Params::init(&spec, 1),
        "the saved weights are the trained ones"
    );
}

#[test]
fn train_on_the_gpu_and_cpu_tell_the_same_story() {
    let mut args = vec!["train", "--backend", "gpu"];
    args.extend(SMALL);
    let gpu = popdecode(&args);
    args[2] = "reference";
    let cpu = popdecode(&args);
    let (g, ge) = text(&gpu);
    let (c, _) = text(&cpu);
    assert!(gpu.status.success(), "{g}\n{ge}");
    assert!(g.contains("backend: gpu: "), "{g}");
    let progress = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with("iteration"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let (pg, pc) = (progress(&g), progress(&c));
    assert_eq!(pg.len(), 5);
    // The printed losses (3 decimals) agree to f32 accuracy: compare the numbers.
    let numbers = |l: &str| {
        l.split(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
            .filter_map(|t| t.parse::<f64>().ok())
            .collect::<Vec<_>>()
    };
    for (a, b) in pg.iter().zip(&pc) {
        for (x, y) in numbers(a).iter().zip(numbers(b)) {
            assert!((x - y).abs() <= 1e-3 * y.abs().max(1.0), "{a}\n{b}");
        }
    }
}

#[test]
fn train_reads_a_data_file_split_file_and_initial_weights() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.npz");
    let out = popdecode(&[
        "synth",
        "--out",
        data.to_str().unwrap(),
        "--neurons",
        "50",
        "--stimuli",
        "36",
        "--data-seed",
        "3",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let loaded = Dataset::load(&data).unwrap();
    assert_eq!((loaded.n_stimuli(), loaded.neurons()), (36, 50));
    assert_eq!(loaded.stimuli[1], 10.0);
    let split = dir.path().join("s.npz");
    popdecode::data::split::Split {
        train: (0..30).collect(),
        test: (30..36).collect(),
    }
    .save(&split)
    .unwrap();
    let spec = Spec {
        activation: Activation::Linear,
        ..Spec::tutorial(50, 4)
    };
    let init = dir.path().join("init.npz");
    Params::init(&spec, 5).save(&init).unwrap();
    let (d, s, i) = (
        data.to_str().unwrap(),
        split.to_str().unwrap(),
        init.to_str().unwrap(),
    );
    let run = [
        "train",
        "--backend",
        "cpu",
        "--data",
        d,
        "--split",
        s,
        "--init",
        i,
        "--hidden",
        "4",
        "--activation",
        "linear",
        "--epochs",
        "5",
    ];
    let out = popdecode(&run);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for part in [
        "50 neurons in response to 36 stimuli",
        "30 training and 6 test stimuli",
        "Linear(50, 4) -> Linear(4, 1)",
        "iteration 5/5",
    ] {
        assert!(stdout.contains(part), "missing {part:?} in:\n{stdout}");
    }
    // In 20-degree bins the 36 ten-degree stimuli become 18 rows, and the split's rows 18.. no longer exist.
    let mut binned = run.to_vec();
    binned.extend(["--bin-width", "20"]);
    fails_with(&binned, &["s.npz", "row 18 is out of range"]);
    let out = popdecode(&[
        "train",
        "--backend",
        "cpu",
        "--data",
        d,
        "--bin-width",
        "20",
        "--epochs",
        "5",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success() && stdout.contains("50 neurons in response to 18 stimuli"),
        "{stdout}\n{stderr}"
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.npz");
    fails_with(
        &["train", "--data", missing.to_str().unwrap()],
        &["missing.npz"],
    );
    let junk = dir.path().join("junk.npz");
    std::fs::write(&junk, "not a zip").unwrap();
    fails_with(
        &["train", "--data", junk.to_str().unwrap()],
        &["junk.npz", "not a readable .npz"],
    );
    fails_with(
        &["train", "--hidden", "0", "--backend", "cpu"],
        &["--hidden"],
    );
    fails_with(&["train", "--lr", "nan"], &["--lr"]);
    fails_with(
        &[
            "train",
            "--train-fraction",
            "1.5",
            "--neurons",
            "20",
            "--stimuli",
            "10",
        ],
        &["--train-fraction"],
    );
    fails_with(
        &[
            "train",
            "--bin-width=-3",
            "--neurons",
            "20",
            "--stimuli",
            "10",
        ],
        &["--bin-width"],
    );
    fails_with(
        &["train", "--data", junk.to_str().unwrap(), "--neurons", "5"],
        &["--neurons"],
    );
    fails_with(
        &[
            "train",
            "--adapter",
            "no-such-adapter-anywhere",
            "--backend",
            "gpu",
        ],
        &["--adapter", "no-such-adapter-anywhere"],
    );
    let history = dir.path().join("no/such/dir/h.csv");
    fails_with(
        &["train", "--history", history.to_str().unwrap()],
        &["--history", "does not exist"],
    );
    fails_with(
        &[
            "synth",
            "--out",
            dir.path().join("x/y.npz").to_str().unwrap(),
        ],
        &["--out"],
    );
    fails_with(&["bench", "--hidden", "0"], &["--hidden"]);
    let tiny = [
        "bench",
        "--hidden",
        "10",
        "--neurons",
        "64",
        "--epochs",
        "1",
    ];
    fails_with(
        &[&tiny[..], &["--k-lanes", "3"]].concat(),
        &["--k-lanes: 3"],
    );
    fails_with(
        &[&tiny[..], &["--row-split", "0"]].concat(),
        &["--row-split: 0"],
    );
    let wrong_init = dir.path().join("w.npz");
    Params::init(&Spec::tutorial(7, 3), 1)
        .save(&wrong_init)
        .unwrap();
    fails_with(
        &[
            "train",
            "--backend",
            "cpu",
            "--neurons",
            "20",
            "--stimuli",
            "10",
            "--init",
            wrong_init.to_str().unwrap(),
        ],
        &["w.npz", "in_layer.weight", "(3, 20)", "found (3, 7)"],
    );
    let split = dir.path().join("s.npz");
    popdecode::data::split::Split {
        train: vec![0, 1],
        test: vec![50],
    }
    .save(&split)
    .unwrap();
    fails_with(
        &[
            "train",
            "--backend",
            "cpu",
            "--neurons",
            "20",
            "--stimuli",
            "10",
            "--split",
            split.to_str().unwrap(),
        ],
        &["s.npz", "itest", "row 50 is out of range"],
    );
    // Nothing was left behind by the failures.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 3, "only the three inputs remain: {left:?}");
}

#[test]
fn check_passes_and_says_what_it_compared() {
    let out = popdecode(&[
        "check",
        "--neurons",
        "500",
        "--stimuli",
        "40",
        "--epochs",
        "4",
        "--hidden",
        "7",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for part in [
        "outputs",
        "loss",
        "grad in_layer.weight",
        "grad in_layer.bias",
        "grad out_layer.weight",
        "grad out_layer.bias",
        "epoch 4 losses",
        "trained in_layer.weight",
        "tolerance 1e-4",
        "tolerance 1e-3",
        "passed",
    ] {
        assert!(stdout.contains(part), "missing {part:?} in:\n{stdout}");
    }
}

#[test]
fn info_lists_the_adapter() {
    let out = popdecode(&["info"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("backend") && stdout.contains("max storage binding"),
        "{stdout}"
    );
}

#[test]
fn help_names_every_command() {
    // Every subcommand, in the order `--help` lists them (clap adds `help`). A command added to the program and
    // not here, or listed here and gone, fails: the list is compared whole with `--help`'s `Commands:` section.
    const COMMANDS: [&str; 12] = [
        "train", "check", "evaluate", "info", "synth", "bench", "baseline", "plot", "cv", "sweep",
        "collect", "help",
    ];
    let out = popdecode(&["--help"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The section is the lines after `Commands:` up to the next blank line, each `  NAME  description`.
    let listed: Vec<&str> = stdout
        .lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        listed, COMMANDS,
        "the commands `popdecode --help` lists:\n{stdout}"
    );
    // Each command answers `--help` with its own usage line.
    for c in &COMMANDS[..COMMANDS.len() - 1] {
        let out = popdecode(&[c, "--help"]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{c} --help: {stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("Usage: popdecode {c}")),
            "{c} --help:\n{stdout}"
        );
    }
}

#[test]
fn classify_reports_fraction_correct_and_confusion_and_saves_out_layer_of_c_rows() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("w.npz");
    let mut args = vec![
        "train",
        "--backend",
        "cpu",
        "--task",
        "classify",
        "--classes",
        "6",
    ];
    args.extend(SMALL);
    args.extend(["--hidden", "8,5", "--save", weights.to_str().unwrap()]);
    let out = popdecode(&args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for part in [
        "Linear(300, 8) -> ReLU -> Linear(8, 5) -> ReLU -> Linear(5, 6) -> LogSoftmax, NLL loss",
        "lr 0.1, SGD, full batch",
        "test fraction correct: ",
        "chance 0.167",
        "confusion (rows: true bin, columns: decoded bin; bins of 60 deg)",
    ] {
        assert!(stdout.contains(part), "missing {part:?} in:\n{stdout}");
    }
    // The confusion matrix counts every test row once: 60 stimuli, 40% of them test rows.
    let counted: usize = stdout
        .lines()
        .filter_map(|l| l.trim_start().split_once(" |"))
        .filter(|(bin, _)| bin.trim().parse::<usize>().is_ok())
        .flat_map(|(_, cells)| {
            cells
                .split_whitespace()
                .map(|c| c.parse::<usize>().unwrap())
        })
        .sum();
    assert_eq!(counted, 24, "{stdout}");
    let spec = Spec {
        hidden: vec![8, 5],
        objective: popdecode::objective::Objective::Nll { classes: 6 },
        ..Spec::tutorial(300, 8)
    };
    let saved = Params::load(&weights, &spec).unwrap();
    assert_eq!(saved.layers[1].name, "hidden_layers.0");
    assert_eq!((saved.output().outputs, saved.output().inputs), (6, 5));
}

#[test]
fn optimizers_penalties_batches_and_circular_loss_run_from_the_command_line() {
    for extra in [
        &["--optimizer", "adam", "--lr", "1e-3"][..],
        &["--momentum", "0.9", "--lr", "1e-5"],
        &["--batch-size", "7", "--lr", "1e-5"],
        &["--loss", "circular", "--lr", "1"],
        &["--l2", "1e-2", "--l1", "1e-3"],
    ] {
        let mut args = vec!["train", "--backend", "cpu"];
        args.extend(SMALL);
        args.extend(extra);
        let out = popdecode(&args);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{extra:?}\n{stdout}\n{stderr}");
        assert!(stdout.contains("iteration 10/10"), "{extra:?}\n{stdout}");
    }
}

#[test]
fn bad_training_flags_are_named() {
    let bad: [(&[&str], &str); 7] = [
        (
            &["--task", "classify", "--loss", "circular"],
            "--loss circular",
        ),
        (&["--momentum", "1.5"], "--momentum"),
        (&["--optimizer", "adam", "--momentum", "0.5"], "--momentum"),
        (&["--hidden", "10,0"], "--hidden"),
        (&["--task", "classify", "--classes", "1"], "--classes"),
        (&["--batch-size", "0"], "--batch-size"),
        (&["--l2", "nan"], "--l2"),
    ];
    for (flags, named) in bad {
        let mut args = vec!["train", "--backend", "cpu"];
        args.extend(flags);
        fails_with(&args, &[named]);
    }
}

#[test]
fn check_json_is_one_object_with_every_comparison_and_the_counts() {
    let out = popdecode(&[
        "check",
        "--json",
        "--neurons",
        "300",
        "--stimuli",
        "40",
        "--epochs",
        "3",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.lines().count(), 1, "one JSON object only:\n{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("check --json prints JSON");
    assert!(v["backend"].as_str().unwrap().starts_with("gpu: "), "{v}");
    assert!(
        v["reference"]
            .as_str()
            .unwrap()
            .starts_with("reference (f64, "),
        "{v}"
    );
    assert_eq!(v["epochs"], 3);
    let comparisons = v["comparisons"].as_array().unwrap();
    // Outputs, loss, four gradients; three epochs; four trained tensors, the test outputs, the train loss.
    assert_eq!(comparisons.len(), 6 + 3 + 6, "{v}");
    for c in comparisons {
        assert!(c["name"].is_string() && c["stage"].is_string(), "{c}");
        let (rel, tol) = (
            c["rel_error"].as_f64().unwrap(),
            c["tolerance"].as_f64().unwrap(),
        );
        assert_eq!(c["passed"], rel <= tol, "{c}");
    }
    let named = |name: &str| comparisons.iter().find(|c| c["name"] == name).unwrap();
    assert_eq!(named("grad in_layer.weight")["stage"], "initial");
    assert_eq!(named("grad in_layer.weight")["tolerance"], 1e-4);
    assert_eq!(named("epoch 3 losses")["stage"], "epoch");
    assert_eq!(named("trained train loss")["tolerance"], 1e-3);
    assert_eq!(v["passed"], comparisons.len());
    assert_eq!(v["failed"], 0);
}

#[test]
fn check_takes_the_backend_to_compare() {
    let small = ["--neurons", "300", "--stimuli", "40", "--epochs", "2"];
    let out = popdecode(&[&["check", "--backend", "gpu"][..], &small].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("check: gpu: "), "{stdout}");
    assert!(
        stdout.contains("||gpu - reference|| / ||reference||"),
        "{stdout}"
    );
    // The reference against itself: the check of the check, every comparison exactly 0.
    let out = popdecode(&[&["check", "--backend", "reference"][..], &small].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("check: reference "), "{stdout}");
    let errors: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split("rel. error ").nth(1))
        .collect();
    assert_eq!(errors.len(), 14, "{stdout}");
    assert!(errors.iter().all(|e| e.starts_with("0.00e0 ")), "{stdout}");
    // What check does not take is refused by name.
    fails_with(&["check", "--backend", "auto"], &["--backend", "gpu, cpu"]);
}

#[test]
fn check_without_an_adapter_says_so_and_does_not_offer_the_reference() {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_popdecode"))
        .args(["check", "--neurons", "50", "--stimuli", "10"])
        .env("WGPU_BACKEND", "vulkan")
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .current_dir(cwd.path())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("no GPU adapter found"), "{stderr}");
    // What it suggests, check takes.
    assert!(
        stderr.contains("`popdecode check --backend cpu`"),
        "{stderr}"
    );
    assert!(!stderr.contains("--backend auto"), "{stderr}");
    let out = popdecode(&[
        "check",
        "--backend",
        "cpu",
        "--neurons",
        "50",
        "--stimuli",
        "10",
    ]);
    assert!(out.status.success(), "{}", text(&out).1);
}

#[test]
fn optimizers_come_from_the_catalogue_and_refuse_what_they_do_not_take() {
    let out = popdecode(&["train", "--optimizer", "nosuch"]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("--optimizer"), "{stderr}");
    for (name, _) in popdecode::optim::catalogue() {
        assert!(stderr.contains(name), "{name} not listed in:\n{stderr}");
    }
    let (help, _) = text(&popdecode(&["train", "--help"]));
    for (name, line) in popdecode::optim::catalogue() {
        assert!(help.contains(&format!("{name}: ")), "{name}:\n{help}");
        assert!(help.contains(line), "{line}:\n{help}");
    }
    fails_with(
        &["train", "--backend", "cpu", "--weight-decay", "0.01"],
        &["--weight-decay", "optimizer sgd does not take it"],
    );
    fails_with(
        &["check", "--optimizer", "adam", "--weight-decay", "0.01"],
        &["--weight-decay", "optimizer adam does not take it"],
    );
    fails_with(
        &["train", "--backend", "all"],
        &["--backend", "auto, gpu, cpu"],
    );
}

#[test]
fn the_library_constructors_name_the_value() {
    use popdecode::Error;
    use popdecode::objective::{Objective, Penalty};
    use popdecode::training::Config;
    // The library names the value (as Python's keywords will); the command line says it as its flag
    // (`bad_training_flags_are_named`).
    let flag = |r: Result<(), Error>| match r {
        Err(Error::Invalid { name, .. }) => name,
        other => panic!("expected an Invalid, got {other:?}"),
    };
    let sgd = popdecode::optim::build("sgd", &Default::default()).unwrap();
    let config = |epochs, lr, batch, l1, l2| {
        Config::new(epochs, lr, sgd, batch, Penalty { l1, l2 }, 0).map(|_| ())
    };
    assert!(config(5, 1e-4, Some(3), 0.0, 0.0).is_ok());
    assert!(
        config(0, 1e-4, None, 0.0, 0.0).is_ok(),
        "--epochs 0 evaluates the initial network"
    );
    assert_eq!(flag(config(5, f64::NAN, None, 0.0, 0.0)), "lr");
    assert_eq!(flag(config(5, -1.0, None, 0.0, 0.0)), "lr");
    assert_eq!(flag(config(5, 1e-4, Some(0), 0.0, 0.0)), "batch_size");
    assert_eq!(flag(config(5, 1e-4, None, -1.0, 0.0)), "l1");
    assert_eq!(flag(config(5, 1e-4, None, 0.0, f64::INFINITY)), "l2");
    let spec = |neurons, hidden: &[usize], objective| {
        Spec::new(neurons, hidden.to_vec(), Activation::Relu, objective).map(|_| ())
    };
    assert!(spec(10, &[4, 3], Objective::Mse).is_ok());
    assert_eq!(flag(spec(0, &[4], Objective::Mse)), "neurons");
    assert_eq!(flag(spec(10, &[], Objective::Mse)), "hidden");
    assert_eq!(flag(spec(10, &[4, 0], Objective::Mse)), "hidden");
    assert_eq!(
        flag(spec(10, &[4], Objective::Nll { classes: 1 })),
        "classes"
    );
}

#[test]
fn main_only_dispatches() {
    let main =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/main.rs")).unwrap();
    let lines = main.lines().count();
    assert!(
        lines < 100,
        "src/main.rs has {lines} lines; the command line's work belongs in its command modules"
    );
}

/// `--epochs 0` evaluates the initial network, as the tutorial does with its untrained net: no progress lines, an
/// empty history, and the final losses and errors at the initial weights, the same on both backends.
#[test]
fn zero_epochs_evaluate_the_initial_network() {
    let mut finals = Vec::new();
    for backend in ["cpu", "gpu"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let out_s = out.to_str().unwrap();
        let run = popdecode(&[
            "train",
            "--backend",
            backend,
            "--neurons",
            "300",
            "--stimuli",
            "60",
            "--epochs",
            "0",
            "--task",
            "classify",
            "--l2",
            "0.01",
            "--out",
            out_s,
        ]);
        let (stdout, stderr) = text(&run);
        assert!(run.status.success(), "{stdout}\n{stderr}");
        assert!(!stdout.contains("iteration"), "{stdout}");
        let history = std::fs::read_to_string(out.join("history.csv")).unwrap();
        assert_eq!(history.lines().count(), 1, "{history}");
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let m = &summary["metrics"];
        let train = m["final_train_loss"].as_f64().expect("a finite train loss");
        let test = m["final_test_loss"].as_f64().expect("a finite test loss");
        assert!(
            train > 2.0 && test > 2.0,
            "an untrained classifier of 20 bins: {m}"
        );
        finals.push((train, test));
    }
    let (a, b) = (finals[0], finals[1]);
    assert!(
        (a.0 - b.0).abs() < 1e-4 * a.0 && (a.1 - b.1).abs() < 1e-4 * a.1,
        "{finals:?}"
    );
}

#[test]
fn synth_writes_single_trials_that_train_reads_and_bins() {
    let dir = tempfile::tempdir().unwrap();
    let trials = dir.path().join("trials.npz");
    let t = trials.to_str().unwrap();
    let synth = [
        "synth",
        "--out",
        t,
        "--trials",
        "500",
        "--neurons",
        "30",
        "--stimuli",
        "60",
        "--data-seed",
        "2",
    ];
    let out = popdecode(&synth);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("resp (500 trials x 30 neurons), stimuli (degrees, one a trial), float32"),
        "{stdout}"
    );
    // float32 on disk, shaped as said (the archive is stored, so the .npy headers are plain text in it).
    let bytes = std::fs::read(&trials).unwrap();
    let header = String::from_utf8_lossy(&bytes);
    assert!(
        header.contains("'descr': '<f4'") && !header.contains("<f8"),
        "{header:.400}"
    );
    assert!(header.contains("'shape': (500, 30, )") && header.contains("'shape': (500, )"));

    let data = Dataset::load(&trials).unwrap();
    assert_eq!((data.n_stimuli(), data.neurons()), (500, 30));
    assert!(data.stimuli.iter().all(|s| (0.0..360.0).contains(s)));
    // Every 6-degree bin has a trial, and the trials are not in direction order.
    let mut filled = [false; 60];
    data.stimuli
        .iter()
        .for_each(|&s| filled[(s / 6.0) as usize] = true);
    assert!(filled.iter().all(|&f| f));
    assert!(data.stimuli.windows(2).any(|w| w[0] > w[1]));
    // Each neuron z-scored across the trials.
    for i in 0..30 {
        let col: Vec<f64> = (0..500).map(|r| data.resp.row(r)[i] as f64).collect();
        let mean = col.iter().sum::<f64>() / 500.0;
        let var = col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 500.0;
        assert!(
            mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
            "neuron {i}: {mean} {var}"
        );
    }
    // The same flags write the same data.
    let again = dir.path().join("again.npz");
    let mut twice = synth.to_vec();
    twice[2] = again.to_str().unwrap();
    assert!(popdecode(&twice).status.success());
    let other = Dataset::load(&again).unwrap();
    assert_eq!((&data.resp, &data.stimuli), (&other.resp, &other.stimuli));

    // train bins the trials as the tutorial's load_data: 6-degree bins give 60 rows; a width of 1 leaves the 500
    // trials as they are.
    for (width, rows, split) in [
        ("6", "60", "36 training and 24 test stimuli"),
        ("1", "500", "300 training and 200 test stimuli"),
    ] {
        let out = popdecode(&[
            "train",
            "--backend",
            "reference",
            "--data",
            t,
            "--bin-width",
            width,
            "--epochs",
            "2",
        ]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        for part in [&format!("30 neurons in response to {rows} stimuli"), split] {
            assert!(stdout.contains(part), "missing {part:?} in:\n{stdout}");
        }
    }

    // Fewer trials than bins cannot fill every bin.
    fails_with(
        &[
            "synth",
            "--out",
            t,
            "--trials",
            "59",
            "--stimuli",
            "60",
            "--neurons",
            "3",
        ],
        &["--trials", "at least one trial for each of the 60 bins"],
    );
    // Without --trials: the binned matrix, as before.
    let binned = dir.path().join("binned.npz");
    let out = popdecode(&[
        "synth",
        "--out",
        binned.to_str().unwrap(),
        "--neurons",
        "30",
        "--stimuli",
        "60",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("resp (60 stimuli x 30 neurons), stimuli (degrees), float32"),
        "{stdout}"
    );
    assert_eq!(Dataset::load(&binned).unwrap().stimuli[1], 6.0);
}

// Issue 15, item 2: no flag is accepted and ignored, a single-valued flag is given once, negative numbers parse.

#[test]
fn flags_that_would_be_ignored_are_refused_naming_both_flags() {
    let small = ["--neurons", "30", "--stimuli", "10", "--epochs", "1"];
    for command in ["train", "check", "baseline"] {
        let run = |extra: &[&str], expected: &[&str]| {
            let mut args = vec![command];
            args.extend(small);
            args.extend(extra);
            fails_with(&args, expected);
        };
        run(&["--classes", "8"], &["--classes", "--task classify"]);
        run(
            &["--shuffle-seed", "3"],
            &["--shuffle-seed", "--batch-size"],
        );
        run(
            &["--optimizer", "adam", "--momentum", "0.9"],
            &["--momentum", "optimizer adam does not take it"],
        );
        run(
            &["--task", "classify", "--loss", "circular"],
            &["--loss circular", "--task regress"],
        );
        run(
            &["--split", "s.npz", "--seed", "3"],
            &["--split-seed", "--split"],
        );
        run(
            &["--split", "s.npz", "--split-seed", "3"],
            &["--split-seed", "--split"],
        );
        run(
            &["--split", "s.npz", "--train-fraction", "0.5"],
            &["--train-fraction", "--split"],
        );
        for synthetic in ["--data-seed", "--neurons", "--stimuli"] {
            let args = [command, "--data", "d.npz", synthetic, "3"];
            fails_with(&args, &[synthetic, "--data"]);
        }
        run(
            &["--init", "w.npz", "--init-seed", "3"],
            &["--init-seed", "--init"],
        );
        run(
            &["--task", "classify", "--loss", "mse"],
            &["--loss mse", "--task classify"],
        );
        for backend in ["cpu", "reference"] {
            run(
                &["--backend", backend, "--adapter", "llvmpipe"],
                &["--adapter", &format!("--backend {backend}")],
            );
        }
    }
    fails_with(
        &["bench", "--backend", "cpu", "--classes", "5"],
        &["--classes", "--task classify"],
    );
    fails_with(
        &[
            "bench",
            "--backend",
            "cpu,reference",
            "--adapter",
            "llvmpipe",
        ],
        &["--adapter", "--backend cpu,reference"],
    );
    fails_with(
        &["bench", "--backend", "cpu", "--k-split", "4"],
        &["--k-split", "--backend cpu"],
    );
}

#[test]
fn a_single_valued_flag_given_twice_is_refused() {
    fails_with(
        &["train", "--hidden", "10", "--hidden", "20"],
        &["--hidden", "cannot be used multiple times"],
    );
    fails_with(
        &["train", "--lr", "1", "--lr", "2"],
        &["--lr", "cannot be used multiple times"],
    );
    fails_with(
        &["check", "--epochs", "1", "--epochs", "2"],
        &["--epochs", "cannot be used multiple times"],
    );
}

#[test]
fn negative_numbers_reach_the_flags_own_check() {
    fails_with(
        &["train", "--neurons", "30", "--stimuli", "10", "--lr", "-1"],
        &[
            "--lr",
            "expected a finite, non-negative learning rate, got -1",
        ],
    );
    fails_with(
        &[
            "train",
            "--neurons",
            "30",
            "--stimuli",
            "10",
            "--l2",
            "-0.5",
        ],
        &["--l2"],
    );
}

// Issue 15, item 3: --init takes the network's shape and task from the file.

#[test]
fn init_takes_the_shape_and_task_from_the_file_and_refuses_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let small = ["--neurons", "300", "--stimuli", "60", "--epochs", "2"];
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--backend", "cpu"];
        args.extend(small);
        args.extend(extra);
        popdecode(&args)
    };
    let deep = dir.path().join("deep");
    let out = train(&["--out", deep.to_str().unwrap(), "--hidden", "200,100,50"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let deep_weights = deep.join("weights.npz");
    let w = deep_weights.to_str().unwrap();

    let again = dir.path().join("again");
    let out = train(&["--init", w, "--out", again.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Linear(300, 200) -> ReLU -> Linear(200, 100) -> ReLU -> Linear(100, 50) -> ReLU -> Linear(50, 1)"),
        "{stdout}"
    );
    let summary = std::fs::read_to_string(again.join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(
        summary["config"]["hidden"],
        serde_json::json!([200, 100, 50])
    );
    assert_eq!(summary["config"]["task"], "regress");

    let mut args = vec!["train", "--init", w];
    args.extend(small);
    let refused = |extra: &[&str], expected: &[&str]| {
        let mut a = args.clone();
        a.extend(extra);
        fails_with(&a, expected);
    };
    refused(
        &["--hidden", "7"],
        &["--hidden", "7", "in_layer.weight", "weights.npz"],
    );
    refused(
        &["--hidden", "200,90,50"],
        &["--hidden", "hidden_layers.0.weight", "has 100 rows"],
    );
    refused(
        &["--task", "classify"],
        &["--task classify", "out_layer.weight", "1 row"],
    );

    // A classifier's file makes a classifier with its classes.
    let classifier = dir.path().join("classifier");
    let out = train(&[
        "--out",
        classifier.to_str().unwrap(),
        "--task",
        "classify",
        "--classes",
        "8",
        "--hidden",
        "12",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let cw = classifier.join("weights.npz");
    let c = cw.to_str().unwrap();
    let out = train(&["--init", c]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Linear(300, 12) -> ReLU -> Linear(12, 8) -> LogSoftmax, NLL loss"),
        "{stdout}"
    );
    let mut args = vec!["train", "--init", c];
    args.extend(small);
    fails_with(
        &[&args[..], &["--task", "regress"]].concat(),
        &["--task regress", "out_layer.weight", "8 rows"],
    );
    fails_with(
        &[&args[..], &["--classes", "9"]].concat(),
        &["--classes", "9", "out_layer.weight", "8 rows"],
    );
    fails_with(
        &[&args[..], &["--hidden", "20"]].concat(),
        &["--hidden", "20", "in_layer.weight", "has 12 rows"],
    );
}

const COMMANDS: [&str; 8] = [
    "train", "check", "evaluate", "info", "synth", "bench", "baseline", "plot",
];

/// Every subcommand's `--help`: every flag and every possible value has a description, seeds share one
/// placeholder, and -q (where a command has it) and -v come last.
#[test]
fn every_flag_of_every_command_is_described_and_v_q_come_last() {
    for command in COMMANDS {
        let out = popdecode(&[command, "--help"]);
        let (help, stderr) = text(&out);
        assert!(out.status.success(), "{command}: {stderr}");
        let lines: Vec<&str> = help.lines().collect();
        let mut flags = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            if !(trimmed.starts_with("--") || trimmed.starts_with('-')) || indent > 6 {
                continue;
            }
            let signature = trimmed.split("  ").next().unwrap();
            let flag = signature
                .split([',', ' '])
                .find(|w| w.starts_with("--"))
                .unwrap_or(signature)
                .trim_end_matches("...")
                .to_string();
            // The description is on the same line after two spaces, or on the next lines, further indented.
            let same_line = trimmed[signature.len()..].trim();
            let next = lines.get(i + 1).copied().unwrap_or("");
            let described = !same_line.is_empty()
                || (next.len() - next.trim_start().len() > indent && !next.trim().is_empty());
            assert!(
                described,
                "{command} --help: {flag} has no description:\n{help}"
            );
            if flag.ends_with("-seed") {
                assert!(signature.contains("<SEED>"), "{command}: {signature}");
            }
            flags.push(flag);
        }
        // Named values are described one by one; a boolean's true and false are its flag's description.
        let listed = help.replace("[possible values: true, false]", "");
        assert!(
            !listed.contains("[possible values:"),
            "{command}: a value without a description:\n{help}"
        );
        for line in lines.iter().filter(|l| l.trim_start().starts_with("- ")) {
            let (_, description) = line.split_once(':').unwrap_or(("", ""));
            assert!(!description.trim().is_empty(), "{command}: {line}");
        }
        let last = flags.last().map(String::as_str);
        assert_eq!(last, Some("--verbose"), "{command}: -v last:\n{help}");
        if flags.iter().any(|f| f == "--quiet") {
            assert_eq!(
                flags[flags.len() - 2],
                "--quiet",
                "{command}: -q before -v, last:\n{help}"
            );
        }
    }
    // Every run-like command groups its flags under the same headings.
    for command in ["train", "check", "evaluate", "baseline"] {
        let (help, _) = text(&popdecode(&[command, "--help"]));
        let headings: Vec<&str> = help
            .lines()
            .filter(|l| l.ends_with(':') && !l.starts_with(' ') && !l.starts_with("Usage"))
            .collect();
        assert_eq!(
            headings.first(),
            Some(&"Options:"),
            "{command}: {headings:?}"
        );
        assert_eq!(headings.last(), Some(&"Output:"), "{command}: {headings:?}");
        for h in ["Data:", "Network:", "Training:", "Backend:"] {
            assert!(headings.contains(&h), "{command}: no {h} in {headings:?}");
        }
    }
    // --seed stays a visible alias of --split-seed, and both draw the same split.
    let (help, _) = text(&popdecode(&["train", "--help"]));
    assert!(help.contains("[alias: --seed]"), "{help}");
}

#[test]
fn seed_and_split_seed_draw_the_same_split() {
    let dir = tempfile::tempdir().unwrap();
    let small = [
        "--backend",
        "cpu",
        "--neurons",
        "30",
        "--stimuli",
        "20",
        "--epochs",
        "0",
        "-q",
    ];
    let mut splits = Vec::new();
    for (flag, name) in [
        ("--seed", "a"),
        ("--split-seed", "b"),
        ("--split-seed", "c"),
    ] {
        let out = dir.path().join(name);
        let value = if name == "c" { "5" } else { "3" };
        let mut args = vec!["train", flag, value, "--out", out.to_str().unwrap()];
        args.extend(small);
        let run = popdecode(&args);
        assert!(run.status.success(), "{}", text(&run).1);
        splits.push(std::fs::read(out.join("split.npz")).unwrap());
    }
    assert_eq!(splits[0], splits[1]);
    assert_ne!(splits[1], splits[2]);
}

/// One epoch is "1 epoch".
#[test]
fn one_epoch_is_singular() {
    let out = popdecode(&[
        "train",
        "--backend",
        "cpu",
        "--neurons",
        "30",
        "--stimuli",
        "20",
        "--epochs",
        "1",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains(", 1 epoch, init seed 1"), "{stdout}");
    assert!(stdout.contains("s for 1 epoch ("), "{stdout}");
    assert!(!stdout.contains("1 epochs"), "{stdout}");
    let out = popdecode(&[
        "check",
        "--backend",
        "reference",
        "--neurons",
        "30",
        "--stimuli",
        "20",
        "--epochs",
        "1",
    ]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("training 1 epoch (train"), "{stdout}");
}

/// check's lines are columns: "rel. error", "(tolerance" and the verdict start at the same place on every line,
/// whatever the names' and errors' lengths (a deep net's long names, an error of exactly 0).
#[test]
fn check_lines_up_its_columns() {
    let out = popdecode(&[
        "check",
        "--backend",
        "reference",
        "--neurons",
        "30",
        "--stimuli",
        "20",
        "--epochs",
        "2",
        "--hidden",
        "8,6",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("rel. error "))
        .collect();
    assert!(rows.len() > 10, "{stdout}");
    assert!(
        rows.iter().any(|l| l.contains("hidden_layers.0.weight")),
        "{stdout}"
    );
    for column in ["rel. error ", "(tolerance ", ")  ok"] {
        let at: Vec<usize> = rows.iter().map(|l| l.find(column).unwrap()).collect();
        assert!(
            at.iter().all(|&a| a == at[0]),
            "{column:?} at {at:?}:\n{stdout}"
        );
    }
}

/// `--adapter` matches an adapter's API as `info` prints it (here Vulkan, in any case), not only its name.
#[test]
fn adapter_matches_the_api_case_insensitively() {
    let out = popdecode(&["info"]);
    let (info, _) = text(&out);
    assert!(
        info.contains("backend Vulkan"),
        "needs a Vulkan adapter (apt-get install -y mesa-vulkan-drivers):\n{info}"
    );
    for name in ["VULKAN", "vulkan"] {
        let out = popdecode(&[
            "train",
            "--backend",
            "gpu",
            "--adapter",
            name,
            "--neurons",
            "30",
            "--stimuli",
            "20",
            "--epochs",
            "1",
        ]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "--adapter {name}: {stderr}");
        assert!(stdout.contains("(Vulkan, "), "{stdout}");
    }
    fails_with(
        &[
            "train",
            "--backend",
            "gpu",
            "--adapter",
            "nosuchapi",
            "--neurons",
            "30",
            "--stimuli",
            "20",
        ],
        &["--adapter", "\"nosuchapi\"", "the adapters are"],
    );
}

/// `baseline --out DIR` leaves the network's run folder with baseline.json (what --json prints), and `--quiet`
/// drops the progress lines but not the table.
#[test]
fn baseline_out_leaves_a_run_folder_and_quiet_drops_the_progress() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("b");
    let out = popdecode(&[
        "baseline",
        "--backend",
        "cpu",
        "--neurons",
        "300",
        "--stimuli",
        "60",
        "--epochs",
        "10",
        "--out",
        folder.to_str().unwrap(),
        "-q",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains("iteration"), "{stdout}");
    let row = |name: &str| -> Vec<f64> {
        let line = stdout
            .lines()
            .find(|l| {
                l.starts_with(name)
                    && l.split_whitespace()
                        .nth(1)
                        .is_some_and(|v| v.parse::<f64>().is_ok())
            })
            .unwrap_or_else(|| panic!("{stdout}"));
        line.split_whitespace()
            .skip(1)
            .take(2)
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("baseline.json")).unwrap()).unwrap();
    for (name, key) in [("ridge", "ridge"), ("network", "network")] {
        let printed = row(name);
        let median = saved[key]["test_median_deg"].as_f64().unwrap();
        assert_eq!(
            format!("{:.2}", printed[0]),
            format!("{median:.2}"),
            "{name}"
        );
    }
    for file in [
        "summary.json",
        "predictions.csv",
        "weights.npz",
        "decoded.svg",
        "loss.svg",
    ] {
        assert!(folder.join(file).is_file(), "{file}");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["metrics"]["test"]["median_angular_error_deg"],
        saved["network"]["test_median_deg"]
    );
    // Without --quiet the progress lines are there.
    let out = popdecode(&[
        "baseline",
        "--backend",
        "cpu",
        "--neurons",
        "300",
        "--stimuli",
        "60",
        "--epochs",
        "10",
    ]);
    assert!(text(&out).0.contains("iteration 10/10"), "{}", text(&out).0);
}
