//! `popdecode plot`: redraws a run folder's figures from its files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use popdecode::run::figures::Formats;

#[derive(Args)]
pub struct PlotArgs {
    /// The run folder: it holds summary.json, history.csv, predictions.csv, weights.npz and tuning.npz.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The figures' formats, comma-separated: svg, png, or both (as train's --format).
    #[arg(long, value_name = "svg,png", default_value = "svg,png", value_parser = Formats::parse)]
    pub format: Formats,
}

pub fn run(args: PlotArgs) -> Result<ExitCode> {
    for path in popdecode::run::figures::redraw(&args.dir, args.format)? {
        popdecode::say!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
