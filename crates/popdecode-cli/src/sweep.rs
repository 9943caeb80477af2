//! `popdecode cv` and `popdecode sweep`: many networks — K-fold cross-validation with R initialisations per
//! fold, over a grid of varied values — trained in stacks of same-shape networks (`Backend::train_stack`),
//! summarised cell by cell, and left in a run folder (`sweep::folder`). `--shard I/N` runs one slice of the
//! networks into a partial folder; `popdecode collect` (collect.rs) merges the slices.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use popdecode::Error;
use popdecode::data::Dataset;
use popdecode::optim::HyperParameters;
use popdecode::run::folder::RunFolder;
use popdecode::sweep::grid::{Base, Cell, Grid, GridProgress, GridRun};
use popdecode::sweep::plan::{self, Param, Planned, Shard, Value, Vary};
use popdecode::sweep::results::{NetworkResult, Prediction, SweepResults, Varied};
use popdecode::sweep::summary::{
    FoldRule, ShardInfo, SweepData, SweepSummary, SweepTimings, VariedInfo, cells_json,
};

use super::args::{
    BackendArgs, BackendName, DataArgs, Loaded, ModelArgs, OptimArgs, RunArgs, Task, flag_name,
    shown,
};
use super::print::{count, describe_training};

/// The flags `cv` and `sweep` share: every train flag but the single run's outputs, and the folds, repeats,
/// baseline and shard.
#[derive(Args)]
#[command(mut_arg(
    "backend",
    BackendArgs::values(BackendArgs::TRAINING_HELP, BackendName::Auto, BackendArgs::TRAINING,)
))]
pub struct GridArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Passes over the training rows.
    #[arg(long, default_value_t = 50, help_heading = "Training")]
    pub epochs: usize,
    #[command(flatten)]
    pub optim: OptimArgs,
    #[command(flatten)]
    pub on: BackendArgs,
    /// K-fold cross-validation over the stimuli: a seeded permutation (--seed) cut into K contiguous folds, each
    /// the test rows of one network per repeat. Without it a sweep trains on the one split --seed and
    /// --train-fraction (or --split) give.
    #[arg(long, value_name = "K", help_heading = "Cross-validation")]
    pub folds: Option<usize>,
    /// Initialisations per fold: repeat r draws its weights from --init-seed + r (and, with `neurons` varied,
    /// its neuron subsets from --seed + r).
    #[arg(
        long,
        value_name = "R",
        default_value_t = 1,
        help_heading = "Cross-validation"
    )]
    pub repeats: usize,
    /// Also fit the ridge decoder (popdecode baseline) on each fold's training rows and neurons, and report it
    /// beside the network.
    #[arg(long, help_heading = "Cross-validation")]
    pub baseline: bool,
    /// Run only the I-th of N slices of the networks (those numbered I - 1 modulo N) into a partial folder,
    /// for `popdecode collect` to merge (a cluster's job array: --shard $SLURM_ARRAY_TASK_ID/N).
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, help_heading = "Cross-validation")]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args)]
#[command(mut_arg("folds", |a| a.required(true)))]
pub struct CvArgs {
    #[command(flatten)]
    pub grid: GridArgs,
}

#[derive(Args)]
pub struct SweepArgs {
    /// A parameter to vary and its values: lr, hidden (widths; deeper nets as 200:100), l1, l2, momentum,
    /// bin-width, neurons (each network its own random subset of that many). Repeat --vary for a grid.
    #[arg(
        long,
        value_name = "NAME=V1,V2,...",
        required = true,
        help_heading = "Sweep"
    )]
    pub vary: Vec<String>,
    #[command(flatten)]
    pub grid: GridArgs,
}

pub fn run_cv(args: CvArgs) -> Result<ExitCode> {
    run_grid(args.grid, Vec::new(), "cv")
}

pub fn run_sweep(args: SweepArgs) -> Result<ExitCode> {
    let mut varies: Vec<Vary> = Vec::new();
    for text in &args.vary {
        let v = Vary::parse(text)?;
        if varies.iter().any(|o| o.param == v.param) {
            return Err(Error::bad_argument(
                "--vary",
                format!(
                    "{} is varied twice: list all its values in one --vary {}=V1,V2,...",
                    v.param.name(),
                    v.param.name()
                ),
            )
            .into());
        }
        varies.push(v);
    }
    run_grid(args.grid, varies, "sweep")
}

/// The most repeats: far more than any error bar needs.
const MAX_REPEATS: usize = 10_000;
fn run_grid(args: GridArgs, varies: Vec<Vary>, kind: &str) -> Result<ExitCode> {
    let launched = Instant::now();
    if let Some(path) = &args.model.init {
        return Err(Error::bad_argument(
            "--init",
            format!(
                "{}: {kind} draws each network's initial weights from --init-seed + its repeat, so it takes no \
                 weight file",
                path.display()
            ),
        )
        .into());
    }
    if let (Some(path), Some(_)) = (&args.data.split, args.folds) {
        return Err(Error::bad_argument(
            "--split",
            format!(
                "{}: --folds cuts its own folds from all stimuli; give one or the other",
                path.display()
            ),
        )
        .into());
    }
    if !(1..=MAX_REPEATS).contains(&args.repeats) {
        return Err(Error::bad_argument(
            "--repeats",
            format!("expected 1 to {MAX_REPEATS} repeats, got {}", args.repeats),
        )
        .into());
    }
    super::train::check_history_fits(args.epochs)?;
    let task = args.model.task();
    let base_config = args.optim.config(args.epochs, task)?;
    args.data.check_memory(&args.model, &base_config)?;
    if let Some(out) = &args.run.out {
        popdecode::run::folder::check_available(out)?;
    }
    let (raw, origin, md5) = args.data.raw()?;
    let base = Base {
        spec: args.model.spec(raw.neurons())?,
        config: base_config,
        optimizer: args.optim.optimizer.clone(),
        hyper: HyperParameters {
            momentum: None,
            weight_decay: args.optim.weight_decay,
        },
    };

    // The data at each bin width, and each varied value checked alone, so that an error names it.
    let bin_widths: Vec<f64> = match varies.iter().find(|v| v.param == Param::BinWidth) {
        Some(v) => v.values.iter().map(Value::number).collect(),
        None => vec![args.data.bin_width],
    };
    let mut loaded: Vec<Loaded> = Vec::new();
    for &w in &bin_widths {
        let l = args
            .data
            .bin_and_split(&raw, &origin, w)
            .map_err(|e| vary_error(Param::BinWidth, &Value::Number(w), e, &varies))?;
        loaded.push(l);
    }
    for v in &varies {
        for value in &v.values {
            let defaults: Vec<Option<&Value>> = varies
                .iter()
                .map(|o| (o.param == v.param).then_some(value))
                .collect();
            cell_setup(&base, &varies, &defaults, &raw).map_err(|e| {
                // A refusal of the value itself is already about --vary; any other names the train flag.
                let why = match e {
                    Error::Invalid { name, what } if name == "vary" => what,
                    e => crate::print::library_error(&e),
                };
                Error::bad_argument(
                    "--vary",
                    format!("{}={}: {why}", v.param.name(), value.label()),
                )
            })?;
        }
    }
    let grid = plan::cells(&varies);
    let cells: Vec<Cell> = grid
        .iter()
        .map(|c| {
            let values: Vec<Option<&Value>> = varies
                .iter()
                .zip(c)
                .map(|(v, &i)| Some(&v.values[i]))
                .collect();
            cell_setup(&base, &varies, &values, &raw)
        })
        .collect::<Result<_, Error>>()?;

    let fold_sets: Vec<Vec<(Vec<usize>, Vec<usize>)>> = loaded
        .iter()
        .map(|l| match args.folds {
            Some(k) => plan::folds(l.data.n_stimuli(), k, args.data.seed),
            None => Ok(vec![(l.split.train.clone(), l.split.test.clone())]),
        })
        .collect::<Result<_, Error>>()?;
    let n_folds = args.folds.unwrap_or(1);
    let planned = plan::networks(grid.len(), n_folds, args.repeats)?;
    let mine: Vec<Planned> = planned
        .iter()
        .copied()
        .filter(|p| args.shard.is_none_or(|s| s.holds(p.network)))
        .collect();

    check_results_fit(mine.len(), args.epochs, raw.n_stimuli())?;
    let datasets: Vec<&Dataset> = loaded.iter().map(|l| &l.data).collect();
    let work = Grid {
        datasets: &datasets,
        folds: &fold_sets,
        cells: &cells,
        networks: &mine,
        init_seed: args.model.init_seed,
        neuron_seed: args.data.seed,
        baseline: args.baseline,
    };
    // The first network opens the backend (and the first stack starts with it).
    let first = mine.first().copied();
    let folder_needed = first.is_some();
    // --quiet drops the progress lines, --json everything but the summary.
    let quiet = args.run.quiet || args.run.json;
    let json = args.run.json;
    let say = |line: std::fmt::Arguments| {
        if !json {
            crate::say!("{line}");
        }
    };
    // With folds, the split the data flags would draw is not used: say how the stimuli are cut instead.
    let described = match args.folds {
        Some(k) => {
            let rows = loaded[0].data.n_stimuli();
            let (lo, hi) = (rows / k, rows.div_ceil(k));
            format!(
                "{} neurons in response to {rows} stimuli ({origin}); {k} folds of {} test stimuli (seed {})",
                raw.neurons(),
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                },
                args.data.seed
            )
        }
        None => loaded[0].described.clone(),
    };
    say(format_args!("data: {described}"));
    let first_cell = &cells[0];
    let varied_names: Vec<&str> = varies.iter().map(|v| v.param.name()).collect();
    let mut network = first_cell.spec.architecture();
    if first_cell.subset.is_some() {
        // The first cell's input width is one of the varied values, not every network's.
        network = network.replacen(
            &format!("Linear({},", first_cell.spec.neurons),
            "Linear(neurons,",
            1,
        );
    }
    say(format_args!(
        "networks: {} ({network}); {}, {}{}",
        describe_grid(&varies, &grid, n_folds, args.repeats, planned.len()),
        describe_training(&first_cell.config, fold_sets[0][0].0.len()),
        count(args.epochs, "epoch"),
        if varies.is_empty() {
            String::new()
        } else {
            format!(
                "; varied: {} (the first cell's shown)",
                varied_names.join(", ")
            )
        }
    ));
    if let Some(s) = args.shard {
        say(format_args!(
            "shard {}/{}: {} of the {} networks (those numbered {} modulo {})",
            s.index,
            s.count,
            mine.len(),
            planned.len(),
            s.index - 1,
            s.count
        ));
    }
    if !folder_needed {
        return Err(Error::bad_argument(
            "--shard",
            format!(
                "shard {} holds none of the {} networks",
                shard_label(args.shard),
                planned.len()
            ),
        )
        .into());
    }
    let first = first.expect("checked");
    let mut backend = {
        let problem = work.problem(&first);
        let c = &cells[first.cell];
        args.on.open_for((&problem, &c.spec, &c.config))?
    };
    say(format_args!("backend: {}", backend.describe()));
    let stop = crate::stop::install()?;
    let folder = RunFolder::claim(args.run.out.as_deref())?;

    // Train, stack after stack, then the baseline.
    let mut last = Instant::now();
    let mut progress = |p: GridProgress| {
        if !quiet && (p.stack_done || last.elapsed().as_secs_f64() > 2.0) {
            last = Instant::now();
            eprintln!(
                "stack {}/{}: networks {}-{} of {}, epoch {}/{}",
                p.stack + 1,
                p.stacks,
                p.first + 1,
                p.first + p.training,
                p.total,
                p.epoch,
                p.epochs
            );
        }
    };
    let GridRun {
        networks,
        histories,
        predictions,
        stacks: stack_info,
        interrupted,
        train_time,
    } = work.train(backend.as_mut(), &mut progress, Some(stop))?;
    let train_s = train_time.as_secs_f64();
    let total = mine.len();

    let varied: Vec<Varied> = varies
        .iter()
        .map(|v| {
            let numbers: Vec<f64> = v.values.iter().map(Value::number).collect();
            Varied {
                name: v.param.name().to_string(),
                values: v.values.iter().map(Value::label).collect(),
                log: plan::log_spaced(&numbers),
                numbers,
            }
        })
        .collect();
    let results = SweepResults {
        cells: SweepResults::cells_of(&networks, &grid),
        varied,
        folds: n_folds,
        repeats: args.repeats,
        classifier: task == Task::Classify,
        baseline: args.baseline,
        loss: first_cell.spec.objective.name().to_string(),
        networks,
        histories,
        predictions,
    };
    let diverged = results
        .networks
        .iter()
        .filter(|n| n.status == "diverged")
        .count();
    let summary = SweepSummary {
        popdecode_version: env!("CARGO_PKG_VERSION").to_string(),
        kind: kind.to_string(),
        created_utc: popdecode::run::folder::iso_utc(std::time::SystemTime::now()),
        status: if interrupted { "interrupted" } else { "complete" }.to_string(),
        run_folder: String::new(),
        command: std::env::args().collect(),
        config: configuration(&args, &varies),
        data: SweepData {
            description: described.clone(),
            md5,
            neurons: raw.neurons(),
            stimuli: loaded[0].data.n_stimuli(),
        },
        folds: FoldRule {
            count: args.folds,
            seed: args.data.seed,
            rule: match args.folds {
                Some(_) => "torch.manual_seed(seed); perm = torch.randperm(stimuli); K contiguous folds of perm, \
                            the first stimuli % K one longer; fold f tests on piece f and trains on the rest"
                    .to_string(),
                None => "one split: the first int(train_fraction * stimuli) of torch.randperm(stimuli) after \
                         torch.manual_seed(seed) train, the rest test (or --split)"
                    .to_string(),
            },
        },
        repeats: args.repeats,
        varied: results.varied.iter().map(VariedInfo::of).collect(),
        cell_values: grid.clone(),
        networks: planned.len(),
        trained: results.networks.len(),
        diverged,
        shard: args.shard.map(|s| ShardInfo {
            index: s.index,
            count: s.count,
        }),
        classifier: results.classifier,
        baseline: args.baseline,
        loss: results.loss.clone(),
        backend: backend.name().to_string(),
        adapter: backend.describe(),
        stacks: stack_info,
        timings: SweepTimings {
            train_s,
            wall_s: 0.0,
        },
        cells: cells_json(&results),
        files: Vec::new(),
    };
    let mut summary = summary;
    summary.timings.wall_s = launched.elapsed().as_secs_f64();
    let (dir, summary) = popdecode::sweep::folder::write(
        folder,
        &results,
        summary,
        args.run.figures.formats,
        args.shard.is_none(),
    )?;

    if !json {
        for line in super::print::sweep_table(&results) {
            crate::say!("{line}");
        }
    }
    if diverged > 0 {
        eprintln!(
            "warning: {diverged} of {} networks diverged (a loss that was not finite); they are marked diverged \
             in networks.csv and left out of the cells' statistics. A smaller --lr helps",
            results.networks.len()
        );
    }
    say(format_args!(
        "run: {} ({}; {:.2} s training, {:.2} s in all)",
        dir.display(),
        match args.shard {
            Some(s) => format!(
                "shard {}/{} of a {kind}: merge the shards with popdecode collect",
                s.index, s.count
            ),
            None => format!("{} files", summary.files.len()),
        },
        train_s,
        launched.elapsed().as_secs_f64()
    ));
    if args.run.json {
        crate::say!("{}", serde_json::to_string(&summary)?);
    }
    if interrupted {
        let signal = crate::stop::received().unwrap_or(2);
        eprintln!(
            "popdecode: {} stopped training after {} of {} networks; the run folder is written with them and \
             marked interrupted (exit code {})",
            crate::stop::name(signal),
            results.networks.len(),
            total,
            crate::stop::exit_code(signal)
        );
        return Ok(ExitCode::from(crate::stop::exit_code(signal)));
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses, before any work, a plan whose results (every network's history, test predictions and row) would not
/// fit in the memory this machine has free, naming the flags that multiply them.
fn check_results_fit(networks: usize, epochs: usize, stimuli: usize) -> Result<(), Error> {
    let per_network = (epochs as u128) * 16
        + (stimuli as u128) * std::mem::size_of::<Prediction>() as u128
        + std::mem::size_of::<NetworkResult>() as u128
        + 256;
    popdecode::memory::check(
        &[popdecode::memory::Part {
            what: "every network's history, predictions and row",
            flags: "--vary, --folds, --repeats, --epochs".to_string(),
            bytes: per_network * networks as u128,
        }],
        popdecode::memory::available(),
    )
}

fn shard_label(s: Option<Shard>) -> String {
    s.map(|s| format!("{}/{}", s.index, s.count))
        .unwrap_or_default()
}

/// The network and training of a cell whose varied values are `values` (None: the flag's own value), its
/// width checked against this machine's memory as train checks its own.
fn cell_setup(
    base: &Base,
    varies: &[Vary],
    values: &[Option<&Value>],
    raw: &Dataset,
) -> Result<Cell, Error> {
    let cell = Cell::varied(base, varies, values, raw.neurons())?;
    let moments = cell.config.optimizer.moments().max(1);
    let widths: Vec<String> = cell.spec.hidden.iter().map(usize::to_string).collect();
    popdecode::memory::check(
        &popdecode::memory::training_run(
            raw.n_stimuli(),
            &cell.spec,
            moments,
            "--data or --neurons, --stimuli",
            &format!("--hidden {}", widths.join(",")),
        ),
        popdecode::memory::available(),
    )?;
    Ok(cell)
}

fn vary_error(param: Param, value: &Value, e: anyhow::Error, varies: &[Vary]) -> anyhow::Error {
    if varies.iter().any(|v| v.param == param) {
        Error::bad_argument(
            "--vary",
            format!(
                "{}={}: {}",
                param.name(),
                value.label(),
                crate::print::error_message(&e)
            ),
        )
        .into()
    } else {
        e
    }
}

/// "5 folds x 4 repeats = 20", "3 lr x 2 hidden = 6 cells x 5 folds x 1 repeat = 30".
fn describe_grid(
    varies: &[Vary],
    grid: &[Vec<usize>],
    folds: usize,
    repeats: usize,
    total: usize,
) -> String {
    let cells = if varies.is_empty() {
        String::new()
    } else {
        let dims: Vec<String> = varies
            .iter()
            .map(|v| format!("{} values of {}", v.values.len(), v.param.name()))
            .collect();
        if varies.len() == 1 {
            format!("{} x ", dims[0])
        } else {
            format!("{} = {} x ", dims.join(" x "), count(grid.len(), "cell"))
        }
    };
    let folds = if folds == 1 {
        "1 split".to_string()
    } else {
        count(folds, "fold")
    };
    format!("{cells}{folds} x {} = {total}", count(repeats, "repeat"))
}

/// Every setting of the run by flag name (summary.json's `config`): what `collect` requires the parts to share.
fn configuration(args: &GridArgs, varies: &[Vary]) -> serde_json::Value {
    let d = &args.data;
    let m = &args.model;
    let o = &args.optim;
    let synthetic = d.data.is_none();
    serde_json::json!({
        "data": shown(&d.data),
        "stimulus_units": d.stimulus_units.map(|u| flag_name(&u)),
        "bin_width": d.bin_width,
        "data_seed": synthetic.then_some(d.data_seed),
        "neurons": synthetic.then_some(d.neurons),
        "stimuli": synthetic.then_some(d.stimuli),
        "split": shown(&d.split),
        "train_fraction": (d.split.is_none() && args.folds.is_none()).then_some(d.train_fraction),
        "seed": d.seed,
        "task": flag_name(&m.task()),
        "classes": (m.task() == Task::Classify).then_some(m.classes()),
        "loss": m.loss.map(|l| flag_name(&l)),
        "hidden": m.hidden,
        "activation": flag_name(&m.activation),
        "init_seed": m.init_seed,
        "epochs": args.epochs,
        "lr": o.lr,
        "optimizer": o.optimizer,
        "momentum": o.momentum,
        "weight_decay": o.weight_decay,
        "batch_size": o.batch_size,
        "shuffle_seed": o.shuffle_seed,
        "l1": o.l1,
        "l2": o.l2,
        "backend": flag_name(&args.on.backend),
        "adapter": args.on.adapter,
        "folds": args.folds,
        "repeats": args.repeats,
        "baseline": args.baseline,
        "vary": varies.iter().map(|v| format!("{}={}", v.param.name(), v.values.iter().map(Value::label).collect::<Vec<_>>().join(","))).collect::<Vec<_>>(),
        "format": args.run.figures.formats,
    })
}
