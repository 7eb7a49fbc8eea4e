//! Gradient-boosted trees on an alert's metadata and history (no stamps): a small ensemble
//! whose members are trained on bootstrap resamples, so that their spread is the answer's
//! uncertainty. Each member is one binary booster per class (gbdt-rs trains binary
//! log-likelihood boosters only), the one-vs-rest scores normalised to sum to one.

use crate::features::tabular::TABULAR_FEATURES;
use crate::model::file::{ModelFileError, ModelHeader, HEADER_KEY};
use gbdt::config::Config;
use gbdt::decision_tree::{Data, DataVec, VALUE_TYPE_UNKNOWN};
use gbdt::gradient_boost::GBDT;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("no training rows")]
    Empty,
    #[error("class {0:?} has no training row")]
    MissingClass(String),
    #[error("row {row} has {found} features, the model reads {expected}")]
    Width {
        row: usize,
        found: usize,
        expected: usize,
    },
    #[error("label index {0} is not a class")]
    BadLabel(usize),
    #[error("{rows} rows but {labels} labels")]
    Labels { rows: usize, labels: usize },
}

/// How the ensemble is trained. Defaults were chosen on the validation part of the
/// committed real-data split, never on its test part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TreeConfig {
    /// Ensemble members, each on its own bootstrap resample of the objects.
    pub members: usize,
    /// Boosting rounds per class and member.
    pub iterations: usize,
    pub max_depth: u32,
    /// Learning rate.
    pub shrinkage: f32,
    pub min_leaf_size: usize,
    /// Weight each row by the inverse frequency of its class, so that rare classes count.
    pub balance_classes: bool,
    pub seed: u64,
    /// Features read as missing in training and answering: those the shortcut audit found
    /// to tell the source of an alert and not its class on unseen sources (see
    /// `eval::grouped`). Empty in models made before the audit.
    pub neutralised: Vec<String>,
}

impl Default for TreeConfig {
    fn default() -> Self {
        Self {
            members: 5,
            iterations: 80,
            max_depth: 4,
            shrinkage: 0.1,
            min_leaf_size: 4,
            balance_classes: true,
            seed: 7,
            neutralised: Vec::new(),
        }
    }
}

/// A class-probability answer with its ensemble spread.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeAnswer {
    pub mean: Vec<f32>,
    /// Standard deviation over the members, per class.
    pub std: Vec<f32>,
    /// Fraction of members whose top class is not the ensemble's.
    pub disagreement: f32,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct TreeEnsemble {
    pub classes: Vec<String>,
    pub features: Vec<String>,
    pub config: TreeConfig,
    /// `members[m][c]`: member m's booster for class c against the rest. Shared: the
    /// boosters are read-only once trained (and gbdt-rs's are not `Clone`).
    members: std::sync::Arc<Vec<Vec<GBDT>>>,
}

impl std::fmt::Debug for TreeEnsemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeEnsemble")
            .field("classes", &self.classes)
            .field("features", &self.features.len())
            .field("config", &self.config)
            .field("members", &self.members.len())
            .finish()
    }
}

/// `row` in gbdt-rs's form: NaN and the `masked` columns become its unknown value, which
/// the trees route as they route a missing field.
fn to_gbdt(row: &[f32], masked: &[bool]) -> Vec<f32> {
    row.iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.is_finite() && !masked.get(i).copied().unwrap_or(false) {
                v
            } else {
                VALUE_TYPE_UNKNOWN
            }
        })
        .collect()
}

/// Which of `features` the config neutralises.
fn mask_of(features: &[String], config: &TreeConfig) -> Vec<bool> {
    features
        .iter()
        .map(|f| config.neutralised.iter().any(|n| n == f))
        .collect()
}

impl TreeEnsemble {
    /// Trains on `rows` (one feature vector each, NaN for missing) with `labels` indexing
    /// `classes`. `progress` gets (members done, members).
    pub fn fit(
        rows: &[Vec<f32>],
        labels: &[usize],
        classes: &[String],
        features: &[String],
        config: &TreeConfig,
        progress: &dyn Fn(usize, usize),
    ) -> Result<Self, TreeError> {
        if rows.is_empty() {
            return Err(TreeError::Empty);
        }
        if labels.len() != rows.len() {
            return Err(TreeError::Labels {
                rows: rows.len(),
                labels: labels.len(),
            });
        }
        for (row, r) in rows.iter().enumerate() {
            if r.len() != features.len() {
                return Err(TreeError::Width {
                    row,
                    found: r.len(),
                    expected: features.len(),
                });
            }
        }
        let mut counts = vec![0usize; classes.len()];
        for &l in labels {
            *counts.get_mut(l).ok_or(TreeError::BadLabel(l))? += 1;
        }
        if let Some(c) = counts.iter().position(|&n| n == 0) {
            return Err(TreeError::MissingClass(classes[c].clone()));
        }
        let class_weight: Vec<f32> = counts
            .iter()
            .map(|&n| {
                if config.balance_classes {
                    rows.len() as f32 / (classes.len() * n) as f32
                } else {
                    1.0
                }
            })
            .collect();
        let masked = mask_of(features, config);
        let prepared: Vec<Vec<f32>> = rows.iter().map(|r| to_gbdt(r, &masked)).collect();
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut members = Vec::with_capacity(config.members);
        for m in 0..config.members.max(1) {
            // A bootstrap resample, redrawn until every class is in it (tiny classes could
            // otherwise drop out and leave a booster with one label).
            let sample: Vec<usize> = loop {
                let s: Vec<usize> = (0..rows.len())
                    .map(|_| rng.random_range(0..rows.len()))
                    .collect();
                let mut seen = vec![false; classes.len()];
                s.iter().for_each(|&i| seen[labels[i]] = true);
                if seen.iter().all(|&x| x) {
                    break s;
                }
            };
            let per_class: Vec<GBDT> = (0..classes.len())
                .map(|c| {
                    let mut data: DataVec = sample
                        .iter()
                        .map(|&i| {
                            let label = if labels[i] == c { 1.0 } else { -1.0 };
                            Data::new_training_data(
                                prepared[i].clone(),
                                class_weight[labels[i]],
                                label,
                                None,
                            )
                        })
                        .collect();
                    let mut cfg = Config::new();
                    cfg.set_feature_size(features.len());
                    cfg.set_max_depth(config.max_depth);
                    cfg.set_iterations(config.iterations);
                    cfg.set_shrinkage(config.shrinkage);
                    cfg.set_min_leaf_size(config.min_leaf_size);
                    cfg.set_loss("LogLikelyhood");
                    let mut booster = GBDT::new(&cfg);
                    booster.fit(&mut data);
                    booster
                })
                .collect();
            members.push(per_class);
            progress(m + 1, config.members.max(1));
        }
        Ok(Self {
            classes: classes.to_vec(),
            features: features.to_vec(),
            config: config.clone(),
            members: std::sync::Arc::new(members),
        })
    }

    /// Class probabilities of each row, with the members' spread.
    pub fn predict(&self, rows: &[Vec<f32>]) -> Result<Vec<TreeAnswer>, TreeError> {
        for (row, r) in rows.iter().enumerate() {
            if r.len() != self.features.len() {
                return Err(TreeError::Width {
                    row,
                    found: r.len(),
                    expected: self.features.len(),
                });
            }
        }
        let masked = mask_of(&self.features, &self.config);
        let data: DataVec = rows
            .iter()
            .map(|r| Data::new_test_data(to_gbdt(r, &masked), None))
            .collect();
        let c = self.classes.len();
        // per_member[m][row][class]
        let per_member: Vec<Vec<Vec<f32>>> = self
            .members
            .iter()
            .map(|boosters| {
                let scores: Vec<Vec<f32>> = boosters.iter().map(|b| b.predict(&data)).collect();
                (0..rows.len())
                    .map(|i| {
                        let raw: Vec<f32> = (0..c).map(|k| scores[k][i].max(1e-6)).collect();
                        let sum: f32 = raw.iter().sum();
                        raw.iter().map(|p| p / sum).collect()
                    })
                    .collect()
            })
            .collect();
        let n = per_member.len() as f32;
        Ok((0..rows.len())
            .map(|i| {
                let mean: Vec<f32> = (0..c)
                    .map(|k| per_member.iter().map(|m| m[i][k]).sum::<f32>() / n)
                    .collect();
                let std: Vec<f32> = (0..c)
                    .map(|k| {
                        let var = per_member
                            .iter()
                            .map(|m| (m[i][k] - mean[k]).powi(2))
                            .sum::<f32>()
                            / n;
                        var.sqrt()
                    })
                    .collect();
                let top = crate::model::probs::argmax(&mean);
                let disagreement = per_member
                    .iter()
                    .filter(|m| crate::model::probs::argmax(&m[i]) != top)
                    .count() as f32
                    / n;
                TreeAnswer {
                    mean,
                    std,
                    disagreement,
                }
            })
            .collect())
    }

    pub fn members(&self) -> usize {
        self.members.len()
    }
}

/// The header of a tree model file: the five classes of the default answer (the trees
/// know the real classes; bogus comes from the real/bogus rule), no stamps, no
/// normalisation statistics (trees need none), the features and rules in the architecture.
pub fn tree_model_header(ensemble: &TreeEnsemble, name: &str) -> ModelHeader {
    tree_model_header_for(ensemble, name, crate::alert::neutral::Survey::Ztf)
}

/// The features a tree model of a feature set reads, in order.
pub fn features_of_set(feature_set: &str) -> &'static [&'static str] {
    crate::features::sets::FeatureSet::of_name(feature_set)
        .map_or(&TABULAR_FEATURES, |set| set.tree_features())
}

/// [`tree_model_header`] for a survey. An LSST tree model answers its trained classes only
/// (no real/bogus rule: `reliability` is a feature there) and records the LSST feature set,
/// so that ZTF alerts are refused by it and LSST alerts by ZTF models.
pub fn tree_model_header_for(
    ensemble: &TreeEnsemble,
    name: &str,
    survey: crate::alert::neutral::Survey,
) -> ModelHeader {
    let set = crate::features::sets::FeatureSet::of_survey(survey);
    let trained: Vec<&str> = ensemble.classes.iter().map(String::as_str).collect();
    let classes: &[&str] = if set.trees_answer_alerce_classes() {
        &crate::model::ALERCE_CLASSES
    } else {
        &trained
    };
    let rules = set.tree_rules();
    let stats = crate::features::FeatureStats {
        names: Vec::new(),
        mean: Vec::new(),
        std: Vec::new(),
        clip_lo: Vec::new(),
        clip_hi: Vec::new(),
        neutralised: Vec::new(),
    };
    let mut header = ModelHeader::new(
        crate::model::file::ModelKind::Trees,
        name,
        classes,
        0,
        stats,
    );
    header.trained_on = crate::model::survey::TrainedOn::survey_default(survey);
    header.architecture = serde_json::json!({
        "kind": "trees",
        "trained_classes": ensemble.classes,
        "features": ensemble.features,
        "config": ensemble.config,
        "members": ensemble.members(),
        "rules": rules,
        // What the probabilities mean: class-balanced weights make them the answer at
        // equal class priors (`classify --priors` moves them to a stream's own).
        "answer_priors": if ensemble.config.balance_classes {
            "equal (class-balanced training weights)"
        } else {
            "the training objects' class frequencies"
        },
        "neutralised_features": ensemble.config.neutralised,
    });
    header
}

/// The header of a tree model of survey-neutral features learnt on ZTF objects: the five
/// classes of the default answer, the neutral feature set (so that it reads alerts of
/// both surveys, its LSST answers marked as transferred), and the rules in the form both
/// surveys take.
pub fn neutral_tree_model_header(ensemble: &TreeEnsemble, name: &str) -> ModelHeader {
    let trained_on = crate::model::survey::TrainedOn::neutral(crate::alert::neutral::Survey::Ztf);
    let mut header = tree_model_header_for(ensemble, name, trained_on.survey);
    header.trained_on = trained_on;
    if let Some(map) = header.architecture.as_object_mut() {
        let rules = crate::features::sets::FeatureSet::Neutral.tree_rules();
        map.insert("rules".into(), serde_json::json!(rules));
        map.insert(
            "validated_on".into(),
            serde_json::json!(
                "ZTF only (grouped by source); its answers to LSST alerts are transferred, unvalidated on LSST labels"
            ),
        );
    }
    header
}

/// The tensor that holds the gzipped JSON of the ensemble in a stampseq model file.
const TREES_TENSOR: &str = "trees.json.gz";

/// Writes the ensemble as a stampseq model file (safetensors: the header in the metadata,
/// the trees as one byte tensor of gzipped JSON), atomically.
pub fn write_tree_model(
    ensemble: &TreeEnsemble,
    header: &ModelHeader,
    path: &Path,
) -> Result<(), ModelFileError> {
    let bytes = tree_model_bytes(ensemble, header, path)?;
    crate::atomic::write_atomic(path, &bytes).map_err(|e| ModelFileError::write(path, e))
}

/// The bytes of the model file [`write_tree_model`] writes (`path` names it in errors).
pub fn tree_model_bytes(
    ensemble: &TreeEnsemble,
    header: &ModelHeader,
    path: &Path,
) -> Result<Vec<u8>, ModelFileError> {
    use std::io::Write;
    let json = serde_json::to_vec(ensemble).map_err(|e| ModelFileError::write(path, e))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&json)
        .map_err(|e| ModelFileError::write(path, e))?;
    let packed = gz.finish().map_err(|e| ModelFileError::write(path, e))?;
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::U8, vec![packed.len()], &packed)
            .map_err(|e| ModelFileError::write(path, e))?;
    let header_json = serde_json::to_string(header).map_err(|e| ModelFileError::write(path, e))?;
    let metadata = std::collections::HashMap::from([(HEADER_KEY.to_string(), header_json)]);
    let bytes = safetensors::serialize([(TREES_TENSOR, view)], Some(metadata))
        .map_err(|e| ModelFileError::write(path, e))?;
    crate::model::file::sealed(&bytes, path)
}

/// Reads the ensemble of a tree model file whose header is already read, and checks that
/// it reads the features this build computes.
pub fn read_tree_model(
    bytes: &[u8],
    header: &ModelHeader,
    path: &Path,
) -> Result<TreeEnsemble, ModelFileError> {
    use std::io::Read;
    let err = |reason: String| ModelFileError::Weights {
        path: path.into(),
        kind: header.kind.to_string(),
        reason,
    };
    let unreadable = |source: super::file::Cause| ModelFileError::TensorUnreadable {
        path: path.into(),
        kind: header.kind.to_string(),
        tensor: TREES_TENSOR,
        source,
    };
    let tensors = safetensors::SafeTensors::deserialize(bytes).map_err(|source| {
        ModelFileError::NotSafetensors {
            path: path.into(),
            source,
        }
    })?;
    let packed = tensors
        .tensor(TREES_TENSOR)
        .map_err(|_| err(format!("no {TREES_TENSOR} tensor")))?;
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(packed.data())
        .read_to_end(&mut json)
        .map_err(|e| unreadable(e.into()))?;
    let ensemble: TreeEnsemble = serde_json::from_slice(&json).map_err(|e| unreadable(e.into()))?;
    let expected = features_of_set(&header.trained_on.feature_set);
    if ensemble.features != expected {
        // Name the first feature that differs: a renamed or redefined one (as when
        // abs_gal_lat became abs_galactic_lat, a longitude until then) is the usual cause.
        let differs = (0..ensemble.features.len().max(expected.len()))
            .find(|&i| ensemble.features.get(i).map(String::as_str) != expected.get(i).copied());
        let at = |i: usize| {
            let file = ensemble.features.get(i).map_or("nothing", |s| s.as_str());
            let now = expected.get(i).copied().unwrap_or("nothing");
            format!("feature {} is {file} in the file, {now} here", i + 1)
        };
        return Err(err(format!(
            "it reads {} features, this stampseq computes {} for {} ({}): retrain it",
            ensemble.features.len(),
            expected.len(),
            header.trained_on.feature_set,
            differs.map_or_else(String::new, at)
        )));
    }
    if ensemble.members.is_empty()
        || ensemble
            .members
            .iter()
            .any(|m| m.len() != ensemble.classes.len())
    {
        return Err(err("no boosters, or not one per class".into()));
    }
    if let Some(c) = ensemble
        .classes
        .iter()
        .find(|c| !header.classes.contains(c))
    {
        return Err(err(format!(
            "trained class {c:?} is not in the header's classes"
        )));
    }
    Ok(ensemble)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two features; class = which one is larger, with a third class far out. Missing
    /// values must not break training or prediction.
    fn toy(n: usize) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut rng = StdRng::seed_from_u64(1);
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let a: f32 = rng.random_range(0.0..1.0);
            let b: f32 = rng.random_range(0.0..1.0);
            let label = if i % 5 == 0 {
                2
            } else if a > b {
                0
            } else {
                1
            };
            let a = if label == 2 { a + 5.0 } else { a };
            let b = if i % 7 == 0 { f32::NAN } else { b };
            rows.push(vec![a, b]);
            labels.push(label);
        }
        (rows, labels)
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn learns_a_separable_problem_and_reports_spread() {
        let (rows, labels) = toy(300);
        let config = TreeConfig {
            members: 3,
            iterations: 30,
            ..Default::default()
        };
        let classes = names(&["x", "y", "far"]);
        let model = TreeEnsemble::fit(
            &rows,
            &labels,
            &classes,
            &names(&["a", "b"]),
            &config,
            &|_, _| {},
        )
        .unwrap();
        let answers = model
            .predict(&[vec![0.9, 0.1], vec![0.1, 0.9], vec![6.0, f32::NAN]])
            .unwrap();
        for (answer, want) in answers.iter().zip([0, 1, 2]) {
            assert_eq!(crate::model::probs::argmax(&answer.mean), Some(want));
            assert!((answer.mean.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            assert!(answer.std.iter().all(|s| s.is_finite() && *s >= 0.0));
        }
        // Near the boundary the members disagree more than far from it.
        let edge = model.predict(&[vec![0.5, 0.5]]).unwrap();
        assert!(edge[0].std[0] >= answers[2].std[2]);
        let json = serde_json::to_string(&model).unwrap();
        let back: TreeEnsemble = serde_json::from_str(&json).unwrap();
        assert_eq!(back.predict(&[vec![0.9, 0.1]]).unwrap(), answers[..1]);
    }

    #[test]
    fn a_neutralised_feature_is_read_as_missing_in_training_and_answering() {
        let (rows, labels) = toy(300);
        let config = TreeConfig {
            members: 1,
            iterations: 30,
            neutralised: names(&["a"]),
            ..Default::default()
        };
        let model = TreeEnsemble::fit(
            &rows,
            &labels,
            &names(&["x", "y", "far"]),
            &names(&["a", "b"]),
            &config,
            &|_, _| {},
        )
        .unwrap();
        // The answer does not change with `a` (which alone tells the far class: the model
        // of the test above, reading it, calls the first row far).
        let far = model.predict(&[vec![6.0, 0.5], vec![0.2, 0.5]]).unwrap();
        assert_eq!(far[0].mean, far[1].mean);
        assert!(far[0].mean[2] < 0.9);
        let json = serde_json::to_string(&model).unwrap();
        let back: TreeEnsemble = serde_json::from_str(&json).unwrap();
        assert_eq!(back.config.neutralised, names(&["a"]));
    }

    #[test]
    fn refuses_bad_training_input() {
        let classes = names(&["x", "y"]);
        let features = names(&["a"]);
        let c = TreeConfig::default();
        let none = |_, _| {};
        assert!(matches!(
            TreeEnsemble::fit(&[], &[], &classes, &features, &c, &none),
            Err(TreeError::Empty)
        ));
        assert!(matches!(
            TreeEnsemble::fit(&[vec![1.0]], &[0], &classes, &features, &c, &none),
            Err(TreeError::MissingClass(_))
        ));
        assert!(matches!(
            TreeEnsemble::fit(&[vec![1.0, 2.0]], &[0], &classes, &features, &c, &none),
            Err(TreeError::Width { .. })
        ));
        assert!(matches!(
            TreeEnsemble::fit(
                &[vec![1.0], vec![2.0]],
                &[0],
                &classes,
                &features,
                &c,
                &none
            ),
            Err(TreeError::Labels { .. })
        ));
    }

    #[test]
    fn a_model_of_features_since_renamed_is_refused_naming_the_feature() {
        // A model trained before the sky latitudes were fixed reads abs_gal_lat (then a
        // galactic longitude): its file must be refused, not fed the latitude.
        let mut features: Vec<String> = TABULAR_FEATURES.iter().map(|s| s.to_string()).collect();
        let at = features
            .iter()
            .position(|f| f == "abs_galactic_lat")
            .expect("feature");
        features[at] = "abs_gal_lat".into();
        let (toy_rows, labels) = toy(60);
        let rows: Vec<Vec<f32>> = toy_rows
            .iter()
            .map(|r| {
                let mut row = vec![f32::NAN; features.len()];
                row[..2].copy_from_slice(r);
                row
            })
            .collect();
        let classes = names(&["AGN", "SN", "VS"]);
        let config = TreeConfig {
            members: 1,
            iterations: 3,
            ..TreeConfig::default()
        };
        let ensemble =
            TreeEnsemble::fit(&rows, &labels, &classes, &features, &config, &|_, _| {}).unwrap();
        let header = tree_model_header(&ensemble, "old");
        let path = Path::new("old-trees.stampseq");
        let bytes = tree_model_bytes(&ensemble, &header, path).unwrap();
        let message = read_tree_model(&bytes, &header, path)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(&format!(
                "feature {} is abs_gal_lat in the file, abs_galactic_lat here",
                at + 1
            )) && message.contains("old-trees.stampseq")
                && message.contains("retrain it"),
            "{message}"
        );
    }
}
