//! `popdecode info`: the fast CPU backend (threads and SIMD) and the GPU adapters wgpu finds.

use std::process::ExitCode;

use anyhow::Result;

use popdecode::backend::Backend;
use popdecode::cpu::CpuBackend;
use popdecode::gpu::list_adapters;

pub fn run() -> Result<ExitCode> {
    let cpu = CpuBackend::new();
    crate::say!("cpu: {}", cpu.describe());
    crate::say!(
        "   {} threads (RAYON_NUM_THREADS sets them), SIMD {} (POPDECODE_CPU_ISA=avx2|baseline asks for less)",
        CpuBackend::threads(),
        cpu.isa().name()
    );
    let adapters = list_adapters();
    if adapters.is_empty() {
        crate::say!(
            "no GPU adapters found (the CPU backend runs everything). A software Vulkan adapter is one command \
             away on Debian/Ubuntu: apt-get install -y mesa-vulkan-drivers"
        );
        return Ok(ExitCode::SUCCESS);
    }
    for (i, a) in adapters.iter().enumerate() {
        crate::say!(
            "{i}: {}{}",
            a.name,
            if i == 0 { "  (preferred)" } else { "" }
        );
        crate::say!("   backend {:?}, type {:?}", a.backend, a.device_type);
        crate::say!("   driver {} {}", a.driver, a.driver_info);
        crate::say!(
            "   max storage binding {} MiB, max buffer {} MiB, workgroup up to {} invocations, \
             {} workgroups per dimension, timestamp queries: {}",
            a.max_storage_buffer_binding_size >> 20,
            a.max_buffer_size >> 20,
            a.max_compute_invocations_per_workgroup,
            a.max_compute_workgroups_per_dimension,
            if a.timestamp_queries { "yes" } else { "no" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
