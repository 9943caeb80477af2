//! What every figure shares: fonts, colours, colour maps, number formats and the colour bar.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

pub use super::png::text_width;
use super::raster::{Placed, Raster};

pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
pub type Drawn<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A generic family: the SVG names it and the viewer picks the font, so drawing needs no font files.
pub const FONT: &str = "sans-serif";
pub const TITLE_SIZE: u32 = 22;
pub const CAPTION_SIZE: u32 = 18;
pub const DESC_SIZE: u32 = 16;
pub const LABEL_SIZE: u32 = 14;

/// matplotlib's default colour cycle (tab10), as in the tutorial's figures.
pub const CYCLE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];
pub const GRID_GREY: RGBColor = RGBColor(0xb3, 0xb3, 0xb3);

pub fn text(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// The tutorial's colour maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colormap {
    /// matplotlib's `pink` (MATLAB's: sqrt((2 gray + hot) / 3)), used for the data matrix.
    Pink,
    /// matplotlib's `bwr`: blue, white, red, for signed weights.
    Bwr,
    /// White to matplotlib's `Blues` darkest blue, for counts.
    Blues,
}

impl Colormap {
    /// The colour at `t` in [0, 1] (clamped).
    pub fn rgb(self, t: f64) -> [u8; 3] {
        let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
        let c = match self {
            Colormap::Pink => {
                let hot = [
                    (t / 0.375).min(1.0),
                    ((t - 0.375) / 0.375).clamp(0.0, 1.0),
                    ((t - 0.75) / 0.25).clamp(0.0, 1.0),
                ];
                hot.map(|h| ((2.0 * t + h) / 3.0).sqrt())
            }
            Colormap::Bwr => {
                if t < 0.5 {
                    [2.0 * t, 2.0 * t, 1.0]
                } else {
                    [1.0, 2.0 * (1.0 - t), 2.0 * (1.0 - t)]
                }
            }
            Colormap::Blues => {
                let dark = [
                    0x08 as f64 / 255.0,
                    0x30 as f64 / 255.0,
                    0x6b as f64 / 255.0,
                ];
                dark.map(|d| 1.0 + t * (d - 1.0))
            }
        };
        c.map(|v| (v * 255.0).round() as u8)
    }

    /// The colour of `value` on a scale from `lo` to `hi`.
    pub fn scaled(self, value: f64, lo: f64, hi: f64) -> [u8; 3] {
        let t = if hi > lo {
            (value - lo) / (hi - lo)
        } else {
            0.5
        };
        self.rgb(t)
    }
}

/// An axis from `range.start` to `range.end` (either way round: a start above the end puts larger values lower,
/// as an image's row numbers) with ticks exactly at `ticks`, linear or logarithmic.
#[derive(Clone, Debug)]
pub struct Ticked {
    range: Range<f64>,
    ticks: Vec<f64>,
    log: bool,
}

impl Ticked {
    pub fn linear(range: Range<f64>, ticks: Vec<f64>) -> Ticked {
        Ticked {
            range,
            ticks,
            log: false,
        }
    }

    /// A log axis; `range` must be positive.
    pub fn log(range: Range<f64>, ticks: Vec<f64>) -> Ticked {
        Ticked {
            range,
            ticks,
            log: true,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = |v: f64| if self.log { v.ln() } else { v };
        let (a, b) = (f(self.range.start), f(self.range.end));
        let t = if b != a {
            (f(*value) - a) / (b - a)
        } else {
            0.5
        };
        let t = t.clamp(-10.0, 10.0);
        limit.0 + ((limit.1 - limit.0) as f64 * t).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// A number for a tick label: three significant digits at most, no trailing zeros, plain notation from 0.001 to
/// 100000 and `2e5`-style outside it.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_finite() {
            "0".into()
        } else {
            v.to_string()
        };
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exp}");
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

/// A number of degrees for a tick label: `90°`.
pub fn fmt_deg(v: f64) -> String {
    format!("{}°", fmt_num(v))
}

/// About `target` round tick values (multiples of 1, 2, 2.5 or 5 x 10^k) from `lo` to `hi`; zero, when in range, is
/// exactly zero.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater)
        || !lo.is_finite()
        || !hi.is_finite()
    {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag);
    multiples(lo, hi, step)
}

/// Multiples of `step` from `lo` to `hi`, for axes of angles.
pub fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Tick values for a log axis from `lo` to `hi`: the powers of ten, with 2x and 5x between them when there are
/// fewer than three powers, and more when the range is less than a decade.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    // m x 10^e, divided rather than multiplied for negative e so that 0.7 is 0.7.
    let scaled = |m: f64, e: i32| {
        if e >= 0 {
            m * 10f64.powi(e)
        } else {
            m / 10f64.powi(-e)
        }
    };
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let decades: Vec<f64> = (a..=b)
        .map(|e| scaled(1.0, e))
        .filter(|&v| v >= lo && v <= hi)
        .collect();
    if decades.len() > 8 {
        // Every k-th power of ten, at most 8 of them.
        let k = decades.len().div_ceil(8) as i32;
        return (a..=b)
            .filter(|e| e.rem_euclid(k) == 0)
            .map(|e| scaled(1.0, e))
            .filter(|&v| v >= lo && v <= hi)
            .collect();
    }
    let mults: &[f64] = if decades.len() >= 3 {
        &[1.0]
    } else if hi / lo < 10.0 {
        &[1.0, 1.5, 2.0, 3.0, 5.0, 7.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    (a..=b)
        .flat_map(|e| mults.iter().map(move |&m| scaled(m, e)))
        .filter(|&v| v >= lo && v <= hi)
        .collect()
}

/// A log axis that begins and ends on a tick, so the ticks cover the data from `lo` to `hi` (both positive): the
/// axis's range and its ticks. Ticks run 1-1.5-2-3-5-7 within less than a decade, 1-2-5 up to three decades,
/// powers of ten beyond (every k-th, at most 10 of them); the ends are the nearest ticks at or beyond the data.
pub fn log_axis(lo: f64, hi: f64) -> (Range<f64>, Vec<f64>) {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo / 2.0, lo * 2.0)
    };
    // m x 10^e, divided rather than multiplied for negative e so that 0.7 is 0.7.
    let scaled = |m: f64, e: i32| {
        if e >= 0 {
            m * 10f64.powi(e)
        } else {
            m / 10f64.powi(-e)
        }
    };
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let decades = (hi / lo).log10();
    let sequence: Vec<f64> = if decades <= 3.0 {
        let mults: &[f64] = if decades < 1.0 {
            &[1.0, 1.5, 2.0, 3.0, 5.0, 7.0]
        } else {
            &[1.0, 2.0, 5.0]
        };
        (a..=b)
            .flat_map(|e| mults.iter().map(move |&m| scaled(m, e)))
            .collect()
    } else {
        let k = ((b - a + 1) as usize).div_ceil(10) as i32;
        (a.div_euclid(k) * k..=b + k)
            .filter(|e| e.rem_euclid(k) == 0)
            .map(|e| scaled(1.0, e))
            .collect()
    };
    let start = sequence.iter().copied().rfind(|&v| v <= lo).unwrap_or(lo);
    let end = sequence.iter().copied().find(|&v| v >= hi).unwrap_or(hi);
    let ticks = sequence
        .into_iter()
        .filter(|&v| v >= start && v <= end)
        .collect();
    (start..end, ticks)
}

/// The step between labelled indices 0, step, 2 step, ... of `count` cells along `pixels` so that labels
/// `extent` pixels long (plus a gap) never meet: 1, 2, 5, 10, 20, 25, 50, 100, ...
pub fn index_step(count: usize, pixels: f64, extent: f64) -> usize {
    let cell = pixels / count.max(1) as f64;
    let need = extent + 4.0;
    let mut mag = 1;
    loop {
        for m in [1, 2, 5] {
            let step = m * mag;
            if step as f64 * cell >= need || step >= count {
                return step;
            }
        }
        mag *= 10;
    }
}

/// The font size, at most `size` and at least 10, at which `text` fits in `width` pixels.
pub fn fitted_size(text: &str, width: f64, size: u32) -> u32 {
    (10..=size)
        .rev()
        .find(|&s| text_width(text, s) <= width)
        .unwrap_or(10)
}

/// Percentile `p` (0-100) of finite values, linear between order statistics as NumPy's default.
pub fn percentile(values: &[f32], p: f64) -> f64 {
    let mut v: Vec<f64> = values
        .iter()
        .map(|&x| x as f64)
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let pos = p / 100.0 * (v.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    if i + 1 < v.len() {
        v[i] + frac * (v[i + 1] - v[i])
    } else {
        v[i]
    }
}

/// A vertical colour bar beside a heatmap whose plotting area spans `rows` (SVG pixels, top to bottom): the
/// colour map from `lo` (bottom) to `hi` (top) with a labelled value axis on its right.
pub fn colorbar(
    area: &Area,
    rows: std::ops::Range<i32>,
    cmap: Colormap,
    (lo, hi): (f64, f64),
    label: &str,
) -> Drawn<Placed> {
    let (_, area_rows) = area.get_pixel_range();
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, lo + 1.0)
    };
    let mut chart = ChartBuilder::on(area)
        .margin_top((rows.start - area_rows.start).max(0) as u32)
        .margin_bottom((area_rows.end - rows.end).max(0) as u32)
        .margin_left(6)
        .margin_right(14)
        .right_y_label_area_size(62)
        .build_cartesian_2d(0f64..1f64, Ticked::linear(lo..hi, nice_ticks(lo, hi, 6)))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .set_tick_mark_size(LabelAreaPosition::Right, 5)
        .y_label_formatter(&|v| fmt_num(*v))
        .y_desc(label)
        .label_style(text(LABEL_SIZE))
        .axis_desc_style(text(DESC_SIZE))
        .draw()?;
    let (x0, y0) = chart.backend_coord(&(0.0, hi));
    let (x1, y1) = chart.backend_coord(&(1.0, lo));
    const STEPS: usize = 256;
    Ok(Placed {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
        raster: Raster::from_fn(1, STEPS, |_, y| {
            cmap.rgb(1.0 - y as f64 / (STEPS - 1) as f64)
        }),
        label: format!("colour bar: {label}, {} to {}", fmt_num(lo), fmt_num(hi)),
    })
}

/// Where the rectangle with data corners `top_left` and `bottom_right` lies on the SVG, as (x, y, width, height).
pub fn image_rect<X: Ranged, Y: Ranged>(
    chart: &ChartContext<SVGBackend, Cartesian2d<X, Y>>,
    top_left: (X::ValueType, Y::ValueType),
    bottom_right: (X::ValueType, Y::ValueType),
) -> (i32, i32, i32, i32) {
    let (ax, ay) = chart.backend_coord(&top_left);
    let (bx, by) = chart.backend_coord(&bottom_right);
    (ax, ay, bx - ax, by - ay)
}

/// The series legend at `position`, boxed in white over the plot, as every figure draws it.
pub fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Drawn<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font(text(LABEL_SIZE))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    Ok(())
}

/// The axes of a plot against stimulus orientation: 0-360° ticked every 90°, `y_desc` on the y axis, faint
/// grid lines, as the data and hidden-unit figures draw their tuning curves.
pub fn draw_orientation_mesh<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<Ticked, plotters::coord::types::RangedCoordf64>>,
    y_desc: &str,
) -> Drawn<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_mesh()
        .x_desc("stimulus orientation (°)")
        .y_desc(y_desc)
        .x_label_formatter(&|v| fmt_deg(*v))
        .y_label_formatter(&|v| fmt_num(*v))
        .label_style(text(LABEL_SIZE))
        .axis_desc_style(text(DESC_SIZE))
        .light_line_style(WHITE)
        .bold_line_style(BLACK.mix(0.1))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_person_writes_them() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(1000.0), "1000");
        assert_eq!(fmt_num(0.30000000000000004), "0.3");
        assert_eq!(fmt_num(-0.5), "-0.5");
        assert_eq!(fmt_num(0.00123), "0.00123");
        assert_eq!(fmt_num(12345.0), "12345");
        assert_eq!(fmt_num(200000.0), "2e5");
        assert_eq!(fmt_num(0.0001), "1e-4");
        assert_eq!(fmt_num(-1e-9), "-1e-9");
        assert_eq!(fmt_deg(90.0), "90°");
    }

    #[test]
    fn ticks_for_log_and_angle_axes() {
        assert_eq!(
            log_ticks(250.0, 60000.0),
            vec![500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 50000.0]
        );
        assert_eq!(log_ticks(90.0, 20000.0), vec![100.0, 1000.0, 10000.0]);
        assert_eq!(
            log_ticks(1e3, 1e40),
            vec![1e5, 1e10, 1e15, 1e20, 1e25, 1e30, 1e35, 1e40]
        );
        assert_eq!(log_ticks(0.5, 3.5), vec![0.5, 0.7, 1.0, 1.5, 2.0, 3.0]);
        assert_eq!(multiples(-30.0, 300.0, 90.0), vec![0.0, 90.0, 180.0, 270.0]);
        assert_eq!(
            nice_ticks(-0.027, 0.027, 6),
            vec![-0.02, -0.01, 0.0, 0.01, 0.02]
        );
        assert_eq!(nice_ticks(-0.8, 1.4, 5), vec![-0.5, 0.0, 0.5, 1.0]);
    }

    #[test]
    fn log_axes_begin_and_end_on_ticks_around_the_data() {
        // The loss of a run that ends near 300.
        let (range, ticks) = log_axis(297.0, 52000.0);
        assert_eq!(range, 200.0..100000.0);
        assert_eq!(ticks, vec![200.0, 500.0, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5]);
        let (range, ticks) = log_axis(0.034, 1.22);
        assert_eq!(range, 0.02..2.0);
        assert_eq!(ticks, vec![0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0]);
        let (range, ticks) = log_axis(0.8, 3.2);
        assert_eq!(range, 0.7..5.0);
        assert_eq!(ticks, vec![0.7, 1.0, 1.5, 2.0, 3.0, 5.0]);
        let (range, _) = log_axis(3e-3, 4e4);
        assert_eq!(range, 1e-3..1e5);
        assert_eq!(index_step(20, 400.0, 14.0), 1);
        assert_eq!(index_step(40, 400.0, 14.0), 2);
        assert_eq!(index_step(1000, 400.0, 14.0), 50);
        assert_eq!(index_step(3, 10.0, 14.0), 5);
    }

    #[test]
    fn colour_maps_end_where_matplotlibs_do() {
        assert_eq!(Colormap::Bwr.rgb(0.0), [0, 0, 255]);
        assert_eq!(Colormap::Bwr.rgb(0.5), [255, 255, 255]);
        assert_eq!(Colormap::Bwr.rgb(1.0), [255, 0, 0]);
        assert_eq!(Colormap::Pink.rgb(1.0), [255, 255, 255]);
        assert_eq!(Colormap::Blues.rgb(0.0), [255, 255, 255]);
        assert_eq!(Colormap::Blues.rgb(1.0), [0x08, 0x30, 0x6b]);
        let dark = Colormap::Pink.rgb(0.02);
        assert!(dark[0] > dark[1] && dark[0] < 80, "{dark:?}");
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
    }
}
