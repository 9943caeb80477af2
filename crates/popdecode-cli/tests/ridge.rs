//! The ridge baseline: its dual and primal solves are the textbook primal one, its eigendecomposed
//! cross-validation is the direct Cholesky solve per penalty, it recovers a planted linear relation, its
//! cross-validation picks a penalty that suits the noise, it decodes the synthetic data far better than chance, and
//! `popdecode baseline` prints it beside the network.

use std::process::{Command, Output};

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use popdecode::compare::{Comparison, assert_all};
use popdecode::data::Matrix;
use popdecode::data::problem::Problem;
use popdecode::data::split::Split;
use popdecode::data::synth::{SynthConfig, generate};
use popdecode::metrics::{angular_error, median};
use popdecode::ridge::{CvConfig, Form, GRID_LEN, cv_predictions, fit, fit_cv, fit_cv_in, targets};

/// The median angular error of a decoder that guesses directions at random: errors are uniform on [0, 180].
const CHANCE_DEG: f64 = 90.0;

fn uniform(rng: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

/// Responses linear in (cos θ, sin θ) — `x = t A + offset` — plus independent noise of standard deviation `noise`.
fn planted(
    rng: &mut ChaCha8Rng,
    stimuli: &[f32],
    a: &[[f32; 2]],
    offset: &[f32],
    noise: f32,
) -> Matrix {
    let mut data = Vec::with_capacity(stimuli.len() * a.len());
    for t in targets(stimuli) {
        for (col, off) in a.iter().zip(offset) {
            let e: f32 = rng.random_range(-1.0f32..1.0) * 3f32.sqrt();
            data.push(t[0] as f32 * col[0] + t[1] as f32 * col[1] + off + noise * e);
        }
    }
    Matrix::new(stimuli.len(), a.len(), data)
}

fn planted_problem(
    seed: u64,
    rows: usize,
    neurons: usize,
    noise: f32,
) -> (Matrix, Vec<f32>, Matrix, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a: Vec<[f32; 2]> = (0..neurons)
        .map(|_| [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)])
        .collect();
    let offset = uniform(&mut rng, neurons, 0.0, 5.0);
    let y_train = uniform(&mut rng, rows, 0.0, 360.0);
    let y_test = uniform(&mut rng, rows, 0.0, 360.0);
    let x_train = planted(&mut rng, &y_train, &a, &offset, noise);
    let x_test = planted(&mut rng, &y_test, &a, &offset, noise);
    (x_train, y_train, x_test, y_test)
}

/// `m + λI`.
fn plus_diagonal(m: &Mat<f64>, lambda: f64) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| {
        m[(i, j)] + if i == j { lambda } else { 0.0 }
    })
}

/// The primal solution in N-space: w = (XcᵀXc + λI)⁻¹ XcᵀYc, by faer's LU with partial pivoting (the ridge itself
/// factorises by Cholesky), with its intercept.
fn primal(x: &Matrix, stimuli: &[f32], lambda: f64) -> (Mat<f64>, Vec<f64>, [f64; 2]) {
    let mean_x: Vec<f64> = (0..x.cols)
        .map(|c| (0..x.rows).map(|r| x.row(r)[c] as f64).sum::<f64>() / x.rows as f64)
        .collect();
    let xc = Mat::from_fn(x.rows, x.cols, |r, c| x.row(r)[c] as f64 - mean_x[c]);
    let y = targets(stimuli);
    let mean_y = [0, 1].map(|t| y.iter().map(|v| v[t]).sum::<f64>() / y.len() as f64);
    let yc = Mat::from_fn(x.rows, 2, |r, t| y[r][t] - mean_y[t]);
    let a = plus_diagonal(&(xc.transpose() * &xc), lambda);
    let w = a.partial_piv_lu().solve(xc.transpose() * &yc);
    assert!(
        (0..w.nrows()).all(|i| (0..2).all(|t| w[(i, t)].is_finite())),
        "invertible"
    );
    (w, mean_x, mean_y)
}

#[test]
fn the_dual_solve_equals_the_primal_solve() {
    // Fewer neurons than rows, and more.
    for (neurons, lambda) in [(8, 0.3), (60, 2.0), (60, 1e-3)] {
        let mut rng = ChaCha8Rng::seed_from_u64(neurons as u64);
        let x = Matrix::new(
            30,
            neurons,
            uniform(&mut rng, 30 * neurons, -1.0, 1.0)
                .iter()
                .map(|v| v + 2.0)
                .collect(),
        );
        let stimuli = uniform(&mut rng, 30, 0.0, 360.0);
        let model = fit(&x, &stimuli, lambda).unwrap();
        let (w, mean_x, mean_y) = primal(&x, &stimuli, lambda);
        let scale = (0..neurons)
            .flat_map(|c| [w[(c, 0)].abs(), w[(c, 1)].abs()])
            .fold(0.0, f64::max);
        for c in 0..neurons {
            for t in 0..2 {
                let (dual, primal) = (model.weights[c][t], w[(c, t)]);
                assert!(
                    (dual - primal).abs() <= 1e-9 * scale,
                    "N = {neurons}, λ = {lambda}: weight ({c}, {t}) {dual} vs {primal}"
                );
            }
            assert!((model.mean_x[c] - mean_x[c]).abs() <= 1e-12);
        }
        assert!((0..2).all(|t| (model.mean_y[t] - mean_y[t]).abs() <= 1e-12));
        assert_eq!(model.lambda, lambda);
    }
}

#[test]
fn a_planted_noiseless_relation_is_recovered_almost_exactly() {
    let (x_train, y_train, x_test, y_test) = planted_problem(1, 60, 200, 0.0);
    let check = |decoded: &[f64], what: &str| {
        for (d, &t) in decoded.iter().zip(&y_test) {
            let e = angular_error(*d, t as f64);
            // f32 responses carry about 7 digits; a degree is 1.7e-2 radians.
            assert!(e < 1e-2, "{what}: decoded {d} for {t}, error {e} deg");
        }
    };
    let model = fit(&x_train, &y_train, 1e-6).unwrap();
    check(&model.predict(&x_test).unwrap(), "λ = 1e-6");
    let cv = fit_cv(&x_train, &y_train, &CvConfig::default()).unwrap();
    assert_eq!(cv.chosen_index(), 0, "the smallest penalty: {cv:?}");
    check(&cv.model.predict(&x_test).unwrap(), "cross-validated λ");
}

#[test]
fn cross_validation_picks_a_grid_value_and_more_penalty_for_more_noise() {
    let run = |noise: f32| {
        let (x_train, y_train, x_test, y_test) = planted_problem(2, 100, 300, noise);
        let cv = fit_cv(&x_train, &y_train, &CvConfig::default()).unwrap();
        assert_eq!(cv.grid.len(), GRID_LEN);
        assert_eq!(cv.cv_errors.len(), GRID_LEN);
        assert!(cv.grid.contains(&cv.lambda), "{cv:?}");
        assert!(cv.grid.windows(2).all(|w| w[0] < w[1]));
        assert!(
            cv.cv_errors.iter().all(|e| e.is_finite() && *e >= 0.0),
            "{cv:?}"
        );
        let best = cv.cv_errors.iter().copied().fold(f64::INFINITY, f64::min);
        assert!(cv.cv_errors[cv.chosen_index()] <= best * (1.0 + 1e-12));
        // The grid is relative to the data's scale, so positions on it compare across noise levels.
        let test = cv.model.angular_errors(&x_test, &y_test).unwrap();
        (cv.chosen_index(), test.median_deg)
    };
    let (clean, clean_error) = run(0.01);
    let (noisy, noisy_error) = run(4.0);
    assert!(
        noisy > clean,
        "noisy data chose grid position {noisy}, clean {clean}"
    );
    assert!(clean_error < noisy_error, "{clean_error} vs {noisy_error}");
    // The noisy problem is still a decoding problem, not noise alone.
    assert!(noisy_error < CHANCE_DEG / 2.0, "{noisy_error}");
}

#[test]
fn cross_validation_is_deterministic_and_deals_folds_by_its_seed() {
    let (x, y, _, _) = planted_problem(3, 50, 80, 1.0);
    let a = fit_cv(&x, &y, &CvConfig::default()).unwrap();
    let b = fit_cv(&x, &y, &CvConfig::default()).unwrap();
    assert_eq!(a.cv_errors, b.cv_errors);
    assert_eq!(a.model, b.model);
    let other = fit_cv(&x, &y, &CvConfig { folds: 5, seed: 9 }).unwrap();
    assert_ne!(a.cv_errors, other.cv_errors, "another dealing of the folds");
}

fn synthetic_problem(neurons: usize) -> Problem {
    // As `popdecode train` draws it: data seed 0, the first 60% of a seed-4 shuffle for training.
    let data = generate(&SynthConfig {
        neurons,
        stimuli: 360,
        seed: 0,
    });
    Problem::new(&data, &Split::shuffled(360, 0.6, 4).unwrap())
}

#[test]
fn on_the_synthetic_data_the_ridge_decodes_far_better_than_chance() {
    let problem = synthetic_problem(2000);
    let cv = fit_cv(&problem.x_train, &problem.y_train, &CvConfig::default()).unwrap();
    let test = cv
        .model
        .angular_errors(&problem.x_test, &problem.y_test)
        .unwrap();
    // A tenth of chance: a decoder within 9 degrees of the truth half the time.
    assert!(
        test.median_deg < CHANCE_DEG / 10.0,
        "median {} deg, mean {} deg",
        test.median_deg,
        test.mean_deg
    );
    // The bound means something: the same fit on shuffled training directions decodes at chance.
    let mut shuffled = problem.y_train.clone();
    use rand::seq::SliceRandom;
    shuffled.shuffle(&mut ChaCha8Rng::seed_from_u64(0));
    let control = fit_cv(&problem.x_train, &shuffled, &CvConfig::default()).unwrap();
    let decoded = control.model.predict(&problem.x_test).unwrap();
    let errors: Vec<f64> = decoded
        .iter()
        .zip(&problem.y_test)
        .map(|(&d, &t)| angular_error(d, t as f64))
        .collect();
    assert!(
        median(&errors) > CHANCE_DEG / 2.0,
        "shuffled directions decoded to median {}",
        median(&errors)
    );
}

fn popdecode(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_popdecode"))
        .args(args)
        .output()
        .expect("the popdecode binary runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SMALL: [&str; 5] = ["baseline", "--neurons", "500", "--backend", "cpu"];

/// The (median, mean) a table row prints.
fn row_numbers(stdout: &str, name: &str) -> (f64, f64) {
    let line = stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name:?} row in:\n{stdout}"));
    let n: Vec<f64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    assert!(n.len() >= 2, "{line}");
    (n[0], n[1])
}

#[test]
fn baseline_prints_the_ridge_beside_the_network() {
    let out = popdecode(&SMALL);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for part in [
        "500 neurons in response to 360 stimuli",
        "216 training and 144 test stimuli",
        "5-fold cross-validation",
        "lambda",
        "Linear(500, 10) -> ReLU -> Linear(10, 1)",
        "backend: cpu",
        "median",
        "mean",
    ] {
        assert!(stdout.contains(part), "missing {part:?} in:\n{stdout}");
    }
    let (ridge_median, ridge_mean) = row_numbers(&stdout, "ridge");
    let (net_median, net_mean) = row_numbers(&stdout, "network");
    for v in [ridge_median, ridge_mean, net_median, net_mean] {
        assert!((0.0..=180.0).contains(&v), "{stdout}");
    }
    // The ridge's numbers are the library's on the same split.
    let problem = {
        let data = generate(&SynthConfig {
            neurons: 500,
            stimuli: 360,
            seed: 0,
        });
        Problem::new(&data, &Split::shuffled(360, 0.6, 4).unwrap())
    };
    let cv = fit_cv(&problem.x_train, &problem.y_train, &CvConfig::default()).unwrap();
    let s = cv
        .model
        .angular_errors(&problem.x_test, &problem.y_test)
        .unwrap();
    assert!((ridge_median - s.median_deg).abs() < 0.006, "{stdout}");
    assert!((ridge_mean - s.mean_deg).abs() < 0.006, "{stdout}");

    let mut json = SMALL.to_vec();
    json.extend(["--json", "--folds", "3"]);
    let out = popdecode(&json);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(v["folds"], 3);
    assert_eq!(v["lambda_grid"].as_array().unwrap().len(), GRID_LEN);
    assert_eq!(v["cv_errors"].as_array().unwrap().len(), GRID_LEN);
    assert!(v["lambda"].as_f64().unwrap() > 0.0);
    for key in ["ridge", "network"] {
        for stat in ["test_median_deg", "test_mean_deg"] {
            let x = v[key][stat].as_f64().unwrap_or(f64::NAN);
            assert!((0.0..=180.0).contains(&x), "{key}.{stat} in {stdout}");
        }
    }
}

#[test]
fn baseline_refuses_too_few_folds_by_name() {
    for folds in ["0", "1"] {
        let mut args = SMALL.to_vec();
        args.extend(["--folds", folds]);
        let out = popdecode(&args);
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "--folds {folds}:\n{stdout}");
        assert_ne!(out.status.code(), Some(101), "panicked:\n{stderr}");
        assert!(
            stderr.contains("--folds") && stderr.contains("at least 2"),
            "{stderr}"
        );
        assert!(!stdout.contains("network"), "no work after a bad flag");
    }
    // More folds than training rows: 10 stimuli leave 6 to train on.
    let out = popdecode(&[
        "baseline",
        "--neurons",
        "20",
        "--stimuli",
        "10",
        "--folds",
        "7",
        "--backend",
        "cpu",
    ]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success() && out.status.code() != Some(101));
    assert!(
        stderr.contains("--folds") && stderr.contains("6"),
        "{stderr}"
    );
}

/// Cross-validation as it was first written: per fold and per λ, the fold's training rows centred on their own
/// mean, `K + λI` factorised by Cholesky (faer's) and the held-out rows predicted from it. The fast path
/// eigendecomposes each fold's matrix once instead; both must give the same held-out predictions.
fn direct_cv_predictions(
    x: &Matrix,
    stimuli: &[f32],
    fold: &[usize],
    grid: &[f64],
) -> Vec<Vec<[f64; 2]>> {
    let y = targets(stimuli);
    let folds = fold.iter().max().unwrap() + 1;
    let mut out = vec![vec![[f64::NAN; 2]; x.rows]; grid.len()];
    for f in 0..folds {
        let train: Vec<usize> = (0..x.rows).filter(|&i| fold[i] != f).collect();
        let held: Vec<usize> = (0..x.rows).filter(|&i| fold[i] == f).collect();
        let mean: Vec<f64> = (0..x.cols)
            .map(|c| train.iter().map(|&r| x.row(r)[c] as f64).sum::<f64>() / train.len() as f64)
            .collect();
        let centred = |rows: &[usize]| {
            Mat::from_fn(rows.len(), x.cols, |a, c| {
                x.row(rows[a])[c] as f64 - mean[c]
            })
        };
        let (xt, xh) = (centred(&train), centred(&held));
        let mean_y =
            [0, 1].map(|t| train.iter().map(|&r| y[r][t]).sum::<f64>() / train.len() as f64);
        let yc = Mat::from_fn(train.len(), 2, |a, t| y[train[a]][t] - mean_y[t]);
        let k = &xt * xt.transpose();
        let k_held = &xh * xt.transpose();
        for (l, &lambda) in grid.iter().enumerate() {
            let system = plus_diagonal(&k, lambda);
            let alpha = system
                .llt(Side::Lower)
                .expect("positive definite")
                .solve(&yc);
            let predicted = &k_held * &alpha;
            for (a, &h) in held.iter().enumerate() {
                out[l][h] = [predicted[(a, 0)] + mean_y[0], predicted[(a, 1)] + mean_y[1]];
            }
        }
    }
    out
}

#[test]
fn the_eigendecomposed_cross_validation_equals_the_direct_solve_per_penalty() {
    // Relative error of each λ's whole vector of held-out predictions (all rows, cos and sin), against the direct
    // Cholesky solve. Both are f64; the smallest λ (1e-6 of the mean eigenvalue) is the worst conditioned.
    const TOLERANCE: f64 = 1e-8;
    let cfg = CvConfig { folds: 4, seed: 7 };
    let mut comparisons = Vec::new();
    // Fewer neurons than rows (the primal is chosen), and more (the dual); each shape through both forms.
    for neurons in [25, 90] {
        let (x, y, _, _) = planted_problem(5, 48, neurons, 0.5);
        for form in [Form::Dual, Form::Primal] {
            let fast = cv_predictions(&x, &y, &cfg, form).unwrap();
            let direct = direct_cv_predictions(&x, &y, &fast.fold, &fast.grid);
            for (l, lambda) in fast.grid.iter().enumerate() {
                let flat = |p: &[[f64; 2]]| p.iter().flatten().copied().collect::<Vec<f64>>();
                comparisons.push(Comparison::new(
                    format!("N {neurons} {form:?} λ {lambda:.1e}"),
                    &flat(&fast.held_out[l]),
                    &flat(&direct[l]),
                    TOLERANCE,
                ));
            }
        }
        assert_eq!(Form::for_shape(48, neurons) == Form::Primal, neurons < 48);
    }
    assert_all(&comparisons);
}

#[test]
fn both_forms_choose_the_same_penalty_and_fit_the_same_model() {
    const TOLERANCE: f64 = 1e-9;
    for neurons in [25, 90] {
        let (x, y, x_test, _) = planted_problem(6, 48, neurons, 0.5);
        let dual = fit_cv_in(&x, &y, &CvConfig::default(), Form::Dual).unwrap();
        let primal = fit_cv_in(&x, &y, &CvConfig::default(), Form::Primal).unwrap();
        assert_eq!(dual.lambda, primal.lambda, "N = {neurons}");
        let flat = |m: &popdecode::ridge::RidgeModel| {
            m.predict_targets(&x_test)
                .unwrap()
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<f64>>()
        };
        assert_all(&[
            Comparison::new("cv errors", &dual.cv_errors, &primal.cv_errors, TOLERANCE),
            Comparison::new(
                "test predictions",
                &flat(&dual.model),
                &flat(&primal.model),
                TOLERANCE,
            ),
        ]);
    }
}

/// `cargo test --release --test ridge -- --ignored --nocapture form_timing`: both forms' cross-validation timed on
/// shapes either side of neurons = rows, the measurement behind `Form::for_shape` (BENCHMARKS.md).
#[test]
#[ignore = "a timing, not a check"]
fn form_timing() {
    let rows = 1500;
    for neurons in [300, 1000, 1500, 2500] {
        let (x, y, _, _) = planted_problem(8, rows, neurons, 1.0);
        let mut line = format!("{rows} rows × {neurons:>4} neurons:");
        for form in [Form::Dual, Form::Primal] {
            let started = std::time::Instant::now();
            let cv = fit_cv_in(&x, &y, &CvConfig::default(), form).unwrap();
            line += &format!(
                "  {form:?} {:.2} s (λ {:.3e})",
                started.elapsed().as_secs_f64(),
                cv.lambda
            );
        }
        println!("{line}  for_shape: {:?}", Form::for_shape(rows, neurons));
    }
}
