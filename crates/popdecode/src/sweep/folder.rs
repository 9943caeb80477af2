//! A cv or sweep run folder on disk: its CSV files, figures and summary.json, written atomically into a claimed
//! `RunFolder` (as `train`'s), and read back for `plot` and `collect`.

use std::path::{Path, PathBuf};

use crate::data::npz::write_atomically;
use crate::error::Result;
use crate::run::figures::{self, Formats};
use crate::run::folder::{RunFolder, SUMMARY, gated};
use crate::sweep::results::{FILES, SweepResults, read};
use crate::sweep::summary::SweepSummary;

/// Writes `results` (the CSV files), their figures unless `figures` is false (a shard's partial folder has
/// none), and `summary` (its `files` filled in here) into `folder`, then releases it.
pub fn write(
    folder: RunFolder,
    results: &SweepResults,
    mut summary: SweepSummary,
    formats: Formats,
    draw: bool,
) -> Result<(PathBuf, SweepSummary)> {
    for (name, text) in results.files() {
        gated(|| write_text(&folder.file(name), &text))?;
    }
    let mut files: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    files.insert(0, SUMMARY.to_string());
    if draw {
        let drawn = super::figures::draw_all(results)?;
        let paths = gated(|| figures::write(folder.path(), &drawn, formats))?;
        files.extend(
            paths
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
        );
    }
    summary.files = files;
    summary.run_folder = folder.path().display().to_string();
    gated(|| summary.save(&folder.file(SUMMARY)))?;
    Ok((folder.finish()?, summary))
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    write_atomically(path, |mut f| {
        std::io::Write::write_all(&mut f, text.as_bytes())
    })
}

/// The summary and results of the run folder `dir`.
pub fn load(dir: &Path) -> Result<(SweepSummary, SweepResults)> {
    let summary = SweepSummary::load(&dir.join(SUMMARY))?;
    let networks = read::networks(dir, summary.cell_values.len())?;
    let mut known: Vec<usize> = networks.iter().map(|n| n.network).collect();
    known.sort_unstable();
    let histories = read::histories(dir, &known)?;
    let predictions = read::predictions(dir, &known)?;
    // Each network's history is as long as networks.csv says, and it has its test rows' predictions.
    let mut epochs_of = std::collections::HashMap::new();
    for h in &histories {
        epochs_of.insert(h.network, h.train_loss.len());
    }
    let mut predicted_of = std::collections::HashMap::new();
    for p in &predictions {
        *predicted_of.entry(p.network).or_insert(0usize) += 1;
    }
    for n in &networks {
        let epochs = epochs_of.get(&n.network).copied().unwrap_or(0);
        let predicted = predicted_of.get(&n.network).copied().unwrap_or(0);
        if epochs != n.epochs || predicted == 0 {
            return Err(crate::error::Error::io(
                dir,
                std::io::Error::other(format!(
                    "network {} has {epochs} epochs in {} and {predicted} rows in {} where {} says {} epochs \
                     and some test rows: the files do not belong together",
                    n.network,
                    crate::sweep::results::HISTORIES,
                    crate::sweep::results::PREDICTIONS,
                    crate::sweep::results::NETWORKS,
                    n.epochs
                )),
            ));
        }
    }
    let varied = summary.varied.iter().map(|v| v.varied()).collect();
    let cells = SweepResults::cells_of(&networks, &summary.cell_values);
    let results = SweepResults {
        varied,
        folds: summary.folds.count.unwrap_or(1),
        repeats: summary.repeats,
        classifier: summary.classifier,
        baseline: summary.baseline,
        loss: summary.loss.clone(),
        networks,
        cells,
        histories,
        predictions,
    };
    Ok((summary, results))
}

/// Whether `dir`'s summary.json is a cv or sweep run's (it has a `kind`).
pub fn is_sweep(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(SUMMARY))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("kind").is_some())
}

/// Redraws the figures of the cv or sweep run folder `dir` from its files.
pub fn redraw(dir: &Path, formats: Formats) -> Result<Vec<PathBuf>> {
    let (_, results) = load(dir)?;
    let drawn = super::figures::draw_all(&results)?;
    figures::write(dir, &drawn, formats)
}
