//! A short property-test run of the fuzz targets' readers in `cargo test`: random bytes and mutated valid files
//! (the fuzz seed corpus, `fuzz/seeds/`) given to the `.npz` and `.npy` reader, `--split` and `--init`, and
//! `plot`'s run-folder reader must give Ok or a clean Err, never a panic. The calls are the fuzz targets' own
//! (`fuzz/src/readers.rs`, included by path); the long runs are `fuzz/campaign.sh`. Deterministic: the same cases
//! every run (a failure prints the shrunk input).

#[path = "../../../fuzz/src/readers.rs"]
mod readers;

use std::path::Path;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Cases per target: half random bytes, half mutated seeds.
const CASES: u32 = 300;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// One edit of a byte string: where (a fraction of its length, in 1/65536), what, and a byte.
#[derive(Clone, Debug)]
enum Edit {
    Overwrite(u16, u8),
    Insert(u16, u8),
    Delete(u16),
    Truncate(u16),
}

fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = seed.to_vec();
    let at = |b: &Vec<u8>, f: u16| f as usize * b.len() / 65536;
    for e in edits {
        match *e {
            Edit::Overwrite(f, v) if !b.is_empty() => {
                let i = at(&b, f);
                b[i] = v;
            }
            Edit::Insert(f, v) => {
                let i = at(&b, f);
                b.insert(i, v);
            }
            Edit::Delete(f) if !b.is_empty() => {
                let i = at(&b, f);
                b.remove(i);
            }
            Edit::Truncate(f) => {
                let i = at(&b, f);
                b.truncate(i);
            }
            _ => {}
        }
    }
    b
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        // Overwrites most, and with bytes that matter in headers: 0, 0xff, digits, quotes, commas.
        4 => (any::<u16>(), prop_oneof![any::<u8>(), Just(0u8), Just(0xff), Just(b'9'), Just(b'\''), Just(b',')])
            .prop_map(|(f, v)| Edit::Overwrite(f, v)),
        1 => (any::<u16>(), any::<u8>()).prop_map(|(f, v)| Edit::Insert(f, v)),
        1 => any::<u16>().prop_map(Edit::Delete),
        1 => any::<u16>().prop_map(Edit::Truncate),
    ]
}

/// Runs `read` on CASES inputs and fails, with the shrunk input, if any panics.
fn holds(target: &str, read: fn(&[u8])) {
    let seeds = seeds(target);
    let n = seeds.len();
    let inputs = prop_oneof![
        vec(any::<u8>(), 0..1024),
        (0..n, vec(edit(), 1..6)).prop_map(move |(i, edits)| mutate(&seeds[i], &edits)),
    ];
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let outcome = runner.run(&inputs, |bytes| {
        read(&bytes);
        Ok(())
    });
    let _ = std::fs::remove_dir_all(readers::scratch(target));
    if let Err(e) = outcome {
        panic!("{target}: a reader panicked: {e}");
    }
}

#[test]
fn the_npz_reader_never_panics() {
    holds("npz", readers::npz);
}

#[test]
fn the_npy_reader_never_panics() {
    holds("npy", readers::npy);
}

#[test]
fn the_split_reader_never_panics() {
    holds("split", readers::split);
}

#[test]
fn the_init_reader_never_panics() {
    holds("init", readers::init);
}

#[test]
fn the_run_folder_reader_never_panics() {
    holds("run_folder", readers::run_folder);
}

#[test]
fn the_sweep_folder_reader_never_panics() {
    holds("sweep_folder", readers::sweep_folder);
}

#[test]
fn the_seeds_are_valid_files_the_readers_accept() {
    // The mutated-seed cases start from files the readers take, so the mutations reach past the first check.
    let dir = readers::scratch("seed_check");
    let run = &seeds("run_folder")[0];
    for (name, part) in readers::RUN_FILES
        .iter()
        .zip(readers::parts(run, readers::RUN_FILES.len()))
    {
        std::fs::write(dir.join(name), part).unwrap();
    }
    for name in ["split.npz", "init.npz"] {
        std::fs::write(dir.join(name), b"").unwrap();
    }
    let loaded = popdecode::run::figures::load_run(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    loaded.expect("the seed run folder loads");
    let split = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/split/run_split");
    let bytes = std::fs::read(&split).unwrap();
    let dir = readers::scratch("seed_check_split");
    std::fs::write(dir.join("s.npz"), &bytes[1..]).unwrap();
    let loaded = popdecode::data::split::Split::load(&dir.join("s.npz"), bytes[0] as usize + 1);
    let _ = std::fs::remove_dir_all(&dir);
    loaded.expect("the seed split loads");
    for seed in seeds("sweep_folder") {
        let dir = readers::scratch("seed_check_sweep");
        for (name, part) in readers::SWEEP_FILES
            .iter()
            .zip(readers::parts(&seed, readers::SWEEP_FILES.len()))
        {
            std::fs::write(dir.join(name), part).unwrap();
        }
        let loaded = popdecode::sweep::folder::load(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        loaded.expect("the seed sweep folder loads");
    }
}
