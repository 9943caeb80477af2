//! `popdecode collect OUT PART...`: merges the partial folders of a sharded cv or sweep (`--shard I/N`) into
//! the folder one unsharded run writes (`sweep::collect` checks and merges them; this writes the folder).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use popdecode::Error;
use popdecode::run::folder::RunFolder;
use popdecode::sweep::collect::{Collected, collect};
use popdecode::sweep::folder;

use super::args::FormatArg;

#[derive(Args)]
pub struct CollectArgs {
    /// The folder to write: new or empty, as --out.
    #[arg(value_name = "OUT")]
    pub out: PathBuf,
    /// The partial folders, one per shard, in any order.
    #[arg(value_name = "PART", required = true)]
    pub parts: Vec<PathBuf>,
    #[command(flatten)]
    pub figures: FormatArg,
}

pub fn run(args: CollectArgs) -> Result<ExitCode> {
    let launched = Instant::now();
    popdecode::run::folder::check_available(&args.out)?;
    // A part the library refuses is one of the PART arguments.
    let Collected {
        mut summary,
        results,
        shards,
    } = collect(&args.parts).map_err(|e| match e {
        Error::BadPart { .. } | Error::MissingShards(_) => {
            Error::bad_argument("PART", e.to_string())
        }
        e => e,
    })?;
    summary.command = std::env::args().collect();
    summary.created_utc = popdecode::run::folder::iso_utc(std::time::SystemTime::now());
    summary.timings.wall_s = launched.elapsed().as_secs_f64();
    let out = RunFolder::claim(Some(&args.out))?;
    let (dir, summary) = folder::write(out, &results, summary, args.figures.formats, true)?;
    for line in super::print::sweep_table(&results) {
        crate::say!("{line}");
    }
    crate::say!(
        "run: {} ({} shards, {} networks; {} files)",
        dir.display(),
        shards,
        results.networks.len(),
        summary.files.len()
    );
    Ok(ExitCode::SUCCESS)
}
