//! The train/test split: the tutorial's seeded shuffle (first 60% train, the rest test), or the rows a user
//! exported from PyTorch as `itrain` / `itest`.
//!
//! The shuffle is the tutorial's own, row for row: `torch.manual_seed(seed); ishuffle = torch.randperm(n);
//! itrain = ishuffle[:int(train_fraction * n)]; itest = ishuffle[int(train_fraction * n):]` (PyTorch's generator,
//! `torch_rng`).

use std::path::Path;

use super::npz::{NpzFile, NpzOut};
use crate::error::{Error, Result};
use crate::torch_rng::TorchGenerator;

#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

impl Split {
    /// The tutorial's split, bit for bit: `torch.manual_seed(seed); ishuffle = torch.randperm(rows)`, the first
    /// `int(train_fraction * rows)` rows of `ishuffle` for training and the rest for testing, in that order.
    pub fn shuffled(rows: usize, train_fraction: f64, seed: u64) -> Result<Split> {
        let n_train = Split::train_rows(rows, train_fraction)?;
        let mut order = TorchGenerator::manual_seed(seed).randperm(rows);
        let test = order.split_off(n_train);
        Ok(Split { train: order, test })
    }

    /// `int(train_fraction * rows)`, as the tutorial's `int(0.6 * n_stimuli)` (the product in f64, truncated),
    /// checked to leave at least one row on each side.
    fn train_rows(rows: usize, train_fraction: f64) -> Result<usize> {
        if !(train_fraction > 0.0 && train_fraction < 1.0) {
            return Err(Error::invalid(
                "train_fraction",
                format!("expected a fraction strictly between 0 and 1, got {train_fraction}"),
            ));
        }
        let n_train = (train_fraction * rows as f64).floor() as usize;
        if n_train == 0 || n_train == rows {
            return Err(Error::invalid(
                "train_fraction",
                format!(
                    "{train_fraction} of {rows} rows leaves {n_train} for training and {} for testing: \
                     both need at least one",
                    rows - n_train
                ),
            ));
        }
        Ok(n_train)
    }

    /// Reads `itrain` and `itest` (0-based row numbers) and checks them against a data set of `rows` rows.
    pub fn load(path: &Path, rows: usize) -> Result<Split> {
        let mut file = NpzFile::open(path)?;
        let mut read = |key: &str| -> Result<Vec<usize>> {
            let a = file.array_i64(key)?;
            if a.shape.len() != 1 {
                return Err(file.bad(
                    key,
                    format!(
                        "expected a 1-D array of row numbers, found {} dimensions",
                        a.shape.len()
                    ),
                ));
            }
            if a.data.is_empty() {
                return Err(file.bad(key, "is empty: expected at least one row"));
            }
            a.data
                .iter()
                .map(|&i| {
                    usize::try_from(i)
                        .ok()
                        .filter(|&i| i < rows)
                        .ok_or_else(|| {
                            file.bad(
                                key,
                                format!(
                                    "row {i} is out of range: the data has rows 0..{}",
                                    rows.saturating_sub(1)
                                ),
                            )
                        })
                })
                .collect()
        };
        let train = read("itrain")?;
        let test = read("itest")?;
        let mut seen = vec![0u8; rows];
        for (key, rows_of) in [("itrain", &train), ("itest", &test)] {
            for &r in rows_of {
                seen[r] += 1;
                if seen[r] > 1 {
                    return Err(file.bad(
                        key,
                        format!("row {r} appears twice (within or across itrain and itest)"),
                    ));
                }
            }
        }
        Ok(Split { train, test })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let as_i64 = |v: &[usize]| v.iter().map(|&i| i as i64).collect();
        NpzOut::new()
            .i64("itrain", as_i64(&self.train))
            .i64("itest", as_i64(&self.test))
            .write(path)
    }
}
