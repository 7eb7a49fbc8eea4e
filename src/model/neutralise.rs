//! A network model file that reads some of its features as missing: the same weights, the
//! header's feature statistics naming the features to neutralise.

use super::file::{
    header_from_bytes, sealed, ModelFileError, ModelHeader, ModelKind, HEADER_KEY,
    NEUTRALISED_FORMAT_VERSION,
};
use std::path::Path;

/// Writes to `out` (atomically; it may be `path` itself) the network model of `path` with
/// `features` read as missing, besides any it already neutralises. Tree models choose theirs
/// when trained (`[model] neutralised`), and a fused model's members are neutralised before
/// fusing, so both are refused.
pub fn neutralise_file(
    path: &Path,
    features: &[String],
    out: &Path,
) -> Result<ModelHeader, ModelFileError> {
    let bytes = std::fs::read(path).map_err(|source| ModelFileError::Io {
        path: path.into(),
        source,
    })?;
    let mut header = header_from_bytes(&bytes, path)?;
    let refuse = |reason: String| ModelFileError::BadHeader {
        path: path.into(),
        reason,
    };
    match header.kind {
        ModelKind::Trees => {
            return Err(refuse(
                "a tree model neutralises features when trained ([model] neutralised)".into(),
            ))
        }
        ModelKind::Fused => {
            return Err(refuse(
                "a fused model: neutralise its networks, then fuse them".into(),
            ))
        }
        ModelKind::Alerce | ModelKind::Enhanced | ModelKind::Temporal => {}
    }
    header.feature_stats = header
        .feature_stats
        .clone()
        .with_neutralised(features)
        .map_err(|source| ModelFileError::Neutralise {
            path: path.into(),
            source,
        })?;
    header.format_version = header.format_version.max(NEUTRALISED_FORMAT_VERSION);
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|source| {
        ModelFileError::NotSafetensors {
            path: path.into(),
            source,
        }
    })?;
    let tensors = safetensors::SafeTensors::deserialize(&bytes).map_err(|source| {
        ModelFileError::NotSafetensors {
            path: path.into(),
            source,
        }
    })?;
    let json = serde_json::to_string(&header).map_err(|e| ModelFileError::write(out, e))?;
    let mut metadata = meta.metadata().clone().unwrap_or_default();
    metadata.insert(HEADER_KEY.to_string(), json);
    // The old checksum is of the old header: sealing replaces it.
    let written = safetensors::serialize(tensors.tensors(), Some(metadata))
        .map_err(|e| ModelFileError::write(out, e))?;
    let written = sealed(&written, out)?;
    crate::atomic::write_atomic(out, &written).map_err(|e| ModelFileError::write(out, e))?;
    Ok(header)
}
