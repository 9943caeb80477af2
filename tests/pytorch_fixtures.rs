//! PyTorch's own runs of the tutorial's network (tests/fixtures, copied from shared/fixtures), reproduced on
//! both backends from the same data, split and initial weights: the first outputs, the first gradients,
//! every epoch's losses and the final weights.

mod common;

use std::path::{Path, PathBuf};

use popdecode::compare::{Comparison, assert_all, tolerance};
use popdecode::cpu::CpuBackend;
use popdecode::data::Dataset;
use popdecode::data::npz::NpzFile;
use popdecode::data::split::Split;
use popdecode::model::{Activation, Params, Spec};
use popdecode::problem::Problem;
use popdecode::train::{Backend, Config};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn npy(path: &Path) -> Vec<f32> {
    let file = std::fs::File::open(path).expect("open .npy");
    npyz::NpyFile::new(std::io::BufReader::new(file))
        .expect("read .npy")
        .into_vec::<f32>()
        .expect("float32 .npy")
}

fn regression(backend: &mut dyn Backend) {
    let dir = fixture("pytorch-regression");
    let data = Dataset::load(&dir.join("data.npz")).expect("data");
    let split = Split::load(&dir.join("split.npz"), data.n_stimuli()).expect("split");
    let problem = Problem::new(&data, &split);
    let spec = Spec {
        neurons: 2000,
        hidden: 8,
        activation: Activation::Relu,
    };
    let init = Params::load(&dir.join("init.npz"), &spec).expect("init");
    let grads0 = Params::load(&dir.join("grads0.npz"), &spec).expect("grads0");
    let final_weights = Params::load(&dir.join("final.npz"), &spec).expect("final");
    let mut trajectory = NpzFile::open(&dir.join("trajectory.npz")).expect("trajectory");
    let train_loss = trajectory.vector_f32("train_loss").expect("train_loss");
    let test_loss = trajectory.vector_f32("test_loss").expect("test_loss");
    let out0 = npy(&dir.join("out0.npy"));

    let first = backend.evaluate(&problem, &spec, &init).expect("evaluate");
    let mut c = vec![
        Comparison::new("out0", &first.outputs, &out0, tolerance::TENSOR),
        Comparison::new(
            "first loss",
            &[first.loss],
            &train_loss[..1],
            tolerance::TENSOR,
        ),
    ];
    for (i, (name, _, g)) in grads0.tensors().iter().enumerate() {
        c.push(Comparison::new(
            format!("grads0 {name}"),
            &first.grads[i],
            g,
            tolerance::TENSOR,
        ));
    }
    let config = Config {
        epochs: train_loss.len(),
        lr: 1e-4,
    };
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
    eprintln!("{}:", backend.describe());
    for x in &c {
        eprintln!("  {x}");
    }
    assert_all(&c);
}

#[test]
fn pytorch_regression_run_is_reproduced_on_the_cpu() {
    regression(&mut CpuBackend);
}

#[test]
fn pytorch_regression_run_is_reproduced_on_the_gpu() {
    regression(&mut common::gpu());
}
