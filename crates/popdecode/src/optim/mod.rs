//! Optimizers: how parameters follow their gradients, as `torch.optim` does it.
//!
//! Each optimizer is one file here and one WGSL file beside the general GPU path's kernels
//! (`shaders/general/optim/`), and nothing else knows it by name. Its file holds all of it: the step of the CPU
//! reference in f64, the same step in f32 for the fast CPU backend (`Rule::step_f32`, whose default widens to f64),
//! how many moment tensors it keeps, the scalars each GPU step needs (computed in f64, in the
//! order of `Step.opt` of `shaders/general/bindings.wgsl`), its WGSL with its constants printed from Rust, and
//! its command-line registration (name, help, the hyper-parameters it takes and how it is built from them).
//!
//! Adding one: write `NAME.rs` (a struct implementing [`Rule`], and an [`Entry`] called `ENTRY`) and
//! `shaders/general/optim/NAME.wgsl`, and add a line for it to the `registry!` below: its module, its struct and
//! the struct's fields. The registry makes it a variant of [`Optimizer`] with those fields (so a `Config` stays
//! `Copy` and an optimizer is written `Optimizer::Sgd { momentum: 0.9 }`), dispatches the variant to its struct,
//! and lists its entry for the command line.

use std::fmt;

use crate::error::{Error, Result};

/// From one line per optimizer, `module::Struct { field: Type, .. }` (the struct's fields exactly, which the
/// compiler checks): the modules, the `Optimizer` enum with a variant per struct, its dispatch to the struct's
/// `Rule`, the conversions from each struct, and `REGISTRY`, the entries in `--optimizer`'s order.
macro_rules! registry {
    ($($module:ident :: $rule:ident { $($field:ident : $ty:ty),* $(,)? }),* $(,)?) => {
        $(pub mod $module;)*

        /// An optimizer with its settings, as a training `Config` holds it: a variant per optimizer of the
        /// registry, with the fields of its struct, which defines it (see `Optimizer::with`).
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Optimizer {
            $(#[doc = concat!("See `optim::", stringify!($module), "::", stringify!($rule), "`.")]
            $rule { $($field: $ty),* },)*
        }

        impl Optimizer {
            /// `f` applied to this optimizer's own definition: its struct, which implements [`Rule`].
            pub fn with<R>(&self, f: impl FnOnce(&dyn Rule) -> R) -> R {
                match *self {
                    $(Optimizer::$rule { $($field),* } => f(&$module::$rule { $($field),* }),)*
                }
            }
        }

        impl Optimizer {
            /// See [`Rule::step_f32`]. Dispatched to the optimizer's struct statically, so that it inlines where
            /// it is called (the fast CPU backend calls it in code compiled for the processor's SIMD).
            #[inline(always)]
            pub fn step_f32(&self, lr: f64, t: u64, p: &mut [f32], g: &[f32], moments: &mut [&mut [f32]]) {
                match *self {
                    $(Optimizer::$rule { $($field),* } => {
                        Rule::step_f32(&$module::$rule { $($field),* }, lr, t, p, g, moments)
                    })*
                }
            }
        }

        $(impl From<$module::$rule> for Optimizer {
            fn from(rule: $module::$rule) -> Optimizer {
                let $module::$rule { $($field),* } = rule;
                Optimizer::$rule { $($field),* }
            }
        })*

        const REGISTRY: &[&Entry] = &[$(&$module::ENTRY),*];
    };
}

registry! {
    sgd::Sgd { momentum: f64 },
    adam::Adam { beta1: f64, beta2: f64, eps: f64 },
    adamw::AdamW { adam: adam::Adam, weight_decay: f64 },
}

/// What an optimizer is, on both backends: implemented by each optimizer's struct.
pub trait Rule: fmt::Debug {
    /// Its `--optimizer` name.
    fn name(&self) -> &'static str;

    /// For people: "SGD", "SGD with momentum 0.9", "Adam".
    fn describe(&self) -> String;

    /// The value of a command-line hyper-parameter ([`HyperParameters::KEYS`]) if this optimizer has it.
    fn setting(&self, _key: &str) -> Option<f64> {
        None
    }

    /// The tutorial's plain gradient descent (which the GPU's tuned path runs).
    fn is_plain_sgd(&self) -> bool {
        false
    }

    /// Moment tensors it keeps, each the shape of the parameters: 0 for plain SGD, 1 for momentum, 2 for Adam.
    fn moments(&self) -> usize;

    /// One step of one tensor on the CPU reference, in f64: the parameters `p`, their gradient `g` and their
    /// `moments()` moment tensors, with learning rate `lr` at step `t` (1 for the first).
    fn step(&self, lr: f64, t: u64, p: &mut [f64], g: &[f64], moments: &mut [Vec<f64>]);

    /// The same step in f32, for the fast CPU backend: the parameters `p`, their gradient `g` and their moments
    /// (each `p.len()` long). An optimizer overrides it with the arithmetic of its WGSL (the scalars of
    /// [`Rule::scalars`] rounded to f32, then f32 per element), which vectorises; this default widens everything
    /// to f64, takes [`Rule::step`] and rounds back, which is right for any optimizer but slower.
    fn step_f32(&self, lr: f64, t: u64, p: &mut [f32], g: &[f32], moments: &mut [&mut [f32]]) {
        let mut p64: Vec<f64> = p.iter().map(|&v| f64::from(v)).collect();
        let g64: Vec<f64> = g.iter().map(|&v| f64::from(v)).collect();
        let mut m64: Vec<Vec<f64>> = moments
            .iter()
            .map(|m| m.iter().map(|&v| f64::from(v)).collect())
            .collect();
        self.step(lr, t, &mut p64, &g64, &mut m64);
        for (d, s) in p.iter_mut().zip(&p64) {
            *d = *s as f32;
        }
        for (dm, sm) in moments.iter_mut().zip(&m64) {
            for (d, s) in dm.iter_mut().zip(sm) {
                *d = *s as f32;
            }
        }
    }

    /// The GPU's scalars for step `t` with learning rate `lr`, computed in f64 and rounded to f32 by the caller:
    /// `Step.opt` of `shaders/general/bindings.wgsl`, each entry meaning what this optimizer's WGSL says.
    fn scalars(&self, lr: f64, t: u64) -> [f64; 4];

    /// Its WGSL: constants printed by [`wgsl_const`] and then `fn optimizer_step(i: u32, w: f32, g: f32)`, which
    /// steps parameter `i` (value `w`, gradient `g`, the penalty's included) into `params_w`, keeping moment `k`
    /// in `state[k * P_LEN + i]` (see `shaders/general/update.wgsl`).
    fn wgsl(&self) -> String;
}

impl Optimizer {
    /// Its `--optimizer` name.
    pub fn name(&self) -> &'static str {
        self.with(|r| r.name())
    }

    /// For people: "SGD", "SGD with momentum 0.9", "Adam".
    pub fn describe(&self) -> String {
        self.with(|r| r.describe())
    }

    /// The value of a command-line hyper-parameter ("momentum", "weight_decay") if this optimizer has it.
    pub fn setting(&self, key: &str) -> Option<f64> {
        self.with(|r| r.setting(key))
    }

    /// The tutorial's plain gradient descent.
    pub fn is_plain_sgd(&self) -> bool {
        self.with(|r| r.is_plain_sgd())
    }

    /// See [`Rule::moments`].
    pub fn moments(&self) -> usize {
        self.with(|r| r.moments())
    }

    /// See [`Rule::step`].
    pub fn step(&self, lr: f64, t: u64, p: &mut [f64], g: &[f64], moments: &mut [Vec<f64>]) {
        self.with(|r| r.step(lr, t, p, g, moments))
    }

    /// See [`Rule::scalars`].
    pub fn scalars(&self, lr: f64, t: u64) -> [f64; 4] {
        self.with(|r| r.scalars(lr, t))
    }

    /// See [`Rule::wgsl`].
    pub fn wgsl(&self) -> String {
        self.with(|r| r.wgsl())
    }
}

/// `const NAME: f32 = VALUE;` with `value` rounded to f32 and printed so that it reads back exactly (`{:?}` gives
/// the shortest digits that do, and the `f` suffix makes WGSL read them as an f32, with no f64 in between).
pub fn wgsl_const(name: &str, value: f64) -> String {
    format!("const {name}: f32 = {:?}f;\n", value as f32)
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

impl HyperParameters {
    /// The keys of [`Entry::takes`] and [`Rule::setting`]: the names the library's errors give them.
    pub const KEYS: [&'static str; 2] = ["momentum", "weight_decay"];

    /// The value given for `key`, if any.
    pub fn get(&self, key: &str) -> Option<f64> {
        match key {
            "momentum" => self.momentum,
            "weight_decay" => self.weight_decay,
            _ => None,
        }
    }
}

/// An optimizer as the command line knows it.
pub struct Entry {
    /// Its `--optimizer` name.
    pub name: &'static str,
    /// A line of help.
    pub help: &'static str,
    /// The hyper-parameters it takes ([`HyperParameters::KEYS`]); `build` refuses any other given a value but 0.
    pub takes: &'static [&'static str],
    /// The optimizer with these hyper-parameters (only those it takes are set), checked, or an `Invalid`
    /// naming the hyper-parameter.
    pub build: fn(&HyperParameters) -> Result<Optimizer>,
}

/// Every optimizer: its `--optimizer` name and a line of help.
pub fn catalogue() -> Vec<(&'static str, &'static str)> {
    REGISTRY.iter().map(|e| (e.name, e.help)).collect()
}

/// The optimizer called `name` with `hyper`. A hyper-parameter it does not take is refused, naming the flag and
/// the optimizers that do take it; one given as 0 (off) is let through.
pub fn build(name: &str, hyper: &HyperParameters) -> Result<Optimizer> {
    let Some(entry) = REGISTRY.iter().find(|e| e.name == name) else {
        return Err(Error::invalid(
            "optimizer",
            format!(
                "unknown optimizer {name:?}; expected one of: {}",
                REGISTRY
                    .iter()
                    .map(|e| e.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    for key in HyperParameters::KEYS {
        let given = hyper.get(key).is_some_and(|v| v != 0.0);
        if given && !entry.takes.contains(&key) {
            let takers: Vec<String> = REGISTRY
                .iter()
                .filter(|e| e.takes.contains(&key))
                .map(|e| format!("optimizer {}", e.name))
                .collect();
            let applies = if takers.is_empty() {
                "applies to no optimizer here".to_string()
            } else {
                format!("applies to {}", takers.join(" or "))
            };
            return Err(Error::invalid(
                key,
                format!("{applies}; optimizer {name} does not take it"),
            ));
        }
    }
    (entry.build)(hyper)
}

/// `value` if it lies in `range` (`name` names it in the refusal).
pub fn checked(name: &str, value: f64, range: std::ops::Range<f64>) -> Result<f64> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(
            name,
            format!(
                "expected a value in [{}, {}), got {value}",
                range.start, range.end
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_optimizer_is_built_by_its_name_and_says_it() {
        for (name, _) in catalogue() {
            let o = build(name, &HyperParameters::default()).unwrap();
            assert_eq!(o.name(), name);
            assert_eq!(o, build(name, &HyperParameters::default()).unwrap());
            assert!(o.moments() <= 2, "{name}");
            assert!(o.wgsl().contains("fn optimizer_step("), "{name}");
        }
        assert!(Optimizer::Sgd { momentum: 0.0 }.is_plain_sgd());
        assert_ne!(
            build("sgd", &HyperParameters::default()).unwrap(),
            build("adam", &HyperParameters::default()).unwrap()
        );
    }

    #[test]
    fn every_f32_step_follows_the_f64_step() {
        let mut cases: Vec<Optimizer> = catalogue()
            .into_iter()
            .map(|(name, _)| build(name, &HyperParameters::default()).unwrap())
            .collect();
        cases.push(Optimizer::Sgd { momentum: 0.9 });
        for o in cases {
            let n = 50;
            let g: Vec<f32> = (0..n).map(|i| ((i * 37) % 11) as f32 / 7.0 - 0.6).collect();
            let mut p32: Vec<f32> = (0..n).map(|i| (i as f32 / 25.0) - 1.0).collect();
            let mut p64: Vec<f64> = p32.iter().map(|&v| f64::from(v)).collect();
            let mut m32 = vec![vec![0.0f32; n]; o.moments()];
            let mut m64 = vec![vec![0.0f64; n]; o.moments()];
            for t in 1..=5 {
                let g64: Vec<f64> = g.iter().map(|&v| f64::from(v)).collect();
                o.step(1e-2, t, &mut p64, &g64, &mut m64);
                let mut ms: Vec<&mut [f32]> = m32.iter_mut().map(|m| m.as_mut_slice()).collect();
                o.step_f32(1e-2, t, &mut p32, &g, &mut ms);
            }
            for (a, b) in p32.iter().zip(&p64) {
                assert!((f64::from(*a) - b).abs() < 1e-6, "{o:?}: {a} against {b}");
            }
        }
    }

    /// The name an `Invalid` refusal gives, and its message.
    fn refusal(e: Error) -> (String, String) {
        let text = e.to_string();
        match e {
            Error::Invalid { name, .. } => (name, text),
            e => panic!("expected an Invalid, got {e:?}"),
        }
    }

    #[test]
    fn a_hyper_parameter_the_optimizer_does_not_take_is_refused_naming_it() {
        let momentum = HyperParameters {
            momentum: Some(0.5),
            ..HyperParameters::default()
        };
        let (name, err) = refusal(build("adam", &momentum).unwrap_err());
        assert!(name == "momentum" && err.contains("optimizer sgd"), "{err}");
        let off = HyperParameters {
            momentum: Some(0.0),
            ..HyperParameters::default()
        };
        assert!(build("adam", &off).is_ok());
        let too_much = HyperParameters {
            momentum: Some(1.5),
            ..HyperParameters::default()
        };
        let (name, err) = refusal(build("sgd", &too_much).unwrap_err());
        assert_eq!(name, "momentum", "{err}");
        let (name, err) = refusal(build("rmsprop", &HyperParameters::default()).unwrap_err());
        assert!(name == "optimizer" && err.contains("sgd"), "{err}");
    }

    #[test]
    fn constants_read_back_as_the_f32_they_were() {
        assert_eq!(wgsl_const("BETA1", 0.9), "const BETA1: f32 = 0.9f;\n");
        assert_eq!(wgsl_const("EPS", 1e-8), "const EPS: f32 = 1e-8f;\n");
        for v in [0.999, 1e-8, 0.1, 1.0 / 3.0, 0.0] {
            let text = wgsl_const("X", v);
            let digits = text
                .trim_start_matches("const X: f32 = ")
                .trim_end_matches("f;\n");
            assert_eq!(digits.parse::<f32>().unwrap(), v as f32);
        }
    }
}
