//! The simulated-data ablation of the benchmark: the trees trained with and without the
//! objects of a `stampseq simulate` folder, judged on the real validation objects. It is
//! how the default answer came to use no simulated data.

use super::answers::*;
use super::benchmark::*;
use super::report::SimulationAblation;
use crate::alert::{read_all_any, ReadOptions};
use crate::assets::DEFAULT_TREES_NAME;
use crate::backend::ResolvedBackend;
use crate::classify::LoadedModel;
use crate::model::trees::{tree_model_header, TreeConfig, TreeEnsemble};
use crate::sequence::neutral::{group_objects, ObjectSequence};
use std::collections::HashMap;
use std::path::Path;

/// Trees on `train` with and without the simulated objects of `dir`, each scored on `val`.
pub fn simulation_ablation(
    dir: &Path,
    train: &[&ObjectSequence],
    train_labels: &HashMap<String, String>,
    val: &[ObjectSequence],
    val_truth: &[(String, String)],
    backend: &ResolvedBackend,
    trees: &TreeConfig,
) -> Result<SimulationAblation, BenchmarkError> {
    let labels = crate::labels::read_labels_csv(&dir.join("labels.csv"))?;
    let (alerts, _) = read_all_any(&[dir], &ReadOptions::default());
    let simulated: Vec<ObjectSequence> = group_objects(alerts)
        .0
        .into_iter()
        .filter(|s| {
            labels
                .get(&s.key.id)
                .is_some_and(|l| REAL_CLASSES.contains(&l.as_str()))
        })
        .collect();
    let mut with_labels = train_labels.clone();
    with_labels.extend(
        simulated
            .iter()
            .filter_map(|s| labels.get(&s.key.id).map(|l| (s.key.id.clone(), l.clone()))),
    );
    let mut with: Vec<&ObjectSequence> = train.to_vec();
    with.extend(simulated.iter());
    let score_on_val = |trees: TreeEnsemble| -> Result<f64, BenchmarkError> {
        let header = tree_model_header(&trees, DEFAULT_TREES_NAME);
        let model = LoadedModel::from_trees(trees, header, Path::new("ablation.stampseq"));
        let answers = classify_all(&model, val, backend)?;
        Ok(score(&answers, val_truth, &FIVE_CLASSES, None, 3)
            .map_or(f64::NAN, |t| t.metrics.balanced_accuracy))
    };
    let without = score_on_val(train_trees(train, train_labels, trees)?)?;
    let with_sim = score_on_val(train_trees(&with, &with_labels, trees)?)?;
    Ok(SimulationAblation {
        simulated_objects: simulated.len(),
        validation_objects: val_truth.len(),
        without_simulated: without,
        with_simulated: with_sim,
        used_in_default: false,
    })
}
