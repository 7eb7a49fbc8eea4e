//! The real-data benchmark: a committed, object-level, stratified split of every real
//! labelled ZTF alert whose source licence allows training (MIT, Apache-2.0, BSD), and for
//! each model the scores a referee asks for: accuracy, balanced accuracy, per-class recall
//! and precision, macro F1, confusion matrix, calibration (ECE and a reliability diagram),
//! object counts and standard errors, beside the majority answer; then the same over
//! repeated random splits (mean and standard deviation), and per number of detections.
//!
//! Labels are weak (catalogue matches, the alert's own `ssdistnr` for asteroids), never
//! spectroscopic; every report says so.

use crate::eval::metrics::{argmax, calibration, ConfusionMatrix, Metrics, ReliabilityBin};
use crate::eval::stats::mean_std;
use crate::features::sets::FeatureSet;
use crate::model::trees::{TreeConfig, TreeEnsemble, TreeError};
use crate::sequence::neutral::{AlertObject, ObjectSequence};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The classes real labels exist for (there are no real bogus labels).
pub const REAL_CLASSES: [&str; 4] = ["AGN", "SN", "VS", "asteroid"];
/// The five classes of the default answer and of ALeRCE's classifier.
pub const FIVE_CLASSES: [&str; 5] = ["AGN", "SN", "VS", "asteroid", "bogus"];
/// The three classes of the Temporal Stamp Classifier's real-data task.
pub const THREE_CLASSES: [&str; 3] = ["AGN", "SN", "VS"];
/// Detections per object the models read (the paper's longest sequences).
pub const MAX_DETECTIONS: usize = 5;
/// The features the benchmark's trees read (the default answer's, every fold's and every
/// repeat's): the labelled objects are ZTF's, and their header
/// ([`crate::model::trees::tree_model_header`]) is a ZTF model's. An object of a survey
/// these features do not read has no row.
pub const TREES_FEATURES: FeatureSet = FeatureSet::ZtfCandidate;

#[derive(Debug, thiserror::Error)]
pub enum BenchmarkError {
    /// A file of the benchmark (split, manifest, report) and what went wrong with it.
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("trees: {0}")]
    Trees(#[from] TreeError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Labels(#[from] crate::labels::LabelError),
    #[error(transparent)]
    ModelFile(#[from] crate::model::file::ModelFileError),
    #[error(transparent)]
    Classify(#[from] crate::model::ModelError),
    /// A model file that failed on the benchmark's objects.
    #[error("{path}: {source}")]
    ModelRun {
        path: PathBuf,
        source: Box<crate::model::ModelError>,
    },
}

fn file_err(
    path: &Path,
    problem: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> BenchmarkError {
    BenchmarkError::File {
        path: path.into(),
        source: problem.into(),
    }
}

/// A real labelled object and where its alerts came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledObject {
    #[serde(rename = "objectId")]
    pub object_id: String,
    pub label: String,
    pub source: String,
    pub licence: String,
}

/// The licence of a source named in `ztf/manifest.csv`; None where the source states
/// none (its alerts may be read for tests but not used to train a bundled model).
pub fn licence_of_source(source: &str) -> Option<&'static str> {
    let s = source.to_ascii_lowercase();
    if s.starts_with("fink") {
        Some("Apache-2.0")
    } else if s.starts_with("skyportal") || s.starts_with("ampel") {
        Some("BSD-3-Clause")
    } else if s.starts_with("kowalski") || s.starts_with("boom") {
        Some("MIT")
    } else {
        // pitt-google (no licence), alerce-pipeline (its stamp-classifier folder states
        // none), ztf-avro-alert (none).
        None
    }
}

fn permitted(licence: &str) -> bool {
    ["MIT", "Apache-2.0", "BSD-3-Clause"]
        .iter()
        .any(|l| licence.eq_ignore_ascii_case(l))
}

/// Every real labelled object of `data` (the shared data folder) whose label is one of
/// [`REAL_CLASSES`] and whose source licence permits training, from `ztf/manifest.csv`
/// (labeled and sequences) and `ztf/extra/manifest.csv`. An object listed twice keeps its
/// first label; one listed with two different labels is left out.
pub fn real_labelled_objects(data: &Path) -> Result<Vec<LabelledObject>, BenchmarkError> {
    let mut found: BTreeMap<String, LabelledObject> = BTreeMap::new();
    let mut conflicting = HashSet::new();
    let mut add = |o: LabelledObject| match found.get(&o.object_id) {
        Some(old) if old.label != o.label => {
            conflicting.insert(o.object_id.clone());
        }
        Some(_) => {}
        None => {
            found.insert(o.object_id.clone(), o);
        }
    };
    for (manifest, extra) in [
        (data.join("ztf/manifest.csv"), false),
        (data.join("ztf/extra/manifest.csv"), true),
    ] {
        let mut reader = csv::Reader::from_path(&manifest).map_err(|e| file_err(&manifest, e))?;
        let headers = reader
            .headers()
            .map_err(|e| file_err(&manifest, e))?
            .clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| file_err(&manifest, format!("no {name} column")))
        };
        let (id, label) = (col("objectId")?, col("label")?);
        let (source, licence) = if extra {
            (col("source_repo")?, Some(col("licence")?))
        } else {
            (col("source")?, None)
        };
        for (line, record) in reader.records().enumerate() {
            let record =
                record.map_err(|e| file_err(&manifest, format!("row {}: {e}", line + 2)))?;
            let get = |i: usize| record.get(i).unwrap_or("").trim().to_string();
            let label = get(label);
            if !REAL_CLASSES.contains(&label.as_str()) {
                continue;
            }
            let source = get(source);
            let licence = match licence {
                Some(i) => get(i),
                None => licence_of_source(&source).unwrap_or("none").to_string(),
            };
            if !permitted(&licence) {
                continue;
            }
            add(LabelledObject {
                object_id: get(id),
                label,
                source,
                licence,
            });
        }
    }
    Ok(found
        .into_values()
        .filter(|o| !conflicting.contains(&o.object_id))
        .collect())
}

/// One object's place in a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRow {
    #[serde(rename = "objectId")]
    pub object_id: String,
    pub label: String,
    /// train, val or test.
    pub part: String,
    pub source: String,
    pub licence: String,
}

/// Fractions of each class that go to test and validation.
pub const TEST_FRACTION: f64 = 0.3;
pub const VAL_FRACTION: f64 = 0.15;

/// Draws an object-level split stratified by class: per class, [`TEST_FRACTION`] of the
/// objects to test and [`VAL_FRACTION`] to validation, drawn only among objects not in
/// `forced_train` (objects earlier models trained or were selected on, and those whose
/// stamps the simulator used as templates), the rest to training.
pub fn draw_split(
    objects: &[LabelledObject],
    forced_train: &HashSet<String>,
    seed: u64,
) -> Vec<SplitRow> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(objects.len());
    for class in REAL_CLASSES {
        let members: Vec<&LabelledObject> = objects.iter().filter(|o| o.label == class).collect();
        let n = members.len() as f64;
        let mut free: Vec<&LabelledObject> = members
            .iter()
            .copied()
            .filter(|o| !forced_train.contains(&o.object_id))
            .collect();
        free.shuffle(&mut rng);
        let n_test = ((n * TEST_FRACTION).round() as usize).min(free.len());
        let n_val = ((n * VAL_FRACTION).round() as usize).min(free.len() - n_test);
        let mut part_of: HashMap<&str, &str> = HashMap::new();
        for (i, o) in free.iter().enumerate() {
            let part = if i < n_test {
                "test"
            } else if i < n_test + n_val {
                "val"
            } else {
                "train"
            };
            part_of.insert(o.object_id.as_str(), part);
        }
        for o in members {
            rows.push(SplitRow {
                object_id: o.object_id.clone(),
                label: o.label.clone(),
                part: part_of
                    .get(o.object_id.as_str())
                    .unwrap_or(&"train")
                    .to_string(),
                source: o.source.clone(),
                licence: o.licence.clone(),
            });
        }
    }
    rows.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    rows
}

pub fn write_split(rows: &[SplitRow], path: &Path) -> Result<(), BenchmarkError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|e| file_err(path, e))?;
    }
    let bytes = w.into_inner().map_err(|e| file_err(path, e))?;
    crate::atomic::write_atomic(path, &bytes).map_err(|e| file_err(path, e))
}

pub fn read_split(path: &Path) -> Result<Vec<SplitRow>, BenchmarkError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| file_err(path, e))?;
    let mut rows = Vec::new();
    for (i, row) in reader.deserialize::<SplitRow>().enumerate() {
        let row = row.map_err(|e| file_err(path, format!("row {}: {e}", i + 2)))?;
        if !["train", "val", "test"].contains(&row.part.as_str()) {
            return Err(file_err(
                path,
                format!(
                    "row {}: part {:?} is not train, val or test",
                    i + 2,
                    row.part
                ),
            ));
        }
        if !REAL_CLASSES.contains(&row.label.as_str()) {
            return Err(file_err(
                path,
                format!(
                    "row {}: label {:?} is not one of {REAL_CLASSES:?}",
                    i + 2,
                    row.label
                ),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(file_err(path, "no objects"));
    }
    Ok(rows)
}

/// The tree training rows of `sequences` whose objects `labels` names: one row per
/// detection (the first [`MAX_DETECTIONS`]), each with the object's earlier alerts.
pub fn tree_rows(
    sequences: &[&ObjectSequence],
    labels: &HashMap<String, usize>,
) -> (Vec<Vec<f32>>, Vec<usize>) {
    tree_rows_for(sequences, labels, TREES_FEATURES)
}

/// The trees' row ([`TREES_FEATURES`]) at detection `k` (0-based) of `object`, with its
/// earlier alerts; None where it has no such alert or the features do not read it.
pub fn tree_row_at(object: &ObjectSequence, k: usize) -> Option<Vec<f32>> {
    let refs = object.alert_refs();
    TREES_FEATURES.tree_row(*refs.get(k)?, &refs[..k]).ok()
}

/// The trees' rows ([`TREES_FEATURES`]) of the first [`MAX_DETECTIONS`] of `object`, each
/// with its earlier alerts; None where the features do not read one of them.
pub fn tree_rows_of(object: &ObjectSequence) -> Option<Vec<Vec<f32>>> {
    let refs = object.alert_refs();
    (0..refs.len().min(MAX_DETECTIONS))
        .map(|k| TREES_FEATURES.tree_row(refs[k], &refs[..k]).ok())
        .collect()
}

/// [`tree_rows`] for objects of any survey in the features of `set` (a row per detection
/// the set can read, the first [`MAX_DETECTIONS`] of each labelled object, each with the
/// object's earlier alerts).
pub fn tree_rows_for<O: AlertObject>(
    objects: &[&O],
    labels: &HashMap<String, usize>,
    set: FeatureSet,
) -> (Vec<Vec<f32>>, Vec<usize>) {
    let mut rows = Vec::new();
    let mut ys = Vec::new();
    for o in objects {
        let Some(&y) = labels.get(o.name()) else {
            continue;
        };
        let refs = o.alert_refs();
        for k in 0..refs.len().min(MAX_DETECTIONS) {
            if let Ok(row) = set.tree_row(refs[k], &refs[..k]) {
                rows.push(row);
                ys.push(y);
            }
        }
    }
    (rows, ys)
}

/// Trains the default tree ensemble on the objects of `sequences` labelled in `labels`.
pub fn train_trees(
    sequences: &[&ObjectSequence],
    labels: &HashMap<String, String>,
    config: &TreeConfig,
) -> Result<TreeEnsemble, BenchmarkError> {
    let classes: Vec<String> = REAL_CLASSES.iter().map(|c| c.to_string()).collect();
    train_trees_for(sequences, labels, classes, config)
}

/// Trees over `classes` on the objects of `sequences` labelled with one of them.
pub fn train_trees_for(
    sequences: &[&ObjectSequence],
    labels: &HashMap<String, String>,
    classes: Vec<String>,
    config: &TreeConfig,
) -> Result<TreeEnsemble, BenchmarkError> {
    train_set_trees_for(sequences, labels, classes, TREES_FEATURES, config)
}

/// [`train_trees_for`] in the features of `set`.
pub fn train_set_trees_for(
    sequences: &[&ObjectSequence],
    labels: &HashMap<String, String>,
    classes: Vec<String>,
    set: FeatureSet,
    config: &TreeConfig,
) -> Result<TreeEnsemble, BenchmarkError> {
    let index: HashMap<String, usize> = labels
        .iter()
        .filter_map(|(id, l)| classes.iter().position(|c| c == l).map(|i| (id.clone(), i)))
        .collect();
    let (rows, ys) = tree_rows_for(sequences, &index, set);
    let features: Vec<String> = set.tree_features().iter().map(|s| s.to_string()).collect();
    Ok(TreeEnsemble::fit(
        &rows,
        &ys,
        &classes,
        &features,
        config,
        &|_, _| {},
    )?)
}

/// A model's answers: per object, the class probabilities after each detection (in
/// order), over the model's own classes.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub classes: Vec<String>,
    pub by_object: HashMap<String, Vec<Vec<f32>>>,
}

impl Answers {
    pub fn from_rows(classes: &[String], rows: &[crate::classify::ClassRow]) -> Self {
        let mut by_object: HashMap<String, Vec<(usize, Vec<f32>)>> = HashMap::new();
        for r in rows {
            by_object
                .entry(r.object_id.clone())
                .or_default()
                .push((r.k, r.probabilities.clone()));
        }
        Self {
            classes: classes.to_vec(),
            by_object: by_object
                .into_iter()
                .map(|(id, mut steps)| {
                    steps.sort_by_key(|(k, _)| *k);
                    (id, steps.into_iter().map(|(_, p)| p).collect())
                })
                .collect(),
        }
    }

    /// Always `class`, with probability one.
    pub fn constant(class: &str, objects: &[&ObjectSequence]) -> Self {
        let classes: Vec<String> = FIVE_CLASSES.iter().map(|c| c.to_string()).collect();
        let p: Vec<f32> = classes.iter().map(|c| f32::from(c == class)).collect();
        Self {
            by_object: objects
                .iter()
                .map(|s| {
                    (
                        s.key.id.clone(),
                        vec![p.clone(); s.alerts.len().clamp(1, MAX_DETECTIONS)],
                    )
                })
                .collect(),
            classes,
        }
    }

    /// The answer after detection `n` (1-based), or after the last one when `n` is None.
    fn at(&self, object: &str, n: Option<usize>) -> Option<&Vec<f32>> {
        let steps = self.by_object.get(object)?;
        match n {
            None => steps.last(),
            Some(n) => steps.get(n.checked_sub(1)?),
        }
    }

    /// The probabilities over `task` classes (a class the model lacks gets 0), renormalised.
    fn over(&self, probs: &[f32], task: &[&str]) -> Vec<f64> {
        let p: Vec<f64> = task
            .iter()
            .map(|t| {
                self.classes
                    .iter()
                    .position(|c| c == t)
                    .map_or(0.0, |i| f64::from(probs[i]))
            })
            .collect();
        let sum: f64 = p.iter().sum();
        if sum > 0.0 {
            p.iter().map(|v| v / sum).collect()
        } else {
            p
        }
    }
}

/// The scores of one model on one task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskScore {
    pub objects: usize,
    pub metrics: Metrics,
    /// Standard errors: accuracy (binomial), balanced accuracy (bootstrap over objects),
    /// each class's recall (binomial).
    pub accuracy_se: f64,
    pub balanced_accuracy_se: f64,
    pub recall_se: Vec<f64>,
    pub ece: f64,
    pub reliability: Vec<ReliabilityBin>,
}

/// Scores `answers` on `truth` (object, label) for the objects whose label is one of
/// `task`'s classes. Each model answers with all its classes (an AGN called an asteroid or
/// bogus is wrong in every task); the confusion matrix is over the five classes and the
/// balanced accuracy averages the recall of the classes present.
pub fn score(
    answers: &Answers,
    truth: &[(String, String)],
    task: &[&str],
    at: Option<usize>,
    seed: u64,
) -> Option<TaskScore> {
    let mut pairs = Vec::new();
    let mut confidences = Vec::new();
    for (object, label) in truth {
        if !task.contains(&label.as_str()) {
            continue;
        }
        let Some(t) = FIVE_CLASSES.iter().position(|c| c == label) else {
            continue;
        };
        let Some(probs) = answers.at(object, at) else {
            continue;
        };
        // The model answers with all its classes: an AGN called an asteroid is wrong
        // whichever task is scored.
        let p = answers.over(probs, &FIVE_CLASSES);
        let predicted = argmax(&p.iter().map(|v| *v as f32).collect::<Vec<_>>()).unwrap_or(0);
        pairs.push((t, predicted));
        confidences.push((p[predicted], predicted == t));
    }
    if pairs.is_empty() {
        return None;
    }
    let matrix = |pairs: &[(usize, usize)]| {
        let mut m = ConfusionMatrix::new(&FIVE_CLASSES);
        for &(t, p) in pairs {
            m.add(t, p);
        }
        m
    };
    let metrics = matrix(&pairs).metrics();
    let n = pairs.len() as f64;
    let accuracy_se = (metrics.accuracy * (1.0 - metrics.accuracy) / n).sqrt();
    let recall_se = metrics
        .per_class
        .iter()
        .map(|c| {
            let s = c.support.max(1) as f64;
            (c.recall * (1.0 - c.recall) / s).sqrt()
        })
        .collect();
    // Bootstrap over objects: the balanced accuracy's spread from the finite test set.
    let mut rng = StdRng::seed_from_u64(seed);
    let boots: Vec<f64> = (0..500)
        .map(|_| {
            let sample: Vec<(usize, usize)> = (0..pairs.len())
                .map(|_| pairs[rng.random_range(0..pairs.len())])
                .collect();
            matrix(&sample).metrics().balanced_accuracy
        })
        .collect();
    let (_, balanced_accuracy_se) = mean_std(&boots);
    let (ece, reliability) = calibration(&confidences, 10);
    Some(TaskScore {
        objects: pairs.len(),
        metrics,
        accuracy_se,
        balanced_accuracy_se,
        recall_se,
        ece,
        reliability,
    })
}

/// Balanced accuracy after exactly N detections, for objects with at least N.
#[derive(Debug, Clone, Serialize)]
pub struct PerNRow {
    pub n: usize,
    pub objects: usize,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
}

pub fn per_n(answers: &Answers, truth: &[(String, String)], task: &[&str]) -> Vec<PerNRow> {
    (1..=MAX_DETECTIONS)
        .filter_map(|n| {
            let s = score(answers, truth, task, Some(n), n as u64)?;
            Some(PerNRow {
                n,
                objects: s.objects,
                accuracy: s.metrics.accuracy,
                balanced_accuracy: s.metrics.balanced_accuracy,
            })
        })
        .collect()
}

/// Mean and standard deviation of one score over the repeats.
#[derive(Debug, Clone, Serialize)]
pub struct Repeated {
    pub repeats: usize,
    pub balanced_accuracy_mean: f64,
    pub balanced_accuracy_std: f64,
    pub accuracy_mean: f64,
    pub accuracy_std: f64,
}

pub fn repeated(scores: &[TaskScore]) -> Option<Repeated> {
    if scores.is_empty() {
        return None;
    }
    let ba: Vec<f64> = scores.iter().map(|s| s.metrics.balanced_accuracy).collect();
    let acc: Vec<f64> = scores.iter().map(|s| s.metrics.accuracy).collect();
    let (bm, bs) = mean_std(&ba);
    let (am, as_) = mean_std(&acc);
    Some(Repeated {
        repeats: scores.len(),
        balanced_accuracy_mean: bm,
        balanced_accuracy_std: bs,
        accuracy_mean: am,
        accuracy_std: as_,
    })
}

/// Everything one model scored.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub model: String,
    /// What it is: "majority answer", "trees (no stamps)", a file name...
    pub description: String,
    /// Classes it can answer.
    pub classes: Vec<String>,
    pub three_classes: Option<TaskScore>,
    pub five_classes: Option<TaskScore>,
    pub per_n_five: Vec<PerNRow>,
    pub per_n_three: Vec<PerNRow>,
    pub repeated_three: Option<Repeated>,
    pub repeated_five: Option<Repeated>,
    /// Test objects this model gave no answer for (e.g. missing stamps), left out of its
    /// scores.
    pub unanswered: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(id: &str, label: &str) -> LabelledObject {
        LabelledObject {
            object_id: id.into(),
            label: label.into(),
            source: "fink".into(),
            licence: "Apache-2.0".into(),
        }
    }

    #[test]
    fn split_is_stratified_and_keeps_forced_objects_in_training() {
        let mut objects = Vec::new();
        for i in 0..40 {
            objects.push(obj(&format!("A{i}"), "AGN"));
            objects.push(obj(&format!("V{i}"), "VS"));
        }
        let forced: HashSet<String> = (0..30).map(|i| format!("A{i}")).collect();
        let rows = draw_split(&objects, &forced, 3);
        assert_eq!(rows.len(), 80);
        let count = |label: &str, part: &str| {
            rows.iter()
                .filter(|r| r.label == label && r.part == part)
                .count()
        };
        assert_eq!(count("VS", "test"), 12);
        assert_eq!(count("VS", "val"), 6);
        // Only 10 AGN are free: 12 wanted for test, 10 given, none left for validation.
        assert_eq!(count("AGN", "test"), 10);
        assert_eq!(count("AGN", "val"), 0);
        assert!(rows
            .iter()
            .filter(|r| forced.contains(&r.object_id))
            .all(|r| r.part == "train"));
        assert_eq!(rows, draw_split(&objects, &forced, 3));
        assert_ne!(rows, draw_split(&objects, &forced, 4));
    }

    #[test]
    fn scores_restrict_answers_to_the_task() {
        let classes: Vec<String> = FIVE_CLASSES.iter().map(|c| c.to_string()).collect();
        let mut answers = Answers {
            classes,
            by_object: HashMap::new(),
        };
        // An AGN answered "asteroid" first, then mostly AGN; a VS answered bogus, VS second.
        answers.by_object.insert(
            "a".into(),
            vec![vec![0.1, 0.0, 0.0, 0.9, 0.0], vec![0.6, 0.1, 0.0, 0.3, 0.0]],
        );
        answers
            .by_object
            .insert("v".into(), vec![vec![0.0, 0.0, 0.4, 0.0, 0.6]]);
        let truth = vec![
            ("a".to_string(), "AGN".to_string()),
            ("v".into(), "VS".into()),
        ];
        let five = score(&answers, &truth, &FIVE_CLASSES, None, 1).unwrap();
        assert_eq!(five.objects, 2);
        // "v" answered bogus: wrong among five classes, right among AGN / SN / VS.
        assert_eq!(five.metrics.accuracy, 0.5);
        assert_eq!(five.metrics.confusion.counts[2][4], 1);
        // Among AGN / SN / VS objects a bogus answer is still wrong.
        let three = score(&answers, &truth, &THREE_CLASSES, None, 1).unwrap();
        assert_eq!(three.metrics.accuracy, 0.5);
        let first = score(&answers, &truth, &THREE_CLASSES, Some(1), 1).unwrap();
        assert_eq!(first.metrics.accuracy, 0.0);
        let only_agn = vec![("a".to_string(), "AGN".to_string())];
        let agn = score(&answers, &only_agn, &THREE_CLASSES, None, 1).unwrap();
        assert_eq!(agn.metrics.balanced_accuracy, 1.0);
        let first5 = score(&answers, &truth, &FIVE_CLASSES, Some(1), 1).unwrap();
        assert_eq!(first5.metrics.accuracy, 0.0);
        let rows = per_n(&answers, &truth, &THREE_CLASSES);
        assert_eq!(rows[0].objects, 2);
        assert_eq!(rows[1].objects, 1);
    }
}
