//! The fast CPU backend's stacked path (`cpu::stack`): every member of a stack trained together ends where it
//! ends alone, on the same backend (`backend::stack::one_by_one`, each member through `train_with`) and on the
//! f64 reference, epoch by epoch: losses, weights, test outputs, final training loss and why it stopped.
//!
//! Tolerances (relative error of whole tensors, `compare`):
//! - against the CPU one by one, `ALONE` = 1e-5: both are f32 with the same kernels and optimizer arithmetic;
//!   they differ only in the order of sums (the stack's chunk width is that of K x M units, its gradient runs
//!   over the union of the members' rows with zeros elsewhere, a member's forward sum runs over every stack
//!   column with zero weights off its neurons), so a few f32 roundings apart: 1e-7 measured over these 12
//!   epochs (the worst of each case is printed), while a wrong row, column, scale or step is off by far more.
//! - against the f64 reference, `tolerance::LOSS` = 1e-3: what the conformance suite holds the single path to.

use std::sync::atomic::{AtomicBool, Ordering};

use popdecode::backend::stack::{Member, Stack, StackControl, StackProgress, one_by_one};
use popdecode::backend::{Backend, Stop, Trained};
use popdecode::compare::{Comparison, assert_all, tolerance};
use popdecode::cpu::CpuBackend;
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

const ALONE: f64 = 1e-5;
const EPOCHS: usize = 12;

fn data() -> Dataset {
    synth::generate(&SynthConfig {
        neurons: 300,
        stimuli: 120,
        seed: 3,
    })
}

fn config(lr: f64) -> Config {
    Config {
        epochs: EPOCHS,
        lr,
        ..Config::default()
    }
}

fn sgd(momentum: f64) -> Optimizer {
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
fn fold(rows: usize, seed: u64, fold: usize) -> Split {
    let mut order: Vec<usize> = (0..rows).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let (lo, hi) = (fold * rows / 5, (fold + 1) * rows / 5);
    Split {
        test: order[lo..hi].to_vec(),
        train: order[..lo].iter().chain(&order[hi..]).copied().collect(),
    }
}

/// `n` of `cols` columns, shuffled by `seed`.
fn subset(cols: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut c: Vec<usize> = (0..cols).collect();
    c.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    c.truncate(n);
    c
}

fn member(spec: &Spec, neurons: Vec<usize>, split: &Split, seed: u64, config: Config) -> Member {
    Member {
        neurons,
        train: split.train.clone(),
        test: split.test.clone(),
        params: Params::init(spec, seed),
        config,
    }
}

/// The stack trained by `backend`, with the progress it reported.
fn train(
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

/// Member by member: the same stop and history length, then every epoch's losses, the weights, the test
/// outputs and the final training loss within `tol`.
fn compare(label: &str, got: &[Trained], want: &[Trained], tol: f64) -> Vec<Comparison> {
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

/// The stack on the CPU against the CPU one by one (`ALONE`) and the reference (`tolerance::LOSS`); the
/// stacked results.
fn check(label: &str, stack: &Stack) -> Vec<Trained> {
    let (got, reports) = train(&mut CpuBackend::new(), stack, None, 0);
    let mut cpu = CpuBackend::new();
    let alone = one_by_one(&mut cpu, stack, &mut StackControl::new(&mut |_| {})).expect("alone");
    let reference = ReferenceBackend
        .train_stack(stack, &mut StackControl::new(&mut |_| {}))
        .expect("reference");
    // Every `epochs / 5` epochs and at the end, all members at once.
    let every = (stack.epochs() / 5).max(1);
    let want: Vec<(usize, usize, usize)> = (1..=stack.epochs())
        .filter(|e| e % every == 0 || *e == stack.epochs())
        .map(|e| (0, stack.members.len(), e))
        .collect();
    assert_eq!(reports, want, "{label}: progress");
    let mut c = compare(&format!("{label} vs alone"), &got, &alone, ALONE);
    let worst = |c: &[Comparison]| c.iter().map(|c| c.rel_error).fold(0.0, f64::max);
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

#[test]
fn a_mixed_stack_trains_as_each_network_alone() {
    let data = data();
    // 200 inputs of the 300 columns: every member reads a subset (masked), in various orders.
    let spec = Spec::tutorial(200, 6);
    let rows = data.stimuli.len();
    let first: Vec<usize> = (0..200).collect();
    let adam = optim::build("adam", &HyperParameters::default()).expect("adam builds");
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
    let got = check("mixed", &stack);
    for (k, t) in got.iter().enumerate() {
        assert_eq!(t.stop, Stop::Complete, "member {k}");
        let h = &t.history;
        assert!(
            h.train_loss[EPOCHS - 1] < h.train_loss[0],
            "member {k} learnt nothing, so the case proves little: {:?}",
            h.train_loss
        );
    }
}

#[test]
fn a_classifier_stack_over_every_column_trains_as_each_network_alone() {
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
    check("classifier", &stack);
}

#[test]
fn the_stop_flag_interrupts_every_member_at_an_epoch_boundary() {
    let data = data();
    let spec = Spec::tutorial(300, 5);
    let rows = data.stimuli.len();
    let all: Vec<usize> = (0..300).collect();
    let members: Vec<Member> = (0..3)
        .map(|f| {
            member(
                &spec,
                all.clone(),
                &fold(rows, 2, f),
                f as u64,
                config(1e-3),
            )
        })
        .collect();
    let stack = Stack {
        x: &data.resp,
        stimuli: &data.stimuli,
        spec: &spec,
        members: &members,
    };
    // Reports come every 2 epochs: raised at the report of epoch 4, it stops there.
    let flag = AtomicBool::new(false);
    let (got, reports) = train(&mut CpuBackend::new(), &stack, Some(&flag), 4);
    assert_eq!(reports, vec![(0, 3, 2), (0, 3, 4)]);
    assert!(got.iter().all(|t| t.stop == Stop::Interrupted { epoch: 4 }));
    // Each ends where a 4-epoch run of it alone ends, but for why it stopped.
    let four: Vec<Member> = members
        .iter()
        .map(|m| Member {
            config: Config {
                epochs: 4,
                ..m.config
            },
            ..m.clone()
        })
        .collect();
    let alone = one_by_one(
        &mut CpuBackend::new(),
        &Stack {
            members: &four,
            ..stack
        },
        &mut StackControl::new(&mut |_| {}),
    )
    .expect("alone");
    let got: Vec<Trained> = got
        .into_iter()
        .map(|t| Trained {
            stop: Stop::Complete,
            ..t
        })
        .collect();
    assert_all(&compare("interrupted", &got, &alone, ALONE));
    // Raised before the start: nothing trains, as one by one.
    let (none, reports) = train(&mut CpuBackend::new(), &stack, Some(&flag), 0);
    assert!(none.is_empty() && reports.is_empty());
}

#[test]
fn a_diverging_member_does_not_disturb_the_others() {
    let data = data();
    let spec = Spec::tutorial(300, 6);
    let rows = data.stimuli.len();
    let all: Vec<usize> = (0..300).collect();
    let members: Vec<Member> = (0..4)
        .map(|f| {
            let lr = if f == 1 { 1e3 } else { 1e-3 };
            member(&spec, all.clone(), &fold(rows, 4, f), f as u64, config(lr))
        })
        .collect();
    let stack = Stack {
        x: &data.resp,
        stimuli: &data.stimuli,
        spec: &spec,
        members: &members,
    };
    let (got, _) = train(&mut CpuBackend::new(), &stack, None, 0);
    assert!(
        matches!(got[1].stop, Stop::Diverged { epoch } if epoch < EPOCHS),
        "{:?}",
        got[1].stop
    );
    for k in [0, 2, 3] {
        assert_eq!(got[k].stop, Stop::Complete, "member {k}");
    }
    let alone = one_by_one(
        &mut CpuBackend::new(),
        &stack,
        &mut StackControl::new(&mut |_| {}),
    )
    .expect("alone");
    assert_all(&compare("diverging", &got, &alone, ALONE));
}

#[test]
fn a_mini_batch_stack_is_trained_one_by_one() {
    let data = data();
    let spec = Spec::tutorial(300, 4);
    let rows = data.stimuli.len();
    let all: Vec<usize> = (0..300).collect();
    let members: Vec<Member> = (0..2)
        .map(|f| {
            let c = Config {
                batch_size: Some(if f == 0 { 96 } else { 16 }),
                shuffle_seed: 5,
                ..config(1e-3)
            };
            member(&spec, all.clone(), &fold(rows, 5, f), f as u64, c)
        })
        .collect();
    let stack = Stack {
        x: &data.resp,
        stimuli: &data.stimuli,
        spec: &spec,
        members: &members,
    };
    let (got, reports) = train(&mut CpuBackend::new(), &stack, None, 0);
    let alone = one_by_one(
        &mut CpuBackend::new(),
        &stack,
        &mut StackControl::new(&mut |_| {}),
    )
    .expect("alone");
    // The same path, so the same bits; and progress one member at a time.
    assert_all(&compare("mini-batches", &got, &alone, 0.0));
    assert!(reports.iter().all(|&(_, training, _)| training == 1));
    assert_eq!(reports.last(), Some(&(1, 1, EPOCHS)));
}

#[test]
fn a_stack_wider_than_a_group_trains_group_by_group() {
    let data = data();
    // 700 units a member: `MAX_UNITS` (2000) takes two at a time, so 3 members are two groups.
    let spec = Spec::tutorial(300, 700);
    assert_eq!(popdecode::cpu::stack::MAX_UNITS / 700, 2);
    let rows = data.stimuli.len();
    let all: Vec<usize> = (0..300).collect();
    let members: Vec<Member> = (0..3)
        .map(|f| {
            let c = Config {
                epochs: 3,
                ..config(1e-4)
            };
            member(&spec, all.clone(), &fold(rows, 6, f), f as u64, c)
        })
        .collect();
    let stack = Stack {
        x: &data.resp,
        stimuli: &data.stimuli,
        spec: &spec,
        members: &members,
    };
    let (got, reports) = train(&mut CpuBackend::new(), &stack, None, 0);
    let want: Vec<(usize, usize, usize)> = [(0, 2), (2, 1)]
        .into_iter()
        .flat_map(|(done, training)| (1..=3).map(move |e| (done, training, e)))
        .collect();
    assert_eq!(reports, want);
    let alone = one_by_one(
        &mut CpuBackend::new(),
        &stack,
        &mut StackControl::new(&mut |_| {}),
    )
    .expect("alone");
    assert_all(&compare("groups", &got, &alone, ALONE));
}
