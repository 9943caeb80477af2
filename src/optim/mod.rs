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

/// Hyper-parameters as the command line names them; each optimizer takes those it has and refuses the others
/// (naming the flag), so no flag is accepted and ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HyperParameters {
    /// `--momentum`
    pub momentum: Option<f64>,
    /// `--weight-decay`
    pub weight_decay: Option<f64>,
}

/// Every optimizer: its `--optimizer` name and a line of help.
pub fn catalogue() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "sgd",
            "gradient descent, with --momentum if given (torch.optim.SGD)",
        ),
        (
            "adam",
            "Adam with PyTorch's defaults: betas 0.9 and 0.999, eps 1e-8 (torch.optim.Adam)",
        ),
    ]
}

/// The optimizer called `name` with `hyper`; a hyper-parameter it does not take is refused, naming the flag.
pub fn build(name: &str, hyper: &HyperParameters) -> crate::Result<Optimizer> {
    use crate::error::Error;
    let refuse = |flag: &str, applies: &str| {
        Err(Error::bad_argument(
            flag,
            format!("applies to {applies}; --optimizer {name} does not take it"),
        ))
    };
    match name {
        "sgd" => {
            if hyper.weight_decay.is_some() {
                return refuse("--weight-decay", "--optimizer adamw");
            }
            let momentum = hyper.momentum.unwrap_or(0.0);
            if !(0.0..1.0).contains(&momentum) {
                return Err(Error::bad_argument(
                    "--momentum",
                    format!("expected a value in [0, 1), got {momentum}"),
                ));
            }
            Ok(Optimizer::Sgd { momentum })
        }
        "adam" => {
            if hyper.momentum.is_some_and(|m| m != 0.0) {
                return Err(Error::bad_argument(
                    "--momentum",
                    "applies to --optimizer sgd; Adam uses its own betas (0.9, 0.999)",
                ));
            }
            if hyper.weight_decay.is_some() {
                return refuse("--weight-decay", "--optimizer adamw");
            }
            Ok(Optimizer::ADAM)
        }
        _ => Err(Error::bad_argument(
            "--optimizer",
            format!(
                "unknown optimizer {name:?}; expected one of: {}",
                catalogue()
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

impl Optimizer {
    /// Its `--optimizer` name.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd { .. } => "sgd",
            Optimizer::Adam { .. } => "adam",
        }
    }

    /// For people: "SGD", "SGD with momentum 0.9", "Adam".
    pub fn describe(&self) -> String {
        match self {
            Optimizer::Sgd { momentum: 0.0 } => "SGD".to_string(),
            Optimizer::Sgd { momentum } => format!("SGD with momentum {momentum}"),
            Optimizer::Adam { .. } => "Adam".to_string(),
        }
    }

    /// The value of a command-line hyper-parameter ("momentum", "weight_decay") if this optimizer has it.
    pub fn setting(&self, key: &str) -> Option<f64> {
        match (self, key) {
            (Optimizer::Sgd { momentum }, "momentum") => Some(*momentum),
            _ => None,
        }
    }
}
