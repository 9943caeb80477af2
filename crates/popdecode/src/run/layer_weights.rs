//! The first layer's weights and the weights leaving its hidden units, for the weights figure: the one place
//! outside the model that knows which tensors of a weights file they are.

use std::path::Path;

use crate::data::Matrix;
use crate::data::npz::NpzFile;
use crate::error::Result;
use crate::model::{IN_WEIGHT, OUT_WEIGHT};

/// The layer after the first in a net of several hidden layers.
const NEXT_IN_DEEPER_NETS: &str = "hidden_layers.0.weight";

/// W_in, hidden x neurons (`in_layer.weight`), and the next layer's weights, next units x hidden: W_out
/// (`out_layer.weight`) in the tutorial's net, `hidden_layers.0.weight` in a deeper one.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerWeights {
    pub input: Matrix,
    pub output: Matrix,
    /// The next layer's `state_dict` name.
    pub output_name: String,
}

impl LayerWeights {
    /// Reads them from a weights file as `--save` writes it (PyTorch's `state_dict` names).
    pub fn read(path: &Path) -> Result<LayerWeights> {
        let mut file = NpzFile::open(path)?;
        // A run that diverged has non-finite weights; its figures are still drawn.
        let input = file.matrix_f32_any(IN_WEIGHT)?;
        let next = if file.contains(NEXT_IN_DEEPER_NETS) {
            NEXT_IN_DEEPER_NETS
        } else {
            OUT_WEIGHT
        };
        let output = file.matrix_f32_any(next)?;
        if output.cols != input.rows {
            return Err(file.bad(
                next,
                format!(
                    "has {} columns but {IN_WEIGHT} has {} rows (hidden units)",
                    output.cols, input.rows
                ),
            ));
        }
        Ok(LayerWeights {
            input,
            output,
            output_name: next.to_string(),
        })
    }

    pub fn hidden(&self) -> usize {
        self.input.rows
    }
}
