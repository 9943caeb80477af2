//! What each fuzz target does with its input: write the bytes where a reader expects a file, call the reader, and
//! let a panic be the finding (an `Err` is the reader doing its job). Shared by the cargo-fuzz targets in
//! `fuzz_targets/` and by the property tests in `tests/readers_fuzz.rs`, which include this file by path, so
//! both exercise exactly the same calls.

use std::io::Write;
use std::path::{Path, PathBuf};

use popdecode::data::Dataset;
use popdecode::data::npz::NpzFile;
use popdecode::data::split::Split;
use popdecode::model::{Params, Spec};
use popdecode::run::figures::{draw_all, load_run};

/// The files of a run folder that `plot` parses, in the order a `run_folder` input holds them.
pub const RUN_FILES: [&str; 5] = [
    "summary.json",
    "history.csv",
    "predictions.csv",
    "weights.npz",
    "tuning.npz",
];

/// A folder of this process's own (the property tests run threads in parallel, each with its own name).
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "popdecode-fuzz-{}-{name}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).expect("a scratch folder in the temp dir");
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::File::create(path).expect("a scratch file");
    f.write_all(bytes).expect("writing a scratch file");
}

/// Splits an input into `k` parts: `k - 1` little-endian u16 lengths, then the parts, the last taking the rest.
/// Short inputs give empty parts rather than no input. (`make_seeds.py`'s `join` is its inverse.)
pub fn parts(bytes: &[u8], k: usize) -> Vec<&[u8]> {
    let header = 2 * (k - 1);
    let (lens, mut rest) = bytes.split_at(header.min(bytes.len()));
    let mut out = Vec::with_capacity(k);
    for i in 0..k - 1 {
        let len = match lens.get(2 * i..2 * i + 2) {
            Some(b) => u16::from_le_bytes([b[0], b[1]]) as usize,
            None => 0,
        };
        let (part, tail) = rest.split_at(len.min(rest.len()));
        out.push(part);
        rest = tail;
    }
    out.push(rest);
    out
}

/// An `.npz` file: opened, every array read in every way the program reads one, then as a data set.
pub fn npz(bytes: &[u8]) {
    let path = scratch("npz").join("input.npz");
    write(&path, bytes);
    read_npz(&path);
}

fn read_npz(path: &Path) {
    if let Ok(mut file) = NpzFile::open(path) {
        for key in file.keys() {
            let _ = file.array_f32(&key);
            let _ = file.array_i64(&key);
            let _ = file.matrix_f32_any(&key);
            let _ = file.vector_f32(&key);
            let _ = file.exact_f32(&key, &[2, 3]);
        }
    }
    let _ = Dataset::load(path);
}

/// A `.npy` member: the bytes stored (uncompressed) as `resp.npy` in an archive beside a valid `stimuli.npy`, so
/// mutations reach the `.npy` header and data parser rather than the zip layer.
pub fn npy(bytes: &[u8]) {
    let path = scratch("npy").join("input.npz");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).expect("a scratch file"));
    let options =
        zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("resp.npy", options).expect("a zip member");
    zip.write_all(bytes).expect("writing a zip member");
    zip.start_file("stimuli.npy", options)
        .expect("a zip member");
    zip.write_all(&STIMULI_NPY).expect("writing a zip member");
    zip.finish().expect("finishing the zip");
    read_npz(&path);
}

/// `np.save` of `np.array([0., 90.], dtype=np.float32)`.
const STIMULI_NPY: [u8; 136] = {
    let header =
        b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    let mut out = [b' '; 136];
    let mut i = 0;
    while i < header.len() {
        out[i] = header[i];
        i += 1;
    }
    out[127] = b'\n';
    // 0.0 and 90.0 as little-endian f32.
    let data = [0u8, 0, 0, 0, 0, 0, 0xb4, 0x42];
    let mut j = 0;
    while j < 8 {
        out[128 + j] = data[j];
        j += 1;
    }
    out
};

/// `--split FILE.npz`: the first byte is the data set's rows less one, the rest the file.
pub fn split(bytes: &[u8]) {
    let Some((&rows, file)) = bytes.split_first() else {
        return;
    };
    let path = scratch("split").join("split.npz");
    write(&path, file);
    let _ = Split::load(&path, rows as usize + 1);
}

/// `--init FILE.npz`: the first two bytes choose the network (1-16 neurons, 1-8 hidden units), the rest the file.
pub fn init(bytes: &[u8]) {
    let [neurons, hidden, file @ ..] = bytes else {
        return;
    };
    let spec = Spec::tutorial(*neurons as usize % 16 + 1, *hidden as usize % 8 + 1);
    let path = scratch("init").join("init.npz");
    write(&path, file);
    let _ = Params::load(&path, &spec);
}

/// `plot DIR`: the input's [`parts`] are [`RUN_FILES`]; the folder is read as `plot` reads it and, if that
/// succeeds, its figures are drawn (in memory).
pub fn run_folder(bytes: &[u8]) {
    let dir = scratch("run_folder");
    for (name, part) in RUN_FILES.iter().zip(parts(bytes, RUN_FILES.len())) {
        write(&dir.join(name), part);
    }
    // Present but not parsed by plot.
    for name in ["split.npz", "init.npz"] {
        write(&dir.join(name), b"");
    }
    if let Ok((_, data)) = load_run(&dir) {
        let _ = draw_all(&data);
    }
}

/// The files of a cv or sweep run folder that `plot` and `collect` parse, in the order a `sweep_folder` input
/// holds them.
pub const SWEEP_FILES: [&str; 4] = [
    "summary.json",
    "networks.csv",
    "histories.csv",
    "predictions.csv",
];

/// `plot DIR` of a cv or sweep folder (and each part `collect` reads): the input's [`parts`] are
/// [`SWEEP_FILES`]; the folder is loaded and, if that succeeds, its figures are drawn (in memory).
pub fn sweep_folder(bytes: &[u8]) {
    let dir = scratch("sweep_folder");
    for (name, part) in SWEEP_FILES.iter().zip(parts(bytes, SWEEP_FILES.len())) {
        write(&dir.join(name), part);
    }
    if let Ok((_, results)) = popdecode::sweep::folder::load(&dir) {
        let _ = popdecode::sweep::figures::draw_all(&results);
    }
}
