//! What Rust and the general path's WGSL must agree on, read from the WGSL by naga (no GPU needed): the uniform
//! blocks `Step` and `Layer` of shaders/general/bindings.wgsl, member by member (name, offset, type) and in size,
//! against the Rust structs that fill them (`std::mem::offset_of!`, `size_of`); and each kernel's bindings — the
//! numbers and access modes Rust reads from bindings.wgsl, and the buffers each kernel uses, which Rust must bind.

mod common;

use common::wgsl::validated;
use std::mem::{offset_of, size_of};

use popdecode::gpu::general::shaders::{FILES, KERNELS, Use, binding, module_source};
use popdecode::gpu::general::uniforms::{LayerUniform, StepUniform};
use popdecode::gpu::runtime::wgsl::{COMMON, Tiles, compose};
use popdecode::objective::Objective;
use popdecode::optim::{self, HyperParameters};

/// A Rust field type and the WGSL type it stands for.
trait Wgsl {
    const NAME: &'static str;
}
impl Wgsl for u32 {
    const NAME: &'static str = "u32";
}
impl Wgsl for f32 {
    const NAME: &'static str = "f32";
}
impl Wgsl for [f32; 4] {
    const NAME: &'static str = "vec4<f32>";
}

fn wgsl_type<S, T: Wgsl>(_field: fn(&S) -> &T) -> &'static str {
    T::NAME
}

/// (name, offset, WGSL type) of the named fields of a Rust struct.
macro_rules! rust_members {
    ($t:ty: $($field:ident),* $(,)?) => {
        vec![$((
            stringify!($field).to_string(),
            offset_of!($t, $field) as u32,
            wgsl_type::<$t, _>(|s| &s.$field),
        )),*]
    };
}

fn type_name(module: &naga::Module, ty: naga::Handle<naga::Type>) -> String {
    use naga::{ScalarKind, TypeInner, VectorSize};
    let scalar = |s: naga::Scalar| match (s.kind, s.width) {
        (ScalarKind::Uint, 4) => "u32".to_string(),
        (ScalarKind::Sint, 4) => "i32".to_string(),
        (ScalarKind::Float, 4) => "f32".to_string(),
        other => format!("{other:?}"),
    };
    match module.types[ty].inner {
        TypeInner::Scalar(s) => scalar(s),
        TypeInner::Vector { size, scalar: s } => {
            let n = match size {
                VectorSize::Bi => 2,
                VectorSize::Tri => 3,
                VectorSize::Quad => 4,
            };
            format!("vec{n}<{}>", scalar(s))
        }
        ref other => format!("{other:?}"),
    }
}

/// (name, offset, type) of each member of WGSL struct `name`, and its size.
fn wgsl_members(module: &naga::Module, name: &str) -> (Vec<(String, u32, String)>, u32) {
    let (members, span) = module
        .types
        .iter()
        .find_map(|(_, t)| match &t.inner {
            naga::TypeInner::Struct { members, span } if t.name.as_deref() == Some(name) => {
                Some((members.clone(), *span))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no struct {name} in general/bindings.wgsl"));
    let members = members
        .iter()
        .map(|m| {
            (
                m.name.clone().unwrap_or_default(),
                m.offset,
                type_name(module, m.ty),
            )
        })
        .collect();
    (members, span)
}

fn bindings_module() -> (naga::Module, naga::valid::ModuleInfo) {
    let source = compose("general/bindings.wgsl", &[FILES, COMMON]).unwrap();
    validated("general/bindings.wgsl", &source)
}

fn assert_same_layout(
    name: &str,
    wgsl: (Vec<(String, u32, String)>, u32),
    rust: Vec<(String, u32, &str)>,
    rust_size: usize,
) {
    let rust: Vec<(String, u32, String)> = rust
        .into_iter()
        .map(|(n, o, t)| (n, o, t.to_string()))
        .collect();
    assert_eq!(
        wgsl.0, rust,
        "{name}: WGSL's members (name, offset, type) against Rust's"
    );
    assert_eq!(
        wgsl.1 as usize, rust_size,
        "{name}: WGSL's size against Rust's"
    );
}

#[test]
fn step_is_laid_out_as_rust_writes_it() {
    let (module, _) = bindings_module();
    let rust =
        rust_members!(StepUniform: row_base, rows, out_base, loss_slot, accumulate, weight, opt);
    assert_same_layout(
        "Step",
        wgsl_members(&module, "Step"),
        rust,
        size_of::<StepUniform>(),
    );
}

#[test]
fn layer_is_laid_out_as_rust_writes_it() {
    let (module, _) = bindings_module();
    let rust =
        rust_members!(LayerUniform: inputs, outputs, w_off, b_off, in_off, out_off, hidden, first);
    assert_same_layout(
        "Layer",
        wgsl_members(&module, "Layer"),
        rust,
        size_of::<LayerUniform>(),
    );
}

#[test]
fn a_member_out_of_place_is_caught() {
    // The check above must be able to fail: a Step with `weight` moved behind `opt`.
    let (bindings, _) = FILES[0];
    let text = FILES[0].1.replace("    weight: f32,", "").replace(
        "    opt: vec4<f32>,",
        "    opt: vec4<f32>,\n    weight: f32,",
    );
    let table: &[(&str, &str)] = &[(bindings, &text)];
    let source = compose(bindings, &[table]).unwrap();
    let (module, _) = validated("a moved member", &source);
    let rust =
        rust_members!(StepUniform: row_base, rows, out_base, loss_slot, accumulate, weight, opt);
    let wgsl = wgsl_members(&module, "Step");
    let rust: Vec<(String, u32, String)> = rust
        .into_iter()
        .map(|(n, o, t)| (n, o, t.to_string()))
        .collect();
    assert_ne!(wgsl.0, rust);
}

/// Every kernel, composed with every objective and optimizer: the bindings its entry point uses are among those
/// Rust binds for it, with the numbers and access modes Rust reads from bindings.wgsl.
#[test]
fn every_kernel_binds_what_it_uses() {
    let tiles = Tiles {
        row: 2,
        hidden: 3,
        col: 2,
    };
    let objectives = [
        Objective::Mse,
        Objective::Circular,
        Objective::Nll { classes: 5 },
    ];
    let mut optimizers = vec![None];
    for (name, _) in optim::catalogue() {
        optimizers.push(Some(
            optim::build(name, &HyperParameters::default()).unwrap(),
        ));
    }
    let momentum = HyperParameters {
        momentum: Some(0.9),
        ..HyperParameters::default()
    };
    optimizers.push(Some(optim::build("sgd", &momentum).unwrap()));
    for kernel in &KERNELS {
        for objective in objectives {
            for optimizer in &optimizers {
                let source = module_source(kernel, tiles, objective, optimizer.as_ref()).unwrap();
                let (module, info) = validated(kernel.file, &source);
                let (ep, _) = module
                    .entry_points
                    .iter()
                    .enumerate()
                    .find(|(_, e)| e.name == kernel.entry)
                    .unwrap_or_else(|| panic!("{}: no entry point {}", kernel.file, kernel.entry));
                let uses = info.get_entry_point(ep);
                for (handle, var) in module.global_variables.iter() {
                    let (Some(rb), Some(name)) = (&var.binding, &var.name) else {
                        continue;
                    };
                    // Rust reads every declared binding the way naga does.
                    let (number, usage) = binding(name).unwrap();
                    assert_eq!((rb.group, rb.binding), (0, number), "{name}");
                    let want = match var.space {
                        naga::AddressSpace::Uniform => Use::Uniform,
                        naga::AddressSpace::Storage { access } => {
                            if access.contains(naga::StorageAccess::STORE) {
                                Use::ReadWrite
                            } else {
                                Use::Read
                            }
                        }
                        ref other => panic!("{name}: {other:?}"),
                    };
                    assert_eq!(usage, want, "{name}");
                    if !uses[handle].is_empty() {
                        assert!(
                            kernel.bindings.contains(&name.as_str()),
                            "{} uses {name}, which Rust does not bind for it ({objective:?}, {:?})",
                            kernel.entry,
                            optimizer.as_ref().map(|o| o.describe())
                        );
                    }
                }
            }
        }
    }
}
