//! The conformance suite (tests/common/conformance.rs) on the f64 reference itself: against itself its
//! comparisons are exact, so what this run checks is that the reference reproduces PyTorch's own runs, and that the
//! stack cases hold of the definition itself (`one_by_one`, exactly).

mod common;

popdecode_conformance!(popdecode::reference::ReferenceBackend, alone: 0.0);
