//! Runs that train AND score: the active-learning replay, fine-tuning on vetting labels and
//! the sweeps of heads and detection counts. Above `train` (they train) and `eval` (they
//! score), below the CLI and the app that start them.

pub mod ablation;
pub mod active;
pub mod active_cross;
pub mod answers;
pub mod benchmark;
pub mod benchmark_run;
pub mod default_fused;
pub mod external;
pub mod finetune;
pub mod fused;
pub mod fusion_weight;
pub mod grouped;
pub mod grouped_networks;
pub mod grouped_render;
pub mod groups;
pub mod neutral;
pub mod report;
pub mod shortcut;
pub mod sweep;
