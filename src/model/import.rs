//! Importing the ALeRCE stamp classifier's weights (its TensorFlow checkpoint exported to
//! safetensors) into a stampseq model file.

use super::file::{write_model, ModelFileError, ModelHeader, ModelKind};
use super::{AlerceStampClassifier, ModelError, ALERCE_CLASSES};
use crate::features::{FeatureStats, FeatureStatsError};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Weights(#[from] ModelError),
    #[error(transparent)]
    Stats(#[from] FeatureStatsError),
    #[error(transparent)]
    File(#[from] ModelFileError),
}

/// Converts the weights (TF layouts) and their feature statistics into a model file.
pub fn import_alerce(weights: &Path, out: &Path) -> Result<ModelHeader, ImportError> {
    let device = burn::tensor::Device::flex();
    let net = AlerceStampClassifier::from_safetensors(weights, &device)?;
    let stats = FeatureStats::from_alerce_safetensors(weights)?;
    // The source file's own metadata says which checkpoint it holds.
    let source_meta = std::fs::read(weights)
        .ok()
        .and_then(|b| {
            safetensors::SafeTensors::read_metadata(&b)
                .ok()
                .and_then(|(_, m)| m.metadata().clone())
        })
        .unwrap_or_default();
    let mut header = ModelHeader::new(ModelKind::Alerce, "alerce", &ALERCE_CLASSES, 21, stats);
    header.architecture = serde_json::json!({
        "description": "ALeRCE stamp classifier, with-features variant: conv 4x4 valid after zero pad 3, conv 3x3 same x4, two 2x2 max pools, dense 64, cyclic average over 4 rotations, BatchNorm(26 features), dense 64, dense 64, 5 logits",
        "crop": 21,
        "kernels": [4, 3, 3, 3, 3],
        "filters": [32, 32, 64, 64, 64],
        "dense": 64,
        "rotations": 4,
        "features": 26,
        "batchnorm_epsilon": 0.001,
    });
    let get = |k: &str| source_meta.get(k).map(String::as_str).unwrap_or("?");
    header.provenance.source = format!(
        "imported from {} ({} checkpoint {} at commit {}); Carrasco-Davis et al. 2021",
        weights.display(),
        get("source_repo"),
        get("checkpoint"),
        get("source_commit"),
    );
    write_model(&net, &header, out)?;
    Ok(header)
}
