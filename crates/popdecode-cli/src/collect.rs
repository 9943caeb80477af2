//! `popdecode collect OUT PART...`: merges the partial folders of a sharded cv or sweep (`--shard I/N`) into
//! the folder one unsharded run writes: the same CSV files byte for byte, the same figures, and a summary.json
//! that differs only in its circumstantial keys (`sweep::summary::CIRCUMSTANTIAL`: when, by which command, the
//! stacks, the timings). The parts must be all N shards of one run, each once, made by this version with the
//! same flags on the same data; anything else is refused naming the part.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use popdecode::Error;
use popdecode::run::folder::RunFolder;
use popdecode::sweep::folder;
use popdecode::sweep::plan::Shard;
use popdecode::sweep::results::SweepResults;
use popdecode::sweep::summary::{SweepSummary, SweepTimings, cells_json};

use super::args::FormatArg;

#[derive(Args)]
pub struct CollectArgs {
    /// The folder to write: new or empty, as --out.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// The partial folders, one per shard, in any order.
    #[arg(value_name = "PART", required = true)]
    pub parts: Vec<PathBuf>,
    #[command(flatten)]
    pub figures: FormatArg,
}

pub fn run(args: CollectArgs) -> Result<ExitCode> {
    let launched = Instant::now();
    popdecode::run::folder::check_available(&args.out)?;
    let mut parts = Vec::new();
    for p in &args.parts {
        let (summary, results) = folder::load(p)?;
        parts.push((p.clone(), summary, results));
    }
    let (first_path, first, _) = &parts[0];
    let refuse = |path: &PathBuf, what: String| -> anyhow::Error {
        Error::bad_argument("PART", format!("{}: {what}", path.display())).into()
    };
    let count = match first.shard {
        Some(s) => s.count,
        None => {
            return Err(refuse(
                first_path,
                "is not a shard's folder (it has no `shard` in summary.json)".into(),
            ));
        }
    };
    let shared = |s: &SweepSummary| {
        let mut v = s.essential();
        if let Some(o) = v.as_object_mut() {
            for k in [
                "shard", "trained", "diverged", "cells", "files", "status", "adapter",
            ] {
                o.remove(k);
            }
        }
        v
    };
    let reference = shared(first);
    let mut seen: Vec<Option<PathBuf>> = vec![None; count];
    for (path, s, _) in &parts {
        let Some(shard) = s.shard else {
            return Err(refuse(
                path,
                "is not a shard's folder (it has no `shard` in summary.json)".into(),
            ));
        };
        if shard.count != count {
            return Err(refuse(
                path,
                format!(
                    "is shard {}/{} where {} is of {count}",
                    shard.index,
                    shard.count,
                    first_path.display()
                ),
            ));
        }
        if s.status != "complete" {
            return Err(refuse(
                path,
                format!("is {}: run its shard again", s.status),
            ));
        }
        if shared(s) != reference {
            let what = [
                "popdecode_version",
                "kind",
                "config",
                "data",
                "folds",
                "repeats",
                "varied",
                "networks",
            ]
            .into_iter()
            .find(|k| shared(s).get(k) != reference.get(k))
            .unwrap_or("summary");
            return Err(refuse(
                path,
                format!(
                    "its `{what}` differs from {}'s: the parts must come from one run",
                    first_path.display()
                ),
            ));
        }
        if let Some(other) = seen[shard.index - 1].replace(path.clone()) {
            return Err(refuse(
                path,
                format!(
                    "is shard {}/{count}, as {} is",
                    shard.index,
                    other.display()
                ),
            ));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_none())
        .map(|(i, _)| format!("{}/{count}", i + 1))
        .collect();
    if !missing.is_empty() {
        return Err(Error::bad_argument(
            "PART",
            format!(
                "shard {} missing: collect needs all {count} parts",
                missing.join(", ")
            ),
        )
        .into());
    }

    // Each part must hold exactly its shard's networks.
    let total = first.networks;
    let mut merged: Option<SweepResults> = None;
    let mut train_s = 0.0;
    let mut stacks = Vec::new();
    for (path, s, r) in &parts {
        let shard = s
            .shard
            .map(|x| Shard {
                index: x.index,
                count: x.count,
            })
            .expect("checked");
        let expected: Vec<usize> = (0..total).filter(|&n| shard.holds(n)).collect();
        let got: Vec<usize> = r.networks.iter().map(|n| n.network).collect();
        if got != expected {
            return Err(refuse(
                path,
                format!(
                    "holds networks {} where shard {}/{count} holds {}",
                    short_list(&got),
                    shard.index,
                    short_list(&expected)
                ),
            ));
        }
        train_s += s.timings.train_s;
        stacks.extend(s.stacks.iter().cloned());
        match &mut merged {
            None => merged = Some(r.clone()),
            Some(m) => {
                m.networks.extend(r.networks.iter().cloned());
                m.histories.extend(r.histories.iter().cloned());
                m.predictions.extend(r.predictions.iter().copied());
            }
        }
    }
    let mut results = merged.expect("at least one part");
    results.networks.sort_by_key(|n| n.network);
    results.histories.sort_by_key(|h| h.network);
    results.predictions.sort_by_key(|p| p.network);
    results.cells = SweepResults::cells_of(&results.networks, &first.cell_values);

    let adapters: Vec<&str> = {
        let mut a: Vec<&str> = parts.iter().map(|(_, s, _)| s.adapter.as_str()).collect();
        a.sort_unstable();
        a.dedup();
        a
    };
    let mut summary = first.clone();
    summary.shard = None;
    summary.trained = results.networks.len();
    summary.diverged = results
        .networks
        .iter()
        .filter(|n| n.status == "diverged")
        .count();
    summary.status = "complete".into();
    summary.adapter = adapters.join("; ");
    summary.stacks = stacks;
    summary.command = std::env::args().collect();
    summary.created_utc = popdecode::run::folder::iso_utc(std::time::SystemTime::now());
    summary.cells = cells_json(&results);
    summary.timings = SweepTimings {
        train_s,
        wall_s: launched.elapsed().as_secs_f64(),
    };
    let out = RunFolder::claim(Some(&args.out))?;
    let (dir, summary) = folder::write(out, &results, summary, args.figures.formats, true)?;
    for line in super::print::sweep_table(&results) {
        crate::say!("{line}");
    }
    crate::say!(
        "run: {} ({} shards, {} networks; {} files)",
        dir.display(),
        count,
        results.networks.len(),
        summary.files.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// "0, 3, 6, ... (34 networks)".
fn short_list(v: &[usize]) -> String {
    let head: Vec<String> = v.iter().take(4).map(usize::to_string).collect();
    if v.len() > 4 {
        format!("{}, ... ({} networks)", head.join(", "), v.len())
    } else if v.is_empty() {
        "none".to_string()
    } else {
        head.join(", ")
    }
}
