//! The conformance suite (tests/common/conformance.rs) on the fast CPU backend, as `--backend cpu` gets it.

mod common;

popdecode_conformance!(popdecode::cpu::CpuBackend::new());
