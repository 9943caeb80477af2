//! The examples of README.md and of every Markdown file in docs/, run as a user would run them (issue 15, item 1;
//! issue 21, items 6 and 7).
//!
//! What counts as an example, so that README.md and the docs can be written without thinking of this test:
//! - every line of a code block (indented, or fenced as `sh`, `bash` or `console`) that starts with `popdecode `
//!   or `cargo run --release -- ` (after an optional `$ `) is run by `bash` with the built binary first on `PATH`;
//!   `cargo run --release --` is the binary. Lines that begin `usage:` are synopses and are not run, nor is
//!   `cargo test`.
//! - a fenced `console` block is a command with its output: its first line is `$ COMMAND`, the rest is what the
//!   command prints: its stdout, then its stderr (notes, warnings and errors). A line `...` stands for any number of lines (a file shows the end of a long
//!   output that way); a last line `[exit: N]` says the command exits with N (otherwise it must exit 0).
//!
//! The files run one after the other in one scratch folder: README.md first, then the Markdown files of docs/ in the
//! order README first links them, then any README does not link, by path. One folder rather than one each, because
//! the docs are one manual cut into pages, read from the README: a later page's example may use what an earlier
//! one made (cli.md's `popdecode plot runs/neurons` draws the folder of the README's sweep, and its `collect` merges
//! the guide's shards), as a reader going through them in that order would find it. A command shown twice (the
//! README's tour repeats commands of the guide and of cli.md) runs once, at its first showing, and every showing is
//! compared with that run.
//!
//! Outputs are compared line by line after masking what differs between machines and runs: times and rates, run
//! folder stamps, adapter and thread counts in backend descriptions. Numbers are compared with a relative
//! tolerance of 1e-3 (f32 sums on different adapters round differently), and two numbers below 1e-5 in size are
//! equal (the relative errors that `check` prints are f32 rounding, different on every adapter).
//!
//! The tutorial's data file is not in the repository (docs/data.md), so `W3D4_stringer_oribinned1.npz` in the
//! scratch folder is the synthetic stand-in written by `popdecode synth` under that name; the examples' commands
//! run, and an output a file shows for the real file is not compared (it marks such a block `text`).
//!
//! No example fails for the time it takes (issue 21: an example that is slow on one machine is still correct):
//! what it prints and how it exits are checked, and timings are kept in BENCHMARKS.md. Each command's time is
//! printed on stderr, for the reader of a slow run.
//!
//! The files are read when the test runs, from the folder `repo_root` gives: the one place that knows where this
//! test lives in the repository.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use regex::Regex;

/// The repository's root, where README.md and docs/ are: two folders above this crate's (`crates/popdecode-cli/`).
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A Markdown file of the repository: its path from the root (as messages name it) and its text.
struct Doc {
    name: String,
    text: String,
}

/// Every Markdown file under `dir`, as paths from `root`.
fn markdown_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_under(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push(name.replace(std::path::MAIN_SEPARATOR, "/"));
        }
    }
}

/// README.md, then every Markdown file of docs/: those README links in the order it first links them, then the
/// others by path.
fn documents() -> Vec<Doc> {
    let root = repo_root();
    let read = |name: &str| Doc {
        name: name.to_string(),
        text: std::fs::read_to_string(root.join(name))
            .unwrap_or_else(|e| panic!("{}: {e}", root.join(name).display())),
    };
    let readme = read("README.md");
    let mut in_docs = Vec::new();
    markdown_under(&root, &root.join("docs"), &mut in_docs);
    in_docs.sort();
    let link = Regex::new(r"\]\((?:\./)?(docs/[^)#\s]+\.md)(?:#[^)\s]*)?\)").unwrap();
    let mut order: Vec<String> = Vec::new();
    for m in link.captures_iter(&readme.text) {
        let name = m[1].to_string();
        if in_docs.contains(&name) && !order.contains(&name) {
            order.push(name);
        }
    }
    for name in &in_docs {
        if !order.contains(name) {
            order.push(name.clone());
        }
    }
    let mut docs = vec![readme];
    docs.extend(order.iter().map(|n| read(n)));
    docs
}

/// One command to run, where its file has it, and the output the file shows for it (a `console` block).
#[derive(Debug)]
struct Example {
    file: String,
    line: usize,
    command: String,
    shown: Option<Shown>,
}

#[derive(Debug)]
struct Shown {
    lines: Vec<String>,
    exit: i32,
}

fn command_of(line: &str) -> Option<String> {
    let line = line.trim();
    let line = line.strip_prefix("$ ").unwrap_or(line);
    if line.starts_with("usage:") {
        return None;
    }
    if let Some(rest) = line.strip_prefix("cargo run --release -- ") {
        return Some(format!("popdecode {rest}"));
    }
    if line == "cargo run --release --" {
        return Some("popdecode".into());
    }
    line.starts_with("popdecode ").then(|| line.to_string())
}

/// The examples of a Markdown text, in order; `file` names it in messages.
fn examples(file: &str, markdown: &str) -> Vec<Example> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        // A fence may be indented, inside a list item; its lines are then indented as much.
        let indent = line.len() - line.trim_start().len();
        if let Some(info) = line.trim_start().strip_prefix("```") {
            let info = info.trim().to_string();
            let start = i;
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                let l = lines[i];
                let pad = l.len() - l.trim_start().len();
                body.push(&l[pad.min(indent)..]);
                i += 1;
            }
            i += 1;
            match info.as_str() {
                "console" => {
                    let Some(first) = body.first() else {
                        panic!("{file}:{}: an empty console block", start + 1)
                    };
                    let command = command_of(first).unwrap_or_else(|| {
                        panic!(
                            "{file}:{}: a console block starts with `$ popdecode ...`, not {first:?}",
                            start + 2
                        )
                    });
                    let mut shown: Vec<String> = body[1..].iter().map(|s| s.to_string()).collect();
                    let mut exit = 0;
                    if let Some(last) = shown.last()
                        && let Some(n) = last
                            .strip_prefix("[exit: ")
                            .and_then(|s| s.strip_suffix(']'))
                    {
                        exit = n.parse().expect("[exit: N] with a number");
                        shown.pop();
                    }
                    out.push(Example {
                        file: file.to_string(),
                        line: start + 2,
                        command,
                        shown: Some(Shown { lines: shown, exit }),
                    });
                }
                "sh" | "bash" => {
                    for (k, l) in body.iter().enumerate() {
                        if let Some(command) = command_of(l) {
                            out.push(Example {
                                file: file.to_string(),
                                line: start + 2 + k,
                                command,
                                shown: None,
                            });
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        if line.starts_with("    ") {
            // An indented block: every line indented by four.
            while i < lines.len() && (lines[i].starts_with("    ") || lines[i].trim().is_empty()) {
                if let Some(command) = command_of(lines[i]) {
                    out.push(Example {
                        file: file.to_string(),
                        line: i + 1,
                        command,
                        shown: None,
                    });
                }
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    out
}

/// What differs between machines and runs, masked.
struct Masks(Vec<(Regex, &'static str)>);

impl Masks {
    fn new() -> Masks {
        let r = |p: &str| Regex::new(p).unwrap();
        Masks(vec![
            // Backend descriptions: the adapter, the SIMD and the thread count are the machine's.
            (
                r(r"gpu: .*? \((Vulkan|Metal|Dx12|Gl), \w+\)"),
                "gpu: <ADAPTER>",
            ),
            (
                r(r"cpu \(f32, [^,]+, \d+ threads?\)"),
                "cpu (f32, <SIMD>, <N> threads)",
            ),
            (
                r(r"reference \(f64, \d+ threads?\)"),
                "reference (f64, <N> threads)",
            ),
            (r(r"\d+ threads? \(RAYON"), "<N> threads (RAYON"),
            (r(r"SIMD (AVX-512|AVX2\+FMA|SSE2|NEON)"), "SIMD <SIMD>"),
            // The adapters wgpu finds, as `info` lists them.
            (
                r(r"^\d+: .* \((Vulkan|Metal|Dx12|Gl), \w+\)"),
                "<N>: <ADAPTER>",
            ),
            // Run folder stamps.
            (
                r(r"runs/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d(-\d+)?"),
                "runs/<STAMP>",
            ),
            // Times and rates.
            (r(r"\d+(\.\d+)? (s|ms|us|µs)\b"), "<TIME>"),
            (r(r"\d+(\.\d+)? epochs/s"), "<RATE>"),
        ])
    }

    fn apply(&self, line: &str) -> String {
        let mut s = line.trim_end().to_string();
        for (re, with) in &self.0 {
            s = re.replace_all(&s, *with).into_owned();
        }
        s
    }
}

/// The line with its numbers taken out, and the numbers.
fn split_numbers(line: &str) -> (String, Vec<f64>) {
    let re = Regex::new(r"-?\d+(\.\d+)?([eE][-+]?\d+)?").unwrap();
    let numbers = re
        .find_iter(line)
        .map(|m| m.as_str().parse::<f64>().unwrap())
        .collect();
    (re.replace_all(line, "#").into_owned(), numbers)
}

fn same_number(a: f64, b: f64) -> bool {
    (a.abs() < 1e-5 && b.abs() < 1e-5) || (a - b).abs() <= 1e-3 * a.abs().max(b.abs())
}

fn same_line(masks: &Masks, shown: &str, printed: &str) -> bool {
    let (s, sn) = split_numbers(&masks.apply(shown));
    let (p, pn) = split_numbers(&masks.apply(printed));
    // Columns padded to a number's width move with its digits.
    let squeeze = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    squeeze(&s) == squeeze(&p)
        && sn.len() == pn.len()
        && sn.iter().zip(&pn).all(|(&a, &b)| same_number(a, b))
}

/// Whether `printed` matches `shown`, where a `...` line in `shown` stands for any number of lines.
fn matches(masks: &Masks, shown: &[String], printed: &[&str]) -> bool {
    match shown.split_first() {
        None => printed.is_empty(),
        Some((first, rest)) if first.trim() == "..." => {
            (0..=printed.len()).any(|k| matches(masks, rest, &printed[k..]))
        }
        Some((first, rest)) => printed
            .split_first()
            .is_some_and(|(p, prest)| same_line(masks, first, p) && matches(masks, rest, prest)),
    }
}

fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_popdecode"));
    let made = Command::new(&bin)
        .args(["synth", "--out", "W3D4_stringer_oribinned1.npz"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "synth for the tutorial file's stand-in failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    let path = bin.parent().unwrap().to_path_buf();
    (dir, path)
}

/// Runs `command` by bash in `dir`: its exit code, stdout, stderr, and seconds (printed, never checked).
fn run(dir: &Path, bin_dir: &Path, command: &str) -> (i32, String, String, f64) {
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let start = Instant::now();
    let out = Command::new("bash")
        .args(["-c", command])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed().as_secs_f64(),
    )
}

#[test]
fn the_parser_finds_commands_outputs_and_synopses() {
    let md = "Text\n\n    usage: popdecode train [--x]\n    popdecode train --out a   # note\n    \
              cargo run --release -- info\n    cargo test --release\n\n\
              ```console\n$ popdecode info\ncpu: cpu (f32, AVX2+FMA, 8 threads)\n...\nlast\n[exit: 3]\n```\n\n\
              ```python\npopdecode = 1\n```\n";
    let ex = examples("test.md", md);
    let commands: Vec<&str> = ex.iter().map(|e| e.command.as_str()).collect();
    assert_eq!(
        commands,
        [
            "popdecode train --out a   # note",
            "popdecode info",
            "popdecode info"
        ]
    );
    let shown = ex[2].shown.as_ref().unwrap();
    assert_eq!(shown.exit, 3);
    assert_eq!(
        shown.lines,
        ["cpu: cpu (f32, AVX2+FMA, 8 threads)", "...", "last"]
    );
}

#[test]
fn outputs_match_up_to_masks_and_tolerance_and_nothing_else() {
    let m = Masks::new();
    let shown = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let a = shown(&[
        "backend: cpu (f32, AVX-512, 2 threads)",
        "...",
        "loss 122.8906 in 1.352 s",
    ]);
    assert!(matches(
        &m,
        &a,
        &[
            "backend: cpu (f32, AVX2+FMA, 16 threads)",
            "x",
            "y",
            "loss 122.8912 in 9 s"
        ]
    ));
    // A number off by more than 1e-3, a word changed, a line missing: each is a mismatch.
    assert!(!matches(
        &m,
        &a,
        &["backend: cpu (f32, AVX2, 2 threads)", "loss 123.1 in 1 s"]
    ));
    assert!(!matches(
        &m,
        &a,
        &[
            "backend: gpu (f32, AVX2, 2 threads)",
            "loss 122.8906 in 1 s"
        ]
    ));
    assert!(!matches(&m, &a, &["backend: cpu (f32, AVX2, 2 threads)"]));
    // f32 rounding errors of any size below 1e-5 are the same; larger ones are not.
    assert!(same_line(
        &m,
        "rel. error 3.30e-7 ok",
        "rel. error 9.1e-8 ok"
    ));
    assert!(!same_line(
        &m,
        "rel. error 3.30e-3 ok",
        "rel. error 9.1e-4 ok"
    ));
}

#[test]
fn every_example_of_readme_and_docs_runs_and_prints_what_it_shows() {
    let docs = documents();
    assert!(
        docs.len() > 1,
        "no Markdown file in {}: has docs/ moved?",
        repo_root().join("docs").display()
    );
    let examples: Vec<Example> = docs
        .iter()
        .flat_map(|d| examples(&d.name, &d.text))
        .collect();
    for d in &docs {
        eprintln!(
            "{}: {} examples",
            d.name,
            examples.iter().filter(|e| e.file == d.name).count()
        );
    }
    assert!(
        examples.len() >= 20,
        "README.md and docs/ have {} examples: has the parser stopped finding them?",
        examples.len()
    );
    let (dir, bin_dir) = scratch();
    let masks = Masks::new();
    let mut failures = Vec::new();
    let mut done: Vec<(String, (i32, String, String, f64))> = Vec::new();
    for ex in &examples {
        let result = match done.iter().find(|(c, _)| *c == ex.command) {
            Some((_, r)) => r.clone(),
            None => {
                let r = run(dir.path(), &bin_dir, &ex.command);
                eprintln!(
                    "{}:{}: {} ({:.1} s, exit {})",
                    ex.file, ex.line, ex.command, r.3, r.0
                );
                done.push((ex.command.clone(), r.clone()));
                r
            }
        };
        let (code, stdout, stderr, _) = result;
        let want = ex.shown.as_ref().map_or(0, |s| s.exit);
        if code != want {
            failures.push(format!(
                "{}:{}: `{}` exited {code}, {} expects {want}; stderr:\n{stderr}",
                ex.file, ex.line, ex.command, ex.file
            ));
            continue;
        }
        if let Some(shown) = &ex.shown {
            let printed: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
            if !matches(&masks, &shown.lines, &printed) {
                failures.push(format!(
                    "{}:{}: `{}` printed\n{stdout}{stderr}\nand {} shows\n{}",
                    ex.file,
                    ex.line,
                    ex.command,
                    ex.file,
                    shown.lines.join("\n")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples of README.md and docs/ fail:\n\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n\n")
    );
}

/// The files a "Run folders and figures" table lists: a row per `name` (a `*.ext` row stands for every file of that
/// extension). The section is the guide's; any one file of README.md and docs/ may hold it.
fn run_folder_table(docs: &[Doc]) -> (String, Vec<String>) {
    let mut holding = docs.iter().filter_map(|d| {
        d.text
            .split("\n## ")
            .find(|s| s.starts_with("Run folders and figures"))
            .map(|section| (d.name.clone(), section))
    });
    let (file, section) = holding
        .next()
        .expect("README.md or a file of docs/ has a \"Run folders and figures\" section");
    assert!(
        holding.next().is_none(),
        "two files have a \"Run folders and figures\" section"
    );
    let row = Regex::new(r"^\| `([^`]+)`(, `([^`]+)`)* \|").unwrap();
    let name = Regex::new(r"`([^`]+)`").unwrap();
    let mut names = Vec::new();
    for line in section.lines() {
        if let Some(m) = row.find(line) {
            names.extend(name.captures_iter(m.as_str()).map(|c| c[1].to_string()));
        }
    }
    (file, names)
}

#[test]
fn the_run_folder_the_docs_describe_is_the_one_train_writes() {
    let (file, listed) = run_folder_table(&documents());
    assert!(
        listed.len() >= 7,
        "{file}'s run-folder table lists only {listed:?}"
    );
    let (dir, bin_dir) = scratch();
    for (out, flags) in [
        ("regress", ""),
        ("classify", " --task classify --classes 4"),
    ] {
        let (code, _, stderr, _) = run(
            dir.path(),
            &bin_dir,
            &format!(
                "popdecode train --backend cpu --neurons 300 --stimuli 60 --epochs 2 -q --out {out}{flags}"
            ),
        );
        assert_eq!(code, 0, "{stderr}");
        let mut written: Vec<String> = std::fs::read_dir(dir.path().join(out))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        written.sort();
        let described = |f: &str| {
            listed.iter().any(|l| match l.strip_prefix('*') {
                Some(ext) => f.ends_with(ext),
                None => l == f,
            })
        };
        let undescribed: Vec<&String> = written.iter().filter(|f| !described(f)).collect();
        assert!(
            undescribed.is_empty(),
            "{out}: {file}'s table does not list {undescribed:?}"
        );
        let missing: Vec<&String> = listed
            .iter()
            .filter(|l| !l.starts_with('*') && !written.contains(l))
            .collect();
        assert!(
            missing.is_empty(),
            "{out}: {file} lists {missing:?}, which train does not write"
        );
    }
}
