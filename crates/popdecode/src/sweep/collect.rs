//! Merging the partial folders of a sharded cv or sweep (`shard` in their summary.json) into what one unsharded
//! run finds: the same tables (so the same CSV files byte for byte, the same figures) and a summary that differs
//! only in its circumstantial keys (`summary::CIRCUMSTANTIAL`). The parts must be all N shards of one run, each
//! once, complete, made by this version with the same settings on the same data, each holding exactly its
//! shard's networks; anything else is refused naming the part. The caller writes the folder
//! (`sweep::folder::write`) after setting when and by which command.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::sweep::folder;
use crate::sweep::plan::Shard;
use crate::sweep::results::SweepResults;
use crate::sweep::summary::{SweepSummary, SweepTimings, cells_json};

/// The merged run: its tables, its summary (the parts' stacks, their training times summed, their adapters
/// joined; `command`, `created_utc` and `timings.wall_s` as the first part has them, for the caller to set),
/// and how many shards it came from.
#[derive(Clone, Debug)]
pub struct Collected {
    pub summary: SweepSummary,
    pub results: SweepResults,
    pub shards: usize,
}

/// Reads and merges `parts` (in any order).
pub fn collect(parts: &[PathBuf]) -> Result<Collected> {
    let mut loaded = Vec::new();
    for p in parts {
        let (summary, results) = folder::load(p)?;
        loaded.push((p.clone(), summary, results));
    }
    let Some((first_path, first, _)) = loaded.first() else {
        return Err(Error::MissingShards("no parts to collect".into()));
    };
    let refuse = |path: &PathBuf, what: String| Error::BadPart {
        path: path.clone(),
        what,
    };
    let not_a_shard = "is not a shard's folder (it has no `shard` in summary.json)";
    let count = match first.shard {
        Some(s) => s.count,
        None => return Err(refuse(first_path, not_a_shard.into())),
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
    for (path, s, _) in &loaded {
        let Some(shard) = s.shard else {
            return Err(refuse(path, not_a_shard.into()));
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
        let essential = shared(s);
        if essential != reference {
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
            .find(|k| essential.get(k) != reference.get(k))
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
        return Err(Error::MissingShards(format!(
            "shard {} missing: collect needs all {count} parts",
            missing.join(", ")
        )));
    }

    // Each part must hold exactly its shard's networks.
    let total = first.networks;
    let mut merged: Option<SweepResults> = None;
    let mut train_s = 0.0;
    let mut stacks = Vec::new();
    for (path, s, r) in &loaded {
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

    let mut adapters: Vec<&str> = loaded.iter().map(|(_, s, _)| s.adapter.as_str()).collect();
    adapters.sort_unstable();
    adapters.dedup();
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
    summary.cells = cells_json(&results);
    summary.timings = SweepTimings {
        train_s,
        wall_s: summary.timings.wall_s,
    };
    Ok(Collected {
        summary,
        results,
        shards: count,
    })
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
