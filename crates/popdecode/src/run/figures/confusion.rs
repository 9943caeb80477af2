//! A classifier's confusion: the test stimuli counted by true bin (rows, bin 0 at the top) and decoded bin
//! (columns), from predictions.csv, with each count written in its cell where the cells are large enough.

use plotters::prelude::*;

use super::raster::{Placed, Raster, embed};
use super::style::*;
use crate::objective::class_of;
use crate::run::predictions::{Decoded, Predictions};

pub const NAME: &str = "confusion";
pub const SIZE: (u32, u32) = (800, 700);
/// Counts are written in cells at least this many pixels wide.
const MIN_CELL_FOR_COUNTS: f64 = 24.0;

/// counts[true bin][decoded bin], or None for a regression's predictions.
pub fn counts(p: &Predictions) -> Option<Vec<Vec<usize>>> {
    let Decoded::Classes { bins, classes } = &p.decoded else {
        return None;
    };
    let mut counts = vec![vec![0; *classes]; *classes];
    for (&t, &b) in p.true_deg.iter().zip(bins) {
        counts[class_of(t as f32, *classes)][b] += 1;
    }
    Some(counts)
}

pub fn draw(p: &Predictions) -> Drawn<String> {
    let counts = counts(p).ok_or("the confusion figure is drawn for classifiers only")?;
    let c = counts.len();
    let max = counts.iter().flatten().copied().max().unwrap_or(0).max(1) as f64;
    let diagonal: usize = (0..c).map(|i| counts[i][i]).sum();
    let width = 360.0 / c as f64;
    let mut svg = String::new();
    let mut images = Vec::new();
    let mut counts_svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let caption = format!(
            "Confusion of the {} test stimuli ({diagonal} in their true bin, {:.0}%)",
            p.len(),
            100.0 * diagonal as f64 / p.len().max(1) as f64
        );
        let size = fitted_size(&caption, SIZE.0 as f64 - 24.0, TITLE_SIZE);
        let root = root.titled(&caption, text(size))?;
        let (heat_area, bar_area) = root.split_horizontally(680);
        // The plotting area's sides: the area less the margins and the label areas.
        let (w, h) = heat_area.dim_in_pixel();
        let (cols_px, rows_px) = (w as f64 - 24.0 - 64.0, h as f64 - 24.0 - 56.0);
        let label = |i: usize| i.to_string();
        let widest = text_width(&label(c.saturating_sub(1)), LABEL_SIZE);
        let x_step = index_step(c, cols_px, widest);
        let y_step = index_step(c, rows_px, 1.2 * LABEL_SIZE as f64);
        let centres = |step: usize| (0..c).step_by(step).map(|i| i as f64 + 0.5).collect();
        let mut chart = ChartBuilder::on(&heat_area)
            .margin(12)
            .x_label_area_size(56)
            .y_label_area_size(64)
            .build_cartesian_2d(
                Ticked::linear(0f64..c as f64, centres(x_step)),
                Ticked::linear(c as f64..0f64, centres(y_step)),
            )?;
        let desc = |what: &str, step: usize| {
            let thinned = if step > 1 {
                format!(", {} labelled", super::decoded::every(step))
            } else {
                String::new()
            };
            format!(
                "{what} bin ({}° each; bin 0 is 0°–{}°{thinned})",
                fmt_num(width),
                fmt_num(width)
            )
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(desc("decoded", x_step))
            .y_desc(desc("true", y_step))
            .x_label_formatter(&|v| label((v - 0.5).round() as usize))
            .y_label_formatter(&|v| label((v - 0.5).round() as usize))
            .label_style(text(LABEL_SIZE))
            .axis_desc_style(text(DESC_SIZE))
            .draw()?;
        let (x, y, width, height) = image_rect(&chart, (0.0, 0.0), (c as f64, c as f64));
        images.push(Placed {
            x,
            y,
            width,
            height,
            raster: Raster::from_fn(c, c, |col, row| {
                Colormap::Blues.scaled(counts[row][col] as f64, 0.0, max)
            }),
            label: format!("confusion: {c} true bins x {c} decoded bins"),
        });
        let cell = width.min(height) as f64 / c as f64;
        let (_, rows) = chart.plotting_area().get_pixel_range();
        images.push(colorbar(
            &bar_area,
            rows,
            Colormap::Blues,
            (0.0, max),
            "test stimuli",
        )?);
        root.present()?;
        if cell >= MIN_CELL_FOR_COUNTS {
            let size = ((cell * 0.45) as u32).clamp(9, LABEL_SIZE);
            for (row, line) in counts.iter().enumerate() {
                for (col, &n) in line.iter().enumerate().filter(|e| *e.1 > 0) {
                    let fill = if n as f64 / max > 0.5 {
                        "#FFFFFF"
                    } else {
                        "#000000"
                    };
                    let (x, y) = chart.backend_coord(&(col as f64 + 0.5, row as f64 + 0.5));
                    counts_svg.push_str(&format!(
                        "<text x=\"{x}\" y=\"{y}\" dy=\"0.35em\" font-family=\"{FONT}\" font-size=\"{size}\" \
                         text-anchor=\"middle\" fill=\"{fill}\">{n}</text>\n"
                    ));
                }
            }
        }
    }
    // The counts go over the heatmap image, which goes over what plotters drew.
    embed(&mut svg, &images);
    let end = svg.rfind("</svg>").unwrap_or(svg.len());
    svg.insert_str(end, &counts_svg);
    Ok(svg)
}
