//! `baseline` (with `--baseline`): the network against the ridge baseline fitted on the same folds: per fold, the
//! median test error of each of the network's repeats (dots), their mean (a bar) and the ridge's (a square); one
//! panel per cell, the cells of lowest error first when there are more than fit.

use plotters::prelude::*;

use super::*;

const MAX_PANELS: usize = 12;
const RIDGE: RGBColor = RGBColor(0x40, 0x40, 0x40);

/// One fold of a cell: its networks' errors (one per repeat) and the ridge's.
struct Fold {
    fold: usize,
    networks: Vec<f64>,
    ridge: Option<f64>,
}

fn folds(nets: &[&NetworkResult]) -> Vec<Fold> {
    let mut by_fold: BTreeMap<usize, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for n in nets {
        let e = by_fold.entry(n.fold).or_default();
        e.0.extend(metric(n, TEST_MEDIAN));
        e.1.extend(metric(n, BASELINE_MEDIAN));
    }
    by_fold
        .into_iter()
        .map(|(fold, (networks, ridge))| Fold {
            fold,
            networks,
            ridge: Stat::of(&ridge).map(|s| s.mean),
        })
        .filter(|f| !f.networks.is_empty() || f.ridge.is_some())
        .collect()
}

pub(super) fn draw(v: &View) -> Drawn<String> {
    let r = v.r;
    let (best, total) = v.best_cells(usize::MAX);
    let mut cells: Vec<(usize, Vec<Fold>)> = best
        .into_iter()
        .map(|c| (c, folds(&v.networks[c])))
        .filter(|c| !c.1.is_empty())
        .collect();
    let with_data = cells.len();
    cells.truncate(MAX_PANELS);
    cells.sort_by_key(|c| c.0);
    let shown: Vec<usize> = cells.iter().map(|c| c.0).collect();
    let (rows, cols) = v.panel_grid(&shown, 3);
    let size = if cells.len() <= 1 {
        (960, 560)
    } else {
        (cols as u32 * 420 + 230, 90 + rows as u32 * 320)
    };
    // Each panel's highest value; one y axis for all unless they differ by more than 3x (a neuron-count sweep's
    // errors span an order of magnitude, and a shared axis would flatten the best cells).
    let highs: Vec<f64> = cells
        .iter()
        .map(|(_, f)| {
            f.iter()
                .flat_map(|f| f.networks.iter().copied().chain(f.ridge))
                .fold(0.0, f64::max)
        })
        .collect();
    let highest = highs.iter().copied().fold(0.0, f64::max);
    let lowest = highs.iter().copied().fold(f64::INFINITY, f64::min);
    let shared = highest <= 3.0 * lowest;
    let y_axis = |hi: f64| {
        let hi = if hi > 0.0 { hi } else { 1.0 };
        // From zero to the first tick above the data, ticked every `step`.
        let ticks = nice_ticks(0.0, hi, 4);
        let step = ticks.get(1).map_or(hi, |t| t - ticks[0]);
        ((hi / step).ceil() * step, step)
    };
    let max_fold = cells
        .iter()
        .flat_map(|c| c.1.iter().map(|f| f.fold))
        .max()
        .unwrap_or(0)
        .max(r.folds.saturating_sub(1));

    canvas(size, |root| {
        let which = if with_data > cells.len() {
            format!(
                "; the {} cells of lowest mean test error of {}",
                cells.len(),
                total.max(with_data)
            )
        } else {
            String::new()
        };
        let subtitle = format!(
            "median test error on each fold: the network's {} repeat{} and the ridge fitted on the same fold{which}{}",
            r.repeats,
            plural(r.repeats),
            if shared {
                ""
            } else {
                "\neach panel has its own y axis"
            },
        );
        let root = titled(
            root,
            "Network against the ridge baseline, fold by fold",
            &subtitle,
        )?;
        let (plots, legend) = root.split_horizontally(size.0 - 230);
        if cells.is_empty() {
            nothing(&plots, "no finite test error to draw")?;
            return Ok(());
        }
        let areas = plots.split_evenly((rows, cols));
        let compact = cells.len() > 1;
        for (((c, folds), area), &hi) in cells.iter().zip(&areas).zip(&highs) {
            let caption = if r.varied.is_empty() {
                format!("{} folds", r.folds)
            } else {
                v.cell_label(*c)
            };
            let y = y_axis(if shared { highest } else { hi });
            panel(area, &caption, folds, max_fold, y, compact)?;
        }
        side_legend(
            &legend,
            60,
            &[],
            &[
                (
                    Key::marker(CYCLE[0], Marker::Dot),
                    "network, one repeat".into(),
                ),
                (
                    Key::marker(CYCLE[0], Marker::Bar),
                    "network, mean of repeats".into(),
                ),
                (Key::marker(RIDGE, Marker::Square), "ridge baseline".into()),
            ],
        )?;
        Ok(())
    })
}

fn panel(
    area: &Area,
    caption: &str,
    folds: &[Fold],
    max_fold: usize,
    (top, y_step): (f64, f64),
    compact: bool,
) -> Drawn<()> {
    let (caption_size, label_size, margin) = if compact {
        (LABEL_SIZE, 12, 10)
    } else {
        (CAPTION_SIZE, LABEL_SIZE, 16)
    };
    let width = area.dim_in_pixel().0 as f64 - 2.0 * margin as f64;
    let caption = shortened(caption, width, 10);
    let k = max_fold + 1;
    // Fold numbers from 1, as a person counts; at most about 10 labelled.
    let step = k.div_ceil(10).max(1);
    let ticks: Vec<f64> = (0..k).step_by(step).map(|f| f as f64).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(&caption, text(fitted_size(&caption, width, caption_size)))
        .margin(margin)
        .x_label_area_size(if compact { 40 } else { 48 })
        .y_label_area_size(if compact { 56 } else { 72 })
        .build_cartesian_2d(
            Ticked::linear(-0.6..k as f64 - 0.4, ticks),
            Ticked::linear(0.0..top, multiples(0.0, top, y_step)),
        )?;
    chart
        .configure_mesh()
        .x_desc("fold")
        .y_desc("median test error (°)")
        .x_label_formatter(&|v| format!("{}", v.round() as i64))
        .y_label_formatter(&|v| fmt_num(*v))
        .label_style(text(label_size))
        .axis_desc_style(text(if compact { 13 } else { DESC_SIZE }))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.1))
        .draw()?;
    for f in folds {
        let x = f.fold as f64;
        let n = f.networks.len();
        // The repeats spread a little left of the fold, the ridge right of it.
        chart.draw_series(f.networks.iter().enumerate().map(|(j, &e)| {
            let dx = if n > 1 {
                -0.3 + 0.2 * j as f64 / (n - 1) as f64
            } else {
                -0.2
            };
            Circle::new((x + dx, e), 3, CYCLE[0].mix(0.7).filled())
        }))?;
        if let Some(s) = Stat::of(&f.networks) {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x - 0.35, s.mean), (x - 0.05, s.mean)],
                CYCLE[0].stroke_width(3),
            )))?;
        }
        if let Some(ridge) = f.ridge {
            chart.draw_series(std::iter::once(
                EmptyElement::at((x + 0.2, ridge))
                    + Rectangle::new([(-4, -4), (4, 4)], RIDGE.stroke_width(2)),
            ))?;
        }
    }
    Ok(())
}
