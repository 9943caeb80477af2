//! The fast CPU backend (`--backend cpu`): float32 on every core, with the processor's SIMD chosen at run time.
//!
//! Design. Nearly all of an epoch is the first layer's two products with the response matrix X (360 rows x
//! 23,589 neurons): the weight gradient `G = Δᵀ X_batch` and the forward pass `X W₁ᵀ`. Both run column chunk by
//! column chunk (`layout`): for each chunk of neurons, the gradient, the optimizer's step of those weights, the
//! forward partial sums of the updated weights on the rows the next step needs (the next batch, and at an
//! epoch's end the test rows and the next epoch's first batch), and the penalty's sums, while the chunk of X is
//! in the core's cache (`pass`). So an epoch reads X once, the forward pass of epoch e's updated weights serving
//! as epoch e's test evaluation and epoch e + 1's training forward pass, as on the GPU. Chunks are rayon tasks;
//! each writes only its own columns and its own slot of partial sums, added afterwards in chunk order, and the
//! chunk width depends only on the layer's width, so results are identical bit for bit whatever the thread
//! count. Everything after the first product (its bias and activation, later layers, the loss, the backward
//! pass to the first layer) is small and runs in f64 (`head`). The optimizer steps are the optimizers' own
//! `Rule::step_f32` (their WGSL's arithmetic: f64 scalars rounded to f32, f32 per element), inlined into code
//! compiled for the processor's SIMD: widening the f32 weights, gradient and moments to f64 for `Rule::step` cost
//! 15 ms of a 63 ms Adam epoch at M = 200 (a quarter), the f32 step nothing measurable (45 ms, as SGD).
//!
//! Kernels (`simd`): register-blocked loops in plain Rust, inlined into `#[target_feature]` functions for
//! AVX-512, AVX2+FMA and the baseline (SSE2 or NEON), the best chosen at run time. Measured on this project's
//! 2-core AMD EPYC (Zen 5, AVX-512), quiet, one thread, one pass over all 23,589 columns (gradient on 216 rows,
//! update, forward on 360 rows) in chunks of 512 columns, 2026-11-29:
//!
//! | kernels                                   | M = 10        | M = 200        | M = 1000       |
//! | ----------------------------------------- | ------------- | -------------- | -------------- |
//! | these, AVX-512                            | 83.2 GFLOP/s  | 136.9 GFLOP/s  | 135.1 GFLOP/s  |
//! | these, AVX2+FMA                           | 50.4 GFLOP/s  | 93.3 GFLOP/s   | 89.6 GFLOP/s   |
//! | these, SSE2 (the auto-vectorised baseline)| 15.7 GFLOP/s  | 18.0 GFLOP/s   | 17.9 GFLOP/s   |
//! | the `gemm` crate 0.18 per chunk, AVX-512  | 55.6 GFLOP/s  | 111.6 GFLOP/s  | 116.8 GFLOP/s  |
//!
//! so the kernels are these, with no new dependency: `gemm` (which dispatches at run time too, through `pulp`)
//! was 14-33% slower on these shapes (a short reduction of 216 rows for the gradient; chunk-sized products
//! where its packing does not pay), and the baseline's lack of FMA and wide vectors costs 5-8x, which runtime
//! dispatch recovers. `wide` fixes its width at compile time, and `multiversion` would generate what the
//! `#[target_feature]` wrappers here are, so neither was needed.

pub mod head;
pub mod layout;
pub mod pass;
pub mod simd;
pub mod stack;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::backend::stack::{Stack, Support};
use crate::backend::{Backend, Evaluation, History};
use crate::data::problem::Problem;
use crate::engine::{Final, Network, Session};
use crate::error::Result;
use crate::model::{Params, Spec};
use crate::objective::Penalty;
use crate::training::Config;

use head::Head;
use layout::{ChunkedRows, chunk_width, from_chunks, padded_units, to_chunks};
use pass::{FirstLayer, Step, Use};
use simd::Isa;

/// The fast CPU backend. It holds nothing between calls but the instruction set it found.
pub struct CpuBackend {
    isa: Isa,
}

impl Default for CpuBackend {
    fn default() -> Self {
        CpuBackend::new()
    }
}

impl CpuBackend {
    /// The backend with the best instruction set this processor has (see `Isa::detect`).
    pub fn new() -> CpuBackend {
        CpuBackend { isa: Isa::detect() }
    }

    /// The backend with `isa`'s kernels if this processor has them, else with the best it has (the tests run
    /// every path the processor can).
    pub fn with_isa(isa: Isa) -> CpuBackend {
        CpuBackend {
            isa: if isa.available() { isa } else { Isa::detect() },
        }
    }

    /// The instruction set its kernels run with.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Threads it runs on: rayon's current pool (all cores, or `RAYON_NUM_THREADS`).
    pub fn threads() -> usize {
        rayon::current_num_threads()
    }
}

/// Everything one training run or evaluation keeps: the chunked matrix, the weights, and the first layer's
/// pre-activation products of every row last forwarded.
struct Run<'a> {
    isa: Isa,
    problem: &'a Problem,
    spec: &'a Spec,
    x: ChunkedRows,
    first: FirstLayer,
    /// `in_layer.bias` and every later tensor, f32.
    head: Vec<Vec<f32>>,
    head_moments: Vec<Vec<Vec<f32>>>,
    /// The first layer's products (without bias), every row (training rows, then test rows) x M.
    products: Vec<f64>,
    /// The penalty's sums at the current first-layer weights.
    squares: f64,
    abs: f64,
    partials: Vec<f32>,
}

impl<'a> Run<'a> {
    fn new(
        isa: Isa,
        problem: &'a Problem,
        spec: &'a Spec,
        params: &Params,
        moments: usize,
    ) -> Run<'a> {
        let units = spec.width();
        let width = chunk_width(padded_units(units));
        let x = ChunkedRows::new(problem, width);
        let weights = to_chunks(&x.chunks, units, &params.layers[0].weight);
        let head: Vec<Vec<f32>> = params
            .tensors()
            .into_iter()
            .skip(1)
            .map(|(_, _, t)| t.to_vec())
            .collect();
        Run {
            isa,
            problem,
            spec,
            first: FirstLayer {
                units,
                group: units,
                moments: vec![vec![0.0; weights.len()]; moments],
                weights,
            },
            head_moments: head
                .iter()
                .map(|t| vec![vec![0.0; t.len()]; moments])
                .collect(),
            head,
            products: vec![0.0; x.rows * units],
            squares: 0.0,
            abs: 0.0,
            partials: Vec::new(),
            x,
        }
    }

    fn units(&self) -> usize {
        self.first.units
    }

    fn penalty_value(&self, penalty: &Penalty) -> f64 {
        if penalty.is_zero() {
            0.0
        } else {
            penalty.l2 * self.squares + penalty.l1 * self.abs
        }
    }

    /// A pass over the matrix (see `pass::run`); the forward products land in `products` by row.
    fn pass(&mut self, grad: Option<(&[usize], &[f32])>, use_: Use, fwd: &[usize], sums: bool) {
        let out = pass::run(
            self.isa,
            &self.x,
            &mut self.first,
            grad,
            use_,
            fwd,
            sums,
            &mut self.partials,
        );
        let m = self.units();
        for (k, &row) in fwd.iter().enumerate() {
            self.products[row * m..(row + 1) * m]
                .copy_from_slice(&out.products[k * m..(k + 1) * m]);
        }
        if sums {
            (self.squares, self.abs) = (out.squares[0], out.abs[0]);
        }
    }

    /// The products of some rows, rows x M.
    fn gather(&self, rows: &[usize]) -> Vec<f64> {
        let m = self.units();
        rows.iter()
            .flat_map(|&r| self.products[r * m..(r + 1) * m].iter().copied())
            .collect()
    }

    fn head(&self) -> Head<'_> {
        Head {
            spec: self.spec,
            tensors: &self.head,
        }
    }

    /// The loss on `rows` (with targets `targets`) at the current weights, the forward pass, and d loss / d raw.
    fn loss(
        &self,
        rows: &[usize],
        targets: &[f32],
        penalty: &Penalty,
    ) -> (f64, head::Forward, Vec<f64>) {
        let fwd = self.head().forward(&self.gather(rows));
        let (loss, delta) = self.spec.objective.loss_and_grad(&fwd.raw, targets);
        (loss + self.penalty_value(penalty), fwd, delta)
    }

    /// d loss / d the first layer's pre-activations, padded to the kernels' unit blocks, f32.
    fn padded_delta(&self, delta1: &[f64]) -> Vec<f32> {
        let (m, mp) = (self.units(), padded_units(self.units()));
        let mut out = vec![0.0f32; delta1.len() / m.max(1) * mp];
        for (dst, src) in out.chunks_mut(mp).zip(delta1.chunks(m)) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = s as f32;
            }
        }
        out
    }

    fn test_rows(&self) -> Vec<usize> {
        (self.problem.n_train()..self.x.rows).collect()
    }

    fn params(&self) -> Params {
        let mut params = Params::zeros(self.spec);
        params.layers[0].weight = from_chunks(&self.x.chunks, self.units(), &self.first.weights);
        let mut tensors = self.head.iter();
        for (l, layer) in params.layers.iter_mut().enumerate() {
            if l > 0 {
                layer.weight = tensors.next().expect("a weight").clone();
            }
            layer.bias = tensors.next().expect("a bias").clone();
        }
        params
    }
}

impl Backend for CpuBackend {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn describe(&self) -> String {
        format!(
            "cpu (f32, {}, {} threads)",
            self.isa.name(),
            CpuBackend::threads()
        )
    }

    fn evaluate(
        &mut self,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        penalty: &Penalty,
    ) -> Result<Evaluation> {
        let mut run = Run::new(self.isa, problem, spec, params, 0);
        let train: Vec<usize> = (0..problem.n_train()).collect();
        run.pass(None, Use::Forward, &train, !penalty.is_zero());
        let (loss, fwd, delta) = run.loss(&train, &problem.y_train, penalty);
        let (head_grads, delta1) = run.head().backward(&fwd, delta);
        let delta1 = run.padded_delta(&delta1);
        let mut kept = vec![0.0f32; run.first.weights.len()];
        run.pass(Some((&train, &delta1)), Use::Keep(&mut kept), &[], false);
        let mut g1: Vec<f64> = from_chunks(&run.x.chunks, run.units(), &kept)
            .into_iter()
            .map(f64::from)
            .collect();
        if !penalty.is_zero() {
            for (g, &w) in g1.iter_mut().zip(&params.layers[0].weight) {
                *g += penalty.grad(f64::from(w));
            }
        }
        let mut grads = vec![g1];
        grads.extend(head_grads);
        Ok(Evaluation {
            outputs: spec.objective.transform(&fwd.raw),
            loss,
            grads,
        })
    }

    fn open<'a>(&'a mut self, network: Network<'a>) -> Result<Box<dyn Session + 'a>> {
        let config = network.config;
        let setup = Instant::now();
        let run = Run::new(
            self.isa,
            network.problem,
            network.spec,
            network.params,
            config.optimizer.moments(),
        );
        Ok(Box::new(OneNetwork {
            setup_time: setup.elapsed(),
            all: (0..run.x.rows).collect(),
            test: run.test_rows(),
            run,
            config,
            epochs_done: 0,
            t: 0,
            batches: config.batches(network.problem.n_train(), 0),
            started: false,
            ready: VecDeque::new(),
        }))
    }

    /// Members train together (`stack`: one pass over the matrix per epoch for all of a group) when they have
    /// one hidden layer and train full batch (`stack::out_of_scope` finds nothing against them; any optimizer,
    /// penalties, neuron subsets, folds); anything else one by one, with the reason recorded.
    fn support(&self, stack: &Stack) -> Result<Support> {
        Ok(match self::stack::out_of_scope(stack) {
            Some(why) => Support::OneByOne(why),
            None => Support::Together(self::stack::groups(stack)),
        })
    }

    fn open_stack<'a>(&'a mut self, stack: &'a Stack<'a>) -> Result<Box<dyn Session + 'a>> {
        Ok(Box::new(self::stack::Group::new(self.isa, stack)))
    }
}

/// One network training on the CPU: its `Run`, and where the epochs and the mini-batches stand.
struct OneNetwork<'a> {
    run: Run<'a>,
    config: &'a Config,
    setup_time: Duration,
    /// Every row (training, then test) and the test rows, as `Run` indexes them.
    all: Vec<usize>,
    test: Vec<usize>,
    epochs_done: usize,
    /// Optimizer steps taken.
    t: u64,
    /// The steps of the next epoch.
    batches: Vec<Vec<usize>>,
    /// Whether the initial weights have been forwarded.
    started: bool,
    ready: VecDeque<History>,
}

impl OneNetwork<'_> {
    /// One epoch: each step's gradient, update and the forward products the next step needs, in one pass.
    fn epoch(&mut self) -> (f64, f64) {
        let (run, config) = (&mut self.run, self.config);
        let problem = run.problem;
        let penalty = config.penalty;
        let sums = !penalty.is_zero();
        let n_train = problem.n_train();
        let epoch = self.epochs_done + 1;
        let next_epoch = (epoch < config.epochs).then(|| config.batches(n_train, epoch));
        let mut epoch_loss = 0.0;
        for (s, batch) in self.batches.iter().enumerate() {
            let targets: Vec<f32> = batch.iter().map(|&r| problem.y_train[r]).collect();
            let (loss, fwd, delta) = run.loss(batch, &targets, &penalty);
            epoch_loss += loss * batch.len() as f64 / n_train as f64;
            let (head_grads, delta1) = run.head().backward(&fwd, delta);
            let delta1 = run.padded_delta(&delta1);
            // The rows the next step (or the epoch's test loss, or the run's end) needs forwarded.
            let fwd_rows: Vec<usize> = match (self.batches.get(s + 1), &next_epoch) {
                (Some(next), _) => next.clone(),
                (None, Some(next)) => self.test.iter().chain(&next[0]).copied().collect(),
                (None, None) => self.all.clone(),
            };
            self.t += 1;
            let steps = [Step::plain(config.optimizer, config.lr, self.t, penalty)];
            let step = Use::Step(&steps);
            let out = pass::run(
                run.isa,
                &run.x,
                &mut run.first,
                Some((batch, &delta1)),
                step,
                &fwd_rows,
                sums,
                &mut run.partials,
            );
            for ((p, g), m) in run
                .head
                .iter_mut()
                .zip(&head_grads)
                .zip(&mut run.head_moments)
            {
                step_f32(config, self.t, p, g, m);
            }
            let m = run.units();
            for (k, &row) in fwd_rows.iter().enumerate() {
                run.products[row * m..(row + 1) * m]
                    .copy_from_slice(&out.products[k * m..(k + 1) * m]);
            }
            if sums {
                (run.squares, run.abs) = (out.squares[0], out.abs[0]);
            }
        }
        self.epochs_done = epoch;
        if let Some(next) = next_epoch {
            self.batches = next;
        }
        let test_loss = run.loss(&self.test, &problem.y_test, &penalty).0;
        (epoch_loss, test_loss)
    }
}

impl Session for OneNetwork<'_> {
    fn members(&self) -> usize {
        1
    }

    fn setup_time(&self) -> Duration {
        self.setup_time
    }

    fn submit(&mut self, epochs: usize, _live: &[bool]) -> Result<()> {
        if !self.started {
            let sums = !self.config.penalty.is_zero();
            self.run.pass(None, Use::Forward, &self.all, sums);
            self.started = true;
        }
        let mut history = History::default();
        for _ in 0..epochs {
            let (train, test) = self.epoch();
            history.train_loss.push(train);
            history.test_loss.push(test);
        }
        self.ready.push_back(history);
        Ok(())
    }

    fn collect(&mut self) -> Result<Vec<History>> {
        Ok(vec![self.ready.pop_front().unwrap_or_default()])
    }

    fn finish(&mut self) -> Result<Vec<Final>> {
        let (run, config) = (&mut self.run, self.config);
        let problem = run.problem;
        let penalty = config.penalty;
        let n_train = problem.n_train();
        if self.epochs_done < config.epochs && config.is_mini_batch(n_train) {
            // Stopped early: only the next epoch's first batch was forwarded at the last weights.
            run.pass(None, Use::Forward, &self.all, !penalty.is_zero());
        }
        let (_, test_fwd, _) = run.loss(&self.test, &problem.y_test, &penalty);
        let train: Vec<usize> = (0..n_train).collect();
        let final_train_loss = run.loss(&train, &problem.y_train, &penalty).0;
        Ok(vec![Final {
            params: run.params(),
            test_outputs: run.spec.objective.transform(&test_fwd.raw),
            final_train_loss,
        }])
    }
}

/// The optimizer's step (`Rule::step_f32`) of one small f32 tensor and its f32 moments, from an f64 gradient.
fn step_f32(config: &Config, t: u64, p: &mut [f32], g: &[f64], moments: &mut [Vec<f32>]) {
    let g: Vec<f32> = g.iter().map(|&v| v as f32).collect();
    let mut moments: Vec<&mut [f32]> = moments.iter_mut().map(|m| m.as_mut_slice()).collect();
    config.optimizer.step_f32(config.lr, t, p, &g, &mut moments);
}

/// This machine's memory bandwidth in bytes per second, counting bytes read and bytes written, from copying the
/// problem's response matrix (training and test rows) into another buffer with every thread: the best of
/// `reps` copies after a warm-up. The floor an epoch that reads the matrix once cannot beat.
pub fn copy_bandwidth(problem: &Problem, reps: usize) -> f64 {
    use rayon::prelude::*;
    let src: Vec<f32> = problem
        .x_train
        .data
        .iter()
        .chain(&problem.x_test.data)
        .copied()
        .collect();
    let mut dst = vec![0.0f32; src.len()];
    let piece = src.len().div_ceil(64).max(1);
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) + 1 {
        let start = Instant::now();
        dst.par_chunks_mut(piece)
            .zip(src.par_chunks(piece))
            .for_each(|(d, s)| d.copy_from_slice(s));
        best = best.min(start.elapsed().as_secs_f64());
        std::hint::black_box(&dst);
    }
    2.0 * 4.0 * src.len() as f64 / best
}
