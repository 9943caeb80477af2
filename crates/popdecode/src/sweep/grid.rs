//! A grid's networks trained: what `cv` and `sweep` do between parsing their flags and writing their folder,
//! callable from Rust (and so from Python) with typed inputs. The caller says which cells there are (each a
//! network shape, its training and its data), which folds and which networks of the plan to train; `Grid::train`
//! groups them into stacks of one shape (`Backend::train_stack`), summarises each network as soon as its stack
//! is trained (its weights are not kept), fits the ridge baseline on the same rows and neurons when asked, and
//! returns the tables a run folder is written from. It prints nothing and installs nothing: progress goes to a
//! callback, and a flag the caller raises stops it at the next epoch boundary.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::backend::stack::{Member, Stack, StackControl, StackProgress};
use crate::backend::{Backend, Stop, Trained};
use crate::data::problem::Problem;
use crate::data::{Dataset, Matrix};
use crate::error::{Error, Result};
use crate::model::{Params, Spec};
use crate::objective::Penalty;
use crate::optim::{self, HyperParameters};
use crate::ridge::{CvConfig, fit_cv};
use crate::run::outcome::Outcome;
use crate::run::predictions::Predictions;
use crate::run::summary::RunStatus;
use crate::sweep::plan::{self, Param, Planned, Value, Vary};
use crate::sweep::results::{
    FIRST_BASELINE_METRIC, METRICS, NetworkHistory, NetworkResult, Prediction,
};
use crate::sweep::summary::StackInfo;
use crate::training::Config;

/// The most first-layer weights (summed over members) one stack holds; larger groups are cut into several
/// stacks, so that a stack's weights, gradient and moments stay within a few GB.
pub const STACK_WEIGHTS: usize = 1 << 27;

/// One cell's network and training, and the data it trains on.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Index into `Grid::datasets` (one data set per bin width).
    pub data: usize,
    /// The network; `spec.neurons` is its input width (the subset's size where `subset` is set).
    pub spec: Spec,
    pub config: Config,
    /// With `neurons` varied: how many of the data's neurons each network reads, a random subset per repeat.
    pub subset: Option<usize>,
}

/// What a grid varies from: the network (its input width the data's, unless `neurons` is varied), its
/// training, and the optimizer's name and hyper-parameters, from which a varied momentum rebuilds it.
#[derive(Clone, Debug)]
pub struct Base {
    pub spec: Spec,
    pub config: Config,
    pub optimizer: String,
    pub hyper: HyperParameters,
}

impl Cell {
    /// The cell whose varied values are `values` (one per `varies`, in order; `None` keeps the base's own) on
    /// data of `neurons` neurons. A `bin-width` value picks the data set of the same position among that
    /// parameter's values. What the values make impossible is refused: a subset larger than the data (`vary`),
    /// and whatever `Spec::new`, `optim::build` and `Config::new` refuse, naming the value.
    pub fn varied(
        base: &Base,
        varies: &[Vary],
        values: &[Option<&Value>],
        neurons: usize,
    ) -> Result<Cell> {
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
        let data = match get(Param::BinWidth) {
            Some(value) => varies
                .iter()
                .find(|v| v.param == Param::BinWidth)
                .and_then(|vary| vary.values.iter().position(|x| x == value))
                .unwrap_or(0),
            None => 0,
        };
        let subset = match get(Param::Neurons) {
            Some(Value::Count(n)) if *n > neurons => {
                return Err(Error::invalid(
                    "vary",
                    format!("expected at most the data's {neurons} neurons, got {n}"),
                ));
            }
            Some(Value::Count(n)) => Some(*n),
            _ => None,
        };
        let hidden = match get(Param::Hidden) {
            Some(Value::Widths(w)) => w.clone(),
            _ => base.spec.hidden.clone(),
        };
        let spec = Spec::new(
            subset.unwrap_or(neurons),
            hidden,
            base.spec.activation,
            base.spec.objective,
        )?;
        let c = &base.config;
        let optimizer = match number(Param::Momentum) {
            Some(m) => optim::build(
                &base.optimizer,
                &HyperParameters {
                    momentum: Some(m),
                    ..base.hyper
                },
            )?,
            None => c.optimizer,
        };
        let config = Config::new(
            c.epochs,
            number(Param::Lr).unwrap_or(c.lr),
            optimizer,
            c.batch_size,
            Penalty {
                l1: number(Param::L1).unwrap_or(c.penalty.l1),
                l2: number(Param::L2).unwrap_or(c.penalty.l2),
            },
            c.shuffle_seed,
        )?;
        Ok(Cell {
            data,
            spec,
            config,
            subset,
        })
    }
}

/// The folds of one data set: each fold's training and test rows.
pub type Folds = Vec<(Vec<usize>, Vec<usize>)>;

/// Everything a grid's training needs. `Grid::check`-free by design: the caller builds cells through the
/// library's validating constructors (`Spec::new`, `Config::new`) and folds through `plan::folds`.
#[derive(Clone, Copy, Debug)]
pub struct Grid<'a> {
    /// The data at each bin width; a cell names its own.
    pub datasets: &'a [&'a Dataset],
    /// Each data set's folds, in the order of `datasets`.
    pub folds: &'a [Folds],
    pub cells: &'a [Cell],
    /// The networks to train, in the plan's order (`plan::networks`, cut to a shard where there is one).
    pub networks: &'a [Planned],
    /// Repeat r draws its initial weights from PyTorch seed `init_seed + r`.
    pub init_seed: u64,
    /// With a subset, repeat r reads the first n of `torch.randperm(neurons)` after seed `neuron_seed + r`.
    pub neuron_seed: u64,
    /// Also fit the ridge decoder on each network's training rows and neurons.
    pub baseline: bool,
}

/// Where a grid's training stands, for a progress line.
#[derive(Clone, Copy, Debug)]
pub struct GridProgress {
    /// The stack training now (from 0) and how many there are.
    pub stack: usize,
    pub stacks: usize,
    /// The networks training now, as positions (from 0) among all `Grid::networks`: `first..first + training`.
    pub first: usize,
    pub training: usize,
    /// How many networks the grid trains.
    pub total: usize,
    /// Epochs those networks have run, of `epochs`.
    pub epoch: usize,
    pub epochs: usize,
    /// The last report of the last networks of this stack.
    pub stack_done: bool,
}

/// What a grid's training found: one row, history and the test predictions per network trained, sorted by
/// network number, and how each stack went.
#[derive(Clone, Debug, Default)]
pub struct GridRun {
    pub networks: Vec<NetworkResult>,
    pub histories: Vec<NetworkHistory>,
    pub predictions: Vec<Prediction>,
    pub stacks: Vec<StackInfo>,
    /// The stop flag ended training: the tables hold the networks finished before it (and no baseline).
    pub interrupted: bool,
    /// Time spent training the stacks, setup included, the baseline not.
    pub train_time: Duration,
}

/// Where a network's baseline comes from: one ridge fit per data set, neuron subset and fold.
type BaselineKey = (usize, Option<(usize, usize)>, usize);

/// What networks must share to train in one stack: the data, the hidden widths and the input width.
type StackKey = (usize, Vec<usize>, usize);

impl Grid<'_> {
    fn cell(&self, p: &Planned) -> &Cell {
        &self.cells[p.cell]
    }

    /// Network `p`'s neuron subset (size, repeat), where its cell has one.
    fn subset_of(&self, p: &Planned) -> Option<(usize, usize)> {
        self.cell(p).subset.map(|n| (n, p.repeat))
    }

    /// The columns network `p` reads, in the order of its inputs.
    pub fn neurons_of(&self, p: &Planned) -> Vec<usize> {
        let total = self.datasets[self.cell(p).data].neurons();
        match self.subset_of(p) {
            Some((n, repeat)) => {
                plan::neuron_subset(total, n, self.neuron_seed.wrapping_add(repeat as u64))
            }
            None => (0..total).collect(),
        }
    }

    /// Network `p`'s initial-weight seed.
    pub fn init_seed_of(&self, p: &Planned) -> u64 {
        self.init_seed.wrapping_add(p.repeat as u64)
    }

    /// Network `p` alone: its training and test rows of its neurons, as `train` would see them (what a backend is
    /// opened for).
    pub fn problem(&self, p: &Planned) -> Problem {
        let data = &self.datasets[self.cell(p).data];
        let (train, test) = &self.folds[self.cell(p).data][p.fold];
        let cols = self.neurons_of(p);
        let stimuli = |rows: &[usize]| rows.iter().map(|&r| data.stimuli[r]).collect::<Vec<f32>>();
        Problem {
            x_train: data.resp.select(train, &cols),
            y_train: stimuli(train),
            x_test: data.resp.select(test, &cols),
            y_test: stimuli(test),
        }
    }

    /// The networks in stacks: those of one data set and shape together, in the plan's order, cut so that no
    /// stack holds more than `STACK_WEIGHTS` first-layer weights.
    pub fn stacks(&self) -> Vec<Vec<Planned>> {
        let mut groups: Vec<(StackKey, Vec<Planned>)> = Vec::new();
        for p in self.networks {
            let c = self.cell(p);
            let key = (c.data, c.spec.hidden.clone(), c.spec.neurons);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(*p),
                None => groups.push((key, vec![*p])),
            }
        }
        let mut stacks = Vec::new();
        for (_, members) in groups {
            let spec = &self.cell(&members[0]).spec;
            let size = (STACK_WEIGHTS / (spec.width() * spec.neurons).max(1)).max(1);
            stacks.extend(members.chunks(size).map(<[Planned]>::to_vec));
        }
        stacks
    }

    /// Trains every network on `backend`, stack after stack, then the baseline. `stop`, once raised, ends the
    /// training at the next epoch boundary: the networks finished by then are returned, `interrupted` set.
    pub fn train(
        &self,
        backend: &mut dyn Backend,
        progress: &mut dyn FnMut(GridProgress),
        stop: Option<&AtomicBool>,
    ) -> Result<GridRun> {
        let started = Instant::now();
        let stacks = self.stacks();
        let mut run = GridRun::default();
        let total = self.networks.len();
        for (si, planned) in stacks.iter().enumerate() {
            let cell = self.cell(&planned[0]);
            let data = &self.datasets[cell.data];
            let subsets: Vec<Vec<usize>> = planned.iter().map(|p| self.neurons_of(p)).collect();
            let mut union: Vec<usize> = subsets.iter().flatten().copied().collect();
            union.sort_unstable();
            union.dedup();
            let owned;
            let x: &Matrix = if union.len() == data.neurons() {
                &data.resp
            } else {
                let all: Vec<usize> = (0..data.n_stimuli()).collect();
                owned = data.resp.select(&all, &union);
                &owned
            };
            let members: Vec<Member> = planned
                .iter()
                .zip(&subsets)
                .map(|(p, sub)| {
                    let c = self.cell(p);
                    let (train, test) = &self.folds[c.data][p.fold];
                    Member {
                        neurons: sub
                            .iter()
                            .map(|col| union.binary_search(col).expect("in the union"))
                            .collect(),
                        train: train.clone(),
                        test: test.clone(),
                        params: Params::init(&c.spec, self.init_seed_of(p)),
                        config: c.config,
                    }
                })
                .collect();
            let stack = Stack {
                x,
                stimuli: &data.stimuli,
                spec: &cell.spec,
                members: &members,
            };
            let before = run.networks.len();
            let n_members = members.len();
            let mut report = |p: StackProgress| {
                progress(GridProgress {
                    stack: si,
                    stacks: stacks.len(),
                    first: before + p.done,
                    training: p.training,
                    total,
                    epoch: p.epoch,
                    epochs: p.epochs,
                    stack_done: p.epoch == p.epochs && p.done + p.training == n_members,
                })
            };
            let mut control = StackControl::new(&mut report);
            if let Some(flag) = stop {
                control = control.stop_on(flag);
            }
            let t = Instant::now();
            let results = backend.train_stack(&stack, &mut control)?;
            log::info!(
                "stack {} of {} networks ({}) in {:.3} s",
                si + 1,
                n_members,
                cell.spec.architecture(),
                t.elapsed().as_secs_f64()
            );
            if let Some(why) = &control.one_by_one {
                log::info!("stack {} trained one by one: {why}", si + 1);
            }
            run.stacks.push(StackInfo {
                networks: n_members,
                network: cell.spec.architecture(),
                path: if control.one_by_one.is_some() {
                    "one by one"
                } else {
                    "stacked"
                }
                .to_string(),
                why: control.one_by_one.clone(),
            });
            let short = results.len() < n_members;
            for (p, r) in planned.iter().zip(&results) {
                run.interrupted |= matches!(r.stop, Stop::Interrupted { .. });
                self.summarise(p, r, &mut run)?;
            }
            if short || run.interrupted {
                run.interrupted = true;
                break;
            }
        }
        run.train_time = started.elapsed();
        if self.baseline && !run.interrupted {
            self.fill_baseline(&mut run.networks)?;
        }
        run.networks.sort_by_key(|n| n.network);
        run.histories.sort_by_key(|h| h.network);
        run.predictions.sort_by_key(|p| p.network);
        Ok(run)
    }

    /// Network `p`'s row (the baseline's columns empty), history and test predictions, from its training.
    fn summarise(&self, p: &Planned, t: &Trained, run: &mut GridRun) -> Result<()> {
        let cell = self.cell(p);
        let data = &self.datasets[cell.data];
        let test = &self.folds[cell.data][p.fold].1;
        let y_test: Vec<f32> = test.iter().map(|&r| data.stimuli[r]).collect();
        let preds = Predictions::of(cell.spec.objective, test, &y_test, &t.test_outputs);
        let errors = preds.summary();
        let outcome = Outcome::new(t, &test_only(y_test), &cell.spec, &cell.config.penalty);
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
        debug_assert_eq!(METRICS[FIRST_BASELINE_METRIC], "baseline_median_error_deg");
        run.networks.push(NetworkResult {
            network: p.network,
            cell: p.cell,
            fold: p.fold,
            repeat: p.repeat,
            init_seed: self.init_seed_of(p),
            neuron_seed: cell
                .subset
                .map(|_| self.neuron_seed.wrapping_add(p.repeat as u64)),
            status: RunStatus::of(t.stop).0.name().to_string(),
            epochs: t.history.train_loss.len(),
            metrics,
        });
        run.histories.push(NetworkHistory {
            network: p.network,
            train_loss: t.history.train_loss.clone(),
            test_loss: t.history.test_loss.clone(),
        });
        run.predictions.extend(
            test.iter()
                .zip(preds.decoded_deg())
                .map(|(&row, decoded_deg)| Prediction {
                    network: p.network,
                    row,
                    stimulus_deg: f64::from(data.stimuli[row]),
                    decoded_deg,
                }),
        );
        Ok(())
    }

    /// The baseline's median and mean errors on each network's rows and neurons: one ridge fit per data set,
    /// subset and fold.
    fn fill_baseline(&self, networks: &mut [NetworkResult]) -> Result<()> {
        let mut fits: HashMap<BaselineKey, (f64, f64)> = HashMap::new();
        for n in networks {
            let p = Planned {
                network: n.network,
                cell: n.cell,
                fold: n.fold,
                repeat: n.repeat,
            };
            let key = (self.cell(&p).data, self.subset_of(&p), p.fold);
            let (median, mean) = match fits.get(&key) {
                Some(&b) => b,
                None => {
                    let problem = self.problem(&p);
                    let cv = fit_cv(&problem.x_train, &problem.y_train, &CvConfig::default())?;
                    let a = cv.model.angular_errors(&problem.x_test, &problem.y_test)?;
                    fits.insert(key, (a.median_deg, a.mean_deg));
                    (a.median_deg, a.mean_deg)
                }
            };
            n.metrics[FIRST_BASELINE_METRIC] = Some(median);
            n.metrics[FIRST_BASELINE_METRIC + 1] = Some(mean);
        }
        Ok(())
    }
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
