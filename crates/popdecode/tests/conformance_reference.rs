//! The conformance suite (tests/common/conformance.rs) on the f64 reference itself: against itself its
//! comparisons are exact, so what this run checks is that the reference reproduces PyTorch's own runs.

mod common;

popdecode_conformance!(popdecode::reference::ReferenceBackend);
