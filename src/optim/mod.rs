//! Optimizers: how parameters follow their gradients, as `torch.optim` does it.

/// How parameters follow their gradients, as `torch.optim` does it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// `optim.SGD(lr, momentum)`: with momentum, buf = momentum * buf + grad and p -= lr * buf.
    Sgd { momentum: f64 },
    /// `optim.Adam(lr, betas=(beta1, beta2), eps)`, bias-corrected.
    Adam { beta1: f64, beta2: f64, eps: f64 },
}

impl Optimizer {
    /// PyTorch's defaults: betas 0.9 and 0.999, eps 1e-8.
    pub const ADAM: Optimizer = Optimizer::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };

    /// The tutorial's plain gradient descent.
    pub fn is_plain_sgd(&self) -> bool {
        matches!(self, Optimizer::Sgd { momentum } if *momentum == 0.0)
    }
}
