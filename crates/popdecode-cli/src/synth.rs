//! `popdecode synth`: the synthetic stand-in, written in the real file's format, or its single trials.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use popdecode::Error;
use popdecode::data::npz::NpzOut;
use popdecode::data::synth;

use super::args::{check_output_path, synth_config};

#[derive(Args)]
pub struct SynthArgs {
    /// Neurons (columns of `resp`).
    #[arg(long, value_name = "N", default_value_t = 23589, help_heading = "Data")]
    pub neurons: usize,
    /// Stimuli: bins of 360 / S degrees (with --trials: the bins every one of which gets a trial).
    #[arg(long, value_name = "S", default_value_t = 360, help_heading = "Data")]
    pub stimuli: usize,
    /// Seed of the synthetic data: the same seed gives the same file, and train --data-seed the same data.
    #[arg(long, value_name = "SEED", default_value_t = 0, help_heading = "Data")]
    pub data_seed: u64,
    /// Write T single trials instead of the binned matrix: `resp` T x neurons (each neuron z-scored across the
    /// trials), `stimuli` each trial's direction in degrees. 4598 gives the trials the binned stand-in averages.
    #[arg(long, value_name = "T", help_heading = "Data")]
    pub trials: Option<usize>,
    /// The .npz file to write (keys `resp` and `stimuli`, float32; a file of that name is replaced). synth's
    /// output is one file, so its --out names that file; the commands that leave a run folder (train, evaluate,
    /// baseline) take --out DIR.
    #[arg(long, value_name = "FILE.npz", help_heading = "Output")]
    pub out: PathBuf,
}

pub fn run(args: SynthArgs) -> Result<ExitCode> {
    check_output_path("--out", &args.out)?;
    let cfg = synth_config(args.neurons, args.stimuli, args.data_seed)?;
    let (data, rows) = match args.trials {
        None => (synth::generate(&cfg), "stimuli"),
        Some(trials) => {
            if trials < cfg.stimuli {
                return Err(Error::bad_argument(
                    "--trials",
                    format!(
                        "expected at least one trial for each of the {} bins (--stimuli), got {trials}",
                        cfg.stimuli
                    ),
                )
                .into());
            }
            (synth::generate_trials(&cfg, trials), "trials")
        }
    };
    let (n_rows, neurons) = (data.n_stimuli(), data.neurons());
    NpzOut::new()
        .f32("resp", &[n_rows, neurons], data.resp.data)
        .f32("stimuli", &[n_rows], data.stimuli)
        .write(&args.out)?;
    crate::say!(
        "wrote {}: resp ({n_rows} {rows} x {neurons} neurons), stimuli (degrees{}), float32",
        args.out.display(),
        if args.trials.is_some() {
            ", one a trial"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}
