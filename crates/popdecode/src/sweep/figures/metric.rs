//! `metric_<name>`: the cross-validated median test error (and, for classifiers, the fraction correct) against
//! one varied parameter's values: mean ± 1 SD over each point's networks, one line per value (or combination) of
//! the other varied parameters, and the ridge baseline as a dashed line over a band.

use plotters::prelude::*;

use super::*;

/// At most this many lines; parameters beyond it are averaged over (pooled), and the legend says so.
const MAX_LINES: usize = 8;
const LEGEND_WIDTH: u32 = 270;
const PANEL_WIDTH: u32 = 640;
const HEIGHT: u32 = 580;
const Y_LABELS: u32 = 72;
const MARGIN: u32 = 16;
const BASELINE_GREY: RGBColor = RGBColor(0x70, 0x70, 0x70);

/// The axis words of each `--vary` name.
fn words(name: &str) -> String {
    match name {
        "lr" => "learning rate (lr)".into(),
        "hidden" => "hidden units (first layer)".into(),
        "l1" => "L1 penalty (l1)".into(),
        "l2" => "L2 penalty (l2)".into(),
        "momentum" => "momentum".into(),
        "bin-width" => "bin width (bin-width)".into(),
        "neurons" => "neurons decoded (a random subset per network)".into(),
        other => other.to_string(),
    }
}

/// One line: a point per value of the parameter with its statistics.
struct Series {
    label: String,
    color: RGBColor,
    error: Vec<(f64, Stat)>,
    fraction: Vec<(f64, Stat)>,
    baseline: Vec<(f64, Stat)>,
}

/// The x axis: its range, ticks and each tick's label.
struct XAxis {
    log: bool,
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
    labels: Vec<(f64, String)>,
}

impl XAxis {
    fn new(values: &[(f64, String)], log: bool, plot_width: f64) -> XAxis {
        let xs: Vec<f64> = values.iter().map(|v| v.0).collect();
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // The values padded a little, so no point sits on an axis; the fallback ticks' axis is wider.
        let (range, fallback) = if log {
            let pad = if hi > lo { (hi / lo).powf(0.05) } else { 2.0 };
            let (wide, ticks) = log_axis(lo, hi);
            (lo / pad..hi * pad, (wide, ticks))
        } else {
            let pad = if hi > lo {
                0.06 * (hi - lo)
            } else {
                lo.abs().max(1.0)
            };
            let range = lo - pad..hi + pad;
            let ticks = nice_ticks(range.start, range.end, 6);
            (range.clone(), (range, ticks))
        };
        // Ticks at the values themselves read best, where their labels fit side by side.
        let f = |x: f64| if log { x.ln() } else { x };
        let px = |x: f64| (f(x) - f(range.start)) / (f(range.end) - f(range.start)) * plot_width;
        let label = |x: f64, s: &str| {
            if s.chars().count() <= 7 {
                s.to_string()
            } else {
                fmt_num(x)
            }
        };
        let mut own: Vec<(f64, String)> = values.iter().map(|(x, s)| (*x, label(*x, s))).collect();
        own.sort_by(|a, b| a.0.total_cmp(&b.0));
        own.dedup_by(|a, b| a.0 == b.0);
        let fits = own.windows(2).all(|w| {
            let need =
                (text_width(&w[0].1, LABEL_SIZE) + text_width(&w[1].1, LABEL_SIZE)) / 2.0 + 8.0;
            px(w[1].0) - px(w[0].0) >= need
        });
        if fits && own.len() >= 2 {
            return XAxis {
                log,
                range,
                ticks: own.iter().map(|o| o.0).collect(),
                labels: own,
            };
        }
        // Round ticks on the padded axis, or on the ticks' own wider axis where fewer than two fall inside.
        let (wide, ticks) = fallback;
        let inside = |r: &std::ops::Range<f64>| -> Vec<f64> {
            ticks
                .iter()
                .copied()
                .filter(|t| *t >= r.start && *t <= r.end)
                .collect()
        };
        let (range, ticks) = if inside(&range).len() >= 2 {
            let t = inside(&range);
            (range, t)
        } else {
            let t = inside(&wide);
            (wide, t)
        };
        XAxis {
            log,
            range,
            labels: ticks.iter().map(|&t| (t, fmt_num(t))).collect(),
            ticks,
        }
    }

    fn ticked(&self) -> Ticked {
        if self.log {
            Ticked::log(self.range.clone(), self.ticks.clone())
        } else {
            Ticked::linear(self.range.clone(), self.ticks.clone())
        }
    }

    fn label(&self, v: f64) -> String {
        self.labels
            .iter()
            .find(|l| (l.0 - v).abs() <= 1e-9 * v.abs().max(1e-300))
            .map_or_else(|| fmt_num(v), |l| l.1.clone())
    }

    /// `x` moved by `shift`, a fraction of the axis, so that lines' error bars at one value sit side by side.
    fn dodge(&self, x: f64, shift: f64) -> f64 {
        if self.log {
            x * ((self.range.end / self.range.start).ln() * shift).exp()
        } else {
            x + shift * (self.range.end - self.range.start)
        }
    }
}

/// The product of the given parameters' value counts as index tuples, first parameter slowest.
fn combinations(counts: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    for &c in counts {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..c).map(move |i| {
                    let mut p = prefix.clone();
                    p.push(i);
                    p
                })
            })
            .collect();
    }
    out
}

/// The ridge baseline's statistics over folds: per fold, the mean of its networks' (repeats', and pooled
/// cells') baseline values, so each fold counts once.
fn per_fold(networks: &[&NetworkResult]) -> Option<Stat> {
    let mut folds: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
    for n in networks {
        if let Some(b) = metric(n, BASELINE_MEDIAN) {
            let e = folds.entry(n.fold).or_insert((0.0, 0));
            e.0 += b;
            e.1 += 1;
        }
    }
    let means: Vec<f64> = folds.values().map(|(s, k)| s / *k as f64).collect();
    Stat::of(&means)
}

fn same_stats(a: &[(f64, Stat)], b: &[(f64, Stat)]) -> bool {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300);
    a.len() == b.len()
        && a.iter().zip(b).all(|(p, q)| {
            p.0 == q.0 && close(p.1.mean, q.1.mean) && close(p.1.sd, q.1.sd) && p.1.n == q.1.n
        })
}

pub(super) fn draw(v: &View, p: usize) -> Drawn<String> {
    let r = v.r;
    let var = &r.varied[p];
    let log = var.log && var.numbers.iter().all(|x| x.is_finite() && *x > 0.0);
    let values: Vec<(f64, String)> = var
        .values
        .iter()
        .zip(&var.numbers)
        .filter(|(_, x)| x.is_finite() && (!log || **x > 0.0))
        .map(|(s, x)| (*x, s.clone()))
        .collect();

    // The other parameters: a line per combination of the first few, the rest averaged over.
    let mut kept = Vec::new();
    let mut averaged = Vec::new();
    let mut lines = 1;
    for q in (0..r.varied.len()).filter(|&q| q != p) {
        let k = r.varied[q].values.len().max(1);
        if lines * k <= MAX_LINES {
            kept.push(q);
            lines *= k;
        } else {
            averaged.push(q);
        }
    }
    let counts: Vec<usize> = kept.iter().map(|&q| r.varied[q].values.len()).collect();
    let mut series = Vec::new();
    for (g, combo) in combinations(&counts).into_iter().enumerate() {
        let in_line = |c: &CellResult| {
            kept.iter()
                .zip(&combo)
                .all(|(&q, &i)| c.values.get(q) == Some(&i))
        };
        let mut s = Series {
            label: String::new(),
            color: CYCLE[g % CYCLE.len()],
            error: Vec::new(),
            fraction: Vec::new(),
            baseline: Vec::new(),
        };
        for (i, &x) in var.numbers.iter().enumerate() {
            if !(x.is_finite() && (!log || x > 0.0)) {
                continue;
            }
            let cells: Vec<usize> = (0..r.cells.len())
                .filter(|&c| r.cells[c].values.get(p) == Some(&i) && in_line(&r.cells[c]))
                .collect();
            if s.label.is_empty()
                && let Some(&c) = cells.first()
            {
                s.label = v.label(&r.cells[c], &kept);
            }
            let nets: Vec<&NetworkResult> = cells
                .iter()
                .flat_map(|&c| v.networks[c].iter().copied())
                .collect();
            // A cell with no network rows still has its cells.csv row.
            let stat = |m: usize| match cells.as_slice() {
                [c] if nets.is_empty() => v.stat(*c, m),
                _ => Stat::of(&super::values(&nets, m)),
            };
            if let Some(st) = stat(TEST_MEDIAN) {
                s.error.push((x, st));
            }
            if let Some(st) = stat(FRACTION_CORRECT).filter(|_| r.classifier) {
                s.fraction.push((x, st));
            }
            if let Some(st) = per_fold(&nets).filter(|_| r.baseline) {
                s.baseline.push((x, st));
            }
        }
        if !s.error.is_empty() || !s.fraction.is_empty() {
            series.push(s);
        }
    }
    // The ridge does not learn the network's hyperparameters: one grey baseline unless the lines' differ.
    let one_baseline = series
        .windows(2)
        .all(|w| same_stats(&w[0].baseline, &w[1].baseline));

    let panels = if r.classifier { 2 } else { 1 };
    let size = (PANEL_WIDTH * panels + LEGEND_WIDTH, HEIGHT);
    canvas(size, |root| {
        let title = if var.name == "neurons" {
            "Cross-validated decoding error against the number of neurons".to_string()
        } else {
            format!("Cross-validated test error against {}", words(&var.name))
        };
        let counts = series
            .iter()
            .flat_map(|s| s.error.iter().chain(&s.fraction).map(|e| e.1.n));
        let subtitle = format!(
            "points: mean, error bars: ± 1 SD over each point's networks ({}, {}; non-finite left out)",
            v.design(),
            n_range(counts)
        );
        let root = titled(root, &title, &subtitle)?;
        let (plots, legend) = root.split_horizontally(PANEL_WIDTH * panels);
        if values.is_empty() || series.is_empty() {
            nothing(&plots, "no finite test error to draw")?;
            return Ok(());
        }
        let plot_width = (PANEL_WIDTH - Y_LABELS - 2 * MARGIN) as f64;
        let x = XAxis::new(&values, log, plot_width);
        let x_desc = format!(
            "{}{}",
            words(&var.name),
            if log { ", log scale" } else { "" }
        );
        let shift = |k: usize| {
            let step = if series.len() > 1 {
                (0.012f64).min(0.06 / (series.len() - 1) as f64)
            } else {
                0.0
            };
            (k as f64 - (series.len() as f64 - 1.0) / 2.0) * step
        };
        let areas = plots.split_evenly((1, panels as usize));
        let error_lines: Vec<(RGBColor, Vec<(f64, Stat)>)> = series
            .iter()
            .enumerate()
            .map(|(k, s)| (s.color, dodged(&x, &s.error, shift(k))))
            .collect();
        let baselines: Vec<(RGBColor, Vec<(f64, Stat)>)> = if !r.baseline {
            Vec::new()
        } else if one_baseline {
            series
                .first()
                .map(|s| (BASELINE_GREY, s.baseline.clone()))
                .into_iter()
                .collect()
        } else {
            series
                .iter()
                .map(|s| (s.color, s.baseline.clone()))
                .collect()
        };
        panel(
            &areas[0],
            &x,
            &x_desc,
            "Median angular error on the test folds",
            "median test error (°)",
            &error_lines,
            &baselines,
            YKind::Error,
        )?;
        if r.classifier {
            let fraction_lines: Vec<(RGBColor, Vec<(f64, Stat)>)> = series
                .iter()
                .enumerate()
                .map(|(k, s)| (s.color, dodged(&x, &s.fraction, shift(k))))
                .collect();
            panel(
                &areas[1],
                &x,
                &x_desc,
                "Fraction of test stimuli in the true bin",
                "fraction correct",
                &fraction_lines,
                &[],
                YKind::Fraction,
            )?;
        }

        let mut heading = Vec::new();
        if !kept.is_empty() {
            let names: Vec<&str> = kept.iter().map(|&q| r.varied[q].name.as_str()).collect();
            heading.push(format!("one line per {}", names.join(" × ")));
        }
        if !averaged.is_empty() {
            let names: Vec<&str> = averaged
                .iter()
                .map(|&q| r.varied[q].name.as_str())
                .collect();
            heading.push(format!("pooled over {}", names.join(", ")));
        }
        let mut entries: Vec<(Key, String)> = series
            .iter()
            .map(|s| {
                let label = if s.label.is_empty() {
                    "network: mean ± 1 SD".to_string()
                } else {
                    s.label.clone()
                };
                (Key::line(s.color, false, Marker::Dot, false), label)
            })
            .collect();
        if r.baseline {
            let color = if one_baseline { BASELINE_GREY } else { BLACK };
            entries.push((
                Key::line(color, true, Marker::Square, one_baseline),
                format!("ridge: mean ± 1 SD, {} folds", r.folds),
            ));
        }
        side_legend(&legend, 60, &heading, &entries)?;
        Ok(())
    })
}

fn dodged(x: &XAxis, points: &[(f64, Stat)], shift: f64) -> Vec<(f64, Stat)> {
    points
        .iter()
        .map(|&(p, s)| (x.dodge(p, shift), s))
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum YKind {
    Error,
    Fraction,
}

#[allow(clippy::too_many_arguments)]
fn panel(
    area: &Area,
    x: &XAxis,
    x_desc: &str,
    caption: &str,
    y_desc: &str,
    lines: &[(RGBColor, Vec<(f64, Stat)>)],
    baselines: &[(RGBColor, Vec<(f64, Stat)>)],
    kind: YKind,
) -> Drawn<()> {
    let all = || {
        lines
            .iter()
            .chain(baselines)
            .flat_map(|l| l.1.iter().map(|p| p.1))
    };
    let hi = all()
        .map(|s| s.mean + s.sd)
        .fold(f64::NEG_INFINITY, f64::max);
    let lo = all().map(|s| s.mean - s.sd).fold(f64::INFINITY, f64::min);
    let means = || all().map(|s| s.mean);
    let (min_mean, max_mean) = (
        means().fold(f64::INFINITY, f64::min),
        means().fold(f64::NEG_INFINITY, f64::max),
    );
    // Errors spanning an order of magnitude (a neuron-count curve) read on a log axis.
    let log_y = kind == YKind::Error && min_mean > 0.0 && max_mean / min_mean >= 8.0;
    let y = match kind {
        YKind::Error if log_y => {
            let positive_lo = all()
                .map(|s| s.mean - s.sd)
                .filter(|v| *v > 0.0)
                .fold(min_mean, f64::min)
                .max(min_mean / 4.0);
            let (range, ticks) = log_axis(positive_lo, hi);
            Ticked::log(range, ticks)
        }
        YKind::Error => {
            // From zero to the first tick above the data.
            let hi = if hi.is_finite() && hi > 0.0 { hi } else { 1.0 };
            let ticks = nice_ticks(0.0, hi, 5);
            let step = ticks.get(1).map_or(hi, |t| t - ticks[0]);
            let top = (hi / step).ceil() * step;
            Ticked::linear(0.0..top, multiples(0.0, top, step))
        }
        YKind::Fraction => {
            let bottom = if lo.is_finite() {
                ((lo.clamp(0.0, 1.0) * 10.0).floor() / 10.0).min(0.9)
            } else {
                0.0
            };
            let top = if hi.is_finite() && hi > 1.0 { hi } else { 1.0 };
            Ticked::linear(bottom..top + 0.02, nice_ticks(bottom, top, 6))
        }
    };
    let y_range = y.range();
    let y_desc = if log_y {
        format!("{y_desc}, log scale")
    } else {
        y_desc.to_string()
    };
    let size = fitted_size(caption, area.dim_in_pixel().0 as f64 - 32.0, CAPTION_SIZE);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, text(size))
        .margin(MARGIN)
        .x_label_area_size(48)
        .y_label_area_size(Y_LABELS)
        .build_cartesian_2d(x.ticked(), y)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| x.label(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .label_style(text(LABEL_SIZE))
        .axis_desc_style(text(DESC_SIZE))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.1))
        .draw()?;
    let clamp = |v: f64| v.clamp(y_range.start, y_range.end);
    for (color, points) in baselines {
        if points.len() > 1 {
            let mut band: Vec<(f64, f64)> = points
                .iter()
                .map(|(x, s)| (*x, clamp(s.mean + s.sd)))
                .collect();
            band.extend(points.iter().rev().map(|(x, s)| (*x, clamp(s.mean - s.sd))));
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                color.mix(0.15).filled(),
            )))?;
        } else {
            error_bars(&mut chart, points, *color, &clamp)?;
        }
        chart.draw_series(DashedLineSeries::new(
            points.iter().map(|(x, s)| (*x, s.mean)),
            8,
            5,
            color.stroke_width(2),
        ))?;
        chart.draw_series(points.iter().map(|(x, s)| {
            EmptyElement::at((*x, s.mean))
                + Rectangle::new([(-4, -4), (4, 4)], color.stroke_width(2))
        }))?;
    }
    for (color, points) in lines {
        error_bars(&mut chart, points, *color, &clamp)?;
        chart.draw_series(LineSeries::new(
            points.iter().map(|(x, s)| (*x, s.mean)),
            color.stroke_width(2),
        ))?;
        chart.draw_series(
            points
                .iter()
                .map(|(x, s)| Circle::new((*x, s.mean), 4, color.filled())),
        )?;
    }
    Ok(())
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Ticked, Ticked>>;

fn error_bars(
    chart: &mut Chart,
    points: &[(f64, Stat)],
    color: RGBColor,
    clamp: &dyn Fn(f64) -> f64,
) -> Drawn<()> {
    let style = color.stroke_width(1);
    chart.draw_series(points.iter().filter(|(_, s)| s.sd > 0.0).map(|(x, s)| {
        PathElement::new(
            vec![(*x, clamp(s.mean - s.sd)), (*x, clamp(s.mean + s.sd))],
            style,
        )
    }))?;
    for end in [-1.0, 1.0] {
        chart.draw_series(points.iter().filter(|(_, s)| s.sd > 0.0).map(|(x, s)| {
            EmptyElement::at((*x, clamp(s.mean + end * s.sd)))
                + PathElement::new(vec![(-4, 0), (4, 0)], style)
        }))?;
    }
    Ok(())
}
