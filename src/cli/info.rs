//! `popdecode info`: the GPU adapters wgpu finds.

use std::process::ExitCode;

use anyhow::Result;

use popdecode::gpu::list_adapters;

pub fn run() -> Result<ExitCode> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        println!(
            "no GPU adapters found. A software Vulkan adapter is one command away on Debian/Ubuntu: \
             apt-get install -y mesa-vulkan-drivers"
        );
        return Ok(ExitCode::FAILURE);
    }
    for (i, a) in adapters.iter().enumerate() {
        println!(
            "{i}: {}{}",
            a.name,
            if i == 0 { "  (preferred)" } else { "" }
        );
        println!("   backend {:?}, type {:?}", a.backend, a.device_type);
        println!("   driver {} {}", a.driver, a.driver_info);
        println!(
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
