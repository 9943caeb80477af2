//! The hidden units' tuning curves: each unit's activation on every stimulus, from the final weights (the bonus
//! tutorial's `visualize_hidden_units`). With one output, a unit's colour says which way it pushes the decoded
//! angle: red for a positive output weight, blue for a negative one.

use plotters::prelude::*;

use super::style::*;
use crate::run::layer_weights::LayerWeights;
use crate::run::tuning_curves::TuningCurves;

pub const NAME: &str = "hidden.svg";
pub const SIZE: (u32, u32) = (800, 520);
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
    let pad = 0.04 * (hi - lo);
    let one_output = w.output.rows == 1;
    let caption = if units.len() < m {
        format!(
            "Tuning curves of {} of the {m} hidden units (largest |W_out| x range)",
            units.len()
        )
    } else {
        format!("Tuning curves of the {m} hidden units")
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, text(CAPTION_SIZE + 2))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(
                Ticked::linear(0f64..360f64, multiples(0.0, 360.0, 90.0)),
                lo - pad..hi + 4.0 * pad,
            )?;
        draw_orientation_mesh(&mut chart, "hidden unit activation")?;
        let mut legend_done = [false; 2];
        for (j, &h) in units.iter().enumerate() {
            let color = if one_output {
                if w.output.row(0)[h] >= 0.0 {
                    POSITIVE
                } else {
                    NEGATIVE
                }
            } else {
                CYCLE[j % CYCLE.len()]
            };
            let series = chart.draw_series(LineSeries::new(
                t.stimuli
                    .iter()
                    .enumerate()
                    .map(|(r, &s)| (s as f64, t.hidden.row(r)[h] as f64))
                    .filter(|p| p.1.is_finite()),
                color.stroke_width(2),
            ))?;
            let label = if one_output {
                let positive = w.output.row(0)[h] >= 0.0;
                let slot = &mut legend_done[usize::from(positive)];
                if *slot {
                    None
                } else {
                    *slot = true;
                    Some(if positive { "W_out > 0" } else { "W_out < 0" }.to_string())
                }
            } else {
                Some(format!("unit {h}"))
            };
            if let Some(label) = label {
                series.label(label).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                });
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present()?;
    }
    Ok(svg)
}
