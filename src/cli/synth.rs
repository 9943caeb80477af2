//! `popdecode synth`: the synthetic stand-in, written in the real file's format.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use popdecode::data::npz::NpzOut;
use popdecode::data::synth;

use super::args::{check_output_path, synth_config};

#[derive(Args)]
pub struct SynthArgs {
    /// Where to write the .npz (keys `resp` and `stimuli`, float32).
    #[arg(long, value_name = "FILE.npz")]
    pub out: PathBuf,
    #[arg(long, value_name = "N", default_value_t = 23589)]
    pub neurons: usize,
    #[arg(long, value_name = "S", default_value_t = 360)]
    pub stimuli: usize,
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub data_seed: u64,
}

pub fn run(args: SynthArgs) -> Result<ExitCode> {
    check_output_path("--out", &args.out)?;
    let cfg = synth_config(args.neurons, args.stimuli, args.data_seed)?;
    let data = synth::generate(&cfg);
    NpzOut::new()
        .f32("resp", &[data.n_stimuli(), data.neurons()], data.resp.data)
        .f32("stimuli", &[data.stimuli.len()], data.stimuli)
        .write(&args.out)?;
    println!(
        "wrote {}: resp ({} stimuli x {} neurons), stimuli (degrees), float32",
        args.out.display(),
        cfg.stimuli,
        cfg.neurons
    );
    Ok(ExitCode::SUCCESS)
}
