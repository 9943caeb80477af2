//! Many networks of one shape trained together: a stack. Cross-validation and sweeps train tens to hundreds of
//! networks that differ only in their rows (folds), neurons (subsets), initial weights, learning rate,
//! momentum and penalties. A backend that trains them together reads the response matrix once per pass for all
//! of them; each network's trajectory is still the one it would follow alone (`Stack::problem` and
//! `one_by_one` say what "alone" is, and the tests hold every fast path to it).
//!
//! The stack holds the whole matrix once: every stimulus (row) and the union of the members' neurons
//! (columns). Each member names its training rows, its test rows and its neurons as indices into that matrix;
//! its weights are those of a network of `spec.neurons` inputs, one per named neuron in that order.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::backend::{Backend, Control, Progress, Stop, Trained};
use crate::data::Matrix;
use crate::data::problem::Problem;
use crate::engine::{self, Report, Steering};
use crate::error::{Error, Result};
use crate::model::{Params, Spec};
use crate::training::Config;

/// One network of a stack.
#[derive(Clone, Debug)]
pub struct Member {
    /// Columns of the stack's matrix this network reads, in the order of its inputs; `spec.neurons` of them,
    /// no column twice.
    pub neurons: Vec<usize>,
    /// Rows it trains on, in the order of its training set (the order of its history's sums).
    pub train: Vec<usize>,
    /// Rows it is tested on, in order: the order of `Trained::test_outputs`.
    pub test: Vec<usize>,
    /// Its initial weights, of the stack's `spec`.
    pub params: Params,
    /// How it trains. Every member of a stack has the same epoch count; the rest may differ per member.
    pub config: Config,
}

/// Networks of one shape on one matrix.
#[derive(Clone, Copy, Debug)]
pub struct Stack<'a> {
    /// Every row any member uses x every column any member reads.
    pub x: &'a Matrix,
    /// Each row's stimulus in degrees: the regression target, or the angle whose bin is the class.
    pub stimuli: &'a [f32],
    /// The shape every member has; `spec.neurons` is each member's input width.
    pub spec: &'a Spec,
    pub members: &'a [Member],
}

impl Stack<'_> {
    /// The epoch count every member shares.
    pub fn epochs(&self) -> usize {
        self.members.first().map_or(0, |m| m.config.epochs)
    }

    /// Checks what the backends rely on: each member's neurons, rows and weights fit the matrix and the shape,
    /// and all train for the same number of epochs. A failure is a bug in whoever built the stack, reported
    /// as an error rather than a panic.
    pub fn check(&self) -> Result<()> {
        let bad = |k: usize, what: String| Err(Error::Usage(format!("stack member {k}: {what}")));
        if self.stimuli.len() != self.x.rows {
            return Err(Error::Usage(format!(
                "a stack of {} rows has {} stimuli",
                self.x.rows,
                self.stimuli.len()
            )));
        }
        let epochs = self.epochs();
        for (k, m) in self.members.iter().enumerate() {
            if m.neurons.len() != self.spec.neurons {
                return bad(
                    k,
                    format!(
                        "{} neurons for a network of {}",
                        m.neurons.len(),
                        self.spec.neurons
                    ),
                );
            }
            let mut seen = vec![false; self.x.cols];
            for &c in &m.neurons {
                if c >= self.x.cols || std::mem::replace(&mut seen[c], true) {
                    return bad(k, format!("column {c} is out of range or named twice"));
                }
            }
            if m.train.is_empty() || m.test.is_empty() {
                return bad(k, "needs training and test rows".into());
            }
            if m.train.iter().chain(&m.test).any(|&r| r >= self.x.rows) {
                return bad(
                    k,
                    format!("a row is out of range (the stack has {})", self.x.rows),
                );
            }
            let shapes: Vec<(usize, usize)> = m
                .params
                .layers
                .iter()
                .map(|l| (l.outputs, l.inputs))
                .collect();
            if shapes != self.spec.layer_shapes() {
                return bad(
                    k,
                    format!("weights of shape {shapes:?} for {}", self.spec.describe()),
                );
            }
            if m.config.epochs != epochs {
                return bad(
                    k,
                    format!("{} epochs where the stack trains {epochs}", m.config.epochs),
                );
            }
        }
        Ok(())
    }

    /// Member `k` alone: its training and test rows of its neurons, as `train` would see them.
    pub fn problem(&self, k: usize) -> Problem {
        let m = &self.members[k];
        let pick = |rows: &[usize]| self.x.select(rows, &m.neurons);
        Problem {
            x_train: pick(&m.train),
            y_train: m.train.iter().map(|&r| self.stimuli[r]).collect(),
            x_test: pick(&m.test),
            y_test: m.test.iter().map(|&r| self.stimuli[r]).collect(),
        }
    }

    /// Whether every member reads every column, in column order (no neuron subsets).
    pub fn reads_every_column(&self) -> bool {
        self.spec.neurons == self.x.cols
            && self
                .members
                .iter()
                .all(|m| m.neurons.iter().enumerate().all(|(i, &c)| i == c))
    }
}

/// Where a stack's training stands, for a progress line.
#[derive(Clone, Copy, Debug)]
pub struct StackProgress {
    /// Members finished before the ones training now.
    pub done: usize,
    /// Members training now (all of a stack trained together; one when trained one by one).
    pub training: usize,
    /// Epochs those members have run.
    pub epoch: usize,
    pub epochs: usize,
}

/// How a caller steers a stack's training: where progress goes and a flag that stops it at the next epoch
/// boundary. A member whose loss stops being finite does not stop the others: its history ends at that epoch
/// and its `Trained::stop` says `Diverged` (its weights may be past it).
pub struct StackControl<'a> {
    pub progress: &'a mut dyn FnMut(StackProgress),
    pub stop: Option<&'a AtomicBool>,
    /// Set by `one_by_one`: why the stack was trained member after member rather than together (`None`:
    /// together), what a run records of how each stack went.
    pub one_by_one: Option<String>,
}

impl<'a> StackControl<'a> {
    pub fn new(progress: &'a mut dyn FnMut(StackProgress)) -> StackControl<'a> {
        StackControl {
            progress,
            stop: None,
            one_by_one: None,
        }
    }

    pub fn stop_on(mut self, flag: &'a AtomicBool) -> StackControl<'a> {
        self.stop = Some(flag);
        self
    }

    pub fn stop_requested(&self) -> bool {
        self.stop.is_some_and(|f| f.load(Ordering::Relaxed))
    }
}

/// How a backend trains a stack (`Backend::support`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// Groups of members (indices into the stack), each group trained together in one session, the groups one
    /// after another.
    Together(Vec<Vec<usize>>),
    /// Member after member through `Backend::train_with`, for this reason (what the stacked path does not take).
    OneByOne(String),
}

/// Trains `stack` as `backend.support` says: each group in one session through `engine::drive`, or one by one.
/// Stopped by the flag, the result is the members up to the first one left untrained.
pub fn train<B: Backend + ?Sized>(
    backend: &mut B,
    stack: &Stack,
    control: &mut StackControl,
) -> Result<Vec<Trained>> {
    stack.check()?;
    if stack.members.is_empty() {
        return Ok(Vec::new());
    }
    let groups = match backend.support(stack)? {
        Support::OneByOne(why) => return one_by_one_because(backend, stack, control, why),
        Support::Together(groups) => groups,
    };
    let epochs = stack.epochs();
    let mut out: Vec<Option<Trained>> = (0..stack.members.len()).map(|_| None).collect();
    let mut done = 0;
    for group in &groups {
        if control.stop_requested() {
            break;
        }
        // A run of consecutive members is a slice of the stack's; any other group is copied out.
        let members: Cow<[Member]> = match (group.first(), group.last()) {
            (Some(&a), Some(&b)) if group.iter().copied().eq(a..=b) => {
                Cow::Borrowed(&stack.members[a..=b])
            }
            _ => Cow::Owned(group.iter().map(|&k| stack.members[k].clone()).collect()),
        };
        let part = Stack {
            members: &members,
            ..*stack
        };
        let steering = Steering {
            stop: control.stop,
            keep_going: false,
        };
        let (progress, training) = (&mut *control.progress, group.len());
        let mut report = |r: &Report| {
            progress(StackProgress {
                done,
                training,
                epoch: r.epoch,
                epochs,
            })
        };
        let driven = {
            let mut session = backend.open_stack(&part)?;
            engine::drive(session.as_mut(), epochs, steering, &mut report)?
        };
        done += training;
        for (&k, t) in group.iter().zip(driven.trained) {
            out[k] = Some(t);
        }
        if driven.interrupted {
            break;
        }
    }
    Ok(out.into_iter().map_while(|t| t).collect())
}

/// `one_by_one`, recording `why` the backend does not train this stack together (what its stacked path does
/// not take), so that the fallback is said, never silent.
pub fn one_by_one_because<B: Backend + ?Sized>(
    backend: &mut B,
    stack: &Stack,
    control: &mut StackControl,
    why: impl Into<String>,
) -> Result<Vec<Trained>> {
    control.one_by_one = Some(why.into());
    one_by_one(backend, stack, control)
}

/// Trains a stack member after member through `backend.train_with`, each on `Stack::problem`: the definition
/// of what a stack's members must match, and what a backend without a stacked path does. When the stop flag
/// is raised the member training stops at its next epoch boundary (`Stop::Interrupted`) and the rest are not
/// trained: the result is shorter than the stack.
pub fn one_by_one<B: Backend + ?Sized>(
    backend: &mut B,
    stack: &Stack,
    control: &mut StackControl,
) -> Result<Vec<Trained>> {
    stack.check()?;
    if control.one_by_one.is_none() {
        control.one_by_one = Some("trained one network at a time".into());
    }
    let epochs = stack.epochs();
    let mut out = Vec::with_capacity(stack.members.len());
    for (k, m) in stack.members.iter().enumerate() {
        if control.stop_requested() {
            break;
        }
        let problem = stack.problem(k);
        let report = &mut *control.progress;
        let mut progress = |p: &Progress| {
            report(StackProgress {
                done: k,
                training: 1,
                epoch: p.epoch,
                epochs,
            })
        };
        let mut single = Control::new(&mut progress);
        if let Some(flag) = control.stop {
            single = single.stop_on(flag);
        }
        let trained =
            backend.train_with(&problem, stack.spec, &m.params, &m.config, &mut single)?;
        let interrupted = matches!(trained.stop, Stop::Interrupted { .. });
        out.push(trained);
        if interrupted {
            break;
        }
    }
    Ok(out)
}
