//! Training the temporal and enhanced classifiers (SPEC sections 3-4): configuration,
//! preprocessed data, the stratified split, and the loop with its checkpoints.

pub mod config;
pub mod dataset;
pub mod events;
mod net;
pub mod run_state;
pub mod split;
pub mod trainer;
pub mod trees;

pub use config::{ModelChoice, TrainConfig};
pub use dataset::{DataSummary, Dataset};
pub use events::{TrainEvent, Validation};
pub use run_state::{TrainOutcome, TrainState};
pub use split::Split;
pub use trainer::train;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("training configuration: {reason}")]
    Config { reason: String },
    #[error("training data: {0}")]
    Data(String),
    #[error("training data: {0}")]
    Labels(#[from] crate::labels::LabelError),
    #[error("training data: dataset cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: dataset::CacheError,
    },
    #[error(transparent)]
    Net(#[from] crate::model::NetError),
    #[error(transparent)]
    ModelFile(#[from] crate::model::file::ModelFileError),
}
