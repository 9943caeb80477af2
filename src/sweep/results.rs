//! What a cv or sweep run found: one row per network, one per cell (a point of the grid of varied values,
//! over its folds and repeats), each network's history and its test predictions. The run folder's CSV files
//! hold exactly these; `figures` draws from them.

/// The metrics of a network, in the column order of networks.csv and cells.csv.
pub const METRICS: [&str; 7] = [
    "test_median_error_deg",
    "test_mean_error_deg",
    "test_loss",
    "train_loss",
    "fraction_correct",
    "baseline_median_error_deg",
    "baseline_mean_error_deg",
];

/// A parameter a sweep varies, with its values in the order given.
#[derive(Clone, Debug, PartialEq)]
pub struct Varied {
    /// Its `--vary` name: `lr`, `hidden`, `l1`, `l2`, `momentum`, `bin-width`, `neurons`.
    pub name: String,
    /// Each value as written in networks.csv and cells.csv (`1e-4`, `200:100`, ...).
    pub values: Vec<String>,
    /// Each value as a number for an axis (for `hidden`, the first layer's width), in `values`' order.
    pub numbers: Vec<f64>,
    /// Whether the values are spaced for a log axis (all positive, spanning at least a factor of 10).
    pub log: bool,
}

/// One network's row in networks.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkResult {
    /// Its number, from 0, in the sweep's fixed order (cell, then repeat, then fold).
    pub network: usize,
    pub cell: usize,
    pub fold: usize,
    pub repeat: usize,
    /// `--init-seed` + repeat: the PyTorch seed of its initial weights.
    pub init_seed: u64,
    /// The seed of its random neuron subset, when `neurons` is varied.
    pub neuron_seed: Option<u64>,
    /// "complete", "diverged", "interrupted".
    pub status: String,
    /// Epochs trained.
    pub epochs: usize,
    /// Each metric of `METRICS`, `None` where it does not apply (fraction correct of a regression, the
    /// baseline's without `--baseline`).
    pub metrics: Vec<Option<f64>>,
}

/// Mean, standard deviation (n - 1), standard error of the mean and count of one metric over a cell's networks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    pub mean: f64,
    pub sd: f64,
    pub sem: f64,
    pub n: usize,
}

/// One cell's row in cells.csv: its varied values (one per `Varied`, in order) and each metric's statistics
/// (`None` where the metric does not apply).
#[derive(Clone, Debug, PartialEq)]
pub struct CellResult {
    pub cell: usize,
    /// Index into each `Varied::values`, one per varied parameter.
    pub values: Vec<usize>,
    pub stats: Vec<Option<Stat>>,
}

/// One network's losses per epoch (histories.csv, long format: network,epoch,train_loss,test_loss).
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkHistory {
    pub network: usize,
    pub train_loss: Vec<f64>,
    pub test_loss: Vec<f64>,
}

/// One test row of one network (predictions.csv: network,row,stimulus_deg,decoded_deg): every stimulus is a
/// test row once per fold set, so a cell's predictions over its folds cover every stimulus.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    pub network: usize,
    /// The stimulus's row in the (binned) data.
    pub row: usize,
    pub stimulus_deg: f64,
    pub decoded_deg: f64,
}

/// Everything a cv or sweep run folder's CSV files hold.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepResults {
    /// Empty for `cv` (one cell).
    pub varied: Vec<Varied>,
    pub folds: usize,
    pub repeats: usize,
    /// Whether the networks are classifiers (fraction correct applies).
    pub classifier: bool,
    /// Whether the ridge baseline was fitted on the same folds (`--baseline`).
    pub baseline: bool,
    /// The loss's name, for axis labels ("MSE", "NLL", ...).
    pub loss: String,
    pub networks: Vec<NetworkResult>,
    pub cells: Vec<CellResult>,
    pub histories: Vec<NetworkHistory>,
    pub predictions: Vec<Prediction>,
}

impl Stat {
    /// The statistics of `values`, NaN-free ones only; `None` when none is finite. SD and SEM are 0 for one.
    pub fn of(values: &[f64]) -> Option<Stat> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Stat {
            mean,
            sd,
            sem: sd / (n as f64).sqrt(),
            n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_use_the_sample_sd_and_skip_non_finite_values() {
        let s = Stat::of(&[1.0, 2.0, 3.0, f64::NAN]).unwrap();
        assert_eq!((s.mean, s.n), (2.0, 3));
        assert!((s.sd - 1.0).abs() < 1e-15);
        assert!((s.sem - 1.0 / 3f64.sqrt()).abs() < 1e-15);
        assert_eq!(Stat::of(&[5.0]).unwrap().sd, 0.0);
        assert_eq!(Stat::of(&[f64::INFINITY]), None);
    }
}
