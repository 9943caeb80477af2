//! The trained weights, as the bonus tutorial's `visualize_weights`: the input weights W_in (hidden units x
//! neurons) with neurons sorted by their preferred orientation, and the output weights W_out beside them, both in
//! the `bwr` colour map centred on zero.

use plotters::prelude::*;

use super::raster::{Placed, Raster, embed};
use super::style::*;
use crate::data::Matrix;
use crate::model::OUT_WEIGHT;
use crate::run::layer_weights::LayerWeights;
use crate::run::tuning_curves::{SMOOTHING_SIGMA_BINS, sorted_by_preference};

pub const NAME: &str = "weights";
pub const SIZE: (u32, u32) = (1200, 540);
/// At most this many image columns for W_in: wider matrices are shown as means of neighbouring sorted neurons.
pub const MAX_COLUMNS: usize = 720;

/// W_in's columns in order of `preferred_deg`, averaged in groups of `group` neighbours: hidden x groups.
pub fn sorted_input_weights(w_in: &Matrix, preferred_deg: &[f32]) -> (Matrix, usize) {
    let order = sorted_by_preference(preferred_deg);
    let group = w_in.cols.div_ceil(MAX_COLUMNS).max(1);
    let groups = w_in.cols.div_ceil(group);
    let mut data = Vec::with_capacity(w_in.rows * groups);
    for h in 0..w_in.rows {
        let row = w_in.row(h);
        for chunk in order.chunks(group) {
            data.push(chunk.iter().map(|&n| row[n]).sum::<f32>() / chunk.len() as f32);
        }
    }
    (Matrix::new(w_in.rows, groups, data), group)
}

/// Index axis (hidden units down, outputs across): unit 0 first, every `step`-th cell's centre.
fn index_ticks(m: usize, step: usize) -> Vec<f64> {
    (0..m).step_by(step).map(|i| i as f64 + 0.5).collect()
}

/// "hidden unit" or "hidden unit (every 10th labelled)".
fn thinned(what: &str, step: usize) -> String {
    if step > 1 {
        format!("{what} ({} labelled)", super::decoded::every(step))
    } else {
        what.to_string()
    }
}

fn symmetric_limit(values: &[f32]) -> f64 {
    let abs: Vec<f32> = values.iter().map(|v| v.abs()).collect();
    let v = percentile(&abs, 99.0);
    if v > 0.0 { v } else { 1.0 }
}

/// `shown`: the hidden units hidden.svg draws, marked beside W_in's rows when they are not all of them.
pub fn draw(
    w: &LayerWeights,
    preferred_deg: &[f32],
    network: &str,
    shown: &[usize],
) -> Drawn<String> {
    let (m, n) = (w.input.rows, w.input.cols);
    let outputs = w.output.rows;
    let (sorted, group) = sorted_input_weights(&w.input, preferred_deg);
    let mut pref_sorted: Vec<f32> = preferred_deg.to_vec();
    pref_sorted.sort_by(f32::total_cmp);
    // Ticks where the sorted neurons' preferred orientation reaches 0, 90, 180, 270 degrees.
    let ticks: Vec<(f64, f64)> = multiples(0.0, 270.0, 90.0)
        .into_iter()
        .map(|a| (pref_sorted.partition_point(|&p| (p as f64) < a) as f64, a))
        .collect();
    let mut svg = String::new();
    let mut images = Vec::new();
    {
        let full = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        full.fill(&WHITE)?;
        let root = full.titled("Weights of the trained network", text(TITLE_SIZE))?;
        let marked = shown.len() < m;
        let subtitle = if marked {
            format!(
                "{network}; ◀ marks the {} units drawn in hidden.svg",
                shown.len()
            )
        } else {
            network.to_string()
        };
        let root = root.titled(
            &subtitle,
            text(fitted_size(&subtitle, SIZE.0 as f64 - 24.0, DESC_SIZE)),
        )?;
        // W_out gets room for a label per class or a regular subset of them.
        let right_width = if outputs > 2 { 440 } else { 320 };
        let (left, right) = root.split_horizontally(SIZE.0 - right_width);
        let (in_area, in_bar) = left.split_horizontally(SIZE.0 - right_width - 100);
        let (out_area, out_bar) = right.split_horizontally(right_width - 110);
        // The plots' sides: each area less its margins, caption and label areas.
        let rows_px = in_area.dim_in_pixel().1 as f64 - 24.0 - 48.0 - 1.5 * CAPTION_SIZE as f64;
        let unit_step = index_step(m, rows_px, 1.2 * LABEL_SIZE as f64);
        let out_px = out_area.dim_in_pixel().0 as f64 - 24.0 - 56.0;
        let out_step = index_step(
            outputs,
            out_px,
            text_width(&outputs.saturating_sub(1).to_string(), LABEL_SIZE),
        );

        let v_in = symmetric_limit(&sorted.data);
        let caption = if group > 1 {
            format!("W_in (in_layer.weight); each column: mean of {group} neurons")
        } else {
            "W_in (in_layer.weight)".to_string()
        };
        let tick_points: Vec<f64> = ticks.iter().map(|t| t.0).collect();
        // Captions drawn as titles leave a margin under them for the top row's label.
        let in_plot = in_area.titled(&caption, text(CAPTION_SIZE))?;
        let mut chart = ChartBuilder::on(&in_plot)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(
                Ticked::linear(0f64..n as f64, tick_points),
                Ticked::linear(m as f64..0f64, index_ticks(m, unit_step)),
            )?;
        let x_desc = format!(
            "{n} neurons, sorted by preferred orientation (°; smoothed tuning, sigma {SMOOTHING_SIGMA_BINS} bins)"
        );
        let in_width = in_area.dim_in_pixel().0 as f64 - 24.0 - 56.0;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_desc.clone())
            .y_desc(thinned("hidden unit", unit_step))
            .x_label_formatter(&|v| {
                let a = ticks
                    .iter()
                    .find(|t| t.0 == *v)
                    .map(|t| t.1)
                    .unwrap_or(f64::NAN);
                fmt_deg(a)
            })
            .y_label_formatter(&|v| format!("{}", (v - 0.5).round()))
            .label_style(text(LABEL_SIZE))
            .axis_desc_style(text(fitted_size(&x_desc, in_width, DESC_SIZE)))
            .draw()?;
        let (x, y, width, height) = image_rect(&chart, (0.0, 0.0), (n as f64, m as f64));
        if marked {
            for &h in shown {
                let (right, middle) = chart.backend_coord(&(n as f64, h as f64 + 0.5));
                full.draw(&Polygon::new(
                    vec![
                        (right + 2, middle),
                        (right + 9, middle - 4),
                        (right + 9, middle + 4),
                    ],
                    BLACK.filled(),
                ))?;
            }
        }
        images.push(Placed {
            x,
            y,
            width,
            height,
            raster: Raster::from_fn(sorted.cols, m, |c, h| {
                Colormap::Bwr.scaled(sorted.row(h)[c] as f64, -v_in, v_in)
            }),
            label: format!("W_in: {m} hidden units x {n} sorted neurons"),
        });
        let (_, rows) = chart.plotting_area().get_pixel_range();
        images.push(colorbar(
            &in_bar,
            rows,
            Colormap::Bwr,
            (-v_in, v_in),
            "weight",
        )?);

        let v_out = symmetric_limit(&w.output.data);
        // The tutorial's W_out, or in a deeper net the next hidden layer's weights.
        let deeper = w.output_name != OUT_WEIGHT;
        let (short, unit) = if deeper {
            ("W_next", "next-layer unit")
        } else if outputs > 1 {
            ("W_out", "output (orientation bin)")
        } else {
            ("W_out", "output")
        };
        let out_plot =
            out_area.titled(&format!("{short} ({})", w.output_name), text(CAPTION_SIZE))?;
        let mut chart = ChartBuilder::on(&out_plot)
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(
                Ticked::linear(0f64..outputs as f64, index_ticks(outputs, out_step)),
                Ticked::linear(m as f64..0f64, index_ticks(m, unit_step)),
            )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(thinned(unit, out_step))
            .y_desc(thinned("hidden unit", unit_step))
            .x_label_formatter(&|v| format!("{}", (v - 0.5).round()))
            .y_label_formatter(&|v| format!("{}", (v - 0.5).round()))
            .label_style(text(LABEL_SIZE))
            .axis_desc_style(text(DESC_SIZE))
            .draw()?;
        let (x, y, width, height) = image_rect(&chart, (0.0, 0.0), (outputs as f64, m as f64));
        images.push(Placed {
            x,
            y,
            width,
            height,
            raster: Raster::from_fn(outputs, m, |o, h| {
                Colormap::Bwr.scaled(w.output.row(o)[h] as f64, -v_out, v_out)
            }),
            label: format!(
                "{short}: {m} hidden units x {outputs} {}",
                if deeper {
                    "next-layer units"
                } else {
                    "outputs"
                }
            ),
        });
        let (_, rows) = chart.plotting_area().get_pixel_range();
        images.push(colorbar(
            &out_bar,
            rows,
            Colormap::Bwr,
            (-v_out, v_out),
            "weight",
        )?);
        root.present()?;
    }
    embed(&mut svg, &images);
    Ok(svg)
}
