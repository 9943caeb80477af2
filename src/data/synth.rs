//! The synthetic stand-in for the tutorial's file `W3D4_stringer_oribinned1.npz` (see docs/data.md, "A
//! synthetic stand-in of the same shape"), used when the real file is not at hand.
//!
//! docs/data.md's recipe simulates 4,598 single trials of 23,589 tuned neurons with shared gain,
//! stimulus jitter and a 16-dimensional shared latent, z-scores each neuron across trials and
//! averages the trials into 1-degree bins. Drawing all 108 million single-trial responses is far
//! too slow for a command that must finish in seconds, so [`generate`] draws the *binned* matrix
//! directly, with the same distribution as the recipe (up to the tuning curves being tabulated on a
//! 1-degree grid and linearly interpolated):
//!
//! * The trial-level quantities shared by all neurons (direction, jitter, gain, latent) are few
//!   (4,598 x 19 numbers) and are drawn once, exactly as in the recipe. Everything a neuron needs
//!   from them is linear or quadratic in its tabulated tuning curve `G` and its latent loading `u`,
//!   so it is pre-summed once into small tables (per bin: the gain-weighted interpolation weights;
//!   overall: the sums that give the trial-level sum of squares).
//! * A bin's mean of a neuron's private noise is one normal draw with variance `0.7 / n_b`, as a
//!   mean of `n_b` independent draws would have.
//! * The z-scoring uses the trial-level mean and standard deviation (`ddof = 0`) of the neuron's
//!   simulated trials. The mean follows from the bin means. The variance needs the within-bin sum
//!   of squares; its signal and latent parts are computed exactly from the pre-summed tables, and
//!   its private-noise parts (the residuals of `eps` around the bin means, which are independent of
//!   those means) are drawn from their exact distribution: the component along the (known)
//!   signal-plus-latent residual is one normal, the rest a chi-square with one degree of freedom
//!   fewer. So the z-scoring statistics have the distribution the trial simulation gives them, at
//!   the cost of two extra numbers per neuron.
//! * One departure from the recipe: the first trial of each bin is drawn inside that bin (the rest
//!   uniformly), so that no bin is ever empty; the counts are then 1 + Poisson(11.8) a bin instead
//!   of Poisson(12.8), which changes nothing measurable.
//!
//! The cost per neuron is O(360 x 16) instead of O(4,598 x 16), and no per-trial noise is drawn:
//! about 0.2 s for the full 360 x 23,589 matrix on two cores. Checked against a trial-by-trial
//! simulation of the recipe (numpy, float64): the same bulk statistics (std 0.44, per-neuron
//! median std 0.39, percentiles) and the same spread of the tutorial's training losses.
//! Every neuron draws from its own ChaCha stream (key from the seed, stream from the neuron's
//! index) so the output is bit-identical whatever the number of rayon threads.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use rayon::prelude::*;

use super::{Dataset, Matrix};

/// Trials of the real recording for 360 one-degree bins (Stringer et al.); scaled with the number
/// of bins.
pub const TRIALS_PER_360_BINS: usize = 4598;
/// Dimension of the shared latent `z_t`.
pub const LATENT_DIM: usize = 16;
/// Share of the non-stimulus variance that is shared (latent); the rest, `1 - LATENT_SHARE`, is
/// private.
const LATENT_SHARE: f64 = 0.3;
/// Points of the table of each tuning curve: one per degree. Linear interpolation on it is accurate
/// to about 0.3% of the peak even for the sharpest tuning (kappa 20, a peak with a standard
/// deviation of about 6 degrees).
const GRID: usize = 360;
/// Median and log-standard deviation of the concentration kappa, and its clip range.
const KAPPA_MEDIAN: f64 = 3.83;
const KAPPA_LOG_SD: f64 = 1.36;
const KAPPA_MIN: f64 = 0.1;
const KAPPA_MAX: f64 = 20.0;
/// Upper end of the uniform direction asymmetry alpha.
const ALPHA_MAX: f64 = 0.8;
/// Median and log-standard deviation of the signal-to-noise ratio.
const SNR_MEDIAN: f64 = 0.08;
const SNR_LOG_SD: f64 = 1.3;
/// Standard deviation of the per-trial shared gain around 1.
const GAIN_SD: f64 = 0.2;
/// Standard deviation of the per-trial stimulus jitter, degrees.
const JITTER_SD_DEG: f64 = 2.0;

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
    /// The number of simulated trials: the recording's 4,598 scaled to the number of bins (so about
    /// 12.8 trials a bin whatever the bin width), and at least one a bin.
    pub fn trials(&self) -> usize {
        let scaled = (TRIALS_PER_360_BINS as f64 * self.stimuli as f64 / 360.0).round() as usize;
        scaled.max(self.stimuli)
    }
}

/// Generates the stand-in: `resp` is `stimuli x neurons` (z-scored trial responses averaged per
/// bin), `stimuli` holds bin `b`'s direction `b * 360 / stimuli` in degrees. The same config always
/// gives the same bits.
pub fn generate(cfg: &SynthConfig) -> Dataset {
    assert!(cfg.neurons >= 1, "SynthConfig::neurons must be at least 1");
    assert!(cfg.stimuli >= 1, "SynthConfig::stimuli must be at least 1");
    let bins = cfg.stimuli;
    let neurons = cfg.neurons;

    // Stream 0 of the seed's key holds the shared trial draws, stream i + 1 neuron i's draws.
    let base = ChaCha8Rng::seed_from_u64(cfg.seed);
    let tables = TrialTables::new(&Trials::draw(&mut base.clone(), bins, cfg.trials()));

    // Neuron-major first (each neuron a contiguous column, filled in parallel), then transposed to
    // row-major.
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

/// `src` is `cols` rows of `rows` values (neuron-major); returns the `rows x cols` row-major
/// matrix. Works on blocks of rows so each source cache line is read once.
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

/// The trial-level draws shared by all neurons.
struct Trials {
    bins: usize,
    /// The bin of each trial's nominal direction `theta_t` (`floor(theta_t / bin width)`).
    bin_of: Vec<usize>,
    /// The direction actually shown, `theta_t + delta_t`, in degrees (not wrapped).
    shown: Vec<f64>,
    /// The shared gain `gamma_t`.
    gain: Vec<f64>,
    /// `trials x LATENT_DIM`: the shared latent `z_t`.
    z: Vec<f64>,
}

impl Trials {
    fn draw(rng: &mut ChaCha8Rng, bins: usize, trials: usize) -> Trials {
        let bin_width = 360.0 / bins as f64;
        let mut out = Trials {
            bins,
            bin_of: Vec::with_capacity(trials),
            shown: Vec::with_capacity(trials),
            gain: Vec::with_capacity(trials),
            z: Vec::with_capacity(trials * LATENT_DIM),
        };
        for t in 0..trials {
            // The first `bins` trials fall one in each bin, the rest uniformly: no bin is left
            // empty (its mean would be undefined), and the per-bin counts, 1 + Poisson(11.8)
            // instead of Poisson(12.8), barely change.
            let unit: f64 = rng.random();
            let theta = if t < bins {
                (t as f64 + unit) * bin_width
            } else {
                unit * 360.0
            };
            out.bin_of
                .push(((theta / bin_width) as usize).min(bins - 1));
            out.shown.push(theta + JITTER_SD_DEG * normal(rng));
            out.gain.push(1.0 + GAIN_SD * normal(rng));
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

    /// The grid nodes either side of trial `t`'s shown direction on the periodic 1-degree grid, and
    /// their linear-interpolation weights: `g(shown_t) = w0 G[k0] + w1 G[k1]`.
    fn node(&self, t: usize) -> (usize, usize, f64, f64) {
        let p = self.shown[t].rem_euclid(360.0) * (GRID as f64 / 360.0);
        let k0 = (p.floor() as usize).min(GRID - 1);
        let f = (p - k0 as f64).clamp(0.0, 1.0);
        (k0, (k0 + 1) % GRID, 1.0 - f, f)
    }
}

/// The shared trials, pre-summed into what each neuron's bin means and trial-level variance need.
///
/// Trial `t`'s shown direction falls between grid points `k0` and `k1` with interpolation weights
/// `w_tk`. A neuron with tabulated tuning `G`, latent loading `u` and signal-to-noise ratio `snr`
/// has the stimulus term `s_t = sqrt(snr) gamma_t sum_k w_tk G_k` and the latent term `c_t =
/// sqrt(0.3) u . z_t`; these tables give their bin means and within-bin sums of squares in O(bins x
/// 16 + 360 x 16) per neuron instead of O(trials x 16).
struct TrialTables {
    bins: usize,
    trials: usize,
    /// Trials in each bin (all at least 1).
    count: Vec<f64>,
    /// Per bin, the sparse row `(k, sum over the bin's trials of gamma_t w_tk / n_b)`: the bin mean
    /// of `s_t / sqrt(snr)` is this row dotted with `G`.
    w_start: Vec<usize>,
    w_index: Vec<usize>,
    w_value: Vec<f64>,
    /// The sum over trials of `s_t^2 / snr` is `sum_k sq_diag[k] G_k^2 + sq_next[k] G_k G_{k+1}`
    /// (indices wrap).
    sq_diag: Vec<f64>,
    sq_next: Vec<f64>,
    /// `GRID x LATENT_DIM`: the sum over trials of `gamma_t w_tk z_t`, so that the sum of `s_t c_t`
    /// is `sqrt(0.3 snr) G^T D u`.
    cross: Vec<f64>,
    /// `bins x LATENT_DIM`: the mean latent of each bin.
    z_mean: Vec<f64>,
    /// `LATENT_DIM x LATENT_DIM`: the within-bin scatter of the latents, `sum_t (z_t - zbar_b)(z_t
    /// - zbar_b)^T`.
    z_scatter: Vec<f64>,
    /// Degrees of freedom of the private noise around the bin means: trials minus bins.
    resid_dof: usize,
    /// The chi-square for all but one of those degrees of freedom, when there are at least two.
    resid_chi2: Option<ChiSquared<f64>>,
    /// `cos` and `sin` of each grid direction, to rotate the tuning curves without trigonometry per
    /// point.
    grid_cos: Vec<f64>,
    grid_sin: Vec<f64>,
}

/// Within-bin sums of squares (over trials, around each bin's mean) of a neuron's stimulus and
/// latent terms.
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
    fn new(tr: &Trials) -> TrialTables {
        let (bins, trials) = (tr.bins, tr.len());
        let mut count = vec![0.0f64; bins];
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); bins];
        for (t, &b) in tr.bin_of.iter().enumerate() {
            count[b] += 1.0;
            members[b].push(t);
        }

        let mut w_start = Vec::with_capacity(bins + 1);
        let mut w_index = Vec::new();
        let mut w_value = Vec::new();
        let mut dense = vec![0.0f64; GRID];
        let mut touched = vec![false; GRID];
        let mut z_mean = vec![0.0f64; bins * LATENT_DIM];
        for (b, ts) in members.iter().enumerate() {
            w_start.push(w_index.len());
            let inv_n = 1.0 / count[b].max(1.0);
            for &t in ts {
                let (k0, k1, w0, w1) = tr.node(t);
                for (k, w) in [(k0, w0), (k1, w1)] {
                    touched[k] = true;
                    dense[k] += tr.gain[t] * w * inv_n;
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
                    dense[k] = 0.0;
                }
            }
        }
        w_start.push(w_index.len());

        let mut sq_diag = vec![0.0f64; GRID];
        let mut sq_next = vec![0.0f64; GRID];
        let mut cross = vec![0.0f64; GRID * LATENT_DIM];
        let mut z_scatter = vec![0.0f64; LATENT_DIM * LATENT_DIM];
        for t in 0..trials {
            let (k0, k1, w0, w1) = tr.node(t);
            let gain = tr.gain[t];
            let g2 = gain * gain;
            sq_diag[k0] += g2 * w0 * w0;
            sq_diag[k1] += g2 * w1 * w1;
            sq_next[k0] += 2.0 * g2 * w0 * w1;
            let zt = tr.z(t);
            for (k, w) in [(k0, w0), (k1, w1)] {
                for (acc, &v) in cross[k * LATENT_DIM..(k + 1) * LATENT_DIM]
                    .iter_mut()
                    .zip(zt)
                {
                    *acc += gain * w * v;
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
        let step = std::f64::consts::TAU / GRID as f64;
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
            grid_cos: (0..GRID).map(|k| (k as f64 * step).cos()).collect(),
            grid_sin: (0..GRID).map(|k| (k as f64 * step).sin()).collect(),
        }
    }

    /// Draws a neuron's tuning (written to `g`, tabulated on the grid and normalised to zero mean
    /// and unit variance over directions), and returns its latent loading `u` (a random unit
    /// vector) and signal-to-noise ratio.
    fn draw_tuning(&self, rng: &mut ChaCha8Rng, g: &mut [f64]) -> ([f64; LATENT_DIM], f64) {
        let phi = rng.random::<f64>() * std::f64::consts::TAU;
        let kappa = (KAPPA_MEDIAN.ln() + KAPPA_LOG_SD * normal(rng))
            .exp()
            .clamp(KAPPA_MIN, KAPPA_MAX);
        let alpha = rng.random::<f64>() * ALPHA_MAX;
        let snr = (SNR_MEDIAN.ln() + SNR_LOG_SD * normal(rng)).exp();
        let mut u = [0.0f64; LATENT_DIM];
        u.iter_mut().for_each(|v| *v = normal(rng));
        let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            u.iter_mut().for_each(|v| *v /= norm);
        }

        let (cp, sp) = (phi.cos(), phi.sin());
        for (k, gk) in g.iter_mut().enumerate() {
            let c1 = self.grid_cos[k] * cp + self.grid_sin[k] * sp; // cos(theta - phi)
            let c2 = 2.0 * c1 * c1 - 1.0; // cos 2(theta - phi)
            *gk = (kappa * (c2 - 1.0)).exp() * (1.0 + alpha * c1);
        }
        let mean = g.iter().sum::<f64>() / GRID as f64;
        let var = g.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / GRID as f64;
        let inv_sd = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
        g.iter_mut().for_each(|v| *v = (*v - mean) * inv_sd);
        (u, snr)
    }

    /// A neuron's bin means of the stimulus term (into `sbar`) and of the latent term (into
    /// `cbar`), and the within-bin sums of squares of the two, all exact for the drawn trials.
    fn terms(
        &self,
        g: &[f64],
        u: &[f64; LATENT_DIM],
        snr: f64,
        sbar: &mut [f64],
        cbar: &mut [f64],
    ) -> Within {
        let root_snr = snr.sqrt();
        let root_latent = LATENT_SHARE.sqrt();
        let (mut between_s, mut between_sc) = (0.0, 0.0);
        for b in 0..self.bins {
            let range = self.w_start[b]..self.w_start[b + 1];
            let sig: f64 = self.w_index[range.clone()]
                .iter()
                .zip(&self.w_value[range])
                .map(|(&k, &w)| w * g[k])
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
                .map(|k| g[k] * (self.sq_diag[k] * g[k] + self.sq_next[k] * g[(k + 1) % GRID]))
                .sum::<f64>();
        let mut gd = [0.0f64; LATENT_DIM]; // G^T D
        for (k, &gk) in g.iter().enumerate() {
            for (acc, &d) in gd
                .iter_mut()
                .zip(&self.cross[k * LATENT_DIM..(k + 1) * LATENT_DIM])
            {
                *acc += gk * d;
            }
        }
        let total_sc = root_snr * root_latent * gd.iter().zip(u).map(|(a, c)| a * c).sum::<f64>();
        let mut scatter_u = 0.0;
        for a in 0..LATENT_DIM {
            for c in 0..LATENT_DIM {
                scatter_u += u[a] * self.z_scatter[a * LATENT_DIM + c] * u[c];
            }
        }
        // The latent's within-bin part comes straight from the within-bin scatter of z (no
        // cancellation).
        Within {
            s: total_s - between_s,
            c: LATENT_SHARE * scatter_u,
            sc: total_sc - between_sc,
        }
    }

    /// Draws one neuron and writes its z-scored bin means into `out` (one value per bin).
    fn neuron(&self, rng: &mut ChaCha8Rng, s: &mut Scratch, out: &mut [f32]) {
        let (u, snr) = self.draw_tuning(rng, &mut s.g);
        self.z_scored_bins(rng, s, &u, snr, out);
    }

    /// Given a neuron's tuning (in `s.g`), latent loading and signal-to-noise ratio, draws its
    /// private noise and writes the bin means of its z-scored trial responses into `out`. Returns
    /// the trial-level variance used.
    fn z_scored_bins(
        &self,
        rng: &mut ChaCha8Rng,
        s: &mut Scratch,
        u: &[f64; LATENT_DIM],
        snr: f64,
        out: &mut [f32],
    ) -> f64 {
        let within = self.terms(&s.g, u, snr, &mut s.sbar, &mut s.cbar);
        let root_private = (1.0 - LATENT_SHARE).sqrt();

        // Bin means: stimulus + latent + the mean of n_b private draws of variance 0.7.
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

        // Within bins, the trial residual is v_t + e_t: v (stimulus + latent) is known, with |v|^2
        // below; the private residual e is isotropic with variance 0.7 in `resid_dof` dimensions
        // and independent of the bin means, so its component along v is one normal `a`, and the
        // rest a scaled chi-square with one degree fewer.
        let v2 = (within.s + within.c + 2.0 * within.sc).max(0.0);
        let (e2, ve) = if self.resid_dof == 0 {
            (0.0, 0.0)
        } else {
            let a = root_private * normal(rng);
            let rest = self
                .resid_chi2
                .as_ref()
                .map_or(0.0, |chi| (1.0 - LATENT_SHARE) * chi.sample(rng));
            (a * a + rest, a * v2.sqrt())
        };
        // z-score with the trial-level mean and standard deviation (ddof 0), as the recording's
        // pipeline did.
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
    g: Vec<f64>,
    sbar: Vec<f64>,
    cbar: Vec<f64>,
    x: Vec<f64>,
}

impl Scratch {
    fn new(bins: usize) -> Scratch {
        Scratch {
            g: vec![0.0; GRID],
            sbar: vec![0.0; bins],
            cbar: vec![0.0; bins],
            x: vec![0.0; bins],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                generate(&SynthConfig {
                    neurons: 300,
                    stimuli: 360,
                    seed: 11,
                })
            })
        };
        assert_eq!(run(1).resp, run(3).resp);
    }

    /// The bulk statistics docs/data.md reports for the trial-by-trial recipe (std about 0.44,
    /// per-neuron median 0.39, percentiles -0.81 / -0.06 / 1.47): the scale the tutorial's training
    /// curve depends on.
    #[test]
    fn bulk_statistics_match_the_recipe() {
        for seed in [0, 1] {
            let d = generate(&small(seed));
            let x = &d.resp.data;
            let n = x.len() as f64;
            let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
            let std = (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            assert!(mean.abs() < 0.01, "mean {mean}");
            assert!((0.40..0.48).contains(&std), "std {std}");
            let mut per_neuron: Vec<f64> = (0..d.resp.cols)
                .map(|i| {
                    let col: Vec<f64> = (0..d.resp.rows).map(|r| d.resp.row(r)[i] as f64).collect();
                    let m = col.iter().sum::<f64>() / col.len() as f64;
                    (col.iter().map(|v| (v - m).powi(2)).sum::<f64>() / col.len() as f64).sqrt()
                })
                .collect();
            per_neuron.sort_by(f64::total_cmp);
            let median_std = per_neuron[per_neuron.len() / 2];
            assert!(
                (0.37..0.41).contains(&median_std),
                "per-neuron median std {median_std}"
            );
            let mut sorted = x.clone();
            sorted.sort_by(f32::total_cmp);
            let (p1, p50, p99) = (
                percentile(&sorted, 0.01),
                percentile(&sorted, 0.5),
                percentile(&sorted, 0.99),
            );
            assert!((-0.87..-0.75).contains(&p1), "1st percentile {p1}");
            assert!((-0.075..-0.04).contains(&p50), "median {p50}");
            assert!((1.35..1.60).contains(&p99), "99th percentile {p99}");
        }
    }

    /// A random normalised tuning table, loading and SNR, as `draw_tuning` would give.
    fn some_neuron(tables: &TrialTables, seed: u64) -> (Vec<f64>, [f64; LATENT_DIM], f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut g = vec![0.0; GRID];
        let (u, _) = tables.draw_tuning(&mut rng, &mut g);
        (g, u, 1.5)
    }

    /// The pre-summed tables give exactly what summing over the trials one by one gives.
    #[test]
    fn tables_match_trial_by_trial_sums() {
        let bins = 36;
        let trials = Trials::draw(&mut ChaCha8Rng::seed_from_u64(5), bins, 460);
        let tables = TrialTables::new(&trials);
        for seed in 0..4 {
            let (g, u, snr) = some_neuron(&tables, seed);
            let (mut sbar, mut cbar) = (vec![0.0; bins], vec![0.0; bins]);
            let within = tables.terms(&g, &u, snr, &mut sbar, &mut cbar);

            let st: Vec<f64> = (0..trials.len())
                .map(|t| {
                    let (k0, k1, w0, w1) = trials.node(t);
                    snr.sqrt() * trials.gain[t] * (w0 * g[k0] + w1 * g[k1])
                })
                .collect();
            let ct: Vec<f64> = (0..trials.len())
                .map(|t| {
                    LATENT_SHARE.sqrt()
                        * trials.z(t).iter().zip(&u).map(|(a, b)| a * b).sum::<f64>()
                })
                .collect();
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

    /// The trial-level variance drawn from the shortcut has the distribution that simulating every
    /// trial's private noise gives: same mean and spread over repeated draws, for the same neuron
    /// and trials.
    #[test]
    fn z_scoring_variance_matches_trial_simulation() {
        let bins = 360;
        let trials = Trials::draw(&mut ChaCha8Rng::seed_from_u64(9), bins, 4598);
        let tables = TrialTables::new(&trials);
        let (g, u, snr) = some_neuron(&tables, 2);
        let reps = 300;
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let mut scratch = Scratch::new(bins);
        scratch.g.copy_from_slice(&g);
        let mut out = vec![0.0f32; bins];
        let short: Vec<f64> = (0..reps)
            .map(|_| tables.z_scored_bins(&mut rng, &mut scratch, &u, snr, &mut out))
            .collect();

        let base: Vec<f64> = (0..trials.len())
            .map(|t| {
                let (k0, k1, w0, w1) = trials.node(t);
                snr.sqrt() * trials.gain[t] * (w0 * g[k0] + w1 * g[k1])
                    + LATENT_SHARE.sqrt()
                        * trials.z(t).iter().zip(&u).map(|(a, b)| a * b).sum::<f64>()
            })
            .collect();
        let root_private = (1.0 - LATENT_SHARE).sqrt();
        let naive: Vec<f64> = (0..reps)
            .map(|_| {
                let x: Vec<f64> = base
                    .iter()
                    .map(|v| v + root_private * normal(&mut rng))
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
        // The expectation: 1.04 snr Var(g) + 0.3 + 0.7, roughly (the trials' own sample of
        // directions varies).
        assert!((ms / (1.04 * snr + 1.0) - 1.0).abs() < 0.1, "{ms}");
    }

    /// The bins are means of z-scored trials, so their trial-count-weighted mean is zero for every
    /// neuron.
    #[test]
    fn weighted_bin_means_are_centred() {
        let cfg = SynthConfig {
            neurons: 50,
            stimuli: 360,
            seed: 4,
        };
        let d = generate(&cfg);
        let base = ChaCha8Rng::seed_from_u64(cfg.seed);
        let tables = TrialTables::new(&Trials::draw(&mut base.clone(), cfg.stimuli, cfg.trials()));
        for i in 0..cfg.neurons {
            let sum: f64 = (0..cfg.stimuli)
                .map(|b| tables.count[b] * d.resp.row(b)[i] as f64)
                .sum();
            assert!(sum.abs() < 1e-3, "neuron {i}: {sum}");
        }
    }
}
