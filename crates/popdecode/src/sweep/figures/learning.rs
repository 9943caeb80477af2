//! `learning_curves`: each cell's training and test loss per epoch, the mean over its networks with a band from
//! the lowest to the highest, on a log axis. One panel for cv; training beside test, a colour per cell, for up to
//! ten cells; small multiples (the cells with the lowest error) beyond.

use plotters::prelude::*;

use super::*;

const SINGLE_COLUMNS: usize = 10;
const MAX_PANELS: usize = 24;
const LEGEND_WIDTH: u32 = 270;

/// The losses at one epoch over a cell's networks.
#[derive(Clone, Copy)]
struct Point {
    epoch: f64,
    mean: f64,
    lo: f64,
    hi: f64,
}

struct Curves {
    train: Vec<Point>,
    test: Vec<Point>,
    networks: usize,
}

/// Whether a network's history is drawn: it did not diverge and every loss is finite and positive (a log axis).
fn drawable(n: &NetworkResult, h: &NetworkHistory) -> bool {
    n.status != "diverged"
        && h.train_loss
            .iter()
            .chain(&h.test_loss)
            .all(|v| v.is_finite() && *v > 0.0)
        && !(h.train_loss.is_empty() && h.test_loss.is_empty())
}

fn curve(histories: &[&NetworkHistory], losses: fn(&NetworkHistory) -> &[f64]) -> Vec<Point> {
    let epochs = histories.iter().map(|h| losses(h).len()).max().unwrap_or(0);
    (0..epochs)
        .filter_map(|e| {
            let at: Vec<f64> = histories
                .iter()
                .filter_map(|h| losses(h).get(e).copied())
                .collect();
            let stat = Stat::of(&at)?;
            Some(Point {
                epoch: (e + 1) as f64,
                mean: stat.mean,
                lo: at.iter().copied().fold(f64::INFINITY, f64::min),
                hi: at.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            })
        })
        .collect()
}

/// A cell's curves, and how many of its networks' histories were left out.
fn curves(v: &View, i: usize) -> (Curves, usize) {
    let mut used = Vec::new();
    let mut left_out = 0;
    for n in &v.networks[i] {
        match v.histories.get(&n.network) {
            Some(h) if drawable(n, h) => used.push(*h),
            Some(_) => left_out += 1,
            None => {}
        }
    }
    let c = Curves {
        train: curve(&used, |h| &h.train_loss),
        test: curve(&used, |h| &h.test_loss),
        networks: used.len(),
    };
    (c, left_out)
}

pub(super) fn draw(v: &View) -> Drawn<String> {
    let r = v.r;
    let mut all: Vec<(usize, Curves)> = Vec::new();
    let mut left_out = 0;
    for i in 0..r.cells.len() {
        let (c, out) = curves(v, i);
        left_out += out;
        if c.networks > 0 {
            all.push((i, c));
        }
    }
    let total = all.len();
    let mode = match total {
        0 | 1 => Mode::One,
        n if n <= SINGLE_COLUMNS => Mode::Columns,
        _ => Mode::Multiples,
    };
    let mut chosen = String::new();
    if mode == Mode::Multiples {
        let (best, _) = v.best_cells(MAX_PANELS);
        if total > MAX_PANELS {
            chosen = format!(
                "; the {} cells of lowest test error of {total}",
                best.len().min(total)
            );
        }
        // The cells of lowest error (then any with curves but no finite error), shown in cell order.
        let mut keep: Vec<usize> = best;
        keep.extend(
            all.iter()
                .map(|c| c.0)
                .filter(|c| !keep.contains(c))
                .collect::<Vec<_>>(),
        );
        keep.truncate(MAX_PANELS);
        all.retain(|c| keep.contains(&c.0));
    }

    let size = match mode {
        Mode::One => (1000, 560),
        Mode::Columns => (2 * 560 + LEGEND_WIDTH, 580),
        Mode::Multiples => {
            let (rows, cols) = v.panel_grid(&all.iter().map(|c| c.0).collect::<Vec<_>>(), 4);
            (cols as u32 * 340, 110 + rows as u32 * 270)
        }
    };
    let points = || all.iter().flat_map(|(_, c)| c.train.iter().chain(&c.test));
    let lo = points().map(|p| p.lo).fold(f64::INFINITY, f64::min);
    let hi = points().map(|p| p.hi).fold(f64::NEG_INFINITY, f64::max);
    let epochs = points().map(|p| p.epoch).fold(1.0, f64::max);
    let (y_range, y_ticks) = if lo.is_finite() && hi.is_finite() {
        log_axis(lo, hi)
    } else {
        log_axis(1.0, 10.0)
    };
    let axes = Axes {
        epochs,
        y_range,
        y_ticks,
        y_desc: format!("{} (log scale)", v.loss_label()),
    };

    canvas(size, |root| {
        let left = if left_out > 0 {
            format!("; {left_out} diverged or non-finite networks left out")
        } else {
            String::new()
        };
        let counts = all.iter().map(|c| c.1.networks);
        let subtitle = format!(
            "line: mean over each cell's networks, band: lowest to highest ({}, {}{left}{chosen})",
            v.design(),
            n_range(counts)
        );
        let (title, subtitle) = if r.varied.is_empty() {
            (
                "Loss during training",
                subtitle.replace("each cell's networks", "the networks"),
            )
        } else {
            ("Loss during training, per cell", subtitle)
        };
        let root = titled(root, title, &subtitle)?;
        if all.is_empty() {
            nothing(&root, "no finite loss history to draw")?;
            return Ok(());
        }
        match mode {
            Mode::One => {
                let (plot, legend) = root.split_horizontally(1000 - LEGEND_WIDTH);
                let c = &all[0].1;
                let caption = if r.varied.is_empty() {
                    String::new()
                } else {
                    v.cell_label(all[0].0)
                };
                panel(
                    &plot,
                    &caption,
                    &[(CYCLE[0], &c.train), (CYCLE[1], &c.test)],
                    &axes,
                    false,
                )?;
                side_legend(
                    &legend,
                    60,
                    &[],
                    &[
                        (
                            Key::line(CYCLE[0], false, Marker::None, true),
                            "training loss".into(),
                        ),
                        (
                            Key::line(CYCLE[1], false, Marker::None, true),
                            "test loss".into(),
                        ),
                    ],
                )?;
            }
            Mode::Columns => {
                let (plots, legend) = root.split_horizontally(2 * 560);
                let areas = plots.split_evenly((1, 2));
                for (k, (title, pick)) in [
                    (
                        "Training loss",
                        (|c: &Curves| &c.train) as fn(&Curves) -> &Vec<Point>,
                    ),
                    ("Test loss", |c: &Curves| &c.test),
                ]
                .into_iter()
                .enumerate()
                {
                    let lines: Vec<(RGBColor, &[Point])> = all
                        .iter()
                        .enumerate()
                        .map(|(j, (_, c))| (CYCLE[j % CYCLE.len()], pick(c).as_slice()))
                        .collect();
                    panel(&areas[k], title, &lines, &axes, false)?;
                }
                let entries: Vec<(Key, String)> = all
                    .iter()
                    .enumerate()
                    .map(|(j, (i, _))| {
                        (
                            Key::line(CYCLE[j % CYCLE.len()], false, Marker::None, true),
                            v.cell_label(*i),
                        )
                    })
                    .collect();
                side_legend(&legend, 60, &["one colour per cell".to_string()], &entries)?;
            }
            Mode::Multiples => {
                let (key, panels) = root.split_vertically(34);
                key_row(&key, &axes.y_desc)?;
                let (rows, cols) = v.panel_grid(&all.iter().map(|c| c.0).collect::<Vec<_>>(), 4);
                let areas = panels.split_evenly((rows, cols));
                for ((i, c), area) in all.iter().zip(&areas) {
                    panel(
                        area,
                        &v.cell_label(*i),
                        &[(CYCLE[0], &c.train), (CYCLE[1], &c.test)],
                        &axes,
                        true,
                    )?;
                }
            }
        }
        Ok(())
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    One,
    Columns,
    Multiples,
}

struct Axes {
    epochs: f64,
    y_range: std::ops::Range<f64>,
    y_ticks: Vec<f64>,
    y_desc: String,
}

/// The key of the small multiples, in one row: training and test colours, and what the y axes show.
fn key_row(area: &Area, y_desc: &str) -> Drawn<()> {
    let mut x = 12;
    for (color, label) in [(CYCLE[0], "training loss"), (CYCLE[1], "test loss")] {
        area.draw(&Rectangle::new(
            [(x, 10), (x + 28, 24)],
            color.mix(0.2).filled(),
        ))?;
        area.draw(&PathElement::new(
            vec![(x, 17), (x + 28, 17)],
            color.stroke_width(2),
        ))?;
        area.draw(&Text::new(
            label,
            (x + 36, 17),
            text(LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        x += 36 + text_width(label, LABEL_SIZE) as i32 + 28;
    }
    let label = format!("y axes: {y_desc}");
    area.draw(&Text::new(
        label,
        (x + 12, 17),
        text(LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    Ok(())
}

fn panel(
    area: &Area,
    caption: &str,
    lines: &[(RGBColor, &[Point])],
    axes: &Axes,
    compact: bool,
) -> Drawn<()> {
    let (caption_size, label_size, margin) = if compact {
        (LABEL_SIZE, 12, 8)
    } else {
        (CAPTION_SIZE, LABEL_SIZE, 16)
    };
    let width = area.dim_in_pixel().0 as f64 - 2.0 * margin as f64;
    let caption = shortened(caption, width, 10);
    let mut builder = ChartBuilder::on(area);
    if !caption.is_empty() {
        builder.caption(&caption, text(fitted_size(&caption, width, caption_size)));
    }
    let mut chart = builder
        .margin(margin)
        .x_label_area_size(if compact { 36 } else { 48 })
        .y_label_area_size(if compact { 58 } else { 78 })
        .build_cartesian_2d(
            Ticked::linear(
                0.0..axes.epochs,
                nice_ticks(0.0, axes.epochs, if compact { 4 } else { 6 }),
            ),
            Ticked::log(axes.y_range.clone(), axes.y_ticks.clone()),
        )?;
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&|v| fmt_num(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .label_style(text(label_size))
        .axis_desc_style(text(if compact { 12 } else { DESC_SIZE }))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.1));
    if compact {
        mesh.x_desc("epoch");
    } else {
        mesh.x_desc("epoch").y_desc(axes.y_desc.as_str());
    }
    mesh.draw()?;
    for (color, points) in lines {
        if points.len() > 1 {
            let mut band: Vec<(f64, f64)> = points.iter().map(|p| (p.epoch, p.hi)).collect();
            band.extend(points.iter().rev().map(|p| (p.epoch, p.lo)));
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                color.mix(0.18).filled(),
            )))?;
        }
        chart.draw_series(LineSeries::new(
            points.iter().map(|p| (p.epoch, p.mean)),
            color.stroke_width(2),
        ))?;
        if points.len() <= 20 {
            chart.draw_series(
                points
                    .iter()
                    .map(|p| Circle::new((p.epoch, p.mean), 3, color.filled())),
            )?;
        }
    }
    Ok(())
}
