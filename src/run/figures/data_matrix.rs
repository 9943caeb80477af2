//! The tutorial's Section 1 figure: the data matrix of the first 100 neurons as a heatmap (neurons x stimuli, the
//! `pink` colour map from the 1st to the 99th percentile), and three neurons' tuning curves.

use plotters::prelude::*;

use super::raster::{Placed, Raster, embed};
use super::style::*;
use crate::run::tuning_curves::{EXAMPLE_SEED, TuningCurves};

pub const NAME: &str = "data";
pub const SIZE: (u32, u32) = (1250, 520);

/// The stimulus axis of a heatmap whose columns are `stimuli`: each column is as wide as the mean spacing, centred
/// on its stimulus.
pub fn column_extent(stimuli: &[f32]) -> (f64, f64) {
    let (first, last) = (stimuli[0] as f64, stimuli[stimuli.len() - 1] as f64);
    let d = if stimuli.len() > 1 {
        (last - first) / (stimuli.len() - 1) as f64
    } else {
        1.0
    };
    let d = if d > 0.0 { d } else { 1.0 };
    (first - d / 2.0, last + d / 2.0)
}

pub fn draw(t: &TuningCurves) -> Drawn<String> {
    let (s, k) = (t.first_neurons.rows, t.first_neurons.cols);
    let mut svg = String::new();
    let mut images = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(
            &format!("{} neurons in response to {} stimuli", t.neurons(), s),
            text(TITLE_SIZE),
        )?;
        let (left, right) = root.split_horizontally(700);
        let (heat_area, bar_area) = left.split_horizontally(575);

        // The heatmap: neuron 0 at the top, as matplotlib's imshow.
        let lo = percentile(&t.first_neurons.data, 1.0);
        let hi = percentile(&t.first_neurons.data, 99.0);
        let (x0, x1) = column_extent(&t.stimuli);
        let mut chart = ChartBuilder::on(&heat_area)
            .caption(
                format!("responses of the first {k} neurons"),
                text(CAPTION_SIZE),
            )
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(
                Ticked::linear(x0..x1, multiples(x0, x1, 90.0)),
                Ticked::linear(
                    k as f64..0f64,
                    (0..k)
                        .step_by(if k > 20 { 20 } else { 5 })
                        .map(|i| i as f64 + 0.5)
                        .collect(),
                ),
            )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("stimulus orientation (°)")
            .y_desc("neuron")
            .x_label_formatter(&|v| fmt_deg(*v))
            .y_label_formatter(&|v| format!("{}", (v - 0.5).round()))
            .label_style(text(LABEL_SIZE))
            .axis_desc_style(text(DESC_SIZE))
            .draw()?;
        let (x, y, width, height) = image_rect(&chart, (x0, 0.0), (x1, k as f64));
        images.push(Placed {
            x,
            y,
            width,
            height,
            raster: Raster::from_fn(s, k, |col, row| {
                Colormap::Pink.scaled(t.first_neurons.row(col)[row] as f64, lo, hi)
            }),
            label: format!("heatmap: {k} neurons x {s} stimuli"),
        });
        let (_, rows) = chart.plotting_area().get_pixel_range();
        images.push(colorbar(
            &bar_area,
            rows,
            Colormap::Pink,
            (lo, hi),
            "normalized neural response",
        )?);

        // Three neurons' tuning curves.
        let values = || {
            t.example_curves
                .data
                .iter()
                .map(|&v| v as f64)
                .filter(|v| v.is_finite())
        };
        let (vlo, vhi) = (
            values().fold(f64::INFINITY, f64::min),
            values().fold(f64::NEG_INFINITY, f64::max),
        );
        let (vlo, vhi) = if vhi > vlo {
            (vlo, vhi)
        } else {
            (vlo - 1.0, vlo + 1.0)
        };
        let pad = 0.05 * (vhi - vlo);
        let mut chart = ChartBuilder::on(&right)
            .caption(
                format!(
                    "tuning curves of {} neurons (drawn at random, seed {EXAMPLE_SEED})",
                    t.example_neurons.len()
                ),
                text(CAPTION_SIZE),
            )
            .margin(12)
            .margin_left(24)
            .margin_right(24)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(
                Ticked::linear(0f64..360f64, multiples(0.0, 360.0, 90.0)),
                // Headroom for the legend above the curves.
                vlo - pad..vhi + 7.0 * pad,
            )?;
        draw_orientation_mesh(&mut chart, "neural response")?;
        for (j, &neuron) in t.example_neurons.iter().enumerate() {
            let color = CYCLE[j % CYCLE.len()];
            chart
                .draw_series(LineSeries::new(
                    t.stimuli
                        .iter()
                        .enumerate()
                        .map(|(r, &st)| (st as f64, t.example_curves.row(r)[j] as f64))
                        .filter(|p| p.1.is_finite()),
                    color.stroke_width(2),
                ))?
                .label(format!("neuron {neuron}"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present()?;
    }
    embed(&mut svg, &images);
    Ok(svg)
}
