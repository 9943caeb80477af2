//! What a run leaves: its folder (claimed and written atomically), the record of its inputs and outcome,
//! the per-epoch history, predictions, the console's progress, neuron tuning curves and weight readers, and
//! the figures drawn from those files.

pub mod figures;
pub mod folder;
pub mod history;
pub mod layer_weights;
pub mod outcome;
pub mod predictions;
pub mod record;
pub mod summary;
pub mod tuning_curves;
