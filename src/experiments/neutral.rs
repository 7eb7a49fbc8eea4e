//! The survey-neutral model (issue #20): trees on what ZTF and Rubin/LSST alerts both
//! measure ([`crate::features::neutral`]), learnt on the real labelled ZTF objects (no
//! labelled LSST alert is in reach), judged like the ZTF default by the grouped-by-source
//! validation and beside it, then trained on the benchmark split's training and validation
//! objects and written as the bundled `neutral-trees`, the default answer for LSST alerts.
//!
//! The features each tree model reads as missing are chosen as the ZTF default's are: by a
//! shortcut audit ([`crate::experiments::shortcut`]) in the model's own features, of each
//! grouped fold's training objects alone (nested), and of the split's training and
//! validation objects for the saved model; no held-out or test object has a say.

use super::answers::{majority, read_labelled_objects, train_set_trees_present};
use super::benchmark::*;
use crate::classify::{ClassifyOptions, LoadedModel};
use crate::experiments::groups::{grouped_folds, grouped_objects, Fold, GroupedObject};
use crate::experiments::shortcut::{nested_tree_config_for, shortcut_audit_for, ShortcutAudit};
use crate::features::sets::FeatureSet;
use crate::model::trees::{TreeConfig, TreeEnsemble};
use crate::sequence::neutral::ObjectSequence;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// How the grouped folds' trees choose the features they read as missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FoldNeutralising {
    /// Each fold's trees neutralise what a shortcut audit of that fold's training objects
    /// alone finds, in their own features (nested; the default).
    Nested,
    /// Every fold's trees neutralise the list chosen once on the split's training and
    /// validation objects (`--audit-once`): the saved neutral model's, and the ZTF
    /// default's. Those audits read objects of the held-out groups, so this flatters the
    /// trees.
    Once,
    /// Nothing is neutralised, in the folds or the saved model (`--keep-features`); the
    /// audit is still reported.
    Keep,
}

/// What to run.
pub struct NeutralConfig {
    pub data: PathBuf,
    pub split: PathBuf,
    pub trees: TreeConfig,
    pub neutralising: FoldNeutralising,
    /// The features the ZTF default's shortcut audit neutralised (read from the bundled
    /// default): what every fold's ZTF trees neutralise under [`FoldNeutralising::Once`].
    pub ztf_neutralised: Vec<String>,
    /// Where to write the neutral model trained on the split's training and validation
    /// objects.
    pub save_model: Option<PathBuf>,
    /// The ALeRCE stamp classifier, scored beside (it trained on none of these objects).
    pub alerce: Option<PathBuf>,
}

/// One model's pooled answers on the held-out groups, scored.
#[derive(Debug, Clone, Serialize)]
pub struct NeutralRow {
    pub model: String,
    pub description: String,
    pub five_classes: Option<TaskScore>,
    /// AGN recall by the kind the labels name: (kind, scored, answered AGN).
    pub agn_by_subtype: Vec<(String, usize, usize)>,
}

/// The features one grouped fold's trees read as missing.
#[derive(Debug, Clone, Serialize)]
pub struct FoldNeutralised {
    /// The fold's name: the group held out.
    pub held_out: String,
    /// The neutral trees' (neutral features).
    pub neutral: Vec<String>,
    /// The ZTF trees' (ZTF candidate features).
    pub ztf: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NeutralReport {
    pub objects: usize,
    pub folds: usize,
    pub cross_source_folds: usize,
    pub rows: Vec<NeutralRow>,
    pub neutralising: FoldNeutralising,
    pub neutralised_by_fold: Vec<FoldNeutralised>,
    /// The shortcut audit of the split's training and validation objects in the neutral
    /// features.
    pub audit: ShortcutAudit,
    /// The features the neutral model trained on those objects (the saved one) reads as
    /// missing: the audit's, none with [`FoldNeutralising::Keep`].
    pub neutralised: Vec<String>,
    pub trained_on: usize,
    pub saved: Option<PathBuf>,
}

/// The model of `set`'s trees as a file would hold it.
fn as_model(trees: TreeEnsemble, set: FeatureSet, name: &str) -> LoadedModel {
    let header = match set {
        FeatureSet::Neutral => crate::model::trees::neutral_tree_model_header(&trees, name),
        _ => crate::model::trees::tree_model_header(&trees, name),
    };
    LoadedModel::from_trees(trees, header, Path::new(&format!("{name}.stampseq")))
}

/// Answers after each of the first detections, rules on, no look-ahead: as the benchmark
/// scores every model.
fn answers_of(
    model: &LoadedModel,
    sequences: &[&ObjectSequence],
) -> Result<Answers, BenchmarkError> {
    let options = ClassifyOptions {
        max_detections: MAX_DETECTIONS,
        look_ahead_for_stationary: false,
        ..Default::default()
    };
    let out = model
        .classify(
            sequences,
            &options,
            model.device(),
            &AtomicBool::new(false),
            &|_, _| {},
        )
        .map_err(|e| BenchmarkError::Invalid(e.to_string()))?;
    Ok(Answers::from_rows(model.classes(), &out.rows))
}

fn pool(into: &mut Answers, part: Answers) {
    into.classes = part.classes;
    into.by_object.extend(part.by_object);
}

/// What the folds read: the objects, their groups and labels, and the sequences by id.
struct Inputs<'a> {
    objects: &'a [GroupedObject],
    by_id: &'a HashMap<&'a str, &'a ObjectSequence>,
    label_of: HashMap<&'a str, &'a str>,
}

impl<'a> Inputs<'a> {
    /// The sequences of `ids`, by id.
    fn pick(&self, ids: &[String]) -> Vec<&'a ObjectSequence> {
        let mut v: Vec<&ObjectSequence> = ids
            .iter()
            .filter_map(|id| self.by_id.get(id.as_str()).copied())
            .collect();
        v.sort_by(|a, b| a.key.id.cmp(&b.key.id));
        v
    }
}

/// `trees` neutralising what a fold's trees of `set` read as missing: a nested audit of the
/// fold's training objects, the list chosen `once`, or nothing.
fn fold_tree_config(
    neutralising: FoldNeutralising,
    set: FeatureSet,
    once: &[String],
    input: &Inputs,
    fold: &Fold,
    trees: &TreeConfig,
) -> Result<TreeConfig, BenchmarkError> {
    let fixed = |neutralised: Vec<String>| TreeConfig {
        neutralised,
        ..trees.clone()
    };
    match neutralising {
        FoldNeutralising::Nested => {
            nested_tree_config_for(set, input.objects, fold, input.by_id, trees)
        }
        FoldNeutralising::Once => Ok(fixed(once.to_vec())),
        FoldNeutralising::Keep => Ok(fixed(Vec::new())),
    }
}

/// The pooled answers on the held-out groups of the majority answer, the ZTF trees and the
/// neutral trees, each retrained per fold; and what each fold's trees neutralised.
fn grouped_answers(
    config: &NeutralConfig,
    input: &Inputs,
    folds: &[Fold],
    neutral_once: &[String],
    say: &dyn Fn(&str),
) -> Result<([Answers; 3], Vec<FoldNeutralised>), BenchmarkError> {
    let mut pooled: [Answers; 3] = Default::default();
    let mut neutralised = Vec::with_capacity(folds.len());
    for (i, fold) in folds.iter().enumerate() {
        say(&format!(
            "neutral model, grouped validation: fold {} of {} (held out: {})",
            i + 1,
            folds.len(),
            fold.name
        ));
        let train_labels: HashMap<String, String> = fold
            .train
            .iter()
            .filter_map(|id| {
                input
                    .label_of
                    .get(id.as_str())
                    .map(|l| (id.clone(), l.to_string()))
            })
            .collect();
        if config.neutralising == FoldNeutralising::Nested {
            say(&format!("shortcut audits inside the fold {}", fold.name));
        }
        let config_of = |set: FeatureSet, once: &[String]| {
            fold_tree_config(config.neutralising, set, once, input, fold, &config.trees)
        };
        let neutral_config = config_of(FeatureSet::Neutral, neutral_once)?;
        let ztf_config = config_of(TREES_FEATURES, &config.ztf_neutralised)?;
        let train = input.pick(&fold.train);
        let test = input.pick(&fold.test);
        let neutral =
            train_set_trees_present(&train, &train_labels, FeatureSet::Neutral, &neutral_config)?;
        let ztf = train_set_trees_present(&train, &train_labels, TREES_FEATURES, &ztf_config)?;
        pool(
            &mut pooled[0],
            Answers::constant(&majority(&train_labels), &test),
        );
        pool(
            &mut pooled[1],
            answers_of(&as_model(ztf, TREES_FEATURES, "ztf"), &test)?,
        );
        pool(
            &mut pooled[2],
            answers_of(&as_model(neutral, FeatureSet::Neutral, "neutral"), &test)?,
        );
        neutralised.push(FoldNeutralised {
            held_out: fold.name.clone(),
            neutral: neutral_config.neutralised,
            ztf: ztf_config.neutralised,
        });
    }
    Ok((pooled, neutralised))
}

/// The shortcut audit, in the neutral features, of the split's training and validation
/// objects (never a test object): what the saved neutral model neutralises.
fn split_audit(
    config: &NeutralConfig,
    rows: &[SplitRow],
    input: &Inputs,
    say: &dyn Fn(&str),
) -> Result<ShortcutAudit, BenchmarkError> {
    let fit: HashSet<&str> = rows
        .iter()
        .filter(|r| r.part == "train" || r.part == "val")
        .map(|r| r.object_id.as_str())
        .collect();
    let audit_objects: Vec<GroupedObject> = input
        .objects
        .iter()
        .filter(|o| fit.contains(o.object_id.as_str()))
        .cloned()
        .collect();
    shortcut_audit_for(
        FeatureSet::Neutral,
        &audit_objects,
        input.by_id,
        &config.trees,
        say,
    )
}

/// Runs the grouped validation of the neutral trees beside the ZTF trees and the majority
/// answer, then (with `save_model`) trains and writes the neutral model.
pub fn run_neutral(
    config: &NeutralConfig,
    say: &dyn Fn(&str),
) -> Result<NeutralReport, BenchmarkError> {
    let rows = read_split(&config.split)?;
    let wanted: HashSet<&str> = rows.iter().map(|r| r.object_id.as_str()).collect();
    say(&format!("reading alerts under {}", config.data.display()));
    let (sequences, _) = read_labelled_objects(&config.data, &|id| wanted.contains(id));
    let loaded: HashSet<&str> = sequences.iter().map(|s| s.key.id.as_str()).collect();
    let by_id: HashMap<&str, &ObjectSequence> =
        sequences.iter().map(|s| (s.key.id.as_str(), s)).collect();
    let objects: Vec<GroupedObject> = grouped_objects(&config.data, &rows, &loaded)?;
    let input = Inputs {
        objects: &objects,
        by_id: &by_id,
        label_of: objects
            .iter()
            .map(|o| (o.object_id.as_str(), o.label.as_str()))
            .collect(),
    };
    let audit = split_audit(config, &rows, &input, say)?;
    let neutralised = if config.neutralising == FoldNeutralising::Keep {
        Vec::new()
    } else {
        audit.neutralised.clone()
    };
    let folds = grouped_folds(
        &objects,
        crate::experiments::grouped::WITHIN_FOLDS,
        crate::experiments::grouped::FOLD_SEED,
    );
    let ([maj, ztf, neutral], neutralised_by_fold) =
        grouped_answers(config, &input, &folds, &neutralised, say)?;
    let scored: HashSet<&str> = folds
        .iter()
        .flat_map(|f| f.test.iter().map(String::as_str))
        .collect();
    let truth: Vec<(String, String)> = objects
        .iter()
        .filter(|o| scored.contains(o.object_id.as_str()))
        .map(|o| (o.object_id.clone(), o.label.clone()))
        .collect();
    let kinds = crate::experiments::groups::agn_subtypes(&config.data)?;
    let row = |model: &str, description: &str, answers: &Answers| NeutralRow {
        model: model.into(),
        description: description.into(),
        five_classes: score(answers, &truth, &FIVE_CLASSES, None, 13),
        agn_by_subtype: crate::experiments::grouped::agn_by_subtype(answers, &truth, &kinds),
    };
    let mut table = vec![
        row(
            "majority (per fold)",
            "the most common class of each fold's training groups",
            &maj,
        ),
        row(
            crate::assets::DEFAULT_TREES_NAME,
            "ZTF trees (ZTF candidate features), retrained per fold, rules on",
            &ztf,
        ),
        row(
            crate::assets::NEUTRAL_MODEL_NAME,
            "neutral trees (features both surveys measure), retrained per fold, rules on",
            &neutral,
        ),
    ];
    if let Some(path) = &config.alerce {
        say("neutral model: scoring ALeRCE beside it");
        let backend = crate::backend::BackendChoice::Cpu.resolve();
        let alerce = LoadedModel::load_for(path, &backend)?;
        let scored_ids: Vec<String> = truth.iter().map(|(id, _)| id.clone()).collect();
        table.push(row(
            "alerce",
            "the ALeRCE stamp classifier with the physics rules; it trained on none of these \
             objects",
            &answers_of(&alerce, &input.pick(&scored_ids))?,
        ));
    }

    let saved_config = TreeConfig {
        neutralised: neutralised.clone(),
        ..config.trees.clone()
    };
    let pick = |ids: &[String]| input.pick(ids);
    let (trained_on, saved) = train_and_save(config, &rows, &loaded, &pick, &saved_config, say)?;
    Ok(NeutralReport {
        objects: truth.len(),
        folds: folds.len(),
        cross_source_folds: folds.iter().filter(|f| f.cross_source).count(),
        rows: table,
        neutralising: config.neutralising,
        neutralised_by_fold,
        audit,
        neutralised,
        trained_on,
        saved,
    })
}

/// The neutral model trained on the split's training and validation objects and written to
/// `config.save_model`, if asked: how many objects it trained on, and where it went.
fn train_and_save<'a>(
    config: &NeutralConfig,
    rows: &[SplitRow],
    loaded: &HashSet<&str>,
    pick: &dyn Fn(&[String]) -> Vec<&'a ObjectSequence>,
    neutral_config: &TreeConfig,
    say: &dyn Fn(&str),
) -> Result<(usize, Option<PathBuf>), BenchmarkError> {
    let fit_labels: HashMap<String, String> = rows
        .iter()
        .filter(|r| r.part == "train" || r.part == "val")
        .filter(|r| loaded.contains(r.object_id.as_str()))
        .map(|r| (r.object_id.clone(), r.label.clone()))
        .collect();
    let mut fit_ids: Vec<String> = fit_labels.keys().cloned().collect();
    fit_ids.sort();
    let mut saved = None;
    if let Some(path) = &config.save_model {
        say(&format!(
            "training the neutral model on {} objects",
            fit_ids.len()
        ));
        let trees = train_set_trees_present(
            &pick(&fit_ids),
            &fit_labels,
            FeatureSet::Neutral,
            neutral_config,
        )?;
        let header = crate::model::trees::neutral_tree_model_header(
            &trees,
            crate::assets::NEUTRAL_MODEL_NAME,
        );
        crate::model::trees::write_tree_model(&trees, &header, path)
            .map_err(|e| BenchmarkError::Invalid(e.to_string()))?;
        saved = Some(path.clone());
    }
    Ok((fit_ids.len(), saved))
}

/// The report as a Markdown table: balanced accuracy and per-class recall with standard
/// errors, over the five classes.
pub fn render_neutral(r: &NeutralReport) -> String {
    let mut s = format!(
        "Grouped by source: {} real labelled ZTF objects scored by models that never saw \
         their source group ({} folds, {} of them cross-source; a class found in one group \
         only is scored within it). Labels are weak (catalogue cross-matches), not \
         spectroscopic. Five classes; recall of each, with standard errors and the objects of the \
         class in brackets.\n\n\
         | model | balanced accuracy | AGN | SN | VS | asteroid | objects |\n\
         |---|---|---|---|---|---|---|\n",
        r.objects, r.folds, r.cross_source_folds
    );
    for row in &r.rows {
        let Some(t) = &row.five_classes else {
            continue;
        };
        let recall = |c: &str| {
            t.metrics
                .per_class
                .iter()
                .position(|m| m.class == c)
                .map_or("-".to_string(), |i| {
                    format!(
                        "{:.0} ± {:.0} % ({})",
                        100.0 * t.metrics.per_class[i].recall,
                        100.0 * t.recall_se.get(i).copied().unwrap_or(f64::NAN),
                        t.metrics.per_class[i].support
                    )
                })
        };
        s.push_str(&format!(
            "| {} | **{:.1} ± {:.1} %** | {} | {} | {} | {} | {} |\n",
            row.model,
            100.0 * t.metrics.balanced_accuracy,
            100.0 * t.balanced_accuracy_se,
            recall("AGN"),
            recall("SN"),
            recall("VS"),
            recall("asteroid"),
            t.objects
        ));
    }
    s.push_str(
        "\nAGN recall by the kind the labelling catalogue names (answered AGN / scored):\n\n\
         | model | blazar | quasar | Seyfert | unnamed |\n|---|---|---|---|---|\n",
    );
    for row in &r.rows {
        s.push_str(&format!("| {} |", row.model));
        for kind in ["blazar", "quasar", "Seyfert", "unnamed"] {
            match row.agn_by_subtype.iter().find(|(k, _, _)| k == kind) {
                Some((_, n, a)) => s.push_str(&format!(" {a}/{n} |")),
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s.push_str(&render_neutralised(r));
    s
}

/// "a, b" or "none".
fn listed(features: &[String]) -> String {
    if features.is_empty() {
        "none".into()
    } else {
        features.join(", ")
    }
}

/// What each fold's trees and the saved model read as missing, and why.
fn render_neutralised(r: &NeutralReport) -> String {
    let how = match r.neutralising {
        FoldNeutralising::Nested => {
            "chosen in each fold by a shortcut audit of that fold's training objects alone, in \
             each model's own features (nested: no held-out object has a say)"
        }
        FoldNeutralising::Once => {
            "the lists chosen once on the split's training and validation objects \
             (`--audit-once`: those audits read objects of the held-out groups, which flatters \
             the trees)"
        }
        FoldNeutralising::Keep => "none (`--keep-features`)",
    };
    let mut s = format!(
        "\nFeatures each fold's trees read as missing (neutralised): {how}.\n\n\
         | held out | {} | {} |\n|---|---|---|\n",
        crate::assets::NEUTRAL_MODEL_NAME,
        crate::assets::DEFAULT_TREES_NAME
    );
    for f in &r.neutralised_by_fold {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            f.held_out,
            listed(&f.neutral),
            listed(&f.ztf)
        ));
    }
    s.push_str(&format!(
        "\nThe neutral model trained on the split's {} training and validation objects (the \
         saved {}) reads as missing: {}. A shortcut audit of those objects alone (never a test \
         object) in the neutral features found {} to tell the source group (source signal >= \
         {:.1} points) and not the class on unseen groups (<= {:.1} points)",
        r.trained_on,
        crate::assets::NEUTRAL_MODEL_NAME,
        listed(&r.neutralised),
        listed(&r.audit.candidates),
        100.0 * crate::experiments::shortcut::SOURCE_SIGNAL,
        100.0 * crate::experiments::shortcut::CLASS_SIGNAL,
    ));
    match r.audit.grouped_candidates_neutralised {
        Some(v) => s.push_str(&format!(
            "; the grouped balanced accuracy of trees on those objects (no rules, four classes) \
             is {:.1} % with every feature, {:.1} % with these neutralised, so they are {}.\n",
            100.0 * r.audit.grouped_all_features,
            100.0 * v,
            if r.neutralising == FoldNeutralising::Keep {
                "kept (`--keep-features`)"
            } else if r.audit.neutralised.is_empty() {
                "kept"
            } else {
                "neutralised"
            }
        )),
        None => s.push_str(".\n"),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::answers::shared_grouped_objects;

    /// The neutral trees of a fold neutralise what an audit of the fold's training objects
    /// alone finds: the same list when the held-out objects are not there at all.
    #[test]
    fn a_neutral_folds_audit_reads_none_of_its_held_out_objects() {
        let (sequences, objects) = shared_grouped_objects(&|_| true);
        let fold = grouped_folds(
            &objects,
            crate::experiments::grouped::WITHIN_FOLDS,
            crate::experiments::grouped::FOLD_SEED,
        )
        .into_iter()
        .find(|f| f.name == "fink-science")
        .expect("the fink-science fold");
        let held_out: HashSet<&str> = fold.test.iter().map(String::as_str).collect();
        let config_without = |skip: &HashSet<&str>| {
            let by_id: HashMap<&str, &ObjectSequence> = sequences
                .iter()
                .map(|s| (s.key.id.as_str(), s))
                .filter(|(id, _)| !skip.contains(id))
                .collect();
            let kept: Vec<GroupedObject> = objects
                .iter()
                .filter(|o| !skip.contains(o.object_id.as_str()))
                .cloned()
                .collect();
            let input = Inputs {
                objects: &kept,
                by_id: &by_id,
                label_of: HashMap::new(),
            };
            fold_tree_config(
                FoldNeutralising::Nested,
                FeatureSet::Neutral,
                &[],
                &input,
                &fold,
                &TreeConfig::default(),
            )
            .expect("the fold's audit")
            .neutralised
        };
        let with_all = config_without(&HashSet::new());
        assert_eq!(with_all, config_without(&held_out));
        let names = FeatureSet::Neutral.tree_features();
        assert!(with_all.iter().all(|f| names.contains(&f.as_str())));
    }
}
