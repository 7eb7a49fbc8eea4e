//! A fused model file: two or more stampseq models in one file, whose probabilities are
//! averaged before the priors and the physics rules are applied once. The trees read what
//! the alert carries besides its stamps, a network reads the stamps: on source groups
//! neither trained on, the mean of the two beats each (the benchmark's grouped table), and
//! a mean has no weight to fit, so it cannot learn the few objects of a fold.
//!
//! The file is safetensors like every model file: the fused header in the metadata, each
//! member's whole model file as one byte tensor (`member.0`, `member.1`...), so that a
//! member is read exactly as it would be from its own file.

use super::file::{ModelFileError, ModelHeader, ModelKind, HEADER_KEY};
use std::path::Path;

const MEMBER_PREFIX: &str = "member.";

/// The header of a fusion of `members` (their headers, in order): the union of their
/// classes (the first member's order first), the largest crop, the first member's
/// training survey; every member must have been trained on the same survey and features.
/// `names` are what the members are called in tables (their file names), in order.
pub fn fused_header(
    name: &str,
    members: &[ModelHeader],
    names: &[String],
    path: &Path,
) -> Result<ModelHeader, ModelFileError> {
    let bad = |reason: String| ModelFileError::BadHeader {
        path: path.into(),
        reason,
    };
    let Some(first) = members.first() else {
        return Err(bad("a fused model needs members".into()));
    };
    if members.len() < 2 {
        return Err(bad("a fused model needs two or more members".into()));
    }
    if let Some(m) = members.iter().find(|m| m.kind == ModelKind::Fused) {
        return Err(bad(format!("member {} is itself fused", m.name)));
    }
    if let Some(m) = members.iter().find(|m| m.trained_on != first.trained_on) {
        return Err(bad(format!(
            "members {} and {} were trained on different surveys or features",
            first.name, m.name
        )));
    }
    let mut classes: Vec<&str> = Vec::new();
    for m in members {
        for c in &m.classes {
            if !classes.contains(&c.as_str()) {
                classes.push(c);
            }
        }
    }
    let crop = members.iter().map(|m| m.crop).max().unwrap_or(0);
    let mut header = ModelHeader::new(
        ModelKind::Fused,
        name,
        &classes,
        crop,
        first.feature_stats.clone(),
    );
    header.trained_on = first.trained_on.clone();
    let name_of = |i: usize| names.get(i).unwrap_or(&members[i].name).clone();
    header.provenance.source = format!(
        "fused by stampseq: the mean of {}",
        (0..members.len())
            .map(name_of)
            .collect::<Vec<_>>()
            .join(" and ")
    );
    header.architecture = serde_json::json!({
        "kind": "fused",
        "combine": "mean of the members' probabilities at equal priors, then priors and the physics rules once",
        "members": members.iter().enumerate().map(|(i, m)| serde_json::json!({
            "name": name_of(i),
            "kind": m.kind,
            "classes": m.classes,
        })).collect::<Vec<_>>(),
    });
    Ok(header)
}

/// Writes `header` and the members' model files (their bytes, in the header's order) as one
/// model file, atomically.
pub fn write_fused_model(
    header: &ModelHeader,
    members: &[Vec<u8>],
    path: &Path,
) -> Result<(), ModelFileError> {
    let names: Vec<String> = (0..members.len())
        .map(|i| format!("{MEMBER_PREFIX}{i}"))
        .collect();
    let mut views = Vec::with_capacity(members.len());
    for (name, bytes) in names.iter().zip(members) {
        let view =
            safetensors::tensor::TensorView::new(safetensors::Dtype::U8, vec![bytes.len()], bytes)
                .map_err(|e| ModelFileError::write(path, e))?;
        views.push((name.as_str(), view));
    }
    let header_json = serde_json::to_string(header).map_err(|e| ModelFileError::write(path, e))?;
    let metadata = std::collections::HashMap::from([(HEADER_KEY.to_string(), header_json)]);
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| ModelFileError::write(path, e))?;
    crate::atomic::write_atomic(path, &bytes).map_err(|e| ModelFileError::write(path, e))
}

/// The members' model files held in a fused model file, in order.
pub fn read_fused_members(
    bytes: &[u8],
    header: &ModelHeader,
    path: &Path,
) -> Result<Vec<Vec<u8>>, ModelFileError> {
    let err = |reason: String| ModelFileError::Weights {
        path: path.into(),
        kind: header.kind.to_string(),
        reason,
    };
    let tensors = safetensors::SafeTensors::deserialize(bytes).map_err(|source| {
        ModelFileError::NotSafetensors {
            path: path.into(),
            source,
        }
    })?;
    let mut members = Vec::new();
    while let Ok(t) = tensors.tensor(&format!("{MEMBER_PREFIX}{}", members.len())) {
        members.push(t.data().to_vec());
    }
    if members.len() < 2 || members.len() != tensors.len() {
        return Err(err(format!(
            "{} tensors, {} of them members {MEMBER_PREFIX}0.. in order: a fused model holds two or more",
            tensors.len(),
            members.len()
        )));
    }
    Ok(members)
}

/// Fuses the model files `members` into one model file at `out`, named `name`.
pub fn fuse_files(
    members: &[std::path::PathBuf],
    name: &str,
    out: &Path,
) -> Result<ModelHeader, ModelFileError> {
    let mut bytes = Vec::with_capacity(members.len());
    let mut headers = Vec::with_capacity(members.len());
    let names: Vec<String> = members
        .iter()
        .map(|p| {
            p.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    for path in members {
        let b = std::fs::read(path).map_err(|source| ModelFileError::Io {
            path: path.clone(),
            source,
        })?;
        headers.push(super::file::header_from_bytes(&b, path)?);
        bytes.push(b);
    }
    let header = fused_header(name, &headers, &names, out)?;
    write_fused_model(&header, &bytes, out)?;
    Ok(header)
}

/// The members' names as the fused header records them, in order.
pub fn member_names(header: &ModelHeader) -> Vec<String> {
    header.architecture["members"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| m["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}
