//! `decoded`: the cross-validated decoded against true orientation: every test prediction of a cell's networks
//! (each network tests one fold, so every stimulus appears once per repeat), with the identity line; one panel
//! per cell, the cells of lowest error first when there are more than fit.

use plotters::prelude::*;

use super::*;

const MAX_PANELS: usize = 12;

pub(super) fn draw(v: &View) -> Drawn<String> {
    let r = v.r;
    // Each cell's predictions, in the order of `r.predictions`.
    let mut by_cell: Vec<Vec<(f64, f64)>> = vec![Vec::new(); r.cells.len()];
    let mut wrapped = false;
    // In network and row order, whatever the order of the rows given.
    let mut predictions: Vec<&Prediction> = r.predictions.iter().collect();
    predictions.sort_by_key(|p| (p.network, p.row));
    for p in predictions {
        if let Some(&c) = v.cell_of.get(&p.network)
            && p.stimulus_deg.is_finite()
            && p.decoded_deg.is_finite()
        {
            let d = p.decoded_deg.rem_euclid(360.0);
            wrapped |= d != p.decoded_deg;
            by_cell[c].push((p.stimulus_deg, d));
        }
    }
    let (best, total) = v.best_cells(usize::MAX);
    // Cells with predictions, lowest error first; any without a finite error after them.
    let mut shown: Vec<usize> = best
        .into_iter()
        .filter(|&c| !by_cell[c].is_empty())
        .collect();
    let rest: Vec<usize> = (0..r.cells.len())
        .filter(|c| !by_cell[*c].is_empty() && !shown.contains(c))
        .collect();
    shown.extend(rest);
    let with_predictions = shown.len();
    shown.truncate(MAX_PANELS);
    // Chosen by error, shown in cell order (a grid's rows and columns).
    shown.sort_unstable();

    let (rows, cols) = v.panel_grid(&shown, 4);
    let size = if shown.len() <= 1 {
        (720, 760)
    } else {
        (cols as u32 * 380, 90 + rows as u32 * 390)
    };
    canvas(size, |root| {
        let which = if with_predictions > shown.len() {
            format!(
                "; the {} cells of lowest mean test error of {}",
                shown.len(),
                with_predictions.max(total)
            )
        } else {
            String::new()
        };
        let subtitle = format!(
            "every network's test fold ({}): each stimulus once per repeat{}\n\
             {}mean ± SD of the networks' median test error{which}",
            v.design(),
            if wrapped {
                "; decoded wrapped into 0°–360°"
            } else {
                ""
            },
            if r.varied.is_empty() { "" } else { "panels: " },
        );
        let root = titled(
            root,
            "Cross-validated decoded against true orientation",
            &subtitle,
        )?;
        if shown.is_empty() {
            nothing(&root, "no finite test prediction to draw")?;
            return Ok(());
        }
        let areas = root.split_evenly((rows, cols));
        let compact = shown.len() > 1;
        for (&c, area) in shown.iter().zip(&areas) {
            let error = v
                .stat(c, TEST_MEDIAN)
                .map(|s| format!("{:.1}° ± {:.1}°", s.mean, s.sd))
                .unwrap_or_else(|| "no finite error".into());
            let caption = if r.varied.is_empty() {
                format!("median test error {error}")
            } else {
                format!("{}: {error}", v.cell_label(c))
            };
            panel(area, &caption, &by_cell[c], compact)?;
        }
        Ok(())
    })
}

fn panel(area: &Area, caption: &str, points: &[(f64, f64)], compact: bool) -> Drawn<()> {
    let (caption_size, label_size, margin) = if compact {
        (LABEL_SIZE, 12, 10)
    } else {
        (CAPTION_SIZE, LABEL_SIZE, 16)
    };
    let width = area.dim_in_pixel().0 as f64 - 2.0 * margin as f64;
    let caption = shortened(caption, width, 10);
    let mut chart = ChartBuilder::on(area)
        .caption(&caption, text(fitted_size(&caption, width, caption_size)))
        .margin(margin)
        .x_label_area_size(if compact { 40 } else { 48 })
        .y_label_area_size(if compact { 56 } else { 70 })
        .build_cartesian_2d(
            Ticked::linear(-5f64..365f64, multiples(0.0, 360.0, 90.0)),
            Ticked::linear(-5f64..365f64, multiples(0.0, 360.0, 90.0)),
        )?;
    chart
        .configure_mesh()
        .x_desc("true orientation (°)")
        .y_desc("decoded orientation (°)")
        .x_label_formatter(&|v| fmt_deg(*v))
        .y_label_formatter(&|v| fmt_deg(*v))
        .label_style(text(label_size))
        .axis_desc_style(text(if compact { 13 } else { DESC_SIZE }))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.1))
        .draw()?;
    // Many points overlap: small and translucent, so density shows.
    let (radius, alpha) = match points.len() {
        0..=400 => (2, 0.6),
        401..=2000 => (2, 0.3),
        _ => (1, 0.25),
    };
    chart.draw_series(
        points
            .iter()
            .map(|&p| Circle::new(p, radius, CYCLE[0].mix(alpha).filled())),
    )?;
    chart.draw_series(LineSeries::new(
        [(0.0, 0.0), (360.0, 360.0)],
        BLACK.stroke_width(1),
    ))?;
    Ok(())
}
