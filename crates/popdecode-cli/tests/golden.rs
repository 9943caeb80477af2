//! Pinned outputs: what `popdecode train` prints and every file of its run folder, and what `popdecode check`
//! prints, for the default run and a few others, compared with `tests/golden/<name>/`. A change that means to
//! change an output regenerates them (`POPDECODE_BLESS=1 cargo test --release --test golden`) in the same commit
//! and says why.
//!
//! What varies from run to run is masked before the comparison: times, dates, the run folder's path and the
//! binary's path. Text files are kept whole; figures and `.npz` files as an md5 (of each `.npz` member's
//! uncompressed bytes, since zip headers carry the write time).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use md5::{Digest, Md5};

/// One pinned run: a name and the arguments after `popdecode`.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "default",
        args: &["train", "--backend", "reference"],
    },
    Case {
        name: "classify",
        args: &["train", "--backend", "reference", "--task", "classify"],
    },
    Case {
        // The full width would take 45 s on the reference; 2,000 neurons exercise the same code.
        name: "deep-adam",
        args: &[
            "train",
            "--backend",
            "reference",
            "--neurons",
            "2000",
            "--hidden",
            "200,100,50",
            "--optimizer",
            "adam",
            "--lr",
            "1e-3",
        ],
    },
    Case {
        name: "circular",
        args: &["train", "--backend", "reference", "--loss", "circular"],
    },
];

fn golden_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// "2 threads" -> "# threads": the CPU backends use every core, and say how many.
fn mask_threads(text: &str) -> String {
    let mut parts: Vec<String> = text.split(" threads").map(str::to_string).collect();
    let last = parts.len() - 1;
    for part in &mut parts[..last] {
        let digits = part.len() - part.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            part.truncate(part.len() - digits);
            part.push('#');
        }
    }
    parts.join(" threads")
}

/// Replaces every number on a `time:` line, the thread count, and the paths that differ between runs.
fn mask_stdout(stdout: &str, out: &Path) -> String {
    let out = out.display().to_string();
    stdout
        .lines()
        .map(|line| {
            let line = mask_threads(&line.replace(&out, "<OUT>"));
            if line.starts_with("time: ") {
                mask_numbers(&line)
            } else {
                line
            }
        })
        .map(|l| l + "\n")
        .collect()
}

fn mask_numbers(line: &str) -> String {
    let mut masked = String::new();
    let mut in_number = false;
    for ch in line.chars() {
        if ch.is_ascii_digit() || (in_number && ch == '.') {
            if !in_number {
                masked.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            masked.push(ch);
        }
    }
    masked
}

/// summary.json without what varies between runs: the date, the timings and the paths.
fn mask_summary(text: &str, out: &Path) -> String {
    let mut v: serde_json::Value = serde_json::from_str(text).expect("summary.json is JSON");
    let out = out.display().to_string();
    let obj = v.as_object_mut().expect("summary.json is an object");
    obj.insert("created_utc".into(), "<DATE>".into());
    obj.insert("run_folder".into(), "<OUT>".into());
    if let Some(t) = obj.get_mut("timings").and_then(|t| t.as_object_mut()) {
        for (k, value) in t.iter_mut() {
            if k != "epochs" {
                *value = "<TIME>".into();
            }
        }
    }
    if let Some(cmd) = obj.get_mut("command").and_then(|c| c.as_array_mut()) {
        for (i, a) in cmd.iter_mut().enumerate() {
            if i == 0 {
                *a = "<BIN>".into();
            } else if let Some(s) = a.as_str() {
                *a = s.replace(&out, "<OUT>").into();
            }
        }
    }
    if let Some(c) = obj.get_mut("config").and_then(|c| c.as_object_mut())
        && c.get("out").is_some_and(|o| !o.is_null())
    {
        c.insert("out".into(), "<OUT>".into());
    }
    mask_threads(&serde_json::to_string_pretty(&v).expect("JSON prints")) + "\n"
}

/// md5 of each member's uncompressed bytes, "member md5" per line.
fn npz_digest(path: &Path) -> String {
    let file = std::fs::File::open(path).expect("the .npz opens");
    let mut zip = zip::ZipArchive::new(file).expect("a zip archive");
    let mut lines = BTreeMap::new();
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).expect("a member");
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).expect("the member reads");
        lines.insert(member.name().to_string(), md5_hex(&bytes));
    }
    lines
        .into_iter()
        .map(|(k, v)| format!("{k} {v}\n"))
        .collect()
}

/// Every output of one case, as file name -> expected text.
fn outputs(case: &Case) -> BTreeMap<String, String> {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("run");
    let mut args: Vec<String> = case.args.iter().map(|s| s.to_string()).collect();
    args.extend(["--out".into(), out.display().to_string()]);
    let run = Command::new(env!("CARGO_BIN_EXE_popdecode"))
        .args(&args)
        .current_dir(work.path())
        .output()
        .expect("popdecode runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}: {args:?} failed:\n{stdout}\n{}",
        case.name,
        String::from_utf8_lossy(&run.stderr)
    );
    let mut files = BTreeMap::new();
    files.insert("stdout.txt".to_string(), mask_stdout(&stdout, &out));
    let mut digests = String::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("the run folder")
        .map(|e| e.expect("an entry").path())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => {
                let text = std::fs::read_to_string(&path).unwrap();
                files.insert(name, mask_summary(&text, &out));
            }
            Some("csv") => {
                files.insert(name, std::fs::read_to_string(&path).unwrap());
            }
            Some("npz") => {
                for line in npz_digest(&path).lines() {
                    digests.push_str(&format!("{name}/{line}\n"));
                }
            }
            _ => {
                digests.push_str(&format!(
                    "{name} {}\n",
                    md5_hex(&std::fs::read(&path).unwrap())
                ));
            }
        }
    }
    files.insert("digests.txt".to_string(), digests);
    files
}

fn compare_or_bless(name: &str, got: BTreeMap<String, String>) {
    let dir = golden_dir(name);
    if std::env::var_os("POPDECODE_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in &got {
            std::fs::write(dir.join(file), text).unwrap();
        }
        return;
    }
    let mut failures = Vec::new();
    let mut expected_files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; bless with POPDECODE_BLESS=1", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected_files.sort();
    let got_files: Vec<String> = got.keys().cloned().collect();
    if expected_files != got_files {
        failures.push(format!(
            "files differ: expected {expected_files:?}, got {got_files:?}"
        ));
    }
    for (file, text) in &got {
        let want = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
        if &want != text {
            let first = want
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(want.lines().count().min(text.lines().count()));
            failures.push(format!(
                "{file}: first difference at line {}:\n  expected: {}\n  got:      {}",
                first + 1,
                want.lines().nth(first).unwrap_or("<end>"),
                text.lines().nth(first).unwrap_or("<end>")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: the outputs drifted from tests/golden/{name} (if that is meant, bless them with \
         POPDECODE_BLESS=1 and say why in the commit):\n{}",
        failures.join("\n")
    );
}

#[test]
fn train_outputs_are_the_pinned_ones() {
    for case in CASES {
        compare_or_bless(case.name, outputs(case));
    }
}

/// `check` on the software adapter at a small size: its printed relative errors pin the GPU's arithmetic.
#[test]
fn check_output_is_the_pinned_one() {
    for (name, extra) in [
        ("check-tutorial", &[][..]),
        ("check-general", &["--task", "classify", "--l2", "1e-3"][..]),
    ] {
        let mut args = vec![
            "check",
            "--neurons",
            "500",
            "--stimuli",
            "60",
            "--epochs",
            "5",
        ];
        args.extend(extra);
        let run = Command::new(env!("CARGO_BIN_EXE_popdecode"))
            .args(&args)
            .output()
            .expect("popdecode runs");
        let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(
            run.status.success(),
            "{args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let mut files = BTreeMap::new();
        files.insert("stdout.txt".to_string(), mask_threads(&stdout));
        compare_or_bless(name, files);
    }
}
