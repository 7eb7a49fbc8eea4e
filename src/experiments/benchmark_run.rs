//! Runs the real-data benchmark end to end: reads the labelled alerts, trains the tree
//! model on the split's training objects, runs every model on the test objects, scores
//! them, repeats on fresh random splits, and writes `metrics.json`, `table.md` and the
//! figures.

use super::answers::*;
use super::benchmark::*;
use super::report::*;
use crate::assets::DEFAULT_TREES_NAME;
use crate::backend::ResolvedBackend;
use crate::classify::{ClassifyOptions, LoadedModel};
use crate::model::trees::{tree_model_header, write_tree_model, TreeConfig, TreeEnsemble};
use crate::sequence::neutral::ObjectSequence;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

pub struct BenchmarkConfig {
    /// The shared data folder (`ztf/labeled`, `ztf/sequences`, `ztf/extra` and manifests).
    pub data: PathBuf,
    pub split: PathBuf,
    /// Model files to score beside the trees and the majority answer.
    pub models: Vec<PathBuf>,
    pub repeats: usize,
    pub out: PathBuf,
    /// Where to write the tree model trained on the split's training and validation parts.
    pub save_model: Option<PathBuf>,
    pub trees: TreeConfig,
    pub backend: ResolvedBackend,
    /// Objects that must stay in training when the repeats draw fresh splits.
    pub forced_train: HashSet<String>,
    /// A `stampseq simulate` folder (alerts and `labels.csv`) for the ablation: the trees
    /// trained with it and without it, judged on the real validation objects.
    pub simulated: Option<PathBuf>,
    /// Keep every feature even where the shortcut audit finds one that only tells the
    /// source (the audit is still run and printed).
    pub keep_features: bool,
    /// Run the shortcut audit inside each fold of the grouped validation, on the fold's
    /// training objects alone (nested), for the fold's trees.
    pub audit_per_fold: bool,
    /// Network training configurations to retrain on every fold of the grouped validation
    /// (their runs go to `out/grouped-runs`).
    pub retrain_grouped: Vec<PathBuf>,
    /// Training iterations of those networks instead of their configurations'.
    pub retrain_iterations: Option<usize>,
    /// Where those networks' runs go (a finished fold is not trained again); by default
    /// `out/grouped-runs`.
    pub retrain_runs: Option<PathBuf>,
    /// Network model files to fuse with the trees trained here (the default answer is
    /// `default-trees` + [`crate::assets::DEFAULT_FUSED_NETWORKS`]): the fused model is
    /// scored beside the others; none, no fused model.
    pub fuse_with: Vec<PathBuf>,
    /// Where to write that fused model (this is how the bundled default is made).
    pub save_fused: Option<PathBuf>,
}

fn labels_of(rows: &[SplitRow], parts: &[&str]) -> HashMap<String, String> {
    rows.iter()
        .filter(|r| parts.contains(&r.part.as_str()))
        .map(|r| (r.object_id.clone(), r.label.clone()))
        .collect()
}

fn truth_of(rows: &[SplitRow], part: &str, loaded: &HashSet<&str>) -> Vec<(String, String)> {
    rows.iter()
        .filter(|r| r.part == part && loaded.contains(r.object_id.as_str()))
        .map(|r| (r.object_id.clone(), r.label.clone()))
        .collect()
}

struct Scored {
    name: String,
    description: String,
    answers: Answers,
    /// Whether the model was trained in this run (and so is retrained in each repeat).
    retrained: bool,
    /// Objects the model was trained or selected on (from the split file beside it): never
    /// scored for it.
    seen: HashSet<String>,
}

impl Scored {
    /// The model as the grouped validation scores one it does not retrain.
    fn as_fixed(&self) -> crate::experiments::grouped::FixedModel<'_> {
        crate::experiments::grouped::FixedModel {
            name: self.name.clone(),
            description: self.description.clone(),
            answers: &self.answers,
            seen: &self.seen,
        }
    }
}

/// The training and validation objects of a model file's run, from the `split.json` that
/// `train` writes beside it (`NAME.split.json` for the bundled models).
fn seen_objects(model: &Path) -> HashSet<String> {
    let split = model.with_extension("split.json");
    crate::train::Split::load(&split)
        .map(|s| s.train.into_iter().chain(s.val).collect())
        .unwrap_or_default()
}

fn unseen(truth: &[(String, String)], seen: &HashSet<String>) -> Vec<(String, String)> {
    truth
        .iter()
        .filter(|(id, _)| !seen.contains(id))
        .cloned()
        .collect()
}

/// Runs the benchmark; `say` gets progress lines.
pub fn run_benchmark(
    config: &BenchmarkConfig,
    say: &dyn Fn(&str),
) -> Result<BenchmarkReport, BenchmarkError> {
    let rows = read_split(&config.split)?;
    let (sequences, read_errors) = read_objects(config, &rows, say)?;
    let loaded: HashSet<&str> = sequences.iter().map(|s| s.key.id.as_str()).collect();
    let (mut notes, test_missing) = first_notes(&read_errors, &rows, &loaded);
    let counts = counts_of(&rows, &loaded);
    let objects = Objects::new(&sequences);

    // Source groups, and the shortcut audit on the training and validation objects only:
    // what it neutralises is chosen without a test object.
    let grouped_objects =
        crate::experiments::groups::grouped_objects(&config.data, &rows, &loaded)?;
    let fit_ids: HashSet<String> = labels_of(&rows, &["train", "val"]).into_keys().collect();
    let audit_objects: Vec<crate::experiments::groups::GroupedObject> = grouped_objects
        .iter()
        .filter(|o| fit_ids.contains(&o.object_id))
        .cloned()
        .collect();
    let audit = crate::experiments::shortcut::shortcut_audit(
        &audit_objects,
        &objects.by_id,
        &config.trees,
        say,
    )?;
    let tree_config = TreeConfig {
        neutralised: if config.keep_features {
            Vec::new()
        } else {
            audit.neutralised.clone()
        },
        ..config.trees.clone()
    };

    // The trees of the committed split: trained on its training and validation objects.
    let fit_labels = labels_of(&rows, &["train", "val"]);
    say(&format!(
        "training the trees on {} objects",
        objects.pick(&fit_labels).len()
    ));
    let trees = train_trees(&objects.pick(&fit_labels), &fit_labels, &tree_config)?;
    let model_path = config
        .save_model
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{DEFAULT_TREES_NAME}.stampseq")));
    let header = tree_model_header(&trees, DEFAULT_TREES_NAME);
    let tree_model = LoadedModel::from_trees(trees.clone(), header.clone(), &model_path);

    let test_labels = labels_of(&rows, &["test"]);
    let test_sequences = objects.owned(&test_labels);
    let mut scored = baselines(config, &rows, &trees, &tree_model, &test_sequences)?;
    let (others, stack_on) = other_models(config, &config.models, &sequences, say)?;
    scored.extend(others);

    let test_truth = truth_of(&rows, "test", &loaded);
    let multi = test_sequences.iter().filter(|s| s.alerts.len() > 1).count();

    let ablation = ablation(
        config,
        &rows,
        &loaded,
        &objects,
        &tree_config,
        &mut notes,
        say,
    )?;

    // The grouped validation first: it chooses the trees' weight in the fused default.
    let mut grouped = grouped_part(
        config,
        &grouped_objects,
        &objects,
        &tree_config,
        &scored,
        stack_on.as_ref(),
        say,
    )?;
    grouped.audit = Some(audit);
    let trees_weight = crate::experiments::default_fused::fused_trees_weight(
        &config.fuse_with,
        &grouped.fusion_weights,
    );
    // The fused model is written where it is scored from, outside the results folder.
    let scratch = std::env::temp_dir().join(format!("stampseq-benchmark-{}", std::process::id()));
    let fused_default = FusedDefault {
        trees: &trees,
        trees_weight,
        scratch: &scratch,
        grouped_objects: &grouped_objects,
        sequences: &sequences,
    };
    let fused_file = fused_default.score(config, &mut scored, &mut grouped, say)?;
    let trees_model = LoadedModel::from_trees(trees.clone(), header.clone(), &model_path);
    let files: Vec<PathBuf> = config.models.iter().cloned().chain(fused_file).collect();
    let external = crate::experiments::external::score_external(
        (
            &config.data,
            &loaded,
            &majority(&labels_of(&rows, &["train"])),
        ),
        (DEFAULT_TREES_NAME, trees_model),
        &files,
        &config.backend,
        say,
    )?;

    let repeats = Repeats {
        config,
        rows: &rows,
        loaded: &loaded,
        objects: &objects,
        tree_config: &tree_config,
        header: &header,
        model_path: &model_path,
    };
    let (rep_three, rep_five) = repeats.score(&scored, say)?;
    let models = model_reports(&scored, &test_truth, &rep_three, &rep_five, &mut notes);
    notes.extend(repeats_note(config.repeats));
    let report = BenchmarkReport {
        split: config.split.clone(),
        counts,
        test_objects_without_alerts: test_missing,
        multi_detection_test_objects: multi,
        repeats: config.repeats,
        models,
        simulation_ablation: ablation,
        grouped: Some(grouped),
        external,
        notes,
    };
    write_outputs(&report, &config.out)?;
    if let Some(path) = &config.save_model {
        let trained = (&trees, fit_labels.len(), &tree_config);
        save_default_model(config, path, header, trained, &report)?;
        say(&format!("wrote {}", path.display()));
    }
    crate::experiments::default_fused::save_and_clean(
        config.save_fused.as_deref(),
        &config.fuse_with,
        config.save_model.as_deref(),
        &scratch,
        trees_weight,
        say,
    )?;
    Ok(report)
}

fn repeats_note(repeats: usize) -> Option<String> {
    (repeats > 0).then(|| {
        format!(
            "Repeats: {repeats} fresh stratified splits of the same objects (seeds 1000..); the \
             trees and the majority answer are retrained on each; the bundled networks are not \
             retrained (too slow on this CPU) and are scored on each repeat's test part, which \
             never holds an object they were trained or selected on."
        )
    })
}

/// The fused default: the trees trained here with `--fuse-with` at the trees' weight the
/// grouped validation chose, scored beside the others in both tables.
struct FusedDefault<'a> {
    trees: &'a TreeEnsemble,
    trees_weight: f32,
    scratch: &'a Path,
    grouped_objects: &'a [crate::experiments::groups::GroupedObject],
    sequences: &'a [ObjectSequence],
}

impl FusedDefault<'_> {
    fn score(
        &self,
        config: &BenchmarkConfig,
        scored: &mut Vec<Scored>,
        grouped: &mut crate::experiments::grouped::GroupedReport,
        say: &dyn Fn(&str),
    ) -> Result<Option<PathBuf>, BenchmarkError> {
        let Some(file) = crate::experiments::default_fused::fused_model_file(
            &config.fuse_with,
            self.trees,
            self.scratch,
            self.trees_weight,
        )?
        else {
            return Ok(None);
        };
        let (fused, _) = other_models(config, std::slice::from_ref(&file), self.sequences, say)?;
        add_fixed_rows(config, self.grouped_objects, &fused, grouped)?;
        let at = scored.iter().take_while(|s| s.retrained).count();
        scored.splice(at..at, fused);
        Ok(Some(file))
    }
}

/// Rows for models scored after the grouped validation ran (the fused default, whose weight
/// it chose), before the first row of the models that were not retrained.
fn add_fixed_rows(
    config: &BenchmarkConfig,
    grouped_objects: &[crate::experiments::groups::GroupedObject],
    late: &[Scored],
    grouped: &mut crate::experiments::grouped::GroupedReport,
) -> Result<(), BenchmarkError> {
    let fixed: Vec<_> = late.iter().map(Scored::as_fixed).collect();
    let rows = crate::experiments::grouped::score_fixed(
        grouped_objects,
        &crate::experiments::groups::agn_subtypes(&config.data)?,
        &fixed,
    );
    let at = grouped
        .models
        .iter()
        .position(|m| !m.retrained)
        .unwrap_or(grouped.models.len());
    grouped.models.splice(at..at, rows);
    Ok(())
}

/// The simulated-data ablation when `--simulated` names a folder, its result also as a note.
fn ablation(
    config: &BenchmarkConfig,
    rows: &[SplitRow],
    loaded: &HashSet<&str>,
    objects: &Objects,
    tree_config: &TreeConfig,
    notes: &mut Vec<String>,
    say: &dyn Fn(&str),
) -> Result<Option<SimulationAblation>, BenchmarkError> {
    Ok(match &config.simulated {
        Some(dir) => {
            say(&format!("simulated-data ablation with {}", dir.display()));
            let train_labels = labels_of(rows, &["train"]);
            let val_labels = labels_of(rows, &["val"]);
            let val = objects.owned(&val_labels);
            let a = crate::experiments::ablation::simulation_ablation(
                dir,
                &objects.pick(&train_labels),
                &train_labels,
                &val,
                &truth_of(rows, "val", loaded),
                &config.backend,
                tree_config,
            )?;
            notes.push(format!(
                "Simulated-data ablation (five classes, {} real validation objects): trees on the real training objects {:.1} %, with {} simulated objects added {:.1} %; the default answer uses no simulated data.",
                a.validation_objects,
                100.0 * a.without_simulated,
                a.simulated_objects,
                100.0 * a.with_simulated
            ));
            Some(a)
        }
        None => None,
    })
}

/// The grouped-by-source validation of the benchmark's models: the trees (and the networks
/// of `--retrain-grouped`) retrained per fold, the other models scored where unseen.
fn grouped_part(
    config: &BenchmarkConfig,
    grouped_objects: &[crate::experiments::groups::GroupedObject],
    objects: &Objects,
    tree_config: &TreeConfig,
    scored: &[Scored],
    stack_on: Option<&NamedAnswers>,
    say: &dyn Fn(&str),
) -> Result<crate::experiments::grouped::GroupedReport, BenchmarkError> {
    let fixed = scored
        .iter()
        .filter(|s| !s.retrained)
        .map(Scored::as_fixed)
        .collect();
    let runs = config
        .retrain_runs
        .clone()
        .unwrap_or_else(|| config.out.join("grouped-runs"));
    let never = std::sync::atomic::AtomicBool::new(false);
    crate::experiments::grouped::grouped_validation(
        &crate::experiments::grouped::GroupedInput {
            objects: grouped_objects,
            by_id: &objects.by_id,
            trees: tree_config,
            backend: &config.backend,
            fixed,
            stack_on: stack_on.map(|(n, a)| (n.clone(), a)),
            audit_per_fold: config.audit_per_fold && !config.keep_features,
            agn_subtypes: &crate::experiments::groups::agn_subtypes(&config.data)?,
            networks: (!config.retrain_grouped.is_empty()).then(|| {
                crate::experiments::grouped::NetworkRetraining {
                    configs: &config.retrain_grouped,
                    data: crate::experiments::answers::labelled_alert_folders(&config.data),
                    labels: &config.split,
                    work: &runs,
                    iterations: config.retrain_iterations,
                    cancel: &never,
                    ensemble: crate::experiments::default_fused::ensemble_names(&config.fuse_with),
                }
            }),
        },
        say,
    )
}

/// The labelled objects under the data folder, and the files that could not be read.
fn read_objects(
    config: &BenchmarkConfig,
    rows: &[SplitRow],
    say: &dyn Fn(&str),
) -> Result<(Vec<ObjectSequence>, Vec<crate::alert::ReadError>), BenchmarkError> {
    let wanted: HashSet<&str> = rows.iter().map(|r| r.object_id.as_str()).collect();
    if labelled_alert_folders(&config.data).is_empty() {
        return Err(BenchmarkError::Invalid(format!(
            "{}: no ztf/labeled, ztf/sequences or ztf/extra folder",
            config.data.display()
        )));
    }
    say(&format!("reading alerts under {}", config.data.display()));
    Ok(read_labelled_objects(&config.data, &|id| {
        wanted.contains(id)
    }))
}

/// The report's first notes (what the labels are, unreadable files, test objects without
/// alerts) and the test objects without alerts.
fn first_notes(
    read_errors: &[crate::alert::ReadError],
    rows: &[SplitRow],
    loaded: &HashSet<&str>,
) -> (Vec<String>, Vec<String>) {
    let mut notes = vec![
        "Labels are weak: catalogue cross-matches (SIMBAD, VSX, GCVS, 4LAC, 3HSP), TNS and \
         ALeRCE lists, and for asteroids the alert's own ssdistnr < 5\" (a known solar-system \
         object predicted within 5\"); none is spectroscopic."
            .to_string(),
        "The asteroid labels come from ssdistnr, the very field the known-object rule reads: \
         the default answer's asteroid recall on them measures that rule, not learning; the \
         row `default-trees (no rules)` shows what the trees learn without it."
            .to_string(),
    ];
    if !read_errors.is_empty() {
        notes.push(format!(
            "{} alert files could not be read (first: {}).",
            read_errors.len(),
            read_errors[0]
        ));
    }
    let test_missing: Vec<String> = rows
        .iter()
        .filter(|r| r.part == "test" && !loaded.contains(r.object_id.as_str()))
        .map(|r| r.object_id.clone())
        .collect();
    if !test_missing.is_empty() {
        notes.push(format!(
            "{} test objects have no readable alert here and are left out: {}.",
            test_missing.len(),
            test_missing.join(", ")
        ));
    }
    (notes, test_missing)
}

/// Objects with alerts, by part of the split and label.
fn counts_of(
    rows: &[SplitRow],
    loaded: &HashSet<&str>,
) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| loaded.contains(r.object_id.as_str()))
    {
        *counts
            .entry(r.part.clone())
            .or_default()
            .entry(r.label.clone())
            .or_default() += 1;
    }
    counts
}

/// The loaded objects by id.
struct Objects<'a> {
    by_id: HashMap<&'a str, &'a ObjectSequence>,
}

impl<'a> Objects<'a> {
    fn new(sequences: &'a [ObjectSequence]) -> Self {
        Self {
            by_id: sequences.iter().map(|s| (s.key.id.as_str(), s)).collect(),
        }
    }

    /// The loaded objects among `labels`, by id.
    fn pick(&self, labels: &HashMap<String, String>) -> Vec<&'a ObjectSequence> {
        let mut v: Vec<&ObjectSequence> = labels
            .keys()
            .filter_map(|id| self.by_id.get(id.as_str()).copied())
            .collect();
        v.sort_by(|a, b| a.key.id.cmp(&b.key.id));
        v
    }

    /// [`Self::pick`], as the objects themselves: what a model classifies.
    fn owned(&self, labels: &HashMap<String, String>) -> Vec<ObjectSequence> {
        self.pick(labels).into_iter().cloned().collect()
    }
}

/// The models retrained in every repeat: the majority answer, the default trees with their
/// rules and without, on the committed split's test objects.
fn baselines(
    config: &BenchmarkConfig,
    rows: &[SplitRow],
    trees: &TreeEnsemble,
    tree_model: &LoadedModel,
    test_sequences: &[ObjectSequence],
) -> Result<Vec<Scored>, BenchmarkError> {
    let test_refs: Vec<&ObjectSequence> = test_sequences.iter().collect();
    let train_majority = majority(&labels_of(rows, &["train"]));
    Ok(vec![
        Scored {
            name: format!("majority ({train_majority})"),
            description: "always the most common class of the training part".into(),
            answers: Answers::constant(&train_majority, &test_refs),
            retrained: true,
            seen: HashSet::new(),
        },
        Scored {
            name: DEFAULT_TREES_NAME.into(),
            description: "the default answer: gradient-boosted trees on metadata and history, no stamps, with the physics rules".into(),
            answers: classify_all(tree_model, test_sequences, &config.backend)?,
            retrained: true,
            seen: HashSet::new(),
        },
        Scored {
            name: format!("{DEFAULT_TREES_NAME} (no rules)"),
            description: "the same trees without the physics rules (no bogus class)".into(),
            answers: bare_tree_answers(trees, &test_refs),
            retrained: true,
            seen: HashSet::new(),
        },
    ])
}

/// A model's name and its answers.
type NamedAnswers = (String, Answers);

/// Every model file of the configuration, run once on every labelled object (the repeats
/// score subsets); and the raw answers of the first ALeRCE model, for the fused model.
fn other_models(
    config: &BenchmarkConfig,
    models: &[PathBuf],
    sequences: &[ObjectSequence],
    say: &dyn Fn(&str),
) -> Result<(Vec<Scored>, Option<NamedAnswers>), BenchmarkError> {
    let mut scored = Vec::new();
    let mut stack_on: Option<NamedAnswers> = None;
    for path in models {
        say(&format!("running {}", path.display()));
        let model = LoadedModel::load_for(path, &config.backend)?;
        // ALeRCE's classifier trained on none of these objects: its raw answers may feed
        // the fused model of the grouped validation without leaking a label.
        if model.header.kind == crate::model::file::ModelKind::Alerce && stack_on.is_none() {
            let raw = ClassifyOptions {
                max_detections: MAX_DETECTIONS,
                look_ahead_for_stationary: false,
                rules: false,
                ..Default::default()
            };
            let out = model.classify(
                sequences,
                &raw,
                &config.backend.device,
                &AtomicBool::new(false),
                &|_, _| {},
            )?;
            stack_on = Some((
                model.name().to_string(),
                Answers::from_rows(model.classes(), &out.rows),
            ));
        }
        scored.push(Scored {
            name: model.name().to_string(),
            description: format!(
                "{} model ({})",
                model.header.kind, model.header.provenance.source
            ),
            answers: classify_all(&model, sequences, &config.backend)?,
            retrained: false,
            seen: seen_objects(path),
        });
    }
    Ok((scored, stack_on))
}

/// Each model's scores, one per repeat: on three classes, and on five.
type RepeatScores = (Vec<Vec<TaskScore>>, Vec<Vec<TaskScore>>);

/// Repeats: fresh stratified splits of the same objects (the forced ones kept in
/// training), the trees retrained on each; other models scored on each test part.
struct Repeats<'a> {
    config: &'a BenchmarkConfig,
    rows: &'a [SplitRow],
    loaded: &'a HashSet<&'a str>,
    objects: &'a Objects<'a>,
    tree_config: &'a TreeConfig,
    header: &'a crate::model::file::ModelHeader,
    model_path: &'a Path,
}

impl Repeats<'_> {
    /// Each model's three- and five-class scores, one per repeat.
    fn score(&self, scored: &[Scored], say: &dyn Fn(&str)) -> Result<RepeatScores, BenchmarkError> {
        let config = self.config;
        let objects: Vec<LabelledObject> = self
            .rows
            .iter()
            .filter(|r| self.loaded.contains(r.object_id.as_str()))
            .map(|r| LabelledObject {
                object_id: r.object_id.clone(),
                label: r.label.clone(),
                source: r.source.clone(),
                licence: r.licence.clone(),
            })
            .collect();
        let mut rep_three: Vec<Vec<TaskScore>> = vec![Vec::new(); scored.len()];
        let mut rep_five: Vec<Vec<TaskScore>> = vec![Vec::new(); scored.len()];
        for r in 0..config.repeats {
            say(&format!("repeat {} of {}", r + 1, config.repeats));
            let split = draw_split(&objects, &config.forced_train, 1000 + r as u64);
            let fit = labels_of(&split, &["train", "val"]);
            let truth = truth_of(&split, "test", self.loaded);
            let test_ids: HashMap<String, String> = labels_of(&split, &["test"]);
            let test_seqs = self.objects.owned(&test_ids);
            let test_refs: Vec<&ObjectSequence> = test_seqs.iter().collect();
            let repeat_config = TreeConfig {
                seed: config.trees.seed + 1 + r as u64,
                ..self.tree_config.clone()
            };
            let trees_r = train_trees(&self.objects.pick(&fit), &fit, &repeat_config)?;
            let model_r =
                LoadedModel::from_trees(trees_r.clone(), self.header.clone(), self.model_path);
            let maj = majority(&labels_of(&split, &["train"]));
            for (i, s) in scored.iter().enumerate() {
                let answers = if !s.retrained {
                    s.answers.clone()
                } else if i == 0 {
                    Answers::constant(&maj, &test_refs)
                } else if i == 1 {
                    classify_all(&model_r, &test_seqs, &config.backend)?
                } else {
                    bare_tree_answers(&trees_r, &test_refs)
                };
                let truth = unseen(&truth, &s.seen);
                if let Some(t) = score(&answers, &truth, &THREE_CLASSES, None, r as u64) {
                    rep_three[i].push(t);
                }
                if let Some(t) = score(&answers, &truth, &FIVE_CLASSES, None, r as u64) {
                    rep_five[i].push(t);
                }
            }
        }
        Ok((rep_three, rep_five))
    }
}

/// Each model's report on the committed split's test objects it has not seen, with its
/// repeats; notes say what each left out.
fn model_reports(
    scored: &[Scored],
    test_truth: &[(String, String)],
    rep_three: &[Vec<TaskScore>],
    rep_five: &[Vec<TaskScore>],
    notes: &mut Vec<String>,
) -> Vec<ModelReport> {
    let mut models = Vec::new();
    for (i, s) in scored.iter().enumerate() {
        let all = test_truth.len();
        let test_truth = unseen(test_truth, &s.seen);
        let kept = test_truth.len();
        let test_truth = &test_truth;
        if kept < all {
            notes.push(format!(
                "{}: scored on {kept} of the {all} test objects; the split beside its file lists the others among its training or validation objects.",
                s.name
            ));
        }
        let unanswered = test_truth
            .iter()
            .filter(|(id, _)| !s.answers.by_object.contains_key(id))
            .count();
        models.push(ModelReport {
            model: s.name.clone(),
            description: s.description.clone(),
            classes: s.answers.classes.clone(),
            three_classes: score(&s.answers, test_truth, &THREE_CLASSES, None, 7),
            five_classes: score(&s.answers, test_truth, &FIVE_CLASSES, None, 7),
            per_n_five: per_n(&s.answers, test_truth, &FIVE_CLASSES),
            per_n_three: per_n(&s.answers, test_truth, &THREE_CLASSES),
            repeated_three: repeated(&rep_three[i]),
            repeated_five: repeated(&rep_five[i]),
            unanswered,
        });
        if unanswered > 0 {
            notes.push(format!(
                "{}: no answer for {unanswered} test objects (left out of its scores).",
                s.name
            ));
        }
    }
    models
}

/// Writes the default trees of the committed split to `path`, with where they came from
/// and their scores in the header. `trained` is the trees, how many objects they were fitted
/// on and their configuration.
fn save_default_model(
    config: &BenchmarkConfig,
    path: &Path,
    mut header: crate::model::file::ModelHeader,
    (trees, objects, tree_config): (&TreeEnsemble, usize, &TreeConfig),
    report: &BenchmarkReport,
) -> Result<(), BenchmarkError> {
    header.provenance.source = "trained by stampseq benchmark on licence-permitted real \
                                labelled ZTF alerts (MIT, Apache-2.0, BSD-3-Clause)"
        .into();
    header.provenance.training = Some(serde_json::json!({
        "split": config.split,
        "parts": ["train", "val"],
        "objects": objects,
        "config": tree_config,
    }));
    header.provenance.metrics = report
        .models
        .iter()
        .find(|m| m.model == DEFAULT_TREES_NAME)
        .map(|m| {
            let g = report
                .grouped
                .as_ref()
                .and_then(|g| g.models.iter().find(|g| g.model == DEFAULT_TREES_NAME));
            serde_json::json!({
                "test_balanced_accuracy_five": m.five_classes.as_ref().map(|t| t.metrics.balanced_accuracy),
                "test_balanced_accuracy_three": m.three_classes.as_ref().map(|t| t.metrics.balanced_accuracy),
                "grouped_by_source_balanced_accuracy_five": g.and_then(|g| g.five_classes.as_ref()).map(|t| t.metrics.balanced_accuracy),
                "grouped_by_source_balanced_accuracy_three": g.and_then(|g| g.three_classes.as_ref()).map(|t| t.metrics.balanced_accuracy),
            })
        });
    Ok(write_tree_model(trees, &header, path)?)
}
