//! The conformance suite (tests/common/conformance.rs) on the GPU backend, as `--backend gpu` gets it: the
//! tutorial's case on its tuned kernels, everything else on the general ones.

mod common;

popdecode_conformance!(common::gpu());
