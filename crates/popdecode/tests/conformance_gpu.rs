//! The conformance suite (tests/common/conformance.rs) on the GPU backend, as `--backend gpu` gets it: the
//! tutorial's case on its tuned kernels, everything else on the general ones, and stacks on the stacked kernels,
//! held to `tolerance::LOSS` against its own single runs (another fixed order of f32 sums: split-K over columns).

mod common;

popdecode_conformance!(common::gpu(), alone: popdecode::compare::tolerance::LOSS);
