//! The CPU backend's stacked path against one wide network, at the tutorial's size (synthetic data: 23,589
//! neurons x 360 stimuli, the 60/40 split):
//!
//! - one network of M = 1000 (`train_with`),
//! - a stack of 100 networks of M = 10 on the same split (seeds 0..100): the target is at most 1.2x
//!   the M = 1000 network's time,
//! - a stack of 5 folds x 4 repeats (20 networks of M = 10, each on its own training rows),
//! - one network of M = 10, for what 100 of them one by one would cost.
//!
//! `cargo run --release --example stack_speed [EPOCHS] [REPS]` (default 20 and 3): ms per epoch of training,
//! without setup, the best of REPS runs of each, the runs taken in turn so that a busy spell hits all alike.

use std::time::Instant;

use popdecode::backend::stack::{Member, Stack, StackControl};
use popdecode::backend::{Backend, Control};
use popdecode::cpu::CpuBackend;
use popdecode::data::problem::Problem;
use popdecode::data::split::Split;
use popdecode::data::synth::{self, SynthConfig};
use popdecode::model::{Params, Spec};
use popdecode::torch_rng::TorchGenerator;
use popdecode::training::Config;

fn main() -> popdecode::Result<()> {
    let epochs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let reps: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3)
        .max(1);
    let data = synth::generate(&SynthConfig::default());
    let (rows, cols) = (data.resp.rows, data.resp.cols);
    let split = Split::shuffled(rows, 0.6, 0)?;
    let problem = Problem::new(&data, &split);
    let config = Config {
        epochs,
        ..Config::default()
    };
    let mut cpu = CpuBackend::new();
    println!("{}; {epochs} epochs", cpu.describe());

    let single = |cpu: &mut CpuBackend, m: usize| -> popdecode::Result<f64> {
        let spec = Spec::tutorial(cols, m);
        let params = Params::init(&spec, 0);
        let t = cpu.train_with(
            &problem,
            &spec,
            &params,
            &config,
            &mut Control::new(&mut |_| {}),
        )?;
        Ok(t.train_time.as_secs_f64() * 1e3 / epochs as f64)
    };
    let spec = Spec::tutorial(cols, 10);
    let all: Vec<usize> = (0..cols).collect();
    let member = |seed: u64, train: Vec<usize>, test: Vec<usize>| Member {
        neurons: all.clone(),
        train,
        test,
        params: Params::init(&spec, seed),
        config,
    };
    let time_stack = |cpu: &mut CpuBackend, members: &[Member]| -> popdecode::Result<(f64, f64)> {
        let stack = Stack {
            x: &data.resp,
            stimuli: &data.stimuli,
            spec: &spec,
            members,
        };
        let start = Instant::now();
        let out = cpu.train_stack(&stack, &mut StackControl::new(&mut |_| {}))?;
        let wall = start.elapsed().as_secs_f64();
        let train: f64 = out.iter().map(|t| t.train_time.as_secs_f64()).sum();
        Ok((train * 1e3 / epochs as f64, (wall - train) * 1e3))
    };
    let same: Vec<Member> = (0..100)
        .map(|s| member(s, split.train.clone(), split.test.clone()))
        .collect();
    let mut folds = Vec::new();
    for repeat in 0..4u64 {
        let order = TorchGenerator::manual_seed(100 + repeat).randperm(rows);
        for f in 0..5 {
            let (lo, hi) = (f * rows / 5, (f + 1) * rows / 5);
            let train = order[..lo].iter().chain(&order[hi..]).copied().collect();
            folds.push(member(repeat * 5 + f as u64, train, order[lo..hi].to_vec()));
        }
    }
    let (mut wide, mut narrow, mut same_ms, mut folds_ms) = [f64::INFINITY; 4].into();
    let (mut same_setup, mut folds_setup) = (0.0, 0.0);
    for _ in 0..reps {
        wide = f64::min(wide, single(&mut cpu, 1000)?);
        narrow = f64::min(narrow, single(&mut cpu, 10)?);
        let (ms, setup) = time_stack(&mut cpu, &same)?;
        (same_ms, same_setup) = (same_ms.min(ms), setup);
        let (ms, setup) = time_stack(&mut cpu, &folds)?;
        (folds_ms, folds_setup) = (folds_ms.min(ms), setup);
    }
    println!("one network, M = 1000:          {wide:8.2} ms/epoch");
    println!(
        "one network, M = 10:            {narrow:8.2} ms/epoch (x100 one by one: {:.1}, x20: {:.1})",
        100.0 * narrow,
        20.0 * narrow
    );
    println!(
        "stack of 100 x M = 10, one split: {same_ms:8.2} ms/epoch ({:.2}x the M = 1000 network; setup \
         {same_setup:.0} ms)",
        same_ms / wide
    );
    println!(
        "stack of 5 folds x 4 repeats, M = 10: {folds_ms:8.2} ms/epoch ({:.2}x one M = 10 network; setup \
         {folds_setup:.0} ms)",
        folds_ms / narrow
    );
    Ok(())
}
