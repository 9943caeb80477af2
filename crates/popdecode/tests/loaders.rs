//! Loading data, splits and weights: what is accepted, and the clear error for each kind of bad input.

use std::path::{Path, PathBuf};

use npyz::WriterBuilder;
use popdecode::Error;
use popdecode::data::Dataset;
use popdecode::data::npz::NpzOut;
use popdecode::data::split::Split;
use popdecode::model::{Params, Spec};

/// Writes an .npz whose arrays have the given dtypes, shapes and orders.
enum Arr<'a> {
    F32(&'a [usize], Vec<f32>),
    F64(&'a [usize], Vec<f64>),
    F64Fortran(&'a [usize], Vec<f64>),
    I32(&'a [usize], Vec<i32>),
}

fn write(path: &Path, arrays: &[(&str, Arr)]) {
    let file = std::fs::File::create(path).unwrap();
    let mut npz = npyz::npz::NpzWriter::new(std::io::BufWriter::new(file));
    let opts = zip::write::FileOptions::default();
    let dims = |s: &[usize]| s.iter().map(|&d| d as u64).collect::<Vec<u64>>();
    for (key, arr) in arrays {
        match arr {
            Arr::F32(s, v) => {
                let mut w = npz
                    .array::<f32>(key, opts)
                    .unwrap()
                    .default_dtype()
                    .shape(&dims(s))
                    .begin_nd()
                    .unwrap();
                w.extend(v.iter().copied()).unwrap();
                w.finish().unwrap();
            }
            Arr::F64(s, v) | Arr::F64Fortran(s, v) => {
                let order = if matches!(arr, Arr::F64Fortran(..)) {
                    npyz::Order::Fortran
                } else {
                    npyz::Order::C
                };
                let mut w = npz
                    .array::<f64>(key, opts)
                    .unwrap()
                    .default_dtype()
                    .shape(&dims(s))
                    .order(order)
                    .begin_nd()
                    .unwrap();
                w.extend(v.iter().copied()).unwrap();
                w.finish().unwrap();
            }
            Arr::I32(s, v) => {
                let mut w = npz
                    .array::<i32>(key, opts)
                    .unwrap()
                    .default_dtype()
                    .shape(&dims(s))
                    .begin_nd()
                    .unwrap();
                w.extend(v.iter().copied()).unwrap();
                w.finish().unwrap();
            }
        }
    }
    npz.zip_writer().finish().unwrap();
}

fn tmp(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

fn resp(rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols).map(|i| i as f32 * 0.5 - 3.0).collect()
}

fn err_text(e: Error) -> String {
    e.to_string()
}

#[test]
fn float32_data_with_flat_stimuli_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = tmp(&dir, "a.npz");
    write(
        &p,
        &[
            ("resp", Arr::F32(&[3, 4], resp(3, 4))),
            ("stimuli", Arr::F32(&[3], vec![0.0, 120.0, 240.0])),
        ],
    );
    let d = Dataset::load(&p).unwrap();
    assert_eq!((d.n_stimuli(), d.neurons()), (3, 4));
    assert_eq!(d.resp.data, resp(3, 4));
    assert_eq!(d.stimuli, vec![0.0, 120.0, 240.0]);
}

#[test]
fn float64_data_with_column_stimuli_loads() {
    let dir = tempfile::tempdir().unwrap();
    let p = tmp(&dir, "a.npz");
    let r: Vec<f64> = resp(3, 4).iter().map(|&v| v as f64).collect();
    write(
        &p,
        &[
            ("resp", Arr::F64(&[3, 4], r)),
            ("stimuli", Arr::F64(&[3, 1], vec![10.0, 20.0, 30.0])),
        ],
    );
    let d = Dataset::load(&p).unwrap();
    assert_eq!(d.resp.data, resp(3, 4));
    assert_eq!(d.stimuli, vec![10.0, 20.0, 30.0]);
}

#[test]
fn fortran_ordered_matrix_is_read_row_major() {
    let dir = tempfile::tempdir().unwrap();
    let p = tmp(&dir, "a.npz");
    // Column-major storage of [[1, 2, 3], [4, 5, 6]].
    write(
        &p,
        &[
            (
                "resp",
                Arr::F64Fortran(&[2, 3], vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
            ),
            ("stimuli", Arr::F32(&[2], vec![0.0, 180.0])),
        ],
    );
    assert_eq!(
        Dataset::load(&p).unwrap().resp.data,
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
}

/// The error `Dataset::load` gives for an .npz named `a.npz` holding `arrays`.
fn load_error(arrays: &[(&str, Arr)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = tmp(&dir, "a.npz");
    write(&p, arrays);
    err_text(Dataset::load(&p).expect_err("the file should be refused"))
}

fn assert_mentions(error: &str, parts: &[&str]) {
    for part in parts {
        assert!(error.contains(part), "expected {part:?} in: {error}");
    }
}

fn stimuli(n: usize) -> Arr<'static> {
    const SHAPES: [[usize; 1]; 4] = [[0], [1], [2], [3]];
    Arr::F32(&SHAPES[n], (0..n).map(|s| s as f32).collect())
}

#[test]
fn a_missing_key_is_named_with_the_keys_found() {
    let e = load_error(&[
        ("responses", Arr::F32(&[2, 2], resp(2, 2))),
        ("stimuli", stimuli(2)),
    ]);
    assert_mentions(&e, &["a.npz", "missing key `resp`", "responses, stimuli"]);
}

#[test]
fn mismatched_lengths_are_refused() {
    let e = load_error(&[
        ("resp", Arr::F32(&[3, 2], resp(3, 2))),
        ("stimuli", stimuli(2)),
    ]);
    assert_mentions(&e, &["`stimuli`", "2 entries", "3 rows"]);
}

#[test]
fn nan_and_inf_are_refused() {
    for (bad, shown) in [(f32::NAN, "NaN"), (f32::INFINITY, "inf")] {
        let mut r = resp(2, 3);
        r[4] = bad;
        let e = load_error(&[("resp", Arr::F32(&[2, 3], r)), ("stimuli", stimuli(2))]);
        assert_mentions(&e, &["`resp`", "element 4", shown]);
        let e = load_error(&[
            ("resp", Arr::F32(&[2, 3], resp(2, 3))),
            ("stimuli", Arr::F32(&[2], vec![0.0, bad])),
        ]);
        assert_mentions(&e, &["`stimuli`", "finite"]);
    }
}

#[test]
fn an_empty_matrix_is_refused() {
    let e = load_error(&[("resp", Arr::F32(&[0, 5], vec![])), ("stimuli", stimuli(0))]);
    assert_mentions(&e, &["`resp`", "non-empty", "(0, 5)"]);
}

#[test]
fn wrong_shapes_and_dtypes_are_refused() {
    let e = load_error(&[
        ("resp", Arr::F32(&[6], resp(1, 6))),
        ("stimuli", stimuli(1)),
    ]);
    assert_mentions(&e, &["`resp`", "2-D", "(6,)"]);
    let e = load_error(&[
        ("resp", Arr::I32(&[1, 2], vec![1, 2])),
        ("stimuli", stimuli(1)),
    ]);
    assert_mentions(&e, &["`resp`", "float32 or float64"]);
    let e = load_error(&[
        ("resp", Arr::F32(&[2, 2], resp(2, 2))),
        ("stimuli", Arr::F32(&[2, 2], vec![0.0; 4])),
    ]);
    assert_mentions(&e, &["`stimuli`", "(N,) or (N, 1)"]);
}

#[test]
fn a_file_that_is_not_an_npz_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = tmp(&dir, "notes.npz");
    std::fs::write(&p, "these are not arrays").unwrap();
    let e = err_text(Dataset::load(&p).unwrap_err());
    assert!(
        e.contains("notes.npz") && e.contains("not a readable .npz"),
        "{e}"
    );
    let e = err_text(Dataset::load(&tmp(&dir, "absent.npz")).unwrap_err());
    assert!(e.contains("absent.npz"), "{e}");
}

/// A member whose bytes were changed after it was written is refused by its CRC-32 (zip's own check, at the end of
/// the member), naming the file, the key and the member, whether the member is stored (as popdecode writes) or
/// deflated (as `np.savez_compressed` writes).
#[test]
fn a_member_changed_after_writing_is_refused_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let load = |p: &Path| err_text(Dataset::load(p).expect_err("a corrupt file is refused"));

    // Stored: one bit of the first element of `resp` flipped, which leaves a finite float of the right shape.
    let stored = tmp(&dir, "stored.npz");
    NpzOut::new()
        .f32("resp", &[2, 3], resp(2, 3))
        .f32("stimuli", &[2], vec![0.0, 180.0])
        .write(&stored)
        .unwrap();
    let mut bytes = std::fs::read(&stored).unwrap();
    let magic = bytes
        .windows(6)
        .position(|w| w == b"\x93NUMPY")
        .expect("resp.npy, the first member");
    let header_len = u16::from_le_bytes([bytes[magic + 8], bytes[magic + 9]]) as usize;
    bytes[magic + 10 + header_len] ^= 1;
    std::fs::write(&stored, &bytes).unwrap();
    assert_mentions(
        &load(&stored),
        &["stored.npz", "`resp`", "resp.npy", "bad CRC-32", "corrupt"],
    );

    // Deflated: a byte in the middle of the first member's compressed data changed.
    let deflated = tmp(&dir, "deflated.npz");
    write(
        &deflated,
        &[
            ("resp", Arr::F32(&[20, 30], resp(20, 30))),
            ("stimuli", stimuli(3)),
        ],
    );
    let mut bytes = std::fs::read(&deflated).unwrap();
    let le16 = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    assert_eq!(le16(8), 8, "the first member is deflated");
    let packed = u32::from_le_bytes(bytes[18..22].try_into().unwrap()) as usize;
    let data = 30 + le16(26) + le16(28);
    bytes[data + packed / 2] ^= 0x5a;
    std::fs::write(&deflated, &bytes).unwrap();
    assert_mentions(
        &load(&deflated),
        &["deflated.npz", "`resp`", "resp.npy", "corrupt"],
    );
}

#[test]
fn binning_averages_rows_as_the_tutorial_does() {
    // 12 one-degree rows, 0..11 degrees; 4-degree bins give rows {0..3}, {4..7}, {8..11}.
    let rows = 12;
    let data = Dataset {
        resp: popdecode::data::Matrix::new(rows, 2, (0..rows * 2).map(|i| i as f32).collect()),
        stimuli: (0..rows).map(|s| s as f32).collect(),
    };
    let b = data.binned(4.0).unwrap();
    assert_eq!(b.stimuli, vec![1.5, 5.5, 9.5]);
    assert_eq!(b.resp.row(0), &[3.0, 4.0]);
    assert_eq!(b.resp.row(2), &[19.0, 20.0]);
    assert_eq!(data.binned(1.0).unwrap().stimuli, data.stimuli);
    assert!(
        data.binned(0.0)
            .unwrap_err()
            .to_string()
            .starts_with("bin_width: ")
    );
    // Rows out of order land in their bins; bins come out sorted.
    let shuffled = Dataset {
        resp: popdecode::data::Matrix::new(3, 1, vec![1.0, 2.0, 3.0]),
        stimuli: vec![350.0, 2.0, 3.0],
    };
    let b = shuffled.binned(10.0).unwrap();
    assert_eq!(b.stimuli, vec![2.5, 350.0]);
    assert_eq!(b.resp.data, vec![2.5, 1.0]);
}

#[test]
fn split_files_are_checked_against_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = tmp(&dir, "split.npz");
    Split {
        train: vec![0, 2, 4],
        test: vec![1, 3],
    }
    .save(&p)
    .unwrap();
    assert_eq!(
        Split::load(&p, 5).unwrap(),
        Split {
            train: vec![0, 2, 4],
            test: vec![1, 3]
        }
    );
    let e = err_text(Split::load(&p, 4).unwrap_err());
    assert!(
        e.contains("`itrain`") && e.contains("row 4 is out of range"),
        "{e}"
    );
    Split {
        train: vec![0, 1],
        test: vec![1],
    }
    .save(&p)
    .unwrap();
    let e = err_text(Split::load(&p, 4).unwrap_err());
    assert!(
        e.contains("`itest`") && e.contains("row 1 appears twice"),
        "{e}"
    );
    write(
        &p,
        &[
            ("itrain", Arr::F32(&[2], vec![0.0, 1.0])),
            ("itest", Arr::I32(&[1], vec![2])),
        ],
    );
    let e = err_text(Split::load(&p, 4).unwrap_err());
    assert!(e.contains("`itrain`") && e.contains("integer"), "{e}");
    write(&p, &[("itrain", Arr::I32(&[2], vec![0, 1]))]);
    let e = err_text(Split::load(&p, 4).unwrap_err());
    assert!(e.contains("missing key `itest`"), "{e}");
    // 32-bit indices, as a user might export them, are fine.
    write(
        &p,
        &[
            ("itrain", Arr::I32(&[2], vec![3, 1])),
            ("itest", Arr::I32(&[1], vec![0])),
        ],
    );
    assert_eq!(
        Split::load(&p, 4).unwrap(),
        Split {
            train: vec![3, 1],
            test: vec![0]
        }
    );
}

#[test]
fn the_drawn_split_is_seeded_and_sized_as_the_tutorial() {
    let a = Split::shuffled(360, 0.6, 4).unwrap();
    assert_eq!((a.train.len(), a.test.len()), (216, 144));
    assert_eq!(a, Split::shuffled(360, 0.6, 4).unwrap());
    assert_ne!(a, Split::shuffled(360, 0.6, 5).unwrap());
    let mut all: Vec<usize> = a.train.iter().chain(&a.test).copied().collect();
    all.sort();
    assert_eq!(all, (0..360).collect::<Vec<_>>());
    assert!(
        Split::shuffled(360, 1.0, 4)
            .unwrap_err()
            .to_string()
            .starts_with("train_fraction: ")
    );
    assert!(Split::shuffled(1, 0.6, 4).is_err());
}

#[test]
fn weight_files_round_trip_and_wrong_shapes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = tmp(&dir, "w.npz");
    let spec = Spec::tutorial(7, 3);
    let params = Params::init(&spec, 9);
    params.save(&p).unwrap();
    assert_eq!(Params::load(&p, &spec).unwrap(), params);
    let wider = Spec::tutorial(8, 3);
    let e = err_text(Params::load(&p, &wider).unwrap_err());
    assert!(
        e.contains("`in_layer.weight`") && e.contains("(3, 8)") && e.contains("(3, 7)"),
        "{e}"
    );
    // float64 weights from PyTorch (`.double()`) load too.
    let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let (input, output) = (params.input(), params.output());
    write(
        &p,
        &[
            ("in_layer.weight", Arr::F64(&[3, 7], f64s(&input.weight))),
            ("in_layer.bias", Arr::F64(&[3], f64s(&input.bias))),
            ("out_layer.weight", Arr::F64(&[1, 3], f64s(&output.weight))),
            ("out_layer.bias", Arr::F64(&[1], f64s(&output.bias))),
        ],
    );
    assert_eq!(Params::load(&p, &spec).unwrap(), params);
}

#[test]
fn writes_are_atomic_and_leave_nothing_behind_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let p = tmp(&dir, "out.npz");
    NpzOut::new()
        .f32("a", &[2], vec![1.0, 2.0])
        .write(&p)
        .unwrap();
    assert!(p.exists());
    let missing = dir.path().join("no/such/folder/out.npz");
    assert!(
        NpzOut::new()
            .f32("a", &[1], vec![1.0])
            .write(&missing)
            .is_err()
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "only the finished file remains: {names:?}");
}

#[test]
fn the_init_draw_has_pytorchs_bounds() {
    let spec = Spec::tutorial(400, 25);
    let p = Params::init(&spec, 1);
    let (input, output) = (p.input(), p.output());
    let within = |v: &[f32], fan_in: usize| {
        let b = 1.0 / (fan_in as f32).sqrt();
        v.iter().all(|&x| x.abs() <= b) && v.iter().any(|&x| x.abs() > 0.8 * b)
    };
    assert!(within(&input.weight, 400) && within(&input.bias, 400));
    assert!(within(&output.weight, 25) && within(&output.bias, 25) || output.bias[0].abs() <= 0.2);
    assert_eq!(p, Params::init(&spec, 1));
    assert_ne!(p, Params::init(&spec, 2));
}
