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

/// The backends draw initial weights from one random generator per process (burn-flex
/// keeps it in a static), lazily, at a network's first forward pass. A training run seeds
/// it and takes its first step under this lock, so that its weights are its seed's whatever
/// else trains at the same time (the app's workers, parallel tests). Loading a model file
/// draws nothing (its weights replace the lazy ones).
pub fn weights_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

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
