//! Where a training run stands between sessions (`state.json`) and how it ended. Apart from
//! the loops so that the network loop and the tree loop both report it without importing
//! each other.

use super::events::Validation;
use serde::{Deserialize, Serialize};

/// What `state.json` keeps between sessions of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    pub iteration: usize,
    pub max_iterations: usize,
    pub best_val_loss: Option<f64>,
    pub best_iteration: usize,
    pub seed: u64,
    pub history: Vec<Validation>,
}

#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub state: TrainState,
    pub cancelled: bool,
    pub test_accuracy: Option<f64>,
    /// Mean recall over the test classes: what a skewed test set's accuracy hides.
    pub test_balanced_accuracy: Option<f64>,
    pub test_loss: Option<f64>,
    pub test_objects: usize,
}
