//! Every shader parsed and validated by naga, then specialised with override constants and translated for each
//! entry point to SPIR-V (Vulkan), MSL (Metal), HLSL (DX12) and GLSL (GL), as wgpu's back ends would, with no GPU
//! needed.

mod common;

use common::wgsl::validated;
use popdecode::gpu::runtime::kernel::Access;
use popdecode::gpu::runtime::wgsl::Tiles;
use popdecode::gpu::tutorial::kernels::{Overrides, modules};
use popdecode::gpu::tutorial::layout::Plan;

fn specialisations() -> Vec<Overrides> {
    let base = Overrides {
        n_train: 216,
        n_rows: 360,
        r_pad: 360,
        m_pad: 60,
        k_total: 22,
        relu: true,
        apply_update: true,
        plan: Plan::SOFTWARE,
        tiles: Tiles::GPU,
    };
    vec![
        base,
        Overrides {
            relu: false,
            apply_update: false,
            plan: Plan {
                k_lanes: 8,
                row_split: 8,
                ..Plan::GPU
            },
            ..base
        },
        Overrides {
            n_train: 1,
            n_rows: 2,
            r_pad: 12,
            m_pad: 30,
            k_total: 1,
            ..base
        },
    ]
}

/// The shading languages each kernel is translated to.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Spirv,
    Msl,
    Hlsl,
    Glsl,
}

const BACKENDS: [Backend; 4] = [Backend::Spirv, Backend::Msl, Backend::Hlsl, Backend::Glsl];

/// MSL 3.0, a recent Metal Shading Language (Metal 3: macOS 13, iOS 16).
const MSL_VERSION: (u8, u8) = (3, 0);
/// Shader model 6.0, the lowest DXC compiles (FXC stops at 5.1).
const HLSL_MODEL: naga::back::hlsl::ShaderModel = naga::back::hlsl::ShaderModel::V6_0;
/// GLSL ES 3.10, the first GLSL ES with compute shaders (what a GLES device needs to run them under wgpu).
const GLSL_VERSION: u16 = 310;

/// Whether a global is bound as a storage buffer that the shader may write.
fn writable(var: &naga::GlobalVariable) -> bool {
    matches!(var.space, naga::AddressSpace::Storage { access } if access.contains(naga::StorageAccess::STORE))
}

/// One entry point of a specialised module (holding that entry point alone) in `backend`'s language, each binding
/// given an explicit slot (no binding is faked) as wgpu's back ends assign them; the text, or the error.
fn translate(
    backend: Backend,
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    ep: &naga::EntryPoint,
) -> Result<String, String> {
    let bound: Vec<(naga::ResourceBinding, &naga::GlobalVariable)> = module
        .global_variables
        .iter()
        .filter_map(|(_, var)| Some((var.binding?, var)))
        .collect();
    match backend {
        Backend::Spirv => {
            let words = naga::back::spv::write_vec(
                module,
                info,
                &naga::back::spv::Options::default(),
                Some(&naga::back::spv::PipelineOptions {
                    shader_stage: ep.stage,
                    entry_point: ep.name.clone(),
                }),
            )
            .map_err(|e| e.to_string())?;
            if words.len() <= 100 {
                return Err(format!("suspiciously short SPIR-V: {} words", words.len()));
            }
            Ok(format!("{} words", words.len()))
        }
        Backend::Msl => {
            use naga::back::msl;
            // Buffers in slots 0.., then the buffer of runtime-sized arrays' lengths.
            let resources: msl::BindingMap = bound
                .iter()
                .enumerate()
                .map(|(slot, &(binding, var))| {
                    let target = msl::BindTarget {
                        buffer: Some(slot as u8),
                        mutable: writable(var),
                        ..Default::default()
                    };
                    (binding, target)
                })
                .collect();
            let entry = msl::EntryPointResources {
                resources,
                immediates_buffer: None,
                sizes_buffer: Some(bound.len() as u8),
            };
            let options = msl::Options {
                lang_version: MSL_VERSION,
                per_entry_point_map: [(ep.name.clone(), entry)].into_iter().collect(),
                fake_missing_bindings: false,
                ..Default::default()
            };
            let pipeline = msl::PipelineOptions {
                entry_point: Some((ep.stage, ep.name.clone())),
                ..Default::default()
            };
            let (text, translation) =
                msl::write_string(module, info, &options, &pipeline).map_err(|e| e.to_string())?;
            for name in translation.entry_point_names {
                name.map_err(|e| e.to_string())?;
            }
            Ok(text)
        }
        Backend::Hlsl => {
            use naga::back::hlsl;
            // Space = group and register = binding, in each register class (b, t, u) as the WGSL numbers them.
            let binding_map: hlsl::BindingMap = bound
                .iter()
                .map(|&(binding, _)| {
                    let target = hlsl::BindTarget {
                        space: binding.group as u8,
                        register: binding.binding,
                        ..Default::default()
                    };
                    (binding, target)
                })
                .collect();
            let options = hlsl::Options {
                shader_model: HLSL_MODEL,
                binding_map,
                fake_missing_bindings: false,
                ..Default::default()
            };
            let pipeline = hlsl::PipelineOptions {
                entry_point: Some((ep.stage, ep.name.clone())),
            };
            let mut text = String::new();
            let reflection = hlsl::Writer::new(&mut text, &options, &pipeline)
                .write(module, info, None)
                .map_err(|e| e.to_string())?;
            for name in reflection.entry_point_names {
                name.map_err(|e| e.to_string())?;
            }
            Ok(text)
        }
        Backend::Glsl => {
            use naga::back::glsl;
            // Uniform blocks and storage blocks have binding points of their own, each numbered from 0.
            let (mut uniforms, mut storage) = (0u8, 0u8);
            let binding_map: glsl::BindingMap = bound
                .iter()
                .map(|&(binding, var)| {
                    let next = match var.space {
                        naga::AddressSpace::Uniform => &mut uniforms,
                        _ => &mut storage,
                    };
                    *next += 1;
                    (binding, *next - 1)
                })
                .collect();
            let options = glsl::Options {
                version: glsl::Version::new_gles(GLSL_VERSION),
                binding_map,
                ..Default::default()
            };
            let pipeline = glsl::PipelineOptions {
                shader_stage: ep.stage,
                entry_point: ep.name.clone(),
                multiview: None,
            };
            let mut text = String::new();
            glsl::Writer::new(
                &mut text,
                module,
                info,
                &options,
                &pipeline,
                naga::proc::BoundsCheckPolicies::default(),
            )
            .and_then(|mut w| w.write())
            .map_err(|e| e.to_string())?;
            Ok(text)
        }
    }
}

/// Specialises every entry point of a validated module with `constants` and translates it to every backend; a
/// failure names the shader, the entry point, the backend and the constants.
fn translates_everywhere(
    name: &str,
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    constants: Vec<(&'static str, f64)>,
    label: &str,
) {
    let mut values = naga::back::PipelineConstants::default();
    for (k, v) in constants {
        values.insert(k.to_string(), v);
    }
    for ep in &module.entry_points {
        let (specialised, specialised_info) = naga::back::pipeline_constants::process_overrides(
            module,
            info,
            Some((ep.stage, ep.name.as_str())),
            &values,
        )
        .unwrap_or_else(|e| panic!("{name}::{} with {label}: {e}", ep.name));
        for backend in BACKENDS {
            let text = translate(backend, &specialised, &specialised_info, ep)
                .unwrap_or_else(|e| panic!("{name}::{} to {backend:?} with {label}: {e}", ep.name));
            assert!(
                text.len() > 100 || matches!(backend, Backend::Spirv),
                "{name}::{} to {backend:?}: suspiciously short:\n{text}",
                ep.name
            );
        }
    }
}

#[test]
fn every_shader_validates_and_translates_everywhere() {
    let tilings = [
        Tiles::GPU,
        Tiles::SOFTWARE,
        Tiles {
            row: 1,
            hidden: 1,
            col: 1,
        },
        Tiles {
            row: 3,
            hidden: 2,
            col: 3,
        },
    ];
    for (name, source) in tilings
        .into_iter()
        .flat_map(|t| modules(t).expect("every kernel file composes"))
    {
        let (module, info) = validated(name, &source);
        assert!(
            !module.entry_points.is_empty(),
            "{name} has no entry points"
        );
        for overrides in specialisations() {
            translates_everywhere(
                name,
                &module,
                &info,
                overrides.constants(),
                &format!("{overrides:?}"),
            );
        }
    }
}

/// The bindings an entry point uses, as (binding, access) from the WGSL itself.
fn wgsl_bindings(
    module: &naga::Module,
    info: &naga::valid::ModuleInfo,
    entry: &str,
) -> Vec<(u32, Access)> {
    let index = module
        .entry_points
        .iter()
        .position(|ep| ep.name == entry)
        .unwrap_or_else(|| panic!("no entry point {entry}"));
    let ep_info = info.get_entry_point(index);
    let mut used: Vec<(u32, Access)> = module
        .global_variables
        .iter()
        .filter(|(handle, _)| !ep_info[*handle].is_empty())
        .filter_map(|(_, var)| {
            let binding = var.binding.as_ref()?.binding;
            let access = match var.space {
                naga::AddressSpace::Uniform => Access::Uniform,
                naga::AddressSpace::Storage { access } => {
                    if access.contains(naga::StorageAccess::STORE) {
                        Access::ReadWrite
                    } else {
                        Access::Read
                    }
                }
                _ => return None,
            };
            Some((binding, access))
        })
        .collect();
    used.sort_by_key(|b| b.0);
    used
}

/// The Rust side's binding table of each tutorial kernel is what its WGSL declares and uses: same numbers, same
/// access (a uniform bound with a dynamic offset counts as a uniform).
#[test]
fn tutorial_bindings_match_the_wgsl() {
    use popdecode::gpu::tutorial::kernels::{KERNELS, bindings, source};
    for entry in KERNELS {
        let text = source(entry, Tiles::GPU).unwrap();
        let (module, info) = validated(entry, &text);
        let normalise = |a: Access| match a {
            Access::DynamicUniform => Access::Uniform,
            a => a,
        };
        let mut rust: Vec<(u32, Access)> = bindings(entry)
            .iter()
            .map(|&(b, a)| (b, normalise(a)))
            .collect();
        rust.sort_by_key(|b| b.0);
        assert_eq!(rust, wgsl_bindings(&module, &info, entry), "{entry}");
    }
}

#[test]
fn a_broken_shader_is_caught() {
    // The check above must be able to fail: a kernel that indexes with a float does not validate.
    let bad = popdecode::gpu::runtime::wgsl::expand(
        "@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n\
         @compute @workgroup_size(1) fn main() { a[1.5] = 0.0; }",
        Tiles::GPU,
    );
    let parsed = naga::front::wgsl::parse_str(&bad);
    let valid = parsed.map(|m| {
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&m)
        .is_ok()
    });
    assert!(!matches!(valid, Ok(true)));
}

/// The general path's kernels (shaders/general/), each its own module, composed with every objective's loss and
/// every optimizer's step (and the gradient store of checks), unrolled to several register tiles and specialised
/// with several shapes and penalties.
#[test]
fn the_general_shader_validates_and_translates_everywhere() {
    use popdecode::gpu::general::shaders::{Constants, KERNELS, module_source};
    use popdecode::gpu::general::tiles_for;
    use popdecode::model::Activation;
    use popdecode::objective::{Objective, Penalty};
    use popdecode::optim::{self, HyperParameters};

    let base = Constants {
        n4: 5898,
        m0: 10,
        classes: 1,
        last_off: 2160,
        win_len: 235_920,
        p_len: 235_948,
        activation: Activation::Relu,
        penalty: Penalty::default(),
        pen_groups: 231,
        pen_chunk4: 256,
        panel_first: true,
        panel_last: true,
    };
    let variants = [
        base,
        Constants {
            classes: 20,
            penalty: Penalty { l1: 5e-4, l2: 1e-2 },
            activation: Activation::Linear,
            ..base
        },
        // A middle column panel (shaders/general/bindings.wgsl).
        Constants {
            n4: 1475,
            panel_first: false,
            panel_last: false,
            penalty: Penalty { l1: 5e-4, l2: 1e-2 },
            ..base
        },
        Constants {
            n4: 1,
            m0: 1,
            win_len: 4,
            p_len: 12,
            last_off: 3,
            pen_groups: 1,
            pen_chunk4: 1,
            ..base
        },
    ];
    let tilings = [
        tiles_for(wgpu::DeviceType::DiscreteGpu, 10),
        tiles_for(wgpu::DeviceType::Cpu, 16),
        Tiles {
            row: 1,
            hidden: 1,
            col: 1,
        },
        Tiles {
            row: 3,
            hidden: 5,
            col: 2,
        },
    ];
    let objectives = [
        Objective::Mse,
        Objective::Circular,
        Objective::Nll { classes: 20 },
    ];
    let momentum = HyperParameters {
        momentum: Some(0.9),
        ..HyperParameters::default()
    };
    let mut optimizers = vec![None, Some(optim::build("sgd", &momentum).unwrap())];
    for (name, _) in optim::catalogue() {
        optimizers.push(Some(
            optim::build(name, &HyperParameters::default()).unwrap(),
        ));
    }
    for kernel in &KERNELS {
        // The loss kernel varies with the objective, update with the optimizer, forward_first and grad_first
        // with the tiles; each kernel is checked over what it varies with.
        let objectives: &[Objective] = if kernel.entry == "loss" {
            &objectives
        } else {
            &objectives[..1]
        };
        let optimizers = if kernel.entry == "update" {
            &optimizers[..]
        } else {
            &optimizers[..1]
        };
        let tiled = kernel.entry == "forward_first" || kernel.entry == "grad_first";
        let tilings = if tiled { &tilings[..] } else { &tilings[..1] };
        for &tiles in tilings {
            for &objective in objectives {
                for optimizer in optimizers {
                    let source =
                        module_source(kernel, tiles, objective, optimizer.as_ref()).unwrap();
                    let name = format!(
                        "{} with {tiles:?}, {objective:?}, {}",
                        kernel.file,
                        optimizer
                            .as_ref()
                            .map_or("the gradient store".into(), |o| o.describe())
                    );
                    let (module, info) = validated(&name, &source);
                    let entries: Vec<&str> = module
                        .entry_points
                        .iter()
                        .map(|e| e.name.as_str())
                        .collect();
                    assert!(entries.contains(&kernel.entry), "{name}: {entries:?}");
                    for constants in variants {
                        translates_everywhere(
                            &name,
                            &module,
                            &info,
                            constants.values(),
                            &format!("{constants:?}"),
                        );
                    }
                }
            }
        }
    }
}

/// The stacked path's kernels (shaders/stack/), at every tiling, specialised for a regression stack with
/// momentum, a classifier without, and one member of one unit on one row.
#[test]
fn every_stack_shader_validates_and_translates_everywhere() {
    use popdecode::gpu::stack::shaders::{Constants, modules};
    let base = Constants {
        r: 360,
        r_pad: 360,
        c4: 5898,
        k: 100,
        m: 10,
        km_pad: 1000,
        o: 1,
        kt: 4,
        nu: 288,
        nll: false,
        relu: true,
        momentum: true,
    };
    let specialisations = [
        base,
        Constants {
            o: 8,
            nll: true,
            relu: false,
            momentum: false,
            ..base
        },
        Constants {
            r: 1,
            r_pad: 12,
            c4: 1,
            k: 1,
            m: 1,
            km_pad: 10,
            kt: 1,
            nu: 1,
            ..base
        },
    ];
    for tiles in [
        Tiles::GPU,
        Tiles::SOFTWARE,
        Tiles {
            row: 3,
            hidden: 2,
            col: 3,
        },
    ] {
        for (name, source) in modules(tiles).expect("every stack kernel file composes") {
            let (module, info) = validated(name, &source);
            assert_eq!(module.entry_points.len(), 1, "{name}");
            for c in specialisations {
                translates_everywhere(name, &module, &info, c.values(), &format!("{c:?}"));
            }
        }
    }
}
