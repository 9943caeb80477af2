//! A run folder: where `train` leaves everything a run made, and where `plot` finds it again.
//!
//! A folder is claimed before training and never shared: an explicit `--out DIR` must be new or empty, and the
//! default, `runs/<YYYY-MM-DD_HH-MM-SS>` (UTC), takes a `-2`, `-3`, ... suffix when that name is taken. While a run
//! writes, a claim file (`.popdecode-writing`, created exclusively) keeps a second run out; it is removed when the
//! run ends. Every file in the folder is written atomically (`write_atomically`: a temporary file, then a rename).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
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

/// A claimed run folder. Dropping it without `finish` (a failed run) removes the claim, and the folder too if this
/// run created it and left it empty.
#[derive(Debug)]
pub struct RunFolder {
    path: PathBuf,
    created: bool,
    finished: bool,
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
        return Err(Error::bad_argument(
            "--out",
            format!("{} exists and is not a folder", out.display()),
        ));
    }
    let mut entries: Vec<String> = fs::read_dir(out)
        .map_err(|e| Error::io(out, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if entries.iter().any(|e| e == CLAIM) {
        return Err(Error::bad_argument(
            "--out",
            format!(
                "{} is being written by another popdecode run (it holds {CLAIM}; remove that file if no run is)",
                out.display()
            ),
        ));
    }
    if !entries.is_empty() {
        entries.sort();
        let shown: Vec<&str> = entries.iter().take(4).map(String::as_str).collect();
        return Err(Error::bad_argument(
            "--out",
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
        let claim = path.join(CLAIM);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&claim)
        {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(Error::bad_argument(
                    "--out",
                    format!(
                        "{} is being written by another popdecode run",
                        path.display()
                    ),
                ));
            }
            Err(e) => return Err(Error::io(&claim, e)),
        }
        let folder = RunFolder {
            path,
            created,
            finished: false,
        };
        // Another run may have claimed and filled the folder between the check and the claim.
        let others = fs::read_dir(&folder.path)
            .map_err(|e| Error::io(&folder.path, e))?
            .filter_map(|e| e.ok())
            .any(|e| e.file_name() != CLAIM);
        if others {
            return Err(Error::bad_argument(
                "--out",
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
        self.finished = true;
        let claim = self.path.join(CLAIM);
        fs::remove_file(&claim).map_err(|e| Error::io(&claim, e))?;
        Ok(self.path.clone())
    }
}

impl Drop for RunFolder {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let _ = fs::remove_file(self.path.join(CLAIM));
        if self.created {
            // Only succeeds if the failed run left the folder empty.
            let _ = fs::remove_dir(&self.path);
        }
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
