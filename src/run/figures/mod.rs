//! The tutorial's figures, as SVG files drawn with plotters from a run folder's files alone.
//!
//! | file | what it shows |
//! | --- | --- |
//! | `loss.svg` | training and test loss per epoch, log y axis |
//! | `decoded.svg` | decoded against true orientation on the test stimuli (identity line; or bins and their edges) |
//! | `data.svg` | the first 100 neurons' responses as a heatmap, and three neurons' tuning curves |
//! | `weights.svg` | W_in with neurons sorted by preferred orientation, W_out beside it |
//! | `hidden.svg` | the hidden units' tuning curves |
//!
//! Text is written as SVG `<text>` in the generic `sans-serif` family, so drawing needs no font files; heatmaps are
//! small PNG images inside the SVG (see `raster`). `train` draws the figures by reading back the files it has just
//! written, exactly as `popdecode plot DIR` does, so a redraw gives the same bytes.

pub mod data_matrix;
pub mod decoded;
pub mod hidden;
pub mod loss;
pub mod raster;
pub mod style;
pub mod weights;

use std::path::{Path, PathBuf};

use crate::backend::History;
use crate::data::npz::write_atomically;
use crate::error::{Error, Result};
use crate::run::folder::{DATA_FILES, HISTORY, PREDICTIONS, SUMMARY, TUNING, WEIGHTS};
use crate::run::history::read_history_csv;
use crate::run::layer_weights::LayerWeights;
use crate::run::predictions::{Predictions, Task, loss_label};
use crate::run::summary::RunSummary;
use crate::run::tuning_curves::TuningCurves;

/// The figures' file names, in the order they are drawn.
pub const NAMES: [&str; 5] = [
    loss::NAME,
    decoded::NAME,
    data_matrix::NAME,
    weights::NAME,
    hidden::NAME,
];

/// Everything the figures show, as read from a run folder.
#[derive(Clone, Debug)]
pub struct FigureData {
    pub task: Task,
    /// The loss's name in summary.json: "mse", "circular" or "nll".
    pub loss: String,
    /// The network, in words, for the weights figure's title.
    pub network: String,
    pub history: History,
    pub predictions: Predictions,
    pub weights: LayerWeights,
    pub tuning: TuningCurves,
}

/// One drawn figure.
pub struct Figure {
    pub name: &'static str,
    pub svg: String,
}

impl FigureData {
    /// Reads the figures' data from `dir`, whose summary is `summary` (read from `dir` by `plot`, or about to be
    /// written there by `train`). Every file is checked to be there first, and a missing one is named.
    pub fn read(dir: &Path, summary: &RunSummary) -> Result<FigureData> {
        check_complete(dir, &DATA_FILES[1..])?;
        Ok(FigureData {
            task: summary.task,
            loss: summary.metrics.loss.clone(),
            network: summary.network.description.clone(),
            history: read_history_csv(&dir.join(HISTORY))?,
            predictions: Predictions::read_csv(&dir.join(PREDICTIONS), summary.task)?,
            weights: LayerWeights::read(&dir.join(WEIGHTS))?,
            tuning: TuningCurves::load(&dir.join(TUNING))?,
        })
    }
}

/// Fails, naming the first missing file, unless `dir` holds all of `files`.
pub fn check_complete(dir: &Path, files: &[&str]) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such run folder (train --out DIR makes one)",
            ),
        ));
    }
    for name in files {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(Error::io(
                &path,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "missing: a run folder holds {}, and the figures are drawn from them",
                        DATA_FILES.join(", ")
                    ),
                ),
            ));
        }
    }
    Ok(())
}

fn drawn(name: &'static str, result: style::Drawn<String>) -> Result<Figure> {
    match result {
        Ok(svg) => Ok(Figure { name, svg }),
        Err(e) => Err(Error::io(
            name,
            std::io::Error::other(format!("drawing the figure failed: {e}")),
        )),
    }
}

/// Draws every figure.
pub fn draw_all(d: &FigureData) -> Result<Vec<Figure>> {
    Ok(vec![
        drawn(loss::NAME, loss::draw(&d.history, loss_label(&d.loss)))?,
        drawn(decoded::NAME, decoded::draw(&d.predictions))?,
        drawn(data_matrix::NAME, data_matrix::draw(&d.tuning))?,
        drawn(
            weights::NAME,
            weights::draw(&d.weights, &d.tuning.preferred_deg, &d.network),
        )?,
        drawn(hidden::NAME, hidden::draw(&d.tuning, &d.weights))?,
    ])
}

/// Writes figures into `dir`, each atomically; returns their paths.
pub fn write(dir: &Path, figures: &[Figure]) -> Result<Vec<PathBuf>> {
    figures
        .iter()
        .map(|f| {
            let path = dir.join(f.name);
            write_atomically(&path, |mut file| {
                std::io::Write::write_all(&mut file, f.svg.as_bytes())
            })?;
            Ok(path)
        })
        .collect()
}

/// Reads a finished run folder as `plot` does: summary.json, then the figures' data from the other files.
pub fn load_run(dir: &Path) -> Result<(RunSummary, FigureData)> {
    check_complete(dir, &DATA_FILES)?;
    let summary = RunSummary::load(&dir.join(SUMMARY))?;
    let data = FigureData::read(dir, &summary)?;
    Ok((summary, data))
}

/// `popdecode plot DIR`: redraws every figure of a run folder from its files.
pub fn redraw(dir: &Path) -> Result<Vec<PathBuf>> {
    let (_, data) = load_run(dir)?;
    write(dir, &draw_all(&data)?)
}
