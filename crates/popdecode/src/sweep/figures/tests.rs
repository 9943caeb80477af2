use super::*;
use crate::run::figures::png;
use crate::sweep::results::{METRICS, Prediction, Varied};

/// A deterministic number in [0, 1) from integers (splitmix64), for noise the fixtures can reproduce.
fn noise(keys: &[u64]) -> f64 {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for &k in keys {
        x ^= k.wrapping_add(0x9e37_79b9_7f4a_7c15).wrapping_add(x << 6);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
    }
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn varied(name: &str, values: &[&str], numbers: &[f64]) -> Varied {
    let lo = numbers.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Varied {
        name: name.to_string(),
        values: values.iter().map(|s| s.to_string()).collect(),
        numbers: numbers.to_vec(),
        log: lo > 0.0 && hi / lo >= 10.0,
    }
}

const STIMULI: usize = 360;

/// A sweep over the grid of `varied` (first parameter slowest) with `folds` x `repeats` networks a cell, each
/// with 30 epochs of history and its fold's predictions; `error(values)` is a cell's typical median error (°).
fn sweep(
    varied: Vec<Varied>,
    folds: usize,
    repeats: usize,
    classifier: bool,
    baseline: bool,
    error: &dyn Fn(&[f64]) -> f64,
) -> SweepResults {
    let mut grid = vec![Vec::new()];
    for v in &varied {
        grid = grid
            .into_iter()
            .flat_map(|p: Vec<usize>| {
                (0..v.values.len()).map(move |i| {
                    let mut p = p.clone();
                    p.push(i);
                    p
                })
            })
            .collect();
    }
    let mut r = SweepResults {
        varied,
        folds,
        repeats,
        classifier,
        baseline,
        loss: if classifier { "nll" } else { "mse" }.to_string(),
        networks: Vec::new(),
        cells: Vec::new(),
        histories: Vec::new(),
        predictions: Vec::new(),
    };
    for (cell, values) in grid.into_iter().enumerate() {
        let numbers: Vec<f64> = values
            .iter()
            .zip(&r.varied)
            .map(|(&i, v)| v.numbers[i])
            .collect();
        let typical = error(&numbers);
        for repeat in 0..repeats {
            for fold in 0..folds {
                let network = r.networks.len();
                let k = network as u64;
                let median = typical * (0.85 + 0.3 * noise(&[k, 1]));
                let ridge =
                    1.4 * error(&numbers) * (0.9 + 0.2 * noise(&[cell as u64, fold as u64]));
                let mut metrics = vec![
                    Some(median),
                    Some(1.3 * median),
                    Some(median * median),
                    Some(0.6 * median * median),
                    classifier.then(|| (1.0 - median / 60.0).clamp(0.05, 1.0)),
                    baseline.then_some(ridge),
                    baseline.then_some(1.3 * ridge),
                ];
                metrics.truncate(METRICS.len());
                r.networks.push(NetworkResult {
                    network,
                    cell,
                    fold,
                    repeat,
                    init_seed: repeat as u64,
                    neuron_seed: None,
                    status: "complete".into(),
                    epochs: 30,
                    metrics,
                });
                let end = median * median;
                r.histories.push(NetworkHistory {
                    network,
                    train_loss: (0..30)
                        .map(|e| {
                            0.6 * end
                                + 2000.0 * (-(e as f64) / 4.0).exp() * (1.0 + 0.1 * noise(&[k, e]))
                        })
                        .collect(),
                    test_loss: (0..30)
                        .map(|e| {
                            end + 2000.0
                                * (-(e as f64) / 5.0).exp()
                                * (1.0 + 0.1 * noise(&[k, e, 2]))
                        })
                        .collect(),
                });
                for row in (fold..STIMULI).step_by(folds) {
                    let truth = row as f64;
                    let off = (noise(&[k, row as u64, 3]) - 0.5) * 3.0 * median;
                    r.predictions.push(Prediction {
                        network,
                        row,
                        stimulus_deg: truth,
                        decoded_deg: truth + off,
                    });
                }
            }
        }
        let stats = (0..METRICS.len())
            .map(|m| {
                let vals: Vec<f64> = r
                    .networks
                    .iter()
                    .filter(|n| n.cell == cell)
                    .filter_map(|n| n.metrics[m])
                    .collect();
                Stat::of(&vals)
            })
            .collect();
        r.cells.push(CellResult {
            cell,
            values,
            stats,
        });
    }
    r
}

/// The neuron-count curve: 10 to all 23,589 neurons, 5 folds x 4 repeats, with the ridge baseline.
fn neurons_sweep() -> SweepResults {
    let mut r = sweep(
        vec![varied(
            "neurons",
            &["10", "100", "1000", "10000", "23589"],
            &[10.0, 100.0, 1000.0, 10000.0, 23589.0],
        )],
        5,
        4,
        false,
        true,
        &|v| 2.0 + 50.0 * (v[0] / 10.0).powf(-0.45),
    );
    for n in &mut r.networks {
        n.neuron_seed = Some(1000 + n.network as u64);
    }
    r
}

/// lr x hidden, 3 folds x 2 repeats; one network diverged (NaN metrics and losses) and one cell whose metrics are
/// all None.
fn lr_hidden_sweep() -> SweepResults {
    let mut r = sweep(
        vec![
            varied(
                "lr",
                &["1e-4", "1e-3", "1e-2", "1e-1"],
                &[1e-4, 1e-3, 1e-2, 1e-1],
            ),
            varied("hidden", &["10", "50", "200:100"], &[10.0, 50.0, 200.0]),
        ],
        3,
        2,
        false,
        false,
        &|v| 4.0 + 3.0 * (v[0].log10() + 2.5).powi(2) + 30.0 / v[1],
    );
    // lr = 1e-1, hidden = 200:100 (cell 11): every network diverged.
    let dead = 11;
    for n in r.networks.iter_mut().filter(|n| n.cell == dead) {
        n.status = "diverged".into();
        n.metrics = vec![None; METRICS.len()];
    }
    r.cells[dead].stats = vec![None; METRICS.len()];
    let dead_networks: Vec<usize> = r
        .networks
        .iter()
        .filter(|n| n.cell == dead)
        .map(|n| n.network)
        .collect();
    for h in r
        .histories
        .iter_mut()
        .filter(|h| dead_networks.contains(&h.network))
    {
        h.train_loss[10..].fill(f64::NAN);
        h.test_loss[10..].fill(f64::INFINITY);
    }
    for p in r
        .predictions
        .iter_mut()
        .filter(|p| dead_networks.contains(&p.network))
    {
        p.decoded_deg = f64::NAN;
    }
    // One diverged network in lr = 1e-1, hidden = 10 (cell 9).
    let n = r.networks.iter_mut().find(|n| n.cell == 9).unwrap();
    n.status = "diverged".into();
    n.metrics = vec![
        Some(f64::NAN),
        Some(f64::INFINITY),
        Some(f64::NAN),
        None,
        None,
        None,
        None,
    ];
    let id = n.network;
    r.histories[id].train_loss[5] = 1e30;
    r.histories[id].train_loss[6..].fill(f64::NAN);
    r
}

/// cv of a classifier with the ridge baseline: nothing varied, one cell, 5 folds x 3 repeats.
fn cv_classifier() -> SweepResults {
    sweep(Vec::new(), 5, 3, true, true, &|_| 6.0)
}

/// lr x hidden x l2 (36 cells): lines for hidden, l2 pooled; small multiples and capped panels.
fn three_way_sweep() -> SweepResults {
    sweep(
        vec![
            varied("lr", &["1e-3", "3e-3", "1e-2"], &[1e-3, 3e-3, 1e-2]),
            varied("hidden", &["10", "30", "100"], &[10.0, 30.0, 100.0]),
            varied("l2", &["0", "0.01", "0.1", "1"], &[0.0, 0.01, 0.1, 1.0]),
        ],
        4,
        2,
        false,
        true,
        &|v| 5.0 + 2.0 * (v[0].log10() + 2.5).abs() + 20.0 / v[1] + 4.0 * v[2],
    )
}

/// A classifier over linearly spaced l2 values: two panels (error, fraction correct), a linear axis.
fn classifier_sweep() -> SweepResults {
    sweep(
        vec![varied("l2", &["0", "0.5", "1", "2"], &[0.0, 0.5, 1.0, 2.0])],
        5,
        2,
        true,
        false,
        &|v| 8.0 + 3.0 * (v[0] - 0.7).powi(2),
    )
}

/// Thirteen learning rates a third of a decade apart (values too long and too close to label one by one).
fn dense_sweep() -> SweepResults {
    let numbers: Vec<f64> = (0..13).map(|k| 10f64.powf(-5.0 + k as f64 / 3.0)).collect();
    let values: Vec<String> = numbers.iter().map(|x| format!("{x}")).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    sweep(
        vec![varied("lr", &values, &numbers)],
        3,
        1,
        false,
        false,
        &|v| 4.0 + 2.0 * (v[0].log10() + 2.5).powi(2),
    )
}

fn fixtures() -> Vec<(&'static str, SweepResults)> {
    vec![
        ("neurons", neurons_sweep()),
        ("classifier", classifier_sweep()),
        ("lr_hidden", lr_hidden_sweep()),
        ("cv", cv_classifier()),
        ("three_way", three_way_sweep()),
        ("dense", dense_sweep()),
    ]
}

fn texts(svg: &str) -> Vec<String> {
    png::text_boxes(svg)
        .unwrap()
        .into_iter()
        .map(|b| b.text)
        .collect()
}

fn figure<'a>(figures: &'a [Figure], name: &str) -> &'a str {
    &figures.iter().find(|f| f.name == name).unwrap().svg
}

#[test]
fn every_expected_figure_is_drawn_and_non_empty() {
    for (what, r) in fixtures() {
        let figures = draw_all(&r).unwrap();
        let drawn: Vec<&str> = figures.iter().map(|f| f.name).collect();
        assert_eq!(drawn, names(&r), "{what}");
        for f in &figures {
            // Non-empty: more than the canvas and the titles, and a valid SVG.
            assert!(
                f.svg.len() > 5000,
                "{what} {}: {} bytes",
                f.name,
                f.svg.len()
            );
            assert!(texts(&f.svg).len() > 8, "{what} {}", f.name);
        }
    }
    assert_eq!(
        names(&lr_hidden_sweep()),
        ["metric_lr", "metric_hidden", "learning_curves", "decoded"]
    );
    assert_eq!(
        names(&neurons_sweep()),
        ["metric_neurons", "learning_curves", "decoded", "baseline"]
    );
    assert_eq!(
        names(&cv_classifier()),
        ["learning_curves", "decoded", "baseline"]
    );
    let t = texts(figure(&draw_all(&classifier_sweep()).unwrap(), "metric_l2"));
    assert!(t.iter().any(|s| s == "fraction correct"), "{t:?}");
    assert!(!t.iter().any(|s| s.contains("log scale")), "{t:?}");
}

#[test]
fn log_spaced_values_get_a_log_axis_ticked_at_the_values() {
    let figures = draw_all(&neurons_sweep()).unwrap();
    let t = texts(figure(&figures, "metric_neurons"));
    for tick in ["10", "100", "1000", "10000", "23589"] {
        assert!(t.iter().any(|s| s == tick), "no tick {tick}: {t:?}");
    }
    assert!(t.iter().any(|s| s.contains("log scale")), "{t:?}");
    let figures = draw_all(&lr_hidden_sweep()).unwrap();
    let t = texts(figure(&figures, "metric_lr"));
    for tick in ["1e-4", "1e-3", "1e-2", "1e-1"] {
        assert!(t.iter().any(|s| s == tick), "no tick {tick}: {t:?}");
    }
    // Values too close to label each: a log axis ticked at powers of ten instead.
    let t = texts(figure(&draw_all(&dense_sweep()).unwrap(), "metric_lr"));
    for tick in ["1e-5", "1e-4", "0.001", "0.01", "0.1"] {
        assert!(t.iter().any(|s| s == tick), "no tick {tick}: {t:?}");
    }
    assert!(!t.iter().any(|s| s.starts_with("0.0000")), "{t:?}");
    let t = texts(figure(&draw_all(&dense_sweep()).unwrap(), "decoded"));
    assert!(t.iter().any(|s| s.starts_with("lr = 2.15e-5: ")), "{t:?}");
    // A value's own spelling, and not a long one: `200:100` is the 200-unit first layer.
    let t = texts(figure(&figures, "metric_hidden"));
    assert!(t.iter().any(|s| s == "200:100"), "{t:?}");
    // Lines of the other parameter, named as the legend names them.
    assert!(t.iter().any(|s| s == "lr = 1e-3"), "{t:?}");
    // Log-spaced ticks lie at equal distances.
    let boxes = png::text_boxes(figure(
        &draw_all(&neurons_sweep()).unwrap(),
        "metric_neurons",
    ))
    .unwrap();
    // The x axis's labels: the lowest of each text.
    let centre = |label: &str| {
        let b = boxes
            .iter()
            .filter(|b| b.text == label)
            .max_by(|a, b| a.top.total_cmp(&b.top))
            .unwrap();
        (b.left + b.right) / 2.0
    };
    let (a, b, c) = (centre("10"), centre("100"), centre("1000"));
    assert!(((b - a) - (c - b)).abs() < 1.5, "{a} {b} {c}");
}

#[test]
fn three_parameters_pool_the_ones_beyond_eight_lines_and_say_so() {
    let figures = draw_all(&three_way_sweep()).unwrap();
    let t = texts(figure(&figures, "metric_lr"));
    assert!(t.iter().any(|s| s == "pooled over l2"), "{t:?}");
    assert!(t.iter().any(|s| s == "hidden = 30"), "{t:?}");
    // l2 varied: lines per lr x hidden would be 9: pooled over hidden, 3 lines of lr... no: lr (3) fits, hidden (3) does not.
    let t = texts(figure(&figures, "metric_l2"));
    assert!(t.iter().any(|s| s == "one line per lr"), "{t:?}");
    assert!(t.iter().any(|s| s == "pooled over hidden"), "{t:?}");
    let t = texts(figure(&figures, "decoded"));
    assert!(
        t.iter()
            .any(|s| s.contains("the 12 cells of lowest mean test error of 36")),
        "{t:?}"
    );
}

#[test]
fn two_draws_give_the_same_bytes_whatever_the_rows_order() {
    for (what, r) in fixtures() {
        let a = draw_all(&r).unwrap();
        let b = draw_all(&r).unwrap();
        let mut shuffled = r.clone();
        shuffled.networks.reverse();
        shuffled.histories.reverse();
        shuffled.predictions.reverse();
        let c = draw_all(&shuffled).unwrap();
        for ((a, b), c) in a.iter().zip(&b).zip(&c) {
            assert!(a.svg == b.svg, "{what} {}: two draws differ", a.name);
            assert!(
                a.svg == c.svg,
                "{what} {}: depends on the rows' order",
                a.name
            );
        }
    }
}

#[test]
fn diverged_networks_and_empty_cells_are_left_out() {
    let r = lr_hidden_sweep();
    let figures = draw_all(&r).unwrap();
    for f in &figures {
        let t = texts(&f.svg).join(" ");
        assert!(!t.contains("NaN") && !t.contains("inf"), "{}: {t}", f.name);
        assert!(!f.svg.contains("NaN"), "{}", f.name);
    }
    // The all-None cell is in no decoded panel; the one diverged network is left out of its cell's count.
    let t = texts(figure(&figures, "decoded"));
    assert!(
        !t.iter()
            .any(|s| s.starts_with("lr = 1e-1, hidden = 200:100")),
        "{t:?}"
    );
    assert!(
        t.iter().any(|s| s.starts_with("lr = 1e-1, hidden = 10:")),
        "{t:?}"
    );
    let t = texts(figure(&figures, "metric_lr")).join(" ");
    assert!(t.contains("n = 5–6"), "{t}");
    let t = texts(figure(&figures, "learning_curves")).join(" ");
    assert!(
        t.contains("7 diverged or non-finite networks left out"),
        "{t}"
    );

    // Nothing finite at all: every figure still drawn, saying so.
    let mut dead = r.clone();
    for n in &mut dead.networks {
        n.metrics = vec![None; METRICS.len()];
    }
    for c in &mut dead.cells {
        c.stats = vec![None; METRICS.len()];
    }
    dead.histories
        .iter_mut()
        .for_each(|h| h.test_loss.fill(f64::NAN));
    dead.predictions.clear();
    for f in draw_all(&dead).unwrap() {
        let t = texts(&f.svg).join(" ");
        assert!(t.contains("no finite"), "{}: {t}", f.name);
    }
    // An empty result (no cells) draws too.
    let empty = SweepResults {
        networks: Vec::new(),
        cells: Vec::new(),
        histories: Vec::new(),
        predictions: Vec::new(),
        ..cv_classifier()
    };
    assert_eq!(draw_all(&empty).unwrap().len(), names(&empty).len());
}

#[test]
fn no_text_overlaps_another_or_leaves_the_canvas() {
    for (what, r) in fixtures() {
        for f in draw_all(&r).unwrap() {
            let tree =
                resvg::usvg::Tree::from_str(&f.svg, &resvg::usvg::Options::default()).unwrap();
            let (w, h) = (tree.size().width() as f64, tree.size().height() as f64);
            let boxes: Vec<png::TextBox> = png::text_boxes(&f.svg)
                .unwrap()
                .into_iter()
                .filter(|b| !b.text.trim().is_empty())
                .collect();
            for b in &boxes {
                assert!(
                    b.left >= 0.0 && b.top >= 0.0 && b.right <= w && b.bottom <= h,
                    "{what} {}: {b:?} leaves the {w} x {h} canvas",
                    f.name
                );
            }
            for (i, a) in boxes.iter().enumerate() {
                for b in &boxes[i + 1..] {
                    assert!(
                        !a.overlaps(b, 1.0),
                        "{what} {}: {a:?} overlaps {b:?}",
                        f.name
                    );
                }
            }
        }
    }
}

/// Writes every fixture's figures as PNG into $SWEEP_FIGURES_DIR, to look at them.
#[test]
#[ignore = "writes PNG files to look at"]
fn render_pngs() {
    let dir = std::path::PathBuf::from(
        std::env::var("SWEEP_FIGURES_DIR").unwrap_or("/tmp/sweep-figures".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    for (what, r) in fixtures() {
        for f in draw_all(&r).unwrap() {
            let bytes = png::render(&f.svg, 1.0).unwrap();
            std::fs::write(dir.join(format!("{what}-{}.png", f.name)), bytes).unwrap();
        }
    }
}
