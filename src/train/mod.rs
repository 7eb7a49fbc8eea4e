//! Training the temporal and enhanced classifiers (SPEC sections 3-4): configuration,
//! preprocessed data, the stratified split, and the loop with its checkpoints.

pub mod config;
pub mod dataset;
pub mod events;
mod net;
pub mod run_state;
mod sampler;
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
    #[error("training configuration: neutralised_features: {0}")]
    Neutralised(#[source] crate::features::FeatureStatsError),
    /// The configuration file is not TOML of a training configuration.
    #[error("training configuration: {path}: {source}")]
    ConfigToml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("training data: {0}")]
    Data(String),
    /// The loss stopped being a number: the weights are lost from there on, so the run
    /// stops rather than keep or hand back a network that answers NaN.
    #[error("training diverged at iteration {iteration}: the {which} loss is {loss}; a feature far outside the values it was trained on (a corrupt alert among the training data?) or too high a learning rate ({lr})")]
    Diverged {
        iteration: usize,
        which: &'static str,
        loss: f64,
        lr: f64,
    },
    #[error("training data: {0}")]
    Labels(#[from] crate::labels::LabelError),
    /// A JSON file of the run (its split, state, metrics) that could not be read or written.
    #[error("training data: {path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("training data: {path}: architecture: {source}")]
    Architecture {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The model's settled architecture could not be put into the model header.
    #[error("training data: {0}")]
    ArchitectureJson(#[source] serde_json::Error),
    #[error("training data: split {path}: {source}")]
    SplitCsv { path: PathBuf, source: csv::Error },
    #[error("training data: split {path}: row {row}: {source}")]
    SplitRow {
        path: PathBuf,
        row: usize,
        source: csv::Error,
    },
    #[error("training data: fitting the trees: {0}")]
    Trees(#[source] crate::model::trees::TreeError),
    #[error("training data: evaluating: {0}")]
    Evaluating(#[source] crate::model::ModelError),
    #[error("training data: timing inference: {0}")]
    TimingInference(#[source] crate::model::ModelError),
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
