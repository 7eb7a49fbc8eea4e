//! Networks retrained on every fold of the grouped validation, so that a model that reads
//! the stamps is judged as the trees are: trained on the other source groups only, scored on
//! the group it never saw. The bundled networks trained on a random split of every source;
//! their figure in the grouped table flatters them, and this is the figure that does not.
//!
//! Each fold's run lives in its own folder under the work folder (`<name>/<fold>`): a run
//! that finished is not trained again, one that was stopped resumes, so a long benchmark can
//! be cancelled and taken up. Selection (the best validation loss) is on objects of the
//! training groups only: nothing of the held-out group reaches training or selection.

use super::answers::{classify_all, classify_all_at_weights};
use super::benchmark::*;
use crate::assets::DEFAULT_TREES_NAME;
use crate::backend::ResolvedBackend;
use crate::classify::LoadedModel;
use crate::experiments::fusion_weight::{WeightedFusion, TREES_WEIGHTS};
use crate::experiments::groups::{Fold, GroupedObject};
use crate::sequence::neutral::ObjectSequence;
use crate::train::{TrainConfig, TrainEvent};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Share of each class's training-group objects kept aside to select the network on.
const VALIDATION_SHARE: f64 = 0.2;

/// What the retrained networks are trained and scored on: the grouped validation's objects
/// and folds, and each fold's trees (by the fold's index) to fuse with.
pub struct FoldScope<'a> {
    pub objects: &'a [GroupedObject],
    pub folds: &'a [Fold],
    pub by_id: &'a HashMap<&'a str, &'a ObjectSequence>,
    pub backend: &'a ResolvedBackend,
    pub trees_of_fold: &'a [Option<crate::model::trees::TreeEnsemble>],
}

/// A model's name, its description and its pooled answers.
pub type NamedModelAnswers = (String, String, Answers);

/// The networks the grouped validation retrains per fold, and where their runs go.
pub struct NetworkRetraining<'a> {
    /// Training configurations (`stampseq train --config`), one network each.
    pub configs: &'a [PathBuf],
    pub data: Vec<PathBuf>,
    /// Every object's label (the benchmark split's CSV).
    pub labels: &'a Path,
    pub work: &'a Path,
    pub iterations: Option<usize>,
    pub cancel: &'a std::sync::atomic::AtomicBool,
    /// The names of networks (configurations' file stems) that the default answer fuses as
    /// one ensemble: scored together, alone and with the trees at every weight tried.
    pub ensemble: Option<Vec<String>>,
}

/// What to retrain and where.
pub struct RetrainInput<'a> {
    /// A training configuration (`stampseq train --config`): the network and its settings.
    pub config: &'a Path,
    /// The labelled alert folders the networks read.
    pub data: Vec<PathBuf>,
    /// The labels of every object (the benchmark split's CSV: its parts are not used).
    pub labels: &'a Path,
    pub objects: &'a [GroupedObject],
    pub folds: &'a [Fold],
    pub by_id: &'a HashMap<&'a str, &'a ObjectSequence>,
    /// The runs' folder: `<name>/<fold>/` each.
    pub work: &'a Path,
    pub backend: &'a ResolvedBackend,
    /// Training iterations instead of the configuration's (tests make them few).
    pub iterations: Option<usize>,
    /// Each fold's trees (by the fold's index in `folds`), to fuse with the fold's network.
    pub trees_of_fold: &'a [Option<crate::model::trees::TreeEnsemble>],
}

/// A network's pooled answers: every held-out object answered by the run of its fold.
pub struct RetrainedNetwork {
    pub name: String,
    pub description: String,
    pub answers: Answers,
    /// The fold's trees and network fused (see [`crate::model::fused`]), retrained the same,
    /// at each of [`TREES_WEIGHTS`] (the plain mean first).
    pub fused: Vec<(f32, Answers)>,
    /// Each cross-source fold's network (the fold's index in `folds`, its model file).
    pub best_of_fold: Vec<(usize, PathBuf)>,
    /// Training seconds over all folds (0 for folds taken from earlier runs).
    pub training_seconds: f64,
}

/// The network's name: the configuration's file stem.
fn name_of(config: &Path) -> String {
    config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "network".into())
}

/// A folder name for a fold (group names hold `+` and spaces).
fn fold_folder(i: usize, fold: &Fold) -> String {
    let slug: String = fold
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("fold-{}-{}", i + 1, slug.trim_matches('-'))
}

/// The parts of one fold: the held-out objects are `test`; of every other object, a share of
/// each class (seeded) is `val`, the rest `train`.
pub fn fold_parts(
    fold: &Fold,
    labels: &HashMap<&str, &str>,
    seed: u64,
) -> BTreeMap<String, &'static str> {
    let test: HashSet<&str> = fold.test.iter().map(String::as_str).collect();
    let mut by_class: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for id in &fold.train {
        if test.contains(id.as_str()) {
            continue;
        }
        if let Some(label) = labels.get(id.as_str()) {
            by_class.entry(label).or_default().push(id);
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut parts = BTreeMap::new();
    for ids in by_class.values_mut() {
        ids.sort_unstable();
        ids.shuffle(&mut rng);
        // A class with a single training object keeps it for training.
        let n_val = if ids.len() < 2 {
            0
        } else {
            ((ids.len() as f64 * VALIDATION_SHARE).round() as usize).clamp(1, ids.len() - 1)
        };
        for (k, id) in ids.iter().enumerate() {
            parts.insert(id.to_string(), if k < n_val { "val" } else { "train" });
        }
    }
    for id in &fold.test {
        parts.insert(id.clone(), "test");
    }
    parts
}

fn write_parts(path: &Path, parts: &BTreeMap<String, &str>) -> Result<(), BenchmarkError> {
    let mut s = String::from("objectId,part\n");
    for (id, part) in parts {
        s.push_str(&format!("{id},{part}\n"));
    }
    write_text(path, &s)
}

/// A fold's CSV, written whole or not at all.
fn write_text(path: &Path, text: &str) -> Result<(), BenchmarkError> {
    crate::atomic::write_atomic(path, text.as_bytes()).map_err(|e| BenchmarkError::File {
        path: path.into(),
        source: Box::new(e),
    })
}

/// The source group of each of the fold's training objects, as `objectId,group` rows for
/// `balance_sources`.
fn write_groups(path: &Path, fold: &Fold, objects: &[GroupedObject]) -> Result<(), BenchmarkError> {
    let group: HashMap<&str, &str> = objects
        .iter()
        .map(|o| (o.object_id.as_str(), o.group.as_str()))
        .collect();
    let mut s = String::new();
    for id in &fold.train {
        if let Some(g) = group.get(id.as_str()) {
            s.push_str(&format!("{id},{g}\n"));
        }
    }
    write_text(path, &s)
}

/// Retrains the network of `input.config` on every cross-source fold and answers each
/// held-out object with its fold's best model (the physics rules applied, as for every
/// model of the benchmark). `cancel` stops after the current training step.
pub fn retrain_per_fold(
    input: &RetrainInput,
    cancel: &AtomicBool,
    say: &dyn Fn(&str),
) -> Result<RetrainedNetwork, BenchmarkError> {
    let name = name_of(input.config);
    let train_err = |e: crate::train::TrainError| BenchmarkError::File {
        path: input.config.into(),
        source: Box::new(e),
    };
    let mut base = TrainConfig::from_toml_file(input.config).map_err(train_err)?;
    base.data = input.data.clone();
    base.labels = input.labels.into();
    base.holdout_labels = None;
    if let Some(n) = input.iterations {
        base.max_iterations = n;
        base.validate_every = base.validate_every.min(n.max(1));
    }
    let labels: HashMap<&str, &str> = input
        .objects
        .iter()
        .map(|o| (o.object_id.as_str(), o.label.as_str()))
        .collect();
    let device = input.backend.device.clone().autodiff();
    let mut pooled = Answers::default();
    let mut fused: Vec<(f32, Answers)> = TREES_WEIGHTS
        .iter()
        .map(|&w| (w, Answers::default()))
        .collect();
    let mut best_of_fold = Vec::new();
    let mut training_seconds = 0.0;
    // The preprocessed stamps of every labelled object: read once, shared by the folds.
    let mut shared_cache: Option<PathBuf> = None;
    let cross: Vec<(usize, &Fold)> = input
        .folds
        .iter()
        .enumerate()
        .filter(|(_, f)| f.cross_source)
        .collect();
    for (i, &(fold_index, fold)) in cross.iter().enumerate() {
        let dir = input.work.join(&name).join(fold_folder(i, fold));
        std::fs::create_dir_all(&dir).map_err(|e| BenchmarkError::File {
            path: dir.clone(),
            source: Box::new(e),
        })?;
        let split_path = dir.join("parts.csv");
        write_parts(
            &split_path,
            &fold_parts(fold, &labels, base.seed + i as u64),
        )?;
        let mut config = base.clone();
        config.split = Some(split_path);
        if base.balance_sources {
            let groups_path = dir.join("groups.csv");
            write_groups(&groups_path, fold, input.objects)?;
            config.source_groups = Some(groups_path);
        }
        config.data_cache = shared_cache.clone();
        let best = dir.join("best.stampseq");
        // Written once a run has finished: a stopped run resumes instead.
        let marker = dir.join("finished");
        let finished = marker.is_file() && best.is_file();
        if finished {
            say(&format!(
                "{name}: fold {} of {} (held out: {}): trained before, in {}",
                i + 1,
                cross.len(),
                fold.name,
                dir.display()
            ));
        } else {
            say(&format!(
                "{name}: training on fold {} of {} (held out: {}), {} iterations",
                i + 1,
                cross.len(),
                fold.name,
                config.max_iterations
            ));
            let started = std::time::Instant::now();
            let outcome = crate::train::train(&config, &dir, &device, cancel, &mut |e| {
                if let TrainEvent::Validation(v) = e {
                    say(&format!(
                        "{name}: fold {}: iteration {} validation loss {:.3}",
                        i + 1,
                        v.iteration,
                        v.val_loss
                    ));
                }
            })
            .map_err(train_err)?;
            training_seconds += started.elapsed().as_secs_f64();
            if outcome.cancelled {
                return Err(BenchmarkError::Invalid(format!(
                    "{name}: cancelled on fold {} ({}); run again to resume",
                    i + 1,
                    dir.display()
                )));
            }
            crate::atomic::write_atomic(&marker, b"").map_err(|e| BenchmarkError::File {
                path: marker.clone(),
                source: Box::new(e),
            })?;
        }
        check_kept_out(&dir, fold)?;
        neutralise_as_configured(&best, &base.neutralised_features, &name, say)?;
        if shared_cache.is_none() && dir.join("data.cache").is_file() {
            shared_cache = Some(dir.join("data.cache"));
        }
        let model = LoadedModel::load_for(&best, input.backend)?;
        best_of_fold.push((fold_index, best.clone()));
        let held_out = held_out_of(fold, input.by_id);
        let answers = over_five(classify_all(&model, &held_out, input.backend)?);
        pooled.classes = answers.classes;
        pooled.by_object.extend(answers.by_object);
        if let Some(Some(trees)) = input.trees_of_fold.get(fold_index) {
            // The members run once; their answers are combined at every weight tried.
            let pair = LoadedModel::fuse(
                vec![fold_trees_model(trees), model],
                "fused",
                None,
                &dir.join("fused.stampseq"),
            )?;
            let sets: Vec<Vec<f32>> = fused.iter().map(|(w, _)| vec![*w, 1.0 - w]).collect();
            let at_weights = classify_all_at_weights(&pair, &held_out, &sets)?;
            for ((_, pooled_fused), answers) in fused.iter_mut().zip(at_weights) {
                let answers = over_five(answers);
                pooled_fused.classes = answers.classes;
                pooled_fused.by_object.extend(answers.by_object);
            }
        }
    }
    Ok(RetrainedNetwork {
        description: format!(
            "{name} ({}) retrained on the other source groups of each fold, selected on a \
             fifth of their objects, with the physics rules",
            input.config.display()
        ),
        name: format!("{name} (retrained per fold)"),
        answers: pooled,
        fused,
        best_of_fold,
        training_seconds,
    })
}

/// A run trained before its configuration named features to neutralise (kept with
/// `--retrain-runs`) answers with them neutralised, as a run trained now does; said, since
/// it was trained reading them.
fn neutralise_as_configured(
    best: &Path,
    features: &[String],
    name: &str,
    say: &dyn Fn(&str),
) -> Result<(), BenchmarkError> {
    if features.is_empty() {
        return Ok(());
    }
    let header = crate::model::file::read_header(best)?;
    let missing: Vec<&str> = features
        .iter()
        .filter(|f| !header.feature_stats.neutralised.contains(f))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    crate::model::neutralise::neutralise_file(best, features, best)?;
    say(&format!(
        "{name}: {} was trained reading {}: it answers with them neutralised, as its \
         configuration says",
        best.display(),
        missing.join(", ")
    ));
    Ok(())
}

/// The networks of `nets` retrained on every fold, each alone and fused with the fold's
/// trees, and (with two or more) all of them fused, with and without the trees: (name,
/// description, pooled answers) each; and each network's fusion with the trees at every
/// trees' weight tried.
pub fn network_models(
    scope: &FoldScope,
    nets: &NetworkRetraining,
    say: &dyn Fn(&str),
) -> Result<(Vec<NamedModelAnswers>, Vec<WeightedFusion>), BenchmarkError> {
    let mut models = Vec::new();
    let mut weighted = Vec::new();
    let mut retrained_nets = Vec::new();
    for config in nets.configs {
        let net = retrain_per_fold(
            &RetrainInput {
                config,
                data: nets.data.clone(),
                labels: nets.labels,
                objects: scope.objects,
                folds: scope.folds,
                by_id: scope.by_id,
                work: nets.work,
                backend: scope.backend,
                iterations: nets.iterations,
                trees_of_fold: scope.trees_of_fold,
            },
            nets.cancel,
            say,
        )?;
        models.push((
            net.name.clone(),
            net.description.clone(),
            net.answers.clone(),
        ));
        models.push((
            format!("fused: {DEFAULT_TREES_NAME} + {}", net.name),
            format!(
                "the mean of the trees' and {}'s probabilities, then the rules (a fused \
                 model, both members retrained on the other groups)",
                net.name
            ),
            net.fused[0].1.clone(),
        ));
        for (trees_weight, answers) in &net.fused {
            weighted.push(WeightedFusion {
                network: name_of(config),
                trees_weight: *trees_weight,
                answers: answers.clone(),
            });
        }
        retrained_nets.push(net);
    }
    if let Some(names) = &nets.ensemble {
        let members: Vec<&RetrainedNetwork> = names
            .iter()
            .filter_map(|n| {
                nets.configs
                    .iter()
                    .position(|c| &name_of(c) == n)
                    .and_then(|i| retrained_nets.get(i))
            })
            .collect();
        if members.len() == names.len() && members.len() >= 2 {
            let name = names.join(" + ");
            say(&format!("grouped validation: the ensemble {name}"));
            let at_weights = ensemble_at_weights(scope, &members)?;
            if let Some((_, alone)) = at_weights.iter().find(|(w, _)| *w == 0.0) {
                models.push((
                    format!("ensemble: {name} (retrained per fold)"),
                    format!(
                        "the mean of {}, each retrained on the other groups, then the rules",
                        names.join(", ")
                    ),
                    alone.clone(),
                ));
            }
            weighted.extend(
                at_weights
                    .into_iter()
                    .map(|(trees_weight, answers)| WeightedFusion {
                        network: name.clone(),
                        trees_weight,
                        answers,
                    }),
            );
        }
    }
    if retrained_nets.len() >= 2 {
        let all: Vec<_> = retrained_nets.iter().collect();
        let names: Vec<&str> = all.iter().map(|n| n.name.as_str()).collect();
        say("grouped validation: every network fused, with and without the trees");
        let with_trees = fuse_per_fold(
            scope.folds,
            &all,
            Some(scope.trees_of_fold),
            scope.by_id,
            scope.backend,
        )?;
        let networks_only = fuse_per_fold(scope.folds, &all, None, scope.by_id, scope.backend)?;
        models.push((
            format!("fused: {DEFAULT_TREES_NAME} + every network"),
            format!(
                "the mean of the trees and {}, then the rules",
                names.join(", ")
            ),
            with_trees,
        ));
        models.push((
            "fused: every network".into(),
            format!("the mean of {}, then the rules", names.join(", ")),
            networks_only,
        ));
    }
    Ok((models, weighted))
}

/// Each cross-source fold's `networks` (their runs of that fold), with the fold's trees
/// when `trees_of_fold` is given, fused into one model answering the fold's held-out
/// objects; pooled. A fold some network has no run of is left out.
pub fn fuse_per_fold(
    folds: &[Fold],
    networks: &[&RetrainedNetwork],
    trees_of_fold: Option<&[Option<crate::model::trees::TreeEnsemble>]>,
    by_id: &HashMap<&str, &ObjectSequence>,
    backend: &ResolvedBackend,
) -> Result<Answers, BenchmarkError> {
    let mut pooled = Answers::default();
    for (fold_index, fold) in folds.iter().enumerate() {
        let Some(model) = fused_of_fold(fold_index, networks, trees_of_fold, backend)? else {
            continue;
        };
        let held_out = held_out_of(fold, by_id);
        let answers = over_five(classify_all(&model, &held_out, backend)?);
        pooled.classes = answers.classes;
        pooled.by_object.extend(answers.by_object);
    }
    Ok(pooled)
}

/// The fold's trees and `networks` fused on every cross-source fold, answering its held-out
/// objects at each of [`TREES_WEIGHTS`] (the networks sharing the rest equally), the members
/// run once per fold; pooled. A fold some member has no run of is left out.
fn ensemble_at_weights(
    scope: &FoldScope,
    networks: &[&RetrainedNetwork],
) -> Result<Vec<(f32, Answers)>, BenchmarkError> {
    let weight_sets: Vec<Vec<f32>> = TREES_WEIGHTS
        .iter()
        .filter_map(|&w| crate::experiments::default_fused::ensemble_weights(w, networks.len()))
        .collect();
    let mut pooled: Vec<(f32, Answers)> = TREES_WEIGHTS
        .iter()
        .map(|&w| (w, Answers::default()))
        .collect();
    for (fold_index, fold) in scope.folds.iter().enumerate() {
        let Some(model) = fused_of_fold(
            fold_index,
            networks,
            Some(scope.trees_of_fold),
            scope.backend,
        )?
        else {
            continue;
        };
        let held_out = held_out_of(fold, scope.by_id);
        let answers =
            crate::experiments::answers::classify_all_at_weights(&model, &held_out, &weight_sets)?;
        for ((_, into), part) in pooled.iter_mut().zip(answers) {
            let part = over_five(part);
            into.classes = part.classes;
            into.by_object.extend(part.by_object);
        }
    }
    Ok(pooled)
}

/// The fold's trees (when `trees_of_fold` is given) and `networks`' runs of the fold fused
/// into one model; None where the fold lacks one of them.
fn fused_of_fold(
    fold_index: usize,
    networks: &[&RetrainedNetwork],
    trees_of_fold: Option<&[Option<crate::model::trees::TreeEnsemble>]>,
    backend: &ResolvedBackend,
) -> Result<Option<LoadedModel>, BenchmarkError> {
    let mut members = Vec::new();
    if let Some(trees) = trees_of_fold {
        let Some(Some(trees)) = trees.get(fold_index) else {
            return Ok(None);
        };
        members.push(fold_trees_model(trees));
    }
    for net in networks {
        let Some((_, path)) = net.best_of_fold.iter().find(|(i, _)| *i == fold_index) else {
            return Ok(None);
        };
        members.push(LoadedModel::load_for(path, backend)?);
    }
    Ok(Some(LoadedModel::fuse(
        members,
        "fused",
        None,
        Path::new("fused.stampseq"),
    )?))
}

/// A fold's held-out objects, in a fixed order.
fn held_out_of(fold: &Fold, by_id: &HashMap<&str, &ObjectSequence>) -> Vec<ObjectSequence> {
    let mut held_out: Vec<ObjectSequence> = fold
        .test
        .iter()
        .filter_map(|id| by_id.get(id.as_str()).map(|s| (*s).clone()))
        .collect();
    held_out.sort_by(|a, b| a.key.id.cmp(&b.key.id));
    held_out
}

/// A fold's trees as a model to fuse with.
fn fold_trees_model(trees: &crate::model::trees::TreeEnsemble) -> LoadedModel {
    let header = crate::model::trees::tree_model_header(trees, DEFAULT_TREES_NAME);
    LoadedModel::from_trees(trees.clone(), header, Path::new("trees.stampseq"))
}

/// Refuses a run whose split (`split.json`, as the trainer kept it) trained or selected on
/// any object outside the fold's training groups: the trainer puts objects its parts file
/// does not list into training, so the guarantee is checked on what it did, not assumed.
fn check_kept_out(dir: &Path, fold: &Fold) -> Result<(), BenchmarkError> {
    let split =
        crate::train::Split::load(&dir.join("split.json")).map_err(|e| BenchmarkError::File {
            path: dir.join("split.json"),
            source: Box::new(e),
        })?;
    let allowed: HashSet<&str> = fold.train.iter().map(String::as_str).collect();
    let outside: Vec<&String> = split
        .train
        .iter()
        .chain(&split.val)
        .filter(|id| !allowed.contains(id.as_str()))
        .collect();
    if outside.is_empty() {
        Ok(())
    } else {
        Err(BenchmarkError::Invalid(format!(
            "{}: the run trained or selected on {} object(s) outside the fold's training groups (first: {})",
            dir.display(),
            outside.len(),
            outside[0]
        )))
    }
}

/// `answers` over the five classes (a class the model lacks gets 0), so that folds whose
/// models know different classes pool into one set of answers.
pub fn over_five(answers: Answers) -> Answers {
    let map: Vec<Option<usize>> = FIVE_CLASSES
        .iter()
        .map(|c| answers.classes.iter().position(|k| k == c))
        .collect();
    Answers {
        classes: FIVE_CLASSES.iter().map(|c| c.to_string()).collect(),
        by_object: answers
            .by_object
            .into_iter()
            .map(|(id, steps)| {
                let steps = steps
                    .into_iter()
                    .map(|p| map.iter().map(|i| i.map_or(0.0, |i| p[i])).collect())
                    .collect();
                (id, steps)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold() -> Fold {
        Fold {
            name: "a".into(),
            test: vec!["t1".into(), "t2".into()],
            train: (0..12).map(|i| format!("o{i}")).collect(),
            cross_source: true,
        }
    }

    #[test]
    fn a_fold_keeps_its_held_out_objects_out_of_training_and_selection() {
        let f = fold();
        let mut labels: HashMap<&str, &str> = HashMap::new();
        for (i, id) in f.train.iter().enumerate() {
            labels.insert(id, if i < 10 { "VS" } else { "AGN" });
        }
        labels.insert("t1", "VS");
        labels.insert("t2", "AGN");
        let parts = fold_parts(&f, &labels, 3);
        assert_eq!(parts["t1"], "test");
        assert_eq!(parts["t2"], "test");
        let val_vs = f.train[..10]
            .iter()
            .filter(|id| parts[*id] == "val")
            .count();
        let val_agn = f.train[10..]
            .iter()
            .filter(|id| parts[*id] == "val")
            .count();
        assert_eq!(
            (val_vs, val_agn),
            (2, 1),
            "a fifth of each class, at least one"
        );
        assert_eq!(parts.len(), 14);
        assert_eq!(parts, fold_parts(&f, &labels, 3), "seeded");
    }

    #[test]
    fn a_folds_source_groups_name_its_training_objects_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = fold();
        let objects: Vec<GroupedObject> = f
            .train
            .iter()
            .chain(&f.test)
            .enumerate()
            .map(|(i, id)| GroupedObject {
                object_id: id.clone(),
                label: "VS".into(),
                group: format!("g{}", i % 3),
            })
            .collect();
        let path = dir.path().join("groups.csv");
        write_groups(&path, &f, &objects).expect("written");
        let groups = crate::labels::read_labels_csv(&path).expect("read back");
        assert_eq!(groups.len(), f.train.len());
        assert!(f.test.iter().all(|t| !groups.contains_key(t)));
        assert_eq!(groups["o4"], "g1");
    }

    #[test]
    fn a_run_that_trained_on_a_held_out_object_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = fold();
        let write = |train: &[&str]| {
            let split = crate::train::Split {
                seed: 1,
                train: train.iter().map(|s| s.to_string()).collect(),
                val: vec!["o1".into()],
                test: f.test.clone(),
                notes: Vec::new(),
            };
            split.save(&dir.path().join("split.json")).expect("split");
        };
        write(&["o0", "o2"]);
        assert!(check_kept_out(dir.path(), &f).is_ok());
        write(&["o0", "t1"]);
        let err = check_kept_out(dir.path(), &f).expect_err("t1 is held out");
        assert!(err.to_string().contains("t1"), "{err}");
    }
}
