//! A fused model file: two or more stampseq models in one file, whose probabilities are
//! averaged before the priors and the physics rules are applied once. The trees read what
//! the alert carries besides its stamps, a network reads the stamps. The mean is plain
//! (equal weights) unless the file records the members' weights: the benchmark chooses the
//! trees' weight on its grouped-by-source validation, one number for five source groups,
//! because the trees learn what identifies a source and lose more across sources than the
//! network does.
//!
//! The file is safetensors like every model file: the fused header in the metadata, each
//! member's whole model file as one byte tensor (`member.0`, `member.1`...), so that a
//! member is read exactly as it would be from its own file.

use super::file::{ModelFileError, ModelHeader, ModelKind, WeightsError, HEADER_KEY};
use std::path::Path;

const MEMBER_PREFIX: &str = "member.";
const COMBINE_MEAN: &str =
    "mean of the members' probabilities at equal priors, then priors and the physics rules once";

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
    // A member's header may need a newer reader (neutralised features): so does the whole.
    header.format_version = members
        .iter()
        .map(|m| m.format_version)
        .fold(header.format_version, u32::max);
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
        "combine": COMBINE_MEAN,
        "members": members.iter().enumerate().map(|(i, m)| serde_json::json!({
            "name": name_of(i),
            "kind": m.kind,
            "classes": m.classes,
        })).collect::<Vec<_>>(),
    });
    Ok(header)
}

/// Records the members' weights in a fused header (normalised to sum to 1): the answer is
/// then the weighted mean of the members' probabilities. Refused unless there is one finite,
/// non-negative weight per member and they do not all vanish.
pub fn set_weights(
    header: &mut ModelHeader,
    weights: &[f32],
    path: &Path,
) -> Result<(), ModelFileError> {
    let names = member_names(header);
    let normalised =
        normalised(weights, names.len()).map_err(|source| ModelFileError::BadWeights {
            path: path.into(),
            source,
        })?;
    header.architecture["weights"] = serde_json::json!(normalised);
    header.architecture["combine"] = serde_json::json!(format!(
        "weighted mean of the members' probabilities at equal priors ({}), then priors and the physics rules once",
        weights_text(&names, &normalised)
    ));
    header.provenance.source = format!(
        "fused by stampseq: the weighted mean of {}",
        weights_text(&names, &normalised)
    );
    Ok(())
}

/// "0.15 x A, 0.85 x B".
fn weights_text(names: &[String], weights: &[f32]) -> String {
    names
        .iter()
        .zip(weights)
        .map(|(n, w)| format!("{w:.2} x {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn normalised(weights: &[f32], members: usize) -> Result<Vec<f32>, WeightsError> {
    if weights.len() != members {
        return Err(WeightsError::Count {
            weights: weights.len(),
            members,
        });
    }
    if let Some(w) = weights.iter().find(|w| !w.is_finite() || **w < 0.0) {
        return Err(WeightsError::Invalid(*w));
    }
    let sum: f32 = weights.iter().sum();
    if sum <= 0.0 {
        return Err(WeightsError::AllZero);
    }
    Ok(weights.iter().map(|w| w / sum).collect())
}

/// The members' weights as the fused header records them, summing to 1; equal weights
/// where it records none (files written before weights existed).
pub fn member_weights(header: &ModelHeader, path: &Path) -> Result<Vec<f32>, ModelFileError> {
    let members = member_names(header).len();
    let Some(recorded) = header.architecture.get("weights") else {
        return Ok(vec![1.0 / members.max(1) as f32; members]);
    };
    let bad = |source: WeightsError| ModelFileError::BadWeights {
        path: path.into(),
        source,
    };
    let weights: Vec<f32> =
        serde_json::from_value(recorded.clone()).map_err(|e| bad(WeightsError::NotNumbers(e)))?;
    normalised(&weights, members).map_err(bad)
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
    let bytes = super::file::sealed(&bytes, path)?;
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

/// Fuses the model files `members` into one model file at `out`, named `name`; with
/// `weights` (one per member), their weighted mean, else the plain mean.
pub fn fuse_files(
    members: &[std::path::PathBuf],
    name: &str,
    weights: Option<&[f32]>,
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
    let mut header = fused_header(name, &headers, &names, out)?;
    if let Some(w) = weights {
        set_weights(&mut header, w, out)?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FeatureStats;

    fn member(name: &str) -> ModelHeader {
        let stats = FeatureStats {
            names: Vec::new(),
            mean: Vec::new(),
            std: Vec::new(),
            clip_lo: Vec::new(),
            clip_hi: Vec::new(),
            neutralised: Vec::new(),
        };
        ModelHeader::new(ModelKind::Trees, name, &["AGN", "VS"], 0, stats)
    }

    fn pair() -> ModelHeader {
        let names = vec!["trees".to_string(), "net".to_string()];
        fused_header("f", &[member("a"), member("b")], &names, Path::new("f")).unwrap()
    }

    #[test]
    fn a_fusion_without_recorded_weights_is_the_plain_mean() {
        assert_eq!(
            member_weights(&pair(), Path::new("f")).unwrap(),
            vec![0.5, 0.5]
        );
    }

    #[test]
    fn weights_are_normalised_recorded_and_read_back() {
        let mut h = pair();
        set_weights(&mut h, &[0.3, 0.9], Path::new("f")).unwrap();
        let w = member_weights(&h, Path::new("f")).unwrap();
        assert!(
            (w[0] - 0.25).abs() < 1e-6 && (w[1] - 0.75).abs() < 1e-6,
            "{w:?}"
        );
        assert!(h.provenance.source.contains("0.25 x trees, 0.75 x net"));
        let back: ModelHeader = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(member_weights(&back, Path::new("f")).unwrap(), w);
    }

    #[test]
    fn weights_that_do_not_fit_the_members_are_refused() {
        for bad in [&[1.0][..], &[0.5, -0.1], &[0.0, 0.0], &[f32::NAN, 1.0]] {
            assert!(
                set_weights(&mut pair(), bad, Path::new("f")).is_err(),
                "{bad:?}"
            );
        }
        let mut h = pair();
        h.architecture["weights"] = serde_json::json!([1.0, 2.0, 3.0]);
        let e = member_weights(&h, Path::new("x.stampseq"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.stampseq") && e.contains("3 weights for 2 members"),
            "{e}"
        );
    }
}
