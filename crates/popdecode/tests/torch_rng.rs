//! popdecode's PyTorch generator against PyTorch itself, bit for bit: `tests/fixtures/torch-rng/` (made by
//! `make_fixtures.py torch-rng` with PyTorch 2.15 on the CPU) holds `torch.randperm` for several n and seeds,
//! `nn.Linear`'s initial weights for several shapes and seeds and the tutorial's networks; every array is compared
//! exactly, whole where it is stored whole, else by its head, tail, strided sample and the md5 of all its bytes.
//! The training fixtures (`pytorch-*`), whose split and initial weights came from `torch.manual_seed(seed)`,
//! `torch.randperm(120)` and building the network right after, are reproduced too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use popdecode::data::npz::NpzFile;
use popdecode::data::split::Split;
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::Objective;
use popdecode::torch_rng::TorchGenerator;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

struct Fixture {
    about: Value,
    arrays: NpzFile,
}

fn fixture() -> Fixture {
    let dir = fixtures().join("torch-rng");
    let about = std::fs::read_to_string(dir.join("about.json")).expect("torch-rng/about.json");
    Fixture {
        about: serde_json::from_str(&about).expect("about.json is JSON"),
        arrays: NpzFile::open(&dir.join("arrays.npz")).expect("torch-rng/arrays.npz"),
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What is stored of one array, compared with ours.
trait Element: Copy + PartialEq + std::fmt::Debug {
    fn le_bytes(v: &[Self]) -> Vec<u8>;
    fn read(file: &mut NpzFile, key: &str) -> Vec<Self>;
    /// Equal as bits (so that -0.0 and 0.0 differ).
    fn same(a: Self, b: Self) -> bool;
}

impl Element for i64 {
    fn le_bytes(v: &[i64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }
    fn read(file: &mut NpzFile, key: &str) -> Vec<i64> {
        file.array_i64(key).unwrap().data
    }
    fn same(a: i64, b: i64) -> bool {
        a == b
    }
}

impl Element for f32 {
    fn le_bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }
    fn read(file: &mut NpzFile, key: &str) -> Vec<f32> {
        file.array_f32(key).unwrap().data
    }
    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits()
    }
}

fn first_difference<T: Element>(ours: &[T], theirs: &[T]) -> Option<String> {
    if ours.len() != theirs.len() {
        return Some(format!(
            "{} elements here, {} in PyTorch",
            ours.len(),
            theirs.len()
        ));
    }
    ours.iter()
        .zip(theirs)
        .position(|(a, b)| !T::same(*a, *b))
        .map(|i| {
            format!(
                "element {i}: {:?} here, {:?} in PyTorch",
                ours[i], theirs[i]
            )
        })
}

impl Fixture {
    fn entry(&self, key: &str) -> &Value {
        &self.about["arrays"][key]
    }

    /// Compares `ours` with the stored array `key`: its shape and md5, and whatever values are stored.
    fn check<T: Element>(&mut self, key: &str, shape: &[usize], ours: &[T]) {
        let entry = self.entry(key).clone();
        assert!(entry.is_object(), "{key}: not in the fixture");
        let their_shape: Vec<usize> = serde_json::from_value(entry["shape"].clone()).unwrap();
        assert_eq!(shape, their_shape, "{key}: shape");
        let stored = entry["stored"].as_str().unwrap();
        let parts: Vec<(String, Vec<T>)> = if stored == "full" {
            vec![(String::new(), ours.to_vec())]
        } else {
            let edge = self.arrays_len(&format!("{key}.head"));
            let stride = 1009;
            vec![
                (".head".into(), ours[..edge].to_vec()),
                (".tail".into(), ours[ours.len() - edge..].to_vec()),
                (
                    ".stride".into(),
                    ours.iter().step_by(stride).copied().collect(),
                ),
            ]
        };
        for (suffix, mine) in parts {
            let theirs = T::read(&mut self.arrays, &format!("{key}{suffix}"));
            if let Some(d) = first_difference(&mine, &theirs) {
                panic!("{key}{suffix}: {d}");
            }
        }
        assert_eq!(
            md5_hex(&T::le_bytes(ours)),
            entry["md5"].as_str().unwrap(),
            "{key}: md5 of all {} elements",
            ours.len()
        );
    }

    fn arrays_len(&mut self, key: &str) -> usize {
        self.arrays
            .array_i64(key)
            .map(|a| a.data.len())
            .unwrap_or_else(|_| self.arrays.array_f32(key).unwrap().data.len())
    }

    fn list(&self, path: &[&str]) -> Vec<Value> {
        let mut v = &self.about;
        for p in path {
            v = &v[*p];
        }
        v.as_array()
            .unwrap_or_else(|| panic!("about.json: {path:?}"))
            .clone()
    }
}

#[test]
fn randperm_is_pytorchs_for_every_n_and_seed() {
    let mut f = fixture();
    let ns = f.list(&["randperm", "n"]);
    let seeds = f.list(&["randperm", "seeds"]);
    assert!(ns.len() >= 6 && seeds.len() >= 4);
    for n in &ns {
        let n = n.as_u64().unwrap() as usize;
        for seed in &seeds {
            let seed = seed.as_u64().unwrap();
            let perm: Vec<i64> = TorchGenerator::manual_seed(seed)
                .randperm(n)
                .into_iter()
                .map(|i| i as i64)
                .collect();
            f.check(&format!("randperm.n{n}.seed{seed}"), &[n], &perm);
        }
    }
}

#[test]
fn linear_init_is_pytorchs_for_every_shape_and_seed() {
    let mut f = fixture();
    let cases = f.list(&["linear", "cases"]);
    assert!(cases.len() >= 5);
    for case in &cases {
        let c: Vec<u64> = serde_json::from_value(case.clone()).unwrap();
        let (inputs, outputs, seed) = (c[0] as usize, c[1] as usize, c[2]);
        let (w, b) = TorchGenerator::manual_seed(seed).linear_init(inputs, outputs);
        let key = format!("linear.in{inputs}.out{outputs}.seed{seed}");
        f.check(&format!("{key}.weight"), &[outputs, inputs], &w);
        f.check(&format!("{key}.bias"), &[outputs], &b);
    }
}

#[test]
fn the_tutorials_networks_start_from_pytorchs_weights() {
    let mut f = fixture();
    let nets: BTreeMap<String, Value> = serde_json::from_value(f.about["nets"].clone()).unwrap();
    assert!(
        nets.contains_key("tutorial")
            && nets.contains_key("classifier")
            && nets.contains_key("deep")
    );
    for (name, net) in nets {
        let hidden: Vec<usize> = serde_json::from_value(net["hidden"].clone()).unwrap();
        let outputs = net["outputs"].as_u64().unwrap() as usize;
        let objective = if outputs == 1 {
            Objective::Mse
        } else {
            Objective::Nll { classes: outputs }
        };
        let spec = Spec::new(
            net["neurons"].as_u64().unwrap() as usize,
            hidden,
            Activation::Relu,
            objective,
        )
        .unwrap();
        let names: Vec<String> = serde_json::from_value(net["tensors"].clone()).unwrap();
        assert_eq!(
            spec.tensor_names(),
            names,
            "{name}: state_dict names and order"
        );
        let params = Params::init(&spec, net["seed"].as_u64().unwrap());
        for (key, shape, values) in params.tensors() {
            f.check(&format!("net.{name}.{key}"), &shape, values);
        }
    }
}

#[test]
fn the_tutorials_split_is_pytorchs() {
    let mut f = fixture();
    for n in [360usize, 4598] {
        let s = &f.about["splits"][format!("n{n}")].clone();
        let seed = s["seed"].as_u64().unwrap();
        let fraction = s["train_fraction"].as_f64().unwrap();
        let split = Split::shuffled(n, fraction, seed).unwrap();
        assert_eq!(
            split.train.len() as u64,
            s["n_train"].as_u64().unwrap(),
            "n = {n}: int(0.6 n)"
        );
        let first: Vec<usize> = serde_json::from_value(s["first_test_rows"].clone()).unwrap();
        assert_eq!(split.test[..3], first, "n = {n}: first test rows");
        // The whole permutation, train then test, is torch.randperm(n) after torch.manual_seed(seed).
        let perm: Vec<i64> = split
            .train
            .iter()
            .chain(&split.test)
            .map(|&i| i as i64)
            .collect();
        f.check(&format!("randperm.n{n}.seed{seed}"), &[n], &perm);
    }
    let tutorial = Split::shuffled(360, 0.6, 4).unwrap();
    assert_eq!((tutorial.train.len(), tutorial.test.len()), (216, 144));
    assert_eq!(tutorial.train[..3], [130, 137, 169]);
    assert_eq!(tutorial.test[..3], [304, 140, 42]);
}

/// Every `pytorch-*` training fixture: `torch.manual_seed(seed)`, `torch.randperm(120)` as the split, then the
/// network built on the same generator, as `init.npz`.
#[test]
fn the_training_fixtures_splits_and_initial_weights_are_reproduced() {
    let mut seen = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").exists() && p.join("init.npz").exists())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
        let Some(seed) = meta["seed"].as_u64() else {
            continue;
        };
        let mut split = NpzFile::open(&dir.join("split.npz")).unwrap();
        let stored: Vec<i64> = ["itrain", "itest"]
            .iter()
            .flat_map(|k| split.array_i64(k).unwrap().data)
            .collect();
        let mut g = TorchGenerator::manual_seed(seed);
        let perm: Vec<i64> = g
            .randperm(stored.len())
            .into_iter()
            .map(|i| i as i64)
            .collect();
        assert_eq!(perm, stored, "{name}: split");
        let mut init = NpzFile::open(&dir.join("init.npz")).unwrap();
        let layers: Vec<String> = std::iter::once("in_layer".to_string())
            .chain(
                (0..)
                    .map(|i| format!("hidden_layers.{i}"))
                    .take_while(|l| init.contains(&format!("{l}.weight"))),
            )
            .chain(std::iter::once("out_layer".to_string()))
            .collect();
        for layer in layers {
            let w = init.array_f32(&format!("{layer}.weight")).unwrap();
            let b = init.array_f32(&format!("{layer}.bias")).unwrap();
            let (outputs, inputs) = (w.shape[0], w.shape[1]);
            let (ours_w, ours_b) = g.linear_init(inputs, outputs);
            if let Some(d) = first_difference(&ours_w, &w.data) {
                panic!("{name}: {layer}.weight: {d}");
            }
            if let Some(d) = first_difference(&ours_b, &b.data) {
                panic!("{name}: {layer}.bias: {d}");
            }
        }
        seen += 1;
    }
    assert!(
        seen >= 7,
        "expected the seven pytorch-* fixtures, found {seen}"
    );
}

/// `torch-replay`: the tutorial's split and initial weights of a small run, made by PyTorch, are ours; and the
/// README's PyTorch replay of that run (full-batch SGD from `split.npz` and `init.npz`) gives the losses our
/// reference gives, to float32 accuracy (the replay in float64 strays 1.2e-6 from it).
#[test]
fn a_run_replayed_in_pytorch_starts_and_goes_as_ours() {
    use popdecode::backend::Backend;
    use popdecode::data::Dataset;
    use popdecode::data::problem::Problem;
    use popdecode::reference::ReferenceBackend;
    use popdecode::training::Config;

    let dir = fixtures().join("torch-replay");
    let about: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("about.json")).unwrap()).unwrap();
    let number = |k: &str| {
        about[k]
            .as_f64()
            .unwrap_or_else(|| panic!("about.json: {k}"))
    };
    let (rows, neurons) = (number("stimuli") as usize, number("neurons") as usize);
    let split = Split::shuffled(rows, number("train_fraction"), number("seed") as u64).unwrap();
    assert_eq!(
        split,
        Split::load(&dir.join("split.npz"), rows).unwrap(),
        "split.npz"
    );
    let spec = Spec::tutorial(neurons, number("hidden") as usize);
    let init = Params::init(&spec, number("init_seed") as u64);
    let stored = Params::load(&dir.join("init.npz"), &spec).unwrap();
    for ((key, _, ours), (_, _, theirs)) in init.tensors().into_iter().zip(stored.tensors()) {
        if let Some(d) = first_difference(ours, theirs) {
            panic!("init.npz: {key}: {d}");
        }
    }

    let data = Dataset::load(&dir.join("data.npz")).unwrap();
    let config = Config {
        epochs: number("epochs") as usize,
        lr: number("lr"),
        ..Config::default()
    };
    let trained = ReferenceBackend
        .train(
            &Problem::new(&data, &split),
            &spec,
            &init,
            &config,
            &mut |_| {},
        )
        .unwrap();
    let mut history = NpzFile::open(&dir.join("history.npz")).unwrap();
    for (key, ours) in [
        ("train_loss", &trained.history.train_loss),
        ("test_loss", &trained.history.test_loss),
    ] {
        let theirs = history.array_f32(key).unwrap().data;
        assert_eq!(ours.len(), theirs.len(), "{key}: epochs");
        for (epoch, (&a, &b)) in ours.iter().zip(&theirs).enumerate() {
            let rel = (a - b as f64).abs() / (b as f64).abs();
            assert!(
                rel < 1e-5,
                "{key}, epoch {}: {a} here, {b} in PyTorch ({rel:.1e})",
                epoch + 1
            );
        }
    }
}
