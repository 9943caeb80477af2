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

/// The first of `METRICS` that is the ridge baseline's rather than the network's own.
pub const FIRST_BASELINE_METRIC: usize = 5;

impl NetworkResult {
    /// Metric `m` as every statistic and figure takes it: finite, and none of a diverged network's own numbers
    /// (the ridge baseline on its fold still counts).
    pub fn counted(&self, m: usize) -> Option<f64> {
        let own = m < FIRST_BASELINE_METRIC;
        self.metrics
            .get(m)
            .copied()
            .flatten()
            .filter(|v| v.is_finite() && !(own && self.status == "diverged"))
    }
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

    #[test]
    fn a_diverged_networks_own_numbers_are_left_out_of_its_cell_and_its_baseline_is_not() {
        let row = |network: usize, status: &str, loss: f64| NetworkResult {
            network,
            cell: 0,
            fold: network,
            repeat: 0,
            init_seed: 1,
            neuron_seed: None,
            status: status.into(),
            epochs: 3,
            metrics: vec![
                Some(10.0),
                Some(12.0),
                Some(loss),
                Some(loss),
                None,
                Some(2.0),
                Some(3.0),
            ],
        };
        let networks = [
            row(0, "complete", 100.0),
            row(1, "diverged", 1e30),
            row(2, "complete", 300.0),
        ];
        let cells = SweepResults::cells_of(&networks, &[vec![]]);
        let test_loss = cells[0].stats[2].unwrap();
        assert_eq!((test_loss.mean, test_loss.n), (200.0, 2));
        assert_eq!(cells[0].stats[FIRST_BASELINE_METRIC].unwrap().n, 3);
        assert_eq!(cells[0].stats[4], None);
    }
}

/// The files a cv or sweep run folder holds besides summary.json and its figures.
pub const NETWORKS: &str = "networks.csv";
pub const CELLS: &str = "cells.csv";
pub const HISTORIES: &str = "histories.csv";
pub const PREDICTIONS: &str = "predictions.csv";
pub const FILES: [&str; 4] = [NETWORKS, CELLS, HISTORIES, PREDICTIONS];

/// A number as the files write it: Rust's shortest representation that reads back to the same f64.
fn num(v: f64) -> String {
    format!("{v}")
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

impl SweepResults {
    /// Each cell's statistics over its networks' rows.
    pub fn cells_of(networks: &[NetworkResult], cell_values: &[Vec<usize>]) -> Vec<CellResult> {
        cell_values
            .iter()
            .enumerate()
            .map(|(cell, values)| {
                let rows: Vec<&NetworkResult> =
                    networks.iter().filter(|n| n.cell == cell).collect();
                let stats = (0..METRICS.len())
                    .map(|m| {
                        let v: Vec<f64> = rows.iter().filter_map(|n| n.counted(m)).collect();
                        Stat::of(&v)
                    })
                    .collect();
                CellResult {
                    cell,
                    values: values.clone(),
                    stats,
                }
            })
            .collect()
    }

    fn varied_columns(&self) -> String {
        self.varied.iter().map(|v| format!(",{}", v.name)).collect()
    }

    fn varied_values(&self, values: &[usize]) -> String {
        self.varied
            .iter()
            .zip(values)
            .map(|(v, &i)| format!(",{}", v.values[i]))
            .collect()
    }

    /// networks.csv: network,cell,fold,repeat,init_seed,neuron_seed,<varied>,status,epochs,<METRICS>.
    pub fn networks_csv(&self) -> String {
        let mut s = format!(
            "network,cell,fold,repeat,init_seed,neuron_seed{},status,epochs,{}\n",
            self.varied_columns(),
            METRICS.join(",")
        );
        for n in &self.networks {
            let values = self
                .cells
                .iter()
                .find(|c| c.cell == n.cell)
                .map(|c| self.varied_values(&c.values))
                .unwrap_or_default();
            s += &format!(
                "{},{},{},{},{},{}{values},{},{},{}\n",
                n.network,
                n.cell,
                n.fold,
                n.repeat,
                n.init_seed,
                n.neuron_seed.map(|s| s.to_string()).unwrap_or_default(),
                n.status,
                n.epochs,
                n.metrics
                    .iter()
                    .map(|&m| opt(m))
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        s
    }

    /// cells.csv: cell,<varied>,networks, then each metric's mean, sd, sem and n.
    pub fn cells_csv(&self) -> String {
        let stats: Vec<String> = METRICS
            .iter()
            .map(|m| format!("{m}_mean,{m}_sd,{m}_sem,{m}_n"))
            .collect();
        let mut s = format!(
            "cell{},networks,{}\n",
            self.varied_columns(),
            stats.join(",")
        );
        for c in &self.cells {
            let networks = self.networks.iter().filter(|n| n.cell == c.cell).count();
            let stats: Vec<String> = c
                .stats
                .iter()
                .map(|st| match st {
                    Some(st) => format!("{},{},{},{}", num(st.mean), num(st.sd), num(st.sem), st.n),
                    None => ",,,0".to_string(),
                })
                .collect();
            s += &format!(
                "{}{},{networks},{}\n",
                c.cell,
                self.varied_values(&c.values),
                stats.join(",")
            );
        }
        s
    }

    /// histories.csv: network,epoch,train_loss,test_loss (epochs from 1).
    pub fn histories_csv(&self) -> String {
        let mut s = String::from("network,epoch,train_loss,test_loss\n");
        for h in &self.histories {
            for (e, (a, b)) in h.train_loss.iter().zip(&h.test_loss).enumerate() {
                s += &format!("{},{},{},{}\n", h.network, e + 1, num(*a), num(*b));
            }
        }
        s
    }

    /// predictions.csv: network,row,stimulus_deg,decoded_deg.
    pub fn predictions_csv(&self) -> String {
        let mut s = String::from("network,row,stimulus_deg,decoded_deg\n");
        for p in &self.predictions {
            s += &format!(
                "{},{},{},{}\n",
                p.network,
                p.row,
                num(p.stimulus_deg),
                num(p.decoded_deg)
            );
        }
        s
    }

    /// The four CSV files' names and contents, in `FILES` order.
    pub fn files(&self) -> [(&'static str, String); 4] {
        [
            (NETWORKS, self.networks_csv()),
            (CELLS, self.cells_csv()),
            (HISTORIES, self.histories_csv()),
            (PREDICTIONS, self.predictions_csv()),
        ]
    }
}

/// Reads the CSV files of a run folder back: the networks, histories and predictions (the cells are computed
/// from the networks again). `varied`, `cell_values` and the flags come from summary.json. Every line is
/// checked: a value that does not parse, a network or cell out of range, or a missing column is an error naming
/// the file, the line and the column.
pub mod read {
    use std::path::Path;

    use super::*;
    use crate::error::{Error, Result};

    struct Table {
        path: std::path::PathBuf,
        header: Vec<String>,
        rows: Vec<(usize, Vec<String>)>,
    }

    /// The most bytes a sweep file may have: far beyond a real sweep's, so a corrupt file is refused rather
    /// than read into memory.
    const MAX_BYTES: u64 = 4 << 30;

    fn table(dir: &Path, name: &str) -> Result<Table> {
        let path = dir.join(name);
        let len = std::fs::metadata(&path)
            .map_err(|e| Error::io(&path, e))?
            .len();
        if len > MAX_BYTES {
            return Err(Error::io(
                &path,
                std::io::Error::other(format!("{len} bytes: more than a sweep file holds")),
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let mut lines = text.lines().enumerate();
        let header: Vec<String> = lines
            .next()
            .map(|(_, l)| l.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let rows = lines
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| (i + 1, l.split(',').map(str::to_string).collect()))
            .collect();
        Ok(Table { path, header, rows })
    }

    impl Table {
        fn bad(&self, line: usize, what: String) -> Error {
            Error::io(
                &self.path,
                std::io::Error::other(format!("line {line}: {what}")),
            )
        }

        fn column(&self, name: &str) -> Result<usize> {
            self.header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| self.bad(1, format!("no column `{name}` in the header")))
        }

        fn cell<'a>(&self, line: usize, row: &'a [String], col: usize) -> Result<&'a str> {
            if row.len() != self.header.len() {
                return Err(self.bad(
                    line,
                    format!(
                        "{} fields where the header has {}",
                        row.len(),
                        self.header.len()
                    ),
                ));
            }
            Ok(&row[col])
        }

        fn parse<T: std::str::FromStr>(
            &self,
            line: usize,
            row: &[String],
            name: &str,
        ) -> Result<T> {
            let col = self.column(name)?;
            let s = self.cell(line, row, col)?;
            s.parse()
                .map_err(|_| self.bad(line, format!("column {name}: `{s}` is not a valid value")))
        }

        fn optional(&self, line: usize, row: &[String], name: &str) -> Result<Option<f64>> {
            let col = self.column(name)?;
            match self.cell(line, row, col)? {
                "" => Ok(None),
                s => s
                    .parse()
                    .map(Some)
                    .map_err(|_| self.bad(line, format!("column {name}: `{s}` is not a number"))),
            }
        }
    }

    /// networks.csv, checked against `cells` cells.
    pub fn networks(dir: &Path, cells: usize) -> Result<Vec<NetworkResult>> {
        let t = table(dir, NETWORKS)?;
        let mut out = Vec::with_capacity(t.rows.len());
        for (line, row) in &t.rows {
            let (line, row) = (*line, row.as_slice());
            let cell: usize = t.parse(line, row, "cell")?;
            if cell >= cells {
                return Err(t.bad(line, format!("cell {cell}: the run has {cells} cells")));
            }
            let seed_col = t.column("neuron_seed")?;
            let neuron_seed = match t.cell(line, row, seed_col)? {
                "" => None,
                _ => Some(t.parse(line, row, "neuron_seed")?),
            };
            out.push(NetworkResult {
                network: t.parse(line, row, "network")?,
                cell,
                fold: t.parse(line, row, "fold")?,
                repeat: t.parse(line, row, "repeat")?,
                init_seed: t.parse(line, row, "init_seed")?,
                neuron_seed,
                status: t.parse(line, row, "status")?,
                epochs: t.parse(line, row, "epochs")?,
                metrics: METRICS
                    .iter()
                    .map(|m| t.optional(line, row, m))
                    .collect::<Result<_>>()?,
            });
        }
        Ok(out)
    }

    /// histories.csv, for the networks `known`.
    pub fn histories(dir: &Path, known: &[usize]) -> Result<Vec<NetworkHistory>> {
        let t = table(dir, HISTORIES)?;
        let mut out: Vec<NetworkHistory> = Vec::new();
        for (line, row) in &t.rows {
            let (line, row) = (*line, row.as_slice());
            let network: usize = t.parse(line, row, "network")?;
            let epoch: usize = t.parse(line, row, "epoch")?;
            if known.binary_search(&network).is_err() {
                return Err(t.bad(line, format!("network {network} is not in {NETWORKS}")));
            }
            if out.last().is_none_or(|h| h.network != network) {
                out.push(NetworkHistory {
                    network,
                    train_loss: Vec::new(),
                    test_loss: Vec::new(),
                });
            }
            let h = out.last_mut().expect("pushed");
            if epoch != h.train_loss.len() + 1 {
                return Err(t.bad(
                    line,
                    format!(
                        "network {network}: epoch {epoch} where {} was expected",
                        h.train_loss.len() + 1
                    ),
                ));
            }
            h.train_loss.push(t.parse(line, row, "train_loss")?);
            h.test_loss.push(t.parse(line, row, "test_loss")?);
        }
        Ok(out)
    }

    /// predictions.csv, for the networks `known`.
    pub fn predictions(dir: &Path, known: &[usize]) -> Result<Vec<Prediction>> {
        let t = table(dir, PREDICTIONS)?;
        let mut out = Vec::with_capacity(t.rows.len());
        for (line, row) in &t.rows {
            let (line, row) = (*line, row.as_slice());
            let network: usize = t.parse(line, row, "network")?;
            if known.binary_search(&network).is_err() {
                return Err(t.bad(line, format!("network {network} is not in {NETWORKS}")));
            }
            out.push(Prediction {
                network,
                row: t.parse(line, row, "row")?,
                stimulus_deg: t.parse(line, row, "stimulus_deg")?,
                decoded_deg: t.parse(line, row, "decoded_deg")?,
            });
        }
        Ok(out)
    }
}
