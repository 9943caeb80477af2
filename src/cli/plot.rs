//! `popdecode plot`: redraws a run folder's figures from its files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct PlotArgs {
    /// The run folder: it holds summary.json, history.csv, predictions.csv, weights.npz and tuning.npz.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

pub fn run(args: PlotArgs) -> Result<ExitCode> {
    for path in popdecode::run::figures::redraw(&args.dir)? {
        popdecode::say!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
