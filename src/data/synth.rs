//! The synthetic stand-in for the tutorial's file `W3D4_stringer_oribinned1.npz` (see DATA.md, "A synthetic
//! stand-in of the same shape"), used when the real file is not at hand.
//!
//! DATA.md's recipe simulates 4,598 single trials of 23,589 tuned neurons with shared gain, stimulus jitter and a
//! 16-dimensional shared latent, z-scores each neuron across trials and averages the trials into 1-degree bins.
//! Drawing all 108 million single-trial responses is far too slow for a command that must finish in seconds, so
//! [`generate`] draws the *binned* matrix directly, with the same distribution as the recipe (up to the tuning
//! curves being tabulated on a 1-degree grid and linearly interpolated):
//!
//! * The trial-level quantities shared by all neurons (direction, jitter, gain, latent) are few (4,598 x 19 numbers)
//!   and are drawn once, exactly as in the recipe. Everything a neuron needs from them is linear or quadratic in its
//!   tabulated tuning curve `G` and its latent loading `u`, so it is pre-summed once into small tables (per bin:
//!   the gain-weighted interpolation weights; overall: the sums that give the trial-level sum of squares).
//! * A bin's mean of a neuron's private noise is one normal draw with variance `0.7 / n_b`, as a mean of `n_b`
//!   independent draws would have.
//! * The z-scoring uses the trial-level mean and standard deviation (`ddof = 0`) of the neuron's simulated trials.
//!   The mean follows from the bin means. The variance needs the within-bin sum of squares; its signal and latent
//!   parts are computed exactly from the pre-summed tables, and its private-noise parts (the residuals of `eps`
//!   around the bin means, which are independent of those means) are drawn from their exact distribution: the
//!   component along the (known) signal-plus-latent residual is one normal, the rest a chi-square with one degree
//!   of freedom fewer. So the z-scoring statistics are what the trial simulation would have produced, draw for
//!   draw in distribution, at the cost of two extra numbers per neuron.
//!
//! The cost per neuron is O(360 x 16) instead of O(4,598 x 16), and no per-trial noise is drawn.
//! Every neuron draws from its own ChaCha stream (key from the seed, stream from the neuron's index) so the output
//! is bit-identical whatever the number of rayon threads.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use rayon::prelude::*;

use super::{Dataset, Matrix};

/// Trials of the real recording for 360 one-degree bins (Stringer et al.); scaled with the number of bins.
pub const TRIALS_PER_360_BINS: usize = 4598;
/// Dimension of the shared latent `z_t`.
pub const LATENT_DIM: usize = 16;
/// Share of the non-stimulus variance that is shared (latent); the rest, `1 - LATENT_SHARE`, is private.
const LATENT_SHARE: f64 = 0.3;
/// Points of the table of each tuning curve: one per degree. Linear interpolation on it is accurate to about 0.3%
/// of the peak even for the sharpest tuning (kappa 20, a peak with a standard deviation of about 6 degrees).
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
    assert!(cfg.neurons >= 1, "SynthConfig::neurons must be at least 1");
    assert!(cfg.stimuli >= 1, "SynthConfig::stimuli must be at least 1");
    let bins = cfg.stimuli;
    let neurons = cfg.neurons;

    // Stream 0 of the seed's key holds the shared trial draws, stream i + 1 neuron i's draws.
    let base = ChaCha8Rng::seed_from_u64(cfg.seed);
    let tables = TrialTables::draw(&mut base.clone(), bins, cfg.trials());

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

/// `src` is `cols` rows of `rows` values (neuron-major); returns the `rows x cols` row-major matrix. Works on blocks
/// of rows so each source cache line is read once.
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

/// The shared trials, pre-summed into what each neuron's bin means and trial-level variance need.
///
/// Trial `t` has direction `theta_t`, jitter `delta_t`, gain `gamma_t` and latent `z_t`; its shown direction
/// `theta_t + delta_t` falls between grid points `k` and `k + 1` with linear-interpolation weights `w_tk`. A
/// neuron's stimulus term is `s_t = sqrt(snr) gamma_t sum_k w_tk G_k` and its latent term `c_t = sqrt(0.3) u . z_t`.
struct TrialTables {
    bins: usize,
    trials: usize,
    /// Trials in each bin (all at least 1).
    count: Vec<f64>,
    /// Per bin, the sparse row `(k, sum over the bin's trials of gamma_t w_tk / n_b)`: bin mean of `s_t / sqrt(snr)`
    /// is this row dotted with `G`.
    w_start: Vec<usize>,
    w_index: Vec<usize>,
    w_value: Vec<f64>,
    /// Sum over trials of `s_t^2 / snr` is `sum_k sq_diag[k] G_k^2 + sq_next[k] G_k G_{k+1}` (grid indices wrap).
    sq_diag: Vec<f64>,
    sq_next: Vec<f64>,
    /// `GRID x LATENT_DIM`: sum over trials of `gamma_t w_tk z_t`, so that the sum of `s_t c_t` is
    /// `sqrt(0.3 snr) G^T D u`.
    cross: Vec<f64>,
    /// `bins x LATENT_DIM`: the mean latent of each bin.
    z_mean: Vec<f64>,
    /// `LATENT_DIM x LATENT_DIM`: the within-bin scatter of the latents, `sum_t (z_t - zbar_b)(z_t - zbar_b)^T`.
    z_scatter: Vec<f64>,
    /// Degrees of freedom of the private noise around the bin means: trials minus bins.
    resid_dof: usize,
    /// The chi-square for all but one of those degrees of freedom, when there are at least two.
    resid_chi2: Option<ChiSquared<f64>>,
    /// `cos` and `sin` of each grid direction, to rotate the tuning curves without trigonometry per point.
    grid_cos: Vec<f64>,
    grid_sin: Vec<f64>,
}

impl TrialTables {
    fn draw(rng: &mut ChaCha8Rng, bins: usize, trials: usize) -> TrialTables {
        let bin_width = 360.0 / bins as f64;
        // The first `bins` trials fall one in each bin, the rest uniformly: no bin is left empty (its mean would be
        // undefined), and the per-bin counts, 1 + Poisson(11.8) instead of Poisson(12.8), barely change.
        let mut bin_of = Vec::with_capacity(trials);
        let mut shown = Vec::with_capacity(trials);
        let mut gain = Vec::with_capacity(trials);
        let mut z = Vec::with_capacity(trials * LATENT_DIM);
        for t in 0..trials {
            let u: f64 = rng.random();
            let theta = if t < bins {
                (t as f64 + u) * bin_width
            } else {
                u * 360.0
            };
            bin_of.push(((theta / bin_width) as usize).min(bins - 1));
            shown.push(theta + JITTER_SD_DEG * normal(rng));
            gain.push(1.0 + GAIN_SD * normal(rng));
            z.extend((0..LATENT_DIM).map(|_| normal(rng)));
        }

        let mut count = vec![0.0f64; bins];
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); bins];
        for (t, &b) in bin_of.iter().enumerate() {
            count[b] += 1.0;
            members[b].push(t);
        }

        // Interpolation nodes and weights of each trial's shown direction on the periodic 1-degree grid.
        let node = |t: usize| -> (usize, usize, f64, f64) {
            let p = shown[t].rem_euclid(360.0) * (GRID as f64 / 360.0);
            let k0 = (p.floor() as usize).min(GRID - 1);
            let f = (p - k0 as f64).clamp(0.0, 1.0);
            (k0, (k0 + 1) % GRID, 1.0 - f, f)
        };

        let mut w_start = Vec::with_capacity(bins + 1);
        let mut w_index = Vec::new();
        let mut w_value = Vec::new();
        let mut dense = vec![0.0f64; GRID];
        let mut touched = Vec::new();
        let mut z_mean = vec![0.0f64; bins * LATENT_DIM];
        for (b, ts) in members.iter().enumerate() {
            w_start.push(w_index.len());
            let inv_n = 1.0 / count[b];
            for &t in ts {
                let (k0, k1, w0, w1) = node(t);
                for (k, w) in [(k0, w0), (k1, w1)] {
                    if dense[k] == 0.0 {
                        touched.push(k);
                    }
                    dense[k] += gain[t] * w * inv_n;
                }
                let zb = &mut z_mean[b * LATENT_DIM..(b + 1) * LATENT_DIM];
                for (acc, &v) in zb.iter_mut().zip(&z[t * LATENT_DIM..(t + 1) * LATENT_DIM]) {
                    *acc += v * inv_n;
                }
            }
            touched.sort_unstable();
            for &k in &touched {
                w_index.push(k);
                w_value.push(dense[k]);
                dense[k] = 0.0;
            }
            touched.clear();
        }
        w_start.push(w_index.len());

        let mut sq_diag = vec![0.0f64; GRID];
        let mut sq_next = vec![0.0f64; GRID];
        let mut cross = vec![0.0f64; GRID * LATENT_DIM];
        let mut z_scatter = vec![0.0f64; LATENT_DIM * LATENT_DIM];
        for t in 0..trials {
            let (k0, k1, w0, w1) = node(t);
            let g2 = gain[t] * gain[t];
            sq_diag[k0] += g2 * w0 * w0;
            sq_diag[k1] += g2 * w1 * w1;
            sq_next[k0] += 2.0 * g2 * w0 * w1;
            let zt = &z[t * LATENT_DIM..(t + 1) * LATENT_DIM];
            for (k, w) in [(k0, w0), (k1, w1)] {
                for (acc, &v) in cross[k * LATENT_DIM..(k + 1) * LATENT_DIM]
                    .iter_mut()
                    .zip(zt)
                {
                    *acc += gain[t] * w * v;
                }
            }
            let zb = &z_mean[bin_of[t] * LATENT_DIM..(bin_of[t] + 1) * LATENT_DIM];
            for a in 0..LATENT_DIM {
                let da = zt[a] - zb[a];
                for c in 0..LATENT_DIM {
                    z_scatter[a * LATENT_DIM + c] += da * (zt[c] - zb[c]);
                }
            }
        }

        let resid_dof = trials - bins;
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

    /// Draws neuron `rng`'s parameters and writes its z-scored bin means into `out` (one value per bin).
    fn neuron(&self, rng: &mut ChaCha8Rng, s: &mut Scratch, out: &mut [f32]) {
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

        // Tuning curve on the grid, normalised to zero mean and unit variance over directions.
        let (cp, sp) = (phi.cos(), phi.sin());
        for (k, g) in s.g.iter_mut().enumerate() {
            let c1 = self.grid_cos[k] * cp + self.grid_sin[k] * sp; // cos(theta - phi)
            let c2 = 2.0 * c1 * c1 - 1.0; // cos 2(theta - phi)
            *g = (kappa * (c2 - 1.0)).exp() * (1.0 + alpha * c1);
        }
        let mean = s.g.iter().sum::<f64>() / GRID as f64;
        let var = s.g.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / GRID as f64;
        let inv_sd = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
        s.g.iter_mut().for_each(|g| *g = (*g - mean) * inv_sd);

        let root_snr = snr.sqrt();
        let root_latent = LATENT_SHARE.sqrt();
        let root_private = (1.0 - LATENT_SHARE).sqrt();

        // Bin means of the three terms, and their sums needed for the between-bin part of the variance.
        let mut sum_x = 0.0;
        let mut sum_s2 = 0.0; // sum over bins of n_b sbar_b^2
        let mut sum_sc = 0.0; // sum over bins of n_b sbar_b cbar_b
        let mut sum_c2 = 0.0; // sum over bins of n_b cbar_b^2
        for b in 0..self.bins {
            let range = self.w_start[b]..self.w_start[b + 1];
            let sig: f64 = self.w_index[range.clone()]
                .iter()
                .zip(&self.w_value[range])
                .map(|(&k, &w)| w * s.g[k])
                .sum();
            let sbar = root_snr * sig;
            let zb = &self.z_mean[b * LATENT_DIM..(b + 1) * LATENT_DIM];
            let cbar = root_latent * zb.iter().zip(&u).map(|(a, c)| a * c).sum::<f64>();
            let n = self.count[b];
            let ebar = root_private * normal(rng) / n.sqrt();
            let x = sbar + cbar + ebar;
            s.x[b] = x;
            sum_x += n * x;
            sum_s2 += n * sbar * sbar;
            sum_sc += n * sbar * cbar;
            sum_c2 += n * cbar * cbar;
        }
        let trials = self.trials as f64;
        let mu = sum_x / trials;
        let between: f64 =
            s.x.iter()
                .zip(&self.count)
                .map(|(x, n)| n * (x - mu) * (x - mu))
                .sum();

        // Within-bin sums of squares of the stimulus and latent terms: totals over trials minus their bin-mean parts.
        let total_s2 = snr
            * (0..GRID)
                .map(|k| {
                    let g = s.g[k];
                    self.sq_diag[k] * g * g + self.sq_next[k] * g * s.g[(k + 1) % GRID]
                })
                .sum::<f64>();
        let mut gd = [0.0f64; LATENT_DIM]; // G^T D
        for (k, &g) in s.g.iter().enumerate() {
            for (acc, &d) in gd
                .iter_mut()
                .zip(&self.cross[k * LATENT_DIM..(k + 1) * LATENT_DIM])
            {
                *acc += g * d;
            }
        }
        let total_sc = root_snr * root_latent * gd.iter().zip(&u).map(|(a, c)| a * c).sum::<f64>();
        let mut scatter_u = 0.0;
        for a in 0..LATENT_DIM {
            for c in 0..LATENT_DIM {
                scatter_u += u[a] * self.z_scatter[a * LATENT_DIM + c] * u[c];
            }
        }
        let within_s = total_s2 - sum_s2;
        let within_c = LATENT_SHARE * scatter_u;
        let within_sc = total_sc - sum_sc;
        let _ = sum_c2; // the latent's within-bin part comes straight from the scatter matrix
        let resid = (within_s + within_c + 2.0 * within_sc).max(0.0);

        // The private noise around the bin means: isotropic in `resid_dof` dimensions with variance 0.7, so its
        // component along the signal-plus-latent residual is one normal, and the rest a chi-square.
        let (within_e, within_cross) = if self.resid_dof == 0 {
            (0.0, 0.0)
        } else {
            let a = root_private * normal(rng);
            let rest = self
                .resid_chi2
                .as_ref()
                .map_or(0.0, |chi| (1.0 - LATENT_SHARE) * chi.sample(rng));
            (a * a + rest, 2.0 * a * resid.sqrt())
        };
        let var = (between + resid + within_e + within_cross).max(0.0) / trials;
        let inv_sd = if var > 0.0 { 1.0 / var.sqrt() } else { 1.0 };
        for (o, &x) in out.iter_mut().zip(&s.x) {
            *o = ((x - mu) * inv_sd) as f32;
        }
    }
}

/// Per-thread buffers, so a neuron allocates nothing.
struct Scratch {
    g: Vec<f64>,
    x: Vec<f64>,
}

impl Scratch {
    fn new(bins: usize) -> Scratch {
        Scratch {
            g: vec![0.0; GRID],
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

    #[test]
    fn dump_for_numpy() {
        let t = std::time::Instant::now();
        let d = generate(&SynthConfig::default());
        eprintln!("full generate: {:?}", t.elapsed());
        let bytes: Vec<u8> = d.resp.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write("/tmp/synth_resp.f32", bytes).unwrap();
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
}
