//! Neural networks over stamps and features, as Burn modules.

pub mod alerce;
pub mod cpu_infer;
pub mod encoder;
pub mod enhanced;
pub mod file;
pub mod fused;
pub mod heads;
pub mod import;
pub mod loss;
pub mod neutralise;
pub mod priors;
pub mod probs;
pub mod read;
pub mod rules;
pub mod survey;
pub mod temporal;
pub mod trees;

pub use alerce::{AlerceStampClassifier, ModelError, Prediction, ALERCE_CLASSES};
pub use cpu_infer::{CpuEncoder, CpuInferError};
pub use encoder::{NetError, StampEncoder, StampEncoderConfig};
pub use enhanced::{EnhancedStampClassifier, EnhancedStampClassifierConfig};
pub use heads::{HeadConfig, Positions, TemporalHead};
pub use loss::{confidence_penalty_loss, confidence_penalty_loss_single};
pub use read::read_alerts_for_model;
pub use survey::{SurveyMismatch, TrainedOn};
pub use temporal::{
    days_after_first, wise_row, TemporalStampClassifier, TemporalStampClassifierConfig,
    TimeModulation, DEFAULT_CLASSES,
};
