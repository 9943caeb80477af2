//! The `popdecode` command line, a thin client of the `popdecode` library: `cli` is its grammar, `args` the flag
//! groups the commands share, one module per command turns its flags into library calls, `print` and `progress`
//! say what happened, `stop` turns signals into the library's stop flag and exit codes. `main` only dispatches.

mod args;
mod baseline;
mod bench;
mod check;
mod cli;
mod collect;
mod evaluate;
mod info;
mod logging;
mod plot;
mod print;
mod progress;
mod stop;
mod sweep;
mod synth;
mod train;

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
    logging::init(cli.verbose);
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Check(args) => check::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Info => info::run(),
        Command::Synth(args) => synth::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Baseline(args) => baseline::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Cv(args) => sweep::run_cv(args),
        Command::Sweep(args) => sweep::run_sweep(args),
        Command::Collect(args) => collect::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", print::error_message(&e));
            ExitCode::FAILURE
        }
    }
}
