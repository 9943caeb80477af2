//! Each figure, drawn from small synthetic inputs, parsed as XML: the series it should show (lines, points, images),
//! its axes (tick labels at the right places) and its labels and titles; drawn at 40 classes and 1,000 hidden
//! units, no two labels overlap and none leaves the canvas; and the PNG is the SVG rendered with the built-in font.

use std::collections::BTreeMap;

use popdecode::backend::History;
use popdecode::data::Matrix;
use popdecode::data::synth::{SynthConfig, generate};
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::class_of;
use popdecode::run::figures::png::{self, TextBox};
use popdecode::run::figures::{
    self, FigureData, confusion, data_matrix, decoded, hidden, loss, summary, weights,
};
use popdecode::run::layer_weights::LayerWeights;
use popdecode::run::predictions::{Predictions, Task, loss_label};
use popdecode::run::tuning_curves::TuningCurves;
use resvg::tiny_skia;
use roxmltree::{Document, Node};

/// What a test needs to know about an SVG document.
struct Svg {
    texts: Vec<(String, f64, f64)>,
    /// (stroke colour, number of points) of each polyline.
    lines: Vec<(String, usize)>,
    /// Fill colour -> number of circles.
    circles: BTreeMap<String, usize>,
    /// aria-label and PNG bytes of each embedded image.
    images: Vec<(String, Vec<u8>)>,
    size: (f64, f64),
}

fn attr(n: &Node, name: &str) -> String {
    n.attribute(name).unwrap_or("").to_string()
}

fn num(n: &Node, name: &str) -> f64 {
    n.attribute(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &v)| n | (u32::from(v) << (18 - 6 * i)));
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

fn parse(svg: &str) -> Svg {
    let doc = Document::parse(svg).expect("the figure is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let mut s = Svg {
        texts: Vec::new(),
        lines: Vec::new(),
        circles: BTreeMap::new(),
        images: Vec::new(),
        size: (num(&root, "width"), num(&root, "height")),
    };
    for n in doc.descendants().filter(Node::is_element) {
        match n.tag_name().name() {
            "text" => {
                assert_eq!(
                    attr(&n, "font-family"),
                    "sans-serif",
                    "a generic font family"
                );
                s.texts.push((
                    n.text().unwrap_or("").trim().to_string(),
                    num(&n, "x"),
                    num(&n, "y"),
                ))
            }
            "polyline" => s.lines.push((
                attr(&n, "stroke").to_uppercase(),
                attr(&n, "points").split_whitespace().count(),
            )),
            "circle" => {
                *s.circles
                    .entry(attr(&n, "fill").to_uppercase())
                    .or_default() += 1
            }
            "image" => {
                let href = attr(&n, "href");
                let data = href
                    .strip_prefix("data:image/png;base64,")
                    .expect("images are embedded PNGs");
                let png = base64_decode(data);
                assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
                s.images.push((attr(&n, "aria-label"), png));
            }
            _ => {}
        }
    }
    // No font files, no external references.
    assert!(!svg.contains("@font-face") && !svg.contains("url("));
    s
}

impl Svg {
    fn has_text(&self, t: &str) -> bool {
        self.texts.iter().any(|(s, _, _)| s == t)
    }

    fn assert_texts(&self, expected: &[&str]) {
        for t in expected {
            assert!(
                self.has_text(t),
                "no text {t:?} among {:?}",
                self.texts.iter().map(|t| &t.0).collect::<Vec<_>>()
            );
        }
    }

    fn text_containing(&self, part: &str) -> &str {
        self.texts
            .iter()
            .map(|t| t.0.as_str())
            .find(|t| t.contains(part))
            .unwrap_or_else(|| panic!("no text containing {part:?}"))
    }

    /// The y of a text, for tick positions.
    fn y_of(&self, t: &str) -> f64 {
        self.texts.iter().find(|s| s.0 == t).unwrap().2
    }

    /// Polylines of a colour with at least `min_points` points.
    fn series(&self, stroke: &str, min_points: usize) -> Vec<usize> {
        self.lines
            .iter()
            .filter(|(s, n)| s == stroke && *n >= min_points)
            .map(|l| l.1)
            .collect()
    }
}

/// Width and height of a PNG.
fn png_size(png: &[u8]) -> (u32, u32) {
    (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    )
}

const BLUE: &str = "#1F77B4";
const ORANGE: &str = "#FF7F0E";
const GREEN: &str = "#2CA02C";
const RED: &str = "#D62728";

#[test]
fn loss_figure_has_train_and_test_curves_on_a_log_axis() {
    let epochs = 30;
    let history = History {
        train_loss: (0..epochs).map(|e| 20000.0 * 0.8f64.powi(e)).collect(),
        test_loss: (0..epochs).map(|e| 25000.0 * 0.85f64.powi(e)).collect(),
    };
    let svg = loss::draw(&history, loss_label("mse")).unwrap();
    let s = parse(&svg);
    assert_eq!(s.size, (800.0, 500.0));
    assert_eq!(s.series(BLUE, epochs as usize), vec![30], "the train curve");
    assert_eq!(
        s.series(ORANGE, epochs as usize),
        vec![30],
        "the test curve"
    );
    s.assert_texts(&[
        "Loss during training (30 epochs)",
        "epochs",
        "mean squared error (deg²) (log scale)",
        "train loss",
        "test loss",
        "100",
        "1000",
        "10000",
    ]);
    // The losses run from 31 to 25,000: the axis begins and ends on a tick beyond them (1-2-5 ticks).
    s.assert_texts(&["20", "50", "20000", "50000"]);
    assert!(
        !s.has_text("100000"),
        "no tick beyond the one above the data"
    );
    // Equal steps for equal ratios: a log axis.
    let (a, b, c) = (s.y_of("100"), s.y_of("1000"), s.y_of("10000"));
    assert!(a > b && b > c, "larger losses higher up");
    assert!(((a - b) - (b - c)).abs() <= 2.0, "{a} {b} {c}");
    // A classifier's loss is named as such.
    let s = parse(&loss::draw(&history, loss_label("nll")).unwrap());
    assert!(
        s.text_containing("negative log likelihood")
            .contains("log scale")
    );
}

#[test]
fn regression_figure_has_the_test_points_and_the_identity_line() {
    let rows: Vec<usize> = (0..20).collect();
    let truth: Vec<f32> = rows.iter().map(|&r| r as f32 * 18.0).collect();
    let decoded: Vec<f64> = truth.iter().map(|&t| t as f64 + 10.0).collect();
    let s = parse(&decoded::draw(&Predictions::regression(&rows, &truth, &decoded)).unwrap());
    assert_eq!(s.circles.get(BLUE), Some(&21), "20 points and the legend's");
    let identity: Vec<&(String, usize)> = s.lines.iter().filter(|(c, _)| c == "#000000").collect();
    assert!(identity.iter().any(|l| l.1 == 2), "the identity line");
    s.assert_texts(&[
        "Decoded against true orientation (20 test stimuli)",
        "true stimulus orientation (°)",
        "decoded stimulus orientation (°)",
        "identity: decoded = true",
        "test stimulus (median error 10.0°)",
        "0°",
        "90°",
        "180°",
        "270°",
        "360°",
    ]);
    // Each angle labels both axes: the x axis's along the bottom, left to right; the y axis's in a column, upwards.
    let at = |t: &str| -> Vec<(f64, f64)> {
        s.texts
            .iter()
            .filter(|x| x.0 == t)
            .map(|x| (x.1, x.2))
            .collect()
    };
    let (zero, full) = (at("0°"), at("360°"));
    assert_eq!((zero.len(), full.len()), (2, 2));
    // plotters draws the y axis's labels first.
    let (y0, x0) = (zero[0], zero[1]);
    let (y360, x360) = (full[0], full[1]);
    assert!(
        x0.0 < x360.0 && (x0.1 - x360.1).abs() < 1.0,
        "x axis: {x0:?} {x360:?}"
    );
    assert!(
        y0.1 > y360.1 && (y0.0 - y360.0).abs() < 1.0,
        "y axis: {y0:?} {y360:?}"
    );
}

#[test]
fn classification_figure_has_bins_edges_and_points() {
    let classes = 8;
    let rows: Vec<usize> = (0..36).collect();
    let truth: Vec<f32> = rows.iter().map(|&r| r as f32 * 10.0 + 3.0).collect();
    // Right but for every fourth row, decoded one bin up.
    let bins: Vec<usize> = truth
        .iter()
        .enumerate()
        .map(|(i, &t)| (class_of(t, classes) + usize::from(i % 4 == 0)) % classes)
        .collect();
    let p = Predictions::classes(&rows, &truth, &bins, classes);
    assert_eq!(p.task(), Task::Classification { classes: 8 });
    let s = parse(&decoded::draw(&p).unwrap());
    assert_eq!(s.size, (760.0, 600.0));
    assert_eq!(s.circles.get(BLUE), Some(&36), "one point per test row");
    assert_eq!(s.series("#B3B3B3", 2).len(), 9, "the 9 bin edges");
    s.assert_texts(&[
        "true stimulus orientation (°)",
        "decoded orientation bin",
        "0°–45°",
        "45°–90°",
        "315°–360°",
        "0°",
        "45°",
        "315°",
        "360°",
    ]);
    assert!(
        s.text_containing("Decoded bin against true orientation")
            .contains("75% in the true bin")
    );
    // Bin labels go up the axis in order.
    assert!(s.y_of("0°–45°") > s.y_of("45°–90°") && s.y_of("45°–90°") > s.y_of("315°–360°"));
    // Many classes: ticks thin out but the edges are all drawn.
    let many = Predictions::classes(&[0, 1], &[5.0, 200.0], &[0, 20], 36);
    let s = parse(&decoded::draw(&many).unwrap());
    assert_eq!(s.series("#B3B3B3", 2).len(), 37);
    assert!(s.has_text("0°–10°") && !s.has_text("10°–20°") && s.has_text("20°–30°"));
    s.assert_texts(&["decoded orientation bin (every 2nd labelled)"]);
    // 20 classes fit a label per bin.
    let twenty = Predictions::classes(&[0, 1], &[5.0, 200.0], &[0, 19], 20);
    let s = parse(&decoded::draw(&twenty).unwrap());
    for b in 0..20 {
        assert!(s.has_text(&decoded::bin_label(b, 20)), "bin {b}");
    }
    s.assert_texts(&["decoded orientation bin"]);
}

fn small_run(hidden: usize) -> (TuningCurves, LayerWeights) {
    let data = generate(&SynthConfig {
        neurons: 150,
        stimuli: 36,
        seed: 2,
    });
    let spec = Spec {
        activation: Activation::Relu,
        ..Spec::tutorial(150, hidden)
    };
    let params = Params::init(&spec, 3);
    let weights = LayerWeights {
        input: Matrix::new(hidden, 150, params.input().weight.clone()),
        output: Matrix::new(1, hidden, params.output().weight.clone()),
        output_name: "out_layer.weight".into(),
    };
    (TuningCurves::compute(&data, &spec, &params), weights)
}

#[test]
fn data_figure_has_the_heatmap_its_colour_bar_and_three_tuning_curves() {
    let (tuning, _) = small_run(4);
    let s = parse(&data_matrix::draw(&tuning).unwrap());
    assert_eq!(s.size, (1250.0, 520.0));
    s.assert_texts(&[
        "150 neurons in response to 36 stimuli",
        "responses of the first 100 neurons",
        "stimulus orientation (°)",
        "neuron",
        "normalized neural response",
        "neural response",
        "0°",
        "90°",
        "180°",
        "270°",
    ]);
    for n in &tuning.example_neurons {
        assert!(s.has_text(&format!("neuron {n}")), "legend of neuron {n}");
    }
    for color in [BLUE, ORANGE, GREEN] {
        assert_eq!(
            s.series(color, 36),
            vec![36],
            "a curve of 36 stimuli in {color}"
        );
    }
    assert_eq!(s.images.len(), 2, "the heatmap and the colour bar");
    let (label, png) = &s.images[0];
    assert_eq!(label, "heatmap: 100 neurons x 36 stimuli");
    let (w, h) = png_size(png);
    assert!(
        w % 36 == 0 && h % 100 == 0,
        "whole pixels per cell: {w} x {h}"
    );
    assert!(
        s.images[1]
            .0
            .starts_with("colour bar: normalized neural response")
    );
}

#[test]
fn weights_figure_shows_sorted_input_weights_beside_the_output_weights() {
    let (tuning, w) = small_run(6);
    let s = parse(
        &weights::draw(
            &w,
            &tuning.preferred_deg,
            "Linear(150, 6) -> ReLU -> Linear(6, 1)",
            &[0, 1, 2, 3, 4, 5],
        )
        .unwrap(),
    );
    s.assert_texts(&[
        "Weights of the trained network",
        "Linear(150, 6) -> ReLU -> Linear(6, 1)",
        "W_in (in_layer.weight)",
        "W_out (out_layer.weight)",
        "output",
        "weight",
        "0",
        "5",
    ]);
    assert!(
        s.text_containing("150 neurons, sorted by preferred orientation")
            .contains("sigma 5")
    );
    assert_eq!(
        s.texts.iter().filter(|t| t.0 == "hidden unit").count(),
        2,
        "both panels' y axes"
    );
    let labels: Vec<&str> = s.images.iter().map(|i| i.0.as_str()).collect();
    assert_eq!(labels.len(), 4, "{labels:?}");
    assert_eq!(labels[0], "W_in: 6 hidden units x 150 sorted neurons");
    assert_eq!(labels[2], "W_out: 6 hidden units x 1 outputs");
    let (w_px, h_px) = png_size(&s.images[0].1);
    assert!(w_px % 150 == 0 && h_px % 6 == 0, "{w_px} x {h_px}");

    // The columns are the neurons in order of preference: weights equal to the preference come out increasing.
    let preferred: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 360) as f32).collect();
    let w_in = Matrix::new(1, 1000, preferred.clone());
    let (sorted, group) = weights::sorted_input_weights(&w_in, &preferred);
    assert_eq!(
        (group, sorted.cols),
        (2, 500),
        "at most 720 columns: means of 2"
    );
    assert!(sorted.data.windows(2).all(|p| p[0] <= p[1]));
}

#[test]
fn hidden_figure_has_a_tuning_curve_per_unit_coloured_by_its_output_weight() {
    let (tuning, w) = small_run(5);
    let s = parse(&hidden::draw(&tuning, &w).unwrap());
    let positive = w.output.data.iter().filter(|&&v| v >= 0.0).count();
    assert_eq!(s.series(RED, 36).len(), positive);
    assert_eq!(s.series(BLUE, 36).len(), 5 - positive);
    s.assert_texts(&[
        "Tuning curves of the 5 hidden units",
        "stimulus orientation (°)",
        "hidden unit activation",
        "unit 0",
        "unit 4",
    ]);
    assert!(
        s.text_containing("red: output weight > 0")
            .contains("weights.svg")
    );
    // Panels in reading order: unit 0 left of unit 1, on one row.
    let at = |t: &str| {
        s.texts
            .iter()
            .find(|x| x.0 == t)
            .map(|x| (x.1, x.2))
            .unwrap()
    };
    assert!(at("unit 0").0 < at("unit 1").0 && (at("unit 0").1 - at("unit 1").1).abs() < 1.0);
    // Wide layers: the 20 units that move the output most, numbered as W_in's rows.
    let (tuning, w) = small_run(30);
    let shown = hidden::units_shown(&tuning, &w);
    let s = parse(&hidden::draw(&tuning, &w).unwrap());
    assert_eq!(s.series(RED, 36).len() + s.series(BLUE, 36).len(), 20);
    assert!(
        s.text_containing("Tuning curves of 20 of the 30 hidden units")
            .contains("|W_out|")
    );
    for h in 0..30 {
        assert_eq!(
            s.has_text(&format!("unit {h}")),
            shown.contains(&h),
            "unit {h}"
        );
    }
    // weights.svg marks the same 20 rows.
    let s = parse(&weights::draw(&w, &tuning.preferred_deg, "net", &shown).unwrap());
    assert!(
        s.text_containing("◀ marks the 20 units drawn in hidden.svg")
            .starts_with("net")
    );
    // Several outputs (a classifier): each panel names the bin its unit feeds most.
    let (tuning, mut w) = small_run(3);
    // Unit h's largest weight goes to bin 2h + 1; its largest in magnitude, negative, to bin 0.
    let weight = |o: usize, h: usize| match o {
        0 => -5.0,
        _ if o == 2 * h + 1 => 1.0,
        _ => -0.5,
    };
    w.output = Matrix::new(8, 3, (0..24).map(|i| weight(i / 3, i % 3)).collect());
    let s = parse(&hidden::draw(&tuning, &w).unwrap());
    s.assert_texts(&["unit 0 -> bin 1", "unit 1 -> bin 3", "unit 2 -> bin 5"]);
}

#[test]
fn draw_all_makes_every_figure_of_a_run() {
    let (tuning, w) = small_run(4);
    let rows: Vec<usize> = (0..10).collect();
    let truth: Vec<f32> = rows.iter().map(|&r| r as f32 * 36.0).collect();
    let data = FigureData {
        task: Task::Regression,
        loss: "mse".into(),
        network: "Linear(150, 4) -> ReLU -> Linear(4, 1)".into(),
        history: History {
            train_loss: vec![4.0, 2.0, 1.0],
            test_loss: vec![5.0, 3.0, 2.5],
        },
        predictions: Predictions::regression(&rows, &truth, &[100.0; 10]),
        weights: w,
        tuning,
    };
    let drawn = figures::draw_all(&data).unwrap();
    let names: Vec<&str> = drawn.iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        ["loss", "decoded", "data", "weights", "hidden", "summary"]
    );
    assert_eq!(names, figures::names(Task::Regression));
    for f in &drawn {
        parse(&f.svg);
    }
}

/// No two texts of the figure overlap (by their boxes as laid out in the built-in font, with `slack` pixels of
/// leeway for the font's line gap), and every text lies wholly on the canvas (no title clipped).
fn assert_labels_apart(what: &str, svg: &str) -> usize {
    let s = parse(svg);
    let boxes: Vec<TextBox> = png::text_boxes(svg)
        .unwrap()
        .into_iter()
        .filter(|b| !b.text.trim().is_empty())
        .collect();
    for b in &boxes {
        assert!(
            b.left >= 0.0 && b.top >= 0.0 && b.right <= s.size.0 && b.bottom <= s.size.1,
            "{what}: {b:?} leaves the {:?} canvas",
            s.size
        );
    }
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            assert!(!a.overlaps(b, 1.0), "{what}: {a:?} overlaps {b:?}");
        }
    }
    boxes.len()
}

/// A classifier's predictions over every bin of `classes`: 4 test stimuli per bin, one in four decoded a bin up.
fn classifier(classes: usize) -> Predictions {
    let rows: Vec<usize> = (0..4 * classes).collect();
    let width = 360.0 / classes as f32;
    let truth: Vec<f32> = rows
        .iter()
        .map(|&r| (r / 4) as f32 * width + width / 2.0)
        .collect();
    let bins: Vec<usize> = rows
        .iter()
        .map(|&r| (r / 4 + usize::from(r % 4 == 0)) % classes)
        .collect();
    Predictions::classes(&rows, &truth, &bins, classes)
}

#[test]
fn labels_never_overlap_up_to_40_classes_and_1000_hidden_units() {
    let history = History {
        train_loss: (0..200).map(|e| 52000.0 * 0.97f64.powi(e)).collect(),
        test_loss: (0..200).map(|e| 60000.0 * 0.98f64.powi(e)).collect(),
    };
    let mut checked = Vec::new();
    let mut check =
        |what: String, svg: String| checked.push((what.clone(), assert_labels_apart(&what, &svg)));
    check(
        "loss".into(),
        loss::draw(&history, loss_label("mse")).unwrap(),
    );
    let (tuning, w) = small_run(1000);
    let regression =
        Predictions::regression(&[0, 1, 2], &[10.0, 200.0, 300.0], &[12.0, 190.0, 5.0]);
    check("decoded".into(), decoded::draw(&regression).unwrap());
    check(
        "summary".into(),
        summary::draw(&history, loss_label("mse"), &regression).unwrap(),
    );
    check("data".into(), data_matrix::draw(&tuning).unwrap());
    let shown = hidden::units_shown(&tuning, &w);
    let deep = "Linear(2000, 1000) -> ReLU -> Linear(1000, 1000) -> ReLU -> Linear(1000, 50) -> ReLU -> Linear(50, 40) -> LogSoftmax, NLL loss";
    check(
        "weights 1000 x 1".into(),
        weights::draw(&w, &tuning.preferred_deg, deep, &shown).unwrap(),
    );
    check("hidden 1000".into(), hidden::draw(&tuning, &w).unwrap());
    for classes in [2, 8, 20, 36, 40] {
        let p = classifier(classes);
        check(format!("decoded {classes}"), decoded::draw(&p).unwrap());
        check(format!("confusion {classes}"), confusion::draw(&p).unwrap());
        check(
            format!("summary {classes}"),
            summary::draw(&history, loss_label("nll"), &p).unwrap(),
        );
        let mut w = w.clone();
        w.output = Matrix::new(
            classes,
            1000,
            (0..classes * 1000)
                .map(|i| ((i * 37) % 101) as f32 - 50.0)
                .collect(),
        );
        let shown = hidden::units_shown(&tuning, &w);
        check(
            format!("weights 1000 x {classes}"),
            weights::draw(&w, &tuning.preferred_deg, deep, &shown).unwrap(),
        );
        check(
            format!("hidden 1000 -> {classes}"),
            hidden::draw(&tuning, &w).unwrap(),
        );
    }
    // A deep net: the weights beside W_in are the next hidden layer's, 1000 x 1000.
    let mut next = w.clone();
    next.output = Matrix::new(
        1000,
        1000,
        (0..1_000_000)
            .map(|i| ((i * 37) % 101) as f32 - 50.0)
            .collect(),
    );
    next.output_name = "hidden_layers.0.weight".into();
    check(
        "weights 1000 x 1000".into(),
        weights::draw(&next, &tuning.preferred_deg, deep, &shown).unwrap(),
    );
    check(
        "hidden 1000 -> 1000".into(),
        hidden::draw(&tuning, &next).unwrap(),
    );
    // Not vacuous: each figure has its ticks and titles.
    for (what, n) in &checked {
        assert!(*n >= 8, "{what}: only {n} texts");
    }
}

#[test]
fn confusion_figure_counts_test_stimuli_by_true_and_decoded_bin() {
    let p = classifier(4);
    let counts = confusion::counts(&p).unwrap();
    // Bin b's 4 stimuli: 3 decoded into b, 1 into b + 1.
    for (t, row) in counts.iter().enumerate() {
        let expected: Vec<usize> = (0..4)
            .map(|d| {
                if d == t {
                    3
                } else if d == (t + 1) % 4 {
                    1
                } else {
                    0
                }
            })
            .collect();
        assert_eq!(*row, expected, "true bin {t}");
    }
    let s = parse(&confusion::draw(&p).unwrap());
    s.assert_texts(&[
        "Confusion of the 16 test stimuli (12 in their true bin, 75%)",
        "decoded bin (90° each; bin 0 is 0°–90°)",
        "true bin (90° each; bin 0 is 0°–90°)",
        "test stimuli",
        "0",
        "3",
    ]);
    // Each non-zero count is written in its cell: 3 down the diagonal, 1 beside it.
    let threes = s.texts.iter().filter(|t| t.0 == "3").count();
    assert!(threes >= 4, "{threes}");
    let image = &s.images[0];
    assert_eq!(image.0, "confusion: 4 true bins x 4 decoded bins");
    let pixmap = tiny_skia::Pixmap::decode_png(&image.1).unwrap();
    let (cw, ch) = (pixmap.width() / 4, pixmap.height() / 4);
    let colour = |row: u32, col: u32| {
        let p = pixmap.pixel(col * cw + cw / 2, row * ch + ch / 2).unwrap();
        [p.red(), p.green(), p.blue()]
    };
    assert_eq!(
        colour(0, 0),
        [0x08, 0x30, 0x6b],
        "the largest count, darkest"
    );
    assert_eq!(colour(0, 2), [255, 255, 255], "none, white");
    assert!(
        colour(0, 1)[0] > 128 && colour(0, 1)[0] < 255,
        "a third of the largest"
    );
    // A regression has no confusion.
    assert!(confusion::counts(&Predictions::regression(&[0], &[1.0], &[2.0])).is_none());
}

#[test]
fn summary_figure_sets_the_loss_beside_decoded_against_true() {
    let history = History {
        train_loss: vec![4000.0, 2000.0, 1000.0],
        test_loss: vec![5000.0, 3000.0, 2500.0],
    };
    let rows: Vec<usize> = (0..10).collect();
    let truth: Vec<f32> = rows.iter().map(|&r| r as f32 * 36.0).collect();
    let p = Predictions::regression(&rows, &truth, &[100.0; 10]);
    let s = parse(&summary::draw(&history, loss_label("mse"), &p).unwrap());
    assert_eq!(s.size, (1400.0, 560.0));
    s.assert_texts(&[
        "Loss during training (3 epochs)",
        "Decoded against true orientation (10 test stimuli)",
        "train loss",
        "test loss",
        "epochs",
        "true stimulus orientation (°)",
    ]);
    assert_eq!(s.series(BLUE, 3), vec![3], "the train curve");
    assert_eq!(s.series(ORANGE, 3), vec![3], "the test curve");
    // The loss on the left half, decoded against true on the right.
    let x = |t: &str| s.texts.iter().find(|x| x.0 == t).unwrap().1;
    assert!(x("epochs") < 700.0 && x("true stimulus orientation (°)") > 700.0);
    // 3 + 3 loss points, 10 test stimuli, and the legends' marks.
    assert!(s.circles.get(BLUE).copied().unwrap_or(0) >= 13);
}

/// The chunk types of a PNG file, in order.
fn png_chunks(png: &[u8]) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut at = 8;
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        chunks.push(String::from_utf8_lossy(&png[at + 4..at + 8]).into_owned());
        at += 12 + len;
    }
    chunks
}

#[test]
fn png_is_the_svg_rendered_with_the_built_in_font_and_the_same_every_time() {
    let history = History {
        train_loss: vec![4000.0, 2000.0, 1000.0],
        test_loss: vec![5000.0, 3000.0, 2500.0],
    };
    let svg = loss::draw(&history, loss_label("mse")).unwrap();
    let bytes = png::render(&svg, png::SCALE).unwrap();
    assert_eq!(
        png::render(&svg, png::SCALE).unwrap(),
        bytes,
        "byte-reproducible"
    );
    let chunks = png_chunks(&bytes);
    assert_eq!(chunks.first().map(String::as_str), Some("IHDR"));
    assert!(
        chunks
            .iter()
            .all(|c| ["IHDR", "IDAT", "IEND"].contains(&c.as_str())),
        "no time or text chunks: {chunks:?}"
    );
    let image = tiny_skia::Pixmap::decode_png(&bytes).unwrap();
    assert_eq!(
        (image.width(), image.height()),
        (1600, 1000),
        "twice the SVG's size"
    );
    // The same figure without its texts: what differs inside each label's box is the text's ink.
    let blank_svg: String = {
        let doc = Document::parse(&svg).unwrap();
        let mut out = svg.clone();
        for n in doc.descendants().filter(|n| n.has_tag_name("text")) {
            out = out.replace(&svg[n.range()], "");
        }
        out
    };
    let blank =
        tiny_skia::Pixmap::decode_png(&png::render(&blank_svg, png::SCALE).unwrap()).unwrap();
    let dark = |p: &tiny_skia::Pixmap, b: &TextBox, other: bool| -> usize {
        let s = png::SCALE as f64;
        let (x0, x1) = ((b.left * s) as u32, (b.right * s) as u32);
        let (y0, y1) = ((b.top * s) as u32, (b.bottom * s) as u32);
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let c = p.pixel(x, y).unwrap();
                let ink = c.red() < 100 && c.green() < 100 && c.blue() < 100;
                ink && (!other || {
                    let d = blank.pixel(x, y).unwrap();
                    d.red() >= 100 || d.green() >= 100 || d.blue() >= 100
                })
            })
            .count()
    };
    let boxes = png::text_boxes(&svg).unwrap();
    for label in [
        "Loss during training (3 epochs)",
        "epochs",
        "train loss",
        "1000",
    ] {
        let b = boxes
            .iter()
            .find(|b| b.text == label)
            .unwrap_or_else(|| panic!("{label}"));
        let ink = dark(&image, b, true);
        let area = (b.right - b.left) * (b.bottom - b.top) * 4.0;
        assert!(
            ink as f64 > 0.04 * area,
            "{label}: {ink} dark pixels of {area}"
        );
        assert_eq!(
            dark(&blank, b, false),
            0,
            "{label}: no ink without the text"
        );
    }
}
