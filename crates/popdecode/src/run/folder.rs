//! A run folder: where `train` leaves everything a run made, and where `plot` finds it again.
//!
//! A folder is claimed before training and never shared: an explicit `--out DIR` must be new or empty, and the
//! default, `runs/<YYYY-MM-DD_HH-MM-SS>` (UTC), takes a `-2`, `-3`, ... suffix when that name is taken. While a run
//! writes, a claim file (`.popdecode-writing`) keeps a second run out: it names the process (PID, its start time,
//! the boot) and the run holds an exclusive lock on it (flock), which the kernel drops when the process ends
//! however it ends. A claim nobody holds locked is stale (its run was killed): the next run into the folder takes
//! it over, removes what the dead run left, and says so on stderr. The claim is removed when the run ends. Every
//! file in the folder is written atomically (`write_atomically`: a temporary file, then a rename). A run that
//! fails, or is stopped by a second signal, removes the folder it created (or empties again the empty `--out`
//! folder it was given): a folder is complete or absent.

use std::fs;
use std::io::{ErrorKind, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

pub const SUMMARY: &str = "summary.json";
pub const HISTORY: &str = "history.csv";
pub const PREDICTIONS: &str = "predictions.csv";
pub const WEIGHTS: &str = "weights.npz";
pub const TUNING: &str = "tuning.npz";
/// The run's split, `itrain` and `itest` (int64, 0-based rows of the binned data): what `--split` reads.
pub const SPLIT: &str = "split.npz";
/// The run's initial weights, PyTorch `state_dict` names: what `--init` reads.
pub const INIT: &str = "init.npz";

/// The files a complete run folder holds besides its figures, in the order `plot` checks them. With `split.npz`
/// and `init.npz`, PyTorch can replay the run (README, "Replaying a run in PyTorch").
pub const DATA_FILES: [&str; 7] = [SUMMARY, SPLIT, INIT, HISTORY, PREDICTIONS, WEIGHTS, TUNING];

/// Where default run folders go, relative to the working directory.
pub const DEFAULT_PARENT: &str = "runs";

const CLAIM: &str = ".popdecode-writing";

/// A claimed run folder. Dropping it without `finish` (a failed run) removes the claim and everything the run
/// wrote: the folder itself if this run created it.
#[derive(Debug)]
pub struct RunFolder {
    path: PathBuf,
    created: bool,
    finished: bool,
    /// The claim file, held locked while the run lives.
    _claim: fs::File,
}

/// The folders claimed and not yet finished (with whether this run created them), and the other folders where
/// this process writes temporary files (`--save`'s, `--history`'s): what `abandon_all` cleans when a second
/// signal ends the process at once.
static LIVE: Mutex<Vec<(PathBuf, bool)>> = Mutex::new(Vec::new());
static TEMP_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Notes the folder of an output `file`, where this process writes a temporary file beside it, for `abandon_all`.
pub fn watch_temp_dir(file: &Path) {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if let Ok(mut dirs) = TEMP_DIRS.lock() {
        dirs.push(dir);
    }
}

/// Held while one output file is written (`gated`), and by `abandon_all` until the process exits: a file is
/// never written into a folder being removed.
static GATE: Mutex<()> = Mutex::new(());

/// Runs `write` (one output file's writing) unless the process is being abandoned, in which case it waits for
/// the exit.
pub fn gated<T>(write: impl FnOnce() -> T) -> T {
    let _gate = GATE.lock().unwrap_or_else(|e| e.into_inner());
    write()
}

/// Removes every claimed folder's claim and contents (the folder itself where this run created it) and this
/// process's temporary files in the watched folders: for a process about to exit at once. Waits for a file
/// being written, then keeps any other from starting until the process exits.
/// Whether an unfinished folder was removed.
pub fn abandon_all() -> bool {
    std::mem::forget(GATE.lock().unwrap_or_else(|e| e.into_inner()));
    let live = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
    for (path, created) in &live {
        remove_contents(path, *created);
    }
    let dirs = TEMP_DIRS.lock().map(|d| d.clone()).unwrap_or_default();
    for dir in dirs {
        remove_own_temp_files(&dir);
    }
    !live.is_empty()
}

/// `write_atomically`'s temporary files of this process in `dir` (`.NAME.tmp-PID`).
fn remove_own_temp_files(dir: &Path) {
    let suffix = format!(".tmp-{}", std::process::id());
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(&suffix) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Removes what a run wrote in `path`: the folder itself if the run `created` it, else everything in it (it was
/// empty when claimed).
fn remove_contents(path: &Path, created: bool) {
    if created {
        let _ = fs::remove_dir_all(path);
        return;
    }
    for entry in fs::read_dir(path).into_iter().flatten().flatten() {
        let p = entry.path();
        let _ = match entry.file_type() {
            Ok(t) if t.is_dir() => fs::remove_dir_all(&p),
            _ => fs::remove_file(&p),
        };
    }
}

/// Who holds a claim: the claim file's text.
fn claim_text() -> String {
    let pid = std::process::id();
    format!(
        "pid {pid}\nstarted {}\nboot {}\n",
        process_start(pid).unwrap_or_default(),
        boot_id().unwrap_or_default()
    )
}

/// A process's start time in clock ticks after boot (/proc/PID/stat, field 22): with the PID and the boot, it
/// names a process even after its PID is reused.
fn process_start(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19).map(str::to_string)
}

fn boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

/// Whether the process a claim's text names is running: same boot, that PID alive with that start time.
fn claimant_alive(text: &str) -> bool {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
    };
    let (Some(pid), Some(started), boot) = (
        field("pid ").and_then(|p| p.parse::<u32>().ok()),
        field("started "),
        field("boot "),
    ) else {
        return false;
    };
    if boot.is_some() && boot != boot_id() {
        return false;
    }
    process_start(pid).is_some_and(|s| s == started)
}

/// The claim in `dir`, locked by this process, if it is stale (nobody holds it locked and the process it names
/// is gone); with the text it held.
fn take_stale_claim(dir: &Path) -> Option<(fs::File, String)> {
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join(CLAIM))
        .ok()?;
    file.try_lock().ok()?;
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    (!claimant_alive(&text)).then_some((file, text))
}

/// The claim in `dir`, written and locked before it appears under its name (a hard link), so that no other run
/// ever sees it unlocked or empty.
fn create_claim(dir: &Path) -> std::io::Result<fs::File> {
    let tmp = dir.join(format!("{CLAIM}.tmp-{}", std::process::id()));
    let mut file = fs::File::create(&tmp)?;
    let made = file
        .try_lock()
        .map_err(std::io::Error::other)
        .and_then(|()| file.write_all(claim_text().as_bytes()))
        .and_then(|()| fs::hard_link(&tmp, dir.join(CLAIM)));
    let _ = fs::remove_file(&tmp);
    made.map(|()| file)
}

/// Fails if `out` could not become a run folder: it exists and is not an empty folder. Checked before any work, so
/// that a long run is not started only to be refused at the end; `RunFolder::claim` checks again.
pub fn check_available(out: &Path) -> Result<()> {
    if out.exists() {
        check_empty_folder(out)?;
    }
    Ok(())
}

fn check_empty_folder(out: &Path) -> Result<()> {
    if !out.is_dir() {
        return Err(Error::invalid(
            "out",
            format!("{} exists and is not a folder", out.display()),
        ));
    }
    let mut entries: Vec<String> = fs::read_dir(out)
        .map_err(|e| Error::io(out, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if entries.iter().any(|e| e == CLAIM) && take_stale_claim(out).is_some() {
        // A killed run's: `claim` takes it over.
        return Ok(());
    }
    if entries.iter().any(|e| e == CLAIM) {
        return Err(Error::invalid(
            "out",
            format!(
                "{} is being written by another popdecode run (it holds {CLAIM}, locked by a running process)",
                out.display()
            ),
        ));
    }
    if !entries.is_empty() {
        entries.sort();
        let shown: Vec<&str> = entries.iter().take(4).map(String::as_str).collect();
        return Err(Error::invalid(
            "out",
            format!(
                "{} already holds files ({}{}); a run never overwrites another's: choose a new folder, or \
                 remove this one",
                out.display(),
                shown.join(", "),
                if entries.len() > shown.len() {
                    ", ..."
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(())
}

/// Takes over `dir`, whose stale claim `claim` (locked here) held `text`: removes what the dead run left, says so
/// on stderr, and writes this process into the claim.
fn take_over(dir: &Path, mut claim: fs::File, text: &str) -> Result<fs::File> {
    let mut left: Vec<String> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != CLAIM)
        .collect();
    left.sort();
    log::warn!(
        "{} was claimed by a popdecode run that is gone ({}); taking it over{}",
        dir.display(),
        match text.trim() {
            "" => "an empty claim".to_string(),
            t => t.replace('\n', ", "),
        },
        if left.is_empty() {
            String::new()
        } else {
            format!(" and removing what it left: {}", left.join(", "))
        }
    );
    for name in &left {
        let p = dir.join(name);
        let removed = if p.is_dir() && !p.is_symlink() {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        };
        removed.map_err(|e| Error::io(&p, e))?;
    }
    claim
        .set_len(0)
        .and_then(|()| claim.rewind())
        .and_then(|()| claim.write_all(claim_text().as_bytes()))
        .map_err(|e| Error::io(dir.join(CLAIM), e))?;
    Ok(claim)
}

impl RunFolder {
    /// Claims `out`, which must be new or an empty folder (its parents are created), or, without `out`, a new
    /// folder `runs/<UTC date-time>` under the working directory.
    pub fn claim(out: Option<&Path>) -> Result<RunFolder> {
        let (path, created) = match out {
            Some(out) => {
                let created = match out.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => {
                        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                        fs::create_dir(out)
                    }
                    _ => fs::create_dir(out),
                };
                match created {
                    Ok(()) => (out.to_path_buf(), true),
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        check_empty_folder(out)?;
                        (out.to_path_buf(), false)
                    }
                    Err(e) => return Err(Error::io(out, e)),
                }
            }
            None => (
                new_default_folder(Path::new(DEFAULT_PARENT), SystemTime::now())?,
                true,
            ),
        };
        let claim = match create_claim(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => match take_stale_claim(&path) {
                Some((file, text)) => take_over(&path, file, &text)?,
                None => {
                    return Err(Error::invalid(
                        "out",
                        format!(
                            "{} is being written by another popdecode run",
                            path.display()
                        ),
                    ));
                }
            },
            Err(e) => {
                if created {
                    let _ = fs::remove_dir(&path);
                }
                return Err(Error::io(path.join(CLAIM), e));
            }
        };
        let folder = RunFolder {
            path,
            created,
            finished: false,
            _claim: claim,
        };
        if let Ok(mut live) = LIVE.lock() {
            live.push((folder.path.clone(), created));
        }
        // Another run may have claimed and filled the folder between the check and the claim.
        let others = fs::read_dir(&folder.path)
            .map_err(|e| Error::io(&folder.path, e))?
            .filter_map(|e| e.ok())
            .any(|e| e.file_name() != CLAIM);
        if others {
            // Not this run's files: give the claim back and leave them.
            let mut folder = folder;
            let _ = fs::remove_file(folder.path.join(CLAIM));
            folder.finished = true;
            folder.release();
            return Err(Error::invalid(
                "out",
                format!(
                    "{} was filled by another run while this one started",
                    folder.path.display()
                ),
            ));
        }
        log::info!("run folder {}", folder.path.display());
        Ok(folder)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Ends the run: removes the claim and leaves the folder as it is.
    pub fn finish(mut self) -> Result<PathBuf> {
        let claim = self.path.join(CLAIM);
        fs::remove_file(&claim).map_err(|e| Error::io(&claim, e))?;
        self.finished = true;
        self.release();
        Ok(self.path.clone())
    }

    /// Off the list `abandon_all` cleans.
    fn release(&self) {
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|(p, _)| p != &self.path);
        }
    }
}

impl Drop for RunFolder {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        remove_contents(&self.path, self.created);
        self.release();
    }
}

/// Creates `parent/<stamp>`, or `parent/<stamp>-2`, `-3`, ... if taken, and returns it.
fn new_default_folder(parent: &Path, now: SystemTime) -> Result<PathBuf> {
    fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let stamp = folder_stamp(now);
    for k in 1.. {
        let name = if k == 1 {
            stamp.clone()
        } else {
            format!("{stamp}-{k}")
        };
        let path = parent.join(name);
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    unreachable!("some suffix is free")
}

/// (year, month, day, hour, minute, second) in UTC.
fn utc_fields(t: SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `YYYY-MM-DD_HH-MM-SS` in UTC: the default run folder's name.
pub fn folder_stamp(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_fields(t);
    format!("{y:04}-{mo:02}-{d:02}_{h:02}-{mi:02}-{s:02}")
}

/// `YYYY-MM-DDTHH:MM:SSZ`: ISO 8601 in UTC, for summary.json.
pub fn iso_utc(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = utc_fields(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn utc_dates_match_known_instants() {
        assert_eq!(folder_stamp(at(0)), "1970-01-01_00-00-00");
        // 2000-02-29 12:34:56 UTC, a leap day.
        assert_eq!(iso_utc(at(951_827_696)), "2000-02-29T12:34:56Z");
        // 2024-12-31 23:59:59 UTC.
        assert_eq!(folder_stamp(at(1_735_689_599)), "2024-12-31_23-59-59");
        assert_eq!(iso_utc(at(1_735_689_600)), "2025-01-01T00:00:00Z");
    }

    #[test]
    fn default_folders_never_collide() {
        let dir = tempfile::tempdir().unwrap();
        let t = at(1_735_689_599);
        let a = new_default_folder(dir.path(), t).unwrap();
        let b = new_default_folder(dir.path(), t).unwrap();
        let c = new_default_folder(dir.path(), t).unwrap();
        assert!(a.ends_with("2024-12-31_23-59-59"));
        assert!(b.ends_with("2024-12-31_23-59-59-2"));
        assert!(c.ends_with("2024-12-31_23-59-59-3"));
    }

    #[test]
    fn an_explicit_folder_must_be_new_or_empty_and_is_claimed_once() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b/run");
        let folder = RunFolder::claim(Some(&out)).unwrap();
        assert!(out.join(CLAIM).exists());
        let err = RunFolder::claim(Some(&out)).unwrap_err().to_string();
        assert!(err.contains("another popdecode run"), "{err}");
        fs::write(folder.file("x.txt"), "x").unwrap();
        let path = folder.finish().unwrap();
        assert!(!path.join(CLAIM).exists());
        let err = RunFolder::claim(Some(&out)).unwrap_err().to_string();
        assert!(
            err.contains("already holds files (x.txt)") && err.contains("never overwrites"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(out.join("x.txt")).unwrap(), "x");
        // An empty existing folder will do, and a failed run leaves it as it found it.
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        drop(RunFolder::claim(Some(&empty)).unwrap());
        assert!(empty.is_dir() && fs::read_dir(&empty).unwrap().next().is_none());
        // A folder this run created is removed when the run fails before writing anything.
        let fresh = dir.path().join("fresh");
        drop(RunFolder::claim(Some(&fresh)).unwrap());
        assert!(!fresh.exists());
        // A file is not a folder.
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let err = check_available(&file).unwrap_err().to_string();
        assert!(err.contains("is not a folder"), "{err}");
    }
}
