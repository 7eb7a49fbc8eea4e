//! Evaluation: classification metrics, confusion matrices, per-detection-count tables and
//! the statistics for comparing repeated runs.

pub mod metrics;
pub mod stats;
