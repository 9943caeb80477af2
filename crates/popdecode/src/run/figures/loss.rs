//! The loss curves: training and test loss after each epoch, on a log axis that begins and ends on a tick.

use plotters::prelude::*;

use super::style::*;
use crate::backend::History;

pub const NAME: &str = "loss";
pub const SIZE: (u32, u32) = (800, 500);

/// `loss_label` names the y axis (`predictions::loss_label`).
pub fn draw(history: &History, loss_label: &str) -> Drawn<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        plot(&root, history, loss_label, TITLE_SIZE)?;
        root.present()?;
    }
    Ok(svg)
}

/// The loss curves on `area`, under a caption of `caption_size`.
pub fn plot(area: &Area, history: &History, loss_label: &str, caption_size: u32) -> Drawn<()> {
    let epochs = history.train_loss.len();
    let positive: Vec<f64> = history
        .train_loss
        .iter()
        .chain(&history.test_loss)
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let (range, ticks) = match (
        positive.iter().copied().reduce(f64::min),
        positive.iter().copied().reduce(f64::max),
    ) {
        (Some(lo), Some(hi)) => log_axis(lo, hi),
        _ => log_axis(1.0, 10.0),
    };
    let diverged = history
        .train_loss
        .iter()
        .zip(&history.test_loss)
        .position(|(a, b)| !(a.is_finite() && b.is_finite()));
    let caption = match diverged {
        Some(e) => format!(
            "Loss during training ({epochs} epochs; not finite from epoch {})",
            e + 1
        ),
        None => format!("Loss during training ({epochs} epochs)"),
    };
    let (width, _) = area.dim_in_pixel();
    let caption_size = fitted_size(&caption, width as f64 - 32.0, caption_size);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, text(caption_size))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(78)
        .build_cartesian_2d(0f64..(epochs.max(1) as f64), Ticked::log(range, ticks))?;
    chart
        .configure_mesh()
        .x_desc("epochs")
        .y_desc(format!("{loss_label} (log scale)"))
        .x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .label_style(text(LABEL_SIZE))
        .axis_desc_style(text(DESC_SIZE))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.1))
        .draw()?;
    for (name, losses, color) in [
        ("train loss", &history.train_loss, CYCLE[0]),
        ("test loss", &history.test_loss, CYCLE[1]),
    ] {
        let points: Vec<(f64, f64)> = losses
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite() && **v > 0.0)
            .map(|(i, &v)| ((i + 1) as f64, v))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
        if epochs <= 20 {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
    }
    draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}
