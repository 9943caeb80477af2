//! The command line, in ripgrep's manner: clap parses the arguments into the low-level groups of `args` (one
//! per concern, shared by the commands), each command's file turns them into library values through the
//! library's validating constructors and runs it, and `print` says what happened. `main.rs` only dispatches.

pub mod args;
pub mod baseline;
pub mod bench;
pub mod check;
pub mod info;
pub mod logging;
pub mod plot;
pub mod print;
pub mod synth;
pub mod train;

use clap::{Parser, Subcommand};

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
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
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
    /// Redraw the figures of a run folder (train --out DIR) from its files.
    Plot(plot::PlotArgs),
}
