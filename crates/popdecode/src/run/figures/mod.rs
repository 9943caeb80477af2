//! The tutorial's figures, as SVG files drawn with plotters from a run folder's files alone, and PNG copies of
//! them (`png`).
//!
//! | file | what it shows |
//! | --- | --- |
//! | `loss` | training and test loss per epoch, log y axis |
//! | `decoded` | decoded against true orientation on the test stimuli (identity line; or bins and their edges) |
//! | `data` | the first 100 neurons' responses as a heatmap, and three neurons' tuning curves |
//! | `weights` | W_in with neurons sorted by preferred orientation, W_out beside it; hidden-unit rows numbered |
//! | `hidden` | the hidden units' tuning curves, one small panel per unit, numbered as in `weights` |
//! | `summary` | the tutorial's two panels: the loss curves beside decoded against true |
//! | `confusion` | classifiers only: test stimuli counted by true bin and decoded bin |
//!
//! Text is written as SVG `<text>` in the generic `sans-serif` family, so the SVG needs no font files; heatmaps are
//! small PNG images inside the SVG (see `raster`). `train` draws the figures by reading back the files it has just
//! written, exactly as `popdecode plot DIR` does, so a redraw gives the same bytes.

pub mod confusion;
pub mod data_matrix;
pub mod decoded;
pub mod hidden;
pub mod loss;
pub mod png;
pub mod raster;
pub mod style;
pub mod summary;
pub mod weights;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::backend::History;
use crate::data::npz::write_atomically;
use crate::error::{Error, Result};
use crate::run::folder::{DATA_FILES, HISTORY, PREDICTIONS, SUMMARY, TUNING, WEIGHTS};
use crate::run::history::read_history_csv;
use crate::run::layer_weights::LayerWeights;
use crate::run::predictions::{Predictions, Task, loss_label};
use crate::run::summary::RunSummary;
use crate::run::tuning_curves::TuningCurves;

/// The figures' names (each file is the name and the format's extension), in the order they are drawn; the
/// confusion figure is drawn for classifiers only.
pub const NAMES: [&str; 7] = [
    loss::NAME,
    decoded::NAME,
    data_matrix::NAME,
    weights::NAME,
    hidden::NAME,
    summary::NAME,
    confusion::NAME,
];

/// The figures a run of `task` has.
pub fn names(task: Task) -> Vec<&'static str> {
    NAMES
        .into_iter()
        .filter(|&n| n != confusion::NAME || matches!(task, Task::Classification { .. }))
        .collect()
}

/// Which files each figure is written as (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Formats {
    pub svg: bool,
    pub png: bool,
}

impl Formats {
    pub const BOTH: Formats = Formats {
        svg: true,
        png: true,
    };

    /// "svg,png", "png", ...: a comma-separated list of `svg` and `png`.
    pub fn parse(list: &str) -> std::result::Result<Formats, String> {
        let mut f = Formats {
            svg: false,
            png: false,
        };
        for item in list.split(',').map(str::trim) {
            match item {
                "svg" => f.svg = true,
                "png" => f.png = true,
                _ => {
                    return Err(format!(
                        "expected figure formats svg and png, comma-separated (svg,png), found `{item}`"
                    ));
                }
            }
        }
        Ok(f)
    }

    /// The extensions written, as summary.json records them: `["svg", "png"]`.
    pub fn extensions(self) -> Vec<&'static str> {
        [("svg", self.svg), ("png", self.png)]
            .into_iter()
            .filter(|e| e.1)
            .map(|e| e.0)
            .collect()
    }
}

impl Serialize for Formats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.extensions().serialize(s)
    }
}

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
    /// Its name, without extension: `loss`.
    pub name: &'static str,
    pub svg: String,
}

impl Figure {
    /// Its file name in a format: `loss.png`.
    pub fn file(&self, extension: &str) -> String {
        format!("{}.{extension}", self.name)
    }
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
            format!("{name}.svg"),
            std::io::Error::other(format!("drawing the figure failed: {e}")),
        )),
    }
}

/// Draws every figure of the run (`names`).
pub fn draw_all(d: &FigureData) -> Result<Vec<Figure>> {
    let label = loss_label(&d.loss);
    let shown = hidden::units_shown(&d.tuning, &d.weights);
    let mut figures = vec![
        drawn(loss::NAME, loss::draw(&d.history, label))?,
        drawn(decoded::NAME, decoded::draw(&d.predictions))?,
        drawn(data_matrix::NAME, data_matrix::draw(&d.tuning))?,
        drawn(
            weights::NAME,
            weights::draw(&d.weights, &d.tuning.preferred_deg, &d.network, &shown),
        )?,
        drawn(hidden::NAME, hidden::draw(&d.tuning, &d.weights))?,
        drawn(
            summary::NAME,
            summary::draw(&d.history, label, &d.predictions),
        )?,
    ];
    if let Task::Classification { .. } = d.task {
        figures.push(drawn(confusion::NAME, confusion::draw(&d.predictions))?);
    }
    Ok(figures)
}

/// Writes figures into `dir` in `formats`, each file atomically; returns their paths, each figure's SVG before its
/// PNG. The PNGs are rendered in parallel.
pub fn write(dir: &Path, figures: &[Figure], formats: Formats) -> Result<Vec<PathBuf>> {
    let pngs: Vec<Option<Vec<u8>>> = figures
        .par_iter()
        .map(|f| {
            formats
                .png
                .then(|| png::render(&f.svg, png::SCALE))
                .transpose()
                .map_err(|e| Error::io(dir.join(f.file("png")), std::io::Error::other(e)))
        })
        .collect::<Result<_>>()?;
    let mut paths = Vec::new();
    for (f, png) in figures.iter().zip(&pngs) {
        let files = [
            ("svg", formats.svg.then_some(f.svg.as_bytes())),
            ("png", png.as_deref()),
        ];
        for (extension, bytes) in files {
            if let Some(bytes) = bytes {
                let path = dir.join(f.file(extension));
                write_atomically(&path, |mut file| {
                    std::io::Write::write_all(&mut file, bytes)
                })?;
                paths.push(path);
            }
        }
    }
    Ok(paths)
}

/// Reads a finished run folder as `plot` does: summary.json, then the figures' data from the other files.
pub fn load_run(dir: &Path) -> Result<(RunSummary, FigureData)> {
    check_complete(dir, &DATA_FILES)?;
    let summary = RunSummary::load(&dir.join(SUMMARY))?;
    let data = FigureData::read(dir, &summary)?;
    Ok((summary, data))
}

/// `popdecode plot DIR`: redraws every figure of a run folder from its files, in `formats`.
pub fn redraw(dir: &Path, formats: Formats) -> Result<Vec<PathBuf>> {
    let (_, data) = load_run(dir)?;
    write(dir, &draw_all(&data)?, formats)
}
