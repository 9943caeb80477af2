//! What only the fast CPU backend's stacked path (`cpu::stack`) does; the cases every backend's stacks must pass
//! are in the backend suite (tests/common/stacks.rs, run by tests/conformance_cpu.rs). Tolerance against the CPU
//! one by one: 1e-5, as there.

mod common;

use common::stacks::{Case, alone, compare, config, one_by_one_why, train};
use popdecode::backend::Stop;
use popdecode::compare::assert_all;
use popdecode::cpu::CpuBackend;
use popdecode::model::Spec;
use popdecode::training::Config;

const ALONE: f64 = 1e-5;

#[test]
fn a_stack_wider_than_a_group_trains_group_by_group() {
    // 700 units a member: `MAX_UNITS` (2000) takes two at a time, so 3 members are two groups.
    assert_eq!(popdecode::cpu::stack::MAX_UNITS / 700, 2);
    let case = Case::folds(Spec::tutorial(300, 700), 3, 6, |_| Config {
        epochs: 3,
        ..config(1e-4)
    });
    let (got, reports) = train(&mut CpuBackend::new(), &case.stack(), None, 0);
    let want: Vec<(usize, usize, usize)> = [(0, 2), (2, 1)]
        .into_iter()
        .flat_map(|(done, training)| (1..=3).map(move |e| (done, training, e)))
        .collect();
    assert_eq!(reports, want);
    assert_all(&compare(
        "groups",
        &got,
        &alone(&mut CpuBackend::new(), &case.stack()),
        ALONE,
    ));
}

/// On the CPU a stop is exact: raised at the report of epoch 4 (reports come every 2 of the 12 epochs), every
/// member stops there, not later.
#[test]
fn the_stop_flag_stops_a_cpu_stack_at_the_report_that_raised_it() {
    let case = Case::folds(Spec::tutorial(300, 5), 3, 2, |_| config(1e-3));
    let flag = std::sync::atomic::AtomicBool::new(false);
    let (got, reports) = train(&mut CpuBackend::new(), &case.stack(), Some(&flag), 4);
    assert_eq!(reports, vec![(0, 3, 2), (0, 3, 4)]);
    assert!(got.iter().all(|t| t.stop == Stop::Interrupted { epoch: 4 }));
}

/// A stack the stacked path does not take says why it trains one by one; one it takes trains together.
#[test]
fn the_cpu_says_why_a_stack_trains_one_by_one() {
    let deep = Case::folds(
        Spec::new(
            300,
            vec![6, 3],
            popdecode::model::Activation::Relu,
            popdecode::objective::Objective::Mse,
        )
        .unwrap(),
        2,
        3,
        |_| config(1e-3),
    );
    let why = one_by_one_why(&mut CpuBackend::new(), &deep.stack());
    assert!(
        why.as_deref()
            .is_some_and(|w| w.contains("2 hidden layers")),
        "{why:?}"
    );
    let plain = Case::folds(Spec::tutorial(300, 6), 2, 3, |_| config(1e-3));
    assert_eq!(one_by_one_why(&mut CpuBackend::new(), &plain.stack()), None);
}
