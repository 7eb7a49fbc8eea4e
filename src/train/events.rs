//! Progress of a training run, for a progress bar or a GUI.

// Defined with the scores it holds, so that the plots (below training) can draw the curves.
pub use crate::eval::validation::Validation;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub enum TrainEvent {
    /// The data is in memory and split.
    Loaded {
        train: usize,
        val: usize,
        test: usize,
        from_cache: bool,
        /// Detections left out of the data, and why the first was.
        left_out: usize,
        first_left_out: Option<String>,
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
