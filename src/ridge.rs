//! A closed-form baseline: ridge regression from the responses onto (cos θ, sin θ), the decoded direction being
//! atan2 of the two predictions. This is the linear decoder the tutorial alludes to ("within 2-3 degrees"), set
//! beside its network.
//!
//! The intercept is not penalised: the responses and the targets are centred by their training means and the
//! means are added back. With N neurons far more than the rows, the fit is solved in the dual (kernel) form: with
//! `Xc` the centred training rows and `K = Xc Xcᵀ` (rows × rows), `alpha = (K + λI)⁻¹ Yc` and the weights are
//! `w = Xcᵀ alpha`, which is the primal solution `(XcᵀXc + λI)⁻¹ XcᵀYc` without an N × N system. `K` is accumulated
//! in f64 in a fixed order (bit-identical whatever the number of threads) and the small system is solved by a
//! Cholesky factorisation (nalgebra).
//!
//! The penalty λ is chosen by k-fold cross-validation on the training rows only, over a log-spaced grid scaled to
//! the Gram matrix (`trace(K) / rows × 10^[-6 .. 3]`); the criterion is the mean angular error of the held-out
//! rows' decoded directions, around the circle. Every fold is solved from the one Gram matrix of all the training
//! rows, re-centred on the fold's own training rows, so cross-validation costs no further pass over the data.

use nalgebra::DMatrix;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::data::Matrix;
use crate::error::{Error, Result};
use crate::metrics::{AngularSummary, angular_error, angular_summary};

/// Cross-validation folds unless told otherwise.
pub const DEFAULT_FOLDS: usize = 5;
/// Values of λ on the grid.
pub const GRID_LEN: usize = 20;
/// The grid runs from `10^GRID_DECADES.0` to `10^GRID_DECADES.1` times `trace(K) / rows`.
pub const GRID_DECADES: (f64, f64) = (-6.0, 3.0);
/// Cross-validation errors within this relative distance of the best count as tied; ties go to the larger λ.
const TIE_TOLERANCE: f64 = 1e-12;
/// Columns per pass of the Gram accumulation: the block of every row (rows × 1024 × 8 bytes) stays in cache.
const COLUMN_BLOCK: usize = 1024;

/// How λ is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CvConfig {
    /// Folds of the cross-validation (at least 2, at most the number of training rows).
    pub folds: usize,
    /// Seed of the shuffle that deals the training rows into folds (so that rows in a meaningful order, as in a
    /// split file sorted by direction, are not held out a whole range at a time).
    pub seed: u64,
}

impl Default for CvConfig {
    fn default() -> Self {
        CvConfig {
            folds: DEFAULT_FOLDS,
            seed: 0,
        }
    }
}

impl CvConfig {
    /// Refuses fewer than 2 folds (a check that needs no data, for before any work).
    pub fn check(&self) -> Result<()> {
        if self.folds < 2 {
            return Err(Error::bad_argument(
                "--folds",
                format!(
                    "expected at least 2 cross-validation folds, got {}",
                    self.folds
                ),
            ));
        }
        Ok(())
    }
}

/// A fitted ridge decoder: the targets are `mean_y + (x - mean_x) · w`, the decoded direction their atan2.
#[derive(Clone, Debug, PartialEq)]
pub struct RidgeModel {
    pub lambda: f64,
    /// The training mean of each neuron.
    pub mean_x: Vec<f64>,
    /// Per neuron: its weight onto cos θ and onto sin θ.
    pub weights: Vec<[f64; 2]>,
    /// The training mean of (cos θ, sin θ): the intercept.
    pub mean_y: [f64; 2],
}

/// The outcome of cross-validation: the grid, its errors, the chosen λ and the model refitted with it on all the
/// training rows.
#[derive(Clone, Debug)]
pub struct RidgeCv {
    pub lambda: f64,
    /// The λ values tried, increasing.
    pub grid: Vec<f64>,
    /// For each λ on the grid, the mean angular error (degrees) of the held-out rows' decoded directions, every
    /// training row being held out once.
    pub cv_errors: Vec<f64>,
    pub folds: usize,
    pub model: RidgeModel,
}

impl RidgeCv {
    /// Where the chosen λ is on the grid.
    pub fn chosen_index(&self) -> usize {
        self.grid
            .iter()
            .position(|&l| l == self.lambda)
            .unwrap_or_default()
    }
}

/// The regression targets of directions in degrees: (cos θ, sin θ).
pub fn targets(stimuli_deg: &[f32]) -> Vec<[f64; 2]> {
    stimuli_deg
        .iter()
        .map(|&s| {
            let (sin, cos) = (s as f64).to_radians().sin_cos();
            [cos, sin]
        })
        .collect()
}

/// The direction, in degrees in [0, 360), of a predicted (cos θ, sin θ).
pub fn decode_angle(cos: f64, sin: f64) -> f64 {
    let d = sin.atan2(cos).to_degrees().rem_euclid(360.0);
    // A tiny negative angle wraps to 360 - tiny, which rounds to 360.
    if d >= 360.0 { 0.0 } else { d }
}

/// The λ grid for a Gram matrix whose trace over its rows is `scale`.
pub fn lambda_grid(scale: f64) -> Vec<f64> {
    let (lo, hi) = GRID_DECADES;
    (0..GRID_LEN)
        .map(|i| scale * 10f64.powf(lo + (hi - lo) * i as f64 / (GRID_LEN - 1) as f64))
        .collect()
}

/// The fold of each of `rows` rows: a seeded shuffle dealt round-robin, so fold sizes differ by at most one.
pub fn fold_of(rows: usize, folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut fold = vec![0; rows];
    for (p, &r) in order.iter().enumerate() {
        fold[r] = p % folds.max(1);
    }
    fold
}

/// Fits the ridge decoder with a given λ (> 0) on the rows of `x` and their directions in degrees.
pub fn fit(x: &Matrix, stimuli_deg: &[f32], lambda: f64) -> Result<RidgeModel> {
    check_inputs(x, stimuli_deg)?;
    if x.rows == 0 {
        return Err(Error::Ridge("no training rows to fit".into()));
    }
    if !(lambda.is_finite() && lambda > 0.0) {
        return Err(Error::bad_argument(
            "lambda",
            format!("expected a finite penalty above 0, got {lambda}"),
        ));
    }
    let centred = Centred::new(x);
    let gram = centred.gram();
    refit(&centred, &gram, &targets(stimuli_deg), lambda)
}

/// Chooses λ by `cfg.folds`-fold cross-validation on the rows of `x` (the training rows) and refits on all of them.
pub fn fit_cv(x: &Matrix, stimuli_deg: &[f32], cfg: &CvConfig) -> Result<RidgeCv> {
    cfg.check()?;
    check_inputs(x, stimuli_deg)?;
    let n = x.rows;
    if n < cfg.folds {
        return Err(Error::bad_argument(
            "--folds",
            format!(
                "{} folds need at least {} training rows, but there are {n}",
                cfg.folds, cfg.folds
            ),
        ));
    }
    let centred = Centred::new(x);
    let gram = centred.gram();
    let y = targets(stimuli_deg);
    let trace: f64 = (0..n).map(|i| gram[i * n + i]).sum();
    // Identical rows leave nothing to fit and any λ predicts the mean; the grid still needs a scale.
    let scale = if trace > 0.0 { trace / n as f64 } else { 1.0 };
    let grid = lambda_grid(scale);
    let fold = fold_of(n, cfg.folds, cfg.seed);
    let mut error_sums = vec![0.0f64; grid.len()];
    for f in 0..cfg.folds {
        let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
        let held: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
        // The Gram matrix re-centred on this fold's training rows: with d their mean (of the rows already centred
        // by the mean of all), (x_i - d)·(x_j - d) = G_ij - m_i - m_j + c, m_i = mean_k G_ik, c = mean_k m_k.
        let nt = train.len() as f64;
        let m: Vec<f64> = (0..n)
            .map(|i| train.iter().map(|&k| gram[i * n + k]).sum::<f64>() / nt)
            .collect();
        let c = train.iter().map(|&k| m[k]).sum::<f64>() / nt;
        let kc = |i: usize, j: usize| gram[i * n + j] - m[i] - m[j] + c;
        let k_train = DMatrix::from_fn(train.len(), train.len(), |a, b| kc(train[a], train[b]));
        let k_held = DMatrix::from_fn(held.len(), train.len(), |a, b| kc(held[a], train[b]));
        let mean_y = mean_target(&y, &train);
        let y_c = DMatrix::from_fn(train.len(), 2, |a, t| y[train[a]][t] - mean_y[t]);
        for (l, &lambda) in grid.iter().enumerate() {
            let Some(alpha) = solve_dual(k_train.clone(), &y_c, lambda) else {
                error_sums[l] = f64::NAN;
                continue;
            };
            let predicted = &k_held * alpha;
            for (a, &h) in held.iter().enumerate() {
                let decoded =
                    decode_angle(predicted[(a, 0)] + mean_y[0], predicted[(a, 1)] + mean_y[1]);
                error_sums[l] += angular_error(decoded, stimuli_deg[h] as f64);
            }
        }
    }
    let cv_errors: Vec<f64> = error_sums.iter().map(|s| s / n as f64).collect();
    let best = cv_errors
        .iter()
        .copied()
        .filter(|e| e.is_finite())
        .fold(f64::INFINITY, f64::min);
    if !best.is_finite() {
        return Err(Error::Ridge(
            "no penalty on the grid gave a solvable system in every fold".into(),
        ));
    }
    let chosen = (0..grid.len())
        .rev()
        .find(|&l| cv_errors[l] <= best * (1.0 + TIE_TOLERANCE))
        .unwrap_or_default();
    let lambda = grid[chosen];
    let model = refit(&centred, &gram, &y, lambda)?;
    Ok(RidgeCv {
        lambda,
        grid,
        cv_errors,
        folds: cfg.folds,
        model,
    })
}

impl RidgeModel {
    pub fn neurons(&self) -> usize {
        self.mean_x.len()
    }

    /// The predicted (cos θ, sin θ) of each row of `x`.
    pub fn predict_targets(&self, x: &Matrix) -> Result<Vec<[f64; 2]>> {
        if x.cols != self.neurons() {
            return Err(Error::Ridge(format!(
                "the rows have {} neurons but the model was fitted on {}",
                x.cols,
                self.neurons()
            )));
        }
        Ok((0..x.rows)
            .into_par_iter()
            .map(|r| {
                let mut t = self.mean_y;
                for ((&v, &mu), w) in x.row(r).iter().zip(&self.mean_x).zip(&self.weights) {
                    let d = v as f64 - mu;
                    t[0] += d * w[0];
                    t[1] += d * w[1];
                }
                t
            })
            .collect())
    }

    /// The decoded direction of each row of `x`, in degrees in [0, 360).
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>> {
        Ok(self
            .predict_targets(x)?
            .iter()
            .map(|t| decode_angle(t[0], t[1]))
            .collect())
    }

    /// Median and mean angular error of the decoded directions of `x` against the true ones.
    pub fn angular_errors(&self, x: &Matrix, stimuli_deg: &[f32]) -> Result<AngularSummary> {
        if x.rows != stimuli_deg.len() {
            return Err(mismatch(x.rows, stimuli_deg.len()));
        }
        Ok(angular_summary(&self.predict(x)?, stimuli_deg))
    }
}

fn mismatch(rows: usize, stimuli: usize) -> Error {
    Error::Ridge(format!(
        "{rows} rows of responses but {stimuli} stimuli: expected one stimulus per row"
    ))
}

fn check_inputs(x: &Matrix, stimuli_deg: &[f32]) -> Result<()> {
    if x.rows != stimuli_deg.len() {
        return Err(mismatch(x.rows, stimuli_deg.len()));
    }
    if !x.data.iter().all(|v| v.is_finite()) {
        return Err(Error::Ridge("the responses hold NaN or Inf".into()));
    }
    if !stimuli_deg.iter().all(|v| v.is_finite()) {
        return Err(Error::Ridge("the stimuli hold NaN or Inf".into()));
    }
    Ok(())
}

fn mean_target(y: &[[f64; 2]], rows: &[usize]) -> [f64; 2] {
    let mut m = [0.0; 2];
    for &r in rows {
        m[0] += y[r][0];
        m[1] += y[r][1];
    }
    [m[0] / rows.len() as f64, m[1] / rows.len() as f64]
}

/// `(K + λI)⁻¹ Y` by Cholesky; `None` if `K + λI` is not numerically positive definite.
fn solve_dual(mut k: DMatrix<f64>, y: &DMatrix<f64>, lambda: f64) -> Option<DMatrix<f64>> {
    for d in 0..k.nrows() {
        k[(d, d)] += lambda;
    }
    Some(k.cholesky()?.solve(y))
}

/// The model on all the rows of `centred` at one λ, from their Gram matrix.
fn refit(centred: &Centred, gram: &[f64], y: &[[f64; 2]], lambda: f64) -> Result<RidgeModel> {
    let n = centred.rows;
    let all: Vec<usize> = (0..n).collect();
    let mean_y = mean_target(y, &all);
    let y_c = DMatrix::from_fn(n, 2, |i, t| y[i][t] - mean_y[t]);
    let k = DMatrix::from_row_slice(n, n, gram);
    let alpha = solve_dual(k, &y_c, lambda).ok_or_else(|| {
        Error::Ridge(format!(
            "K + {lambda:e} I is not positive definite: the penalty is too small for the data's scale"
        ))
    })?;
    Ok(RidgeModel {
        lambda,
        mean_x: centred.mean.clone(),
        weights: centred.transpose_times(&alpha),
        mean_y,
    })
}

/// The rows of a matrix less their mean, in f64.
struct Centred {
    rows: usize,
    cols: usize,
    mean: Vec<f64>,
    /// Row-major, rows × cols.
    data: Vec<f64>,
}

impl Centred {
    fn new(x: &Matrix) -> Centred {
        let mut mean = vec![0.0f64; x.cols];
        for r in 0..x.rows {
            for (m, &v) in mean.iter_mut().zip(x.row(r)) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= x.rows.max(1) as f64);
        let mut data: Vec<f64> = x.data.iter().map(|&v| v as f64).collect();
        if x.cols > 0 {
            data.par_chunks_mut(x.cols).for_each(|row| {
                for (v, m) in row.iter_mut().zip(&mean) {
                    *v -= m;
                }
            });
        }
        Centred {
            rows: x.rows,
            cols: x.cols,
            mean,
            data,
        }
    }

    fn row_block(&self, r: usize, start: usize, end: usize) -> &[f64] {
        &self.data[r * self.cols + start..r * self.cols + end]
    }

    /// `Xc Xcᵀ`, row-major rows × rows: column blocks in order, each block's dot products in parallel over rows.
    fn gram(&self) -> Vec<f64> {
        let n = self.rows;
        let mut g = vec![0.0f64; n * n];
        if n == 0 {
            return g;
        }
        for start in (0..self.cols).step_by(COLUMN_BLOCK) {
            let end = (start + COLUMN_BLOCK).min(self.cols);
            g.par_chunks_mut(n).enumerate().for_each(|(i, gi)| {
                let xi = self.row_block(i, start, end);
                for (j, gij) in gi.iter_mut().enumerate().take(i + 1) {
                    *gij += dot(xi, self.row_block(j, start, end));
                }
            });
        }
        for i in 0..n {
            for j in 0..i {
                g[j * n + i] = g[i * n + j];
            }
        }
        g
    }

    /// `Xcᵀ A` for an rows × 2 matrix `A`: one [f64; 2] per column.
    fn transpose_times(&self, a: &DMatrix<f64>) -> Vec<[f64; 2]> {
        let mut w = vec![[0.0f64; 2]; self.cols];
        w.par_chunks_mut(COLUMN_BLOCK)
            .enumerate()
            .for_each(|(b, wb)| {
                let (start, len) = (b * COLUMN_BLOCK, wb.len());
                for r in 0..self.rows {
                    let (a0, a1) = (a[(r, 0)], a[(r, 1)]);
                    for (wc, &v) in wb.iter_mut().zip(self.row_block(r, start, start + len)) {
                        wc[0] += v * a0;
                        wc[1] += v * a1;
                    }
                }
            });
        w
    }
}

/// A dot product with eight running sums (so that it vectorises) added in a fixed tree.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_matrix(rows: usize, cols: usize, seed: u64) -> Matrix {
        use rand::RngExt;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Matrix::new(
            rows,
            cols,
            (0..rows * cols)
                .map(|_| rng.random_range(-1.0f32..1.0) + 3.0)
                .collect(),
        )
    }

    #[test]
    fn decoded_angles_lie_in_0_to_360() {
        assert_eq!(decode_angle(1.0, 0.0), 0.0);
        assert!((decode_angle(0.0, 1.0) - 90.0).abs() < 1e-12);
        assert!((decode_angle(-1.0, 0.0) - 180.0).abs() < 1e-12);
        assert!((decode_angle(0.0, -1.0) - 270.0).abs() < 1e-12);
        assert_eq!(decode_angle(1.0, -1e-300), 0.0, "no 360 from rounding");
        assert_eq!(decode_angle(0.0, 0.0), 0.0);
        for deg in [0.0f32, 1.0, 45.5, 179.0, 181.0, 359.5] {
            let t = targets(&[deg])[0];
            assert!((decode_angle(t[0], t[1]) - deg as f64).abs() < 1e-9);
        }
    }

    #[test]
    fn folds_are_balanced_deterministic_and_shuffled() {
        let f = fold_of(23, 5, 0);
        for k in 0..5 {
            let size = f.iter().filter(|&&x| x == k).count();
            assert!(size == 4 || size == 5, "fold {k} has {size} rows");
        }
        assert_eq!(f, fold_of(23, 5, 0));
        assert_ne!(f, fold_of(23, 5, 1));
        let contiguous: Vec<usize> = (0..23).map(|i| i * 5 / 23).collect();
        assert_ne!(f, contiguous);
    }

    #[test]
    fn grid_is_log_spaced_over_nine_decades_of_the_scale() {
        let g = lambda_grid(2.0);
        assert_eq!(g.len(), GRID_LEN);
        assert!((g[0] - 2e-6).abs() < 1e-18 && (g[GRID_LEN - 1] - 2e3).abs() < 1e-9);
        let ratio = g[1] / g[0];
        for w in g.windows(2) {
            assert!((w[1] / w[0] - ratio).abs() < 1e-9);
        }
    }

    #[test]
    fn the_gram_matrix_is_the_centred_rows_products() {
        // More columns than one block, and a remainder after the blocks and after the 8-wide sums.
        let x = random_matrix(7, COLUMN_BLOCK + 13, 3);
        let c = Centred::new(&x);
        let g = c.gram();
        for i in 0..7 {
            for j in 0..7 {
                let expected: f64 = (0..x.cols)
                    .map(|k| (x.row(i)[k] as f64 - c.mean[k]) * (x.row(j)[k] as f64 - c.mean[k]))
                    .sum();
                assert!((g[i * 7 + j] - expected).abs() < 1e-9 * expected.abs().max(1.0));
            }
        }
    }

    #[test]
    fn the_recentred_gram_matrix_is_the_gram_matrix_of_the_recentred_rows() {
        let x = random_matrix(9, 20, 4);
        let gram = Centred::new(&x).gram();
        let train = [0usize, 2, 3, 5, 8];
        let sub = x.select_rows(&train);
        let direct = Centred::new(&sub);
        let n = 9;
        let nt = train.len() as f64;
        let m: Vec<f64> = (0..n)
            .map(|i| train.iter().map(|&k| gram[i * n + k]).sum::<f64>() / nt)
            .collect();
        let c = train.iter().map(|&k| m[k]).sum::<f64>() / nt;
        for i in 0..n {
            for (b, &j) in train.iter().enumerate() {
                let xi: Vec<f64> = x
                    .row(i)
                    .iter()
                    .zip(&direct.mean)
                    .map(|(&v, mu)| v as f64 - mu)
                    .collect();
                let expected = dot(&xi, direct.row_block(b, 0, 20));
                let got = gram[i * n + j] - m[i] - m[j] + c;
                assert!(
                    (got - expected).abs() < 1e-10,
                    "{i},{j}: {got} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let x = random_matrix(6, 4, 5);
        let y = vec![10.0f32; 6];
        let folds = |k| CvConfig { folds: k, seed: 0 };
        for k in [0, 1] {
            let e = fit_cv(&x, &y, &folds(k)).unwrap_err().to_string();
            assert!(e.contains("--folds") && e.contains("at least 2"), "{e}");
        }
        let e = fit_cv(&x, &y, &folds(7)).unwrap_err().to_string();
        assert!(e.contains("--folds") && e.contains("6"), "{e}");
        assert!(fit_cv(&x, &y[..5], &folds(2)).is_err());
        assert!(fit(&x, &y, 0.0).is_err());
        assert!(fit(&x, &y, f64::NAN).is_err());
        assert!(fit(&Matrix::zeros(0, 4), &[], 1.0).is_err());
        let mut bad = x.clone();
        bad.data[3] = f32::NAN;
        assert!(fit_cv(&bad, &y, &folds(2)).is_err());
        let model = fit(&x, &y, 1.0).unwrap();
        assert!(model.predict(&random_matrix(2, 5, 6)).is_err());
        assert!(model.angular_errors(&x, &y[..2]).is_err());
    }

    #[test]
    fn identical_rows_tie_every_penalty_and_predict_the_mean_direction() {
        let x = Matrix::new(4, 3, vec![1.0; 12]);
        let cv = fit_cv(
            &x,
            &[80.0, 90.0, 100.0, 90.0],
            &CvConfig { folds: 2, seed: 0 },
        )
        .unwrap();
        assert!(cv.cv_errors.iter().all(|e| e.is_finite()));
        assert!(cv.cv_errors.iter().all(|&e| e == cv.cv_errors[0]));
        assert_eq!(cv.chosen_index(), GRID_LEN - 1, "ties go to the larger λ");
        let decoded = cv.model.predict(&x).unwrap();
        assert!(
            decoded.iter().all(|d| (d - 90.0).abs() < 1e-9),
            "{decoded:?}"
        );
    }
}
