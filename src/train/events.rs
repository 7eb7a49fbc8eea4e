//! Progress of a training run, for a progress bar or a GUI.

use crate::eval::metrics::ConfusionMatrix;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub enum TrainEvent {
    /// The data is in memory and split.
    Loaded {
        train: usize,
        val: usize,
        test: usize,
        from_cache: bool,
    },
    /// Training continues from a saved run.
    Resumed { iteration: usize },
    /// One optimisation step done.
    Step {
        iteration: usize,
        max_iterations: usize,
        train_loss: f32,
    },
    /// A validation pass.
    Validation(Validation),
    /// The run ended (finished, or cancelled after the current step).
    Finished {
        iteration: usize,
        cancelled: bool,
        best_val_loss: f64,
        best_iteration: usize,
        test_accuracy: Option<f64>,
    },
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Validation {
    pub iteration: usize,
    pub max_iterations: usize,
    /// Means over the steps since the previous validation.
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    /// Accuracy at each validation object's last detection.
    pub val_accuracy: f64,
    pub best_val_loss: f64,
    pub improved: bool,
    pub elapsed_s: f64,
    /// Estimated seconds to `max_iterations` at the rate of this session.
    pub eta_s: f64,
    /// Validation objects at their last detection, classes in logit order; its total is
    /// the validation set's size. Absent in state files written before it existed.
    #[serde(default)]
    pub confusion: Option<ConfusionMatrix>,
}
