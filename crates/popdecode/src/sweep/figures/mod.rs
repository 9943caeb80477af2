//! The figures of a cv or sweep run, drawn from `results::SweepResults` alone (so a redraw from the run folder's
//! CSV files gives the same bytes), in the house style of `run::figures`.
//!
//! | figure | what it shows |
//! | --- | --- |
//! | `metric_<name>` | per varied parameter: cross-validated median test error (and fraction correct) against its values |
//! | `learning_curves` | each cell's training and test loss per epoch: mean over its networks, min-max band |
//! | `decoded` | each cell's test predictions over its folds (every stimulus once per repeat) against the truth |
//! | `baseline` | with `--baseline` only: per fold, the network's repeats and the ridge baseline on the same fold |
//!
//! Statistics are recomputed from the networks' rows (non-finite metrics left out, as `Stat::of` does), so a
//! diverged network never reaches an axis; cells are always taken in their order in `cells`, never through a hash.

mod baseline;
mod decoded;
mod learning;
mod metric;

use std::collections::BTreeMap;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::results::{CellResult, NetworkHistory, NetworkResult, Prediction, Stat, SweepResults};
use crate::error::{Error, Result};
use crate::run::figures::Figure;
use crate::run::figures::style::*;

pub const LEARNING_CURVES: &str = "learning_curves";
pub const DECODED: &str = "decoded";
pub const BASELINE: &str = "baseline";

/// Indices into `results::METRICS`.
const TEST_MEDIAN: usize = 0;
const FRACTION_CORRECT: usize = 4;
const BASELINE_MEDIAN: usize = 5;

/// The metric figure of each `--vary` name; a name outside this list (a later addition) takes a numbered slot.
const METRIC_NAMES: [(&str, &str); 7] = [
    ("lr", "metric_lr"),
    ("hidden", "metric_hidden"),
    ("l1", "metric_l1"),
    ("l2", "metric_l2"),
    ("momentum", "metric_momentum"),
    ("bin-width", "metric_bin-width"),
    ("neurons", "metric_neurons"),
];
const METRIC_SLOTS: [&str; 8] = [
    "metric_1", "metric_2", "metric_3", "metric_4", "metric_5", "metric_6", "metric_7", "metric_8",
];

/// The metric figure's name of each varied parameter (index into `r.varied`), each name once.
fn metric_figures(r: &SweepResults) -> Vec<(usize, &'static str)> {
    let mut out: Vec<(usize, &'static str)> = Vec::new();
    for (i, v) in r.varied.iter().enumerate() {
        let name = METRIC_NAMES
            .iter()
            .find(|(n, _)| *n == v.name)
            .map(|(_, f)| *f)
            .or_else(|| METRIC_SLOTS.get(i).copied());
        if let Some(name) = name.filter(|n| out.iter().all(|(_, o)| o != n)) {
            out.push((i, name));
        }
    }
    out
}

/// The figures of `r`, in the order `draw_all` draws them.
pub fn names(r: &SweepResults) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = metric_figures(r).into_iter().map(|(_, n)| n).collect();
    names.extend([LEARNING_CURVES, DECODED]);
    if r.baseline {
        names.push(BASELINE);
    }
    names
}

fn drawn(name: &'static str, result: Drawn<String>) -> Result<Figure> {
    match result {
        Ok(svg) => Ok(Figure { name, svg }),
        Err(e) => Err(Error::io(
            format!("{name}.svg"),
            std::io::Error::other(format!("drawing the figure failed: {e}")),
        )),
    }
}

/// Draws every figure of `r` (`names`).
pub fn draw_all(r: &SweepResults) -> Result<Vec<Figure>> {
    let v = View::new(r);
    let mut figures = Vec::new();
    for (p, name) in metric_figures(r) {
        figures.push(drawn(name, metric::draw(&v, p))?);
    }
    figures.push(drawn(LEARNING_CURVES, learning::draw(&v))?);
    figures.push(drawn(DECODED, decoded::draw(&v))?);
    if r.baseline {
        figures.push(drawn(BASELINE, baseline::draw(&v))?);
    }
    Ok(figures)
}

/// The results with each cell's networks and each network's history at hand.
struct View<'a> {
    r: &'a SweepResults,
    /// Each cell's networks, in the order of `r.networks`; indexed as `r.cells`.
    networks: Vec<Vec<&'a NetworkResult>>,
    histories: BTreeMap<usize, &'a NetworkHistory>,
    /// Each network's cell's position in `r.cells`.
    cell_of: BTreeMap<usize, usize>,
}

impl<'a> View<'a> {
    fn new(r: &'a SweepResults) -> View<'a> {
        let position: BTreeMap<usize, usize> = r
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| (c.cell, i))
            .collect();
        let mut networks = vec![Vec::new(); r.cells.len()];
        let mut cell_of = BTreeMap::new();
        for n in &r.networks {
            if let Some(&i) = position.get(&n.cell) {
                networks[i].push(n);
                cell_of.insert(n.network, i);
            }
        }
        // In network order, whatever the order of the rows given.
        for n in &mut networks {
            n.sort_by_key(|n: &&NetworkResult| n.network);
        }
        View {
            r,
            networks,
            histories: r.histories.iter().map(|h| (h.network, h)).collect(),
            cell_of,
        }
    }

    /// "lr = 1e-4, hidden = 10": the cell's values of the varied parameters `which`.
    fn label(&self, cell: &CellResult, which: &[usize]) -> String {
        which
            .iter()
            .filter_map(|&q| {
                let v = self.r.varied.get(q)?;
                let i = cell.values.get(q).copied();
                let value = i.and_then(|i| v.values.get(i)).map_or("?", String::as_str);
                // A value as written, unless it is long (0.00021544346900318823): then as a tick would read.
                let value = match i.and_then(|i| v.numbers.get(i)) {
                    Some(&x) if value.chars().count() > 10 && x.is_finite() => fmt_num(x),
                    _ => value.to_string(),
                };
                Some(format!("{} = {value}", v.name))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The cell's label over every varied parameter, or "cv" when nothing is varied.
    fn cell_label(&self, i: usize) -> String {
        let all: Vec<usize> = (0..self.r.varied.len()).collect();
        match self.r.cells.get(i) {
            Some(c) if !all.is_empty() => self.label(c, &all),
            _ => "cross-validation".to_string(),
        }
    }

    /// A metric's statistics over the cell's networks (finite values only); the cell's row when it has no networks.
    fn stat(&self, i: usize, m: usize) -> Option<Stat> {
        if self.networks[i].is_empty() {
            return self.r.cells[i]
                .stats
                .get(m)
                .copied()
                .flatten()
                .filter(|s| s.mean.is_finite() && s.sd.is_finite());
        }
        Stat::of(&values(&self.networks[i], m))
    }

    /// The cells with a finite test error, lowest first (ties in cell order), at most `cap`; and how many had one.
    fn best_cells(&self, cap: usize) -> (Vec<usize>, usize) {
        let mut ranked: Vec<(usize, f64)> = (0..self.r.cells.len())
            .filter_map(|i| self.stat(i, TEST_MEDIAN).map(|s| (i, s.mean)))
            .collect();
        ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let total = ranked.len();
        ranked.truncate(cap);
        (ranked.into_iter().map(|e| e.0).collect(), total)
    }

    /// The panels of `cells` (in cell order) in a grid: a row per value of the first parameters and a column per
    /// value of the last when the whole grid is shown and fits `max_cols`; else about square.
    fn panel_grid(&self, cells: &[usize], max_cols: usize) -> (usize, usize) {
        let last = self.r.varied.last().map_or(0, |v| v.values.len());
        if self.r.varied.len() >= 2
            && cells.len() == self.r.cells.len()
            && (2..=max_cols).contains(&last)
        {
            return (cells.len().div_ceil(last), last);
        }
        grid(cells.len(), max_cols)
    }

    /// "5 folds × 4 repeats".
    fn design(&self) -> String {
        format!(
            "{} fold{} × {} repeat{}",
            self.r.folds,
            plural(self.r.folds),
            self.r.repeats,
            plural(self.r.repeats)
        )
    }

    fn loss_label(&self) -> String {
        crate::objective::label_of(&self.r.loss.to_lowercase())
            .map_or_else(|| self.r.loss.clone(), str::to_string)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A metric of each network, finite values only.
fn metric(n: &NetworkResult, m: usize) -> Option<f64> {
    n.counted(m)
}

fn values(networks: &[&NetworkResult], m: usize) -> Vec<f64> {
    networks.iter().filter_map(|n| metric(n, m)).collect()
}

/// "n = 20" or "n = 17–20": the range of counts behind a figure's points.
fn n_range(counts: impl IntoIterator<Item = usize>) -> String {
    let counts: Vec<usize> = counts.into_iter().collect();
    match (counts.iter().min(), counts.iter().max()) {
        (Some(a), Some(b)) if a == b => format!("n = {a}"),
        (Some(a), Some(b)) => format!("n = {a}–{b}"),
        _ => "n = 0".to_string(),
    }
}

/// The figure's title and a line below it in smaller type; the area left below them.
fn titled<'a>(root: &Area<'a>, title: &str, subtitle: &str) -> Drawn<Area<'a>> {
    let width = root.dim_in_pixel().0 as f64 - 24.0;
    let root = root.titled(title, text(fitted_size(title, width, TITLE_SIZE)))?;
    // A subtitle of several lines, one `titled` each.
    let mut root = root;
    for line in subtitle.lines().filter(|l| !l.is_empty()) {
        root = root.titled(line, text(fitted_size(line, width, DESC_SIZE)))?;
    }
    Ok(root)
}

/// A white canvas of `size` with what `paint` draws on it, as SVG.
fn canvas(size: (u32, u32), paint: impl FnOnce(&Area) -> Drawn<()>) -> Drawn<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        paint(&root)?;
        root.present()?;
    }
    Ok(svg)
}

/// A note in the middle of an area that has nothing to plot.
fn nothing(area: &Area, what: &str) -> Drawn<()> {
    let (w, h) = area.dim_in_pixel();
    let size = fitted_size(what, w as f64 - 24.0, CAPTION_SIZE);
    area.draw(&Text::new(
        what.to_string(),
        (w as i32 / 2, h as i32 / 2),
        text(size).pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}

/// How a legend entry's key is drawn.
#[derive(Clone, Copy)]
struct Key {
    color: RGBColor,
    /// A line through the key, dashed when true.
    line: Option<bool>,
    marker: Marker,
    band: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Marker {
    None,
    Dot,
    Square,
    Bar,
}

impl Key {
    fn line(color: RGBColor, dashed: bool, marker: Marker, band: bool) -> Key {
        Key {
            color,
            line: Some(dashed),
            marker,
            band,
        }
    }
    fn marker(color: RGBColor, marker: Marker) -> Key {
        Key {
            color,
            line: None,
            marker,
            band: false,
        }
    }
}

/// The legend in its own column beside the plots, so it never covers data: a key and a label a line, from the
/// top, the labels fitted (or shortened) to the column.
fn side_legend(area: &Area, top: i32, heading: &[String], entries: &[(Key, String)]) -> Drawn<()> {
    let (w, _) = area.dim_in_pixel();
    let mut y = top;
    for line in heading {
        let line = shortened(line, w as f64 - 8.0, 11);
        let size = fitted_size(&line, w as f64 - 8.0, LABEL_SIZE);
        area.draw(&Text::new(
            line,
            (4, y),
            text(size).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        y += 20;
    }
    if !heading.is_empty() {
        y += 6;
    }
    for (key, label) in entries {
        let (x0, x1) = (6, 34);
        if key.band {
            area.draw(&Rectangle::new(
                [(x0, y - 7), (x1, y + 7)],
                key.color.mix(0.2).filled(),
            ))?;
        }
        match key.line {
            Some(false) => {
                area.draw(&PathElement::new(
                    vec![(x0, y), (x1, y)],
                    key.color.stroke_width(2),
                ))?;
            }
            Some(true) => {
                for x in (x0..x1).step_by(9) {
                    area.draw(&PathElement::new(
                        vec![(x, y), ((x + 5).min(x1), y)],
                        key.color.stroke_width(2),
                    ))?;
                }
            }
            None => {}
        }
        let c = (x0 + x1) / 2;
        match key.marker {
            Marker::Dot => area.draw(&Circle::new((c, y), 4, key.color.filled()))?,
            Marker::Square => area.draw(&Rectangle::new(
                [(c - 4, y - 4), (c + 4, y + 4)],
                key.color.stroke_width(2),
            ))?,
            Marker::Bar => area.draw(&PathElement::new(
                vec![(c - 9, y), (c + 9, y)],
                key.color.stroke_width(3),
            ))?,
            Marker::None => {}
        }
        let room = w as f64 - 44.0;
        let label = shortened(label, room, 11);
        let size = fitted_size(&label, room, LABEL_SIZE);
        area.draw(&Text::new(
            label,
            (42, y),
            text(size).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        y += 22;
    }
    Ok(())
}

/// `label`, cut and ended with "…" where even at `min_size` it would not fit in `width` pixels.
fn shortened(label: &str, width: f64, min_size: u32) -> String {
    if text_width(label, min_size) <= width {
        return label.to_string();
    }
    let chars: Vec<char> = label.chars().collect();
    (1..chars.len())
        .rev()
        .map(|k| format!("{}…", chars[..k].iter().collect::<String>()))
        .find(|s| text_width(s, min_size) <= width)
        .unwrap_or_else(|| "…".to_string())
}

/// Rows and columns of a grid of `n` panels, at most `max_cols` wide.
fn grid(n: usize, max_cols: usize) -> (usize, usize) {
    let cols = ((n as f64).sqrt().ceil() as usize).clamp(1, max_cols.max(1));
    (n.div_ceil(cols).max(1), cols)
}

#[cfg(test)]
mod tests;
