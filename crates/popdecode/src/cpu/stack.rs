//! A stack of networks trained together (`Backend::train_stack` for `CpuBackend`): their first layers stacked
//! into one of K x M units over the stack's columns, so that one pass over the response matrix (`pass::run`)
//! takes every member's gradient, optimizer step and forward products while a chunk of the matrix is in cache,
//! as one network of K x M units would.
//!
//! - Rows. The gradient of each tile of `pass::UNIT_GROUP` stacked units runs over the union of the training
//!   rows of the members with units in it (`Group::tiles`); a member's d loss / d pre-activation is zero on rows
//!   outside its own training set, and scaled by its own 1 / n_train (its head computes it on its rows only, as
//!   `train_with` does). Members with the same training rows are trained next to one another (`by_rows`), so
//!   that with folds a tile mostly holds one fold's rows. The forward products cover every row any member
//!   trains or tests on.
//! - Columns. A member reading only some of the stack's columns has weights of 0 elsewhere; its mask
//!   (`pass::Step::mask`) zeroes its gradient there, so they stay exactly 0 (and add nothing to its sums).
//! - Heads (the first layer's bias and every later layer, `head`) are small and run per member, in parallel.
//! - Optimizers. Each member's units are stepped by its own `Rule::step_f32`, learning rate, momentum and
//!   penalties (`pass::Step`); the moment buffers hold as many moments as the member needing most, each member
//!   using its first `moments()`. So every optimizer is taken (Adam and AdamW too: a full-batch step is step t
//!   of epoch t for every member).
//! - A member whose loss stops being finite is frozen at the epoch it diverged (its units and head no longer
//!   stepped, its delta no longer entering the gradient), its history ending there: what `train_with` leaves.
//!
//! What it takes (`out_of_scope` says what it does not): one hidden layer, full batch for every member (no `batch_size` below its training
//! rows). Anything else is trained one by one (`backend::stack::one_by_one`). Members are trained in groups
//! of at most `MAX_UNITS` stacked units (at least one member a group), which bounds the stacked weights,
//! moments and partial sums; a single pass is compute-bound well before that width, so larger groups would not
//! be faster.
//!
//! Times: each member's `setup_time` and `train_time` are its group's divided evenly among the group's members.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::head::Head;
use super::layout::{ChunkedRows, chunk_width, from_chunks, padded_units, to_chunks};
use super::pass::{self, FirstLayer, Grad, Step, UNIT_GROUP, Use};
use super::simd::Isa;
use super::step_f32;
use crate::backend::History;
use crate::backend::stack::{Member, Stack};
use crate::engine::{Final, Session};
use crate::error::Result;
use crate::model::Params;

/// Stacked first-layer units per group of members trained together.
pub const MAX_UNITS: usize = 2000;

/// What in this stack the stacked path does not take, if anything: it takes one hidden layer and full-batch
/// training for every member.
pub fn out_of_scope(stack: &Stack) -> Option<String> {
    let depth = stack.spec.hidden.len();
    if depth != 1 {
        return Some(format!(
            "{depth} hidden layers: the CPU's stacked path takes one"
        ));
    }
    stack
        .members
        .iter()
        .any(|m| m.config.is_mini_batch(m.train.len()))
        .then(|| "mini-batches: the CPU's stacked path trains full batch".to_string())
}

/// The groups a stack `out_of_scope` found nothing against is trained in (`Support::Together`): members with the
/// same training rows side by side (`by_rows`), at most `MAX_UNITS` stacked units a group.
pub fn groups(stack: &Stack) -> Vec<Vec<usize>> {
    let per_group = (MAX_UNITS / stack.spec.width().max(1)).max(1);
    by_rows(stack)
        .chunks(per_group)
        .map(<[usize]>::to_vec)
        .collect()
}

/// The stack's members in the order they are trained: members with the same training rows next to one another
/// (in the order each set first appears), so that a tile of stacked units tends to hold one set of rows and its
/// gradient runs over those alone (`Group::tiles`). What a member learns does not depend on its place.
fn by_rows(stack: &Stack) -> Vec<usize> {
    let mut first: HashMap<Vec<usize>, usize> = HashMap::new();
    let keys: Vec<usize> = stack
        .members
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let mut rows = m.train.clone();
            rows.sort_unstable();
            *first.entry(rows).or_insert(k)
        })
        .collect();
    let mut order: Vec<usize> = (0..stack.members.len()).collect();
    order.sort_by_key(|&k| keys[k]);
    order
}

/// One member's state outside the stacked first layer.
struct Slot {
    /// `in_layer.bias` and every later tensor, f32, and their optimizer moments.
    head: Vec<Vec<f32>>,
    head_moments: Vec<Vec<Vec<f32>>>,
    /// The penalty's sums of its first-layer weights at the last pass.
    squares: f64,
    abs: f64,
}

/// A member's epoch before the update: its training loss, its head's gradients and d loss / d its first layer's
/// pre-activations on its training rows (rows x M).
struct Backward {
    loss: f64,
    grads: Vec<Vec<f64>>,
    delta1: Vec<f64>,
}

/// Members trained together: a stack's group (`groups`), each of its members a member of the session.
pub struct Group<'a> {
    isa: Isa,
    stack: &'a Stack<'a>,
    /// Indices into the stack's members.
    members: Vec<usize>,
    /// Which members still train (`Session::submit`'s `live`).
    live: Vec<bool>,
    /// Epochs run, and whether the initial weights have been forwarded.
    epochs_done: usize,
    started: bool,
    ready: VecDeque<Vec<History>>,
    x: ChunkedRows,
    first: FirstLayer,
    slots: Vec<Slot>,
    /// Each member's columns in a unit's chunked layout, when it does not read them all (`pass::Step::mask`).
    masks: Vec<Option<Vec<bool>>>,
    /// The rows forwarded each pass (every row a member trains or tests on), and each stack row's place there.
    fwd: Vec<usize>,
    place: Vec<usize>,
    /// The last pass's products, `fwd` rows x units.
    products: Vec<f64>,
    partials: Vec<f32>,
    setup: Duration,
}

impl<'a> Group<'a> {
    /// Every member of `stack` (one group) resident, in its order.
    pub fn new(isa: Isa, stack: &'a Stack<'a>) -> Group<'a> {
        let start = Instant::now();
        let members: Vec<usize> = (0..stack.members.len()).collect();
        let (m, cols) = (stack.spec.width(), stack.x.cols);
        let units = members.len() * m;
        let width = chunk_width(padded_units(units));
        let x = ChunkedRows::from_matrix(stack.x, width);
        let mut dense = vec![0.0f32; units * cols];
        let mut slots = Vec::with_capacity(members.len());
        let mut masks = Vec::with_capacity(members.len());
        for (s, &k) in members.iter().enumerate() {
            let member = &stack.members[k];
            let w = &member.params.layers[0].weight;
            let n = member.neurons.len();
            for u in 0..m {
                let row = &mut dense[(s * m + u) * cols..(s * m + u + 1) * cols];
                for (i, &c) in member.neurons.iter().enumerate() {
                    row[c] = w[u * n + i];
                }
            }
            masks.push((n < cols).then(|| {
                let mut mask = vec![false; x.chunks.count * width];
                // A unit's chunked row holds column c at index c: chunk c / width starts at (c / width) * width.
                for &c in &member.neurons {
                    mask[c] = true;
                }
                mask
            }));
            let head: Vec<Vec<f32>> = member
                .params
                .tensors()
                .into_iter()
                .skip(1)
                .map(|(_, _, t)| t.to_vec())
                .collect();
            let moments = member.config.optimizer.moments();
            slots.push(Slot {
                head_moments: head
                    .iter()
                    .map(|t| vec![vec![0.0; t.len()]; moments])
                    .collect(),
                head,
                squares: 0.0,
                abs: 0.0,
            });
        }
        let weights = to_chunks(&x.chunks, units, &dense);
        let moments = members
            .iter()
            .map(|&k| stack.members[k].config.optimizer.moments())
            .max()
            .unwrap_or(0);
        let mut used = vec![false; stack.x.rows];
        for &k in &members {
            let member = &stack.members[k];
            for &r in member.train.iter().chain(&member.test) {
                used[r] = true;
            }
        }
        let fwd: Vec<usize> = (0..stack.x.rows).filter(|&r| used[r]).collect();
        let mut place = vec![usize::MAX; stack.x.rows];
        for (i, &r) in fwd.iter().enumerate() {
            place[r] = i;
        }
        Group {
            isa,
            stack,
            live: vec![true; members.len()],
            members,
            epochs_done: 0,
            started: false,
            ready: VecDeque::new(),
            x,
            first: FirstLayer {
                units,
                group: m,
                moments: vec![vec![0.0; weights.len()]; moments],
                weights,
            },
            slots,
            masks,
            fwd,
            place,
            products: Vec::new(),
            partials: Vec::new(),
            setup: start.elapsed(),
        }
    }

    fn member(&self, s: usize) -> &'a Member {
        &self.stack.members[self.members[s]]
    }

    /// A pass: the gradient step if given, then the forward products of every used row and the penalty sums.
    fn pass(&mut self, grad: Option<Grad>, use_: Use) {
        let sums = self
            .members
            .iter()
            .any(|&k| !self.stack.members[k].config.penalty.is_zero());
        let out = pass::run_grad(
            self.isa,
            &self.x,
            &mut self.first,
            grad,
            use_,
            &self.fwd,
            sums,
            &mut self.partials,
        );
        self.products = out.products;
        if sums {
            for ((slot, sq), abs) in self.slots.iter_mut().zip(out.squares).zip(out.abs) {
                (slot.squares, slot.abs) = (sq, abs);
            }
        }
    }

    /// Member `s`'s first-layer products (rows x M) of some stack rows.
    fn gather(&self, s: usize, rows: &[usize]) -> Vec<f64> {
        let (m, units) = (self.stack.spec.width(), self.first.units);
        rows.iter()
            .flat_map(|&r| {
                let at = self.place[r] * units + s * m;
                self.products[at..at + m].iter().copied()
            })
            .collect()
    }

    /// Member `s`'s loss on `rows` at the current weights (with its penalty), its head's forward pass and
    /// d loss / d raw outputs.
    fn loss(&self, s: usize, rows: &[usize]) -> (f64, super::head::Forward, Vec<f64>) {
        let (member, slot) = (self.member(s), &self.slots[s]);
        let head = Head {
            spec: self.stack.spec,
            tensors: &slot.head,
        };
        let fwd = head.forward(&self.gather(s, rows));
        let targets: Vec<f32> = rows.iter().map(|&r| self.stack.stimuli[r]).collect();
        let (loss, delta) = self.stack.spec.objective.loss_and_grad(&fwd.raw, &targets);
        let penalty = member.config.penalty;
        let value = if penalty.is_zero() {
            0.0
        } else {
            penalty.l2 * slot.squares + penalty.l1 * slot.abs
        };
        (loss + value, fwd, delta)
    }

    fn live(&self, s: usize) -> bool {
        self.live[s]
    }

    /// The gradient's rows and delta per tile of `UNIT_GROUP` of the `mp` padded units (`pass::Grad::Tiles`):
    /// a tile takes the rows its live members train on, and their deltas there (zero on a row another of the
    /// tile's members trains on). Rows no member of the tile trains on add only zeros to its gradient, so
    /// leaving them out changes nothing but the time.
    fn tiles(&self, backward: &[Option<Backward>], mp: usize) -> Vec<(Vec<usize>, Vec<f32>)> {
        let (m, units, rows) = (self.stack.spec.width(), self.first.units, self.stack.x.rows);
        let mut at = vec![usize::MAX; rows];
        (0..mp)
            .step_by(UNIT_GROUP)
            .map(|m0| {
                let n = UNIT_GROUP.min(mp - m0);
                let end = (m0 + n).min(units);
                // The members with units in the tile that still train.
                let members: Vec<(usize, &[f64])> = (m0 / m.max(1)..end.div_ceil(m.max(1)))
                    .filter_map(|s| backward[s].as_ref().map(|b| (s, &b.delta1[..])))
                    .collect();
                let mut used = vec![false; rows];
                for &(s, _) in &members {
                    for &r in &self.member(s).train {
                        used[r] = true;
                    }
                }
                let tile_rows: Vec<usize> = (0..rows).filter(|&r| used[r]).collect();
                for (i, &r) in tile_rows.iter().enumerate() {
                    at[r] = i;
                }
                let mut delta = vec![0.0f32; tile_rows.len() * n];
                for (s, delta1) in members {
                    // Member s's units in the tile: from `lo` to `hi`, its own unit `lo - s * m` first.
                    let (lo, hi) = ((s * m).max(m0), ((s + 1) * m).min(end));
                    for (&r, d) in self.member(s).train.iter().zip(delta1.chunks(m)) {
                        let row = &mut delta[at[r] * n + lo - m0..at[r] * n + hi - m0];
                        for (o, &v) in row.iter_mut().zip(&d[lo - s * m..hi - s * m]) {
                            *o += v as f32;
                        }
                    }
                }
                (tile_rows, delta)
            })
            .collect()
    }

    /// One epoch of every live member: each one's (training, test) objective, those of members no longer live
    /// left NaN.
    fn epoch(&mut self) -> Vec<(f64, f64)> {
        let stack = self.stack;
        let k = self.members.len();
        let mp = padded_units(self.first.units);
        self.epochs_done += 1;
        let t = self.epochs_done as u64;
        // Each live member's loss before the update, its head's gradients and its delta on its rows.
        let backward: Vec<Option<Backward>> = (0..k)
            .into_par_iter()
            .map(|s| {
                self.live(s).then(|| {
                    let (loss, fwd, delta) = self.loss(s, &self.member(s).train);
                    let head = Head {
                        spec: stack.spec,
                        tensors: &self.slots[s].head,
                    };
                    let (grads, delta1) = head.backward(&fwd, delta);
                    Backward {
                        loss,
                        grads,
                        delta1,
                    }
                })
            })
            .collect();
        let tiles = self.tiles(&backward, mp);
        // The steps borrow the masks while the pass writes the slots' sums: take the masks out meanwhile.
        let masks = std::mem::take(&mut self.masks);
        let steps: Vec<Step> = (0..k)
            .map(|s| {
                let config = &self.member(s).config;
                Step {
                    optimizer: config.optimizer,
                    lr: config.lr,
                    t,
                    penalty: config.penalty,
                    mask: masks[s].as_deref(),
                    live: self.live(s),
                }
            })
            .collect();
        self.pass(Some(Grad::Tiles(&tiles)), Use::Step(&steps));
        drop(steps);
        self.masks = masks;
        // The heads' steps, then each live member's test loss after the update.
        let members = &self.members;
        self.slots
            .par_iter_mut()
            .zip(&backward)
            .enumerate()
            .for_each(|(s, (slot, b))| {
                if let Some(Backward { grads, .. }) = b {
                    let config = &stack.members[members[s]].config;
                    for ((p, g), mo) in slot.head.iter_mut().zip(grads).zip(&mut slot.head_moments)
                    {
                        step_f32(config, t, p, g, mo);
                    }
                }
            });
        (0..k)
            .into_par_iter()
            .map(|s| match &backward[s] {
                Some(b) => (b.loss, self.loss(s, &self.member(s).test).0),
                None => (f64::NAN, f64::NAN),
            })
            .collect()
    }
}

impl Session for Group<'_> {
    fn members(&self) -> usize {
        self.members.len()
    }

    fn setup_time(&self) -> Duration {
        self.setup
    }

    fn submit(&mut self, epochs: usize, live: &[bool]) -> Result<()> {
        self.live.copy_from_slice(live);
        if !self.started {
            self.pass(None, Use::Forward);
            self.started = true;
        }
        let mut histories = vec![History::default(); self.members.len()];
        for _ in 0..epochs {
            for (h, (train, test)) in histories.iter_mut().zip(self.epoch()) {
                h.train_loss.push(train);
                h.test_loss.push(test);
            }
        }
        self.ready.push_back(histories);
        Ok(())
    }

    fn collect(&mut self) -> Result<Vec<History>> {
        Ok(self
            .ready
            .pop_front()
            .unwrap_or_else(|| vec![History::default(); self.members.len()]))
    }

    fn finish(&mut self) -> Result<Vec<Final>> {
        let stack = self.stack;
        let m = stack.spec.width();
        let dense = from_chunks(&self.x.chunks, self.first.units, &self.first.weights);
        let cols = stack.x.cols;
        Ok((0..self.members.len())
            .map(|s| {
                let member = self.member(s);
                let (_, test_fwd, _) = self.loss(s, &member.test);
                let final_train_loss = self.loss(s, &member.train).0;
                let slot = &self.slots[s];
                let mut params = Params::zeros(stack.spec);
                let n = member.neurons.len();
                let w = &mut params.layers[0].weight;
                for u in 0..m {
                    let row = &dense[(s * m + u) * cols..(s * m + u + 1) * cols];
                    for (i, &c) in member.neurons.iter().enumerate() {
                        w[u * n + i] = row[c];
                    }
                }
                let mut tensors = slot.head.iter();
                for (l, layer) in params.layers.iter_mut().enumerate() {
                    if l > 0 {
                        layer.weight = tensors.next().expect("a weight").clone();
                    }
                    layer.bias = tensors.next().expect("a bias").clone();
                }
                Final {
                    params,
                    test_outputs: stack.spec.objective.transform(&test_fwd.raw),
                    final_train_loss,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::backend::Stop;
    use crate::backend::stack::{StackControl, StackProgress};
    use crate::cpu::CpuBackend;
    use crate::data::Matrix;
    use crate::model::Spec;
    use crate::training::Config;

    /// Members with the same training rows go side by side; stopped after the first group, the result is still
    /// a prefix of the stack: the members before the first one left untrained.
    #[test]
    fn members_with_the_same_rows_train_side_by_side_and_a_stop_leaves_a_prefix() {
        // 700 units a member: two a group.
        let spec = Spec::tutorial(4, 700);
        let x = Matrix::new(10, 4, (0..40).map(|v| (v % 7) as f32).collect());
        let stimuli: Vec<f32> = (0..10).map(|r| r as f32 * 30.0).collect();
        let trains = [vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![3, 2, 1, 0]];
        let members: Vec<Member> = trains
            .iter()
            .enumerate()
            .map(|(k, train)| Member {
                neurons: (0..4).collect(),
                train: train.clone(),
                test: vec![8, 9],
                params: Params::init(&spec, k as u64),
                config: Config {
                    epochs: 3,
                    ..Config::default()
                },
            })
            .collect();
        let stack = Stack {
            x: &x,
            stimuli: &stimuli,
            spec: &spec,
            members: &members,
        };
        assert_eq!(by_rows(&stack), vec![0, 2, 1]);
        let flag = AtomicBool::new(false);
        let mut reports = Vec::new();
        let mut progress = |p: StackProgress| {
            reports.push((p.done, p.training));
            if p.epoch == 3 {
                flag.store(true, Ordering::Relaxed);
            }
        };
        let mut control = StackControl::new(&mut progress).stop_on(&flag);
        let got =
            crate::backend::Backend::train_stack(&mut CpuBackend::new(), &stack, &mut control)
                .expect("the stack trains");
        assert_eq!(reports, vec![(0, 2); 3]);
        assert_eq!(
            got.len(),
            1,
            "members 0 and 2 trained, 1 not: member 0 alone"
        );
        assert_eq!(got[0].stop, Stop::Complete);
    }
}
