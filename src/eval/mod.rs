//! Evaluation: classification metrics, confusion matrices, per-detection-count tables and
//! the statistics for comparing repeated runs.

pub mod active;
pub mod benchmark;
pub mod benchmark_run;
pub mod evaluate;
pub mod fused;
pub mod grouped;
pub mod groups;
pub mod metrics;
pub mod plots;
pub mod shortcut;
pub mod stats;
pub mod typeset;
