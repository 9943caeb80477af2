//! The final numbers of a training run: its losses, angular errors and, for classifiers, the confusion.

use crate::backend::Trained;
use crate::data::problem::Problem;
use crate::metrics::{AngularSummary, ClassSummary, angular_summary, class_summary};
use crate::model::Spec;
use crate::objective::Penalty;

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
    /// The outcome of `trained`; `penalty` is the one it trained with (part of the test loss when no epoch ran).
    pub fn new(trained: &Trained, problem: &Problem, spec: &Spec, penalty: &Penalty) -> Outcome {
        let classes = spec
            .objective
            .classes()
            .map(|c| class_summary(&trained.test_outputs, &problem.y_test, c));
        Outcome {
            train_loss: trained.final_train_loss,
            test_loss: match trained.history.test_loss.last() {
                Some(&last) => last,
                // No epoch ran (`--epochs 0`): the objective on the test rows at the initial weights, as an epoch
                // would have recorded it. The reported outputs serve for every objective (LogSoftmax of
                // log-probabilities gives them back).
                None => {
                    let w_in: Vec<f64> = trained.params.layers[0]
                        .weight
                        .iter()
                        .map(|&w| f64::from(w))
                        .collect();
                    spec.objective
                        .loss_and_grad(&trained.test_outputs, &problem.y_test)
                        .0
                        + penalty.value(&w_in)
                }
            },
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
