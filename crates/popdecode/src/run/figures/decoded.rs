//! Decoded against true orientation on the test stimuli. For regression, the decoded angle with the identity
//! line; for classification, the decoded bin against the true angle with the bins' edges drawn, as the tutorial's
//! `plot_decoded_results`.

use plotters::prelude::*;

use super::style::*;
use crate::objective::bin_edges;
use crate::run::predictions::{Decoded, Predictions};

pub const NAME: &str = "decoded";
pub const REGRESSION_SIZE: (u32, u32) = (640, 600);
pub const CLASSES_SIZE: (u32, u32) = (760, 600);

pub fn draw(p: &Predictions) -> Drawn<String> {
    let size = match &p.decoded {
        Decoded::Regression(_) => REGRESSION_SIZE,
        Decoded::Classes { .. } => CLASSES_SIZE,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        plot(&root, p, CAPTION_SIZE + 2)?;
        root.present()?;
    }
    Ok(svg)
}

/// Decoded against true on `area`, under a caption of at most `caption_size`.
pub fn plot(area: &Area, p: &Predictions, caption_size: u32) -> Drawn<()> {
    match &p.decoded {
        Decoded::Regression(out) => regression(area, p, out, caption_size),
        Decoded::Classes { bins, classes } => classes_plot(area, p, bins, *classes, caption_size),
    }
}

/// "every 2nd", "every 5th": which of the ticks are labelled.
pub fn every(step: usize) -> String {
    let suffix = match (step % 10, step % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("every {step}{suffix}")
}

/// An axis step of 90 x 2^k degrees that puts at most 8 ticks on `span`.
fn angle_step(span: f64) -> f64 {
    let mut step = 90.0;
    while span / step > 8.0 {
        step *= 2.0;
    }
    step
}

fn regression(area: &Area, p: &Predictions, out: &[f64], caption_size: u32) -> Drawn<()> {
    let finite = || out.iter().copied().filter(|v| v.is_finite());
    let lo = finite().fold(0.0f64, f64::min);
    let hi = finite().fold(360.0f64, f64::max);
    let pad = 0.03 * (hi - lo);
    let (lo, hi) = (lo - pad, hi + pad);
    let errors = p.summary();
    let caption = format!(
        "Decoded against true orientation ({} test stimuli)",
        p.len()
    );
    let size = fitted_size(&caption, area.dim_in_pixel().0 as f64 - 32.0, caption_size);
    {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, text(size))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(
                Ticked::linear(-5f64..365f64, multiples(0.0, 360.0, 90.0)),
                Ticked::linear(lo..hi, multiples(lo, hi, angle_step(hi - lo))),
            )?;
        chart
            .configure_mesh()
            .x_desc("true stimulus orientation (°)")
            .y_desc("decoded stimulus orientation (°)")
            .x_label_formatter(&|v| fmt_deg(*v))
            .y_label_formatter(&|v| fmt_deg(*v))
            .label_style(text(LABEL_SIZE))
            .axis_desc_style(text(DESC_SIZE))
            .bold_line_style(BLACK.mix(0.1))
            .draw()?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (360.0, 360.0)],
                BLACK.stroke_width(2),
            ))?
            .label("identity: decoded = true")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(2)));
        let median = errors.median_angular_error_deg.unwrap_or(f64::NAN);
        chart
            .draw_series(
                p.true_deg
                    .iter()
                    .zip(out)
                    .filter(|(_, o)| o.is_finite())
                    .map(|(&t, &o)| Circle::new((t, o), 3, CYCLE[0].filled())),
            )?
            .label(format!("test stimulus (median error {median:.1}°)"))
            .legend(|(x, y)| Circle::new((x + 12, y), 3, CYCLE[0].filled()));
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    }
    Ok(())
}

/// "45°–90°": bin i of `classes`.
pub fn bin_label(i: usize, classes: usize) -> String {
    let w = 360.0 / classes as f64;
    format!("{}–{}", fmt_deg(i as f64 * w), fmt_deg((i + 1) as f64 * w))
}

fn classes_plot(
    area: &Area,
    p: &Predictions,
    bins: &[usize],
    classes: usize,
    caption_size: u32,
) -> Drawn<()> {
    let edges = bin_edges(classes);
    let accuracy = p.summary().accuracy.unwrap_or(f64::NAN);
    let top = classes as f64 - 0.5;
    let caption = format!(
        "Decoded bin against true orientation ({} test stimuli, {:.0}% in the true bin)",
        p.len(),
        100.0 * accuracy
    );
    let (width, height) = area.dim_in_pixel();
    let caption_size = fitted_size(&caption, width as f64 - 32.0, caption_size);
    // The plot's height: the area less the margins, the caption and the x labels.
    let rows = height as f64 - 32.0 - 48.0 - 2.0 * caption_size as f64;
    let bin_every = index_step(classes, rows, 1.2 * LABEL_SIZE as f64);
    let y_desc = if bin_every > 1 {
        format!("decoded orientation bin ({} labelled)", every(bin_every))
    } else {
        "decoded orientation bin".to_string()
    };
    {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, text(caption_size))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(118)
            .build_cartesian_2d(
                Ticked::linear(-5f64..365f64, multiples(0.0, 360.0, 45.0)),
                Ticked::linear(
                    -0.5f64..top,
                    (0..classes).step_by(bin_every).map(|b| b as f64).collect(),
                ),
            )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("true stimulus orientation (°)")
            .y_desc(y_desc)
            .x_label_formatter(&|v| fmt_deg(*v))
            .y_label_formatter(&|v| bin_label(v.round().max(0.0) as usize, classes))
            .label_style(text(LABEL_SIZE))
            .axis_desc_style(text(DESC_SIZE))
            .draw()?;
        chart.draw_series(
            edges
                .iter()
                .map(|&e| PathElement::new(vec![(e, -0.5), (e, top)], GRID_GREY.stroke_width(1))),
        )?;
        chart.draw_series(
            p.true_deg
                .iter()
                .zip(bins)
                .map(|(&t, &b)| Circle::new((t, b as f64), 3, CYCLE[0].filled())),
        )?;
    }
    Ok(())
}
