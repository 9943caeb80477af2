//! The per-kernel harness as a test: every kernel of both GPU paths, each variant, alone on small random shapes,
//! against its own CPU reference (correctness only; `cargo bench --bench kernels` times them). Runs on whatever
//! adapter opens (lavapipe in CI) and fails, saying how to get one, where none does.

#[path = "../../../crates/popdecode/tests/common/mod.rs"]
mod common;

use popdecode::compare::{Comparison, assert_all};
use popdecode::gpu::Gpu;
use popdecode_kernels::{self as harness, KernelId, Size, Variant, general, tutorial};

fn gpu() -> Gpu {
    common::gpu().gpu
}

/// Checks every variant of the kernels `names` select, listing each failure.
fn check(names: &[&str]) {
    let gpu = gpu();
    let kernels =
        harness::select(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    let mut all: Vec<Comparison> = Vec::new();
    for k in kernels {
        let variants = harness::variants(k, Size::Test);
        assert!(!variants.is_empty(), "{k} has no variants");
        for v in &variants {
            let report = harness::run(&gpu, k, v, None)
                .unwrap_or_else(|e| panic!("{k} [{}]: {e}", v.name()));
            assert!(
                !report.comparisons.is_empty(),
                "{k} [{}] checks nothing",
                v.name()
            );
            all.extend(report.comparisons.into_iter().map(|c| Comparison {
                name: format!("{k} [{}] {}", report.variant, c.name),
                ..c
            }));
        }
    }
    assert_all(&all);
}

#[test]
fn every_kernel_has_variants_and_names_resolve() {
    let all = harness::kernels();
    for k in &all {
        assert!(!harness::variants(*k, Size::Test).is_empty(), "{k}");
    }
    let pick = |n: &str| harness::select(&[n.to_string()]).unwrap();
    assert_eq!(pick("forward_rows").len(), 1);
    assert_eq!(pick("tutorial/forward_rows"), pick("forward_rows"));
    assert_eq!(
        pick("tutorial").len(),
        popdecode::gpu::tutorial::kernels::KERNELS.len()
    );
    assert_eq!(pick("general").len(), general::names().len());
    assert_eq!(pick("general/update"), pick("update"));
    assert!(harness::select(&["no_such_kernel".to_string()]).is_err());
    assert_eq!(harness::select(&[]).unwrap(), all);
}

#[test]
fn tutorial_forward_partial() {
    check(&["tutorial/forward_partial"]);
}

#[test]
fn tutorial_forward_gemm() {
    check(&["tutorial/forward_gemm"]);
}

#[test]
fn tutorial_forward_rows() {
    check(&["tutorial/forward_rows"]);
}

#[test]
fn tutorial_small_grad_and_record_losses() {
    check(&["tutorial/small_grad", "tutorial/record_losses"]);
}

#[test]
fn tutorial_input_grad() {
    check(&["tutorial/input_grad"]);
}

#[test]
fn tutorial_input_grad_gemm() {
    check(&["tutorial/input_grad_gemm"]);
}

#[test]
fn general_penalty() {
    check(&["general/penalty_partial", "general/penalty_final"]);
}

#[test]
fn general_forward() {
    check(&["general/forward_first", "general/forward_dense"]);
}

#[test]
fn general_loss() {
    check(&["general/loss"]);
}

#[test]
fn general_backward() {
    check(&[
        "general/backward_delta",
        "general/grad_first",
        "general/grad_dense",
    ]);
}

#[test]
fn general_update() {
    check(&["general/update"]);
}

/// Every optimizer the registry holds is among update's variants, with nothing added for it here.
#[test]
fn update_covers_every_registered_optimizer() {
    let k = harness::select(&["general/update".to_string()]).unwrap()[0];
    let checked: Vec<&'static str> = harness::variants(k, Size::Test)
        .iter()
        .filter_map(|v| match v {
            Variant::General(g) => g.setup.optimizer.as_ref().map(|o| o.name()),
            _ => None,
        })
        .collect();
    for (name, _) in popdecode::optim::catalogue() {
        assert!(checked.contains(&name), "{name} is not checked");
    }
}

/// The check can fail: a wrong reference, and a kernel given a wrong constant, are both reported.
#[test]
fn the_check_fails_on_a_wrong_reference_or_a_wrong_constant() {
    let gpu = gpu();
    let k = KernelId {
        path: "tutorial",
        name: "forward_rows",
    };
    let v = harness::variants(k, Size::Test).remove(0);
    let mut case = harness::build(&gpu, k, &v).unwrap();
    assert!(case.check().unwrap().iter().all(|c| c.passed()));
    // One output of one row off by 1% of the tensor's size.
    let out = case.reference_mut("out").unwrap();
    let norm = out.iter().map(|x| x * x).sum::<f64>().sqrt();
    out[3] += 0.01 * norm;
    let failed: Vec<String> = case
        .check()
        .unwrap()
        .into_iter()
        .filter(|c| !c.passed())
        .map(|c| c.name)
        .collect();
    assert_eq!(failed, ["out"]);

    // N_TRAIN one short on the GPU: delta's scale and its last training row are wrong.
    let Variant::Tutorial(t) = v else {
        unreachable!("a tutorial kernel")
    };
    let tampered = tutorial::Variant {
        setup: tutorial::Setup {
            tamper: vec![("N_TRAIN", (t.setup.shape.n_train - 1) as f64)],
            ..t.setup.clone()
        },
        ..t
    };
    let report = harness::run(&gpu, k, &Variant::Tutorial(tampered), None).unwrap();
    assert!(!report.passed());
    let delta = report
        .comparisons
        .iter()
        .find(|c| c.name == "delta")
        .unwrap();
    assert!(!delta.passed(), "{delta}");
}

/// The same on the general path: a kernel given the identity for ReLU writes deltas its reference masks.
#[test]
fn a_general_kernel_with_a_wrong_constant_fails() {
    let gpu = gpu();
    let k = harness::select(&["general/backward_delta".to_string()]).unwrap()[0];
    let Variant::General(v) = harness::variants(k, Size::Test).remove(0) else {
        unreachable!("a general kernel")
    };
    assert!(v.setup.relu);
    let tampered = general::Variant {
        setup: general::Setup {
            tamper: vec![("RELU", 0.0)],
            ..v.setup.clone()
        },
        ..v
    };
    let report = harness::run(&gpu, k, &Variant::General(tampered), None).unwrap();
    assert!(!report.passed());
}
