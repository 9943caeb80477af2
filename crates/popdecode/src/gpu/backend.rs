//! The GPU as a `Backend`: a session per call, epochs batched between progress reports. The tutorial's network
//! trained the tutorial's way (one hidden layer, MSE, plain full-batch SGD, no penalty) runs on the tuned
//! kernels of `session`; everything else on the general kernels of `general`. A stack of networks
//! (`support`, `open_stack`) runs on the stacked kernels of `stack` when they cover it, else one network at a
//! time.

use super::general::{self, GeneralTuning};
use super::runtime::device::{AdapterSummary, Gpu};
use super::runtime::pipelined::{PendingHistory, Pipelined, Resident};
use super::stack::{self as stacked, StackTuning};
use super::tutorial::layout::{Layout, PlanOverrides};
use super::tutorial::session::{Mode, Session};
use crate::backend::stack::{Stack, Support};
use crate::backend::{Backend, Evaluation};
use crate::data::problem::Problem;
use crate::engine::{self, Network};
use crate::error::{Error, Result};
use crate::model::{Params, Spec};
use crate::objective::{Objective, Penalty};
use crate::training::Config;

pub struct GpuBackend {
    pub gpu: Gpu,
    /// Kernel choices other than the adapter's defaults (benchmarks).
    pub overrides: PlanOverrides,
    /// Run everything on the general path, the tutorial's case included (to check that path on it).
    pub force_general: bool,
    /// The general path's register tiles and panels, instead of the adapter's defaults.
    pub general: GeneralTuning,
    /// The stacked path's limits and tiles, instead of the adapter's (tests of the split, benchmarks).
    pub stack: StackTuning,
}

impl GpuBackend {
    /// Each tutorial-path kernel's GPU time alone, in ms, at `params` (a tutorial network) on `problem`, from
    /// timestamp queries over 10 dispatches each; empty where the adapter has none. What `bench` adds to a row.
    pub fn kernel_times(
        &self,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        lr: f64,
    ) -> Result<std::collections::BTreeMap<String, f64>> {
        let reps = 10;
        let mut session = Session::new(
            &self.gpu,
            problem,
            spec,
            Mode::Train,
            reps + 2,
            self.overrides,
        )?;
        session.set_params(params, lr)?;
        Ok(session
            .kernel_times(reps)?
            .unwrap_or_default()
            .into_iter()
            .map(|(k, ms)| (k.to_string(), ms))
            .collect())
    }

    /// Opens the preferred adapter, or the first whose name contains `adapter`.
    pub fn open(adapter: Option<&str>) -> Result<GpuBackend> {
        Ok(GpuBackend {
            gpu: Gpu::open(adapter)?,
            overrides: PlanOverrides::default(),
            force_general: false,
            general: GeneralTuning::default(),
            stack: StackTuning::default(),
        })
    }

    /// Whether this adapter holds `problem` and `spec`, evaluated at given weights and trained with `config`,
    /// on the paths `evaluate` and `train` would take: every buffer, binding, dispatch and workgroup's memory
    /// checked against its limits from the shapes alone, before anything is uploaded. The error names the size,
    /// the limit and what sets it. `train` and `check` call it (through `select::open_backend_for`) once the
    /// data is loaded, so that `--backend gpu` refuses at once and `--backend auto` can take the CPU instead.
    pub fn fits(&self, problem: &Problem, spec: &Spec, config: &Config) -> Result<()> {
        self.paths_fit(problem, spec, config).map_err(|e| match e {
            Error::AdapterLimits(m) if !m.starts_with(CANNOT_HOLD) => {
                Error::AdapterLimits(format!("{CANNOT_HOLD}: {m}"))
            }
            other => other,
        })
    }

    fn paths_fit(&self, problem: &Problem, spec: &Spec, config: &Config) -> Result<()> {
        let (n_train, n_test) = (problem.n_train(), problem.n_test());
        let a = &self.gpu.adapter;
        if self.general_evaluates(spec, &config.penalty) {
            general::fit(a, n_train, n_test, spec, None, self.general)?;
        } else {
            tutorial_fits(a, n_train, n_test, spec, self.overrides)?;
        }
        if self.general_trains(problem, spec, config) {
            general::fit(a, n_train, n_test, spec, Some(config), self.general)?;
        } else {
            tutorial_fits(a, n_train, n_test, spec, self.overrides)?;
        }
        Ok(())
    }

    fn general_evaluates(&self, spec: &Spec, penalty: &Penalty) -> bool {
        self.force_general || !tutorial_net(spec) || !penalty.is_zero()
    }

    fn general_trains(&self, problem: &Problem, spec: &Spec, config: &Config) -> bool {
        self.force_general
            || !tutorial_net(spec)
            || !config.optimizer.is_plain_sgd()
            || config.is_mini_batch(problem.n_train())
            || !config.penalty.is_zero()
    }
}

/// How a refusal for the adapter's limits begins (`general::fit`'s, and `fits` puts it before the others).
const CANNOT_HOLD: &str = "the GPU cannot hold this problem";

/// Whether the tutorial path's session fits adapter `a`: its layout (column panels under the binding limit,
/// split-K sums, workgroup counts; `Layout::new` refuses what does not fit) and the buffers its session makes
/// besides the panels (W_in's gradient, for checks, is laid out as w1's panels): the hidden activations of every
/// row and the deltas of the training rows.
fn tutorial_fits(
    a: &AdapterSummary,
    n_train: usize,
    n_test: usize,
    spec: &Spec,
    overrides: PlanOverrides,
) -> Result<()> {
    let l = Layout::new(n_train, n_test, spec, a, overrides)?;
    let max = a.max_storage_buffer_binding_size.min(a.max_buffer_size) as usize;
    for (what, bytes) in [
        (
            format!(
                "the hidden activations of {} rows (the data's stimuli) x {} hidden units",
                l.r_pad, l.m_pad
            ),
            4 * l.r_pad * l.m_pad,
        ),
        (
            format!(
                "the deltas of {} training rows x {} hidden units",
                l.n_train, l.m_pad
            ),
            4 * l.n_train * l.m_pad,
        ),
    ] {
        if bytes > max {
            return Err(Error::AdapterLimits(format!(
                "{CANNOT_HOLD}: {what} take {bytes} bytes, and this adapter's storage bindings hold \
                 {max}"
            )));
        }
    }
    Ok(())
}

impl Backend for GpuBackend {
    fn name(&self) -> &'static str {
        "gpu"
    }

    fn describe(&self) -> String {
        format!("gpu: {}", self.gpu.adapter.label())
    }

    fn evaluate(
        &mut self,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        penalty: &Penalty,
    ) -> Result<Evaluation> {
        if self.general_evaluates(spec, penalty) {
            return general::evaluate(&self.gpu, problem, spec, params, penalty, self.general);
        }
        let mut session =
            Session::new(&self.gpu, problem, spec, Mode::Gradients, 1, self.overrides)?;
        session.set_params(params, 0.0)?;
        session.evaluate()
    }

    fn open<'a>(&'a mut self, network: Network<'a>) -> Result<Box<dyn engine::Session + 'a>> {
        let (problem, spec, config) = (network.problem, network.spec, network.config);
        if self.general_trains(problem, spec, config) {
            return Ok(Box::new(general::open(&self.gpu, network, self.general)?));
        }
        let mut session = Session::new(
            &self.gpu,
            problem,
            spec,
            Mode::Train,
            config.epochs,
            self.overrides,
        )?;
        session.set_params(network.params, config.lr)?;
        let setup_time = session.setup_time;
        Ok(Box::new(Pipelined::new(
            &self.gpu,
            session,
            setup_time,
            config.epochs,
        )))
    }

    /// Every member at once on the stacked kernels (`gpu::stack`: one hidden layer, MSE or NLL, full-batch SGD
    /// with any momentum and penalty per member), in groups of consecutive members when they together are past
    /// the adapter's limits. One by one (each member on `open`'s paths) for members outside that scope, under
    /// `force_general`, and for a matrix too wide for one storage binding.
    fn support(&self, stack: &Stack) -> Result<Support> {
        if self.force_general {
            return Ok(Support::OneByOne(
                "the general path is forced (force_general)".into(),
            ));
        }
        if let Some(why) = stacked::out_of_scope(stack) {
            return Ok(Support::OneByOne(why));
        }
        Ok(
            match stacked::plan::split(&self.gpu.adapter, stacked::shape(stack), self.stack)? {
                Some(groups) => {
                    Support::Together(groups.into_iter().map(|(r, _)| r.collect()).collect())
                }
                None => Support::OneByOne(
                    "the matrix is larger than one storage binding of this adapter".into(),
                ),
            },
        )
    }

    fn open_stack<'a>(&'a mut self, stack: &'a Stack<'a>) -> Result<Box<dyn engine::Session + 'a>> {
        Ok(Box::new(stacked::open(&self.gpu, stack, self.stack)?))
    }
}

impl Resident for Session<'_> {
    fn run_epochs(&mut self, epochs: usize) -> Result<PendingHistory> {
        Session::run_epochs(self, epochs)
    }
    fn params(&self) -> Result<Params> {
        Session::params(self)
    }
    fn test_outputs(&self) -> Result<Vec<f64>> {
        Session::test_outputs(self)
    }
    fn train_loss(&mut self) -> Result<f64> {
        Session::train_loss(self)
    }
}

/// The network the fast kernels are written for: one hidden layer, one output, MSE.
fn tutorial_net(spec: &Spec) -> bool {
    spec.hidden.len() == 1 && spec.objective == Objective::Mse
}
