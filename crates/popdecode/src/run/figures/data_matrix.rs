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

/// The heatmap's stimulus ticks: every 90 degrees on the circle, and for an axis wider than that (stimuli a
/// file gave in other units) every 90 x 10^k, at most 8 of them: the figure's size never follows a data value.
pub fn stimulus_ticks(x0: f64, x1: f64) -> Vec<f64> {
    let mut step = 90.0;
    while (x1 - x0) / step > 8.0 && step.is_finite() {
        step *= 10.0;
    }
    if !(step.is_finite() && x0.is_finite() && x1.is_finite()) {
        return Vec::new();
    }
    multiples(x0, x1, step)
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
                Ticked::linear(x0..x1, stimulus_ticks(x0, x1)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Matrix;

    /// Stimuli far off the circle (a file in other units) give a figure of the usual size, not one tick per 90.
    #[test]
    fn the_figure_does_not_grow_with_the_stimuli_values() {
        let curves = |stimuli: Vec<f32>| TuningCurves {
            first_neurons: Matrix::new(3, 2, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
            example_neurons: vec![0],
            example_curves: Matrix::new(3, 1, vec![1.0, 2.0, 3.0]),
            preferred_deg: vec![0.0, 90.0],
            hidden: Matrix::new(3, 1, vec![0.0; 3]),
            stimuli,
        };
        let usual = draw(&curves(vec![0.0, 120.0, 240.0])).unwrap().len();
        for top in [1e9f32, 1e15, 1e38, f32::MAX] {
            let svg = draw(&curves(vec![0.0, top / 2.0, top])).unwrap();
            assert!(
                svg.len() < 2 * usual,
                "{top}: {} bytes, usually {usual}",
                svg.len()
            );
        }
        assert_eq!(stimulus_ticks(-0.5, 359.5), [0.0, 90.0, 180.0, 270.0]);
        assert!(stimulus_ticks(0.0, 1e38).len() <= 9);
    }
}
