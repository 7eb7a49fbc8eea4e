//! Fine-tuning the default tree model on the astronomer's own labels: retrain it on the
//! bundled training objects plus the vetted ones (weighted), keep a validation part of the
//! user's labels, and write the new model beside the old one, never over it, with a report
//! of what it bought: before and after on every one of the user's labels, each judged by
//! trees that did not train on it (k-fold), with standard errors, and the answers that
//! changed.

use crate::classify::{ClassifyOptions, LoadedModel};
use crate::experiments::benchmark::{score, tree_rows_for, Answers, FIVE_CLASSES, REAL_CLASSES};
use crate::features::sets::FeatureSet;
use crate::model::file::ModelKind;
use crate::model::trees::{tree_model_header, write_tree_model, TreeConfig, TreeEnsemble};
use crate::sequence::neutral::{AlertObject, ObjectSequence};
use crate::time::{jd_to_calendar, unix_seconds_to_jd};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

#[derive(Debug, thiserror::Error)]
pub enum FinetuneError {
    #[error("{0}: only tree models, and fused models holding one (like the default answer), can be fine-tuned here; networks train with `stampseq train`")]
    NotTrees(PathBuf),
    #[error("no usable labels: {0}")]
    NoLabels(String),
    #[error(transparent)]
    ModelFile(#[from] crate::model::file::ModelFileError),
    #[error(transparent)]
    Classify(#[from] crate::model::ModelError),
    #[error(transparent)]
    Trees(#[from] crate::model::trees::TreeError),
}

#[derive(Debug, Clone)]
pub struct FinetuneConfig {
    /// Each user-labelled object counts this many times against one bundled one.
    pub user_weight: usize,
    /// Folds of the user's labels for judging the fine-tune: each label is scored by trees
    /// trained on the other folds (stratified by class); the written model trains on all.
    pub folds: usize,
    pub seed: u64,
    pub trees: TreeConfig,
}

impl Default for FinetuneConfig {
    fn default() -> Self {
        Self {
            user_weight: 3,
            folds: 5,
            seed: 1,
            trees: TreeConfig::default(),
        }
    }
}

/// Before and after on the user's labels: the base model (which never trained on them) and
/// the fine-tune judged out of fold.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub objects: usize,
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    /// Bootstrap standard error of the balanced accuracy over the objects.
    pub balanced_accuracy_se: f64,
    pub confusion: Vec<Vec<u64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FinetuneReport {
    pub base_model: PathBuf,
    pub new_model: PathBuf,
    pub user_labels_used: usize,
    pub user_labels_skipped: BTreeMap<String, usize>,
    pub user_train_objects: usize,
    /// The user's labels judged out of fold: all of them.
    pub user_validation_objects: Vec<String>,
    /// Folds the judging used (each label scored by trees that did not train on it).
    pub folds: usize,
    /// A fused base's trees' weight, before (the base's) and after: the weight whose
    /// out-of-fold answers scored best on the user's labels.
    pub trees_weight: Option<(f32, f32)>,
    /// The trees' weights tried out of fold and the balanced accuracy each gave.
    pub trees_weights_tried: Vec<(f32, f64)>,
    pub bundled_objects: usize,
    pub before: Option<Comparison>,
    pub after: Option<Comparison>,
    /// Loaded objects whose answer after their last detection changed.
    pub answers_changed: usize,
    pub objects_answered: usize,
    pub seconds: f64,
}

/// `DIR/NAME.ft-YYYYMMDD-HHMM.stampseq` beside `base`, with `-2`, `-3`... if taken: a new
/// model never replaces a file.
pub fn finetuned_path(base: &Path, unix_seconds: f64) -> PathBuf {
    let when = jd_to_calendar(unix_seconds_to_jd(unix_seconds));
    let stamp: String = when
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(12)
        .collect();
    let (date, time) = stamp.split_at(stamp.len().min(8));
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let dir = base.parent().unwrap_or(Path::new("."));
    let mut path = dir.join(format!("{stem}.ft-{date}-{time}.stampseq"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}.ft-{date}-{time}-{n}.stampseq"));
        n += 1;
    }
    path
}

fn compare<O: AlertObject>(
    model: &LoadedModel,
    sequences: &[O],
    truth: &[(String, String)],
) -> Result<(Option<Comparison>, Answers), FinetuneError> {
    let device = burn::tensor::Device::flex();
    let options = ClassifyOptions::default();
    let out = model.classify(
        sequences,
        &options,
        &device,
        &AtomicBool::new(false),
        &|_, _| {},
    )?;
    let answers = Answers::from_rows(model.classes(), &out.rows);
    let comparison = score(&answers, truth, &FIVE_CLASSES, None, 1).map(|s| Comparison {
        objects: s.objects,
        accuracy: s.metrics.accuracy,
        balanced_accuracy: s.metrics.balanced_accuracy,
        balanced_accuracy_se: s.balanced_accuracy_se,
        confusion: s.metrics.confusion.counts,
    });
    Ok((comparison, answers))
}

fn last_top(answers: &Answers, id: &str) -> Option<usize> {
    answers
        .by_object
        .get(id)
        .and_then(|steps| steps.last())
        .and_then(|p| crate::model::probs::argmax(p))
}

/// Fine-tunes the tree model at `base` on `user_labels` of the `loaded` objects (of any
/// survey the model reads: LSST objects make the neutral model an LSST one), with the
/// `bundled` objects and their labels as the rest of the training data; writes the new model
/// beside `base` and returns the report. `say` gets progress lines.
pub fn finetune<O: AlertObject>(
    base: &Path,
    loaded: &[O],
    user_labels: &BTreeMap<String, String>,
    bundled: &[&ObjectSequence],
    bundled_labels: &HashMap<String, String>,
    config: &FinetuneConfig,
    say: &dyn Fn(&str),
) -> Result<FinetuneReport, FinetuneError> {
    let started = std::time::Instant::now();
    let base_model = Base::load(base)?;
    let old = &base_model.whole;
    let set = base_model.trees().feature_set();
    let by_id: HashMap<&str, &O> = loaded.iter().map(|s| (s.name(), s)).collect();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut usable: Vec<(&O, &String)> = Vec::new();
    for (id, label) in user_labels {
        match by_id.get(id.as_str()) {
            Some(s) if !s.survey().is_some_and(|v| old.reads(v)) => {
                *skipped
                    .entry(format!("{} does not read its survey's alerts", old.name()))
                    .or_default() += 1
            }
            Some(s) if REAL_CLASSES.contains(&label.as_str()) => usable.push((*s, label)),
            Some(_) => *skipped.entry(format!("label {label}")).or_default() += 1,
            None => *skipped.entry("object not loaded".into()).or_default() += 1,
        }
    }
    if usable.is_empty() {
        return Err(FinetuneError::NoLabels(format!(
            "none of the {} labels is AGN, SN, VS or asteroid on a loaded object",
            user_labels.len()
        )));
    }
    say(&format!(
        "{} of your labels, judged in {} folds; {} bundled objects",
        usable.len(),
        config.folds.min(usable.len()),
        bundled.len()
    ));
    let classes: Vec<String> = REAL_CLASSES.iter().map(|c| c.to_string()).collect();
    let keep_bundled: Vec<&ObjectSequence> = bundled
        .iter()
        .copied()
        .filter(|s| !user_labels.contains_key(&s.key.id))
        .collect();
    let bundled_index: HashMap<String, usize> = bundled_labels
        .iter()
        .filter_map(|(id, l)| classes.iter().position(|c| c == l).map(|i| (id.clone(), i)))
        .collect();
    let fit = Fit {
        bundled_rows: tree_rows_for(&keep_bundled, &bundled_index, set),
        set,
        classes: &classes,
        config,
    };
    let truth: Vec<(String, String)> = usable
        .iter()
        .map(|(s, l)| (s.name().to_string(), l.to_string()))
        .collect();
    let all_labelled: Vec<&O> = usable.iter().map(|(s, _)| *s).collect();
    let (before, _) = compare(old, &all_labelled, &truth)?;
    let judged = out_of_fold(&fit, &usable, &base_model, &truth, say)?;
    let after = judged.chosen.clone();

    let trees = fit.trees(&usable, &|m, n| say(&format!("member {m} of {n}")))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let new_path = finetuned_path(base, now);
    let name = new_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut header = finetuned_header(&trees, &name, base_model.trees(), set, &all_labelled);
    header.provenance.source = format!(
        "fine-tuned by stampseq from {} on {} of the user's labels",
        base.display(),
        usable.len()
    );
    let new_model = base_model.with_trees(
        LoadedModel::from_trees(trees.clone(), header.clone(), &new_path),
        &name,
        judged.trees_weight,
        &new_path,
    )?;
    let (_, old_all) = compare(old, loaded, &[])?;
    let (_, new_all) = compare(&new_model, loaded, &[])?;
    let answers_changed = loaded
        .iter()
        .filter(|s| last_top(&old_all, s.name()) != last_top(&new_all, s.name()))
        .count();
    header.provenance.training = Some(serde_json::json!({
        "base_model": base,
        "user_labels": usable.len(),
        "judged_in_folds": config.folds.min(usable.len()),
        "user_weight": config.user_weight,
        "bundled_objects": keep_bundled.len(),
    }));
    header.provenance.metrics = Some(serde_json::json!({ "before": before, "after": after }));
    base_model.write(&trees, &header, &name, judged.trees_weight, &new_path)?;
    Ok(FinetuneReport {
        base_model: base.into(),
        new_model: new_path,
        user_labels_used: usable.len(),
        user_labels_skipped: skipped,
        user_train_objects: usable.len(),
        user_validation_objects: truth.into_iter().map(|(id, _)| id).collect(),
        folds: config.folds.min(usable.len()),
        trees_weight: (!base_model.others.is_empty())
            .then(|| (base_model.trees_weight(), judged.trees_weight)),
        trees_weights_tried: judged.tried,
        bundled_objects: keep_bundled.len(),
        before,
        after,
        answers_changed,
        objects_answered: loaded.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The base model as the fine-tune sees it: its trees, which are retrained, and for a
/// fused base (the default answer: trees + a network) the other members, kept as they are
/// and fused again with the new trees, so that the new model answers as the base did with
/// only the trees changed.
struct Base {
    /// The base as it answers: what "before" is.
    whole: LoadedModel,
    /// A fused base's trees member (a tree base is its own: see [`Base::trees`]).
    trees_member: Option<LoadedModel>,
    /// The other members of a fused base: (name, model file bytes).
    others: Vec<(String, Vec<u8>)>,
    /// A weighted fused base's weights, the trees' first, then the others' in order: the
    /// new model keeps them.
    weights: Option<Vec<f32>>,
    path: PathBuf,
}

impl Base {
    fn load(path: &Path) -> Result<Self, FinetuneError> {
        let device = burn::tensor::Device::flex();
        let whole = LoadedModel::load(path, &device)?;
        match whole.header.kind {
            ModelKind::Trees => Ok(Self {
                whole,
                trees_member: None,
                others: Vec::new(),
                weights: None,
                path: path.into(),
            }),
            ModelKind::Fused => {
                let bytes = std::fs::read(path).map_err(|source| {
                    crate::model::file::ModelFileError::Io {
                        path: path.into(),
                        source,
                    }
                })?;
                let members = crate::model::fused::read_fused_members(&bytes, &whole.header, path)?;
                let names = crate::model::fused::member_names(&whole.header);
                let member_weights = crate::model::fused::member_weights(&whole.header, path)?;
                let mut trees = None;
                let (mut trees_weight, mut other_weights) = (0.0, Vec::new());
                let mut others = Vec::new();
                for (i, m) in members.into_iter().enumerate() {
                    let kind = crate::model::file::header_from_bytes(&m, path)?.kind;
                    let name = names.get(i).cloned().unwrap_or_default();
                    let weight = member_weights.get(i).copied().unwrap_or(0.0);
                    if kind == ModelKind::Trees && trees.is_none() {
                        trees = Some(LoadedModel::from_bytes(m, path, &device)?);
                        trees_weight = weight;
                    } else {
                        others.push((name, m));
                        other_weights.push(weight);
                    }
                }
                let trees = trees.ok_or_else(|| FinetuneError::NotTrees(path.into()))?;
                let weights = whole
                    .header
                    .architecture
                    .get("weights")
                    .map(|_| std::iter::once(trees_weight).chain(other_weights).collect());
                Ok(Self {
                    whole,
                    trees_member: Some(trees),
                    others,
                    weights,
                    path: path.into(),
                })
            }
            _ => Err(FinetuneError::NotTrees(path.into())),
        }
    }

    /// The tree model: the base itself, or its trees member.
    fn trees(&self) -> &LoadedModel {
        self.trees_member.as_ref().unwrap_or(&self.whole)
    }

    /// The trees' weight in the base's answer (1 for a tree base, 1/M for a plain mean).
    fn trees_weight(&self) -> f32 {
        match &self.weights {
            Some(w) => w.first().copied().unwrap_or(1.0),
            None => 1.0 / (1 + self.others.len()) as f32,
        }
    }

    /// The trees' weights a fine-tune tries: the base's first (it wins a tie), then those
    /// the benchmark tries; a tree base has only its own.
    fn candidate_trees_weights(&self) -> Vec<f32> {
        let mut tried = vec![self.trees_weight()];
        if !self.others.is_empty() {
            for w in crate::experiments::fusion_weight::TREES_WEIGHTS {
                if !tried.iter().any(|t| (t - w).abs() < 1e-6) {
                    tried.push(w);
                }
            }
        }
        tried
    }

    /// [`Self::weights_at`], the plain mean written out.
    fn member_weights_at(&self, trees_weight: f32) -> Vec<f32> {
        self.weights_at(trees_weight)
            .unwrap_or_else(|| vec![1.0 / (1 + self.others.len()) as f32; 1 + self.others.len()])
    }

    /// The members' weights with the trees at `trees_weight` and the other members sharing
    /// the rest as they shared the base's; None where that is the base's plain mean.
    fn weights_at(&self, trees_weight: f32) -> Option<Vec<f32>> {
        if self.weights.is_none() && (trees_weight - self.trees_weight()).abs() < 1e-6 {
            return None;
        }
        let others: Vec<f32> = match &self.weights {
            Some(w) => w.iter().skip(1).copied().collect(),
            None => vec![1.0; self.others.len()],
        };
        let sum: f32 = others.iter().sum();
        let n = others.len().max(1) as f32;
        Some(
            std::iter::once(trees_weight)
                .chain(others.iter().map(|w| {
                    let share = if sum > 0.0 { w / sum } else { 1.0 / n };
                    (1.0 - trees_weight) * share
                }))
                .collect(),
        )
    }

    /// `trees` in the base's place: fused with the base's other members where it has any,
    /// the trees weighing `trees_weight`.
    fn with_trees(
        &self,
        trees: LoadedModel,
        name: &str,
        trees_weight: f32,
        path: &Path,
    ) -> Result<LoadedModel, FinetuneError> {
        if self.others.is_empty() {
            return Ok(trees);
        }
        let device = burn::tensor::Device::flex();
        let mut members = vec![trees];
        for (member_name, bytes) in &self.others {
            let member_path = PathBuf::from(format!("{}#{member_name}", self.path.display()));
            members.push(LoadedModel::from_bytes(
                bytes.clone(),
                &member_path,
                &device,
            )?);
        }
        Ok(LoadedModel::fuse(
            members,
            name,
            self.weights_at(trees_weight).as_deref(),
            path,
        )?)
    }

    /// Writes the new model: the trees alone, or fused with the base's other members, the
    /// trees weighing `trees_weight`.
    fn write(
        &self,
        trees: &TreeEnsemble,
        header: &crate::model::file::ModelHeader,
        name: &str,
        trees_weight: f32,
        path: &Path,
    ) -> Result<(), FinetuneError> {
        if self.others.is_empty() {
            return Ok(write_tree_model(trees, header, path)?);
        }
        let mut bytes = vec![crate::model::trees::tree_model_bytes(trees, header, path)?];
        let mut headers = vec![header.clone()];
        let mut names = vec![format!("{name}-trees")];
        for (member_name, b) in &self.others {
            headers.push(crate::model::file::header_from_bytes(b, &self.path)?);
            bytes.push(b.clone());
            names.push(member_name.clone());
        }
        let mut fused = crate::model::fused::fused_header(name, &headers, &names, path)?;
        if let Some(w) = self.weights_at(trees_weight) {
            crate::model::fused::set_weights(&mut fused, &w, path)?;
        }
        fused.provenance.training = header.provenance.training.clone();
        fused.provenance.metrics = header.provenance.metrics.clone();
        fused.provenance.source = format!(
            "{}; fused with {} of {}",
            header.provenance.source,
            names[1..].join(" and "),
            self.path.display()
        );
        Ok(crate::model::fused::write_fused_model(
            &fused, &bytes, path,
        )?)
    }
}

/// What every fit of a fine-tune shares: the bundled objects' rows, the feature set, the
/// classes and the configuration.
struct Fit<'a> {
    bundled_rows: (Vec<Vec<f32>>, Vec<usize>),
    set: FeatureSet,
    classes: &'a [String],
    config: &'a FinetuneConfig,
}

impl Fit<'_> {
    /// Trees on the bundled rows and the user's `labelled` objects, each of the user's rows
    /// repeated `user_weight` times.
    fn trees<O: AlertObject>(
        &self,
        labelled: &[(&O, &String)],
        progress: &dyn Fn(usize, usize),
    ) -> Result<TreeEnsemble, FinetuneError> {
        let index: HashMap<String, usize> = labelled
            .iter()
            .filter_map(|(s, l)| {
                self.classes
                    .iter()
                    .position(|c| c == *l)
                    .map(|i| (s.name().to_string(), i))
            })
            .collect();
        let objects: Vec<&O> = labelled.iter().map(|(s, _)| *s).collect();
        let (user_rows, user_ys) = tree_rows_for(&objects, &index, self.set);
        let (mut rows, mut ys) = self.bundled_rows.clone();
        for _ in 0..self.config.user_weight.max(1) {
            rows.extend(user_rows.iter().cloned());
            ys.extend(user_ys.iter().copied());
        }
        let features: Vec<String> = self
            .set
            .tree_features()
            .iter()
            .map(|s| s.to_string())
            .collect();
        Ok(TreeEnsemble::fit(
            &rows,
            &ys,
            self.classes,
            &features,
            &self.config.trees,
            progress,
        )?)
    }
}

/// The fine-tune judged out of fold: the score of the chosen trees' weight, the weight,
/// and every weight tried with its balanced accuracy.
struct Judged {
    chosen: Option<Comparison>,
    trees_weight: f32,
    tried: Vec<(f32, f64)>,
}

/// The fine-tune judged on every one of the user's labels: stratified folds, each scored by
/// trees trained on the bundled objects and the other folds. A fused base is judged at each
/// trees' weight tried, and the best is chosen (its score is then optimistic by that
/// choice, and the report says so). Nothing judged with fewer than two labels.
fn out_of_fold<O: AlertObject>(
    fit: &Fit,
    usable: &[(&O, &String)],
    base: &Base,
    truth: &[(String, String)],
    say: &dyn Fn(&str),
) -> Result<Judged, FinetuneError> {
    let k = fit.config.folds.min(usable.len());
    let weights = base.candidate_trees_weights();
    let mut judged = Judged {
        chosen: None,
        trees_weight: base.trees_weight(),
        tried: Vec::new(),
    };
    if k < 2 {
        return Ok(judged);
    }
    let fold_of = stratified_folds(usable, k, fit.config.seed);
    let mut pooled: Vec<Answers> = vec![Answers::default(); weights.len()];
    for f in 0..k {
        say(&format!("judging: fold {} of {k}", f + 1));
        let (test, train): (Vec<_>, Vec<_>) = usable
            .iter()
            .copied()
            .partition(|(s, _)| fold_of.get(s.name()) == Some(&f));
        let trees = fit.trees(&train, &|_, _| {})?;
        let train_objects: Vec<&O> = train.iter().map(|(s, _)| *s).collect();
        let header = finetuned_header(&trees, "fold", base.trees(), fit.set, &train_objects);
        let path = Path::new("fold.stampseq");
        let test_objects: Vec<&O> = test.iter().map(|(s, _)| *s).collect();
        let member = LoadedModel::from_trees(trees, header, path);
        let model = base.with_trees(member, "fold", base.trees_weight(), path)?;
        // The members run once; their answers are combined at every weight tried.
        let sets: Vec<Vec<f32>> = weights.iter().map(|w| base.member_weights_at(*w)).collect();
        let never = AtomicBool::new(false);
        let options = ClassifyOptions::default();
        let answers: Vec<Answers> =
            match model.classify_at_weights(&test_objects, &options, &sets, &never)? {
                Some(outs) => outs
                    .iter()
                    .map(|out| Answers::from_rows(model.classes(), &out.rows))
                    .collect(),
                None => vec![compare(&model, &test_objects, &[])?.1],
            };
        for (answers, pooled) in answers.into_iter().zip(pooled.iter_mut()) {
            pooled.classes = answers.classes;
            pooled.by_object.extend(answers.by_object);
        }
    }
    for (w, pooled) in weights.iter().zip(&pooled) {
        let Some(s) = score(pooled, truth, &FIVE_CLASSES, None, 1) else {
            continue;
        };
        let ba = s.metrics.balanced_accuracy;
        judged.tried.push((*w, ba));
        if judged
            .chosen
            .as_ref()
            .is_none_or(|c| ba > c.balanced_accuracy)
        {
            judged.trees_weight = *w;
            judged.chosen = Some(Comparison {
                objects: s.objects,
                accuracy: s.metrics.accuracy,
                balanced_accuracy: ba,
                balanced_accuracy_se: s.balanced_accuracy_se,
                confusion: s.metrics.confusion.counts,
            });
        }
    }
    Ok(judged)
}

/// Each usable label's fold: the labels of each class dealt round the `k` folds in a
/// seeded random order.
fn stratified_folds<'a, O: AlertObject>(
    usable: &[(&'a O, &String)],
    k: usize,
    seed: u64,
) -> HashMap<&'a str, usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut fold_of: HashMap<&str, usize> = HashMap::new();
    let mut next = 0;
    for class in REAL_CLASSES {
        let mut members: Vec<&'a str> = usable
            .iter()
            .filter(|(_, l)| l.as_str() == class)
            .map(|&(s, _)| s.name())
            .collect();
        members.shuffle(&mut rng);
        for id in members {
            fold_of.insert(id, next % k);
            next += 1;
        }
    }
    fold_of
}

/// The new model's header: the base model's kind of header for its feature set. A model of
/// survey-neutral features fine-tuned on labelled objects of one survey (LSST objects
/// vetted in the app) is recorded as trained on that survey: its answers there are no
/// longer transferred.
fn finetuned_header<O: AlertObject>(
    trees: &TreeEnsemble,
    name: &str,
    old: &LoadedModel,
    set: FeatureSet,
    user_objects: &[&O],
) -> crate::model::file::ModelHeader {
    match set {
        FeatureSet::Neutral => {
            let mut header = crate::model::trees::neutral_tree_model_header(trees, name);
            let surveys: std::collections::BTreeSet<_> =
                user_objects.iter().filter_map(|o| o.survey()).collect();
            if let (1, Some(&survey)) = (surveys.len(), surveys.iter().next()) {
                header.trained_on.survey = survey;
            }
            header
        }
        FeatureSet::LsstDiaSource => {
            crate::model::trees::tree_model_header_for(trees, name, old.header.trained_on.survey)
        }
        FeatureSet::ZtfCandidate => tree_model_header(trees, name),
    }
}

/// The report as Markdown, written beside the new model.
pub fn render_report(r: &FinetuneReport) -> String {
    let line = |c: &Option<Comparison>| match c {
        Some(c) => format!(
            "{:.1} ± {:.1} % balanced accuracy, {:.1} % accuracy on {} objects",
            100.0 * c.balanced_accuracy,
            100.0 * c.balanced_accuracy_se,
            100.0 * c.accuracy,
            c.objects
        ),
        None => "too few labels to judge (two or more are needed)".into(),
    };
    let mut s = format!(
        "# {}\n\nFine-tuned from `{}` on {} of your labels, with {} bundled objects; {:.1} s. \
         Judged on all {} of your labels, each scored by trees that did not train on it \
         ({} folds, stratified by class); labels are yours, as you vetted them.\n\n",
        r.new_model.display(),
        r.base_model.display(),
        r.user_train_objects,
        r.bundled_objects,
        r.seconds,
        r.user_validation_objects.len(),
        r.folds
    );
    s.push_str(&format!(
        "- before: {} (the base model, which never trained on your labels)\n",
        line(&r.before)
    ));
    s.push_str(&format!("- after: {} (out of fold)\n", line(&r.after)));
    if let Some((before, after)) = r.trees_weight {
        let tried: Vec<String> = r
            .trees_weights_tried
            .iter()
            .map(|(w, ba)| format!("{w:.2}: {:.1} %", 100.0 * ba))
            .collect();
        s.push_str(&format!(
            "- the trees' weight in the fused answer: {before:.2} before, {after:.2} after, the \
             best out of fold of those tried ({}); \"after\" is optimistic by that choice\n",
            tried.join(", ")
        ));
    }
    s.push_str(&format!(
        "- answers that changed (last detection): {} of {} objects\n",
        r.answers_changed, r.objects_answered
    ));
    for (why, n) in &r.user_labels_skipped {
        s.push_str(&format!("- skipped {n} labels: {why}\n"));
    }
    if let Some(c) = &r.after {
        s.push_str("\nConfusion after (rows true, columns AGN SN VS asteroid bogus):\n\n");
        for (class, row) in FIVE_CLASSES.iter().zip(&c.confusion) {
            s.push_str(&format!("    {class:<9} {row:?}\n"));
        }
    }
    s
}

/// The bundled training data for a fine-tune started from the app: the benchmark split's
/// training and validation objects, read from the shared data folder (`$STAMPSEQ_DATA`,
/// else `../shared/data` beside the checkout this was built from, if it is still there). Empty when either is missing: the fine-tune
/// then learns from the user's labels alone.
pub fn bundled_training_data() -> (Vec<ObjectSequence>, HashMap<String, String>) {
    let Some(split) = crate::assets::bundled_split() else {
        return (Vec::new(), HashMap::new());
    };
    let data = shared_data().unwrap_or_default();
    let Ok(rows) = crate::experiments::benchmark::read_split(&split) else {
        return (Vec::new(), HashMap::new());
    };
    let fit: HashMap<String, String> = rows
        .into_iter()
        .filter(|r| r.part != "test")
        .map(|r| (r.object_id, r.label))
        .collect();
    if crate::experiments::answers::labelled_alert_folders(&data).is_empty() {
        return (Vec::new(), HashMap::new());
    }
    let (sequences, _) =
        crate::experiments::answers::read_labelled_objects(&data, &|id| fit.contains_key(id));
    (sequences, fit)
}

/// Where the labelled alerts of the bundled split are read: `$STAMPSEQ_DATA`, else
/// [`checkout_shared_data`].
pub fn shared_data() -> Option<PathBuf> {
    std::env::var_os("STAMPSEQ_DATA")
        .map(PathBuf::from)
        .or_else(checkout_shared_data)
}

/// `../shared/data` beside the checkout this binary was built from, while it exists: the
/// labelled alerts are not bundled (their licences allow training, not redistribution in
/// every case), so an installed binary fine-tunes on the user's labels alone without it.
fn checkout_shared_data() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    dir.join("ztf/manifest.csv").is_file().then_some(dir)
}
