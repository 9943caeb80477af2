//! The command line's entry point: parses, starts logging, runs the command (`src/cli/`), reports an error.

mod cli;

use std::process::ExitCode;

use cli::Command;

fn main() -> ExitCode {
    // Mesa's Vulkan device-select layer probes for a display and prints an alarming error on headless
    // machines; we choose adapters ourselves. A user's own setting wins.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: nothing else runs yet; no thread can be reading the environment.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    let cli = cli::parse();
    cli::logging::init(cli.verbose);
    let result = match cli.command {
        Command::Train(args) => cli::train::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Evaluate(args) => cli::evaluate::run(args),
        Command::Info => cli::info::run(),
        Command::Synth(args) => cli::synth::run(args),
        Command::Bench(args) => cli::bench::run(args),
        Command::Baseline(args) => cli::baseline::run(args),
        Command::Plot(args) => cli::plot::run(args),
        Command::Cv(args) => cli::sweep::run_cv(args),
        Command::Sweep(args) => cli::sweep::run_sweep(args),
        Command::Collect(args) => cli::collect::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
