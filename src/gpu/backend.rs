//! The GPU as a `Backend`: a session per call, epochs batched between progress reports. The tutorial's network
//! trained the tutorial's way (one hidden layer, MSE, plain full-batch SGD, no penalty) runs on the tuned
//! kernels of `session`; everything else on the general kernels of `general`.

use super::general;
use super::runtime::device::Gpu;
use super::runtime::pipelined::{self, PendingHistory, Resident};
use super::runtime::wgsl::Tiles;
use super::tutorial::layout::PlanOverrides;
use super::tutorial::session::{Mode, Session};
use crate::backend::{Backend, Control, Evaluation, Trained};
use crate::data::problem::Problem;
use crate::error::Result;
use crate::model::{Params, Spec};
use crate::objective::{Objective, Penalty};
use crate::training::Config;

pub struct GpuBackend {
    pub gpu: Gpu,
    /// Kernel choices other than the adapter's defaults (benchmarks).
    pub overrides: PlanOverrides,
    /// Run everything on the general path, the tutorial's case included (to check that path on it).
    pub force_general: bool,
    /// The general path's register tiles, instead of the adapter's default (`general::tiles_for`).
    pub general_tiles: Option<Tiles>,
}

impl GpuBackend {
    /// Opens the preferred adapter, or the first whose name contains `adapter`.
    pub fn open(adapter: Option<&str>) -> Result<GpuBackend> {
        Ok(GpuBackend {
            gpu: Gpu::open(adapter)?,
            overrides: PlanOverrides::default(),
            force_general: false,
            general_tiles: None,
        })
    }
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
        if self.force_general || !tutorial_net(spec) || !penalty.is_zero() {
            return general::evaluate(
                &self.gpu,
                problem,
                spec,
                params,
                penalty,
                self.general_tiles,
            );
        }
        let mut session =
            Session::new(&self.gpu, problem, spec, Mode::Gradients, 1, self.overrides)?;
        session.set_params(params, 0.0)?;
        session.evaluate()
    }

    fn train_with(
        &mut self,
        problem: &Problem,
        spec: &Spec,
        params: &Params,
        config: &Config,
        control: &mut Control,
    ) -> Result<Trained> {
        if self.force_general
            || !tutorial_net(spec)
            || !config.optimizer.is_plain_sgd()
            || config.is_mini_batch(problem.n_train())
            || !config.penalty.is_zero()
        {
            return general::train(
                &self.gpu,
                problem,
                spec,
                params,
                config,
                self.general_tiles,
                control,
            );
        }
        let mut session = Session::new(
            &self.gpu,
            problem,
            spec,
            Mode::Train,
            config.epochs,
            self.overrides,
        )?;
        session.set_params(params, config.lr)?;
        let setup_time = session.setup_time;
        pipelined::train(&self.gpu, &mut session, config, setup_time, control)
    }
}

impl Resident for Session<'_> {
    fn run_epochs(&mut self, epochs: usize) -> Result<PendingHistory> {
        Session::run_epochs(self, epochs)
    }
    fn epochs_done(&self) -> usize {
        Session::epochs_done(self)
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
