//! Answers the benchmark's runs share: the trees', a loaded model's and the majority's, on
//! the objects given, and where the labelled alerts are. Below the runs that score them
//! (the random split, the grouped validation, the shortcut audit), so none imports another.

use super::benchmark::*;
use crate::alert::neutral::ObjectKey;
use crate::alert::{read_all_any, ReadError, ReadOptions};
use crate::backend::ResolvedBackend;
use crate::classify::{ClassifyOptions, LoadedModel};
use crate::model::trees::{TreeConfig, TreeEnsemble};
use crate::sequence::neutral::{group_objects, ObjectSequence};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

pub fn majority(labels: &HashMap<String, String>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for l in labels.values() {
        *counts.entry(l.as_str()).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(c, _)| c.to_string())
        .unwrap_or_else(|| "VS".into())
}

/// The tree answers without the physics rules: the ablation that shows what the rules add.
/// An object the trees' features cannot read (another survey's) gets no answer.
pub fn bare_tree_answers(trees: &TreeEnsemble, sequences: &[&ObjectSequence]) -> Answers {
    let mut by_object = HashMap::new();
    for s in sequences {
        let Some(rows) = tree_rows_of(s) else {
            continue;
        };
        if let Ok(answers) = trees.predict(&rows) {
            by_object.insert(
                s.key.id.clone(),
                answers.into_iter().map(|a| a.mean).collect(),
            );
        }
    }
    Answers {
        classes: trees.classes.clone(),
        by_object,
    }
}

pub fn classify_all(
    model: &LoadedModel,
    sequences: &[ObjectSequence],
    backend: &ResolvedBackend,
) -> Result<Answers, BenchmarkError> {
    let cancel = AtomicBool::new(false);
    let out = model
        .classify(
            sequences,
            &scoring_options(),
            &backend.device,
            &cancel,
            &|_, _| {},
        )
        .map_err(|source| run_error(model, source))?;
    Ok(Answers::from_rows(model.classes(), &out.rows))
}

/// Answers after N detections are scored: no rule may look at later alerts.
fn scoring_options() -> ClassifyOptions {
    ClassifyOptions {
        max_detections: MAX_DETECTIONS,
        look_ahead_for_stationary: false,
        ..Default::default()
    }
}

fn run_error(model: &LoadedModel, source: crate::model::ModelError) -> BenchmarkError {
    BenchmarkError::ModelRun {
        path: model.path.clone(),
        source: Box::new(source),
    }
}

/// [`classify_all`] of a fused model at each of `weight_sets` (one weight per member), its
/// members run once; a model that is not fused answers once, whatever the weights.
pub fn classify_all_at_weights(
    model: &LoadedModel,
    sequences: &[ObjectSequence],
    weight_sets: &[Vec<f32>],
) -> Result<Vec<Answers>, BenchmarkError> {
    let cancel = AtomicBool::new(false);
    let outs = model
        .classify_at_weights(sequences, &scoring_options(), weight_sets, &cancel)
        .map_err(|source| run_error(model, source))?
        .ok_or_else(|| {
            BenchmarkError::Invalid(format!("{}: not a fused model", model.path.display()))
        })?;
    Ok(outs
        .iter()
        .map(|out| Answers::from_rows(model.classes(), &out.rows))
        .collect())
}

/// The alert folders of the shared data that hold labelled objects.
pub fn labelled_alert_folders(data: &Path) -> Vec<PathBuf> {
    ["ztf/labeled", "ztf/sequences", "ztf/extra"]
        .iter()
        .map(|p| data.join(p))
        .filter(|p| p.exists())
        .collect()
}

/// The labelled objects under the shared data folder `data` whose ids `wanted` takes, each
/// with its alerts in time order (objects sorted by id), and the files that could not be
/// read.
pub fn read_labelled_objects(
    data: &Path,
    wanted: &dyn Fn(&str) -> bool,
) -> (Vec<ObjectSequence>, Vec<ReadError>) {
    let (alerts, summary) = read_all_any(&labelled_alert_folders(data), &ReadOptions::default());
    let (objects, _) = group_objects(
        alerts
            .into_iter()
            .filter(|a| ObjectKey::of(a).is_some_and(|k| wanted(&k.id))),
    );
    (objects, summary.errors)
}

/// Trees on the objects of `sequences` labelled in `labels`, over the real classes present
/// among them: a held-out group can take a class's every object with it.
pub fn train_trees_present(
    sequences: &[&ObjectSequence],
    labels: &HashMap<String, String>,
    config: &TreeConfig,
) -> Result<TreeEnsemble, BenchmarkError> {
    train_set_trees_present(sequences, labels, TREES_FEATURES, config)
}

/// [`train_trees_present`] in the features of `set`.
pub fn train_set_trees_present(
    sequences: &[&ObjectSequence],
    labels: &HashMap<String, String>,
    set: crate::features::sets::FeatureSet,
    config: &TreeConfig,
) -> Result<TreeEnsemble, BenchmarkError> {
    let present: HashSet<&str> = sequences
        .iter()
        .filter_map(|s| labels.get(&s.key.id).map(String::as_str))
        .collect();
    let classes: Vec<String> = REAL_CLASSES
        .iter()
        .filter(|c| present.contains(*c))
        .map(|c| c.to_string())
        .collect();
    if classes.len() < 2 {
        return Err(BenchmarkError::Invalid(format!(
            "a fold trains on {} class(es) only",
            classes.len()
        )));
    }
    train_set_trees_for(sequences, labels, classes, set, config)
}

/// What the experiments' tests start from: the committed split's objects that `keep` wants,
/// read from the shared data, and grouped by source.
#[cfg(test)]
pub(crate) fn shared_grouped_objects(
    keep: &dyn Fn(&SplitRow) -> bool,
) -> (Vec<ObjectSequence>, Vec<super::groups::GroupedObject>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("../shared/data");
    let split = read_split(&root.join("assets/benchmark/split.csv")).expect("the committed split");
    let wanted: HashSet<&str> = split
        .iter()
        .filter(|r| keep(r))
        .map(|r| r.object_id.as_str())
        .collect();
    let (sequences, _) = read_labelled_objects(&data, &|id| wanted.contains(id));
    let loaded: HashSet<&str> = sequences.iter().map(|s| s.key.id.as_str()).collect();
    let objects = super::groups::grouped_objects(&data, &split, &loaded).expect("groups");
    (sequences, objects)
}
