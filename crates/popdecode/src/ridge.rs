//! A closed-form baseline: ridge regression from the responses onto (cos θ, sin θ), the decoded direction being
//! atan2 of the two predictions. This is the linear decoder the tutorial alludes to ("within 2-3 degrees"), set
//! beside its network.
//!
//! The intercept is not penalised: the responses and the targets are centred by their training means and the
//! means are added back. The normal equations are solved in whichever form is smaller (`Form::for_shape`): with
//! `Xc` the centred training rows, the dual (kernel) form `K = Xc Xcᵀ` (rows × rows), `alpha = (K + λI)⁻¹ Yc`,
//! `w = Xcᵀ alpha`, when there are at least as many neurons as rows (the tutorial's 23,589 neurons), and the primal
//! `w = (XcᵀXc + λI)⁻¹ XcᵀYc` (neurons × neurons) when there are fewer. Both give the same weights.
//!
//! The penalty λ is chosen by k-fold cross-validation on the training rows only, over a log-spaced grid scaled to
//! the data (`trace(K) / rows × 10^[-6 .. 3]`); the criterion is the mean angular error of the held-out rows'
//! decoded directions, around the circle. Each fold's matrix is eigendecomposed once, `S = V D Vᵀ`, which serves
//! every λ: the held-out predictions are `P (D + λI)⁻¹ Q` with `P` and `Q` fixed per fold, so the grid costs
//! O(held × size) per λ instead of a factorisation per λ. In the dual form every fold's kernel is taken from the
//! one Gram matrix of all the training rows, re-centred on the fold's own training rows, so cross-validation
//! costs no further pass over the data. The final fit at the chosen λ is one Cholesky solve. The products,
//! factorisations and eigendecompositions are faer's (f64, blocked, on rayon's threads).

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
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
            return Err(Error::invalid(
                "folds",
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

/// Which normal equations a fit solves: the smaller of the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `K = Xc Xcᵀ`, rows × rows: for at least as many neurons as rows.
    Dual,
    /// `XcᵀXc`, neurons × neurons: for fewer neurons than rows.
    Primal,
}

impl Form {
    /// The form whose matrix is smaller for `rows` training rows of `neurons` neurons (a tie goes to the dual,
    /// which shares one Gram matrix among the folds).
    pub fn for_shape(rows: usize, neurons: usize) -> Form {
        if neurons < rows {
            Form::Primal
        } else {
            Form::Dual
        }
    }
}

/// What cross-validation saw: every training row's predicted (cos θ, sin θ) when its fold was held out, at every
/// λ of the grid.
#[derive(Clone, Debug)]
pub struct CvPredictions {
    /// The λ values tried, increasing.
    pub grid: Vec<f64>,
    /// The fold of each training row.
    pub fold: Vec<usize>,
    /// `held_out[l][r]`: row `r`'s prediction by the model fitted without its fold, at `grid[l]`; NaN where that
    /// fold's `S + λI` is not numerically positive definite.
    pub held_out: Vec<Vec<[f64; 2]>>,
}

/// Fits the ridge decoder with a given λ (> 0) on the rows of `x` and their directions in degrees.
pub fn fit(x: &Matrix, stimuli_deg: &[f32], lambda: f64) -> Result<RidgeModel> {
    fit_in(x, stimuli_deg, lambda, Form::for_shape(x.rows, x.cols))
}

/// [`fit`] in a given form.
pub fn fit_in(x: &Matrix, stimuli_deg: &[f32], lambda: f64, form: Form) -> Result<RidgeModel> {
    check_inputs(x, stimuli_deg)?;
    if x.rows == 0 {
        return Err(Error::Ridge("no training rows to fit".into()));
    }
    if !(lambda.is_finite() && lambda > 0.0) {
        return Err(Error::invalid(
            "lambda",
            format!("expected a finite penalty above 0, got {lambda}"),
        ));
    }
    refit(&Centred::new(x), &targets(stimuli_deg), lambda, form)
}

/// Chooses λ by `cfg.folds`-fold cross-validation on the rows of `x` (the training rows) and refits on all of them.
pub fn fit_cv(x: &Matrix, stimuli_deg: &[f32], cfg: &CvConfig) -> Result<RidgeCv> {
    fit_cv_in(x, stimuli_deg, cfg, Form::for_shape(x.rows, x.cols))
}

/// [`fit_cv`] in a given form.
pub fn fit_cv_in(x: &Matrix, stimuli_deg: &[f32], cfg: &CvConfig, form: Form) -> Result<RidgeCv> {
    let centred = prepare(x, stimuli_deg, cfg)?;
    let cv = held_out(&centred, stimuli_deg, cfg, form);
    let n = x.rows;
    let cv_errors: Vec<f64> = cv
        .held_out
        .iter()
        .map(|predicted| {
            // A λ that some fold could not solve is out of the running.
            if predicted.iter().flatten().any(|p| !p.is_finite()) {
                return f64::NAN;
            }
            let sum: f64 = predicted
                .iter()
                .zip(stimuli_deg)
                .map(|(p, &s)| angular_error(decode_angle(p[0], p[1]), s as f64))
                .sum();
            sum / n as f64
        })
        .collect();
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
    let chosen = (0..cv.grid.len())
        .rev()
        .find(|&l| cv_errors[l] <= best * (1.0 + TIE_TOLERANCE))
        .unwrap_or_default();
    let lambda = cv.grid[chosen];
    let model = refit(&centred, &targets(stimuli_deg), lambda, form)?;
    Ok(RidgeCv {
        lambda,
        grid: cv.grid,
        cv_errors,
        folds: cfg.folds,
        model,
    })
}

/// The held-out predictions of `cfg.folds`-fold cross-validation at every λ of the grid, in a given form.
pub fn cv_predictions(
    x: &Matrix,
    stimuli_deg: &[f32],
    cfg: &CvConfig,
    form: Form,
) -> Result<CvPredictions> {
    let centred = prepare(x, stimuli_deg, cfg)?;
    Ok(held_out(&centred, stimuli_deg, cfg, form))
}

fn prepare(x: &Matrix, stimuli_deg: &[f32], cfg: &CvConfig) -> Result<Centred> {
    cfg.check()?;
    check_inputs(x, stimuli_deg)?;
    if x.rows < cfg.folds {
        return Err(Error::invalid(
            "folds",
            format!(
                "{} folds need at least {} training rows, but there are {}",
                cfg.folds, cfg.folds, x.rows
            ),
        ));
    }
    Ok(Centred::new(x))
}

/// Cross-validation proper: per fold, one eigendecomposition `S = V D Vᵀ` of the fold's matrix and the held-out
/// predictions `P (D + λI)⁻¹ Q` (plus the fold's mean target) for every λ.
fn held_out(centred: &Centred, stimuli_deg: &[f32], cfg: &CvConfig, form: Form) -> CvPredictions {
    let n = centred.rows;
    let y = targets(stimuli_deg);
    let trace = centred.sum_of_squares();
    // Identical rows leave nothing to fit and any λ predicts the mean; the grid still needs a scale.
    let scale = if trace > 0.0 { trace / n as f64 } else { 1.0 };
    let grid = lambda_grid(scale);
    let fold = fold_of(n, cfg.folds, cfg.seed);
    let started = std::time::Instant::now();
    let gram = match form {
        Form::Dual => Some(centred.gram()),
        Form::Primal => None,
    };
    log::debug!(
        "ridge: {form:?} form, {n} rows × {} neurons; Gram matrix {:.2} s",
        centred.cols,
        started.elapsed().as_secs_f64()
    );
    let mut held_out = vec![vec![[f64::NAN; 2]; n]; grid.len()];
    for f in 0..cfg.folds {
        let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
        let held: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
        let mean_y = mean_target(&y, &train);
        let y_c = Mat::from_fn(train.len(), 2, |a, t| y[train[a]][t] - mean_y[t]);
        let spectral = match &gram {
            Some(gram) => Spectral::dual(gram, n, &train, &held, &y_c),
            None => Spectral::primal(centred, &train, &held, &y_c),
        };
        log::debug!(
            "ridge: fold {f} solved at {:.2} s",
            started.elapsed().as_secs_f64()
        );
        for (l, &lambda) in grid.iter().enumerate() {
            let Some(predicted) = spectral.predict(lambda) else {
                continue;
            };
            for (a, &h) in held.iter().enumerate() {
                held_out[l][h] = [predicted[a][0] + mean_y[0], predicted[a][1] + mean_y[1]];
            }
        }
    }
    CvPredictions {
        grid,
        fold,
        held_out,
    }
}

/// One fold's solution for every λ: the eigenvalues `d` of its matrix `S` and the held-out predictions at λ,
/// `P diag(1 / (d + λ)) Q`. Dual: `S = K_train`, `P = K_held,train V`, `Q = Vᵀ Yc`. Primal: `S = XtᵀXt`,
/// `P = Xh V`, `Q = Vᵀ Xtᵀ Yc` (`Xt`, `Xh` the training and held rows centred on the training rows' mean).
struct Spectral {
    d: Vec<f64>,
    p: Mat<f64>,
    q: Mat<f64>,
}

impl Spectral {
    fn dual(gram: &[f64], n: usize, train: &[usize], held: &[usize], y_c: &Mat<f64>) -> Spectral {
        // The Gram matrix re-centred on this fold's training rows: with d their mean (of the rows already centred
        // by the mean of all), (x_i - d)·(x_j - d) = G_ij - m_i - m_j + c, m_i = mean_k G_ik, c = mean_k m_k.
        let nt = train.len() as f64;
        let m: Vec<f64> = (0..n)
            .map(|i| train.iter().map(|&k| gram[i * n + k]).sum::<f64>() / nt)
            .collect();
        let c = train.iter().map(|&k| m[k]).sum::<f64>() / nt;
        let kc = |i: usize, j: usize| gram[i * n + j] - m[i] - m[j] + c;
        let k_train = Mat::from_fn(train.len(), train.len(), |a, b| kc(train[a], train[b]));
        let k_held = Mat::from_fn(held.len(), train.len(), |a, b| kc(held[a], train[b]));
        Spectral::new(&k_train, &k_held, y_c.as_ref())
    }

    fn primal(centred: &Centred, train: &[usize], held: &[usize], y_c: &Mat<f64>) -> Spectral {
        let cols = centred.cols;
        let nt = train.len() as f64;
        let mut mean = vec![0.0f64; cols];
        for &r in train {
            for (m, v) in mean.iter_mut().zip(centred.row(r)) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= nt);
        // Rows as columns: Xtᵀ (cols × train) and Xhᵀ (cols × held), centred on the training mean.
        let xt_t = Mat::from_fn(cols, train.len(), |c, a| centred.row(train[a])[c] - mean[c]);
        let xh_t = Mat::from_fn(cols, held.len(), |c, a| centred.row(held[a])[c] - mean[c]);
        let mut s = Mat::zeros(cols, cols);
        gram_lower(s.as_mut(), xt_t.as_ref());
        let b = product(xt_t.as_ref(), y_c.as_ref());
        Spectral::new(&s, &xh_t.transpose().to_owned(), b.as_ref())
    }

    /// From the fold's matrix `s` (its lower half is read), the rows `a` with `P = a V`, and `b` with `Q = Vᵀ b`.
    fn new(s: &Mat<f64>, a: &Mat<f64>, b: MatRef<'_, f64>) -> Spectral {
        let Ok(eigen) = s.self_adjoint_eigen(Side::Lower) else {
            // The eigen solver did not converge (non-finite entries, which the inputs' checks exclude): no λ works.
            return Spectral {
                d: vec![f64::NAN; s.nrows()],
                p: Mat::zeros(a.nrows(), s.nrows()),
                q: Mat::zeros(s.nrows(), b.ncols()),
            };
        };
        let v = eigen.U();
        Spectral {
            d: (0..s.nrows()).map(|k| eigen.S()[k]).collect(),
            p: product(a.as_ref(), v),
            q: product(v.transpose(), b),
        }
    }

    /// The held-out predictions at λ; `None` if `S + λI` is not numerically positive definite.
    fn predict(&self, lambda: f64) -> Option<Vec<[f64; 2]>> {
        let inverse: Vec<f64> = self.d.iter().map(|&d| 1.0 / (d + lambda)).collect();
        if !self.d.iter().all(|&d| d + lambda > 0.0) {
            return None;
        }
        let scaled: Vec<[f64; 2]> = (0..self.d.len())
            .map(|k| [self.q[(k, 0)] * inverse[k], self.q[(k, 1)] * inverse[k]])
            .collect();
        Some(
            (0..self.p.nrows())
                .map(|a| {
                    let mut t = [0.0f64; 2];
                    for (k, s) in scaled.iter().enumerate() {
                        let pk = self.p[(a, k)];
                        t[0] += pk * s[0];
                        t[1] += pk * s[1];
                    }
                    t
                })
                .collect(),
        )
    }
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

/// `a b` on rayon's threads.
fn product(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    matmul(out.as_mut(), Accum::Replace, a, b, 1.0, Par::rayon(0));
    out
}

/// `dst = a aᵀ`: its lower half computed, then mirrored into the upper.
fn gram_lower(mut dst: MatMut<'_, f64>, a: MatRef<'_, f64>) {
    triangular::matmul(
        dst.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        a,
        BlockStructure::Rectangular,
        a.transpose(),
        BlockStructure::Rectangular,
        1.0,
        Par::rayon(0),
    );
    for j in 0..dst.ncols() {
        for i in 0..j {
            dst[(i, j)] = dst[(j, i)];
        }
    }
}

/// The model on all the rows of `centred` at one λ: one Cholesky solve of `S + λI` in the given form.
fn refit(centred: &Centred, y: &[[f64; 2]], lambda: f64, form: Form) -> Result<RidgeModel> {
    let n = centred.rows;
    let all: Vec<usize> = (0..n).collect();
    let mean_y = mean_target(y, &all);
    let y_c = Mat::from_fn(n, 2, |i, t| y[i][t] - mean_y[t]);
    let xc_t = centred.transposed();
    let (mut s, rhs, what) = match form {
        Form::Dual => (
            Mat::from_fn(n, n, |i, j| centred.gram_entry(i, j)),
            y_c,
            "K",
        ),
        Form::Primal => {
            let mut s = Mat::zeros(centred.cols, centred.cols);
            gram_lower(s.as_mut(), xc_t);
            (s, product(xc_t, y_c.as_ref()), "XcT Xc")
        }
    };
    for d in 0..s.nrows() {
        s[(d, d)] += lambda;
    }
    let started = std::time::Instant::now();
    let solved = s.llt(Side::Lower).map_err(|_| {
        Error::Ridge(format!(
            "{what} + {lambda:e} I is not positive definite: the penalty is too small for the data's scale"
        ))
    })?;
    let solution = solved.solve(rhs.as_ref());
    let w = match form {
        Form::Dual => product(xc_t, solution.as_ref()),
        Form::Primal => solution,
    };
    log::debug!(
        "ridge: refit at λ {lambda:e} in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(RidgeModel {
        lambda,
        mean_x: centred.mean.clone(),
        weights: (0..centred.cols).map(|c| [w[(c, 0)], w[(c, 1)]]).collect(),
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
    /// `Xc Xcᵀ`, filled on first use by the dual form.
    gram: std::sync::OnceLock<Vec<f64>>,
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
            gram: std::sync::OnceLock::new(),
        }
    }

    fn row(&self, r: usize) -> &[f64] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// `Xcᵀ`, cols × rows: the row-major rows read as columns, no copy.
    fn transposed(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.data, self.cols, self.rows)
    }

    fn sum_of_squares(&self) -> f64 {
        self.data
            .par_chunks(self.cols.max(1))
            .map(|r| r.iter().map(|v| v * v).sum::<f64>())
            .sum()
    }

    /// `Xc Xcᵀ`, row-major rows × rows (computed once).
    fn gram(&self) -> &[f64] {
        self.gram.get_or_init(|| {
            let n = self.rows;
            let mut g = Mat::zeros(n, n);
            gram_lower(g.as_mut(), self.transposed().transpose());
            // Symmetric, so its column-major entries are its row-major ones.
            (0..n * n).map(|k| g[(k % n, k / n)]).collect()
        })
    }

    fn gram_entry(&self, i: usize, j: usize) -> f64 {
        self.gram()[i * self.rows + j]
    }
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
        // Columns not a multiple of any SIMD width or block.
        let x = random_matrix(7, 1037, 3);
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
        let all = Centred::new(&x);
        let gram = all.gram();
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
                let expected: f64 = xi.iter().zip(direct.row(b)).map(|(a, b)| a * b).sum();
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
            assert!(e.starts_with("folds: ") && e.contains("at least 2"), "{e}");
        }
        let e = fit_cv(&x, &y, &folds(7)).unwrap_err().to_string();
        assert!(e.starts_with("folds: ") && e.contains("6"), "{e}");
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
