//! The backend suite (tests/common/conformance.rs, with the stack cases of tests/common/stacks.rs) on the GPU with
//! its general path forced (`GpuBackend::force_general`): every network, the tutorial's included, on the general
//! kernels (shaders/general/), and every stack one by one on them. What only the general path has (its register
//! tilings, column panels, the limits it refuses at) is in crates/popdecode-cli/tests/gpu_general.rs.

mod common;

popdecode_conformance!(
    {
        let mut gpu = common::gpu();
        gpu.force_general = true;
        gpu
    },
    alone: popdecode::compare::tolerance::LOSS
);
