//! The stack cases of the backend suite (`popdecode_conformance!` instantiates them with the rest): every member of
//! a stack trained together (`Backend::train_stack`) ends where it ends alone, on the same backend
//! (`backend::stack::one_by_one`, each member through `train_with`) and on the f64 reference, epoch by epoch:
//! losses, weights, test outputs, the final training loss and why it stopped.
//!
//! Tolerances (relative error of whole tensors, `compare`):
//! - against the same backend one by one, the `alone` tolerance the backend's instantiation states: the fast CPU
//!   backend 1e-5 (the same f32 kernels and optimizer arithmetic, sums in another order: 1e-7 measured, the worst
//!   of each case is printed), the GPU `tolerance::LOSS` (its stack kernels sum in another fixed order than its
//!   single paths, split-K over the stack's columns), the reference 0 (it has no stacked path);
//! - against the f64 reference, `tolerance::LOSS` = 1e-3: what the conformance suite holds every single run to.

use std::sync::atomic::{AtomicBool, Ordering};

use popdecode::backend::stack::{Member, Stack, StackControl, StackProgress, one_by_one};
use popdecode::backend::{Backend, Stop, Trained};
use popdecode::compare::{Comparison, assert_all, tolerance};
use popdecode::data::Dataset;
use popdecode::data::split::Split;
use popdecode::data::synth::{self, SynthConfig};
use popdecode::model::{Params, Spec};
use popdecode::objective::{Objective, Penalty};
use popdecode::optim::{self, HyperParameters, Optimizer};
use popdecode::reference::ReferenceBackend;
use popdecode::training::Config;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

pub const EPOCHS: usize = 12;

/// The stand-in's recipe at 300 neurons and 120 stimuli.
pub fn data() -> Dataset {
    synth::generate(&SynthConfig {
        neurons: 300,
        stimuli: 120,
        seed: 3,
    })
}

pub fn config(lr: f64) -> Config {
    Config {
        epochs: EPOCHS,
        lr,
        ..Config::default()
    }
}

pub fn sgd(momentum: f64) -> Optimizer {
    optim::build(
        "sgd",
        &HyperParameters {
            momentum: Some(momentum),
            ..HyperParameters::default()
        },
    )
    .expect("sgd builds")
}

/// Fold `fold` of 5 of the rows shuffled by `seed`: that fifth for testing, the rest for training.
pub fn fold(rows: usize, seed: u64, fold: usize) -> Split {
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let (lo, hi) = (fold * rows / 5, (fold + 1) * rows / 5);
    Split {
        test: order[lo..hi].to_vec(),
        train: order[..lo].iter().chain(&order[hi..]).copied().collect(),
    }
}

/// `n` of `cols` columns, shuffled by `seed`.
pub fn subset(cols: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut c: Vec<usize> = (0..cols).collect();
    c.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    c.truncate(n);
    c
}

pub fn member(
    spec: &Spec,
    neurons: Vec<usize>,
    split: &Split,
    seed: u64,
    config: Config,
) -> Member {
    Member {
        neurons,
        train: split.train.clone(),
        test: split.test.clone(),
        params: Params::init(spec, seed),
        config,
    }
}

/// A stack's parts, owned: the stand-in's data, the shape and the members.
pub struct Case {
    pub data: Dataset,
    pub spec: Spec,
    pub members: Vec<Member>,
}

impl Case {
    /// `n` members of `spec` on `data()`, member `f` reading every column and trained on fold `f` of the rows
    /// shuffled by `seed`, from initial seed `f`, by `config(f)`.
    pub fn folds(spec: Spec, n: usize, seed: u64, config: impl Fn(usize) -> Config) -> Case {
        let data = data();
        let rows = data.stimuli.len();
        let all: Vec<usize> = (0..data.neurons()).collect();
        let members = (0..n)
            .map(|f| {
                member(
                    &spec,
                    all.clone(),
                    &fold(rows, seed, f),
                    f as u64,
                    config(f),
                )
            })
            .collect();
        Case {
            data,
            spec,
            members,
        }
    }

    pub fn stack(&self) -> Stack<'_> {
        Stack {
            x: &self.data.resp,
            stimuli: &self.data.stimuli,
            spec: &self.spec,
            members: &self.members,
        }
    }
}

/// The stack trained by `backend`, with the progress it reported as (done, training, epoch); `stop`, when
/// given, is raised at the first report of epoch `raise_at` or later.
pub fn train(
    backend: &mut dyn Backend,
    stack: &Stack,
    stop: Option<&AtomicBool>,
    raise_at: usize,
) -> (Vec<Trained>, Vec<(usize, usize, usize)>) {
    let mut reports = Vec::new();
    let mut progress = |p: StackProgress| {
        reports.push((p.done, p.training, p.epoch));
        if let Some(flag) = stop
            && p.epoch >= raise_at
        {
            flag.store(true, Ordering::Relaxed);
        }
    };
    let mut control = StackControl::new(&mut progress);
    if let Some(flag) = stop {
        control = control.stop_on(flag);
    }
    let out = backend
        .train_stack(stack, &mut control)
        .expect("the stack trains");
    (out, reports)
}

/// Why `backend` trains `stack` one by one (`StackControl::one_by_one`), or `None` if it trains it together.
pub fn one_by_one_why(backend: &mut dyn Backend, stack: &Stack) -> Option<String> {
    let mut nothing = |_: StackProgress| {};
    let mut control = StackControl::new(&mut nothing);
    backend
        .train_stack(stack, &mut control)
        .expect("the stack trains");
    control.one_by_one
}

/// Each member trained alone on `backend`.
pub fn alone(backend: &mut dyn Backend, stack: &Stack) -> Vec<Trained> {
    one_by_one(backend, stack, &mut StackControl::new(&mut |_| {})).expect("one by one")
}

/// Member by member: the same stop and history length, then every epoch's losses, the weights, the test
/// outputs and the final training loss within `tol`.
pub fn compare(label: &str, got: &[Trained], want: &[Trained], tol: f64) -> Vec<Comparison> {
    assert_eq!(got.len(), want.len(), "{label}: members trained");
    let mut c = Vec::new();
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.stop, w.stop, "{label}: member {k}'s stop");
        assert_eq!(
            g.history.train_loss.len(),
            w.history.train_loss.len(),
            "{label}: member {k}'s epochs"
        );
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if !(finite(&g.history.train_loss) && finite(&g.history.test_loss)) {
            // A diverged member: its finite epochs compared, its last one not finite on both sides.
            let n = g.history.train_loss.len() - 1;
            for h in [&g.history, &w.history] {
                assert!(
                    !(h.train_loss[n].is_finite() && h.test_loss[n].is_finite()),
                    "{label}: member {k} diverged at its last epoch"
                );
            }
            c.push(Comparison::new(
                format!("{label} #{k} losses before divergence"),
                &[&g.history.train_loss[..n], &g.history.test_loss[..n]].concat(),
                &[&w.history.train_loss[..n], &w.history.test_loss[..n]].concat(),
                tol,
            ));
            continue;
        }
        c.push(Comparison::new(
            format!("{label} #{k} train losses"),
            &g.history.train_loss,
            &w.history.train_loss,
            tol,
        ));
        c.push(Comparison::new(
            format!("{label} #{k} test losses"),
            &g.history.test_loss,
            &w.history.test_loss,
            tol,
        ));
        for ((name, _, a), (_, _, b)) in g.params.tensors().iter().zip(w.params.tensors().iter()) {
            c.push(Comparison::new(format!("{label} #{k} {name}"), a, b, tol));
        }
        c.push(Comparison::new(
            format!("{label} #{k} test outputs"),
            &g.test_outputs,
            &w.test_outputs,
            tol,
        ));
        c.push(Comparison::new(
            format!("{label} #{k} final train loss"),
            &[g.final_train_loss],
            &[w.final_train_loss],
            tol,
        ));
    }
    c
}

fn worst(c: &[Comparison]) -> f64 {
    c.iter().map(|c| c.rel_error).fold(0.0, f64::max)
}

/// The stack on `backend` against the same backend one by one (`alone_tol`) and the reference
/// (`tolerance::LOSS`), with progress at least every `epochs / 5` epochs and at the end; the stacked results.
pub fn check(
    backend: &mut dyn Backend,
    alone_tol: f64,
    label: &str,
    stack: &Stack,
) -> Vec<Trained> {
    let (got, reports) = train(backend, stack, None, 0);
    assert_progress(label, stack, &reports);
    let single = alone(backend, stack);
    let reference = alone(&mut ReferenceBackend, stack);
    let mut c = compare(&format!("{label} vs alone"), &got, &single, alone_tol);
    eprintln!("{label}: worst relative error vs alone {:.1e}", worst(&c));
    let against_reference = compare(
        &format!("{label} vs reference"),
        &got,
        &reference,
        tolerance::LOSS,
    );
    eprintln!(
        "{label}: worst relative error vs the reference {:.1e}",
        worst(&against_reference)
    );
    c.extend(against_reference);
    assert_all(&c);
    got
}

/// Progress for each group of members trained together (all of them, or one at a time): at least every
/// `epochs / 5` epochs and at the end, the groups covering every member once, in order.
fn assert_progress(label: &str, stack: &Stack, reports: &[(usize, usize, usize)]) {
    let every = (stack.epochs() / 5).max(1);
    let mut next = 0;
    let mut i = 0;
    while i < reports.len() {
        let (done, training, _) = reports[i];
        assert_eq!(done, next, "{label}: groups {reports:?}");
        let epochs: Vec<usize> = reports[i..]
            .iter()
            .take_while(|r| (r.0, r.1) == (done, training))
            .map(|r| r.2)
            .collect();
        assert!(
            epochs[0] <= every
                && epochs
                    .windows(2)
                    .all(|w| w[1] > w[0] && w[1] - w[0] <= every)
                && epochs.last() == Some(&stack.epochs()),
            "{label}: progress {reports:?}"
        );
        i += epochs.len();
        next += training;
    }
    assert_eq!(next, stack.members.len(), "{label}: groups {reports:?}");
}

/// Each member's loss falls and its first layer moves by far more than any tolerance: the comparisons mean
/// something only if training moved.
fn assert_learnt(label: &str, got: &[Trained], stack: &Stack) {
    for (k, (t, m)) in got.iter().zip(stack.members).enumerate() {
        assert_eq!(t.stop, Stop::Complete, "{label}: member {k}");
        let h = &t.history.train_loss;
        let moved =
            popdecode::compare::rel_error(&t.params.layers[0].weight, &m.params.layers[0].weight);
        assert!(
            h[h.len() - 1] < h[0] && moved > 1e-3,
            "{label}: member {k} learnt nothing (loss {h:?}, first layer moved {moved:.1e}), so the case \
             proves little"
        );
    }
}

/// Six networks reading 200 of the 300 columns (every member its own subset, in various orders), on their own
/// folds and seeds, with their own learning rates, momentum and penalties: everything a stacked SGD path takes.
pub fn mixed_regression(backend: &mut dyn Backend, alone_tol: f64) {
    let data = data();
    let spec = Spec::tutorial(200, 6);
    let rows = data.stimuli.len();
    let first: Vec<usize> = (0..200).collect();
    let members = vec![
        member(&spec, first.clone(), &fold(rows, 1, 0), 1, config(1e-3)),
        member(&spec, first.clone(), &fold(rows, 1, 3), 2, config(1e-3)),
        member(
            &spec,
            subset(300, 200, 5),
            &fold(rows, 2, 1),
            3,
            Config {
                optimizer: sgd(0.9),
                ..config(3e-4)
            },
        ),
        member(
            &spec,
            subset(300, 200, 6),
            &Split::shuffled(rows, 0.6, 4).expect("a split"),
            4,
            Config {
                penalty: Penalty { l1: 0.05, l2: 0.5 },
                ..config(2e-3)
            },
        ),
        member(
            &spec,
            first.iter().rev().copied().collect(),
            &fold(rows, 1, 0),
            5,
            Config {
                optimizer: sgd(0.5),
                penalty: Penalty { l1: 0.1, l2: 0.0 },
                ..config(5e-4)
            },
        ),
        member(
            &spec,
            subset(300, 200, 7),
            &fold(rows, 3, 4),
            6,
            config(2e-3),
        ),
    ];
    let stack = Stack {
        x: &data.resp,
        stimuli: &data.stimuli,
        spec: &spec,
        members: &members,
    };
    let got = check(backend, alone_tol, "mixed", &stack);
    assert_learnt("mixed", &got, &stack);
}

/// Members of one stack with different optimizers (Adam beside SGD): whatever path the backend takes for them.
pub fn mixed_optimizers(backend: &mut dyn Backend, alone_tol: f64) {
    let data = data();
    let spec = Spec::tutorial(300, 5);
    let rows = data.stimuli.len();
    let all: Vec<usize> = (0..300).collect();
    let adam = optim::build("adam", &HyperParameters::default()).expect("adam builds");
    let members = vec![
        member(&spec, all.clone(), &fold(rows, 8, 0), 1, config(1e-3)),
        member(
            &spec,
            subset(300, 300, 8),
            &fold(rows, 8, 2),
            2,
            Config {
                optimizer: adam,
                ..config(1e-2)
            },
        ),
    ];
    let stack = Stack {
        x: &data.resp,
        stimuli: &data.stimuli,
        spec: &spec,
        members: &members,
    };
    let got = check(backend, alone_tol, "optimizers", &stack);
    assert_learnt("optimizers", &got, &stack);
}

/// A classifier over every column (one member's columns permuted), with and without momentum and a penalty.
pub fn classifier(backend: &mut dyn Backend, alone_tol: f64) {
    let data = data();
    let spec = Spec {
        objective: Objective::Nll { classes: 12 },
        ..Spec::tutorial(300, 8)
    };
    let rows = data.stimuli.len();
    let all: Vec<usize> = (0..300).collect();
    let members: Vec<Member> = (0..5)
        .map(|f| {
            let neurons = if f == 2 {
                subset(300, 300, 9) // every column, permuted: no mask
            } else {
                all.clone()
            };
            let c = Config {
                optimizer: sgd(if f % 2 == 0 { 0.0 } else { 0.9 }),
                penalty: Penalty {
                    l1: 0.0,
                    l2: if f == 4 { 0.01 } else { 0.0 },
                },
                ..config(0.05 * (1 + f) as f64)
            };
            member(&spec, neurons, &fold(rows, 7, f), 10 + f as u64, c)
        })
        .collect();
    let stack = Stack {
        x: &data.resp,
        stimuli: &data.stimuli,
        spec: &spec,
        members: &members,
    };
    let got = check(backend, alone_tol, "classifier", &stack);
    assert_learnt("classifier", &got, &stack);
}

/// The tutorial's training (plain SGD, no penalty) for every member: a stacked path's simplest case.
pub fn plain_sgd(backend: &mut dyn Backend, alone_tol: f64) {
    let case = Case::folds(Spec::tutorial(300, 6), 4, 9, |f| {
        config(5e-4 * (f + 1) as f64)
    });
    let got = check(backend, alone_tol, "plain sgd", &case.stack());
    assert_learnt("plain sgd", &got, &case.stack());
}

/// Raised at a progress report, the stop flag ends every member training at one epoch boundary before the last,
/// each where a run of that many epochs alone ends, and starts no other; raised before the start, nothing trains.
pub fn stop_flag(backend: &mut dyn Backend, alone_tol: f64) {
    let case = Case::folds(Spec::tutorial(300, 5), 3, 2, |_| config(1e-3));
    let stack = case.stack();
    let flag = AtomicBool::new(false);
    let (got, reports) = train(backend, &stack, Some(&flag), 4);
    // Trained together, every member stops; one by one, the first stops and the rest never start.
    let together = reports.iter().all(|r| r.1 == case.members.len());
    let trained = if together { case.members.len() } else { 1 };
    assert_eq!(got.len(), trained, "{reports:?}");
    let Stop::Interrupted { epoch } = got[0].stop else {
        panic!("not interrupted: {:?}", got[0].stop)
    };
    // A backend that queues epochs ahead (the GPU) stops at the end of what it queued.
    assert!(
        (4..EPOCHS).contains(&epoch),
        "stopped at {epoch}: {reports:?}"
    );
    for t in &got {
        assert_eq!(t.stop, Stop::Interrupted { epoch });
        assert_eq!(t.history.train_loss.len(), epoch);
    }
    let shorter: Vec<Member> = case.members[..trained]
        .iter()
        .map(|m| Member {
            config: Config {
                epochs: epoch,
                ..m.config
            },
            ..m.clone()
        })
        .collect();
    let single = alone(
        backend,
        &Stack {
            members: &shorter,
            ..stack
        },
    );
    let got: Vec<Trained> = got
        .into_iter()
        .map(|t| Trained {
            stop: Stop::Complete,
            ..t
        })
        .collect();
    assert_all(&compare("interrupted", &got, &single, alone_tol));
    let (none, reports) = train(backend, &stack, Some(&flag), 0);
    assert!(none.is_empty() && reports.is_empty(), "{reports:?}");
}

/// One member whose loss explodes ends `Diverged` with its history cut there; the others train as alone.
pub fn diverging_member(backend: &mut dyn Backend, alone_tol: f64) {
    let case = Case::folds(Spec::tutorial(300, 6), 4, 4, |f| {
        config(if f == 1 { 1e3 } else { 1e-3 })
    });
    let (got, _) = train(backend, &case.stack(), None, 0);
    let Stop::Diverged { epoch } = got[1].stop else {
        panic!("member 1 should diverge: {:?}", got[1].stop)
    };
    assert!(epoch < EPOCHS, "{epoch}");
    let h = &got[1].history;
    assert_eq!((h.train_loss.len(), h.test_loss.len()), (epoch, epoch));
    assert!(h.train_loss[..epoch - 1].iter().all(|l| l.is_finite()));
    for k in [0, 2, 3] {
        assert_eq!(got[k].stop, Stop::Complete, "member {k}");
    }
    assert_all(&compare(
        "diverging",
        &got,
        &alone(backend, &case.stack()),
        alone_tol,
    ));
}

/// Mini-batches are no stacked path's: the members train one by one, so bit for bit as alone, reporting one
/// member at a time.
pub fn mini_batches(backend: &mut dyn Backend) {
    let case = Case::folds(Spec::tutorial(300, 4), 2, 5, |f| Config {
        batch_size: Some(if f == 0 { 96 } else { 16 }),
        shuffle_seed: 5,
        ..config(1e-3)
    });
    let (got, reports) = train(backend, &case.stack(), None, 0);
    let why = one_by_one_why(backend, &case.stack()).expect("trained one by one, saying why");
    // The stacked paths name the mini-batches; a backend without one, or with its general path forced, says so.
    assert!(
        ["mini-batches", "no stacked path", "general path is forced"]
            .iter()
            .any(|w| why.contains(w)),
        "{why}"
    );
    assert_all(&compare(
        "mini-batches",
        &got,
        &alone(backend, &case.stack()),
        0.0,
    ));
    assert!(
        reports.iter().all(|&(_, training, _)| training == 1),
        "{reports:?}"
    );
    assert_eq!(reports.last(), Some(&(1, 1, EPOCHS)));
}
