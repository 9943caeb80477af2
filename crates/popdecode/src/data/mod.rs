//! Neural responses and the stimuli they answer: loading, the synthetic stand-in, binning and the train/test split.

pub mod npz;
pub mod problem;
pub mod split;
pub mod synth;

use std::path::Path;

use crate::error::{Error, Result};

/// A dense row-major `f32` matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn new(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            rows * cols,
            data.len(),
            "matrix data length must be rows * cols"
        );
        Matrix { rows, cols, data }
    }

    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix::new(rows, cols, vec![0.0; rows * cols])
    }

    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// The rows named by `index`, in that order.
    pub fn select_rows(&self, index: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(index.len() * self.cols);
        for &r in index {
            data.extend_from_slice(self.row(r));
        }
        Matrix::new(index.len(), self.cols, data)
    }

    /// The rows `rows` of the columns `cols`, both in the order given (every column in order copies whole rows).
    pub fn select(&self, rows: &[usize], cols: &[usize]) -> Matrix {
        if cols.len() == self.cols && cols.iter().enumerate().all(|(i, &c)| i == c) {
            return self.select_rows(rows);
        }
        let mut data = Vec::with_capacity(rows.len() * cols.len());
        for &r in rows {
            let row = self.row(r);
            data.extend(cols.iter().map(|&c| row[c]));
        }
        Matrix::new(rows.len(), cols.len(), data)
    }
}

/// The tutorial's data: `resp` is stimuli x neurons, `stimuli` the grating direction of each row in degrees.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub resp: Matrix,
    pub stimuli: Vec<f32>,
}

/// The units of a data file's `stimuli`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StimulusUnits {
    /// Degrees in [0, 360], as the tutorial's file.
    #[default]
    Degrees,
    /// Radians in [0, 2π], converted to degrees on loading.
    Radians,
}

impl StimulusUnits {
    /// Its `--stimulus-units` name.
    pub fn name(self) -> &'static str {
        match self {
            StimulusUnits::Degrees => "deg",
            StimulusUnits::Radians => "rad",
        }
    }

    /// `stimuli` in degrees, each checked to lie on the circle: [0, 360] degrees or [0, 2π] radians. A value off
    /// it is refused naming its row, since it would be a target far beyond any angle (and every figure's axis
    /// would follow it). Degrees that all lie within [0, 2π] are refused as radians given without saying so.
    pub fn to_degrees(self, stimuli: &[f64]) -> std::result::Result<Vec<f32>, String> {
        let tau = std::f64::consts::TAU;
        let (top, unit) = match self {
            StimulusUnits::Degrees => (360.0, "degrees in [0, 360]"),
            StimulusUnits::Radians => (tau, "radians in [0, 2 pi] (--stimulus-units rad)"),
        };
        if let Some(row) = stimuli.iter().position(|s| !(0.0..=top).contains(s)) {
            let hint = match self {
                StimulusUnits::Degrees if (-180.0..0.0).contains(&stimuli[row]) => {
                    "; angles from -180 to 180 can be shifted into range with `stimuli % 360`"
                }
                _ => "",
            };
            return Err(format!(
                "row {row} is {}: expected {unit}, one per row of `resp`{hint}",
                stimuli[row]
            ));
        }
        if self == StimulusUnits::Degrees && stimuli.iter().all(|&s| s <= tau) {
            return Err(format!(
                "every value lies within [0, 2 pi] (the largest is {}): these look like radians, and popdecode \
                 reads degrees in [0, 360]; add --stimulus-units rad to convert them, or store degrees",
                stimuli.iter().copied().fold(0.0, f64::max)
            ));
        }
        Ok(match self {
            StimulusUnits::Degrees => stimuli.iter().map(|&s| s as f32).collect(),
            StimulusUnits::Radians => stimuli.iter().map(|&s| s.to_degrees() as f32).collect(),
        })
    }
}

/// The md5 of the tutorial's file `W3D4_stringer_oribinned1.npz`.
pub const TUTORIAL_MD5: &str = "436599dfd8ebe6019f066c38aed20580";

impl Dataset {
    pub fn neurons(&self) -> usize {
        self.resp.cols
    }

    pub fn n_stimuli(&self) -> usize {
        self.resp.rows
    }

    /// Loads `resp` and `stimuli` (in degrees) from an `.npz` file; see `load_with`.
    pub fn load(path: &Path) -> Result<Dataset> {
        Dataset::load_with(path, StimulusUnits::Degrees)
    }

    /// The shape of `resp` in an `.npz` file, (stimuli, neurons), from its header alone: what loading it would
    /// allocate, known before anything is.
    pub fn shape_in(path: &Path) -> Result<(usize, usize)> {
        let mut file = npz::NpzFile::open(path)?;
        match file.shape("resp")?[..] {
            [rows, cols] => Ok((rows, cols)),
            ref shape => Err(file.bad(
                "resp",
                format!(
                    "expected a 2-D array, found shape {}",
                    npz::show_shape(shape)
                ),
            )),
        }
    }

    /// Loads `resp` and `stimuli` from an `.npz` file and checks them: `resp` float32 or float64, `stimuli`
    /// float or integer, shaped (N,) or (N, 1), in `units` (radians become degrees) and within the circle; lengths
    /// that agree, at least one row and one neuron, and no NaN or Inf.
    pub fn load_with(path: &Path, units: StimulusUnits) -> Result<Dataset> {
        let mut file = npz::NpzFile::open(path)?;
        let resp = file.matrix_f32("resp")?;
        let stimuli = file.vector_f64("stimuli")?;
        if resp.rows == 0 || resp.cols == 0 {
            return Err(file.bad(
                "resp",
                format!(
                    "expected a non-empty stimuli x neurons matrix, found shape ({}, {})",
                    resp.rows, resp.cols
                ),
            ));
        }
        if stimuli.len() != resp.rows {
            return Err(file.bad(
                "stimuli",
                format!(
                    "has {} entries but `resp` has {} rows: expected one stimulus per row",
                    stimuli.len(),
                    resp.rows
                ),
            ));
        }
        let stimuli = units
            .to_degrees(&stimuli)
            .map_err(|what| file.bad("stimuli", what))?;
        Ok(Dataset { resp, stimuli })
    }

    /// The tutorial's `load_data(bin_width)`: rows whose stimuli fall in the same `bin_width`-degree bin
    /// (`np.digitize(stimuli, np.arange(0, 360 + bin_width, bin_width))`) are averaged, responses and stimuli
    /// alike, and the bins come out in increasing order. A width of 1 or less leaves the data as it is, as there.
    pub fn binned(&self, bin_width: f64) -> Result<Dataset> {
        if !(bin_width.is_finite() && bin_width > 0.0) {
            return Err(Error::invalid(
                "bin_width",
                format!("expected a positive number of degrees, got {bin_width}"),
            ));
        }
        if bin_width <= 1.0 {
            return Ok(self.clone());
        }
        let edges: Vec<f64> = (0..)
            .map(|k| k as f64 * bin_width)
            .take_while(|&e| e < 360.0 + bin_width)
            .collect();
        let bin_of = |s: f32| edges.partition_point(|&e| e <= s as f64);
        let mut bins: Vec<usize> = self.stimuli.iter().map(|&s| bin_of(s)).collect();
        bins.sort_unstable();
        bins.dedup();
        let cols = self.resp.cols;
        let mut resp = Matrix::zeros(bins.len(), cols);
        let mut stimuli = vec![0.0f32; bins.len()];
        let mut sums = vec![0.0f64; cols];
        for (out_row, &bin) in bins.iter().enumerate() {
            sums.iter_mut().for_each(|s| *s = 0.0);
            let mut stim_sum = 0.0f64;
            let mut count = 0usize;
            for (r, &s) in self.stimuli.iter().enumerate() {
                if bin_of(s) == bin {
                    for (acc, &v) in sums.iter_mut().zip(self.resp.row(r)) {
                        *acc += v as f64;
                    }
                    stim_sum += s as f64;
                    count += 1;
                }
            }
            for (dst, &s) in resp.row_mut(out_row).iter_mut().zip(&sums) {
                *dst = (s / count as f64) as f32;
            }
            stimuli[out_row] = (stim_sum / count as f64) as f32;
        }
        Ok(Dataset { resp, stimuli })
    }
}

/// The md5 of a file, as lowercase hex.
pub fn md5_hex(path: &Path) -> Result<String> {
    use md5::{Digest, Md5};
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stimuli_must_lie_on_the_circle_in_their_units() {
        let deg = StimulusUnits::Degrees;
        assert_eq!(
            deg.to_degrees(&[0.0, 90.0, 360.0]).unwrap(),
            [0.0, 90.0, 360.0]
        );
        let e = deg.to_degrees(&[0.0, 360.5, 90.0]).unwrap_err();
        assert!(
            e.starts_with("row 1 is 360.5: expected degrees in [0, 360]"),
            "{e}"
        );
        let e = deg.to_degrees(&[0.0, 1.0, 6.0]).unwrap_err();
        assert!(
            e.contains("radians") && e.contains("--stimulus-units rad"),
            "{e}"
        );
        let rad = StimulusUnits::Radians;
        let d = rad
            .to_degrees(&[0.0, std::f64::consts::PI, std::f64::consts::TAU])
            .unwrap();
        assert_eq!(d, [0.0, 180.0, 360.0]);
        let e = rad.to_degrees(&[0.0, 90.0]).unwrap_err();
        assert!(
            e.starts_with("row 1 is 90: expected radians in [0, 2 pi]"),
            "{e}"
        );
    }
}
