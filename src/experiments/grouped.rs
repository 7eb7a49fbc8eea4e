//! The grouped-by-source validation: every source group (see [`crate::experiments::groups`]) held
//! out in turn, the trees and the majority answer retrained on the other groups, every
//! model scored on the objects of the group it never saw. This is the figure that predicts
//! how a model does on a stream from a source absent from the shared data; a random
//! object-level split puts alerts of one file on both sides and rewards features that
//! identify the file.
//!
//! Models that are not retrained here (the bundled networks, ALeRCE) are scored on every
//! held-out object they were not trained or selected on; their training objects came from
//! every source, so their figure is not cross-source and the report says so.

use super::answers::{bare_tree_answers, classify_all, majority, train_trees_present};
use super::benchmark::*;
use crate::assets::DEFAULT_TREES_NAME;
use crate::backend::ResolvedBackend;
use crate::classify::LoadedModel;
pub use crate::experiments::grouped_networks::NetworkRetraining;
use crate::experiments::grouped_networks::{network_models, over_five};
use crate::experiments::groups::{grouped_folds, Fold, GroupedObject};
use crate::model::trees::TreeEnsemble;
use crate::model::trees::{tree_model_header, TreeConfig};
use crate::sequence::neutral::ObjectSequence;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Object-level folds for a class that lives in one group only.
pub const WITHIN_FOLDS: usize = 5;
pub const FOLD_SEED: u64 = 11;

/// A model scored beside the retrained ones, with the objects it must not be scored on.
pub struct FixedModel<'a> {
    pub name: String,
    pub description: String,
    pub answers: &'a Answers,
    pub seen: &'a HashSet<String>,
}

pub struct GroupedInput<'a> {
    pub objects: &'a [GroupedObject],
    pub by_id: &'a HashMap<&'a str, &'a ObjectSequence>,
    pub trees: &'a TreeConfig,
    pub backend: &'a ResolvedBackend,
    pub fixed: Vec<FixedModel<'a>>,
    /// A stamp model that never trained on these objects (its name, its raw answers): the
    /// fused model stacks the trees on it (see [`crate::experiments::fused`]).
    pub stack_on: Option<(String, &'a Answers)>,
    /// The kind of each AGN as its label's catalogue names it (see
    /// [`crate::experiments::groups::agn_subtypes`]).
    pub agn_subtypes: &'a HashMap<String, String>,
    /// Networks to retrain on every fold (slow: minutes a fold on a CPU).
    pub networks: Option<NetworkRetraining<'a>>,
    /// Run the shortcut audit inside each fold, on its training objects alone, and
    /// neutralise what that audit finds in the fold's trees (nested), instead of `trees`'
    /// list chosen once for the whole benchmark.
    pub audit_per_fold: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupCounts {
    pub group: String,
    pub counts: BTreeMap<String, usize>,
    pub total: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct FoldSummary {
    pub name: String,
    pub test_objects: usize,
    pub train_objects: usize,
    pub cross_source: bool,
}

/// One model's score on one held-out group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupScore {
    pub group: String,
    pub objects: usize,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    /// The group's AGN scored, and of them answered AGN after their last detection.
    pub agn_scored: usize,
    pub agn_found: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupedModel {
    pub model: String,
    pub description: String,
    /// Retrained on each fold (trees, majority): its score is cross-source.
    pub retrained: bool,
    pub five_classes: Option<TaskScore>,
    pub three_classes: Option<TaskScore>,
    pub per_group: Vec<GroupScore>,
    /// AGN recall by the kind the label's catalogue names (blazar, quasar, Seyfert,
    /// unnamed): (kind, AGN of that kind scored, of them answered AGN).
    pub agn_by_subtype: Vec<(String, usize, usize)>,
    /// Held-out objects left out of its score: seen in its training, or no answer.
    pub left_out: usize,
}

/// What every model's score is broken down by: source group and AGN kind.
struct Breakdown<'a> {
    group_of: &'a HashMap<&'a str, &'a str>,
    groups: &'a [GroupCounts],
    agn_subtypes: &'a HashMap<String, String>,
}

/// AGN recall by kind: of the AGN in `truth` that `answers` answered, how many of each kind
/// were answered AGN after their last detection.
pub(crate) fn agn_by_subtype(
    answers: &Answers,
    truth: &[(String, String)],
    subtypes: &HashMap<String, String>,
) -> Vec<(String, usize, usize)> {
    let agn = answers.classes.iter().position(|c| c == "AGN");
    let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (id, label) in truth {
        if label != "AGN" {
            continue;
        }
        let Some(last) = answers.by_object.get(id).and_then(|s| s.last()) else {
            continue;
        };
        let kind = subtypes
            .get(id)
            .cloned()
            .unwrap_or_else(|| "unnamed".into());
        let e = by.entry(kind).or_default();
        e.0 += 1;
        if agn.is_some() && crate::model::probs::argmax(last) == agn {
            e.1 += 1;
        }
    }
    by.into_iter().map(|(k, (n, r))| (k, n, r)).collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupedReport {
    pub groups: Vec<GroupCounts>,
    pub folds: Vec<FoldSummary>,
    pub models: Vec<GroupedModel>,
    pub audit: Option<crate::experiments::shortcut::ShortcutAudit>,
    /// Each network's fusion with the trees at every trees' weight tried, the best marked.
    pub fusion_weights: Vec<crate::experiments::fusion_weight::FusionWeightScore>,
    /// Each network's weights chosen group by group on the other groups alone.
    pub fusion_weights_elsewhere: Vec<crate::experiments::fusion_weight::ChosenElsewhere>,
    pub notes: Vec<String>,
}

fn group_counts(objects: &[GroupedObject]) -> Vec<GroupCounts> {
    let mut by: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    for o in objects {
        *by.entry(o.group.as_str())
            .or_default()
            .entry(o.label.clone())
            .or_default() += 1;
    }
    let mut out: Vec<GroupCounts> = by
        .into_iter()
        .map(|(g, counts)| GroupCounts {
            group: g.to_string(),
            total: counts.values().sum(),
            counts,
        })
        .collect();
    out.sort_by(|a, b| b.total.cmp(&a.total).then(a.group.cmp(&b.group)));
    out
}

/// `model`'s answers to `sequences` with the rules, at `priors` instead of equal priors.
fn classify_at_priors(
    model: &LoadedModel,
    sequences: &[ObjectSequence],
    backend: &ResolvedBackend,
    priors: BTreeMap<String, f64>,
) -> Result<Answers, BenchmarkError> {
    let options = crate::classify::ClassifyOptions {
        max_detections: MAX_DETECTIONS,
        look_ahead_for_stationary: false,
        priors: Some(priors),
        ..Default::default()
    };
    let out = model.classify(
        sequences,
        &options,
        &backend.device,
        &std::sync::atomic::AtomicBool::new(false),
        &|_, _| {},
    )?;
    Ok(Answers::from_rows(model.classes(), &out.rows))
}

/// The trees (with and without the rules, and at the training part's class frequencies
/// instead of equal priors) and the majority answer, each retrained on the training
/// objects of every fold and answering its held-out objects, pooled.
fn retrained_answers(
    input: &GroupedInput,
    folds: &[Fold],
    say: &dyn Fn(&str),
) -> Result<([Answers; 4], Vec<Option<TreeEnsemble>>), BenchmarkError> {
    let label_of: HashMap<&str, &str> = input
        .objects
        .iter()
        .map(|o| (o.object_id.as_str(), o.label.as_str()))
        .collect();
    let mut pooled: [Answers; 4] = Default::default();
    let mut trees_of_fold = Vec::with_capacity(folds.len());
    for (i, fold) in folds.iter().enumerate() {
        say(&format!(
            "grouped validation: fold {} of {} (held out: {})",
            i + 1,
            folds.len(),
            fold.name
        ));
        let pick = |ids: &[String]| -> Vec<&ObjectSequence> {
            let mut v: Vec<&ObjectSequence> = ids
                .iter()
                .filter_map(|id| input.by_id.get(id.as_str()).copied())
                .collect();
            v.sort_by(|a, b| a.key.id.cmp(&b.key.id));
            v
        };
        let train_labels: HashMap<String, String> = fold
            .train
            .iter()
            .filter_map(|id| {
                label_of
                    .get(id.as_str())
                    .map(|l| (id.clone(), l.to_string()))
            })
            .collect();
        let fold_config = if input.audit_per_fold {
            say(&format!("shortcut audit inside the fold {}", fold.name));
            crate::experiments::shortcut::nested_tree_config(
                input.objects,
                fold,
                input.by_id,
                input.trees,
            )?
        } else {
            input.trees.clone()
        };
        let trees = train_trees_present(&pick(&fold.train), &train_labels, &fold_config)?;
        let test_refs = pick(&fold.test);
        let test_seqs: Vec<ObjectSequence> = test_refs.iter().map(|s| (*s).clone()).collect();
        let header = tree_model_header(&trees, DEFAULT_TREES_NAME);
        let model = LoadedModel::from_trees(trees.clone(), header, Path::new("fold.stampseq"));
        let frequencies = crate::model::priors::frequency_priors(
            &REAL_CLASSES,
            train_labels.values().map(String::as_str),
        );
        let fold_answers = [
            Answers::constant(&majority(&train_labels), &test_refs),
            classify_all(&model, &test_seqs, input.backend)?,
            bare_tree_answers(&trees, &test_refs),
            classify_at_priors(&model, &test_seqs, input.backend, frequencies)?,
        ];
        for (p, a) in pooled.iter_mut().zip(fold_answers) {
            let a = over_five(a);
            p.classes = a.classes;
            p.by_object.extend(a.by_object);
        }
        trees_of_fold.push(Some(trees));
    }
    Ok((pooled, trees_of_fold))
}

fn score_model(
    name: String,
    description: String,
    retrained: bool,
    answers: &Answers,
    truth: &[(String, String)],
    by: &Breakdown,
) -> GroupedModel {
    let (group_of, groups) = (by.group_of, by.groups);
    let kept: Vec<(String, String)> = truth
        .iter()
        .filter(|(id, _)| answers.by_object.contains_key(id))
        .cloned()
        .collect();
    let per_group = groups
        .iter()
        .filter_map(|g| {
            let t: Vec<(String, String)> = kept
                .iter()
                .filter(|(id, _)| group_of.get(id.as_str()) == Some(&g.group.as_str()))
                .cloned()
                .collect();
            let s = score(answers, &t, &FIVE_CLASSES, None, 5)?;
            let agn = agn_by_subtype(answers, &t, &HashMap::new());
            Some(GroupScore {
                agn_scored: agn.iter().map(|(_, n, _)| n).sum(),
                agn_found: agn.iter().map(|(_, _, found)| found).sum(),
                group: g.group.clone(),
                objects: s.objects,
                accuracy: s.metrics.accuracy,
                balanced_accuracy: s.metrics.balanced_accuracy,
            })
        })
        .collect();
    GroupedModel {
        model: name,
        description,
        retrained,
        five_classes: score(answers, &kept, &FIVE_CLASSES, None, 13),
        three_classes: score(answers, &kept, &THREE_CLASSES, None, 13),
        per_group,
        agn_by_subtype: agn_by_subtype(answers, &kept, by.agn_subtypes),
        left_out: truth.len() - kept.len(),
    }
}

/// Runs the grouped validation over `input.objects`.
pub fn grouped_validation(
    input: &GroupedInput,
    say: &dyn Fn(&str),
) -> Result<GroupedReport, BenchmarkError> {
    let folds = grouped_folds(input.objects, WITHIN_FOLDS, FOLD_SEED);
    let groups = group_counts(input.objects);
    let ([maj, trees, bare, frequent], trees_of_fold) = retrained_answers(input, &folds, say)?;
    let mut fusion_weights = Vec::new();
    let mut fusion_weights_elsewhere = Vec::new();
    let (truth, group_of) = held_out_truth(input.objects, &folds);
    let by = Breakdown {
        group_of: &group_of,
        groups: &groups,
        agn_subtypes: input.agn_subtypes,
    };
    // A model retrained on each fold, scored on every held-out object.
    let retrained = |name: String, description: String, answers: &Answers| {
        score_model(name, description, true, answers, &truth, &by)
    };
    let mut models = vec![
        retrained(
            "majority (per fold)".into(),
            "the most common class of each fold's training groups".into(),
            &maj,
        ),
        retrained(
            DEFAULT_TREES_NAME.into(),
            "trees retrained on the other groups, with the physics rules".into(),
            &trees,
        ),
        retrained(
            format!("{DEFAULT_TREES_NAME} (no rules)"),
            "the same trees without the physics rules".into(),
            &bare,
        ),
        retrained(
            format!("{DEFAULT_TREES_NAME} (training-frequency priors)"),
            "the same trees, answering at each fold's training class frequencies instead of \
             equal priors (the check of the default)"
                .into(),
            &frequent,
        ),
    ];
    if let Some((name, stamp)) = &input.stack_on {
        say(&format!("grouped validation: trees stacked on {name}"));
        let labels: HashMap<&str, &str> = input
            .objects
            .iter()
            .map(|o| (o.object_id.as_str(), o.label.as_str()))
            .collect();
        let cross: Vec<Fold> = folds.iter().filter(|f| f.cross_source).cloned().collect();
        let fused = crate::experiments::fused::fused_answers(
            &cross,
            &labels,
            input.by_id,
            stamp,
            input.trees,
            true,
        )?;
        models.push(retrained(
            format!("fused: trees + {name}"),
            format!(
                "trees on the alert's metadata and history and {name}'s raw probabilities \
                 (which never trained on these objects), retrained on the other groups, with \
                 the physics rules"
            ),
            &fused,
        ));
    }
    if let Some(nets) = &input.networks {
        let scope = crate::experiments::grouped_networks::FoldScope {
            objects: input.objects,
            folds: &folds,
            by_id: input.by_id,
            backend: input.backend,
            trees_of_fold: &trees_of_fold,
        };
        let (networks, weighted) = network_models(&scope, nets, say)?;
        for (name, description, answers) in networks {
            models.push(retrained(name, description, &answers));
        }
        fusion_weights = add_weighted_rows(&mut models, &weighted, &retrained);
        fusion_weights_elsewhere =
            add_chosen_elsewhere_rows(&mut models, &weighted, &truth, &group_of, &retrained);
    }
    models.extend(score_fixed(input.objects, input.agn_subtypes, &input.fixed));
    let mut notes = grouped_notes(input, &folds, truth.len(), groups.len());
    if input.audit_per_fold {
        let per_fold: Vec<(String, Vec<String>)> = folds
            .iter()
            .zip(&trees_of_fold)
            .filter_map(|(f, t)| Some((f.name.clone(), t.as_ref()?.config.neutralised.clone())))
            .collect();
        notes.push(per_fold_note(&per_fold));
    }
    Ok(GroupedReport {
        groups,
        folds: folds
            .iter()
            .map(|f| FoldSummary {
                name: f.name.clone(),
                test_objects: f.test.len(),
                train_objects: f.train.len(),
                cross_source: f.cross_source,
            })
            .collect(),
        models,
        audit: None,
        fusion_weights,
        fusion_weights_elsewhere,
        notes,
    })
}

/// Scores each network's fusions with the trees at every weight tried, and puts a row for
/// each network's best weight (unless it is the plain mean) beside its plain mean's row.
fn add_weighted_rows(
    models: &mut Vec<GroupedModel>,
    weighted: &[crate::experiments::fusion_weight::WeightedFusion],
    retrained: &dyn Fn(String, String, &Answers) -> GroupedModel,
) -> Vec<crate::experiments::fusion_weight::FusionWeightScore> {
    use crate::experiments::fusion_weight::{choose, chosen_trees_weight};
    let scores = choose(
        weighted
            .iter()
            .filter_map(|f| {
                let t = retrained(String::new(), String::new(), &f.answers).five_classes?;
                Some((f.network.clone(), f.trees_weight, t))
            })
            .collect(),
    );
    for f in weighted {
        if chosen_trees_weight(&scores, &f.network) != Some(f.trees_weight) || f.trees_weight == 0.5
        {
            continue;
        }
        let plain = format!(
            "fused: {DEFAULT_TREES_NAME} + {} (retrained per fold)",
            f.network
        );
        let at = models
            .iter()
            .position(|m| m.model == plain)
            .map_or(models.len(), |i| i + 1);
        let row = retrained(
            format!(
                "fused: {DEFAULT_TREES_NAME} x {:.2} + {} (retrained per fold; weight chosen here)",
                f.trees_weight, f.network
            ),
            format!(
                "the weighted mean of the trees' ({:.2}) and {}'s ({:.2}) probabilities, then \
                 the rules; the weight is the best of those tried on this validation",
                f.trees_weight,
                f.network,
                1.0 - f.trees_weight
            ),
            &f.answers,
        );
        models.insert(at, row);
    }
    scores
}

/// Puts a row for each network's fusion with every source group answered at the trees'
/// weight chosen on the other groups alone, after the network's other fusion rows.
fn add_chosen_elsewhere_rows(
    models: &mut Vec<GroupedModel>,
    weighted: &[crate::experiments::fusion_weight::WeightedFusion],
    truth: &[(String, String)],
    group_of: &HashMap<&str, &str>,
    retrained: &dyn Fn(String, String, &Answers) -> GroupedModel,
) -> Vec<crate::experiments::fusion_weight::ChosenElsewhere> {
    let balanced = |a: &Answers, t: &[(String, String)]| {
        score(a, t, &FIVE_CLASSES, None, 13).map(|s| s.metrics.balanced_accuracy)
    };
    let chosen = crate::experiments::fusion_weight::choose_on_other_groups(
        weighted, truth, group_of, &balanced,
    );
    for c in &chosen {
        let plain = format!(
            "fused: {DEFAULT_TREES_NAME} + {} (retrained per fold)",
            c.network
        );
        let chosen_here = format!("{} (retrained per fold; weight chosen here)", c.network);
        let at = models
            .iter()
            .rposition(|m| {
                m.model == plain
                    || m.model
                        .strip_prefix(&format!("fused: {DEFAULT_TREES_NAME} x "))
                        .and_then(|rest| rest.split_once(" + "))
                        .is_some_and(|(_, rest)| rest == chosen_here)
            })
            .map_or(models.len(), |i| i + 1);
        let weights: Vec<String> = c
            .weights
            .iter()
            .map(|(g, w)| format!("{w:.2} for {g}"))
            .collect();
        let row = retrained(
            format!(
                "fused: {DEFAULT_TREES_NAME} x (chosen on the other groups) + {} (retrained per \
                 fold)",
                c.network
            ),
            format!(
                "the weighted mean of the trees' and {}'s probabilities, then the rules; each \
                 held-out group answered at the trees' weight that scored best on the other \
                 groups ({})",
                c.network,
                weights.join(", ")
            ),
            &c.answers,
        );
        models.insert(at, row);
    }
    chosen
}

/// Models that are not retrained here, each scored on the held-out objects of every fold
/// that it was not trained or selected on.
pub fn score_fixed(
    objects: &[GroupedObject],
    agn_subtypes: &HashMap<String, String>,
    fixed: &[FixedModel],
) -> Vec<GroupedModel> {
    let folds = grouped_folds(objects, WITHIN_FOLDS, FOLD_SEED);
    let groups = group_counts(objects);
    let (truth, group_of) = held_out_truth(objects, &folds);
    let by = Breakdown {
        group_of: &group_of,
        groups: &groups,
        agn_subtypes,
    };
    fixed
        .iter()
        .map(|f| {
            let t: Vec<(String, String)> = truth
                .iter()
                .filter(|(id, _)| !f.seen.contains(id))
                .cloned()
                .collect();
            let mut m = score_model(
                f.name.clone(),
                f.description.clone(),
                false,
                f.answers,
                &t,
                &by,
            );
            m.left_out += truth.len() - t.len();
            m
        })
        .collect()
}

/// The label of every object some fold holds out, and every object's source group.
fn held_out_truth<'a>(
    objects: &'a [GroupedObject],
    folds: &[Fold],
) -> (Vec<(String, String)>, HashMap<&'a str, &'a str>) {
    let group_of: HashMap<&str, &str> = objects
        .iter()
        .map(|o| (o.object_id.as_str(), o.group.as_str()))
        .collect();
    let scored: HashSet<&str> = folds
        .iter()
        .flat_map(|f| f.test.iter().map(String::as_str))
        .collect();
    let truth = objects
        .iter()
        .filter(|o| scored.contains(o.object_id.as_str()))
        .map(|o| (o.object_id.clone(), o.label.clone()))
        .collect();
    (truth, group_of)
}

fn per_fold_note(per_fold: &[(String, Vec<String>)]) -> String {
    let folds: Vec<String> = per_fold
        .iter()
        .map(|(fold, features)| {
            if features.is_empty() {
                format!("{fold}: none")
            } else {
                format!("{fold}: {}", features.join(", "))
            }
        })
        .collect();
    format!(
        "Nested shortcut audit (the default; `--audit-once` puts the list above in every fold): each fold's trees neutralise what an audit of that fold's training objects alone finds, not the list chosen once above. Neutralised per fold: {}.",
        folds.join("; ")
    )
}

/// What the grouped validation did and what its figures mean, for the report.
fn grouped_notes(
    input: &GroupedInput,
    folds: &[Fold],
    objects: usize,
    groups: usize,
) -> Vec<String> {
    let cross = folds.iter().filter(|f| f.cross_source).count();
    let mut notes = vec![format!(
        "Grouped by source: {} objects in {} source groups (objects joined through a shared \
         candid, objectId or file, then by the programme that selected them); {cross} \
         leave-one-group-out folds{}. The trees and the majority answer are retrained on each \
         fold; standard errors are bootstrap over objects (objects of one group are not \
         independent, so they understate the spread: see the per-group table). Labels are \
         weak (catalogue cross-matches, ssdistnr for asteroids), never spectroscopic.",
        objects,
        groups,
        if folds.len() > cross {
            format!(
                " and {} object-level folds inside a group for classes found in one group only (not cross-source)",
                folds.len() - cross
            )
        } else {
            String::new()
        }
    )];
    if let Some(nets) = &input.networks {
        notes.push(format!(
            "Rows marked \"retrained per fold\" and the fused rows: each network ({}) trained \
             on the other groups of every fold, selected on a fifth of their objects (per \
             class), and scored on the held-out group; a fused row is the mean of its members' \
             probabilities (weighted where the row names the trees' weight), then the rules. \
             These are cross-source.",
            nets.configs
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !input.fixed.is_empty() {
        notes.push(
            "Model files scored as they ship (the bundled networks, the fused default, ALeRCE) \
             are not retrained per fold: each is scored on the held-out objects it was never \
             trained or selected on, but the bundled networks trained on objects of every \
             source (a random split), so their figure is not cross-source and flatters them; \
             ALeRCE trained on none of these objects."
                .into(),
        );
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::groups::{grouped_objects, manifest_rows, source_groups, ManifestRow};
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    fn data() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
    }

    fn split() -> Vec<SplitRow> {
        read_split(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/benchmark/split.csv"))
            .expect("the committed split")
    }

    /// On the real shared data: no fold has a source group, an objectId or a candid on both
    /// sides, and every object is scored once.
    #[test]
    fn no_source_is_on_both_sides_of_a_fold_on_the_shared_data() {
        let rows = split();
        let all: HashSet<&str> = rows.iter().map(|r| r.object_id.as_str()).collect();
        let objects = grouped_objects(&data(), &rows, &all).expect("groups");
        assert_eq!(objects.len(), rows.len());
        let folds = grouped_folds(&objects, WITHIN_FOLDS, FOLD_SEED);
        let group_of: HashMap<&str, &str> = objects
            .iter()
            .map(|o| (o.object_id.as_str(), o.group.as_str()))
            .collect();
        // Several groups, each class in two or more: every fold is cross-source.
        assert!(group_counts(&objects).len() >= 4);
        assert!(folds.iter().all(|f| f.cross_source));
        let manifest = manifest_rows(&data()).expect("manifests");
        let candids_of = |ids: &HashSet<&str>| -> BTreeSet<&str> {
            manifest
                .iter()
                .filter(|r| ids.contains(r.object_id.as_str()) && !r.candid.is_empty())
                .map(|r| r.candid.as_str())
                .collect()
        };
        let mut scored = 0;
        for f in &folds {
            let test: HashSet<&str> = f.test.iter().map(String::as_str).collect();
            let train: HashSet<&str> = f.train.iter().map(String::as_str).collect();
            assert!(test.is_disjoint(&train), "{}", f.name);
            let tg: BTreeSet<&str> = test.iter().map(|t| group_of[t]).collect();
            let rg: BTreeSet<&str> = train.iter().map(|t| group_of[t]).collect();
            assert!(tg.is_disjoint(&rg), "{}: {tg:?} on both sides", f.name);
            // The same alert never on both sides, whatever the groups are called.
            let (tc, rc) = (candids_of(&test), candids_of(&train));
            let shared: Vec<&&str> = tc.intersection(&rc).collect();
            assert!(shared.is_empty(), "{}: candids {shared:?}", f.name);
            scored += test.len();
        }
        assert_eq!(scored, objects.len());
    }

    /// The joins the grouping exists for, on the real manifests.
    #[test]
    fn groups_join_files_that_share_an_alert_or_an_object() {
        let manifest = manifest_rows(&data()).expect("manifests");
        let groups = source_groups(&manifest);
        // Any two rows sharing a candid or an objectId are in one group.
        let mut by_candid: HashMap<&str, &str> = HashMap::new();
        for r in manifest.iter().filter(|r| !r.candid.is_empty()) {
            let g = groups[&r.object_id].as_str();
            if let Some(other) = by_candid.insert(r.candid.as_str(), g) {
                assert_eq!(other, g, "candid {}", r.candid);
            }
        }
        // fink-client and skyportal hold alerts of one Fink test file (shared objects).
        let shared: Vec<&ManifestRow> = manifest
            .iter()
            .filter(|r| r.source == "skyportal")
            .filter(|r| {
                manifest
                    .iter()
                    .any(|o| o.object_id == r.object_id && o.source == "fink-client")
            })
            .collect();
        assert!(!shared.is_empty());
        let of = |source: &str| -> BTreeSet<&str> {
            manifest
                .iter()
                .filter(|r| r.source == source)
                .map(|r| groups[&r.object_id].as_str())
                .collect()
        };
        assert_eq!(of("skyportal"), of("fink-client"));
        // fink-broker's datasim night, in the main manifest and in its git history.
        assert_eq!(
            of("fink-broker-datasim"),
            of("astrolabsoftware/fink-broker (git history)")
        );
        // The alert simulator's night shares no alert with them: its own group.
        assert_ne!(
            of("astrolabsoftware/fink-alert-simulator"),
            of("fink-client")
        );
    }
}
