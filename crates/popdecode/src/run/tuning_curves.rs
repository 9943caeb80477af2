//! Tuning curves, for the figures and for `tuning.npz`: the part of the data a run folder keeps so that `plot` can
//! redraw every figure without the data file.
//!
//! - The responses of the first 100 neurons to every stimulus, and three neurons' tuning curves (the tutorial's
//!   Section 1 figure).
//! - Each neuron's preferred orientation: the stimulus at the maximum of its tuning curve smoothed by a Gaussian
//!   of sigma 5 bins, as in the bonus tutorial (`scipy.ndimage.gaussian_filter1d(resp, 5, axis=0)`, whose defaults
//!   are kept: a kernel of radius 4 sigma, reflected at the ends). Sorting neurons by it orders the columns of the
//!   input weights in the weights figure.
//! - The hidden units' tuning curves: the hidden layer's activations on every stimulus, from the final weights,
//!   computed in f64 on the CPU.
//!
//! Every row here is a stimulus, in increasing orientation.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::data::npz::{NpzFile, NpzOut};
use crate::data::{Dataset, Matrix};
use crate::error::Result;
use crate::model::{Params, Spec};

/// The smoothing of tuning curves before their maximum is taken, in stimulus bins.
pub const SMOOTHING_SIGMA_BINS: f64 = 5.0;
/// How many neurons the data-matrix heatmap shows, from the first.
pub const HEATMAP_NEURONS: usize = 100;
/// How many neurons' tuning curves are drawn.
pub const EXAMPLE_NEURONS: usize = 3;
/// The seed that draws the example neurons (the tutorial draws them at random).
pub const EXAMPLE_SEED: u64 = 0;

/// Keys in `tuning.npz`.
pub mod keys {
    pub const STIMULI: &str = "stimuli";
    pub const FIRST_NEURONS: &str = "resp_first_neurons";
    pub const EXAMPLE_NEURONS: &str = "example_neurons";
    pub const EXAMPLE_TUNING: &str = "example_tuning";
    pub const PREFERRED: &str = "preferred_deg";
    pub const HIDDEN: &str = "hidden_tuning";
}

#[derive(Clone, Debug, PartialEq)]
pub struct TuningCurves {
    /// The stimuli in increasing orientation, degrees (S).
    pub stimuli: Vec<f32>,
    /// S x min(100, N): the responses of neurons 0, 1, ... to each stimulus.
    pub first_neurons: Matrix,
    /// The example neurons' indices (0-based columns of `resp`).
    pub example_neurons: Vec<usize>,
    /// S x 3: their responses to each stimulus.
    pub example_curves: Matrix,
    /// Each neuron's preferred orientation in degrees (N).
    pub preferred_deg: Vec<f32>,
    /// S x M: each hidden unit's activation on each stimulus.
    pub hidden: Matrix,
}

/// scipy's `_gaussian_kernel1d(sigma, 0, radius)` with `radius = int(4 * sigma + 0.5)`: normalised weights for
/// offsets -radius..=radius.
pub fn gaussian_kernel(sigma: f64) -> Vec<f64> {
    let radius = (4.0 * sigma + 0.5) as i64;
    let w: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 * (x * x) as f64 / (sigma * sigma)).exp())
        .collect();
    let sum: f64 = w.iter().sum();
    w.into_iter().map(|v| v / sum).collect()
}

/// scipy's `mode='reflect'` (d c b a | a b c d | d c b a): the index that `i` reads in a signal of length `n`.
pub fn reflect(i: i64, n: usize) -> usize {
    let n = n as i64;
    let j = i.rem_euclid(2 * n);
    (if j < n { j } else { 2 * n - 1 - j }) as usize
}

/// `gaussian_filter1d(values, sigma)` with scipy's defaults.
pub fn gaussian_smooth(values: &[f64], sigma: f64) -> Vec<f64> {
    let kernel = gaussian_kernel(sigma);
    let radius = (kernel.len() / 2) as i64;
    (0..values.len() as i64)
        .map(|i| {
            kernel
                .iter()
                .enumerate()
                .map(|(k, w)| w * values[reflect(i + k as i64 - radius, values.len())])
                .sum()
        })
        .collect()
}

/// For every column of `resp` (a neuron), the stimulus at which its tuning curve, smoothed along the rows, is
/// largest (the first such, as `np.argmax`). `order` gives the rows in increasing stimulus; `stimuli_sorted` the
/// stimulus of each of them.
pub fn preferred_orientations(
    resp: &Matrix,
    order: &[usize],
    stimuli_sorted: &[f32],
    sigma: f64,
) -> Vec<f32> {
    const CHUNK: usize = 512;
    let kernel = gaussian_kernel(sigma);
    let radius = (kernel.len() / 2) as i64;
    let rows = order.len();
    let mut preferred = vec![0.0f32; resp.cols];
    preferred
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, out)| {
            let cols = c * CHUNK..c * CHUNK + out.len();
            let mut best = vec![f64::NEG_INFINITY; out.len()];
            let mut acc = vec![0.0f64; out.len()];
            for i in 0..rows as i64 {
                acc.iter_mut().for_each(|a| *a = 0.0);
                for (k, &w) in kernel.iter().enumerate() {
                    let r = order[reflect(i + k as i64 - radius, rows)];
                    for (a, &x) in acc.iter_mut().zip(&resp.row(r)[cols.clone()]) {
                        *a += w * x as f64;
                    }
                }
                for ((b, p), &a) in best.iter_mut().zip(out.iter_mut()).zip(&acc) {
                    if a > *b {
                        *b = a;
                        *p = stimuli_sorted[i as usize];
                    }
                }
            }
        });
    preferred
}

/// The neurons in order of preferred orientation (ties in neuron order).
pub fn sorted_by_preference(preferred_deg: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..preferred_deg.len()).collect();
    order.sort_by(|&a, &b| preferred_deg[a].total_cmp(&preferred_deg[b]));
    order
}

/// The rows of `stimuli` in increasing order (ties in row order).
pub fn stimulus_order(stimuli: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..stimuli.len()).collect();
    order.sort_by(|&a, &b| stimuli[a].total_cmp(&stimuli[b]));
    order
}

impl TuningCurves {
    /// Everything the figures need from the data and the trained network.
    pub fn compute(data: &Dataset, spec: &Spec, params: &Params) -> TuningCurves {
        let n = data.neurons();
        let order = stimulus_order(&data.stimuli);
        let stimuli: Vec<f32> = order.iter().map(|&r| data.stimuli[r]).collect();
        let first: Vec<usize> = (0..n.min(HEATMAP_NEURONS)).collect();
        let mut examples: Vec<usize> = rand::seq::index::sample(
            &mut ChaCha8Rng::seed_from_u64(EXAMPLE_SEED),
            n,
            n.min(EXAMPLE_NEURONS),
        )
        .into_vec();
        examples.sort_unstable();
        let preferred_deg =
            preferred_orientations(&data.resp, &order, &stimuli, SMOOTHING_SIGMA_BINS);
        let sorted = data.resp.select_rows(&order);
        // The first hidden layer's units, whose weights the weights figure shows.
        let hidden = crate::reference::hidden_activations(&sorted, spec, params).swap_remove(0);
        TuningCurves {
            first_neurons: data.resp.select(&order, &first),
            example_curves: data.resp.select(&order, &examples),
            example_neurons: examples,
            preferred_deg,
            hidden: Matrix::new(
                stimuli.len(),
                spec.width(),
                hidden.into_iter().map(|h| h as f32).collect(),
            ),
            stimuli,
        }
    }

    /// Writes `tuning.npz` (float32; `example_neurons` int64), atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let m = |m: &Matrix| (vec![m.rows, m.cols], m.data.clone());
        let (first_shape, first) = m(&self.first_neurons);
        let (ex_shape, ex) = m(&self.example_curves);
        let (hidden_shape, hidden) = m(&self.hidden);
        NpzOut::new()
            .f32(keys::STIMULI, &[self.stimuli.len()], self.stimuli.clone())
            .f32(keys::FIRST_NEURONS, &first_shape, first)
            .i64(
                keys::EXAMPLE_NEURONS,
                self.example_neurons.iter().map(|&i| i as i64).collect(),
            )
            .f32(keys::EXAMPLE_TUNING, &ex_shape, ex)
            .f32(
                keys::PREFERRED,
                &[self.preferred_deg.len()],
                self.preferred_deg.clone(),
            )
            .f32(keys::HIDDEN, &hidden_shape, hidden)
            .write(path)
    }

    /// Reads `tuning.npz` and checks that its arrays agree in shape.
    pub fn load(path: &Path) -> Result<TuningCurves> {
        let mut f = NpzFile::open(path)?;
        let stimuli = f.vector_f32(keys::STIMULI)?;
        let s = stimuli.len();
        let rows_of = |f: &mut NpzFile, key: &str| -> Result<Matrix> {
            // The hidden units' activations are NaN after a run that diverged.
            let m = f.matrix_f32_any(key)?;
            if m.rows != s {
                return Err(f.bad(
                    key,
                    format!("has {} rows, expected one per stimulus ({s})", m.rows),
                ));
            }
            Ok(m)
        };
        let first_neurons = rows_of(&mut f, keys::FIRST_NEURONS)?;
        let example_curves = rows_of(&mut f, keys::EXAMPLE_TUNING)?;
        let hidden = rows_of(&mut f, keys::HIDDEN)?;
        let preferred_deg = f.vector_f32(keys::PREFERRED)?;
        let examples = f.array_i64(keys::EXAMPLE_NEURONS)?.data;
        if examples.len() != example_curves.cols
            || examples
                .iter()
                .any(|&i| i < 0 || i as usize >= preferred_deg.len())
        {
            return Err(f.bad(
                keys::EXAMPLE_NEURONS,
                format!(
                    "expected {} neuron indices below {}",
                    example_curves.cols,
                    preferred_deg.len()
                ),
            ));
        }
        Ok(TuningCurves {
            stimuli,
            first_neurons,
            example_neurons: examples.into_iter().map(|i| i as usize).collect(),
            example_curves,
            preferred_deg,
            hidden,
        })
    }

    pub fn neurons(&self) -> usize {
        self.preferred_deg.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_and_reflection_are_scipys() {
        let k = gaussian_kernel(5.0);
        assert_eq!(k.len(), 41);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // scipy.ndimage._filters._gaussian_kernel1d(5, 0, 20)[20]
        assert!(
            (k[20] - 0.079_791_656_887_950_59).abs() < 1e-15,
            "{}",
            k[20]
        );
        let n = 4;
        let seen: Vec<usize> = (-5..9).map(|i| reflect(i, n)).collect();
        assert_eq!(seen, [3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0]);
        // gaussian_filter1d([1, 2, 3, 4, 5], 1) == [1.42704095, 2.06782203, 3, 3.93217797, 4.57295905]
        let s = gaussian_smooth(&[1.0, 2.0, 3.0, 4.0, 5.0], 1.0);
        for (a, b) in s
            .iter()
            .zip([1.42704095, 2.06782203, 3.0, 3.93217797, 4.57295905])
        {
            assert!((a - b).abs() < 1e-7, "{s:?}");
        }
        // A signal shorter than the kernel is reflected many times: gaussian_filter1d([0, 0, 1, 0], 5).
        let s = gaussian_smooth(&[0.0, 0.0, 1.0, 0.0], 5.0);
        for (a, b) in s
            .iter()
            .zip([0.2499139, 0.24997487, 0.25002942, 0.25008181])
        {
            assert!((a - b).abs() < 1e-7, "{s:?}");
        }
    }

    #[test]
    fn preferred_orientation_is_the_peak_of_the_smoothed_curve() {
        // Neuron 0 peaks at 90 degrees, neuron 1 at 270; neuron 2 has a single sharp spike at 0 on top of a broad
        // bump at 180, which smoothing lets win; rows come shuffled.
        let stimuli: Vec<f32> = (0..36).map(|i| i as f32 * 10.0).collect();
        let bump = |s: f32, c: f32, w: f32| (-((s - c) / w).powi(2)).exp();
        let mut rows: Vec<usize> = (0..36).collect();
        rows.reverse();
        rows.swap(3, 17);
        let shuffled: Vec<f32> = rows.iter().map(|&r| stimuli[r]).collect();
        let mut data = Vec::new();
        for &s in &shuffled {
            data.push(bump(s, 90.0, 30.0));
            data.push(bump(s, 270.0, 30.0));
            data.push(2.0 * bump(s, 180.0, 60.0) + if s == 0.0 { 3.0 } else { 0.0 });
        }
        let resp = Matrix::new(36, 3, data);
        let order = stimulus_order(&shuffled);
        let sorted: Vec<f32> = order.iter().map(|&r| shuffled[r]).collect();
        let p = preferred_orientations(&resp, &order, &sorted, 5.0);
        assert_eq!(p, vec![90.0, 270.0, 180.0]);
        assert_eq!(sorted_by_preference(&p), vec![0, 2, 1]);
    }

    #[test]
    fn compute_then_save_and_load() {
        let data = crate::data::synth::generate(&crate::data::synth::SynthConfig {
            neurons: 150,
            stimuli: 36,
            seed: 2,
        });
        let spec = Spec::tutorial(150, 4);
        let params = Params::init(&spec, 3);
        let t = TuningCurves::compute(&data, &spec, &params);
        assert_eq!((t.first_neurons.rows, t.first_neurons.cols), (36, 100));
        assert_eq!((t.hidden.rows, t.hidden.cols), (36, 4));
        assert_eq!(t.example_neurons.len(), 3);
        assert!(t.hidden.data.iter().all(|&h| h >= 0.0));
        assert_eq!(t.first_neurons.row(5)[7], data.resp.row(5)[7]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tuning.npz");
        t.save(&path).unwrap();
        assert_eq!(TuningCurves::load(&path).unwrap(), t);
    }
}
