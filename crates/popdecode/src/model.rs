//! The tutorial's networks: Linear(N, M) -> ReLU -> Linear(M, out), or deeper with ReLU between hidden layers,
//! their parameters, PyTorch's default initialisation, and weight files that use PyTorch's `state_dict` names
//! and layouts.
//!
//! Layer names: the first layer is `in_layer` and the last `out_layer`, as in the tutorial; the layers between
//! them, in a net with several hidden layers, are `hidden_layers.0`, `hidden_layers.1`, ... (an
//! `nn.ModuleList` named `hidden_layers`). Each has a `.weight` (outputs x inputs) and a `.bias` (outputs).

use std::path::Path;

use crate::data::npz::{NpzFile, NpzOut};
use crate::error::{Error, Result};
use crate::objective::Objective;
use crate::torch_rng::TorchGenerator;

/// The hidden layers' nonlinearity: the tutorial's `DeepNetReLU`, or its linear `DeepNet`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// The most orientation bins a classifier may have: bins of at least 1 degree, the resolution of the tutorial's
/// binned data (`load_data(bin_width=1)`). It also bounds what grows with the classes: the output layer, the
/// confusion matrix in summary.json and on the console.
pub const MAX_CLASSES: usize = 360;

/// The shape of the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// N: the input width, one per neuron.
    pub neurons: usize,
    /// The hidden layers' widths, first to last; at least one.
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// The loss, which fixes the output layer: 1 unit, or one per class through LogSoftmax.
    pub objective: Objective,
}

impl Spec {
    /// A network shape, checked by `validate`: what no network can be built from is an `Invalid` naming the
    /// value a user would change (`neurons`, `hidden`, `classes`).
    pub fn new(
        neurons: usize,
        hidden: Vec<usize>,
        activation: Activation,
        objective: Objective,
    ) -> Result<Spec> {
        let spec = Spec {
            neurons,
            hidden,
            activation,
            objective,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// The tutorial's network: one hidden ReLU layer of `hidden` units, one output, MSE.
    pub fn tutorial(neurons: usize, hidden: usize) -> Spec {
        Spec {
            neurons,
            hidden: vec![hidden],
            activation: Activation::Relu,
            objective: Objective::Mse,
        }
    }

    /// The first hidden layer's width, M.
    pub fn width(&self) -> usize {
        self.hidden[0]
    }

    pub fn outputs(&self) -> usize {
        self.objective.outputs()
    }

    /// (outputs, inputs) of each linear layer, first to last.
    pub fn layer_shapes(&self) -> Vec<(usize, usize)> {
        let mut sizes = vec![self.neurons];
        sizes.extend(&self.hidden);
        sizes.push(self.outputs());
        sizes.windows(2).map(|w| (w[1], w[0])).collect()
    }

    /// `in_layer`, `hidden_layers.0`, ..., `out_layer`.
    pub fn layer_names(&self) -> Vec<String> {
        let between = self.hidden.len() - 1;
        std::iter::once("in_layer".to_string())
            .chain((0..between).map(|i| format!("hidden_layers.{i}")))
            .chain(std::iter::once("out_layer".to_string()))
            .collect()
    }

    /// Every tensor's `state_dict` name, in `Params::tensors()` order.
    pub fn tensor_names(&self) -> Vec<String> {
        self.layer_names()
            .iter()
            .flat_map(|l| [format!("{l}.weight"), format!("{l}.bias")])
            .collect()
    }

    /// The layers as PyTorch prints them, and the loss: "Linear(23589, 10) -> ReLU -> Linear(10, 1), MSE loss",
    /// "Linear(300, 8) -> ReLU -> Linear(8, 6) -> LogSoftmax, NLL loss".
    pub fn architecture(&self) -> String {
        let act = match self.activation {
            Activation::Relu => " -> ReLU -> ",
            Activation::Linear => " -> ",
        };
        let layers: Vec<String> = self
            .layer_shapes()
            .iter()
            .map(|(out, inp)| format!("Linear({inp}, {out})"))
            .collect();
        let head = match self.objective {
            Objective::Nll { .. } => " -> LogSoftmax, NLL loss",
            Objective::Mse => ", MSE loss",
            Objective::Circular => ", circular loss",
        };
        format!("{}{head}", layers.join(act))
    }

    /// "23589 -> 10 -> 1", "23589 -> 200 -> 100 -> 20 (log-softmax)".
    pub fn describe(&self) -> String {
        let mut s = self.neurons.to_string();
        for (out, _) in self.layer_shapes() {
            s += &format!(" -> {out}");
        }
        if self.objective.classes().is_some() {
            s += " (log-softmax)";
        }
        s
    }

    /// Checks what no network can be built from, naming the value a user would change.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, what: String| Error::invalid(name, what);
        if self.neurons == 0 {
            return Err(bad("neurons", "expected at least one neuron".into()));
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(bad(
                "hidden",
                format!(
                    "expected one or more positive widths, got {:?}",
                    self.hidden
                ),
            ));
        }
        if let Objective::Nll { classes } = self.objective
            && !(2..=MAX_CLASSES).contains(&classes)
        {
            return Err(bad(
                "classes",
                format!(
                    "expected 2 to {MAX_CLASSES} classes, got {classes}: the classes are orientation bins of \
                     360/C degrees, and a bin narrower than 1 degree is finer than the stimuli are given"
                ),
            ));
        }
        Ok(())
    }

    /// Weights and biases of every layer; saturating, so that no size a user asks for overflows.
    pub fn parameter_count(&self) -> u128 {
        self.layer_shapes()
            .iter()
            .map(|&(outputs, inputs)| (outputs as u128).saturating_mul(inputs as u128 + 1))
            .fold(0u128, u128::saturating_add)
    }

    /// Units after the input: every hidden layer's and the outputs (saturating).
    pub fn unit_count(&self) -> u128 {
        self.hidden
            .iter()
            .map(|&h| h as u128)
            .fold(self.outputs() as u128, u128::saturating_add)
    }
}

impl crate::memory::NetworkSize for Spec {
    fn inputs(&self) -> usize {
        self.neurons
    }
    fn parameter_count(&self) -> u128 {
        Spec::parameter_count(self)
    }
    fn unit_count(&self) -> u128 {
        Spec::unit_count(self)
    }
}

/// One linear layer: `weight` is outputs x inputs, row-major, as `nn.Linear.weight`.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub name: String,
    pub inputs: usize,
    pub outputs: usize,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// The weights of every layer, first to last.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub layers: Vec<Layer>,
}

/// The first layer's `state_dict` names, kept for callers that read the tutorial's weights.
pub const IN_WEIGHT: &str = "in_layer.weight";
pub const IN_BIAS: &str = "in_layer.bias";
pub const OUT_WEIGHT: &str = "out_layer.weight";
pub const OUT_BIAS: &str = "out_layer.bias";

impl Params {
    pub fn zeros(spec: &Spec) -> Params {
        let layers = spec
            .layer_shapes()
            .into_iter()
            .zip(spec.layer_names())
            .map(|((outputs, inputs), name)| Layer {
                name,
                inputs,
                outputs,
                weight: vec![0.0; outputs * inputs],
                bias: vec![0.0; outputs],
            })
            .collect();
        Params { layers }
    }

    /// PyTorch's own initialisation, bit for bit: the weights of `torch.manual_seed(seed)` followed by building
    /// the network (the tutorial's `DeepNetReLU(N, M)`, the bonus tutorial's classifier, or a deeper net with an
    /// `nn.ModuleList` of hidden layers). Each `nn.Linear` is drawn in the order the module creates them:
    /// `in_layer`, `hidden_layers.0`, ..., `out_layer`; in each, the weight by `kaiming_uniform_(a=sqrt(5))`, then
    /// the bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (see `torch_rng`).
    pub fn init(spec: &Spec, seed: u64) -> Params {
        Params::init_with(spec, &mut TorchGenerator::manual_seed(seed))
    }

    /// As `init`, drawing from a generator already in use (a network built after a `randperm`, say).
    pub fn init_with(spec: &Spec, generator: &mut TorchGenerator) -> Params {
        let mut params = Params::zeros(spec);
        for layer in &mut params.layers {
            (layer.weight, layer.bias) = generator.linear_init(layer.inputs, layer.outputs);
        }
        params
    }

    /// The first layer, whose weights W_in are M x N.
    pub fn input(&self) -> &Layer {
        &self.layers[0]
    }

    /// The last layer.
    pub fn output(&self) -> &Layer {
        self.layers.last().expect("a network has layers")
    }

    pub fn neurons(&self) -> usize {
        self.input().inputs
    }

    /// The first hidden layer's width, M.
    pub fn width(&self) -> usize {
        self.input().outputs
    }

    /// Every tensor with its `state_dict` name and shape: each layer's weight, then its bias.
    pub fn tensors(&self) -> Vec<(String, Vec<usize>, &[f32])> {
        self.layers
            .iter()
            .flat_map(|l| {
                [
                    (
                        format!("{}.weight", l.name),
                        vec![l.outputs, l.inputs],
                        l.weight.as_slice(),
                    ),
                    (
                        format!("{}.bias", l.name),
                        vec![l.outputs],
                        l.bias.as_slice(),
                    ),
                ]
            })
            .collect()
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
        Params::load_checked(path, spec, true)
    }

    /// As `load`, NaN and Inf allowed, for what a run wrote itself (the weights of a run that diverged); the file
    /// must hold the network's tensors and nothing else, each of the network's shape.
    pub fn load_written(path: &Path, spec: &Spec) -> Result<Params> {
        let file = NpzFile::open(path)?;
        let names = spec.tensor_names();
        if let Some(extra) = file.keys().into_iter().find(|k| !names.contains(k)) {
            return Err(file.bad(
                &extra,
                format!(
                    "is not a tensor of the network {} (expected {})",
                    spec.describe(),
                    names.join(", ")
                ),
            ));
        }
        Params::load_checked(path, spec, false)
    }

    /// Each tensor read at the size the file holds, then checked against the network's shape: nothing is
    /// allocated at a size the network merely claims.
    fn load_checked(path: &Path, spec: &Spec, finite: bool) -> Result<Params> {
        let mut file = NpzFile::open(path)?;
        let mut read = |key: String, shape: &[usize]| {
            let tensor = if finite {
                file.exact_f32(&key, shape)
            } else {
                file.exact_f32_any(&key, shape)
            };
            tensor.map_err(|e| match e {
                Error::BadArray { path, key, what } => Error::BadArray {
                    path,
                    key,
                    what: format!("{what} (the network is {})", spec.describe()),
                },
                other => other,
            })
        };
        let mut layers = Vec::new();
        for ((outputs, inputs), name) in spec.layer_shapes().into_iter().zip(spec.layer_names()) {
            let weight = read(format!("{name}.weight"), &[outputs, inputs])?;
            let bias = read(format!("{name}.bias"), &[outputs])?;
            layers.push(Layer {
                name,
                inputs,
                outputs,
                weight,
                bias,
            });
        }
        Ok(Params { layers })
    }

    /// Writes float32 arrays under the `state_dict` names, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.tensors()
            .into_iter()
            .fold(NpzOut::new(), |out, (key, shape, data)| {
                out.f32(&key, &shape, data.to_vec())
            })
            .write(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deeper_nets_name_their_middle_layers() {
        let spec = Spec {
            hidden: vec![200, 100, 50],
            objective: Objective::Nll { classes: 20 },
            ..Spec::tutorial(30, 0)
        };
        assert_eq!(
            spec.layer_names(),
            [
                "in_layer",
                "hidden_layers.0",
                "hidden_layers.1",
                "out_layer"
            ]
        );
        assert_eq!(
            spec.layer_shapes(),
            [(200, 30), (100, 200), (50, 100), (20, 50)]
        );
        let p = Params::init(&spec, 3);
        let names: Vec<String> = p.tensors().into_iter().map(|t| t.0).collect();
        assert_eq!(names[2], "hidden_layers.0.weight");
        assert_eq!(names[7], "out_layer.bias");
    }

    #[test]
    fn pytorchs_initialisation_draws_layer_after_layer_weight_before_bias() {
        let spec = Spec {
            hidden: vec![6, 4],
            ..Spec::tutorial(5, 0)
        };
        let p = Params::init(&spec, 7);
        let mut g = TorchGenerator::manual_seed(7);
        for (layer, (outputs, inputs)) in p.layers.iter().zip(spec.layer_shapes()) {
            let (w, b) = g.linear_init(inputs, outputs);
            assert_eq!((&layer.weight, &layer.bias), (&w, &b), "{}", layer.name);
        }
        assert_eq!(p, Params::init(&spec, 7));
        assert_ne!(p, Params::init(&spec, 8));
    }

    #[test]
    fn initialisation_stays_within_pytorch_bounds() {
        let p = Params::init(&Spec::tutorial(400, 10), 1);
        assert!(p.input().weight.iter().all(|w| w.abs() < 0.05));
        assert!(
            p.output()
                .weight
                .iter()
                .all(|w| w.abs() < 1.0 / 10f32.sqrt())
        );
        assert!(p.input().weight.iter().any(|w| w.abs() > 0.04));
    }
}
