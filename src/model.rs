//! The tutorial's network, Linear(N, M) -> ReLU -> Linear(M, 1), its parameters, PyTorch's default
//! initialisation, and weight files that use PyTorch's `state_dict` names and layouts.

use std::path::Path;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::npz::{NpzFile, NpzOut};
use crate::error::{Error, Result};

/// The hidden layer's nonlinearity: the tutorial's `DeepNetReLU`, or its linear `DeepNet`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Activation {
    Relu,
    Linear,
}

impl Activation {
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Linear => x,
        }
    }

    /// The derivative, given the pre-activation. PyTorch's ReLU passes no gradient at exactly zero.
    pub fn derivative(self, pre: f64) -> f64 {
        match self {
            Activation::Relu => {
                if pre > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Linear => 1.0,
        }
    }
}

/// The shape of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// N: the input width, one per neuron.
    pub neurons: usize,
    /// M: the hidden units.
    pub hidden: usize,
    pub activation: Activation,
}

/// The weights, in PyTorch's layouts: `in_weight` is M x N row-major (`in_layer.weight`), `out_weight` 1 x M.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub neurons: usize,
    pub hidden: usize,
    pub in_weight: Vec<f32>,
    pub in_bias: Vec<f32>,
    pub out_weight: Vec<f32>,
    pub out_bias: Vec<f32>,
}

pub const IN_WEIGHT: &str = "in_layer.weight";
pub const IN_BIAS: &str = "in_layer.bias";
pub const OUT_WEIGHT: &str = "out_layer.weight";
pub const OUT_BIAS: &str = "out_layer.bias";

impl Params {
    pub fn zeros(neurons: usize, hidden: usize) -> Params {
        Params {
            neurons,
            hidden,
            in_weight: vec![0.0; hidden * neurons],
            in_bias: vec![0.0; hidden],
            out_weight: vec![0.0; hidden],
            out_bias: vec![0.0; 1],
        }
    }

    /// PyTorch's `nn.Linear` default: weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), seeded.
    pub fn init(spec: &Spec, seed: u64) -> Params {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut uniform = |n: usize, fan_in: usize| -> Vec<f32> {
            let bound = 1.0 / (fan_in as f64).sqrt();
            (0..n)
                .map(|_| rng.random_range(-bound..bound) as f32)
                .collect()
        };
        let (n, m) = (spec.neurons, spec.hidden);
        let in_weight = uniform(m * n, n);
        let in_bias = uniform(m, n);
        let out_weight = uniform(m, m);
        let out_bias = uniform(1, m);
        Params {
            neurons: n,
            hidden: m,
            in_weight,
            in_bias,
            out_weight,
            out_bias,
        }
    }

    /// The four tensors with their `state_dict` names and shapes.
    pub fn tensors(&self) -> [(&'static str, Vec<usize>, &[f32]); 4] {
        let (n, m) = (self.neurons, self.hidden);
        [
            (IN_WEIGHT, vec![m, n], &self.in_weight),
            (IN_BIAS, vec![m], &self.in_bias),
            (OUT_WEIGHT, vec![1, m], &self.out_weight),
            (OUT_BIAS, vec![1], &self.out_bias),
        ]
    }

    fn tensors_mut(&mut self) -> [&mut Vec<f32>; 4] {
        [
            &mut self.in_weight,
            &mut self.in_bias,
            &mut self.out_weight,
            &mut self.out_bias,
        ]
    }

    /// Every number, tensor after tensor, in `tensors()` order.
    pub fn flat(&self) -> Vec<f32> {
        self.tensors()
            .iter()
            .flat_map(|(_, _, t)| t.iter().copied())
            .collect()
    }

    /// Reads weights saved from PyTorch (`{k: v.numpy() for k, v in net.state_dict().items()}`) or by `--save`,
    /// and checks them against the network they are for.
    pub fn load(path: &Path, spec: &Spec) -> Result<Params> {
        let mut file = NpzFile::open(path)?;
        let mut params = Params::zeros(spec.neurons, spec.hidden);
        let shapes: Vec<(&str, Vec<usize>)> = params
            .tensors()
            .iter()
            .map(|(k, s, _)| (*k, s.clone()))
            .collect();
        for ((key, shape), dst) in shapes.into_iter().zip(params.tensors_mut()) {
            *dst = file.exact_f32(key, &shape).map_err(|e| match e {
                Error::BadArray { path, key, what } => Error::BadArray {
                    path,
                    key,
                    what: format!(
                        "{what} (the network has {} neurons and {} hidden units)",
                        spec.neurons, spec.hidden
                    ),
                },
                other => other,
            })?;
        }
        Ok(params)
    }

    /// Writes float32 arrays under the `state_dict` names, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.tensors()
            .into_iter()
            .fold(NpzOut::new(), |out, (key, shape, data)| {
                out.f32(key, &shape, data.to_vec())
            })
            .write(path)
    }
}
