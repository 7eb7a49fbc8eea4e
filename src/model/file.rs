//! The stampseq model file: one safetensors file that describes itself. Its metadata holds
//! a JSON header under the key `stampseq` (format version, model kind and architecture,
//! class names, crop size, the survey, stamps and feature set it was trained on, the feature statistics the model was trained with, provenance:
//! where the weights came from and, for models trained here, the data, config and
//! metrics); its tensors are the module's parameters by their module path, written and
//! read by burn-store. Files are written atomically.

use super::survey::{SurveyMismatch, TrainedOn};
use crate::alert::neutral::Survey;
use crate::features::FeatureStats;
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const MODEL_FORMAT: &str = "stampseq-model";
/// The newest version this build reads (2: feature statistics may name neutralised features).
pub const MODEL_FORMAT_VERSION: u32 = 2;
pub(crate) const HEADER_KEY: &str = "stampseq";
/// The metadata key of the CRC-32 of a model file's header and weights, in hex: a file
/// damaged in a copy or on disk fails to load instead of answering with altered weights.
/// Files written before it was added carry none and load as before.
pub(crate) const CHECKSUM_KEY: &str = "stampseq_crc32";
/// The model format version of a header whose features name neutralised ones: a reader of
/// version 1 would ignore the list and read those features.
pub const NEUTRALISED_FORMAT_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a safetensors file ({source}); is it a stampseq model?")]
    NotSafetensors {
        path: PathBuf,
        #[source]
        source: safetensors::SafeTensorError,
    },
    #[error("{path}: the file is damaged: its header and weights have CRC-32 {found:08x}, it was written with {written}; copy it again, or train or import it again")]
    Damaged {
        path: PathBuf,
        found: u32,
        written: String,
    },
    #[error("{path}: a safetensors file but not a stampseq model (no `stampseq` header); convert ALeRCE weights with `stampseq import-alerce`")]
    NoHeader { path: PathBuf },
    #[error("{path}: bad model header: {reason}")]
    BadHeader { path: PathBuf, reason: String },
    /// A fused model's member weights that do not fit its members.
    #[error("{path}: bad model header: {source}")]
    BadWeights {
        path: PathBuf,
        #[source]
        source: WeightsError,
    },
    /// The header's architecture does not describe the model kind's configuration.
    #[error("{path}: bad model header: architecture: {source}")]
    Architecture {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The header is there but a part of it does not parse or does not hold together.
    #[error("{path}: bad model header: {source}")]
    HeaderUnreadable {
        path: PathBuf,
        #[source]
        source: Cause,
    },
    #[error("{path}: model format version {found} is newer than this stampseq reads ({supported}); update stampseq")]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path}: weights do not fit the {kind} architecture: {reason}")]
    Weights {
        path: PathBuf,
        kind: String,
        reason: String,
    },
    /// The weights could not be loaded into the architecture (burn-store's error).
    #[error("{path}: weights do not fit the {kind} architecture: {source}")]
    WeightsUnreadable {
        path: PathBuf,
        kind: String,
        #[source]
        source: Cause,
    },
    /// One tensor of the file holds data that does not decode.
    #[error("{path}: weights do not fit the {kind} architecture: {tensor}: {source}")]
    TensorUnreadable {
        path: PathBuf,
        kind: String,
        tensor: &'static str,
        #[source]
        source: Cause,
    },
    #[error("{path}: {source}")]
    Neutralise {
        path: PathBuf,
        #[source]
        source: crate::features::FeatureStatsError,
    },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: Cause,
    },
}

/// Why a fused model's member weights were refused.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{weights} weights for {members} members")]
    Count { weights: usize, members: usize },
    #[error("member weight {0}: weights are finite and >= 0")]
    Invalid(f32),
    #[error("the member weights are all 0")]
    AllZero,
    #[error("the fused header's weights are not numbers: {0}")]
    NotNumbers(#[source] serde_json::Error),
}

/// The underlying error of a model file problem (serde_json, safetensors, burn-store, io,
/// gzip...), kept whole so that callers can walk the chain.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

impl ModelFileError {
    /// A [`ModelFileError::Write`] of `path` caused by `source`.
    pub fn write(path: &Path, source: impl Into<Cause>) -> Self {
        Self::Write {
            path: path.into(),
            source: source.into(),
        }
    }

    /// A [`ModelFileError::HeaderUnreadable`] of `path` caused by `source`.
    pub fn header(path: &Path, source: impl Into<Cause>) -> Self {
        Self::HeaderUnreadable {
            path: path.into(),
            source: source.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The ALeRCE stamp classifier (Carrasco-Davis et al. 2021), single alert.
    Alerce,
    /// The enhanced single-alert stamp classifier.
    Enhanced,
    /// The Temporal Stamp Classifier.
    Temporal,
    /// Gradient-boosted trees on the alert's metadata and history, with the physics rules.
    Trees,
    /// Two or more models of the above in one file, their probabilities averaged (see
    /// [`crate::model::fused`]).
    Fused,
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModelKind::Alerce => "alerce",
            ModelKind::Enhanced => "enhanced",
            ModelKind::Temporal => "temporal",
            ModelKind::Trees => "trees",
            ModelKind::Fused => "fused",
        })
    }
}

/// Where a model's weights came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    /// E.g. "imported from alercebroker/pipeline ... checkpoint" or "trained by stampseq".
    pub source: String,
    /// Seconds since the Unix epoch.
    pub created_unix: f64,
    pub stampseq_version: String,
    /// Training data, config and seed, for models trained here.
    pub training: Option<serde_json::Value>,
    /// Held-out metrics, for models trained here.
    pub metrics: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHeader {
    pub format: String,
    pub format_version: u32,
    pub kind: ModelKind,
    /// A short name for tables and plots, e.g. "alerce" or "tsc-gru-n5".
    pub name: String,
    pub classes: Vec<String>,
    /// Side of the square stamp crop the model reads.
    pub crop: usize,
    pub feature_stats: FeatureStats,
    /// Kind-specific architecture configuration.
    pub architecture: serde_json::Value,
    pub provenance: Provenance,
    /// The survey, stamps and features the model was trained on; absent in files written
    /// before stampseq read LSST alerts, which hold ZTF models.
    #[serde(default)]
    pub trained_on: TrainedOn,
}

impl ModelHeader {
    pub fn new(
        kind: ModelKind,
        name: &str,
        classes: &[&str],
        crop: usize,
        feature_stats: FeatureStats,
    ) -> Self {
        // The oldest version that holds what the header says, so that older builds read
        // every file they can read right.
        let format_version = if feature_stats.neutralised.is_empty() {
            1
        } else {
            NEUTRALISED_FORMAT_VERSION
        };
        Self {
            format: MODEL_FORMAT.into(),
            format_version,
            kind,
            name: name.into(),
            classes: classes.iter().map(|c| c.to_string()).collect(),
            crop,
            feature_stats,
            architecture: serde_json::Value::Null,
            provenance: Provenance {
                created_unix: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0),
                stampseq_version: env!("CARGO_PKG_VERSION").into(),
                ..Default::default()
            },
            trained_on: TrainedOn::default(),
        }
    }
}

/// Reads only the header of a model file (cheap: the safetensors header is at the start).
pub fn read_header(path: &Path) -> Result<ModelHeader, ModelFileError> {
    let bytes = std::fs::read(path).map_err(|source| ModelFileError::Io {
        path: path.into(),
        source,
    })?;
    header_from_bytes(&bytes, path)
}

pub fn header_from_bytes(bytes: &[u8], path: &Path) -> Result<ModelHeader, ModelFileError> {
    let (n, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|source| {
        ModelFileError::NotSafetensors {
            path: path.into(),
            source,
        }
    })?;
    let json = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(HEADER_KEY))
        .ok_or_else(|| ModelFileError::NoHeader { path: path.into() })?;
    if let Some(written) = meta.metadata().as_ref().and_then(|m| m.get(CHECKSUM_KEY)) {
        let found = checksum(json, &bytes[data_start(n)..]);
        if u32::from_str_radix(written, 16).ok() != Some(found) {
            return Err(ModelFileError::Damaged {
                path: path.into(),
                found,
                written: written.clone(),
            });
        }
    }
    let header: ModelHeader =
        serde_json::from_str(json).map_err(|e| ModelFileError::header(path, e))?;
    if header.format != MODEL_FORMAT {
        return Err(ModelFileError::BadHeader {
            path: path.into(),
            reason: format!("format is {:?}, not {MODEL_FORMAT:?}", header.format),
        });
    }
    if header.format_version > MODEL_FORMAT_VERSION {
        return Err(ModelFileError::TooNew {
            path: path.into(),
            found: header.format_version,
            supported: MODEL_FORMAT_VERSION,
        });
    }
    header
        .feature_stats
        .validate_for(&header.trained_on.feature_set)
        .map_err(|e| ModelFileError::header(path, e))?;
    if header.classes.is_empty() {
        return Err(ModelFileError::BadHeader {
            path: path.into(),
            reason: "no classes".into(),
        });
    }
    Ok(header)
}

/// Where a safetensors file's tensor data starts: after the header's length (8 bytes) and
/// the header of `header_len` bytes.
fn data_start(header_len: usize) -> usize {
    std::mem::size_of::<u64>() + header_len
}

fn checksum(header_json: &str, data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header_json.as_bytes());
    hasher.update(data);
    hasher.finalize()
}

/// A model file's bytes with the checksum of its header and weights added to its metadata
/// (every writer of model files seals what it writes; `path` names the file in errors).
pub(crate) fn sealed(bytes: &[u8], path: &Path) -> Result<Vec<u8>, ModelFileError> {
    use safetensors::tensor::Metadata;
    let (n, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| ModelFileError::write(path, e))?;
    let data = &bytes[data_start(n)..];
    let mut metadata = meta.metadata().clone().unwrap_or_default();
    let header_json = metadata.get(HEADER_KEY).cloned().unwrap_or_default();
    metadata.insert(
        CHECKSUM_KEY.to_string(),
        format!("{:08x}", checksum(&header_json, data)),
    );
    let tensors = meta
        .offset_keys()
        .into_iter()
        .filter_map(|name| meta.info(&name).cloned().map(|info| (name, info)))
        .collect();
    let meta =
        Metadata::new(Some(metadata), tensors).map_err(|e| ModelFileError::write(path, e))?;
    let mut header = serde_json::to_vec(&meta).map_err(|e| ModelFileError::write(path, e))?;
    // The format pads its header with spaces to a multiple of 8 bytes.
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(data_start(header.len()) + data.len());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    Ok(out)
}

/// Writes a module and its header, atomically.
pub fn write_model<M: Module + ModuleSnapshot>(
    module: &M,
    header: &ModelHeader,
    path: &Path,
) -> Result<(), ModelFileError> {
    let json = serde_json::to_string(header).map_err(|e| ModelFileError::write(path, e))?;
    let mut store = SafetensorsStore::from_bytes(None).metadata(HEADER_KEY, json);
    module
        .save_into(&mut store)
        .map_err(|e| ModelFileError::write(path, e))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| ModelFileError::write(path, e))?;
    let bytes = sealed(&bytes, path)?;
    crate::atomic::write_atomic(path, &bytes).map_err(|e| ModelFileError::write(path, e))
}

/// Loads the weights of a model file into a module built from its header's architecture.
/// Every parameter must be present with its shape; extra tensors are an error too.
pub fn load_weights<M: Module + ModuleSnapshot>(
    module: &mut M,
    bytes: Vec<u8>,
    header: &ModelHeader,
    path: &Path,
) -> Result<(), ModelFileError> {
    let err = |reason: String| ModelFileError::Weights {
        path: path.into(),
        kind: header.kind.to_string(),
        reason,
    };
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    let result = module
        .load_from(&mut store)
        .map_err(|e| ModelFileError::WeightsUnreadable {
            path: path.into(),
            kind: header.kind.to_string(),
            source: e.into(),
        })?;
    if !result.errors.is_empty() {
        return Err(err(format!("{:?}", result.errors)));
    }
    if !result.missing.is_empty() {
        let names: Vec<&str> = result.missing.iter().map(|(p, _)| p.as_str()).collect();
        return Err(err(format!("missing tensors {names:?}")));
    }
    if !result.unused.is_empty() {
        return Err(err(format!("unexpected tensors {:?}", result.unused)));
    }
    Ok(())
}

impl ModelHeader {
    /// Whether the model reads alerts of `survey`: those it was trained on, and both
    /// surveys for a model of survey-neutral features.
    pub fn reads(&self, survey: Survey) -> bool {
        match self.trained_on.features() {
            Some(set) => set.reads(survey),
            None => survey == self.trained_on.survey,
        }
    }

    /// Whether the model answers `survey`'s alerts from another survey's training: a ZTF
    /// model of neutral features on LSST alerts (unvalidated on that survey's labels).
    pub fn transferred_to(&self, survey: Survey) -> bool {
        survey != self.trained_on.survey
    }

    /// Refuses alerts of a survey this model does not read.
    pub fn check_survey(
        &self,
        model_path: &Path,
        found: Survey,
        input: &str,
    ) -> Result<(), Box<SurveyMismatch>> {
        if self.reads(found) {
            return Ok(());
        }
        Err(Box::new(SurveyMismatch {
            model: self.name.clone(),
            path: model_path.into(),
            trained_on: self.trained_on.clone(),
            input: input.into(),
            found,
        }))
    }
}
