//! `torch.optim.AdamW(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay)`: Adam with decoupled weight decay. Each
//! step first multiplies every parameter by 1 - lr * weight_decay, then takes Adam's step from there, whose
//! moments see only the gradient.

use super::adam::Adam;
use super::{Entry, HyperParameters, Optimizer, Rule, checked};
use crate::error::Result;

pub const ENTRY: Entry = Entry {
    name: "adamw",
    help: "Adam with decoupled weight decay --weight-decay (default 0.01) and PyTorch's betas 0.9 and 0.999, eps \
           1e-8 (torch.optim.AdamW)",
    takes: &["weight_decay"],
    build,
};

fn build(hyper: &HyperParameters) -> Result<Optimizer> {
    let weight_decay = checked(
        "weight_decay",
        hyper.weight_decay.unwrap_or(0.01),
        0.0..f64::INFINITY,
    )?;
    Ok(AdamW {
        adam: Adam::DEFAULT,
        weight_decay,
    }
    .into())
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamW {
    pub adam: Adam,
    pub weight_decay: f64,
}

impl Rule for AdamW {
    fn name(&self) -> &'static str {
        "adamw"
    }

    fn describe(&self) -> String {
        format!("AdamW with weight decay {}", self.weight_decay)
    }

    fn setting(&self, key: &str) -> Option<f64> {
        (key == "weight_decay").then_some(self.weight_decay)
    }

    fn moments(&self) -> usize {
        2
    }

    fn step(&self, lr: f64, t: u64, p: &mut [f64], g: &[f64], moments: &mut [Vec<f64>]) {
        let decay = 1.0 - lr * self.weight_decay;
        p.iter_mut().for_each(|p| *p *= decay);
        self.adam.step(lr, t, p, g, moments);
    }

    #[inline(always)]
    fn step_f32(&self, lr: f64, t: u64, p: &mut [f32], g: &[f32], moments: &mut [&mut [f32]]) {
        let decay = (1.0 - lr * self.weight_decay) as f32;
        self.adam.step_f32_decayed(lr, t, decay, p, g, moments);
    }

    /// Adam's (`opt.x`, `opt.y`), and `opt.z`: 1 - lr * weight_decay, the decay Adam's WGSL applies first.
    fn scalars(&self, lr: f64, t: u64) -> [f64; 4] {
        let [step_size, c2, ..] = self.adam.scalars(lr, t);
        [step_size, c2, 1.0 - lr * self.weight_decay, 0.0]
    }

    fn wgsl(&self) -> String {
        self.adam.constants() + include_str!("../../shaders/general/optim/adam.wgsl")
    }
}
