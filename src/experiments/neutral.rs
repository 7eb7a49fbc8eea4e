//! The survey-neutral model (issue #20): trees on what ZTF and Rubin/LSST alerts both
//! measure ([`crate::features::neutral`]), learnt on the real labelled ZTF objects (no
//! labelled LSST alert is in reach), judged like the ZTF default by the grouped-by-source
//! validation and beside it, then trained on the benchmark split's training and validation
//! objects and written as the bundled `neutral-trees`, the default answer for LSST alerts.

use super::answers::{majority, read_labelled_objects, train_set_trees_present};
use super::benchmark::*;
use crate::classify::{ClassifyOptions, LoadedModel};
use crate::experiments::groups::{grouped_folds, grouped_objects, GroupedObject};
use crate::features::neutral::NEUTRALISED;
use crate::features::sets::FeatureSet;
use crate::model::trees::{TreeConfig, TreeEnsemble};
use crate::sequence::neutral::ObjectSequence;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// What to run.
pub struct NeutralConfig {
    pub data: PathBuf,
    pub split: PathBuf,
    pub trees: TreeConfig,
    /// The features the ZTF default's shortcut audit neutralised, for the ZTF trees scored
    /// beside the neutral ones (read from the bundled default).
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

#[derive(Debug, Clone, Serialize)]
pub struct NeutralReport {
    pub objects: usize,
    pub folds: usize,
    pub cross_source_folds: usize,
    pub rows: Vec<NeutralRow>,
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
    let label_of: HashMap<&str, &str> = objects
        .iter()
        .map(|o| (o.object_id.as_str(), o.label.as_str()))
        .collect();
    let pick = |ids: &[String]| -> Vec<&ObjectSequence> {
        let mut v: Vec<&ObjectSequence> = ids
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).copied())
            .collect();
        v.sort_by(|a, b| a.key.id.cmp(&b.key.id));
        v
    };
    let folds = grouped_folds(
        &objects,
        crate::experiments::grouped::WITHIN_FOLDS,
        crate::experiments::grouped::FOLD_SEED,
    );
    let neutral_config = TreeConfig {
        neutralised: NEUTRALISED.iter().map(|s| s.to_string()).collect(),
        ..config.trees.clone()
    };
    let ztf_config = TreeConfig {
        neutralised: config.ztf_neutralised.clone(),
        ..config.trees.clone()
    };
    let mut pooled: [Answers; 3] = Default::default();
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
                label_of
                    .get(id.as_str())
                    .map(|l| (id.clone(), l.to_string()))
            })
            .collect();
        let train = pick(&fold.train);
        let test = pick(&fold.test);
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
    }
    let scored: HashSet<&str> = folds
        .iter()
        .flat_map(|f| f.test.iter().map(String::as_str))
        .collect();
    let truth: Vec<(String, String)> = objects
        .iter()
        .filter(|o| scored.contains(o.object_id.as_str()))
        .map(|o| (o.object_id.clone(), o.label.clone()))
        .collect();
    let [maj, ztf, neutral] = pooled;
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
            &answers_of(&alerce, &pick(&scored_ids))?,
        ));
    }

    let (trained_on, saved) = train_and_save(config, &rows, &loaded, &pick, &neutral_config, say)?;
    Ok(NeutralReport {
        objects: truth.len(),
        folds: folds.len(),
        cross_source_folds: folds.iter().filter(|f| f.cross_source).count(),
        rows: table,
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
    s
}
