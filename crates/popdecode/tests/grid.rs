//! Cross-validation and a sweep called from Rust, with no command line: `sweep::grid::Grid::train` on the fast
//! CPU backend. Each network equals the same network trained alone on its fold (`Backend::train` through the
//! same backend, `compare::tolerance` 1e-5 as the CPU's stacks are held to), every stimulus is predicted once per
//! cell and repeat, the ridge baseline fills its columns, and a raised stop flag returns the networks finished.

use std::sync::atomic::{AtomicBool, Ordering};

use popdecode::backend::Backend;
use popdecode::compare::{Comparison, assert_all};
use popdecode::cpu::CpuBackend;
use popdecode::data::Dataset;
use popdecode::data::synth::{self, SynthConfig};
use popdecode::model::{Params, Spec};
use popdecode::sweep::grid::{Cell, Folds, Grid, GridProgress};
use popdecode::sweep::plan::{self, Planned};
use popdecode::sweep::results::FIRST_BASELINE_METRIC;
use popdecode::training::Config;

const FOLDS: usize = 3;
const REPEATS: usize = 2;

fn cells() -> Vec<Cell> {
    // Two learning rates of one shape (one stack) and a subset of 60 neurons (another).
    let config = |lr: f64| Config {
        epochs: 8,
        lr,
        ..Config::default()
    };
    vec![
        Cell {
            data: 0,
            spec: Spec::tutorial(120, 5),
            config: config(1e-3),
            subset: None,
        },
        Cell {
            data: 0,
            spec: Spec::tutorial(120, 5),
            config: config(3e-3),
            subset: None,
        },
        Cell {
            data: 0,
            spec: Spec::tutorial(60, 5),
            config: config(1e-3),
            subset: Some(60),
        },
    ]
}

/// What a grid borrows: 90 stimuli of the stand-in at 120 neurons, `cells()`, 3 folds, 2 repeats.
struct Owned {
    data: Dataset,
    cells: Vec<Cell>,
    folds: Vec<Folds>,
    networks: Vec<Planned>,
}

impl Owned {
    fn new() -> Owned {
        let cells = cells();
        Owned {
            data: synth::generate(&SynthConfig {
                neurons: 120,
                stimuli: 90,
                seed: 5,
            }),
            folds: vec![plan::folds(90, FOLDS, 4).unwrap()],
            networks: plan::networks(cells.len(), FOLDS, REPEATS).unwrap(),
            cells,
        }
    }

    fn grid<'a>(&'a self, datasets: &'a [&'a Dataset]) -> Grid<'a> {
        Grid {
            datasets,
            folds: &self.folds,
            cells: &self.cells,
            networks: &self.networks,
            init_seed: 1,
            neuron_seed: 4,
            baseline: true,
        }
    }
}

#[test]
fn a_grid_trains_from_rust_as_each_network_alone_with_its_baseline() {
    let owned = Owned::new();
    let datasets = [&owned.data];
    let grid = owned.grid(&datasets);
    let (cells, networks) = (&owned.cells, &owned.networks);
    assert_eq!(grid.stacks().len(), 2, "one stack per input width");
    let mut reports: Vec<GridProgress> = Vec::new();
    let run = grid
        .train(&mut CpuBackend::new(), &mut |p| reports.push(p), None)
        .unwrap();
    assert!(!run.interrupted);
    assert_eq!(run.networks.len(), networks.len());
    assert_eq!(run.stacks.len(), 2);
    assert!(
        run.stacks.iter().all(|s| s.path == "stacked"),
        "{:?}",
        run.stacks
    );
    assert!(reports.iter().any(|p| p.stack == 1 && p.stack_done));

    let mut c: Vec<Comparison> = Vec::new();
    for (n, h) in run.networks.iter().zip(&run.histories) {
        let p = networks[n.network];
        assert_eq!((n.network, h.network), (p.network, p.network));
        assert_eq!((n.cell, n.fold, n.repeat), (p.cell, p.fold, p.repeat));
        assert_eq!(n.status, "complete");
        assert_eq!(n.init_seed, 1 + p.repeat as u64);
        assert_eq!(
            n.neuron_seed,
            cells[p.cell].subset.map(|_| 4 + p.repeat as u64)
        );
        // Its baseline: the ridge decoder on its own rows and neurons, filled in.
        assert!(
            n.metrics[FIRST_BASELINE_METRIC].is_some_and(f64::is_finite),
            "{n:?}"
        );
        // Alone: the same network on its fold's problem, through the backend's single path.
        let cell = &cells[p.cell];
        let alone = CpuBackend::new()
            .train(
                &grid.problem(&p),
                &cell.spec,
                &Params::init(&cell.spec, n.init_seed),
                &cell.config,
                &mut |_| {},
            )
            .unwrap();
        c.push(Comparison::new(
            format!("network {} train losses", n.network),
            &h.train_loss,
            &alone.history.train_loss,
            1e-5,
        ));
        c.push(Comparison::new(
            format!("network {} test losses", n.network),
            &h.test_loss,
            &alone.history.test_loss,
            1e-5,
        ));
    }
    assert_all(&c);
    // Each cell and repeat predicts every stimulus once over its folds.
    for cell in 0..cells.len() {
        for repeat in 0..REPEATS {
            let mut rows: Vec<usize> = run
                .predictions
                .iter()
                .filter(|q| {
                    let n = &run.networks[q.network];
                    (n.cell, n.repeat) == (cell, repeat)
                })
                .map(|q| q.row)
                .collect();
            rows.sort_unstable();
            assert_eq!(
                rows,
                (0..90).collect::<Vec<_>>(),
                "cell {cell} repeat {repeat}"
            );
        }
    }
}

#[test]
fn a_raised_stop_flag_returns_the_networks_finished_and_no_baseline() {
    let owned = Owned::new();
    let datasets = [&owned.data];
    let grid = owned.grid(&datasets);
    // Raised during the first stack: its networks stop at an epoch boundary, the second stack never starts.
    let stop = AtomicBool::new(false);
    let run = grid
        .train(
            &mut CpuBackend::new(),
            &mut |p| {
                if p.epoch >= 2 {
                    stop.store(true, Ordering::Relaxed)
                }
            },
            Some(&stop),
        )
        .unwrap();
    assert!(run.interrupted);
    let first = grid.stacks()[0].len();
    assert_eq!(run.networks.len(), first);
    assert!(
        run.networks
            .iter()
            .all(|n| n.status == "interrupted" && n.epochs < 8)
    );
    assert!(
        run.networks
            .iter()
            .all(|n| n.metrics[FIRST_BASELINE_METRIC].is_none())
    );
}

/// A grid's cells from a base and `--vary`-style values, as Python's `grid=` dict will give them: each value
/// lands where it belongs, the rest stay the base's, and an impossible value is refused naming it.
#[test]
fn cells_vary_from_a_base_and_refuse_what_cannot_be() {
    use popdecode::Error;
    use popdecode::optim::{self, HyperParameters};
    use popdecode::sweep::grid::Base;
    use popdecode::sweep::plan::Vary;
    let base = Base {
        spec: Spec::tutorial(120, 10),
        config: Config {
            epochs: 8,
            ..Config::default()
        },
        optimizer: "sgd".into(),
        hyper: HyperParameters::default(),
    };
    let varies: Vec<Vary> = [
        "lr=1e-3,1e-2",
        "hidden=20,30:5",
        "momentum=0.9",
        "neurons=60",
    ]
    .into_iter()
    .map(|t| Vary::parse(t).unwrap())
    .collect();
    let grid = plan::cells(&varies);
    assert_eq!(grid.len(), 4);
    let cells: Vec<Cell> = grid
        .iter()
        .map(|c| {
            let values: Vec<_> = varies
                .iter()
                .zip(c)
                .map(|(v, &i)| Some(&v.values[i]))
                .collect();
            Cell::varied(&base, &varies, &values, 120).unwrap()
        })
        .collect();
    let momentum = optim::build(
        "sgd",
        &HyperParameters {
            momentum: Some(0.9),
            ..HyperParameters::default()
        },
    )
    .unwrap();
    for (c, (lr, hidden)) in cells.iter().zip([
        (1e-3, vec![20]),
        (1e-3, vec![30, 5]),
        (1e-2, vec![20]),
        (1e-2, vec![30, 5]),
    ]) {
        assert_eq!(c.config.lr, lr);
        assert_eq!(c.spec.hidden, hidden);
        assert_eq!(c.spec.neurons, 60);
        assert_eq!(c.subset, Some(60));
        assert_eq!(c.config.optimizer, momentum);
        assert_eq!((c.config.epochs, c.data), (8, 0));
    }
    // Nothing varied: the base itself, on the data's neurons.
    let plain = Cell::varied(&base, &[], &[], 120).unwrap();
    assert_eq!(
        (plain.spec, plain.config, plain.subset),
        (base.spec.clone(), base.config, None)
    );
    // Refusals name the value.
    let name = |e: Error| match e {
        Error::Invalid { name, .. } => name,
        e => panic!("expected an Invalid, got {e:?}"),
    };
    let too_many = [Vary::parse("neurons=121").unwrap()];
    let e = Cell::varied(&base, &too_many, &[Some(&too_many[0].values[0])], 120).unwrap_err();
    assert_eq!(name(e), "vary");
    let negative = [Vary::parse("lr=-1").unwrap()];
    let e = Cell::varied(&base, &negative, &[Some(&negative[0].values[0])], 120).unwrap_err();
    assert_eq!(name(e), "lr");
}
