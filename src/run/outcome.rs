//! The final numbers of a training run: its losses, angular errors and, for classifiers, the confusion.

use crate::backend::Trained;
use crate::data::problem::Problem;
use crate::metrics::{AngularSummary, ClassSummary, angular_summary, class_summary};
use crate::model::Spec;

/// The final numbers of a run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The training objective (with penalties) at the final weights.
    pub train_loss: f64,
    /// The test objective at the final weights (the last epoch's test loss).
    pub test_loss: f64,
    /// Angular error of the test predictions around the circle: of the decoded angle for regression, of the
    /// decoded bin's centre for classification.
    pub test_angular: AngularSummary,
    /// For classifiers: fraction correct and the confusion between bins.
    pub classes: Option<ClassSummary>,
    pub epochs: usize,
    pub train_seconds: f64,
    pub setup_seconds: f64,
}

impl Outcome {
    pub fn new(trained: &Trained, problem: &Problem, spec: &Spec) -> Outcome {
        let classes = spec
            .objective
            .classes()
            .map(|c| class_summary(&trained.test_outputs, &problem.y_test, c));
        Outcome {
            train_loss: trained.final_train_loss,
            test_loss: trained
                .history
                .test_loss
                .last()
                .copied()
                .unwrap_or(f64::NAN),
            test_angular: match &classes {
                Some(c) => c.angular,
                None => angular_summary(&trained.test_outputs, &problem.y_test),
            },
            classes,
            epochs: trained.history.train_loss.len(),
            train_seconds: trained.train_time.as_secs_f64(),
            setup_seconds: trained.setup_time.as_secs_f64(),
        }
    }

    pub fn epochs_per_second(&self) -> f64 {
        self.epochs as f64 / self.train_seconds
    }
}
