//! The command line's grammar, in ripgrep's manner: clap parses the arguments into the low-level groups of
//! `args` (one per concern, shared by the commands), each command's module turns them into library values
//! through the library's validating constructors and runs it, and `print` says what happened. `main.rs` only
//! dispatches.

use crate::{args, baseline, bench, check, collect, evaluate, plot, sweep, synth, train};

use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "popdecode",
    version,
    about = "Decode grating orientation from mouse V1 population responses with the Neuromatch tutorial's \
             networks, trained on the GPU (wgpu) and checked against a CPU reference."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log more on stderr: -v popdecode's steps and timings, -vv debug messages, -vvv everything. RUST_LOG, when
    /// set, decides instead.
    #[arg(
        short,
        long,
        action = clap::ArgAction::Count,
        global = true,
        help_heading = "Output",
        display_order = args::LAST + 1
    )]
    pub verbose: u8,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train a decoder: by default the tutorial's (Linear -> ReLU -> Linear, MSE, full-batch gradient descent);
    /// also classifiers, deeper nets, penalties, the circular loss, momentum, Adam and mini-batches. Writes a run
    /// folder with the figures.
    Train(train::TrainArgs),
    /// Compare a backend (the GPU by default, or the fast CPU backend) with the f64 reference: outputs, loss,
    /// every gradient and a short training run.
    Check(check::CheckArgs),
    /// Evaluate saved weights on data without training: the final losses, angular errors (and a classifier's
    /// fraction correct and confusion) on the test rows, and a run folder as train's, with no history.
    Evaluate(evaluate::EvaluateArgs),
    /// List the backends: the fast CPU backend (threads, SIMD) and the GPU adapters wgpu finds, with their
    /// backend, type, driver and limits.
    Info,
    /// Write the synthetic stand-in data set to an .npz file in the real file's format.
    Synth(synth::SynthArgs),
    /// Time training epochs on the tutorial's shape (216 training and 144 test rows, synthetic data) and
    /// report ms per epoch, epochs/s, GFLOP/s and GB/s, with each GPU kernel's own time.
    Bench(bench::BenchArgs),
    /// Fit the closed-form ridge-regression decoder onto (cos, sin) of the direction, its penalty chosen by
    /// cross-validation on the training rows, and print its test angular error beside the network's.
    Baseline(baseline::BaselineArgs),
    /// Redraw the figures of a run folder (train, cv or sweep --out DIR) from its files.
    Plot(plot::PlotArgs),
    /// K-fold cross-validation: every train flag, --folds K networks per repeat (each fold's stimuli held out
    /// once), --repeats R initialisations; mean ± SD over folds x repeats, and the ridge baseline on the same
    /// folds with --baseline. Writes a run folder (networks.csv, cells.csv, histories.csv, figures).
    Cv(sweep::CvArgs),
    /// A grid of varied values (--vary lr=1e-4,1e-3 --vary hidden=10,100 ...) x folds x repeats, networks of one
    /// shape trained together; one row per cell with mean ± SD. Writes a run folder as cv's.
    Sweep(sweep::SweepArgs),
    /// Merge the partial folders of a sharded cv or sweep (--shard I/N) into the folder one run would write.
    Collect(collect::CollectArgs),
}

/// The command line, parsed as `Cli::parse` would, with two rules of its own for every command: a negative
/// number is a value (`--lr -1` reaches `--lr`'s own check instead of being taken for a flag), and a flag that
/// takes a value may be given once (`--hidden 10 --hidden 20` or `--lr 1 --lr 2` is refused, never merged or
/// overridden: several values go comma-separated, `--hidden 10,20`).
pub fn parse() -> Cli {
    let mut cmd = Cli::command().mut_subcommands(|c| c.allow_negative_numbers(true));
    let matches = cmd.get_matches_mut();
    if let Some((name, sub)) = matches.subcommand()
        && let Some(sc) = cmd.find_subcommand_mut(name)
    {
        let repeated = sc
            .get_arguments()
            .filter(|a| matches!(a.get_action(), ArgAction::Set | ArgAction::Append))
            .find(|a| {
                let id = a.get_id().as_str();
                // --vary is the one flag given once per varied parameter.
                id != "vary"
                    && sub.value_source(id) == Some(ValueSource::CommandLine)
                    && sub.get_raw_occurrences(id).is_some_and(|o| o.count() > 1)
            })
            .map(|a| a.to_string());
        if let Some(arg) = repeated {
            sc.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "the argument '{arg}' cannot be used multiple times (several values go comma-separated, \
                     where the flag takes several)"
                ),
            )
            .exit();
        }
    }
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// The command line's flag for a value the library names (`popdecode::Error::Invalid`'s `name`: `batch_size` is
/// `--batch-size`), where some command has that flag; found in the grammar itself, so it cannot go stale.
pub fn flag_for(name: &str) -> Option<String> {
    let long = name.replace('_', "-");
    Cli::command()
        .get_subcommands()
        .flat_map(|c| c.get_arguments())
        .any(|a| a.get_long() == Some(long.as_str()))
        .then(|| format!("--{long}"))
}
