//! The input and output layers' weight matrices, for the weights figure: the one place outside the model that
//! knows which tensors of a weights file they are.

use std::path::Path;

use crate::data::Matrix;
use crate::data::npz::NpzFile;
use crate::error::Result;
use crate::model::{IN_WEIGHT, OUT_WEIGHT};

/// W_in, hidden x neurons (`in_layer.weight`), and W_out, outputs x hidden (`out_layer.weight`).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerWeights {
    pub input: Matrix,
    pub output: Matrix,
}

impl LayerWeights {
    /// Reads them from a weights file as `--save` writes it (PyTorch's `state_dict` names).
    pub fn read(path: &Path) -> Result<LayerWeights> {
        let mut file = NpzFile::open(path)?;
        // A run that diverged has non-finite weights; its figures are still drawn.
        let input = file.matrix_f32_any(IN_WEIGHT)?;
        let output = file.matrix_f32_any(OUT_WEIGHT)?;
        if output.cols != input.rows {
            return Err(file.bad(
                OUT_WEIGHT,
                format!(
                    "has {} columns but {IN_WEIGHT} has {} rows (hidden units)",
                    output.cols, input.rows
                ),
            ));
        }
        Ok(LayerWeights { input, output })
    }

    pub fn hidden(&self) -> usize {
        self.input.rows
    }
}
