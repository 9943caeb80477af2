//! `popdecode cv` and `popdecode sweep`: many networks — K-fold cross-validation with R initialisations per
//! fold, over a grid of varied values — trained in stacks of same-shape networks (`Backend::train_stack`),
//! summarised cell by cell, and left in a run folder (`sweep::folder`). `--shard I/N` runs one slice of the
//! networks into a partial folder; `popdecode collect` (collect.rs) merges the slices.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use popdecode::Error;
use popdecode::backend::Trained;
use popdecode::backend::stack::{Member, Stack, StackControl, StackProgress};
use popdecode::data::problem::Problem;
use popdecode::data::{Dataset, Matrix};
use popdecode::model::{Params, Spec};
use popdecode::objective::Penalty;
use popdecode::optim::{self, HyperParameters};
use popdecode::ridge::{CvConfig, fit_cv};
use popdecode::run::folder::RunFolder;
use popdecode::run::outcome::Outcome;
use popdecode::run::predictions::Predictions;
use popdecode::sweep::plan::{self, Param, Planned, Shard, Value, Vary};
use popdecode::sweep::results::{
    METRICS, NetworkHistory, NetworkResult, Prediction, SweepResults, Varied,
};
use popdecode::sweep::summary::{
    FoldRule, ShardInfo, StackInfo, SweepData, SweepSummary, SweepTimings, VariedInfo, cells_json,
};
use popdecode::training::Config;

use super::args::{
    BackendArgs, BackendName, DataArgs, Loaded, ModelArgs, OptimArgs, RunArgs, Task, flag_name,
    shown,
};
use super::print::{count, describe_network, describe_training};

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
/// The most first-layer weights (summed over members) one stack holds; larger groups are cut into several
/// stacks, so that a stack's weights, gradient and moments stay within a few GB.
const STACK_WEIGHTS: usize = 1 << 27;

/// One cell's network and training, with the data it trains on.
struct CellSetup {
    /// Index into the binned data sets (one per bin-width value).
    bin: usize,
    spec: Spec,
    config: Config,
    /// With `neurons` varied: how many each network reads.
    subset: Option<usize>,
}

/// Where a network's numbers come from, for the baseline's cache: one ridge fit per data, neuron subset and
/// fold.
type BaselineKey = (usize, Option<(usize, usize)>, usize);

/// What networks must share to train in one stack: the data (bin width), the hidden widths and the input width.
type StackKey = (usize, Vec<usize>, usize);

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
            cell_setup(&args, &varies, &defaults, &raw, base_config).map_err(|e| {
                // A refusal of the value itself is already about --vary; any other names the train flag.
                let why = match e {
                    Error::BadArgument { flag, what } if flag == "--vary" => what,
                    e => e.to_string(),
                };
                Error::bad_argument(
                    "--vary",
                    format!("{}={}: {why}", v.param.name(), value.label()),
                )
            })?;
        }
    }
    let grid = plan::cells(&varies);
    let setups: Vec<CellSetup> = grid
        .iter()
        .map(|c| {
            let values: Vec<Option<&Value>> = varies
                .iter()
                .zip(c)
                .map(|(v, &i)| Some(&v.values[i]))
                .collect();
            cell_setup(&args, &varies, &values, &raw, base_config)
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
    let neurons_total = raw.neurons();
    let subset_of =
        |p: &Planned| -> Option<(usize, usize)> { setups[p.cell].subset.map(|n| (n, p.repeat)) };
    let neurons_of = |p: &Planned| -> Vec<usize> {
        match subset_of(p) {
            Some((n, repeat)) => {
                plan::neuron_subset(neurons_total, n, args.data.seed.wrapping_add(repeat as u64))
            }
            None => (0..neurons_total).collect(),
        }
    };

    // Stacks: networks of one data set and shape, cut to bound their weights.
    let mut groups: Vec<(StackKey, Vec<Planned>)> = Vec::new();
    for p in &mine {
        let s = &setups[p.cell];
        let key = (s.bin, s.spec.hidden.clone(), s.spec.neurons);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(*p),
            None => groups.push((key, vec![*p])),
        }
    }
    let mut stacks: Vec<Vec<Planned>> = Vec::new();
    for (_, members) in groups {
        let s = &setups[members[0].cell];
        let per = (s.spec.width() * s.spec.neurons).max(1);
        let size = (STACK_WEIGHTS / per).max(1);
        stacks.extend(members.chunks(size).map(<[Planned]>::to_vec));
    }

    let first = stacks.first().and_then(|s| s.first()).copied();
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
    let base = &setups[0];
    let varied_names: Vec<&str> = varies.iter().map(|v| v.param.name()).collect();
    let mut network = describe_network(&base.spec);
    if base.subset.is_some() {
        // The first cell's input width is one of the varied values, not every network's.
        network = network.replacen(
            &format!("Linear({},", base.spec.neurons),
            "Linear(neurons,",
            1,
        );
    }
    say(format_args!(
        "networks: {} ({network}); {}, {}{}",
        describe_grid(&varies, &grid, n_folds, args.repeats, planned.len()),
        describe_training(&base.config, fold_sets[0][0].0.len()),
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
    let member_problem = |p: &Planned| -> Problem {
        let l = &loaded[setups[p.cell].bin];
        let (train, test) = &fold_sets[setups[p.cell].bin][p.fold];
        let cols = neurons_of(p);
        let pick = |rows: &[usize]| l.data.resp.select(rows, &cols);
        let y = |rows: &[usize]| {
            rows.iter()
                .map(|&r| l.data.stimuli[r])
                .collect::<Vec<f32>>()
        };
        Problem {
            x_train: pick(train),
            y_train: y(train),
            x_test: pick(test),
            y_test: y(test),
        }
    };
    let mut backend = {
        let problem = member_problem(&first);
        let s = &setups[first.cell];
        args.on.open_for((&problem, &s.spec, &s.config))?
    };
    say(format_args!("backend: {}", backend.describe()));
    let stop = crate::stop::install()?;
    let folder = RunFolder::claim(args.run.out.as_deref())?;

    // Train, stack after stack.
    let started = Instant::now();
    let (mut networks, mut histories, mut predictions) = (Vec::new(), Vec::new(), Vec::new());
    let mut stack_info = Vec::new();
    let mut interrupted = false;
    let total = mine.len();
    for (si, members_plan) in stacks.iter().enumerate() {
        let s0 = &setups[members_plan[0].cell];
        let l = &loaded[s0.bin];
        let subsets: Vec<Vec<usize>> = members_plan.iter().map(&neurons_of).collect();
        let mut union: Vec<usize> = subsets.iter().flatten().copied().collect();
        union.sort_unstable();
        union.dedup();
        let owned;
        let x: &Matrix = if union.len() == l.data.neurons() {
            &l.data.resp
        } else {
            let all: Vec<usize> = (0..l.data.n_stimuli()).collect();
            owned = l.data.resp.select(&all, &union);
            &owned
        };
        let members: Vec<Member> = members_plan
            .iter()
            .zip(&subsets)
            .map(|(p, sub)| {
                let setup = &setups[p.cell];
                let (train, test) = &fold_sets[setup.bin][p.fold];
                Member {
                    neurons: sub
                        .iter()
                        .map(|c| union.binary_search(c).expect("in the union"))
                        .collect(),
                    train: train.clone(),
                    test: test.clone(),
                    params: Params::init(
                        &setup.spec,
                        args.model.init_seed.wrapping_add(p.repeat as u64),
                    ),
                    config: setup.config,
                }
            })
            .collect();
        let stack = Stack {
            x,
            stimuli: &l.data.stimuli,
            spec: &s0.spec,
            members: &members,
        };
        let done_before = networks.len();
        let n_members = members.len();
        let mut last = Instant::now();
        let mut progress = |p: StackProgress| {
            let end = p.epoch == p.epochs && p.done + p.training == n_members;
            if !quiet && (end || last.elapsed().as_secs_f64() > 2.0) {
                last = Instant::now();
                eprintln!(
                    "stack {}/{}: networks {}-{} of {total}, epoch {}/{}",
                    si + 1,
                    stacks.len(),
                    done_before + p.done + 1,
                    done_before + p.done + p.training,
                    p.epoch,
                    p.epochs
                );
            }
        };
        let mut control = StackControl::new(&mut progress).stop_on(stop);
        let t = Instant::now();
        let results = backend.train_stack(&stack, &mut control)?;
        log::info!(
            "stack {} of {} networks ({}) in {:.3} s",
            si + 1,
            members.len(),
            describe_network(&s0.spec),
            t.elapsed().as_secs_f64()
        );
        stack_info.push(StackInfo {
            networks: members.len(),
            network: describe_network(&s0.spec),
            path: if control.one_by_one {
                "one by one"
            } else {
                "stacked"
            }
            .to_string(),
        });
        let short = results.len() < members.len();
        for (p, r) in members_plan.iter().zip(&results) {
            interrupted |= matches!(r.stop, popdecode::backend::Stop::Interrupted { .. });
            let setup = &setups[p.cell];
            let (row, history, predicted) = summarise(
                p,
                r,
                setup,
                &loaded[setup.bin].data,
                &fold_sets[setup.bin][p.fold].1,
                args.model.init_seed.wrapping_add(p.repeat as u64),
                setup
                    .subset
                    .map(|_| args.data.seed.wrapping_add(p.repeat as u64)),
            )?;
            networks.push(row);
            histories.push(history);
            predictions.extend(predicted);
        }
        if short || interrupted {
            interrupted = true;
            break;
        }
    }
    let train_s = started.elapsed().as_secs_f64();

    // The baseline's numbers on each network's rows and neurons: one ridge fit per data, subset and fold.
    if args.baseline && !interrupted {
        let mut baselines: HashMap<BaselineKey, (f64, f64)> = HashMap::new();
        for n in &mut networks {
            let p = Planned {
                network: n.network,
                cell: n.cell,
                fold: n.fold,
                repeat: n.repeat,
            };
            let setup = &setups[p.cell];
            let l = &loaded[setup.bin];
            let (train, test) = &fold_sets[setup.bin][p.fold];
            let key = (setup.bin, subset_of(&p), p.fold);
            let (median, mean) = match baselines.get(&key) {
                Some(&b) => b,
                None => {
                    let cols = neurons_of(&p);
                    let stimuli = |rows: &[usize]| {
                        rows.iter()
                            .map(|&r| l.data.stimuli[r])
                            .collect::<Vec<f32>>()
                    };
                    let x_train = l.data.resp.select(train, &cols);
                    let x_test = l.data.resp.select(test, &cols);
                    let cv = fit_cv(&x_train, &stimuli(train), &CvConfig::default())?;
                    let a = cv.model.angular_errors(&x_test, &stimuli(test))?;
                    baselines.insert(key, (a.median_deg, a.mean_deg));
                    (a.median_deg, a.mean_deg)
                }
            };
            n.metrics[BASELINE_MEDIAN] = Some(median);
            n.metrics[BASELINE_MEDIAN + 1] = Some(mean);
        }
    }
    networks.sort_by_key(|n| n.network);
    histories.sort_by_key(|h| h.network);
    predictions.sort_by_key(|p| p.network);

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
        loss: base.spec.objective.name().to_string(),
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

/// Where the baseline's median and mean errors go among `METRICS`.
const BASELINE_MEDIAN: usize = popdecode::sweep::results::FIRST_BASELINE_METRIC;

/// One network's row (the baseline's columns empty), history and test predictions, from its training: taken
/// as soon as its stack is trained, so that its weights need not be kept.
fn summarise(
    p: &Planned,
    t: &Trained,
    setup: &CellSetup,
    data: &Dataset,
    test: &[usize],
    init_seed: u64,
    neuron_seed: Option<u64>,
) -> Result<(NetworkResult, NetworkHistory, Vec<Prediction>)> {
    let y_test: Vec<f32> = test.iter().map(|&r| data.stimuli[r]).collect();
    let preds = Predictions::of(setup.spec.objective, test, &y_test, &t.test_outputs);
    let errors = preds.summary();
    let outcome = Outcome::new(t, &test_only(y_test), &setup.spec, &setup.config.penalty);
    let (status, _) = popdecode::run::summary::RunStatus::of(t.stop);
    let metrics = vec![
        errors.median_angular_error_deg,
        errors.mean_angular_error_deg,
        Some(outcome.test_loss),
        Some(outcome.train_loss),
        errors.accuracy,
        None,
        None,
    ];
    debug_assert_eq!(metrics.len(), METRICS.len());
    debug_assert_eq!(METRICS[BASELINE_MEDIAN], "baseline_median_error_deg");
    let row = NetworkResult {
        network: p.network,
        cell: p.cell,
        fold: p.fold,
        repeat: p.repeat,
        init_seed,
        neuron_seed,
        status: serde_json::to_value(status)?
            .as_str()
            .unwrap_or("complete")
            .to_string(),
        epochs: t.history.train_loss.len(),
        metrics,
    };
    let history = NetworkHistory {
        network: p.network,
        train_loss: t.history.train_loss.clone(),
        test_loss: t.history.test_loss.clone(),
    };
    let predictions = test
        .iter()
        .zip(preds.decoded_deg())
        .map(|(&row, decoded_deg)| Prediction {
            network: p.network,
            row,
            stimulus_deg: f64::from(data.stimuli[row]),
            decoded_deg,
        })
        .collect();
    Ok((row, history, predictions))
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

/// A `Problem` holding only test targets: what `Outcome` reads.
fn test_only(y_test: Vec<f32>) -> Problem {
    Problem {
        x_train: Matrix::zeros(0, 0),
        y_train: Vec::new(),
        x_test: Matrix::zeros(0, 0),
        y_test,
    }
}

/// The network and training of a cell whose varied values are `values` (None: the flag's own value).
fn cell_setup(
    args: &GridArgs,
    varies: &[Vary],
    values: &[Option<&Value>],
    raw: &Dataset,
    base: Config,
) -> Result<CellSetup, Error> {
    let get = |param: Param| -> Option<&Value> {
        varies
            .iter()
            .zip(values)
            .find(|(v, _)| v.param == param)
            .and_then(|(_, x)| *x)
    };
    let number = |param: Param| match get(param) {
        Some(Value::Number(v)) => Some(*v),
        _ => None,
    };
    let bin = match get(Param::BinWidth) {
        Some(v) => varies
            .iter()
            .find(|v| v.param == Param::BinWidth)
            .and_then(|vary| vary.values.iter().position(|x| x == v))
            .unwrap_or(0),
        None => 0,
    };
    let subset = match get(Param::Neurons) {
        Some(Value::Count(n)) => {
            if *n > raw.neurons() {
                return Err(Error::bad_argument(
                    "--vary",
                    format!(
                        "expected at most the data's {} neurons, got {n}",
                        raw.neurons()
                    ),
                ));
            }
            Some(*n)
        }
        _ => None,
    };
    let neurons = subset.unwrap_or(raw.neurons());
    let mut spec = args.model.spec(neurons)?;
    if let Some(Value::Widths(w)) = get(Param::Hidden) {
        spec = Spec::new(neurons, w.clone(), spec.activation, spec.objective)?;
    }
    // A varied width is checked against this machine's memory as train checks its own.
    let moments = base.optimizer.moments().max(1);
    let widths: Vec<String> = spec.hidden.iter().map(usize::to_string).collect();
    popdecode::memory::check(
        &popdecode::memory::training_run(
            raw.n_stimuli(),
            &spec,
            moments,
            "--data or --neurons, --stimuli",
            &format!("--hidden {}", widths.join(",")),
        ),
        popdecode::memory::available(),
    )?;
    let optimizer = match number(Param::Momentum) {
        Some(m) => optim::build(
            &args.optim.optimizer,
            &HyperParameters {
                momentum: Some(m),
                weight_decay: args.optim.weight_decay,
            },
        )?,
        None => base.optimizer,
    };
    let config = Config::new(
        base.epochs,
        number(Param::Lr).unwrap_or(base.lr),
        optimizer,
        base.batch_size,
        Penalty {
            l1: number(Param::L1).unwrap_or(base.penalty.l1),
            l2: number(Param::L2).unwrap_or(base.penalty.l2),
        },
        base.shuffle_seed,
    )?;
    Ok(CellSetup {
        bin,
        spec,
        config,
        subset,
    })
}

fn vary_error(param: Param, value: &Value, e: anyhow::Error, varies: &[Vary]) -> anyhow::Error {
    if varies.iter().any(|v| v.param == param) {
        Error::bad_argument(
            "--vary",
            format!("{}={}: {e:#}", param.name(), value.label()),
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
