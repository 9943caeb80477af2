//! Every shader parsed and validated by naga, then specialised with override constants and translated to
//! SPIR-V for each entry point, with no GPU needed.

use popdecode::gpu::shaders::{Overrides, Tiles, modules};

fn specialisations() -> Vec<Overrides> {
    let base = Overrides {
        n_train: 216,
        n_rows: 360,
        r_pad: 360,
        m_pad: 60,
        k_total: 22,
        relu: true,
        apply_update: true,
        wg_reduce: false,
        row_split: 1,
        tiles: Tiles::GPU,
    };
    vec![
        base,
        Overrides {
            relu: false,
            apply_update: false,
            wg_reduce: true,
            row_split: 8,
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

#[test]
fn every_shader_validates_and_translates_to_spirv() {
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
    for (name, source) in tilings.into_iter().flat_map(modules) {
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{name} does not parse:\n{}", e.emit_to_string(&source)));
        let info = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name} does not validate:\n{}", e.emit_to_string(&source)));
        assert!(
            !module.entry_points.is_empty(),
            "{name} has no entry points"
        );
        for overrides in specialisations() {
            let mut constants = naga::back::PipelineConstants::default();
            for (k, v) in overrides.constants() {
                constants.insert(k.to_string(), v);
            }
            for ep in &module.entry_points {
                let (specialised, specialised_info) =
                    naga::back::pipeline_constants::process_overrides(
                        &module,
                        &info,
                        Some((ep.stage, ep.name.as_str())),
                        &constants,
                    )
                    .unwrap_or_else(|e| panic!("{name}::{} with {overrides:?}: {e}", ep.name));
                let spirv = naga::back::spv::write_vec(
                    &specialised,
                    &specialised_info,
                    &naga::back::spv::Options::default(),
                    Some(&naga::back::spv::PipelineOptions {
                        shader_stage: ep.stage,
                        entry_point: ep.name.clone(),
                    }),
                )
                .unwrap_or_else(|e| panic!("{name}::{} to SPIR-V: {e}", ep.name));
                assert!(
                    spirv.len() > 100,
                    "{name}::{}: suspiciously short SPIR-V",
                    ep.name
                );
            }
        }
    }
}

#[test]
fn a_broken_shader_is_caught() {
    // The check above must be able to fail: a kernel that indexes with a float does not validate.
    let bad = popdecode::gpu::shaders::source(
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
