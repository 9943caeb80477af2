//! A cv or sweep run's summary.json: what was run (command, every flag, data, folds, the grid), where (backend,
//! stacks), how long, and each cell's cross-validated numbers. `collect` reads the parts' summaries to check
//! that they belong together, and `plot` to redraw.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::npz::write_atomically;
use crate::error::{Error, Result};
use crate::sweep::results::{METRICS, Stat, SweepResults, Varied};

/// The keys of summary.json that say when, how and how fast a run went rather than what it found: they
/// differ between a run and the same run collected from shards, and nowhere else.
pub const CIRCUMSTANTIAL: [&str; 5] = ["created_utc", "command", "run_folder", "stacks", "timings"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub popdecode_version: String,
    /// "cv" or "sweep".
    pub kind: String,
    pub created_utc: String,
    /// "complete" or "interrupted" (networks missing from networks.csv were not trained).
    pub status: String,
    pub run_folder: String,
    pub command: Vec<String>,
    /// Every setting, defaults included, by flag name (not --out, --shard and the console's flags).
    pub config: serde_json::Value,
    pub data: SweepData,
    pub folds: FoldRule,
    pub repeats: usize,
    pub varied: Vec<VariedInfo>,
    /// Each cell's varied values, in the grid's order (indices into `varied[i].values`).
    pub cell_values: Vec<Vec<usize>>,
    /// Networks the whole run plans (all shards), trained by this run (or its shard), and of those diverged.
    pub networks: usize,
    pub trained: usize,
    pub diverged: usize,
    /// Only in a shard's partial folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    pub classifier: bool,
    pub baseline: bool,
    /// The loss's name ("mse", "nll", "circular").
    pub loss: String,
    pub backend: String,
    /// The adapter, as `train` prints it.
    pub adapter: String,
    /// The stacks trained: how many networks each, of what shape, and how ("stacked" or "one by one").
    pub stacks: Vec<StackInfo>,
    pub timings: SweepTimings,
    /// Each cell's mean, SD, SEM and n of every metric (as cells.csv), by metric name.
    pub cells: Vec<serde_json::Value>,
    pub files: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepData {
    pub description: String,
    /// Of the --data file; null for the synthetic stand-in (its seed and size are in `config`).
    pub md5: Option<String>,
    pub neurons: usize,
    /// Stimuli after binning at --bin-width (the first value when bin-width is varied).
    pub stimuli: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldRule {
    /// K, or null for one train/test split (sweep without --folds).
    pub count: Option<usize>,
    pub seed: u64,
    pub rule: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariedInfo {
    pub name: String,
    pub values: Vec<String>,
    pub numbers: Vec<f64>,
    pub log: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub index: usize,
    pub count: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StackInfo {
    pub networks: usize,
    pub network: String,
    /// "stacked" or "one by one".
    pub path: String,
    /// Why a stack was trained one by one: what the backend's stacked path does not take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepTimings {
    /// Seconds training (all stacks, setup included), and from launch to the folder written.
    pub train_s: f64,
    pub wall_s: f64,
}

impl VariedInfo {
    pub fn of(v: &Varied) -> VariedInfo {
        VariedInfo {
            name: v.name.clone(),
            values: v.values.clone(),
            numbers: v.numbers.clone(),
            log: v.log,
        }
    }

    pub fn varied(&self) -> Varied {
        Varied {
            name: self.name.clone(),
            values: self.values.clone(),
            numbers: self.numbers.clone(),
            log: self.log,
        }
    }
}

/// Each cell of `results` as a JSON object: its varied values by name and each metric's statistics.
pub fn cells_json(results: &SweepResults) -> Vec<serde_json::Value> {
    results
        .cells
        .iter()
        .map(|c| {
            let mut o = serde_json::Map::new();
            o.insert("cell".into(), c.cell.into());
            for (v, &i) in results.varied.iter().zip(&c.values) {
                o.insert(v.name.clone(), v.values[i].clone().into());
            }
            for (m, st) in METRICS.iter().zip(&c.stats) {
                if let Some(Stat { mean, sd, sem, n }) = st {
                    o.insert(
                        m.to_string(),
                        serde_json::json!({"mean": mean, "sd": sd, "sem": sem, "n": n}),
                    );
                }
            }
            serde_json::Value::Object(o)
        })
        .collect()
}

impl SweepSummary {
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a summary serializes") + "\n";
        write_atomically(path, |mut f| {
            std::io::Write::write_all(&mut f, text.as_bytes())
        })
    }

    /// Reads a cv or sweep run's summary.json, refusing one that is not (a train run's, say) by name.
    pub fn load(path: &Path) -> Result<SweepSummary> {
        let len = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if len > 1 << 30 {
            return Err(Error::io(
                path,
                std::io::Error::other("larger than a summary.json can be"),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let s: SweepSummary = serde_json::from_str(&text).map_err(|e| {
            Error::io(
                path,
                std::io::Error::other(format!("not the summary.json of a cv or sweep run: {e}")),
            )
        })?;
        let cells = s.cell_values.len();
        let grid: usize = s.varied.iter().map(|v| v.values.len()).product();
        let fits = s
            .varied
            .iter()
            .all(|v| v.values.len() == v.numbers.len() && !v.values.is_empty())
            && cells == grid
            && s.cell_values.iter().all(|c| {
                c.len() == s.varied.len()
                    && c.iter().zip(&s.varied).all(|(&i, v)| i < v.values.len())
            })
            && s.repeats >= 1
            && s.trained <= s.networks
            && s.folds.count.is_none_or(|k| k >= 2);
        if !fits {
            return Err(Error::io(
                path,
                std::io::Error::other(
                    "its grid (varied, cell_values, repeats, networks) does not add up",
                ),
            ));
        }
        Ok(s)
    }

    /// The summary as JSON with the `CIRCUMSTANTIAL` keys removed: what a collected run and an unsharded one
    /// share exactly.
    pub fn essential(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("a summary serializes");
        if let Some(o) = v.as_object_mut() {
            for k in CIRCUMSTANTIAL {
                o.remove(k);
            }
        }
        v
    }
}
