//! The tutorial's loss: `nn.MSELoss` on one output, the stimulus in degrees.

use super::Loss;

pub const NAME: &str = "mse";
pub const LABEL: &str = "mean squared error (deg²)";

pub struct Mse;

impl Loss for Mse {
    fn name(&self) -> &'static str {
        NAME
    }

    fn label(&self) -> &'static str {
        LABEL
    }

    fn loss_and_grad(&self, raw: &[f64], targets: &[f32]) -> (f64, Vec<f64>) {
        let rows = targets.len() as f64;
        let loss = raw
            .iter()
            .zip(targets)
            .map(|(&o, &t)| (o - t as f64).powi(2))
            .sum::<f64>()
            / rows;
        let grad = raw
            .iter()
            .zip(targets)
            .map(|(&o, &t)| 2.0 * (o - t as f64) / rows)
            .collect();
        (loss, grad)
    }

    fn wgsl(&self) -> &'static str {
        include_str!("../../shaders/general/objective/mse.wgsl")
    }
}
