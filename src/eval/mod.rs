//! Evaluation: classification metrics, confusion matrices, per-detection-count tables and
//! the statistics for comparing repeated runs.

pub mod evaluate;
pub mod metrics;
pub mod plots;
pub mod stats;
pub mod typeset;
pub mod validation;
