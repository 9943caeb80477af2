//! `cargo bench`: one training epoch of the tutorial's network (M = 10) on the full synthetic shape, per
//! backend, timed as `popdecode bench` times it (the median of repeated runs after a warm-up). A plain harness:
//! the figure of interest is milliseconds per epoch, which `popdecode bench` reports in full.

use popdecode::bench::{BenchPlan, bench};
use popdecode::cpu::CpuBackend;
use popdecode::data::problem::Problem;
use popdecode::data::split::Split;
use popdecode::data::synth::{SynthConfig, generate};
use popdecode::gpu::GpuBackend;
use popdecode::reference::ReferenceBackend;

fn main() {
    let data = generate(&SynthConfig::default());
    let split = Split::shuffled(data.n_stimuli(), 0.6, 4).expect("split");
    let problem = Problem::new(&data, &split);
    let plan = |epochs| BenchPlan::tutorial(10, epochs, 3);
    match GpuBackend::open(None) {
        Ok(mut gpu) => match bench(&mut gpu, "gpu", &problem, &plan(20)) {
            Ok(row) => println!("epoch/gpu ({}): {:.3} ms", row.adapter, row.ms_per_epoch),
            Err(e) => println!("epoch/gpu: failed: {e}"),
        },
        Err(e) => println!("epoch/gpu: no adapter ({e})"),
    }
    match bench(&mut CpuBackend::new(), "cpu", &problem, &plan(20)) {
        Ok(row) => println!("epoch/cpu ({}): {:.3} ms", row.adapter, row.ms_per_epoch),
        Err(e) => println!("epoch/cpu: failed: {e}"),
    }
    match bench(&mut ReferenceBackend, "reference", &problem, &plan(2)) {
        Ok(row) => println!(
            "epoch/reference ({}): {:.3} ms",
            row.adapter, row.ms_per_epoch
        ),
        Err(e) => println!("epoch/reference: failed: {e}"),
    }
}
