//! Neural networks over stamps and features, as Burn modules.

pub mod alerce;
pub mod file;
pub mod import;

pub use alerce::{AlerceStampClassifier, ModelError, Prediction, ALERCE_CLASSES};
