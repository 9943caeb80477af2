//! The per-kernel harness as a test: every kernel of both GPU paths, each variant, alone on small random shapes,
//! against its own CPU reference (correctness only; `cargo bench --bench kernels` times them). Runs on whatever
//! adapter opens (lavapipe in CI) and fails, saying how to get one, where none does.

mod common;

use popdecode::compare::{Comparison, assert_all};
use popdecode::gpu::Gpu;
use popdecode::gpu::harness::{self, KernelId, Size, Variant, tutorial};

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
    let Variant::Tutorial(t) = v;
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
