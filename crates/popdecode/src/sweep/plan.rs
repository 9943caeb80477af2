//! Which networks a cv or sweep run trains: the grid of varied values (cells), the folds, the repeats, and the
//! deterministic order, seeds and shards that follow from them.
//!
//! Folds: `torch.manual_seed(seed); perm = torch.randperm(rows)` (PyTorch's generator, as the tutorial's split),
//! cut into K contiguous pieces, the first `rows % K` one row longer; fold f tests on piece f and trains on the
//! others, in `perm` order. Every stimulus is a test row of exactly one fold.
//!
//! Networks are numbered cell by cell, then repeat by repeat, then fold by fold. Repeat r draws its initial
//! weights from PyTorch seed `init_seed + r`; with `neurons` varied, its neurons are the first n of
//! `torch.manual_seed(seed + r); torch.randperm(neurons)`, sorted (so within a repeat the smaller subsets are
//! nested in the larger ones, and a repeat's folds share one subset). Shard I of N holds the networks whose
//! number is I - 1 modulo N.

use crate::error::{Error, Result};
use crate::torch_rng::TorchGenerator;

/// A parameter `sweep --vary` can vary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    Lr,
    Hidden,
    L1,
    L2,
    Momentum,
    BinWidth,
    Neurons,
}

impl Param {
    pub const ALL: [Param; 7] = [
        Param::Lr,
        Param::Hidden,
        Param::L1,
        Param::L2,
        Param::Momentum,
        Param::BinWidth,
        Param::Neurons,
    ];

    /// Its `--vary` name, the train flag it stands for without the dashes.
    pub fn name(self) -> &'static str {
        match self {
            Param::Lr => "lr",
            Param::Hidden => "hidden",
            Param::L1 => "l1",
            Param::L2 => "l2",
            Param::Momentum => "momentum",
            Param::BinWidth => "bin-width",
            Param::Neurons => "neurons",
        }
    }

    fn parse(name: &str) -> Option<Param> {
        Param::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// One value of a varied parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// lr, l1, l2, momentum, bin-width.
    Number(f64),
    /// hidden: the hidden layers' widths, first to last.
    Widths(Vec<usize>),
    /// neurons: how many.
    Count(usize),
}

impl Value {
    /// As written in networks.csv and cells.csv: `1e-4`, `0.5`, `200:100`, `1000`.
    pub fn label(&self) -> String {
        match self {
            // 1e-4 as a user writes it, not 0.0001.
            Value::Number(v) if *v != 0.0 && (v.abs() < 1e-2 || v.abs() >= 1e5) => format!("{v:e}"),
            Value::Number(v) => format!("{v}"),
            Value::Widths(w) => w.iter().map(usize::to_string).collect::<Vec<_>>().join(":"),
            Value::Count(n) => n.to_string(),
        }
    }

    /// As a number for an axis: a hidden value's first width.
    pub fn number(&self) -> f64 {
        match self {
            Value::Number(v) => *v,
            Value::Widths(w) => w[0] as f64,
            Value::Count(n) => *n as f64,
        }
    }
}

/// One `--vary NAME=V1,V2,...`.
#[derive(Clone, Debug, PartialEq)]
pub struct Vary {
    pub param: Param,
    pub values: Vec<Value>,
}

/// The most values one `--vary` may list, and the most networks a run may plan: far beyond any real sweep,
/// and small enough that the plan itself costs nothing.
pub const MAX_VALUES: usize = 1000;
pub const MAX_NETWORKS: usize = 1_000_000;

impl Vary {
    /// Parses `NAME=V1,V2,...`, naming the flag, the name or the value that is wrong. Each value is checked
    /// here only for its form (a number, widths, a count); whether `train` would take it is checked when the
    /// cells are built.
    pub fn parse(text: &str) -> Result<Vary> {
        let bad = |what: String| Error::invalid("vary", what);
        let names = || {
            Param::ALL
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (name, list) = text.split_once('=').ok_or_else(|| {
            bad(format!(
                "`{text}`: expected NAME=V1,V2,... with NAME one of {}",
                names()
            ))
        })?;
        let param = Param::parse(name.trim()).ok_or_else(|| {
            bad(format!(
                "`{name}` is not a parameter a sweep can vary: expected one of {}",
                names()
            ))
        })?;
        let items: Vec<&str> = list.split(',').map(str::trim).collect();
        if items.iter().all(|s| s.is_empty()) {
            return Err(bad(format!(
                "{name}= lists no values: expected {name}=V1,V2,..."
            )));
        }
        if items.len() > MAX_VALUES {
            return Err(bad(format!(
                "{name} lists {} values: expected at most {MAX_VALUES}",
                items.len()
            )));
        }
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            let value_err =
                |expected: &str| bad(format!("{name}: value `{item}` is not {expected}"));
            let value = match param {
                Param::Hidden => {
                    let widths: Option<Vec<usize>> =
                        item.split(':').map(|w| w.trim().parse().ok()).collect();
                    match widths {
                        Some(w) if !w.is_empty() && !w.contains(&0) => Value::Widths(w),
                        _ => {
                            return Err(value_err(
                                "a positive width, or widths joined by ':' for deeper nets (200:100)",
                            ));
                        }
                    }
                }
                Param::Neurons => match item.parse::<usize>() {
                    Ok(n) if n > 0 => Value::Count(n),
                    _ => return Err(value_err("a positive number of neurons")),
                },
                _ => match item.parse::<f64>() {
                    Ok(v) if v.is_finite() => Value::Number(v),
                    _ => return Err(value_err("a finite number")),
                },
            };
            if values.contains(&value) {
                return Err(bad(format!("{name}: value `{item}` is listed twice")));
            }
            values.push(value);
        }
        Ok(Vary { param, values })
    }
}

/// The test rows of each fold and its training rows (see the module's doc).
pub fn folds(rows: usize, k: usize, seed: u64) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    if k < 2 || k > rows {
        return Err(Error::invalid(
            "folds",
            format!(
                "expected 2 to {rows} folds (every fold needs a test row and training rows), got {k}"
            ),
        ));
    }
    let perm = TorchGenerator::manual_seed(seed).randperm(rows);
    let (base, extra) = (rows / k, rows % k);
    let mut bounds = vec![0];
    for f in 0..k {
        bounds.push(bounds[f] + base + usize::from(f < extra));
    }
    Ok((0..k)
        .map(|f| {
            let test = perm[bounds[f]..bounds[f + 1]].to_vec();
            let train = perm[..bounds[f]]
                .iter()
                .chain(&perm[bounds[f + 1]..])
                .copied()
                .collect();
            (train, test)
        })
        .collect())
}

/// The neurons of repeat `repeat`'s subset of `n` out of `total` (see the module's doc), sorted.
pub fn neuron_subset(total: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut subset = TorchGenerator::manual_seed(seed).randperm(total);
    subset.truncate(n);
    subset.sort_unstable();
    subset
}

/// `--shard I/N`: run the networks whose number is I - 1 modulo N.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// From 1.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(text: &str) -> std::result::Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}`: expected I/N, the I-th of N shards (1 <= I <= N)"))?;
        let (index, count) = match (i.trim().parse::<usize>(), n.trim().parse::<usize>()) {
            (Ok(i), Ok(n)) => (i, n),
            _ => {
                return Err(format!(
                    "`{text}`: expected I/N with whole numbers, e.g. 2/8"
                ));
            }
        };
        if count == 0 || index == 0 || index > count {
            return Err(format!(
                "`{text}`: expected 1 <= I <= N (shards are numbered from 1, as `--array=1-N` numbers Slurm's \
                 tasks)"
            ));
        }
        Ok(Shard { index, count })
    }

    pub fn holds(&self, network: usize) -> bool {
        network % self.count == self.index - 1
    }
}

/// One network of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Planned {
    pub network: usize,
    pub cell: usize,
    pub fold: usize,
    pub repeat: usize,
}

/// The grid: `cells` points, each an index into every `Vary`'s values, the last varied fastest.
pub fn cells(varies: &[Vary]) -> Vec<Vec<usize>> {
    let mut cells = vec![Vec::new()];
    for v in varies {
        cells = cells
            .into_iter()
            .flat_map(|c| {
                (0..v.values.len()).map(move |i| {
                    let mut c = c.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    cells
}

/// Every network, numbered in the plan's order, refused past `MAX_NETWORKS`.
pub fn networks(cells: usize, folds: usize, repeats: usize) -> Result<Vec<Planned>> {
    let total = cells
        .checked_mul(folds)
        .and_then(|n| n.checked_mul(repeats))
        .filter(|&n| n <= MAX_NETWORKS)
        .ok_or_else(|| {
            Error::invalid(
                "vary",
                format!(
                    "{cells} cells x {folds} folds x {repeats} repeats is more than {MAX_NETWORKS} networks"
                ),
            )
        })?;
    let mut out = Vec::with_capacity(total);
    for cell in 0..cells {
        for repeat in 0..repeats {
            for fold in 0..folds {
                out.push(Planned {
                    network: out.len(),
                    cell,
                    fold,
                    repeat,
                });
            }
        }
    }
    Ok(out)
}

/// Whether values are spaced for a log axis: all positive and spanning at least a factor of 10.
pub fn log_spaced(numbers: &[f64]) -> bool {
    let positive = numbers.iter().all(|&v| v > 0.0);
    let (lo, hi) = numbers
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    positive && numbers.len() > 1 && hi / lo >= 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_cover_every_row_once_as_test_rows_and_match_torch_randperm() {
        let f = folds(23, 5, 4).unwrap();
        let sizes: Vec<usize> = f.iter().map(|(_, t)| t.len()).collect();
        assert_eq!(sizes, [5, 5, 5, 4, 4]);
        let mut all: Vec<usize> = f.iter().flat_map(|(_, t)| t.clone()).collect();
        // The test rows, fold after fold, are torch.randperm's order.
        assert_eq!(all, TorchGenerator::manual_seed(4).randperm(23));
        all.sort_unstable();
        assert_eq!(all, (0..23).collect::<Vec<_>>());
        for (train, test) in &f {
            assert_eq!(train.len() + test.len(), 23);
            assert!(train.iter().all(|r| !test.contains(r)));
        }
        assert!(folds(3, 4, 0).is_err());
        assert!(folds(10, 1, 0).is_err());
    }

    #[test]
    fn vary_parses_each_kind_and_names_what_is_wrong() {
        let v = Vary::parse("hidden=10,200:100").unwrap();
        assert_eq!(
            v.values,
            [Value::Widths(vec![10]), Value::Widths(vec![200, 100])]
        );
        assert_eq!(v.values[1].label(), "200:100");
        assert_eq!(Value::Number(1e-4).label(), "1e-4");
        assert_eq!(Value::Number(0.9).label(), "0.9");
        assert_eq!(
            Vary::parse("lr=1e-4,1e-3").unwrap().values[0],
            Value::Number(1e-4)
        );
        let err = |s: &str| Vary::parse(s).unwrap_err().to_string();
        assert!(
            err("depth=1,2").contains("`depth` is not a parameter"),
            "{}",
            err("depth=1,2")
        );
        assert!(err("lr=").contains("lists no values"));
        assert!(err("lr=1e-4,fast").contains("value `fast`"));
        assert!(err("neurons=10,0").contains("value `0`"));
        assert!(err("hidden=10,0:5").contains("value `0:5`"));
        assert!(err("lr=1,1").contains("twice"));
        assert!(err("lr").contains("NAME=V1"));
    }

    #[test]
    fn shards_partition_the_networks() {
        let s: Vec<Shard> = (1..=3)
            .map(|i| Shard::parse(&format!("{i}/3")).unwrap())
            .collect();
        for n in 0..20 {
            assert_eq!(s.iter().filter(|s| s.holds(n)).count(), 1);
        }
        for bad in ["0/3", "4/3", "1/0", "a/b", "3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_grid_varies_the_last_parameter_fastest_and_networks_go_cell_repeat_fold() {
        let v = [
            Vary::parse("lr=1,2").unwrap(),
            Vary::parse("l2=0,1,2").unwrap(),
        ];
        assert_eq!(cells(&v), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
        let n = networks(2, 3, 2).unwrap();
        assert_eq!(n.len(), 12);
        assert_eq!((n[4].cell, n[4].repeat, n[4].fold), (0, 1, 1));
        assert!(networks(usize::MAX, 2, 2).is_err());
    }

    #[test]
    fn subsets_are_sorted_and_nested_within_a_repeat() {
        let small = neuron_subset(100, 10, 7);
        let big = neuron_subset(100, 40, 7);
        assert!(small.windows(2).all(|w| w[0] < w[1]));
        assert!(small.iter().all(|n| big.contains(n)));
        assert_ne!(small, neuron_subset(100, 10, 8));
    }
}
