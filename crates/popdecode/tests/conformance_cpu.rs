//! The backend suite (tests/common/conformance.rs, with the stack cases of tests/common/stacks.rs) on the fast CPU
//! backend, as `--backend cpu` gets it. Its stacks (`cpu::stack`) are held to 1e-5 against its own single runs:
//! the same f32 kernels and optimizer arithmetic, sums in another order (1e-7 measured over the cases' 12 epochs).

mod common;

popdecode_conformance!(popdecode::cpu::CpuBackend::new(), alone: 1e-5);
