//! The synthetic stand-in for the tutorial's file `W3D4_stringer_oribinned1.npz` (docs/data.md, "The synthetic
//! stand-in"), used when the real file is not at hand.
//!
//! docs/data.md's recipe simulates 4,598 single trials of 23,589 tuned neurons with a shared gain, a stimulus
//! jitter, information-limiting (differential) noise and a 16-dimensional shared latent, z-scores each neuron
//! across trials and averages the trials into 1-degree bins, as the recording's pipeline did. Two ways to draw it:
//!
//! * [`generate_trials`] simulates every trial, neuron by neuron, and returns the z-scored single trials (what
//!   `popdecode synth --trials` writes). At the full size that is 4,598 x 23,589 values.
//! * [`generate`] returns the binned matrix without drawing the single trials, with the distribution that binning
//!   them gives (up to the tuning curves being tabulated on a 1-degree grid and linearly interpolated, as in
//!   `generate_trials`):
//!   - The trial-level quantities shared by all neurons (direction, jitter, differential shift, gain, latent) are
//!     few (4,598 x 20 numbers) and are drawn once, exactly as for the single trials. Everything a neuron needs
//!     from them is linear or quadratic in its tabulated tuning curve `G`, its derivative `G'` and its latent
//!     loading `u`, so it is pre-summed once into small tables (per bin: the weights of the interpolation nodes;
//!     overall: the sums that give the trial-level sum of squares).
//!   - A bin's mean of a neuron's private noise is one normal draw with variance `0.7 / n_b` (the private share),
//!     as a mean of `n_b` independent draws would have.
//!   - The z-scoring uses the trial-level mean and standard deviation (`ddof = 0`) of the neuron's trials. The
//!     mean follows from the bin means. The variance needs the within-bin sum of squares; its stimulus and latent
//!     parts are computed exactly from the tables, and its private-noise part (the residuals of the noise around
//!     the bin means, which are independent of those means) is drawn from its exact distribution: the component
//!     along the (known) stimulus-plus-latent residual is one normal, the rest a chi-square with one degree of
//!     freedom fewer.
//!
//!   The cost per neuron is O(bins x 16 + 360 x 16) instead of O(4,598 x 16), and no per-trial noise is drawn.
//!   The two share the trials and the neurons (a neuron's tuning, loading and signal-to-noise ratio come first
//!   in its stream), so binning `generate_trials`' output gives a matrix that differs from `generate`'s by the
//!   private noise only.
//!
//! Every neuron draws from its own ChaCha stream (key from the seed, stream from the neuron's index) so the output
//! is bit-identical whatever the number of rayon threads, and a neuron's values do not depend on how many neurons
//! are drawn.

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use rayon::prelude::*;

use super::{Dataset, Matrix};

/// Trials of the real recording for 360 one-degree bins (Stringer et al.); scaled with the number of bins.
pub const TRIALS_PER_360_BINS: usize = 4598;
/// Dimension of the shared latent `z_t`.
pub const LATENT_DIM: usize = 16;
/// Points of the table of each tuning curve: one per degree. Linear interpolation on it is accurate to about 0.3%
/// of the peak even for the sharpest tuning (kappa 20, a peak with a standard deviation of about 6 degrees).
const GRID: usize = 360;

/// The simulation's parameters (docs/data.md, "The synthetic stand-in", says what each does to the ridge
/// baseline's error and to the tutorial's training losses). [`Recipe::DEFAULT`] is the stand-in's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recipe {
    /// Median and log-standard deviation of the concentration kappa (how narrow the orientation tuning is), and
    /// its clip range.
    pub kappa_median: f64,
    pub kappa_log_sd: f64,
    pub kappa_min: f64,
    pub kappa_max: f64,
    /// Upper end of the uniform direction asymmetry alpha (how much the preferred direction beats the opposite).
    pub alpha_max: f64,
    /// Median and log-standard deviation of the signal-to-noise ratio (the stimulus term's variance over the
    /// noise's, which is 1).
    pub snr_median: f64,
    pub snr_log_sd: f64,
    /// Standard deviation of the per-trial shared gain around 1.
    pub gain_sd: f64,
    /// Standard deviation of the per-trial stimulus jitter, degrees: the direction the neurons see is off by it.
    pub jitter_sd_deg: f64,
    /// Standard deviation of the per-trial differential shift, degrees: every neuron's stimulus term moves by the
    /// shift times its tuning curve's slope, as if the direction were off by it, to first order and without
    /// blurring the tuning (information-limiting correlations).
    pub shift_sd_deg: f64,
    /// Share of the noise variance that is shared (the latent); the rest is private.
    pub latent_share: f64,
}

impl Recipe {
    /// The stand-in's parameters, calibrated against the tutorial's printout (docs/data.md).
    pub const DEFAULT: Recipe = Recipe {
        kappa_median: 3.2,
        kappa_log_sd: 1.36,
        kappa_min: 0.1,
        kappa_max: 20.0,
        alpha_max: 0.55,
        snr_median: 0.033,
        snr_log_sd: 1.25,
        gain_sd: 0.2,
        jitter_sd_deg: 2.0,
        shift_sd_deg: 8.5,
        latent_share: 0.08,
    };
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe::DEFAULT
    }
}

/// What to generate: `stimuli` bins of `360 / stimuli` degrees each, by `neurons` neurons.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    pub neurons: usize,
    pub stimuli: usize,
    pub seed: u64,
}

impl Default for SynthConfig {
    /// The real file's shape: 360 one-degree bins by 23,589 neurons.
    fn default() -> Self {
        SynthConfig {
            neurons: 23589,
            stimuli: 360,
            seed: 0,
        }
    }
}

impl SynthConfig {
    /// The number of simulated trials: the recording's 4,598 scaled to the number of bins (so about 12.8 trials a
    /// bin whatever the bin width), and at least one a bin.
    pub fn trials(&self) -> usize {
        let scaled = (TRIALS_PER_360_BINS as f64 * self.stimuli as f64 / 360.0).round() as usize;
        scaled.max(self.stimuli)
    }
}

/// Generates the stand-in: `resp` is `stimuli x neurons` (z-scored trial responses averaged per bin), `stimuli`
/// holds bin `b`'s direction `b * 360 / stimuli` in degrees. The same config always gives the same bits.
pub fn generate(cfg: &SynthConfig) -> Dataset {
    generate_with(cfg, &Recipe::DEFAULT)
}

/// [`generate`] with other parameters.
pub fn generate_with(cfg: &SynthConfig, recipe: &Recipe) -> Dataset {
    assert!(cfg.neurons >= 1, "SynthConfig::neurons must be at least 1");
    assert!(cfg.stimuli >= 1, "SynthConfig::stimuli must be at least 1");
    let bins = cfg.stimuli;
    let neurons = cfg.neurons;

    // Stream 0 of the seed's key holds the shared trial draws, stream i + 1 neuron i's draws.
    let base = ChaCha8Rng::seed_from_u64(cfg.seed);
    let tables = TrialTables::new(
        &Trials::draw(&mut base.clone(), bins, cfg.trials(), recipe),
        recipe,
    );

    // Neuron-major first (each neuron a contiguous column, filled in parallel), then transposed to row-major.
    let mut by_neuron = vec![0.0f32; neurons * bins];
    by_neuron.par_chunks_mut(bins).enumerate().for_each_init(
        || Scratch::new(bins),
        |scratch, (i, column)| {
            let mut rng = base.clone();
            rng.set_stream(i as u64 + 1);
            tables.neuron(&mut rng, scratch, column);
        },
    );

    let stimuli = (0..bins)
        .map(|b| (b as f64 * 360.0 / bins as f64) as f32)
        .collect();
    Dataset {
        resp: transpose(&by_neuron, neurons, bins),
        stimuli,
    }
}

/// Generates `trials` single trials of the stand-in's simulation (at least `cfg.stimuli`, one in each of its bins
/// at least): `resp` is `trials x neurons`, each neuron's responses z-scored across the trials (`ddof = 0`), and
/// `stimuli` holds each trial's direction in degrees, in [0, 360). The trials come in a random order. With
/// `trials = cfg.trials()` these are the very trials and neurons [`generate`] bins (its bin `b` holds the trials
/// whose direction lies in `[b, b + 1) * 360 / cfg.stimuli`); only the private noise is drawn anew, trial by trial.
pub fn generate_trials(cfg: &SynthConfig, trials: usize) -> Dataset {
    generate_trials_with(cfg, trials, &Recipe::DEFAULT)
}

/// [`generate_trials`] with other parameters.
pub fn generate_trials_with(cfg: &SynthConfig, trials: usize, recipe: &Recipe) -> Dataset {
    assert!(cfg.neurons >= 1, "SynthConfig::neurons must be at least 1");
    assert!(cfg.stimuli >= 1, "SynthConfig::stimuli must be at least 1");
    assert!(
        trials >= cfg.stimuli,
        "generate_trials needs at least one trial a bin: {trials} trials for {} bins",
        cfg.stimuli
    );
    let base = ChaCha8Rng::seed_from_u64(cfg.seed);
    let tr = Trials::draw(&mut base.clone(), cfg.stimuli, trials, recipe);
    let nodes: Vec<TrialNode> = (0..trials).map(|t| tr.trial_node(t)).collect();
    let tuning = TuningGrid::new();

    let mut by_neuron = vec![0.0f32; cfg.neurons * trials];
    by_neuron.par_chunks_mut(trials).enumerate().for_each_init(
        || (vec![[0.0f64; 2]; GRID], vec![0.0f64; trials]),
        |(h, x), (i, column)| {
            let mut rng = base.clone();
            rng.set_stream(i as u64 + 1);
            let (u, snr) = tuning.draw(&mut rng, h, recipe);
            let root_snr = snr.sqrt();
            let root_latent = recipe.latent_share.sqrt();
            let root_private = (1.0 - recipe.latent_share).sqrt();
            for (t, (xt, node)) in x.iter_mut().zip(&nodes).enumerate() {
                let stimulus = dot2(node.a0, h[node.k0]) + dot2(node.a1, h[node.k1]);
                let latent: f64 = tr.z(t).iter().zip(&u).map(|(a, b)| a * b).sum();
                *xt = root_snr * stimulus + root_latent * latent + root_private * normal(&mut rng);
            }
            let n = trials as f64;
            let mean = x.iter().sum::<f64>() / n;
            let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            let inv_sd = if var > 0.0 { 1.0 / var.sqrt() } else { 1.0 };
            for (o, &v) in column.iter_mut().zip(x.iter()) {
                *o = ((v - mean) * inv_sd) as f32;
            }
        },
    );

    // A direction just below 360 may round up to 360 in f32; keep it in [0, 360) so that it bins where it belongs.
    let below_360 = f32::from_bits(360.0f32.to_bits() - 1);
    let stimuli = tr
        .theta
        .iter()
        .map(|&d| (d as f32).min(below_360))
        .collect();
    Dataset {
        resp: transpose(&by_neuron, cfg.neurons, trials),
        stimuli,
    }
}

/// `src` is `cols` rows of `rows` values (neuron-major); returns the `rows x cols` row-major matrix. Works on
/// blocks of rows so each source cache line is read once.
fn transpose(src: &[f32], cols: usize, rows: usize) -> Matrix {
    const BLOCK: usize = 16;
    let mut data = vec![0.0f32; rows * cols];
    data.par_chunks_mut(BLOCK * cols)
        .enumerate()
        .for_each(|(blk, out)| {
            let r0 = blk * BLOCK;
            let nr = out.len() / cols;
            for c in 0..cols {
                let from = &src[c * rows + r0..c * rows + r0 + nr];
                for (r, &v) in from.iter().enumerate() {
                    out[r * cols + c] = v;
                }
            }
        });
    Matrix::new(rows, cols, data)
}

/// A standard normal draw.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn dot2(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

/// The trial-level draws shared by all neurons.
struct Trials {
    bins: usize,
    /// The nominal direction `theta_t` in degrees, in [0, 360).
    theta: Vec<f64>,
    /// The bin of each trial's nominal direction (`floor(theta_t / bin width)`).
    bin_of: Vec<usize>,
    /// The direction the neurons see, `theta_t + delta_t`, in degrees (not wrapped).
    shown: Vec<f64>,
    /// The differential shift `eta_t`, in radians: the stimulus term moves by `eta_t` times the tuning's slope.
    shift: Vec<f64>,
    /// The shared gain `gamma_t`.
    gain: Vec<f64>,
    /// `trials x LATENT_DIM`: the shared latent `z_t`.
    z: Vec<f64>,
}

/// Where trial `t`'s stimulus term comes from: the grid nodes `k0` and `k1` either side of the direction it shows,
/// and the coefficients of `(G[k], G'[k])` at each, so that the term over `sqrt(snr)` is `a0 . (G[k0], G'[k0]) +
/// a1 . (G[k1], G'[k1])`: the gain times the interpolated tuning plus the shift times the interpolated slope.
#[derive(Clone, Copy, Debug)]
struct TrialNode {
    k0: usize,
    k1: usize,
    a0: [f64; 2],
    a1: [f64; 2],
}

impl Trials {
    /// Draws `trials` trials (at least `bins`): a random `bins` of them fall one in each bin (uniformly within it)
    /// so that no bin is left empty, the rest uniformly on the circle.
    fn draw(rng: &mut ChaCha8Rng, bins: usize, trials: usize, recipe: &Recipe) -> Trials {
        assert!(trials >= bins, "{trials} trials cannot fill {bins} bins");
        let bin_width = 360.0 / bins as f64;
        // Trial t is forced into bin forced[t] when that is below `bins`.
        let mut forced: Vec<usize> = (0..trials).collect();
        forced.shuffle(rng);
        let mut out = Trials {
            bins,
            theta: Vec::with_capacity(trials),
            bin_of: Vec::with_capacity(trials),
            shown: Vec::with_capacity(trials),
            shift: Vec::with_capacity(trials),
            gain: Vec::with_capacity(trials),
            z: Vec::with_capacity(trials * LATENT_DIM),
        };
        for &f in &forced {
            let unit: f64 = rng.random();
            let theta = if f < bins {
                (f as f64 + unit) * bin_width
            } else {
                unit * 360.0
            };
            let bin = ((theta / bin_width) as usize).min(bins - 1);
            out.theta.push(theta.min(360.0 * (1.0 - f64::EPSILON)));
            out.bin_of.push(bin);
            out.shown.push(theta + recipe.jitter_sd_deg * normal(rng));
            out.shift
                .push(recipe.shift_sd_deg.to_radians() * normal(rng));
            out.gain.push(1.0 + recipe.gain_sd * normal(rng));
            out.z.extend((0..LATENT_DIM).map(|_| normal(rng)));
        }
        out
    }

    fn len(&self) -> usize {
        self.gain.len()
    }

    fn z(&self, t: usize) -> &[f64] {
        &self.z[t * LATENT_DIM..(t + 1) * LATENT_DIM]
    }

    /// Trial `t`'s grid nodes on the periodic 1-degree grid, and the coefficients of the tuning and its slope at
    /// each (see [`TrialNode`]).
    fn trial_node(&self, t: usize) -> TrialNode {
        let p = self.shown[t].rem_euclid(360.0) * (GRID as f64 / 360.0);
        let k0 = (p.floor() as usize).min(GRID - 1);
        let f = (p - k0 as f64).clamp(0.0, 1.0);
        let (w0, w1) = (1.0 - f, f);
        let (gain, shift) = (self.gain[t], self.shift[t]);
        TrialNode {
            k0,
            k1: (k0 + 1) % GRID,
            a0: [gain * w0, shift * w0],
            a1: [gain * w1, shift * w1],
        }
    }
}

/// Draws a neuron's tuning on the 1-degree grid.
struct TuningGrid {
    /// `cos` and `sin` of each grid direction, to rotate the tuning curves without trigonometry per point.
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl TuningGrid {
    fn new() -> TuningGrid {
        let step = std::f64::consts::TAU / GRID as f64;
        TuningGrid {
            cos: (0..GRID).map(|k| (k as f64 * step).cos()).collect(),
            sin: (0..GRID).map(|k| (k as f64 * step).sin()).collect(),
        }
    }

    /// Draws a neuron's tuning (written to `h` as `(G[k], G'[k])`: the curve tabulated on the grid and normalised
    /// to zero mean and unit variance over directions, and its slope per radian), and returns its latent loading
    /// `u` (a random unit vector) and signal-to-noise ratio. These are the first draws of a neuron's stream.
    fn draw(
        &self,
        rng: &mut ChaCha8Rng,
        h: &mut [[f64; 2]],
        recipe: &Recipe,
    ) -> ([f64; LATENT_DIM], f64) {
        let phi = rng.random::<f64>() * std::f64::consts::TAU;
        let kappa = (recipe.kappa_median.ln() + recipe.kappa_log_sd * normal(rng))
            .exp()
            .clamp(recipe.kappa_min, recipe.kappa_max);
        let alpha = rng.random::<f64>() * recipe.alpha_max;
        let snr = (recipe.snr_median.ln() + recipe.snr_log_sd * normal(rng)).exp();
        let mut u = [0.0f64; LATENT_DIM];
        u.iter_mut().for_each(|v| *v = normal(rng));
        let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            u.iter_mut().for_each(|v| *v /= norm);
        }

        let (cp, sp) = (phi.cos(), phi.sin());
        for (k, hk) in h.iter_mut().enumerate() {
            let c1 = self.cos[k] * cp + self.sin[k] * sp; // cos(theta - phi)
            let s1 = self.sin[k] * cp - self.cos[k] * sp; // sin(theta - phi)
            let c2 = 2.0 * c1 * c1 - 1.0; // cos 2(theta - phi)
            let s2 = 2.0 * s1 * c1; // sin 2(theta - phi)
            let e = (kappa * (c2 - 1.0)).exp();
            // g = e (1 + alpha c1); dg/dtheta = e (-2 kappa s2 (1 + alpha c1) - alpha s1).
            *hk = [
                e * (1.0 + alpha * c1),
                e * (-2.0 * kappa * s2 * (1.0 + alpha * c1) - alpha * s1),
            ];
        }
        let mean = h.iter().map(|v| v[0]).sum::<f64>() / GRID as f64;
        let var = h.iter().map(|v| (v[0] - mean) * (v[0] - mean)).sum::<f64>() / GRID as f64;
        let inv_sd = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
        h.iter_mut()
            .for_each(|v| *v = [(v[0] - mean) * inv_sd, v[1] * inv_sd]);
        (u, snr)
    }
}

/// The shared trials, pre-summed into what each neuron's bin means and trial-level variance need.
///
/// Trial `t`'s stimulus term over `sqrt(snr)` is `a0 . h[k0] + a1 . h[k1]` with `h[k] = (G[k], G'[k])` (see
/// [`TrialNode`]); its latent term is `c_t = sqrt(latent_share) u . z_t`. These tables give the bin means of both
/// and their within-bin sums of squares in O(bins x 16 + 360 x 16) per neuron instead of O(trials x 16).
struct TrialTables {
    bins: usize,
    trials: usize,
    /// Trials in each bin (all at least 1).
    count: Vec<f64>,
    /// Per bin, the sparse row `(k, sum over the bin's trials of the coefficients at node k / n_b)`: the bin mean
    /// of `s_t / sqrt(snr)` is this row dotted with `h`.
    w_start: Vec<usize>,
    w_index: Vec<usize>,
    w_value: Vec<[f64; 2]>,
    /// The sum over trials of `s_t^2 / snr` is `sum_k h[k]' D[k] h[k] + h[k]' N[k] h[k + 1]` (indices wrap), with
    /// `D[k] = [[d0, d1], [d1, d2]]` stored as `[d0, d1, d2]` and `N[k]` as `[n00, n01, n10, n11]`.
    sq_diag: Vec<[f64; 3]>,
    sq_next: Vec<[f64; 4]>,
    /// `GRID x 2 x LATENT_DIM`: the sum over trials of the coefficients at node k times `z_t`, so that the sum of
    /// `s_t c_t` is `sqrt(latent_share snr) sum_k h[k]' X[k] u`.
    cross: Vec<f64>,
    /// `bins x LATENT_DIM`: the mean latent of each bin.
    z_mean: Vec<f64>,
    /// `LATENT_DIM x LATENT_DIM`: the within-bin scatter of the latents, `sum_t (z_t - zbar_b)(z_t - zbar_b)^T`.
    z_scatter: Vec<f64>,
    /// Degrees of freedom of the private noise around the bin means: trials minus bins.
    resid_dof: usize,
    /// The chi-square for all but one of those degrees of freedom, when there are at least two.
    resid_chi2: Option<ChiSquared<f64>>,
    tuning: TuningGrid,
    recipe: Recipe,
}

/// Within-bin sums of squares (over trials, around each bin's mean) of a neuron's stimulus and latent terms.
#[derive(Debug)]
struct Within {
    /// `sum_t (s_t - sbar_b)^2`
    s: f64,
    /// `sum_t (c_t - cbar_b)^2`
    c: f64,
    /// `sum_t (s_t - sbar_b)(c_t - cbar_b)`
    sc: f64,
}

impl TrialTables {
    fn new(tr: &Trials, recipe: &Recipe) -> TrialTables {
        let (bins, trials) = (tr.bins, tr.len());
        let mut count = vec![0.0f64; bins];
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); bins];
        for (t, &b) in tr.bin_of.iter().enumerate() {
            count[b] += 1.0;
            members[b].push(t);
        }
        let nodes: Vec<TrialNode> = (0..trials).map(|t| tr.trial_node(t)).collect();

        let mut w_start = Vec::with_capacity(bins + 1);
        let mut w_index = Vec::new();
        let mut w_value = Vec::new();
        let mut dense = vec![[0.0f64; 2]; GRID];
        let mut touched = vec![false; GRID];
        let mut z_mean = vec![0.0f64; bins * LATENT_DIM];
        for (b, ts) in members.iter().enumerate() {
            w_start.push(w_index.len());
            let inv_n = 1.0 / count[b].max(1.0);
            for &t in ts {
                let node = nodes[t];
                for (k, a) in [(node.k0, node.a0), (node.k1, node.a1)] {
                    touched[k] = true;
                    dense[k][0] += a[0] * inv_n;
                    dense[k][1] += a[1] * inv_n;
                }
                let zb = &mut z_mean[b * LATENT_DIM..(b + 1) * LATENT_DIM];
                for (acc, &v) in zb.iter_mut().zip(tr.z(t)) {
                    *acc += v * inv_n;
                }
            }
            for k in 0..GRID {
                if touched[k] {
                    w_index.push(k);
                    w_value.push(dense[k]);
                    touched[k] = false;
                    dense[k] = [0.0; 2];
                }
            }
        }
        w_start.push(w_index.len());

        let mut sq_diag = vec![[0.0f64; 3]; GRID];
        let mut sq_next = vec![[0.0f64; 4]; GRID];
        let mut cross = vec![0.0f64; GRID * 2 * LATENT_DIM];
        let mut z_scatter = vec![0.0f64; LATENT_DIM * LATENT_DIM];
        for (t, node) in nodes.iter().enumerate() {
            let TrialNode { k0, k1, a0, a1 } = *node;
            for (k, a) in [(k0, a0), (k1, a1)] {
                let d = &mut sq_diag[k];
                d[0] += a[0] * a[0];
                d[1] += a[0] * a[1];
                d[2] += a[1] * a[1];
            }
            // k1 is k0 + 1 on the periodic grid: the product 2 (a0 . h[k0]) (a1 . h[k1]).
            let n = &mut sq_next[k0];
            n[0] += 2.0 * a0[0] * a1[0];
            n[1] += 2.0 * a0[0] * a1[1];
            n[2] += 2.0 * a0[1] * a1[0];
            n[3] += 2.0 * a0[1] * a1[1];
            let zt = tr.z(t);
            for (k, a) in [(k0, a0), (k1, a1)] {
                for (j, &aj) in a.iter().enumerate() {
                    let row = &mut cross[(k * 2 + j) * LATENT_DIM..(k * 2 + j + 1) * LATENT_DIM];
                    for (acc, &v) in row.iter_mut().zip(zt) {
                        *acc += aj * v;
                    }
                }
            }
            let b = tr.bin_of[t];
            let zb = &z_mean[b * LATENT_DIM..(b + 1) * LATENT_DIM];
            for a in 0..LATENT_DIM {
                let da = zt[a] - zb[a];
                for c in 0..LATENT_DIM {
                    z_scatter[a * LATENT_DIM + c] += da * (zt[c] - zb[c]);
                }
            }
        }

        let filled = count.iter().filter(|&&n| n > 0.0).count();
        let resid_dof = trials - filled;
        let resid_chi2 = if resid_dof >= 2 {
            ChiSquared::new((resid_dof - 1) as f64).ok()
        } else {
            None
        };
        TrialTables {
            bins,
            trials,
            count,
            w_start,
            w_index,
            w_value,
            sq_diag,
            sq_next,
            cross,
            z_mean,
            z_scatter,
            resid_dof,
            resid_chi2,
            tuning: TuningGrid::new(),
            recipe: *recipe,
        }
    }

    /// A neuron's bin means of the stimulus term (into `sbar`) and of the latent term (into `cbar`), and the
    /// within-bin sums of squares of the two, all exact for the drawn trials.
    fn terms(
        &self,
        h: &[[f64; 2]],
        u: &[f64; LATENT_DIM],
        snr: f64,
        sbar: &mut [f64],
        cbar: &mut [f64],
    ) -> Within {
        let latent_share = self.recipe.latent_share;
        let root_snr = snr.sqrt();
        let root_latent = latent_share.sqrt();
        let (mut between_s, mut between_sc) = (0.0, 0.0);
        for b in 0..self.bins {
            let range = self.w_start[b]..self.w_start[b + 1];
            let sig: f64 = self.w_index[range.clone()]
                .iter()
                .zip(&self.w_value[range])
                .map(|(&k, &w)| dot2(w, h[k]))
                .sum();
            let zb = &self.z_mean[b * LATENT_DIM..(b + 1) * LATENT_DIM];
            sbar[b] = root_snr * sig;
            cbar[b] = root_latent * zb.iter().zip(u).map(|(a, c)| a * c).sum::<f64>();
            let n = self.count[b];
            between_s += n * sbar[b] * sbar[b];
            between_sc += n * sbar[b] * cbar[b];
        }
        // Totals over trials, minus the parts the bin means carry.
        let total_s = snr
            * (0..GRID)
                .map(|k| {
                    let (x, y) = (h[k], h[(k + 1) % GRID]);
                    let (d, n) = (self.sq_diag[k], self.sq_next[k]);
                    d[0] * x[0] * x[0]
                        + 2.0 * d[1] * x[0] * x[1]
                        + d[2] * x[1] * x[1]
                        + n[0] * x[0] * y[0]
                        + n[1] * x[0] * y[1]
                        + n[2] * x[1] * y[0]
                        + n[3] * x[1] * y[1]
                })
                .sum::<f64>();
        let mut hx = [0.0f64; LATENT_DIM]; // sum_k h[k]' X[k]
        for (k, hk) in h.iter().enumerate() {
            for (j, &hkj) in hk.iter().enumerate() {
                let row = &self.cross[(k * 2 + j) * LATENT_DIM..(k * 2 + j + 1) * LATENT_DIM];
                for (acc, &d) in hx.iter_mut().zip(row) {
                    *acc += hkj * d;
                }
            }
        }
        let total_sc = root_snr * root_latent * hx.iter().zip(u).map(|(a, c)| a * c).sum::<f64>();
        let mut scatter_u = 0.0;
        for a in 0..LATENT_DIM {
            for c in 0..LATENT_DIM {
                scatter_u += u[a] * self.z_scatter[a * LATENT_DIM + c] * u[c];
            }
        }
        // The latent's within-bin part comes straight from the within-bin scatter of z (no cancellation).
        Within {
            s: total_s - between_s,
            c: latent_share * scatter_u,
            sc: total_sc - between_sc,
        }
    }

    /// Draws one neuron and writes its z-scored bin means into `out` (one value per bin).
    fn neuron(&self, rng: &mut ChaCha8Rng, s: &mut Scratch, out: &mut [f32]) {
        let (u, snr) = self.tuning.draw(rng, &mut s.h, &self.recipe);
        self.z_scored_bins(rng, s, &u, snr, out);
    }

    /// Given a neuron's tuning (in `s.h`), latent loading and signal-to-noise ratio, draws its private noise and
    /// writes the bin means of its z-scored trial responses into `out`. Returns the trial-level variance used.
    fn z_scored_bins(
        &self,
        rng: &mut ChaCha8Rng,
        s: &mut Scratch,
        u: &[f64; LATENT_DIM],
        snr: f64,
        out: &mut [f32],
    ) -> f64 {
        let within = self.terms(&s.h, u, snr, &mut s.sbar, &mut s.cbar);
        let private = 1.0 - self.recipe.latent_share;
        let root_private = private.sqrt();

        // Bin means: stimulus + latent + the mean of n_b private draws of variance `private`.
        let mut sum_x = 0.0;
        for b in 0..self.bins {
            let n = self.count[b];
            let ebar = if n > 0.0 {
                root_private * normal(rng) / n.sqrt()
            } else {
                0.0
            };
            s.x[b] = s.sbar[b] + s.cbar[b] + ebar;
            sum_x += n * s.x[b];
        }
        let trials = self.trials as f64;
        let mu = sum_x / trials;
        let between: f64 =
            s.x.iter()
                .zip(&self.count)
                .map(|(x, n)| n * (x - mu) * (x - mu))
                .sum();

        // Within bins, the trial residual is v_t + e_t: v (stimulus + latent) is known, with |v|^2 below; the
        // private residual e is isotropic with variance `private` in `resid_dof` dimensions and
        // independent of the bin means, so its component along v is one normal `a`, and the rest a scaled
        // chi-square with one degree fewer.
        let v2 = (within.s + within.c + 2.0 * within.sc).max(0.0);
        let (e2, ve) = if self.resid_dof == 0 {
            (0.0, 0.0)
        } else {
            let a = root_private * normal(rng);
            let rest = self
                .resid_chi2
                .as_ref()
                .map_or(0.0, |chi| private * chi.sample(rng));
            (a * a + rest, a * v2.sqrt())
        };
        // z-score with the trial-level mean and standard deviation (ddof 0), as the recording's pipeline did.
        let var = (between + v2 + 2.0 * ve + e2).max(0.0) / trials;
        let inv_sd = if var > 0.0 { 1.0 / var.sqrt() } else { 1.0 };
        for (o, &x) in out.iter_mut().zip(&s.x) {
            *o = ((x - mu) * inv_sd) as f32;
        }
        var
    }
}

/// Per-thread buffers, so a neuron allocates nothing.
struct Scratch {
    h: Vec<[f64; 2]>,
    sbar: Vec<f64>,
    cbar: Vec<f64>,
    x: Vec<f64>,
}

impl Scratch {
    fn new(bins: usize) -> Scratch {
        Scratch {
            h: vec![[0.0; 2]; GRID],
            sbar: vec![0.0; bins],
            cbar: vec![0.0; bins],
            x: vec![0.0; bins],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The bulk statistics' ranges (data seeds 0 and 1, 2,000 neurons).
    const STD: (f64, f64) = (0.34, 0.40);
    const MEDIAN_STD: (f64, f64) = (0.32, 0.36);
    const P1: (f64, f64) = (-0.82, -0.70);
    const P50: (f64, f64) = (-0.04, -0.015);
    const P99: (f64, f64) = (0.98, 1.15);

    fn small(seed: u64) -> SynthConfig {
        SynthConfig {
            neurons: 2000,
            stimuli: 360,
            seed,
        }
    }

    fn percentile(sorted: &[f32], q: f64) -> f64 {
        sorted[((sorted.len() - 1) as f64 * q).round() as usize] as f64
    }

    #[test]
    fn shape_and_stimuli() {
        let d = generate(&small(1));
        assert_eq!((d.resp.rows, d.resp.cols), (360, 2000));
        assert_eq!(d.stimuli.len(), 360);
        for (b, &s) in d.stimuli.iter().enumerate() {
            assert_eq!(s, b as f32);
        }
        let d = generate(&SynthConfig {
            neurons: 3,
            stimuli: 60,
            seed: 0,
        });
        assert_eq!((d.resp.rows, d.resp.cols), (60, 3));
        assert_eq!(d.stimuli[1], 6.0);
        assert_eq!(d.stimuli[59], 354.0);
    }

    #[test]
    fn trial_count_scales_with_bins() {
        let cfg = |stimuli| SynthConfig {
            neurons: 1,
            stimuli,
            seed: 0,
        };
        assert_eq!(cfg(360).trials(), 4598);
        assert_eq!(cfg(60).trials(), 766);
        assert_eq!(cfg(1).trials(), 13);
        assert_eq!(cfg(100_000).trials(), 1_277_222);
    }

    #[test]
    fn every_bin_gets_a_trial_and_the_trials_come_in_random_order() {
        let tr = Trials::draw(
            &mut ChaCha8Rng::seed_from_u64(3),
            360,
            4598,
            &Recipe::DEFAULT,
        );
        let mut count = vec![0usize; 360];
        for (&b, &theta) in tr.bin_of.iter().zip(&tr.theta) {
            assert!((0.0..360.0).contains(&theta));
            assert_eq!(b, theta as usize);
            count[b] += 1;
        }
        assert!(count.iter().all(|&n| n >= 1));
        let mean = 4598.0 / 360.0;
        let var = count
            .iter()
            .map(|&n| (n as f64 - mean).powi(2))
            .sum::<f64>()
            / 360.0;
        assert!((8.0..16.0).contains(&var), "bin counts' variance {var}");
        // Not the first 360 in bin order.
        let ascending = tr.bin_of[..360].windows(2).filter(|w| w[0] < w[1]).count();
        assert!(ascending < 250, "{ascending} of the first 359 steps go up");
    }

    #[test]
    fn finite_for_any_shape() {
        for (neurons, stimuli) in [(1, 1), (1, 360), (5, 7), (17, 60), (4, 720), (3, 5000)] {
            let d = generate(&SynthConfig {
                neurons,
                stimuli,
                seed: 3,
            });
            assert_eq!((d.resp.rows, d.resp.cols), (stimuli, neurons));
            assert!(
                d.resp.data.iter().all(|v| v.is_finite()),
                "{neurons} x {stimuli}"
            );
            assert!(d.stimuli.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn deterministic_and_seeded() {
        let a = generate(&SynthConfig {
            neurons: 500,
            ..small(7)
        });
        let b = generate(&SynthConfig {
            neurons: 500,
            ..small(7)
        });
        assert_eq!(a.resp, b.resp);
        let c = generate(&SynthConfig {
            neurons: 500,
            ..small(8)
        });
        let differ = a
            .resp
            .data
            .iter()
            .zip(&c.resp.data)
            .filter(|(x, y)| x != y)
            .count();
        assert!(
            differ > a.resp.data.len() / 2,
            "seeds 7 and 8 agree on too many values"
        );
        // A neuron's column does not depend on how many neurons are generated.
        let narrow = generate(&SynthConfig {
            neurons: 5,
            ..small(7)
        });
        for r in 0..360 {
            assert_eq!(&a.resp.row(r)[..5], narrow.resp.row(r));
        }
    }

    #[test]
    fn independent_of_thread_count() {
        let run = |threads, single: bool| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let cfg = SynthConfig {
                neurons: 300,
                stimuli: 360,
                seed: 11,
            };
            pool.install(|| {
                if single {
                    generate_trials(&cfg, 500)
                } else {
                    generate(&cfg)
                }
            })
        };
        assert_eq!(run(1, false).resp, run(3, false).resp);
        let (a, b) = (run(1, true), run(3, true));
        assert_eq!((a.resp, a.stimuli), (b.resp, b.stimuli));
    }

    /// The bulk statistics docs/data.md reports for the stand-in (std about 0.37, per-neuron median 0.34,
    /// percentiles -0.76 / -0.03 / 1.06): the scale the tutorial's training curve depends on.
    #[test]
    fn bulk_statistics_match_the_recipe() {
        for seed in [0, 1] {
            let d = generate(&small(seed));
            let x = &d.resp.data;
            let n = x.len() as f64;
            let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
            let std = (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            let mut per_neuron: Vec<f64> = (0..d.resp.cols)
                .map(|i| {
                    let col: Vec<f64> = (0..d.resp.rows).map(|r| d.resp.row(r)[i] as f64).collect();
                    let m = col.iter().sum::<f64>() / col.len() as f64;
                    (col.iter().map(|v| (v - m).powi(2)).sum::<f64>() / col.len() as f64).sqrt()
                })
                .collect();
            per_neuron.sort_by(f64::total_cmp);
            let median_std = per_neuron[per_neuron.len() / 2];
            let mut sorted = x.clone();
            sorted.sort_by(f32::total_cmp);
            let (p1, p50, p99) = (
                percentile(&sorted, 0.01),
                percentile(&sorted, 0.5),
                percentile(&sorted, 0.99),
            );
            eprintln!(
                "seed {seed}: mean {mean:.4} std {std:.4} per-neuron median std {median_std:.4} \
                 percentiles {p1:.4} / {p50:.4} / {p99:.4}"
            );
            assert!(mean.abs() < 0.01, "mean {mean}");
            assert!((STD.0..STD.1).contains(&std), "std {std}");
            assert!(
                (MEDIAN_STD.0..MEDIAN_STD.1).contains(&median_std),
                "per-neuron median std {median_std}"
            );
            assert!((P1.0..P1.1).contains(&p1), "1st percentile {p1}");
            assert!((P50.0..P50.1).contains(&p50), "median {p50}");
            assert!((P99.0..P99.1).contains(&p99), "99th percentile {p99}");
        }
    }

    /// A random normalised tuning table, loading and SNR, as `TuningGrid::draw` would give.
    fn some_neuron(seed: u64) -> (Vec<[f64; 2]>, [f64; LATENT_DIM], f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut h = vec![[0.0; 2]; GRID];
        let (u, _) = TuningGrid::new().draw(&mut rng, &mut h, &Recipe::DEFAULT);
        (h, u, 1.5)
    }

    /// The stimulus and latent terms of every trial of a neuron, computed trial by trial.
    fn trial_terms(
        trials: &Trials,
        h: &[[f64; 2]],
        u: &[f64; LATENT_DIM],
        snr: f64,
    ) -> (Vec<f64>, Vec<f64>) {
        let latent_share = Recipe::DEFAULT.latent_share;
        (0..trials.len())
            .map(|t| {
                let node = trials.trial_node(t);
                (
                    snr.sqrt() * (dot2(node.a0, h[node.k0]) + dot2(node.a1, h[node.k1])),
                    latent_share.sqrt()
                        * trials.z(t).iter().zip(u).map(|(a, b)| a * b).sum::<f64>(),
                )
            })
            .unzip()
    }

    /// The tabulated slope is the derivative of the tabulated curve.
    #[test]
    fn the_slope_table_is_the_curves_derivative() {
        for seed in 0..5 {
            let (h, _, _) = some_neuron(seed);
            let step = std::f64::consts::TAU / GRID as f64;
            let scale = h.iter().map(|v| v[1].abs()).fold(0.0, f64::max);
            for k in 0..GRID {
                let central = (h[(k + 1) % GRID][0] - h[(k + GRID - 1) % GRID][0]) / (2.0 * step);
                assert!(
                    (central - h[k][1]).abs() < 0.05 * scale,
                    "seed {seed}, k {k}: {central} vs {}",
                    h[k][1]
                );
            }
        }
    }

    /// The pre-summed tables give exactly what summing over the trials one by one gives.
    #[test]
    fn tables_match_trial_by_trial_sums() {
        let bins = 36;
        let trials = Trials::draw(
            &mut ChaCha8Rng::seed_from_u64(5),
            bins,
            460,
            &Recipe::DEFAULT,
        );
        let tables = TrialTables::new(&trials, &Recipe::DEFAULT);
        for seed in 0..4 {
            let (h, u, snr) = some_neuron(seed);
            let (mut sbar, mut cbar) = (vec![0.0; bins], vec![0.0; bins]);
            let within = tables.terms(&h, &u, snr, &mut sbar, &mut cbar);
            let (st, ct) = trial_terms(&trials, &h, &u, snr);
            let (mut ms, mut mc, mut n) = (vec![0.0; bins], vec![0.0; bins], vec![0.0; bins]);
            for t in 0..trials.len() {
                let b = trials.bin_of[t];
                ms[b] += st[t];
                mc[b] += ct[t];
                n[b] += 1.0;
            }
            for b in 0..bins {
                ms[b] /= n[b];
                mc[b] /= n[b];
                assert!(
                    (ms[b] - sbar[b]).abs() < 1e-9 && (mc[b] - cbar[b]).abs() < 1e-9,
                    "bin {b}"
                );
            }
            let (mut ws, mut wc, mut wsc) = (0.0, 0.0, 0.0);
            for t in 0..trials.len() {
                let b = trials.bin_of[t];
                ws += (st[t] - ms[b]).powi(2);
                wc += (ct[t] - mc[b]).powi(2);
                wsc += (st[t] - ms[b]) * (ct[t] - mc[b]);
            }
            assert!(
                (ws - within.s).abs() < 1e-7 * ws.max(1.0),
                "{ws} vs {}",
                within.s
            );
            assert!(
                (wc - within.c).abs() < 1e-7 * wc.max(1.0),
                "{wc} vs {}",
                within.c
            );
            assert!(
                (wsc - within.sc).abs() < 1e-7 * ws.max(1.0),
                "{wsc} vs {}",
                within.sc
            );
        }
    }

    /// The trial-level variance drawn from the shortcut has the distribution that simulating every trial's private
    /// noise gives: same mean and spread over repeated draws, for the same neuron and trials.
    #[test]
    fn z_scoring_variance_matches_trial_simulation() {
        let bins = 360;
        let trials = Trials::draw(
            &mut ChaCha8Rng::seed_from_u64(9),
            bins,
            4598,
            &Recipe::DEFAULT,
        );
        let tables = TrialTables::new(&trials, &Recipe::DEFAULT);
        let (h, u, snr) = some_neuron(2);
        let reps = 300;
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let mut scratch = Scratch::new(bins);
        scratch.h.copy_from_slice(&h);
        let mut out = vec![0.0f32; bins];
        let short: Vec<f64> = (0..reps)
            .map(|_| tables.z_scored_bins(&mut rng, &mut scratch, &u, snr, &mut out))
            .collect();

        let (st, ct) = trial_terms(&trials, &h, &u, snr);
        let root_private = (1.0 - Recipe::DEFAULT.latent_share).sqrt();
        let naive: Vec<f64> = (0..reps)
            .map(|_| {
                let x: Vec<f64> = st
                    .iter()
                    .zip(&ct)
                    .map(|(s, c)| s + c + root_private * normal(&mut rng))
                    .collect();
                let m = x.iter().sum::<f64>() / x.len() as f64;
                x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / x.len() as f64
            })
            .collect();
        let moments = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (
                m,
                (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt(),
            )
        };
        let ((ms, ss), (mn, sn)) = (moments(&short), moments(&naive));
        let se = ((ss * ss + sn * sn) / reps as f64).sqrt();
        assert!(
            (ms - mn).abs() < 4.0 * se,
            "mean variance {ms} (shortcut) vs {mn} (trials), se {se}"
        );
        assert!(
            (0.75..1.33).contains(&(ss / sn)),
            "spread {ss} (shortcut) vs {sn} (trials)"
        );
        // Unit noise variance, plus the stimulus term's (the gain's, the jitter's and the shift's included).
        let stim_var = {
            let m = st.iter().sum::<f64>() / st.len() as f64;
            st.iter().map(|s| (s - m).powi(2)).sum::<f64>() / st.len() as f64
        };
        assert!(
            (ms / (stim_var + 1.0) - 1.0).abs() < 0.05,
            "{ms} vs {stim_var} + 1"
        );
    }

    /// The bins are means of z-scored trials, so their trial-count-weighted mean is zero for every neuron.
    #[test]
    fn weighted_bin_means_are_centred() {
        let cfg = SynthConfig {
            neurons: 50,
            stimuli: 360,
            seed: 4,
        };
        let d = generate(&cfg);
        let base = ChaCha8Rng::seed_from_u64(cfg.seed);
        let tables = TrialTables::new(
            &Trials::draw(
                &mut base.clone(),
                cfg.stimuli,
                cfg.trials(),
                &Recipe::DEFAULT,
            ),
            &Recipe::DEFAULT,
        );
        for i in 0..cfg.neurons {
            let sum: f64 = (0..cfg.stimuli)
                .map(|b| tables.count[b] * d.resp.row(b)[i] as f64)
                .sum();
            assert!(sum.abs() < 1e-3, "neuron {i}: {sum}");
        }
    }

    #[test]
    fn single_trials_are_z_scored_with_their_directions() {
        let cfg = SynthConfig {
            neurons: 40,
            stimuli: 60,
            seed: 2,
        };
        let d = generate_trials(&cfg, cfg.trials());
        assert_eq!((d.resp.rows, d.resp.cols), (766, 40));
        assert_eq!(d.stimuli.len(), 766);
        assert!(d.stimuli.iter().all(|s| (0.0..360.0).contains(s)));
        // Every 6-degree bin holds at least one trial.
        let mut count = [0usize; 60];
        for &s in &d.stimuli {
            count[(s / 6.0) as usize] += 1;
        }
        assert!(count.iter().all(|&n| n >= 1), "{count:?}");
        for i in 0..40 {
            let col: Vec<f64> = (0..766).map(|r| d.resp.row(r)[i] as f64).collect();
            let m = col.iter().sum::<f64>() / 766.0;
            let v = col.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 766.0;
            assert!(
                m.abs() < 1e-5 && (v - 1.0).abs() < 1e-4,
                "neuron {i}: {m} {v}"
            );
        }
        let again = generate_trials(&cfg, 766);
        assert_eq!((&d.resp, &d.stimuli), (&again.resp, &again.stimuli));
        // Other trial counts: as many rows.
        assert_eq!(generate_trials(&cfg, 60).resp.rows, 60);
        assert_eq!(generate_trials(&cfg, 2000).stimuli.len(), 2000);
    }

    /// `generate` and `generate_trials` share the trials and the neurons: each neuron's bin means, in both, are its
    /// noise-free bin means (stimulus and latent terms, from the tables), shifted and scaled by its z-scoring, plus
    /// the bin means of private noise of the recipe's variance, and nothing else.
    #[test]
    fn binned_single_trials_are_the_binned_stand_in_up_to_private_noise() {
        let cfg = SynthConfig {
            neurons: 40,
            stimuli: 360,
            seed: 6,
        };
        let recipe = Recipe::DEFAULT;
        let private = 1.0 - recipe.latent_share;
        let base = ChaCha8Rng::seed_from_u64(cfg.seed);
        let trials = Trials::draw(&mut base.clone(), cfg.stimuli, cfg.trials(), &recipe);
        let tables = TrialTables::new(&trials, &recipe);
        let binned = generate(&cfg);
        let single = generate_trials(&cfg, cfg.trials());
        let (n_trials, bins) = (trials.len(), cfg.stimuli);
        let mut scratch = Scratch::new(bins);
        let mut column = vec![0.0f32; bins];
        let (mut stat_binned, mut stat_single, mut stat_trials, mut sd_ratio) =
            (0.0, 0.0, 0.0, 0.0);
        for i in 0..cfg.neurons {
            // The binned stand-in's column, redrawn here to learn the variance it was z-scored with.
            let mut rng = base.clone();
            rng.set_stream(i as u64 + 1);
            let (u, snr) = tables.tuning.draw(&mut rng, &mut scratch.h, &recipe);
            let sd = tables
                .z_scored_bins(&mut rng, &mut scratch, &u, snr, &mut column)
                .sqrt();
            for (b, &value) in column.iter().enumerate() {
                assert_eq!(value, binned.resp.row(b)[i], "neuron {i} bin {b}");
            }
            let v: Vec<f64> = scratch
                .sbar
                .iter()
                .zip(&scratch.cbar)
                .map(|(s, c)| s + c)
                .collect();

            // The single trials: x_t = (s_t + c_t + e_t - mean) / sd', so the regression on s_t + c_t over the
            // trials gives 1 / sd' and leaves the private noise, of variance `private` / sd'^2.
            let (st, ct) = trial_terms(&trials, &scratch.h, &u, snr);
            let y: Vec<f64> = (0..n_trials)
                .map(|t| single.resp.row(t)[i] as f64)
                .collect();
            let q: Vec<f64> = st.iter().zip(&ct).map(|(s, c)| s + c).collect();
            let (mq, my) = (
                q.iter().sum::<f64>() / n_trials as f64,
                y.iter().sum::<f64>() / n_trials as f64,
            );
            let cov: f64 = q.iter().zip(&y).map(|(a, b)| (a - mq) * (b - my)).sum();
            let var: f64 = q.iter().map(|a| (a - mq).powi(2)).sum();
            let slope = cov / var;
            let sd_single = 1.0 / slope;
            let rss: f64 = q
                .iter()
                .zip(&y)
                .map(|(a, b)| (b - my - slope * (a - mq)).powi(2))
                .sum();
            stat_trials += rss * sd_single * sd_single / private / (n_trials - 2) as f64;
            sd_ratio += sd_single / sd / cfg.neurons as f64;

            // Bin means: x_b sd - v_b is the private noise's bin mean, up to a constant.
            let residual = |x: &dyn Fn(usize) -> f64, sd: f64| {
                let r: Vec<f64> = (0..bins).map(|b| x(b) * sd - v[b]).collect();
                let w = &tables.count;
                let mr = (0..bins).map(|b| w[b] * r[b]).sum::<f64>() / n_trials as f64;
                (0..bins).map(|b| w[b] * (r[b] - mr).powi(2)).sum::<f64>()
                    / private
                    / (bins - 1) as f64
            };
            stat_binned += residual(&|b| binned.resp.row(b)[i] as f64, sd) / cfg.neurons as f64;
            let from_trials = |b: usize| {
                (0..n_trials)
                    .filter(|&t| trials.bin_of[t] == b)
                    .map(|t| single.resp.row(t)[i] as f64)
                    .sum::<f64>()
                    / tables.count[b]
            };
            stat_single += residual(&from_trials, sd_single) / cfg.neurons as f64;
        }
        stat_trials /= cfg.neurons as f64;
        // A chi-square over its degrees of freedom (359 or more) has sd 0.075 or less; the mean of 40, 0.012.
        for (what, stat) in [
            ("binned", stat_binned),
            ("single trials binned", stat_single),
            ("single trials", stat_trials),
        ] {
            assert!((0.95..1.05).contains(&stat), "{what}: residual {stat}");
        }
        // The two z-scorings' standard deviations differ by the private noise's sampling only (and the single
        // trials' is estimated by the regression, to about 5% a neuron).
        assert!(
            (0.97..1.03).contains(&sd_ratio),
            "z-scoring sd ratio {sd_ratio}"
        );
        for t in 0..n_trials {
            assert_eq!(trials.bin_of[t], single.stimuli[t] as usize, "trial {t}");
        }
    }
}
