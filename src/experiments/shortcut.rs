//! The shortcut audit: how well the trees' features tell which source group an object
//! came from, which features carry that, and which of them tell the class on unseen sources
//! too. A feature that names the source and adds nothing across sources lets the trees
//! learn "this file, hence this class"; it is neutralised (read as missing) when the
//! grouped validation says the trees do at least as well without it.
//!
//! Everything here runs on the objects it is given, which the benchmark restricts to the
//! training and validation parts of its split: the choice never sees a test object.

use super::answers::train_set_trees_present;
use super::benchmark::TREES_FEATURES;
use super::benchmark::{tree_rows_for, BenchmarkError, MAX_DETECTIONS, REAL_CLASSES};
use crate::experiments::groups::{grouped_folds, Fold, GroupedObject};
use crate::features::sets::FeatureSet;
use crate::model::trees::{TreeConfig, TreeEnsemble};
use crate::sequence::neutral::{AlertObject, ObjectSequence};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Object-level folds of the source classifier.
pub const SOURCE_FOLDS: usize = 5;
/// A feature whose shuffling costs the source classifier this much balanced accuracy
/// identifies the source.
pub const SOURCE_SIGNAL: f64 = 0.02;
/// ... and one whose shuffling costs the grouped class answer no more than this tells the
/// class on no unseen source.
pub const CLASS_SIGNAL: f64 = 0.005;

#[derive(Debug, Clone, Serialize)]
pub struct FeatureImportance {
    pub feature: String,
    /// Balanced accuracy of the source classifier lost when the feature is shuffled among
    /// the held-out objects.
    pub source_drop: f64,
    /// Balanced accuracy of the class answer on held-out groups lost when it is shuffled.
    pub class_drop: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShortcutAudit {
    pub objects: usize,
    /// The groups the source classifier tells apart (those with enough objects).
    pub groups: Vec<String>,
    pub source_accuracy: f64,
    pub source_balanced_accuracy: f64,
    /// The balanced accuracy of a constant answer.
    pub source_chance: f64,
    /// Per class: how well the source is told among objects of that class alone.
    pub source_balanced_accuracy_by_class: BTreeMap<String, f64>,
    pub importance: Vec<FeatureImportance>,
    pub candidates: Vec<String>,
    /// Balanced accuracy (four classes, trees without rules, leave-one-group-out over the
    /// audit's objects) with every feature, and with the candidates neutralised.
    pub grouped_all_features: f64,
    pub grouped_candidates_neutralised: Option<f64>,
    /// The features the benchmark's trees neutralise.
    pub neutralised: Vec<String>,
}

/// The features of `set` at an object's last detection (up to [`MAX_DETECTIONS`]), the one
/// scored; None where the set does not read it.
fn last_row(set: FeatureSet, s: &ObjectSequence) -> Option<Vec<f32>> {
    let refs = s.alert_refs();
    let k = s.alerts.len().min(MAX_DETECTIONS).saturating_sub(1);
    set.tree_row(*refs.get(k)?, &refs[..k]).ok()
}

/// Mean recall over the classes present in `pairs` (truth, predicted).
fn balanced(pairs: &[(usize, usize)], classes: usize) -> f64 {
    let mut hit = vec![0usize; classes];
    let mut n = vec![0usize; classes];
    for &(t, p) in pairs {
        n[t] += 1;
        hit[t] += usize::from(t == p);
    }
    let recalls: Vec<f64> = (0..classes)
        .filter(|&c| n[c] > 0)
        .map(|c| hit[c] as f64 / n[c] as f64)
        .collect();
    if recalls.is_empty() {
        0.0
    } else {
        recalls.iter().sum::<f64>() / recalls.len() as f64
    }
}

/// One trained fold: its model, the held-out rows (last detection), their truth.
struct HeldOut {
    model: TreeEnsemble,
    rows: Vec<Vec<f32>>,
    truth: Vec<usize>,
    /// The class label of each row's object.
    labels: Vec<String>,
}

fn predict(model: &TreeEnsemble, rows: &[Vec<f32>]) -> Result<Vec<usize>, BenchmarkError> {
    Ok(model
        .predict(rows)?
        .iter()
        .map(|a| crate::model::probs::argmax(&a.mean).unwrap_or(0))
        .collect())
}

/// Pooled balanced accuracy of `folds` over `classes` targets, with feature `shuffle`
/// permuted among each fold's held-out rows (None: as they are); `target` maps a model's
/// answer index to the target index (class folds' models may lack a class).
fn pooled(
    folds: &[HeldOut],
    classes: usize,
    shuffle: Option<usize>,
    seed: u64,
    target: &dyn Fn(&TreeEnsemble, usize) -> usize,
) -> Result<f64, BenchmarkError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pairs = Vec::new();
    for f in folds {
        let mut rows = f.rows.clone();
        if let Some(j) = shuffle {
            let mut col: Vec<f32> = rows.iter().map(|r| r[j]).collect();
            col.shuffle(&mut rng);
            rows.iter_mut().zip(col).for_each(|(r, v)| r[j] = v);
        }
        let predicted = predict(&f.model, &rows)?;
        pairs.extend(
            f.truth
                .iter()
                .copied()
                .zip(predicted.into_iter().map(|p| target(&f.model, p))),
        );
    }
    Ok(balanced(&pairs, classes))
}

/// The source classifier's answer index is the group's.
fn same(_: &TreeEnsemble, p: usize) -> usize {
    p
}

/// A class model's answer index, as an index of [`REAL_CLASSES`].
fn real_class(model: &TreeEnsemble, p: usize) -> usize {
    REAL_CLASSES
        .iter()
        .position(|c| Some(*c) == model.classes.get(p).map(String::as_str))
        .unwrap_or(0)
}

/// Per feature of `set`, the pooled balanced accuracy lost when it is shuffled.
fn drops(
    set: FeatureSet,
    folds: &[HeldOut],
    classes: usize,
    target: &dyn Fn(&TreeEnsemble, usize) -> usize,
) -> Result<(f64, Vec<f64>), BenchmarkError> {
    let base = pooled(folds, classes, None, 0, target)?;
    let features = set.tree_features();
    let mut out = Vec::with_capacity(features.len());
    for j in 0..features.len() {
        // Averaged over three shuffles: one permutation of ~100 objects is noisy.
        let mut lost = 0.0;
        for rep in 0..3 {
            lost += base - pooled(folds, classes, Some(j), 100 * j as u64 + rep, target)?;
        }
        out.push(lost / 3.0);
    }
    Ok((base, out))
}

/// The source classifier: trees telling the group of an object from its features (those of
/// `set`), judged by object-level folds stratified by group.
fn source_folds(
    set: FeatureSet,
    objects: &[&GroupedObject],
    by_id: &HashMap<&str, &ObjectSequence>,
    groups: &[String],
    config: &TreeConfig,
) -> Result<Vec<HeldOut>, BenchmarkError> {
    let index: HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.as_str(), i))
        .collect();
    let mut fold_of: HashMap<&str, usize> = HashMap::new();
    let mut rng = StdRng::seed_from_u64(17);
    for g in groups {
        let mut members: Vec<&str> = objects
            .iter()
            .filter(|o| &o.group == g)
            .map(|o| o.object_id.as_str())
            .collect();
        members.shuffle(&mut rng);
        for (i, id) in members.into_iter().enumerate() {
            fold_of.insert(id, i % SOURCE_FOLDS);
        }
    }
    let features: Vec<String> = set.tree_features().iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    for f in 0..SOURCE_FOLDS {
        let (mut rows, mut ys) = (Vec::new(), Vec::new());
        let (mut held_rows, mut truth, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for o in objects {
            let Some(s) = by_id.get(o.object_id.as_str()) else {
                continue;
            };
            let y = index[o.group.as_str()];
            if fold_of.get(o.object_id.as_str()) == Some(&f) {
                let Some(row) = last_row(set, s) else {
                    continue;
                };
                held_rows.push(row);
                truth.push(y);
                labels.push(o.label.clone());
            } else {
                let one = HashMap::from([(s.key.id.clone(), y)]);
                let (r, _) = tree_rows_for(&[*s], &one, set);
                ys.extend(std::iter::repeat_n(y, r.len()));
                rows.extend(r);
            }
        }
        out.push(HeldOut {
            model: TreeEnsemble::fit(&rows, &ys, groups, &features, config, &|_, _| {})?,
            rows: held_rows,
            truth,
            labels,
        });
    }
    Ok(out)
}

/// The class answer under leave-one-group-out over `objects`, trees of `set` without rules.
fn class_folds(
    set: FeatureSet,
    objects: &[GroupedObject],
    by_id: &HashMap<&str, &ObjectSequence>,
    config: &TreeConfig,
) -> Result<Vec<HeldOut>, BenchmarkError> {
    let label_of: HashMap<&str, &str> = objects
        .iter()
        .map(|o| (o.object_id.as_str(), o.label.as_str()))
        .collect();
    let mut out = Vec::new();
    for fold in grouped_folds(objects, 5, 11)
        .into_iter()
        .filter(|f| f.cross_source)
    {
        let train: Vec<&ObjectSequence> = fold
            .train
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).copied())
            .collect();
        let labels: HashMap<String, String> = fold
            .train
            .iter()
            .filter_map(|id| {
                label_of
                    .get(id.as_str())
                    .map(|l| (id.clone(), l.to_string()))
            })
            .collect();
        let model = train_set_trees_present(&train, &labels, set, config)?;
        let (mut rows, mut truth, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for id in &fold.test {
            let (Some(s), Some(l)) = (by_id.get(id.as_str()), label_of.get(id.as_str())) else {
                continue;
            };
            // Scored over the four real classes: the fold's model may lack one, and its
            // answer index is mapped back to the real classes' order.
            let Some(t) = REAL_CLASSES.iter().position(|c| c == l) else {
                continue;
            };
            let Some(row) = last_row(set, s) else {
                continue;
            };
            rows.push(row);
            truth.push(t);
            labels.push(l.to_string());
        }
        out.push(HeldOut {
            model,
            rows,
            truth,
            labels,
        });
    }
    Ok(out)
}

/// Runs the audit of the ZTF trees' features ([`TREES_FEATURES`]) on `objects` (the
/// split's training and validation objects).
pub fn shortcut_audit(
    objects: &[GroupedObject],
    by_id: &HashMap<&str, &ObjectSequence>,
    config: &TreeConfig,
    say: &dyn Fn(&str),
) -> Result<ShortcutAudit, BenchmarkError> {
    shortcut_audit_for(TREES_FEATURES, objects, by_id, config, say)
}

/// [`shortcut_audit`] of the trees of any feature set: the features shuffled, named and
/// neutralised are `set`'s, and every tree trained reads them.
pub fn shortcut_audit_for(
    set: FeatureSet,
    objects: &[GroupedObject],
    by_id: &HashMap<&str, &ObjectSequence>,
    config: &TreeConfig,
    say: &dyn Fn(&str),
) -> Result<ShortcutAudit, BenchmarkError> {
    // A group needs an object in every fold's training part.
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for o in objects {
        *sizes.entry(o.group.as_str()).or_default() += 1;
    }
    let groups: Vec<String> = sizes
        .iter()
        .filter(|(_, n)| **n >= SOURCE_FOLDS)
        .map(|(g, _)| g.to_string())
        .collect();
    let told: Vec<&GroupedObject> = objects
        .iter()
        .filter(|o| groups.contains(&o.group) && by_id.contains_key(o.object_id.as_str()))
        .collect();
    say(&format!(
        "shortcut audit: telling {} source groups apart from the features of {} objects",
        groups.len(),
        told.len()
    ));
    let source_config = TreeConfig {
        members: 1,
        neutralised: Vec::new(),
        ..config.clone()
    };
    let src = source_folds(set, &told, by_id, &groups, &source_config)?;
    let (source_ba, source_drop) = drops(set, &src, groups.len(), &same)?;
    let mut hits = 0usize;
    let mut total = 0usize;
    let mut by_class: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for f in &src {
        let predicted = predict(&f.model, &f.rows)?;
        for ((t, p), l) in f.truth.iter().zip(predicted).zip(&f.labels) {
            hits += usize::from(*t == p);
            total += 1;
            by_class.entry(l.clone()).or_default().push((*t, p));
        }
    }
    say("shortcut audit: the class answer on held-out groups, feature by feature");
    let base_config = TreeConfig {
        neutralised: Vec::new(),
        ..config.clone()
    };
    let cls = class_folds(set, objects, by_id, &base_config)?;
    let (grouped_all, class_drop) = drops(set, &cls, REAL_CLASSES.len(), &real_class)?;
    let mut importance: Vec<FeatureImportance> = set
        .tree_features()
        .iter()
        .enumerate()
        .map(|(j, f)| FeatureImportance {
            feature: f.to_string(),
            source_drop: source_drop[j],
            class_drop: class_drop[j],
        })
        .collect();
    importance.sort_by(|a, b| b.source_drop.total_cmp(&a.source_drop));
    let candidates: Vec<String> = importance
        .iter()
        .filter(|i| i.source_drop >= SOURCE_SIGNAL && i.class_drop <= CLASS_SIGNAL)
        .map(|i| i.feature.clone())
        .collect();
    let (with_neutralised, neutralised) = if candidates.is_empty() {
        (None, Vec::new())
    } else {
        say(&format!(
            "shortcut audit: the grouped answer with {} neutralised",
            candidates.join(", ")
        ));
        let trial = TreeConfig {
            neutralised: candidates.clone(),
            ..config.clone()
        };
        let ba = pooled(
            &class_folds(set, objects, by_id, &trial)?,
            REAL_CLASSES.len(),
            None,
            0,
            &real_class,
        )?;
        let keep = if ba >= grouped_all {
            candidates.clone()
        } else {
            Vec::new()
        };
        (Some(ba), keep)
    };
    Ok(ShortcutAudit {
        objects: told.len(),
        source_accuracy: hits as f64 / total.max(1) as f64,
        source_balanced_accuracy: source_ba,
        source_chance: 1.0 / groups.len().max(1) as f64,
        source_balanced_accuracy_by_class: by_class
            .into_iter()
            .map(|(c, pairs)| (c, balanced(&pairs, groups.len())))
            .collect(),
        groups,
        importance,
        candidates,
        grouped_all_features: grouped_all,
        grouped_candidates_neutralised: with_neutralised,
        neutralised,
    })
}

fn pct(v: f64) -> String {
    format!("{:.1}", 100.0 * v)
}

/// The audit as Markdown.
pub fn render_audit(a: &ShortcutAudit) -> String {
    let mut s = format!(
        "\n**Shortcut audit** (on the split's {} training and validation objects only): trees \
         telling the {} source groups apart from the same features reach {} % balanced \
         accuracy ({} % accuracy; chance {} %) in {SOURCE_FOLDS}-fold cross-validation",
        a.objects,
        a.groups.len(),
        pct(a.source_balanced_accuracy),
        pct(a.source_accuracy),
        pct(a.source_chance),
    );
    if a.source_balanced_accuracy_by_class.is_empty() {
        s.push_str(".\n");
    } else {
        let per: Vec<String> = a
            .source_balanced_accuracy_by_class
            .iter()
            .map(|(c, v)| format!("{c} {} %", pct(*v)))
            .collect();
        s.push_str(&format!(
            "; among objects of one class: {}.\n",
            per.join(", ")
        ));
    }
    s.push_str(
        "\nFeatures by how much the source classifier loses when each is shuffled (top 12), \
         beside what the class answer on held-out groups loses (balanced accuracy points):\n\n\
         | feature | source | class, unseen groups |\n|---|---|---|\n",
    );
    for i in a.importance.iter().take(12) {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            i.feature,
            pct(i.source_drop),
            pct(i.class_drop)
        ));
    }
    s.push_str(&format!(
        "\nGrouped balanced accuracy of the trees (no rules, four classes, these objects): {} % with every feature",
        pct(a.grouped_all_features)
    ));
    match a.grouped_candidates_neutralised {
        Some(v) => s.push_str(&format!(
            ", {} % with {} neutralised (source signal >= {} points, class signal on unseen groups <= {} points): {}.\n",
            pct(v),
            a.candidates.join(", "),
            pct(SOURCE_SIGNAL),
            pct(CLASS_SIGNAL),
            if a.neutralised.is_empty() {
                "kept, since removing them does not help on unseen groups"
            } else {
                "neutralised in the trees trained on the split (the saved default-trees); each \
                 grouped fold's trees follow that fold's own audit instead, unless --audit-once \
                 (see the notes)"
            }
        )),
        None => s.push_str("; no feature carries the source alone.\n"),
    }
    s
}

/// The objects a fold's own shortcut audit may read: its training objects, never one of
/// the held-out group.
fn fold_audit_objects(objects: &[GroupedObject], fold: &Fold) -> Vec<GroupedObject> {
    let train: HashSet<&str> = fold.train.iter().map(String::as_str).collect();
    objects
        .iter()
        .filter(|o| train.contains(o.object_id.as_str()))
        .cloned()
        .collect()
}

/// `trees` with the features a shortcut audit of `fold`'s training objects alone
/// neutralises (the nested audit), so that no held-out object has a say in which features
/// the fold's trees may read.
pub fn nested_tree_config(
    objects: &[GroupedObject],
    fold: &Fold,
    by_id: &HashMap<&str, &ObjectSequence>,
    trees: &TreeConfig,
) -> Result<TreeConfig, BenchmarkError> {
    nested_tree_config_for(TREES_FEATURES, objects, fold, by_id, trees)
}

/// [`nested_tree_config`] for trees of the features of `set`, audited in those features.
pub fn nested_tree_config_for(
    set: FeatureSet,
    objects: &[GroupedObject],
    fold: &Fold,
    by_id: &HashMap<&str, &ObjectSequence>,
    trees: &TreeConfig,
) -> Result<TreeConfig, BenchmarkError> {
    let audit = shortcut_audit_for(
        set,
        &fold_audit_objects(objects, fold),
        by_id,
        &TreeConfig {
            neutralised: Vec::new(),
            ..trees.clone()
        },
        &|_| {},
    )?;
    Ok(TreeConfig {
        neutralised: audit.neutralised,
        ..trees.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::answers::shared_grouped_objects;

    /// The audit shuffles, names and neutralises the features of the set it is given, each
    /// once, whichever set that is.
    #[test]
    fn the_audit_reads_the_features_of_the_set_it_is_given() {
        let (sequences, objects) = shared_grouped_objects(&|r| r.part != "test");
        let by_id: HashMap<&str, &ObjectSequence> =
            sequences.iter().map(|s| (s.key.id.as_str(), s)).collect();
        // Small trees: what is checked is which features the audit reads, not its verdict.
        let config = TreeConfig {
            members: 1,
            iterations: 10,
            ..TreeConfig::default()
        };
        for set in [FeatureSet::Neutral, TREES_FEATURES] {
            let audit = shortcut_audit_for(set, &objects, &by_id, &config, &|_| {}).expect("audit");
            let mut named: Vec<&str> = audit
                .importance
                .iter()
                .map(|i| i.feature.as_str())
                .collect();
            named.sort_unstable();
            let mut features = set.tree_features().to_vec();
            features.sort_unstable();
            assert_eq!(named, features, "{}", set.name());
            assert!(audit.importance.iter().all(|i| i.source_drop.is_finite()));
            assert!(audit
                .candidates
                .iter()
                .all(|c| features.contains(&c.as_str())));
            assert!(audit
                .neutralised
                .iter()
                .all(|n| audit.candidates.contains(n)));
        }
    }

    #[test]
    fn a_folds_own_audit_reads_none_of_its_held_out_objects() {
        let object = |id: &str, group: &str| GroupedObject {
            object_id: id.into(),
            label: "VS".into(),
            group: group.into(),
        };
        let objects = vec![
            object("a1", "a"),
            object("a2", "a"),
            object("b1", "b"),
            object("c1", "c"),
        ];
        for fold in grouped_folds(&objects, 2, 1) {
            let read: Vec<String> = fold_audit_objects(&objects, &fold)
                .into_iter()
                .map(|o| o.object_id)
                .collect();
            assert!(!read.is_empty(), "{fold:?}");
            assert!(read.iter().all(|id| !fold.test.contains(id)), "{fold:?}");
            let held_out_group = objects
                .iter()
                .find(|o| fold.test.contains(&o.object_id))
                .map(|o| o.group.clone());
            assert!(
                objects
                    .iter()
                    .filter(|o| read.contains(&o.object_id))
                    .all(|o| Some(&o.group) != held_out_group.as_ref()),
                "{fold:?}"
            );
        }
    }
}
