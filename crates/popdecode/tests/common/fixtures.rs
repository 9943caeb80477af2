//! PyTorch's own runs of the tutorials' networks (tests/fixtures, see its README for how each was made),
//! reproduced by a backend from the same data, split and initial weights: the first outputs, the first
//! gradients, every epoch's losses and the final weights. Each folder's meta.json says how its run was
//! trained; every folder is taken, so a new fixture is covered by adding it.

use std::path::{Path, PathBuf};

use popdecode::backend::Backend;
use popdecode::compare::{Comparison, assert_all, tolerance};
use popdecode::data::Dataset;
use popdecode::data::npz::NpzFile;
use popdecode::data::problem::Problem;
use popdecode::data::split::Split;
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::{Objective, Penalty};
use popdecode::optim::{self, HyperParameters};
use popdecode::training::Config;
use serde_json::Value;

/// Every fixture folder's name, sorted.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root())
        .expect("tests/fixtures")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("meta.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 7, "the fixtures are missing: {names:?}");
    names
}

/// Every fixture reproduced by `backend`, each checked.
pub fn reproduce_all(backend: &mut dyn Backend) {
    for name in names() {
        assert_all(&reproduce(&name, backend));
    }
}

/// The library crate's `tests/fixtures`, from its own tests and from the command line's, which include this file.
pub fn root() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../popdecode/tests/fixtures"
    ))
}

fn fixture(name: &str) -> PathBuf {
    root().join(name)
}

fn npy(path: &Path) -> Vec<f32> {
    let file = std::fs::File::open(path).expect("open .npy");
    npyz::NpyFile::new(std::io::BufReader::new(file))
        .expect("read .npy")
        .into_vec::<f32>()
        .expect("float32 .npy")
}

/// The network and training settings a fixture's meta.json describes.
fn settings(meta: &Value, neurons: usize) -> (Spec, Config) {
    let num = |k: &str, default: f64| meta.get(k).and_then(Value::as_f64).unwrap_or(default);
    let hidden = match &meta["hidden"] {
        Value::Array(widths) => widths
            .iter()
            .map(|w| w.as_u64().unwrap() as usize)
            .collect(),
        w => vec![w.as_u64().expect("hidden") as usize],
    };
    let objective = match (
        meta["task"].as_str(),
        meta.get("loss").and_then(Value::as_str),
    ) {
        (Some("classify"), _) => Objective::Nll {
            classes: meta["classes"].as_u64().unwrap() as usize,
        },
        (_, Some("circular")) => Objective::Circular,
        _ => Objective::Mse,
    };
    // Through the optimizer registry, as the command line does: a fixture of a new optimizer needs no change
    // here.
    let optimizer = optim::build(
        meta.get("optimizer")
            .and_then(Value::as_str)
            .unwrap_or("sgd"),
        &HyperParameters {
            momentum: meta.get("momentum").and_then(Value::as_f64),
            weight_decay: meta.get("weight_decay").and_then(Value::as_f64),
        },
    )
    .expect("the fixture's optimizer is registered");
    let spec = Spec {
        neurons,
        hidden,
        activation: Activation::Relu,
        objective,
    };
    let config = Config {
        epochs: meta["epochs"].as_u64().unwrap() as usize,
        lr: num("lr", f64::NAN),
        optimizer,
        batch_size: None,
        penalty: Penalty {
            l1: num("l1", 0.0),
            l2: num("l2", 0.0),
        },
        shuffle_seed: 0,
    };
    (spec, config)
}

/// Every comparison of a backend's run against the PyTorch run in fixture folder `name`.
pub fn reproduce(name: &str, backend: &mut dyn Backend) -> Vec<Comparison> {
    let dir = fixture(name);
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).expect("meta.json"))
            .expect("meta.json parses");
    let data = Dataset::load(&dir.join("data.npz")).expect("data");
    let split = Split::load(&dir.join("split.npz"), data.n_stimuli()).expect("split");
    let problem = Problem::new(&data, &split);
    let (spec, config) = settings(&meta, data.neurons());
    let init = Params::load(&dir.join("init.npz"), &spec).expect("init");
    let grads0 = Params::load(&dir.join("grads0.npz"), &spec).expect("grads0");
    let final_weights = Params::load(&dir.join("final.npz"), &spec).expect("final");
    let mut trajectory = NpzFile::open(&dir.join("trajectory.npz")).expect("trajectory");
    let train_loss = trajectory.vector_f32("train_loss").expect("train_loss");
    let test_loss = trajectory.vector_f32("test_loss").expect("test_loss");
    assert_eq!(train_loss.len(), config.epochs);
    let out0 = npy(&dir.join("out0.npy"));

    let first = backend
        .evaluate(&problem, &spec, &init, &config.penalty)
        .expect("evaluate");
    let mut c = vec![
        Comparison::new("out0", &first.outputs, &out0, tolerance::TENSOR),
        Comparison::new(
            "first loss",
            &[first.loss],
            &train_loss[..1],
            tolerance::TENSOR,
        ),
    ];
    for ((name, _, want), got) in grads0.tensors().iter().zip(&first.grads) {
        c.push(Comparison::new(
            format!("grads0 {name}"),
            got,
            want,
            tolerance::TENSOR,
        ));
    }
    let run = backend
        .train(&problem, &spec, &init, &config, &mut |_| {})
        .expect("train");
    for e in 0..config.epochs {
        c.push(Comparison::new(
            format!("epoch {} losses", e + 1),
            &[run.history.train_loss[e], run.history.test_loss[e]],
            &[train_loss[e], test_loss[e]],
            tolerance::TENSOR,
        ));
    }
    for ((name, _, got), (_, _, want)) in run
        .params
        .tensors()
        .iter()
        .zip(final_weights.tensors().iter())
    {
        c.push(Comparison::new(
            format!("final {name}"),
            got,
            want,
            tolerance::TENSOR,
        ));
    }
    eprintln!("{name} on {}:", backend.describe());
    for x in &c {
        eprintln!("  {x}");
    }
    c
}
