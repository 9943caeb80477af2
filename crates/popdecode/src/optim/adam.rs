//! `torch.optim.Adam(lr, betas=(beta1, beta2), eps)`, bias-corrected, with PyTorch's defaults.

use super::{Entry, HyperParameters, Optimizer, Rule, wgsl_const};
use crate::error::Result;

pub const ENTRY: Entry = Entry {
    name: "adam",
    help: "Adam with PyTorch's defaults: betas 0.9 and 0.999, eps 1e-8 (torch.optim.Adam)",
    takes: &[],
    build,
};

fn build(_: &HyperParameters) -> Result<Optimizer> {
    Ok(Adam::DEFAULT.into())
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Optimizer {
    /// Adam with PyTorch's defaults.
    pub const ADAM: Optimizer = Optimizer::Adam {
        beta1: Adam::DEFAULT.beta1,
        beta2: Adam::DEFAULT.beta2,
        eps: Adam::DEFAULT.eps,
    };
}

impl Adam {
    /// PyTorch's defaults: betas 0.9 and 0.999, eps 1e-8.
    pub const DEFAULT: Adam = Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };

    /// The bias corrections at step `t`: 1 - beta1^t, and sqrt(1 - beta2^t).
    pub fn corrections(&self, t: u64) -> (f64, f64) {
        let t = t as i32;
        (
            1.0 - self.beta1.powi(t),
            (1.0 - self.beta2.powi(t)).sqrt(),
        )
    }

    /// Adam's step of one tensor whose first and second moments are `m` and `v`.
    pub fn step_moments(&self, lr: f64, t: u64, p: &mut [f64], g: &[f64], m: &mut [f64], v: &mut [f64]) {
        let Adam { beta1, beta2, eps } = *self;
        let (c1, c2) = self.corrections(t);
        for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = beta1 * *m + (1.0 - beta1) * g;
            *v = beta2 * *v + (1.0 - beta2) * g * g;
            *p -= lr / c1 * *m / (v.sqrt() / c2 + eps);
        }
    }

    /// Adam's step in f32 from the decayed weights `decay * p` (AdamW's; 1 for Adam), as its WGSL takes it: the
    /// step's scalars rounded to f32, then f32 per element.
    #[inline(always)]
    pub fn step_f32_decayed(
        &self,
        lr: f64,
        t: u64,
        decay: f32,
        p: &mut [f32],
        g: &[f32],
        moments: &mut [&mut [f32]],
    ) {
        let [m, v] = moments else {
            panic!("Adam keeps two moments, got {}", moments.len())
        };
        let [step_size, c2, ..] = self.step_scalars(lr, t).map(|x| x as f32);
        let (beta1, beta2, eps) = (self.beta1 as f32, self.beta2 as f32, self.eps as f32);
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = beta1 * *m + (1.0 - beta1) * g;
            *v = beta2 * *v + (1.0 - beta2) * g * g;
            *p = *p * decay - step_size * *m / (v.sqrt() / c2 + eps);
        }
    }

    /// `opt.x`: lr / (1 - beta1^t); `opt.y`: sqrt(1 - beta2^t); `opt.z`: the decay the weights are multiplied
    /// by first, 1 for Adam (exact in f32: the WGSL is AdamW's too).
    pub fn step_scalars(&self, lr: f64, t: u64) -> [f64; 4] {
        let (c1, c2) = self.corrections(t);
        [lr / c1, c2, 1.0, 0.0]
    }

    /// BETA1, BETA2 and EPS, for WGSL.
    pub fn constants(&self) -> String {
        wgsl_const("BETA1", self.beta1)
            + &wgsl_const("BETA2", self.beta2)
            + &wgsl_const("EPS", self.eps)
    }
}

impl Rule for Adam {
    fn name(&self) -> &'static str {
        "adam"
    }

    fn describe(&self) -> String {
        "Adam".to_string()
    }

    fn moments(&self) -> usize {
        2
    }

    fn step(&self, lr: f64, t: u64, p: &mut [f64], g: &[f64], moments: &mut [Vec<f64>]) {
        let [m, v] = moments else {
            panic!("Adam keeps two moments, got {}", moments.len())
        };
        self.step_moments(lr, t, p, g, m, v);
    }

    #[inline(always)]
    fn step_f32(&self, lr: f64, t: u64, p: &mut [f32], g: &[f32], moments: &mut [&mut [f32]]) {
        self.step_f32_decayed(lr, t, 1.0, p, g, moments);
    }

    fn scalars(&self, lr: f64, t: u64) -> [f64; 4] {
        self.step_scalars(lr, t)
    }

    fn wgsl(&self) -> String {
        self.constants() + include_str!("../../shaders/general/optim/adam.wgsl")
    }
}
