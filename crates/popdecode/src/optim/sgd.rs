//! `torch.optim.SGD(lr, momentum)`: p -= lr * g, or with momentum buf = momentum * buf + g and p -= lr * buf (the
//! first step's buf being g, which momentum * 0 + g gives). The tutorial's optimizer.

use super::{Entry, HyperParameters, Optimizer, Rule, checked, wgsl_const};
use crate::error::Result;

pub const ENTRY: Entry = Entry {
    name: "sgd",
    help: "gradient descent, with --momentum if given (torch.optim.SGD)",
    takes: &["momentum"],
    build,
};

fn build(hyper: &HyperParameters) -> Result<Optimizer> {
    let momentum = checked("momentum", hyper.momentum.unwrap_or(0.0), 0.0..1.0)?;
    Ok(Sgd { momentum }.into())
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    /// 0 for plain gradient descent.
    pub momentum: f64,
}

impl Rule for Sgd {
    fn name(&self) -> &'static str {
        "sgd"
    }

    fn describe(&self) -> String {
        if self.momentum == 0.0 {
            "SGD".to_string()
        } else {
            format!("SGD with momentum {}", self.momentum)
        }
    }

    fn setting(&self, key: &str) -> Option<f64> {
        (key == "momentum").then_some(self.momentum)
    }

    fn is_plain_sgd(&self) -> bool {
        self.momentum == 0.0
    }

    fn moments(&self) -> usize {
        usize::from(self.momentum != 0.0)
    }

    fn step(&self, lr: f64, _t: u64, p: &mut [f64], g: &[f64], moments: &mut [Vec<f64>]) {
        match moments {
            [] => p.iter_mut().zip(g).for_each(|(p, g)| *p -= lr * g),
            [buf, ..] => {
                for ((p, g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                    *b = self.momentum * *b + g;
                    *p -= lr * *b;
                }
            }
        }
    }

    #[inline(always)]
    fn step_f32(&self, lr: f64, _t: u64, p: &mut [f32], g: &[f32], moments: &mut [&mut [f32]]) {
        let lr = lr as f32;
        match moments {
            [] => p.iter_mut().zip(g).for_each(|(p, &g)| *p -= lr * g),
            [buf, ..] => {
                let momentum = self.momentum as f32;
                for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                    *b = momentum * *b + g;
                    *p -= lr * *b;
                }
            }
        }
    }

    /// `opt.x`: the learning rate.
    fn scalars(&self, lr: f64, _t: u64) -> [f64; 4] {
        [lr, 0.0, 0.0, 0.0]
    }

    fn wgsl(&self) -> String {
        wgsl_const("MOMENTUM", self.momentum)
            + include_str!("../../shaders/general/optim/sgd.wgsl")
    }
}
