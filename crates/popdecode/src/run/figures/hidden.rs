//! The hidden units' tuning curves: each unit's activation on every stimulus, from the final weights (the bonus
//! tutorial's `visualize_hidden_units`), one small panel per unit with shared axes, so no colour has to tell units
//! apart and no legend covers a curve. Each panel is named by the unit's row in W_in, as weights.svg numbers and
//! marks them. With one output, a unit's colour says which way it pushes the decoded angle: red for a positive
//! output weight, blue for a negative one; with several, the panel names the output it feeds most.

use plotters::prelude::*;

use super::style::*;
use crate::model::OUT_WEIGHT;
use crate::run::layer_weights::LayerWeights;
use crate::run::tuning_curves::TuningCurves;

pub const NAME: &str = "hidden";
/// At most this many units are drawn: those whose contribution to the output varies most over the stimuli.
pub const MAX_UNITS: usize = 20;

const POSITIVE: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const NEGATIVE: RGBColor = RGBColor(0x1f, 0x77, 0xb4);

/// The units to draw, most varied contribution |W_out| x (max - min activation) first, at most `MAX_UNITS`.
pub fn units_shown(t: &TuningCurves, w: &LayerWeights) -> Vec<usize> {
    let m = t.hidden.cols;
    let mut units: Vec<usize> = (0..m).collect();
    if m > MAX_UNITS {
        let spread = |h: usize| {
            let col = (0..t.hidden.rows).map(|r| t.hidden.row(r)[h] as f64);
            let range =
                col.clone().fold(f64::NEG_INFINITY, f64::max) - col.fold(f64::INFINITY, f64::min);
            let out: f64 = (0..w.output.rows)
                .map(|o| (w.output.row(o)[h] as f64).abs())
                .sum();
            range * out
        };
        units.sort_by(|&a, &b| spread(b).total_cmp(&spread(a)).then(a.cmp(&b)));
        units.truncate(MAX_UNITS);
        units.sort_unstable();
    }
    units
}

/// Columns and rows of the panels for `n` units.
pub fn grid(n: usize) -> (usize, usize) {
    let cols = n.clamp(1, 5);
    (cols, n.div_ceil(cols).max(1))
}

pub fn size(n: usize) -> (u32, u32) {
    let (_, rows) = grid(n);
    (1100, 130 + 150 * rows as u32)
}

pub fn draw(t: &TuningCurves, w: &LayerWeights) -> Drawn<String> {
    let m = t.hidden.cols;
    let units = units_shown(t, w);
    let values = || {
        units
            .iter()
            .flat_map(|&h| (0..t.hidden.rows).map(move |r| t.hidden.row(r)[h] as f64))
            .filter(|v| v.is_finite())
    };
    let lo = values().fold(0.0f64, f64::min);
    let hi = values().fold(f64::NEG_INFINITY, f64::max);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let pad = 0.05 * (hi - lo);
    let (lo, hi) = (lo - pad, hi + pad);
    let y_ticks = nice_ticks(lo, hi, 3);
    let one_output = w.output.rows == 1;
    let deeper = w.output_name != OUT_WEIGHT;
    let title = if units.len() < m {
        format!(
            "Tuning curves of {} of the {m} hidden units (largest |{}| x range)",
            units.len(),
            if deeper { "W_next" } else { "W_out" }
        )
    } else {
        format!("Tuning curves of the {m} hidden units")
    };
    let key = if one_output {
        "red: output weight > 0 (raises the decoded angle), blue: < 0; numbered as the rows of weights.svg"
            .to_string()
    } else if deeper {
        "unit k -> j: j is the next-layer unit it has its largest weight to; numbered as the rows of weights.svg".to_string()
    } else {
        "unit k -> bin b: b is the bin its largest output weight goes to; numbered as the rows of weights.svg"
            .to_string()
    };
    let size = size(units.len());
    let (cols, rows) = grid(units.len());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(
            &title,
            text(fitted_size(&title, size.0 as f64 - 24.0, CAPTION_SIZE + 2)),
        )?;
        let root = root.titled(
            &key,
            text(fitted_size(&key, size.0 as f64 - 24.0, LABEL_SIZE)),
        )?;
        // The axes' names along the left and bottom edges, once for all panels.
        let (rest, bottom) = root.split_vertically(root.dim_in_pixel().1 - 30);
        let (left, panels) = rest.split_horizontally(30);
        // Room on the right for the last column's "360°".
        let (panels, _) = panels.split_horizontally(panels.dim_in_pixel().0 - 16);
        let (lw, lh) = left.dim_in_pixel();
        left.draw(&Text::new(
            "hidden unit activation",
            (lw as i32 / 2 - DESC_SIZE as i32 / 2, lh as i32 / 2 + 80),
            text(DESC_SIZE).transform(FontTransform::Rotate270),
        ))?;
        let (bw, _) = bottom.dim_in_pixel();
        bottom.draw(&Text::new(
            "stimulus orientation (°)",
            (bw as i32 / 2 - 60, 4),
            text(DESC_SIZE),
        ))?;
        let cells = panels.split_evenly((rows, cols));
        for (j, (&h, cell)) in units.iter().zip(&cells).enumerate() {
            let (first_col, last_row) = (
                j % cols == 0,
                j / cols == rows - 1 || j + cols >= units.len(),
            );
            let strongest = (0..w.output.rows)
                .max_by(|&a, &b| {
                    w.output.row(a)[h]
                        .total_cmp(&w.output.row(b)[h])
                        .then(b.cmp(&a))
                })
                .unwrap_or(0);
            let (color, caption) = if one_output {
                let positive = w.output.row(0)[h] >= 0.0;
                (
                    if positive { POSITIVE } else { NEGATIVE },
                    format!("unit {h}"),
                )
            } else if deeper {
                (CYCLE[0], format!("unit {h} -> {strongest}"))
            } else {
                (CYCLE[0], format!("unit {h} -> bin {strongest}"))
            };
            // A title rather than a chart caption: it leaves room for the top tick's label.
            let cell = cell.titled(&caption, text(LABEL_SIZE))?;
            let mut chart = ChartBuilder::on(&cell)
                .margin(6)
                .x_label_area_size(22)
                .y_label_area_size(44)
                .build_cartesian_2d(
                    Ticked::linear(0f64..360f64, multiples(0.0, 360.0, 90.0)),
                    Ticked::linear(lo..hi, y_ticks.clone()),
                )?;
            chart
                .configure_mesh()
                .x_label_formatter(&|v| {
                    if last_row && (v.round() as i64) % 180 == 0 {
                        fmt_deg(*v)
                    } else {
                        String::new()
                    }
                })
                .y_label_formatter(&|v| {
                    if first_col {
                        fmt_num(*v)
                    } else {
                        String::new()
                    }
                })
                .label_style(text(LABEL_SIZE - 2))
                .light_line_style(WHITE)
                .bold_line_style(BLACK.mix(0.1))
                .draw()?;
            chart.draw_series(LineSeries::new(
                t.stimuli
                    .iter()
                    .enumerate()
                    .map(|(r, &s)| (s as f64, t.hidden.row(r)[h] as f64))
                    .filter(|p| p.1.is_finite()),
                color.stroke_width(2),
            ))?;
        }
        root.present()?;
    }
    Ok(svg)
}
