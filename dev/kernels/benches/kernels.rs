//! `cargo bench --bench kernels -- [NAME ...] [--test | --full] [--budget-ms MS] [--verbose]`: every variant of
//! the named kernels (a kernel, "tutorial/forward_rows", or a path, "general"; all of them without names) run
//! alone on seeded random inputs, checked against its own CPU reference (worst relative error against its
//! tolerance), then timed (ms per launch: GPU timestamps where the adapter has them, else wall-clock).
//!
//! Sizes: the default is 216 + 144 rows x 4,000 neurons (under a minute on lavapipe); `--full` the tutorial's
//! 216 + 144 rows x 23,589 neurons; `--test` the tests' small edge shapes. `POPDECODE_KERNELS_SIZE`
//! (test, bench, full) sets it too, and `POPDECODE_TEST_ADAPTER` picks an adapter by name.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use popdecode::gpu::Gpu;
use popdecode_kernels::{self as harness, Clock, Size};

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo bench --bench kernels -- [NAME ...] [--test | --full] [--budget-ms MS] [--verbose]\n\
         kernels: {}",
        harness::kernels()
            .iter()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut names = Vec::new();
    let mut size = match std::env::var("POPDECODE_KERNELS_SIZE").as_deref() {
        Ok("test") => Size::Test,
        Ok("full") => Size::Full,
        _ => Size::Bench,
    };
    let mut budget = Duration::from_millis(300);
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            "--full" => size = Size::Full,
            "--test" => size = Size::Test,
            "--verbose" | "-v" => verbose = true,
            "--budget-ms" => match args.next().and_then(|v| v.parse().ok()) {
                Some(ms) => budget = Duration::from_millis(ms),
                None => return usage(),
            },
            "--help" | "-h" => return usage(),
            s if s.starts_with('-') => return usage(),
            s => names.push(s.to_string()),
        }
    }
    let kernels = match harness::select(&names) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{e}");
            return usage();
        }
    };
    let wanted = std::env::var("POPDECODE_TEST_ADAPTER").ok();
    let gpu = match Gpu::open(wanted.as_deref()) {
        Ok(gpu) => gpu,
        Err(e) => {
            eprintln!(
                "no GPU adapter: {e}\nOn Debian/Ubuntu: apt-get install -y mesa-vulkan-drivers"
            );
            return ExitCode::FAILURE;
        }
    };
    println!(
        "adapter: {}; size: {size:?}; timing: {}",
        gpu.adapter.label(),
        if gpu.timestamps {
            "GPU timestamps"
        } else {
            "wall-clock (no timestamp queries)"
        }
    );
    println!(
        "{:<28} {:<58} {:>4}  {:>9} {:>7}  {:>10}",
        "kernel", "variant", "disp", "worst err", "tol", "ms/launch"
    );
    let start = Instant::now();
    let mut failed = 0;
    for k in kernels {
        for v in harness::variants(k, size) {
            match harness::run(&gpu, k, &v, Some(budget)) {
                Ok(r) => {
                    let (err, tol) = r.worst().unwrap_or((0.0, 0.0));
                    let time = r
                        .timing
                        .map(|t| {
                            format!(
                                "{:>10.4}{}",
                                t.ms,
                                if t.clock == Clock::WallClock {
                                    " (wall)"
                                } else {
                                    ""
                                }
                            )
                        })
                        .unwrap_or_default();
                    println!(
                        "{:<28} {:<58} {:>4}  {:>9.2e} {:>7.0e}  {time}  {}",
                        r.kernel,
                        r.variant,
                        r.dispatches,
                        err,
                        tol,
                        if r.passed() { "ok" } else { "FAIL" }
                    );
                    if verbose || !r.passed() {
                        for c in &r.comparisons {
                            println!("    {c}");
                        }
                    }
                    if !r.passed() {
                        failed += 1;
                    }
                }
                Err(e) => {
                    println!("{k:<28} {:<58} error: {e}", v.name());
                    failed += 1;
                }
            }
        }
    }
    println!("{:.1} s", start.elapsed().as_secs_f64());
    if failed > 0 {
        println!("{failed} variant(s) failed");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
