//! What only the GPU's stacked path (src/gpu/stack/, shaders/stack/) does; the cases every backend's stacks must
//! pass (each member against itself alone and against the reference) are in the backend suite
//! (tests/common/stacks.rs, run by tests/conformance_gpu.rs). Here: a stack split into groups at the adapter's
//! binding limit, and a diverging member, both held to exact equality with fixed tiles (members are independent
//! in every kernel, so the same plan gives the same bits); and an ignored timing.

mod common;

use common::gpu;
use popdecode::backend::stack::{Member, Stack, StackControl, one_by_one};
use popdecode::backend::{Backend, Stop, Trained};
use popdecode::data::Matrix;
use popdecode::gpu::GpuBackend;
use popdecode::gpu::runtime::wgsl::Tiles;
use popdecode::gpu::stack::StackTuning;
use popdecode::model::{Activation, Params, Spec};
use popdecode::objective::{Objective, Penalty};
use popdecode::optim::Optimizer;
use popdecode::training::Config;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ROWS: usize = 120;
const COLS: usize = 300;
const NEURONS: usize = 200;
const HIDDEN: usize = 6;
const EPOCHS: usize = 12;

/// Responses ~ U(-1, 1) with a little of the stimulus's cosine in each column, and stimuli spread over the circle.
fn data(seed: u64) -> (Matrix, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let stimuli: Vec<f32> = (0..ROWS).map(|r| (r * 3) as f32).collect();
    let mut x = Vec::with_capacity(ROWS * COLS);
    for &s in &stimuli {
        for c in 0..COLS {
            let tuned = (s.to_radians() - c as f32 * 0.1).cos() * 0.5;
            x.push(tuned + rng.random_range(-1.0f32..1.0));
        }
    }
    (Matrix::new(ROWS, COLS, x), stimuli)
}

fn spec(objective: Objective) -> Spec {
    Spec {
        neurons: NEURONS,
        hidden: vec![HIDDEN],
        activation: Activation::Relu,
        objective,
    }
}

fn config(lr: f64, momentum: f64, l1: f64, l2: f64) -> Config {
    Config {
        epochs: EPOCHS,
        lr,
        optimizer: Optimizer::Sgd { momentum },
        batch_size: None,
        penalty: Penalty { l1, l2 },
        shuffle_seed: 0,
    }
}

/// Member `i` of a mixed stack: fold `i % 5` of the rows held out (folds interleaved), its own seed, and a
/// neuron subset: all columns in order for some, a shuffled subset of the 300 for others.
fn member(spec: &Spec, i: usize, config: Config) -> Member {
    let fold = i % 5;
    let (test, train): (Vec<usize>, Vec<usize>) = (0..ROWS).partition(|r| r % 5 == fold);
    let neurons = if i.is_multiple_of(3) {
        (0..NEURONS).collect()
    } else {
        let mut all: Vec<usize> = (0..COLS).collect();
        all.shuffle(&mut ChaCha8Rng::seed_from_u64(100 + i as u64));
        all.truncate(NEURONS);
        all
    };
    Member {
        neurons,
        train,
        test,
        params: Params::init(spec, 10 + i as u64),
        config,
    }
}

/// Six members differing in folds, seeds, neuron subsets, learning rates, momentum and penalties.
fn mixed_members(spec: &Spec, lr: f64) -> Vec<Member> {
    let configs = [
        config(lr, 0.0, 0.0, 0.0),
        config(lr * 0.5, 0.9, 0.0, 0.0),
        config(lr, 0.0, 1e-3, 0.0),
        config(lr * 2.0, 0.5, 0.0, 1e-2),
        config(lr, 0.9, 1e-3, 1e-3),
        config(lr * 1.5, 0.0, 0.0, 0.0),
    ];
    configs
        .into_iter()
        .enumerate()
        .map(|(i, c)| member(spec, i, c))
        .collect()
}

fn train_stack(backend: &mut dyn Backend, stack: &Stack) -> (Vec<Trained>, Vec<(usize, usize)>) {
    let mut reports = Vec::new();
    let mut progress =
        |p: popdecode::backend::stack::StackProgress| reports.push((p.done, p.epoch));
    let mut control = StackControl::new(&mut progress);
    let trained = backend
        .train_stack(stack, &mut control)
        .expect("train_stack");
    (trained, reports)
}

/// Fixed tiles and split-K so that every group runs the same sums as the whole stack.
fn fixed(max_binding: Option<u64>) -> GpuBackend {
    let mut backend = gpu();
    backend.stack = StackTuning {
        max_binding,
        tiles: Some(Tiles {
            row: 4,
            hidden: 2,
            col: 2,
        }),
        k_split: Some(3),
    };
    backend
}

fn assert_same(label: &str, got: &Trained, want: &Trained) {
    assert_eq!(got.history, want.history, "{label}: history");
    assert_eq!(got.params, want.params, "{label}: weights");
    assert_eq!(got.test_outputs, want.test_outputs, "{label}: test outputs");
    assert_eq!(
        got.final_train_loss.to_bits(),
        want.final_train_loss.to_bits(),
        "{label}: final loss"
    );
    assert_eq!(got.stop, want.stop, "{label}: stop");
}

#[test]
fn a_stack_past_the_binding_limit_is_split_and_equals_the_unsplit_result() {
    let (x, stimuli) = data(3);
    let spec = spec(Objective::Mse);
    let members = mixed_members(&spec, 2e-5);
    let stack = Stack {
        x: &x,
        stimuli: &stimuli,
        spec: &spec,
        members: &members,
    };
    let (whole, _) = train_stack(&mut fixed(None), &stack);
    // The matrix takes 120 x 75 vec4s = 144,000 bytes; the largest buffer that grows with the members is the
    // history (4,097 slots x 2 losses x 4 bytes = 32,776 bytes a member). A 150,000-byte limit holds the matrix
    // and four members' history, so the six go in two groups of three.
    let limit = 150_000;
    let (split, reports) = train_stack(&mut fixed(Some(limit)), &stack);
    let groups: std::collections::BTreeSet<usize> = reports.iter().map(|r| r.0).collect();
    assert!(groups.len() > 1, "not split: progress {reports:?}");
    assert_eq!(split.len(), whole.len());
    for (k, (s, w)) in split.iter().zip(&whole).enumerate() {
        assert_eq!(w.stop, Stop::Complete, "member {k}");
        assert_same(&format!("member {k}"), s, w);
    }
    // A matrix past the limit cannot be split: the members are trained one by one instead, as alone.
    let (fallback, _) = train_stack(&mut fixed(Some(100_000)), &stack);
    let mut nothing = |_: popdecode::backend::stack::StackProgress| {};
    let alone = one_by_one(&mut gpu(), &stack, &mut StackControl::new(&mut nothing)).unwrap();
    for (k, (f, a)) in fallback.iter().zip(&alone).enumerate() {
        assert_eq!(f.history, a.history, "fallback member {k}");
    }
}

#[test]
fn a_diverging_member_does_not_disturb_the_others() {
    let (x, stimuli) = data(4);
    let spec = spec(Objective::Mse);
    let members = mixed_members(&spec, 2e-5);
    let mut wild = members.clone();
    wild[2].config.lr = 10.0;
    let run = |members: &[Member]| {
        let stack = Stack {
            x: &x,
            stimuli: &stimuli,
            spec: &spec,
            members,
        };
        train_stack(&mut fixed(None), &stack).0
    };
    let (calm, wild) = (run(&members), run(&wild));
    for (k, (w, c)) in wild.iter().zip(&calm).enumerate() {
        if k == 2 {
            let Stop::Diverged { epoch } = w.stop else {
                panic!("member 2 should diverge: {:?}", w.stop)
            };
            let h = &w.history;
            assert_eq!((h.train_loss.len(), h.test_loss.len()), (epoch, epoch));
            assert!(!(h.train_loss[epoch - 1].is_finite() && h.test_loss[epoch - 1].is_finite()));
            assert!(h.train_loss[..epoch - 1].iter().all(|l| l.is_finite()));
        } else {
            assert_same(&format!("member {k}"), w, c);
        }
    }
}

/// Lavapipe's ms per epoch of a stack of 100 networks of M = 10 (one split, 100 seeds) against one network of
/// M = 1,000 through `train_with`, at the tutorial's size (synthetic 360 x 23,589). Run with
/// `cargo test --release --test stack_gpu -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_a_stack_of_100_against_one_wide_network() {
    use popdecode::data::synth::{SynthConfig, generate};
    let members_n: usize = std::env::var("STACK_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let epochs: usize = std::env::var("STACK_EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let data = generate(&SynthConfig::default());
    let (rows, cols) = (data.resp.rows, data.resp.cols);
    let (test, train): (Vec<usize>, Vec<usize>) = (0..rows).partition(|r| r % 5 == 0);
    let cfg = Config {
        epochs,
        ..Config::default()
    };
    let narrow = Spec::tutorial(cols, 10);
    let members: Vec<Member> = (0..members_n)
        .map(|i| Member {
            neurons: (0..cols).collect(),
            train: train.clone(),
            test: test.clone(),
            params: Params::init(&narrow, i as u64),
            config: cfg,
        })
        .collect();
    let stack = Stack {
        x: &data.resp,
        stimuli: &data.stimuli,
        spec: &narrow,
        members: &members,
    };
    let mut backend = gpu();
    let t = std::time::Instant::now();
    let (trained, _) = train_stack(&mut backend, &stack);
    let wall = t.elapsed().as_secs_f64();
    let train_s: f64 = trained.iter().map(|t| t.train_time.as_secs_f64()).sum();
    let wide = Spec::tutorial(cols, 10 * members_n);
    let problem = stack.problem(0);
    let mut nothing = |_: &popdecode::backend::Progress| {};
    let one = backend
        .train(&problem, &wide, &Params::init(&wide, 0), &cfg, &mut nothing)
        .unwrap();
    let one_s = one.train_time.as_secs_f64();
    eprintln!(
        "{} on {rows} x {cols}: stack of {members_n} x M = 10: {:.1} ms/epoch ({:.1} s wall with setup); \
         one network of M = {}: {:.1} ms/epoch; ratio {:.2}",
        backend.describe(),
        1e3 * train_s / epochs as f64,
        wall,
        10 * members_n,
        1e3 * one_s / epochs as f64,
        train_s / one_s
    );
}

/// A stack the stacked kernels do not take says why it trains one by one (Adam, mini-batches, depth); one they
/// take trains together.
#[test]
fn the_gpu_says_why_a_stack_trains_one_by_one() {
    use common::stacks::{Case, config, one_by_one_why};
    let adam = popdecode::optim::build("adam", &Default::default()).unwrap();
    let case = Case::folds(Spec::tutorial(300, 4), 2, 3, |f| Config {
        optimizer: if f == 1 { adam } else { config(1e-3).optimizer },
        ..config(1e-3)
    });
    let why = one_by_one_why(&mut gpu(), &case.stack());
    assert!(
        why.as_deref().is_some_and(|w| w.contains("optimizer adam")),
        "{why:?}"
    );
    let plain = Case::folds(Spec::tutorial(300, 4), 2, 3, |_| config(1e-3));
    assert_eq!(one_by_one_why(&mut gpu(), &plain.stack()), None);
}
