//! The scores of one validation pass during training: what the training curves plot.

use crate::eval::metrics::ConfusionMatrix;
use serde::Serialize;

/// One validation pass of a training run.
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
