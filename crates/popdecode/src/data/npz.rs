//! Reading and writing `.npz` archives (NumPy's `np.savez`), with errors that name the file and the key.
//!
//! Float arrays are accepted as float32 or float64 and come out as `f32`; index arrays as any integer type.
//! Fortran-ordered 2-D arrays are transposed into row-major order. Writes are atomic: a temporary file in the
//! same folder, renamed over the target once complete, so a failed write never leaves half a file behind.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use npyz::WriterBuilder;
use npyz::npz::{NpzArchive, NpzWriter};
// The zip crate npyz is built on (and re-exports): its archive and writer options are what npyz's take and give.
use npyz::zip;

use super::Matrix;
use crate::error::{Error, Result};

/// An open `.npz` archive.
pub struct NpzFile {
    path: PathBuf,
    archive: NpzArchive<BufReader<File>>,
    file_len: u64,
}

struct Raw {
    shape: Vec<usize>,
    fortran: bool,
    values: Values,
}

enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    U64(Vec<u64>),
    Other(String),
}

impl Values {
    fn descr(&self) -> String {
        match self {
            Values::F32(_) => "float32".into(),
            Values::F64(_) => "float64".into(),
            Values::I64(_) | Values::U64(_) => "integer".into(),
            Values::Other(d) => d.clone(),
        }
    }
}

/// An array as stored: its shape and its elements in row-major order.
pub struct Array<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

impl NpzFile {
    pub fn open(path: &Path) -> Result<NpzFile> {
        // Opening a FIFO would wait for a writer, maybe forever: anything but a regular file is refused first.
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if !meta.is_file() {
            return Err(Error::io(
                path,
                std::io::Error::other(format!(
                    "{}; expected a regular .npz file",
                    node_kind(&meta)
                )),
            ));
        }
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let archive = NpzArchive::new(BufReader::new(file)).map_err(|e| Error::NotNpz {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(NpzFile {
            path: path.to_path_buf(),
            archive,
            file_len,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the arrays in the archive, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.archive.array_names().map(str::to_string).collect();
        keys.sort();
        keys
    }

    pub fn contains(&self, key: &str) -> bool {
        self.archive.array_names().any(|k| k == key)
    }

    /// An error about `key` in this file.
    pub fn bad(&self, key: &str, what: impl Into<String>) -> Error {
        Error::BadArray {
            path: self.path.clone(),
            key: key.to_string(),
            what: what.into(),
        }
    }

    fn missing(&self, key: &str) -> Error {
        let keys = self.keys();
        Error::MissingKey {
            path: self.path.clone(),
            key: key.to_string(),
            found: if keys.is_empty() {
                "no arrays".to_string()
            } else {
                keys.join(", ")
            },
        }
    }

    /// The shape of `key` from its header alone, checked as a read would check it (the element count, and the
    /// bytes it needs against the member's), without reading or allocating its elements.
    pub fn shape(&mut self, key: &str) -> Result<Vec<usize>> {
        match member_shape(self.archive.zip_archive(), self.file_len, key) {
            Ok(Some(shape)) => Ok(shape),
            Ok(None) => Err(self.missing(key)),
            Err(e) => Err(self.bad(key, e)),
        }
    }

    /// Reads `key` as stored; the archive borrow ends here, so callers can build errors from `self`.
    fn raw(&mut self, key: &str) -> Result<Raw> {
        match read_member(self.archive.zip_archive(), self.file_len, key) {
            Ok(Some(raw)) => Ok(raw),
            Ok(None) => Err(self.missing(key)),
            Err(e) => Err(self.bad(key, e)),
        }
    }

    /// A float32 or float64 array, as `f32`, checked to hold only finite numbers.
    pub fn array_f32(&mut self, key: &str) -> Result<Array<f32>> {
        let a = self.array_f32_any(key)?;
        if let Some(i) = a.data.iter().position(|x| !x.is_finite()) {
            return Err(self.bad(
                key,
                format!(
                    "element {i} is {}: expected finite numbers only (no NaN or Inf)",
                    a.data[i]
                ),
            ));
        }
        Ok(a)
    }

    /// A float32 or float64 array, as `f32`, NaN and Inf allowed: for what a run wrote itself (the weights of a
    /// run that diverged), never for data.
    pub fn array_f32_any(&mut self, key: &str) -> Result<Array<f32>> {
        let Raw {
            shape,
            fortran,
            values,
        } = self.raw(key)?;
        let mut data: Vec<f32> = match values {
            Values::F32(v) => v,
            Values::F64(v) => v.into_iter().map(|x| x as f32).collect(),
            other => {
                return Err(self.bad(
                    key,
                    format!("expected float32 or float64, found dtype {}", other.descr()),
                ));
            }
        };
        if fortran && shape.len() == 2 {
            data = transpose(&data, shape[0], shape[1]);
        } else if fortran && shape.len() > 2 {
            return Err(self.bad(
                key,
                "Fortran-ordered arrays of more than 2 dimensions are not supported",
            ));
        }
        Ok(Array { shape, data })
    }

    /// An integer array (any width, signed or not), as `i64`.
    pub fn array_i64(&mut self, key: &str) -> Result<Array<i64>> {
        let Raw { shape, values, .. } = self.raw(key)?;
        let data = match values {
            Values::I64(v) => v,
            Values::U64(v) => v
                .into_iter()
                .map(|x| i64::try_from(x).unwrap_or(i64::MAX))
                .collect(),
            other => {
                return Err(self.bad(
                    key,
                    format!("expected an integer array, found dtype {}", other.descr()),
                ));
            }
        };
        Ok(Array { shape, data })
    }

    /// A vector of numbers, float (finite) or integer of any width, as `f64`, shaped (N,) or (N, 1): for values a
    /// user may have stored either way (`np.arange(360)` makes int64 degrees).
    pub fn vector_f64(&mut self, key: &str) -> Result<Vec<f64>> {
        let Raw { shape, values, .. } = self.raw(key)?;
        let data: Vec<f64> = match values {
            Values::F32(v) => v.into_iter().map(f64::from).collect(),
            Values::F64(v) => v,
            Values::I64(v) => v.into_iter().map(|x| x as f64).collect(),
            Values::U64(v) => v.into_iter().map(|x| x as f64).collect(),
            Values::Other(d) => {
                return Err(self.bad(
                    key,
                    format!("expected float or integer numbers, found dtype {d}"),
                ));
            }
        };
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(self.bad(
                key,
                format!(
                    "element {i} is {}: expected finite numbers only (no NaN or Inf)",
                    data[i]
                ),
            ));
        }
        match shape[..] {
            [_] | [_, 1] => Ok(data),
            _ => Err(self.bad(
                key,
                format!(
                    "expected shape (N,) or (N, 1), found {}",
                    show_shape(&shape)
                ),
            )),
        }
    }

    /// A 2-D float array.
    pub fn matrix_f32(&mut self, key: &str) -> Result<Matrix> {
        let a = self.array_f32(key)?;
        self.matrix_of(key, a)
    }

    /// A 2-D float array, NaN and Inf allowed (see `array_f32_any`).
    pub fn matrix_f32_any(&mut self, key: &str) -> Result<Matrix> {
        let a = self.array_f32_any(key)?;
        self.matrix_of(key, a)
    }

    fn matrix_of(&self, key: &str, a: Array<f32>) -> Result<Matrix> {
        match a.shape[..] {
            [rows, cols] => Ok(Matrix::new(rows, cols, a.data)),
            _ => Err(self.bad(
                key,
                format!("expected a 2-D array, found shape {}", show_shape(&a.shape)),
            )),
        }
    }

    /// A float vector, shaped (N,) or (N, 1) (a column, as PyTorch code often stores one).
    pub fn vector_f32(&mut self, key: &str) -> Result<Vec<f32>> {
        let a = self.array_f32(key)?;
        match a.shape[..] {
            [_] | [_, 1] => Ok(a.data),
            _ => Err(self.bad(
                key,
                format!(
                    "expected shape (N,) or (N, 1), found {}",
                    show_shape(&a.shape)
                ),
            )),
        }
    }

    /// A float array of exactly `shape`; a vector of N also matches (N, 1) and (1, N), and the reverse.
    pub fn exact_f32(&mut self, key: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let a = self.array_f32(key)?;
        self.exact_of(key, a, shape)
    }

    /// As `exact_f32`, NaN and Inf allowed (see `array_f32_any`).
    pub fn exact_f32_any(&mut self, key: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let a = self.array_f32_any(key)?;
        self.exact_of(key, a, shape)
    }

    fn exact_of(&self, key: &str, a: Array<f32>, shape: &[usize]) -> Result<Vec<f32>> {
        let squeeze = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
        if a.shape != shape && squeeze(&a.shape) != squeeze(shape) {
            return Err(self.bad(
                key,
                format!(
                    "expected shape {}, found {}",
                    show_shape(shape),
                    show_shape(&a.shape)
                ),
            ));
        }
        Ok(a.data)
    }
}

/// Integers of any width but 64 bits, as i64.
fn widen<T: Into<i64>>(v: std::io::Result<Vec<T>>) -> std::io::Result<Values> {
    v.map(|v| Values::I64(v.into_iter().map(Into::into).collect()))
}

fn shape_of(shape: &[u64]) -> Vec<usize> {
    shape.iter().map(|&d| d as usize).collect()
}

/// NumPy's way of writing a shape: `(3,)`, `(360, 23589)`.
pub fn show_shape(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn float_size(dtype: &npyz::DType) -> Option<u64> {
    match dtype {
        npyz::DType::Plain(ts) if ts.type_char() == npyz::TypeChar::Float => Some(ts.size_field()),
        _ => None,
    }
}

/// (signed, bytes) for integer dtypes.
fn int_kind(dtype: &npyz::DType) -> Option<(bool, u64)> {
    match dtype {
        npyz::DType::Plain(ts) => match ts.type_char() {
            npyz::TypeChar::Int => Some((true, ts.size_field())),
            npyz::TypeChar::Uint => Some((false, ts.size_field())),
            _ => None,
        },
        _ => None,
    }
}

/// Row-major (rows x cols) from column-major storage.
fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for c in 0..cols {
        for r in 0..rows {
            out[r * cols + c] = data[c * rows + r];
        }
    }
    out
}

/// Arrays to be written to one `.npz` file, in order.
#[derive(Default)]
pub struct NpzOut {
    arrays: Vec<(String, Vec<u64>, Payload)>,
}

enum Payload {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl NpzOut {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn f32(mut self, key: &str, shape: &[usize], data: Vec<f32>) -> Self {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "{key}: shape and data disagree"
        );
        self.arrays.push((
            key.to_string(),
            shape.iter().map(|&d| d as u64).collect(),
            Payload::F32(data),
        ));
        self
    }

    pub fn i64(mut self, key: &str, data: Vec<i64>) -> Self {
        self.arrays
            .push((key.to_string(), vec![data.len() as u64], Payload::I64(data)));
        self
    }

    /// Writes the archive atomically to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        // Built in memory, then written whole: a full disk fails one write_all with the file's name, rather than
        // inside the zip writer (whose drop would complain on stderr).
        let build = || -> std::io::Result<Vec<u8>> {
            let mut bytes = std::io::Cursor::new(Vec::new());
            let mut npz = NpzWriter::new(&mut bytes);
            // A fixed time (1980-01-01, the zip epoch) rather than now: the same arrays give the same bytes.
            let options = zip::write::FileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .last_modified_time(zip::DateTime::default());
            for (key, shape, payload) in &self.arrays {
                match payload {
                    Payload::F32(data) => {
                        let mut w = npz
                            .array::<f32>(key, options)?
                            .default_dtype()
                            .shape(shape)
                            .begin_nd()?;
                        w.extend(data.iter().copied())?;
                        w.finish()?;
                    }
                    Payload::I64(data) => {
                        let mut w = npz
                            .array::<i64>(key, options)?
                            .default_dtype()
                            .shape(shape)
                            .begin_nd()?;
                        w.extend(data.iter().copied())?;
                        w.finish()?;
                    }
                }
            }
            npz.zip_writer().finish()?;
            drop(npz);
            Ok(bytes.into_inner())
        };
        let bytes = build().map_err(|e| Error::io(path, e))?;
        write_atomically(path, |mut file| file.write_all(&bytes))
    }
}

/// What a file type is, in words, for refusing to write over it.
pub fn node_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device node"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// The file an output to `path` really writes: a symlink's target (written through, never replaced), refused
/// when it is anything but a regular file or a new name.
fn output_target(path: &Path) -> Result<PathBuf> {
    let refuse = |p: &Path, what: String| Err(Error::io(p, std::io::Error::other(what)));
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(t) => t,
            Err(_) => {
                return refuse(
                    path,
                    "a symbolic link to nothing; not writing through it".into(),
                );
            }
        },
        _ => path.to_path_buf(),
    };
    match std::fs::metadata(&target) {
        Ok(meta) if !meta.is_file() => refuse(
            path,
            format!("{}; expected a regular file", node_kind(&meta)),
        ),
        _ => Ok(target),
    }
}

/// Writes `path` through a temporary file beside it, renamed over `path` only once `write` succeeded.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(File) -> std::io::Result<()>,
) -> Result<()> {
    let target = output_target(path)?;
    let path = target.as_path();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::io(path, std::io::Error::other("not a file name")))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = File::create(&tmp)
        .and_then(write)
        .and_then(|()| injected_failure(path))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// For tests of what a full disk leaves: `POPDECODE_FAIL_WRITE=NAME` makes writing any output whose file name is
/// NAME fail as a full disk would, once its temporary file is written (README, "Exit codes").
fn injected_failure(path: &Path) -> std::io::Result<()> {
    match std::env::var_os("POPDECODE_FAIL_WRITE") {
        Some(name) if path.file_name() == Some(name.as_os_str()) => Err(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "no space left on device (POPDECODE_FAIL_WRITE)",
        )),
        _ => Ok(()),
    }
}

/// The longest `.npy` header accepted, as NumPy's `max_header_size`.
const MAX_HEADER: usize = 10_000;

/// Deflate cannot shrink data by more than about 1032 to 1; a member that claims more is refused before anything
/// is allocated for it.
const MAX_DEFLATE_RATIO: u64 = 1100;

/// A `.npy` header as NumPy writes it, checked before npyz sees it.
struct Header {
    descr: String,
    shape: Vec<u64>,
}

/// The member `key.npy`, its claimed sizes checked against the file's; `Ok(None)` when there is no such member.
fn open_member<'a>(
    zip: &'a mut zip::ZipArchive<BufReader<File>>,
    file_len: u64,
    member: &str,
) -> std::result::Result<Option<zip::read::ZipFile<'a>>, String> {
    let zf = match zip.by_name(member) {
        Ok(zf) => zf,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("cannot read the member {member}: {e}")),
    };
    let size = zf.size();
    let packed = zf.compressed_size();
    if packed > file_len {
        return Err(format!(
            "member {member} claims {packed} bytes but the file holds {file_len}"
        ));
    }
    let ratio_ok = match zf.compression() {
        zip::CompressionMethod::Stored => size == packed,
        _ => size <= packed.saturating_mul(MAX_DEFLATE_RATIO).max(1 << 20),
    };
    if !ratio_ok {
        return Err(format!(
            "member {member} claims {size} bytes from {packed} compressed: not a valid archive"
        ));
    }
    Ok(Some(zf))
}

/// The shape in the member `key.npy`'s header, checked by `checked_header`; `Ok(None)` when there is no such
/// member.
fn member_shape(
    zip: &mut zip::ZipArchive<BufReader<File>>,
    file_len: u64,
    key: &str,
) -> std::result::Result<Option<Vec<usize>>, String> {
    let member = npyz::npz::file_name_from_array_name(key);
    let Some(mut zf) = open_member(zip, file_len, &member)? else {
        return Ok(None);
    };
    let size = zf.size();
    let (_, header, _) = checked_header(&mut zf, size, &member)?;
    Ok(Some(shape_of(&header.shape)))
}

/// Reads the member `key.npy`: its header bounded and checked, its size checked against the member's length and
/// against the memory this machine has free, its CRC-32 checked (by zip) once read to its end. `Ok(None)` when there is no such
/// member.
fn read_member(
    zip: &mut zip::ZipArchive<BufReader<File>>,
    file_len: u64,
    key: &str,
) -> std::result::Result<Option<Raw>, String> {
    let member = npyz::npz::file_name_from_array_name(key);
    let Some(zf) = open_member(zip, file_len, &member)? else {
        return Ok(None);
    };
    let size = zf.size();
    let mut zf = zf;
    let outcome = read_npy(&mut zf, size, &member);
    // Read to the end: zip checks the member's CRC-32 against the bytes read once the last of them is (its reader
    // then fails with "Invalid checksum"), and reads again after a failure fail the same way. That is said before
    // anything else, since a corrupt member explains every other complaint.
    if let Err(e) = std::io::copy(&mut zf, &mut std::io::sink()) {
        return Err(if e.to_string() == ZIP_BAD_CRC {
            format!("member {member}: bad CRC-32 (the file is corrupt)")
        } else {
            format!("member {member}: {e} (the file is corrupt)")
        });
    }
    outcome.map(Some)
}

/// The error zip's reader gives at the end of a member whose bytes do not match its CRC-32.
const ZIP_BAD_CRC: &str = "Invalid checksum";

fn read_npy<R: Read>(reader: &mut R, size: u64, member: &str) -> std::result::Result<Raw, String> {
    let (head, header, count) = checked_header(reader, size, member)?;
    // Its elements as stored, and a copy of them widened to 64 bits, narrowed to f32 or transposed.
    let needed = u128::from(count) * u128::from(item_size(&header.descr).unwrap_or(8) + 8);
    let free = crate::memory::available();
    if needed > free.bytes {
        return Err(format!(
            "shape {} of {} needs {} in memory, more than the {} this machine has free ({})",
            show_shape_u64(&header.shape),
            header.descr,
            crate::memory::show_bytes(needed),
            crate::memory::show_bytes(free.bytes),
            free.source
        ));
    }
    let npy = npyz::NpyFile::new(std::io::Cursor::new(head).chain(reader))
        .map_err(|e| format!("cannot read the array: {e}"))?;
    let shape = shape_of(npy.shape());
    let fortran = npy.order() == npyz::Order::Fortran;
    let dtype = npy.dtype();
    let values = match (float_size(&dtype), int_kind(&dtype)) {
        (Some(4), _) => npy.into_vec::<f32>().map(Values::F32),
        (Some(8), _) => npy.into_vec::<f64>().map(Values::F64),
        (_, Some((true, 1))) => widen(npy.into_vec::<i8>()),
        (_, Some((true, 2))) => widen(npy.into_vec::<i16>()),
        (_, Some((true, 4))) => widen(npy.into_vec::<i32>()),
        (_, Some((true, 8))) => npy.into_vec::<i64>().map(Values::I64),
        (_, Some((false, 1))) => widen(npy.into_vec::<u8>()),
        (_, Some((false, 2))) => widen(npy.into_vec::<u16>()),
        (_, Some((false, 4))) => widen(npy.into_vec::<u32>()),
        (_, Some((false, 8))) => npy.into_vec::<u64>().map(Values::U64),
        _ => Ok(Values::Other(dtype.descr())),
    };
    values
        .map(|values| Raw {
            shape,
            fortran,
            values,
        })
        .map_err(|e| format!("cannot read the array: {e}"))
}

/// The `.npy` header of a member, bounded and checked: the header itself, the element count (no overflow) and the
/// bytes those elements need against the member's `size`. Returns the bytes read, the header and the count.
fn checked_header<R: Read>(
    reader: &mut R,
    size: u64,
    member: &str,
) -> std::result::Result<(Vec<u8>, Header, u64), String> {
    let mut pre = [0u8; 8];
    reader
        .read_exact(&mut pre)
        .map_err(|_| format!("member {member} is too short to be a .npy array"))?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err(format!("member {member} is not a .npy array (bad magic)"));
    }
    let mut head = pre.to_vec();
    let len_bytes = match pre[6] {
        1 => 2,
        2 | 3 => 4,
        v => return Err(format!("member {member}: unsupported .npy version {v}")),
    };
    let mut len = [0u8; 4];
    reader
        .read_exact(&mut len[..len_bytes])
        .map_err(|_| format!("member {member} is too short to be a .npy array"))?;
    head.extend_from_slice(&len[..len_bytes]);
    let header_len = u32::from_le_bytes(len) as usize;
    if header_len > MAX_HEADER {
        return Err(format!(
            "member {member}: the .npy header is {header_len} bytes, more than the {MAX_HEADER} allowed"
        ));
    }
    let start = head.len();
    head.resize(start + header_len, 0);
    reader
        .read_exact(&mut head[start..])
        .map_err(|_| format!("member {member}: the .npy header is cut short"))?;
    let text = std::str::from_utf8(&head[start..])
        .map_err(|_| format!("member {member}: the .npy header is not text"))?;
    let header =
        parse_header(text).map_err(|e| format!("member {member}: bad .npy header: {e}"))?;
    let count = header
        .shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            format!(
                "shape {} has more elements than can exist",
                show_shape_u64(&header.shape)
            )
        })?;
    let data_bytes = size.saturating_sub(head.len() as u64);
    if let Some(item) = item_size(&header.descr) {
        let needed = count.checked_mul(item);
        if needed != Some(data_bytes) {
            return Err(format!(
                "shape {} of {} needs {} bytes but the member holds {data_bytes}",
                show_shape_u64(&header.shape),
                header.descr,
                needed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string())
            ));
        }
    }
    Ok((head, header, count))
}

fn show_shape_u64(shape: &[u64]) -> String {
    show_shape(&shape.iter().map(|&d| d as usize).collect::<Vec<_>>())
}

/// The element size of a plain numeric dtype (`<f4`, `|u1`, `>i8`, `|b1`); `None` for anything else.
fn item_size(descr: &str) -> Option<u64> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    let kind = chars.next()?;
    if !matches!(order, '<' | '>' | '|' | '=') || !matches!(kind, 'f' | 'i' | 'u' | 'b') {
        return None;
    }
    chars.as_str().parse().ok()
}

/// The header NumPy writes, and only that: `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` with
/// the keys in any order. No nesting beyond the shape's one tuple, so no parser can be made to take long.
fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let mut p = HeaderParser {
        s: text.trim_end().as_bytes(),
        i: 0,
    };
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.skip_space();
        if p.peek() == Some(b'}') {
            p.i += 1;
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        p.skip_space();
        match key.as_str() {
            "descr" if descr.is_none() => {
                if p.peek() != Some(b'\'') && p.peek() != Some(b'"') {
                    return Err(
                        "descr is not a plain dtype string (structured dtypes are not supported)"
                            .into(),
                    );
                }
                descr = Some(p.string()?);
            }
            "fortran_order" if fortran.is_none() => fortran = Some(p.boolean()?),
            "shape" if shape.is_none() => shape = Some(p.tuple()?),
            other => return Err(format!("unexpected or repeated key '{other}'")),
        }
        p.skip_space();
        match p.peek() {
            Some(b',') => p.i += 1,
            Some(b'}') => {}
            _ => return Err("expected ',' or '}' after a value".into()),
        }
    }
    if p.i != p.s.len() {
        return Err("text after the closing '}'".into());
    }
    match (descr, fortran, shape) {
        (Some(descr), Some(_), Some(shape)) => Ok(Header { descr, shape }),
        _ => Err("expected the keys 'descr', 'fortran_order' and 'shape'".into()),
    }
}

struct HeaderParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl HeaderParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        self.skip_space();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", c as char, self.i))
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        self.skip_space();
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.i)),
        };
        let start = self.i + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == quote)
            .ok_or("unterminated string")?;
        self.i = start + len + 1;
        String::from_utf8(self.s[start..start + len].to_vec())
            .map_err(|_| "string is not text".into())
    }

    fn boolean(&mut self) -> std::result::Result<bool, String> {
        let rest = &self.s[self.i..];
        if rest.starts_with(b"True") {
            self.i += 4;
            Ok(true)
        } else if rest.starts_with(b"False") {
            self.i += 5;
            Ok(false)
        } else {
            Err("fortran_order is not True or False".into())
        }
    }

    /// `()`, `(3,)`, `(3, 4)`: non-negative integers only.
    fn tuple(&mut self) -> std::result::Result<Vec<u64>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            self.skip_space();
            if self.peek() == Some(b')') {
                self.i += 1;
                return Ok(dims);
            }
            if dims.len() >= 32 {
                return Err("shape has more than 32 dimensions".into());
            }
            let start = self.i;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            if self.i == start {
                return Err("shape is not a tuple of non-negative integers".into());
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
            let d: u64 = digits
                .parse()
                .map_err(|_| format!("shape dimension {digits} is too large"))?;
            if self.peek() == Some(b'L') {
                self.i += 1;
            }
            dims.push(d);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b')') => {}
                _ => return Err("shape is not a tuple of non-negative integers".into()),
            }
        }
    }
}
