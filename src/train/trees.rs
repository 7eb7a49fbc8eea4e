//! Training a tree model (`[model] kind = "trees"`) with `stampseq train`, on the alerts of
//! either survey: ZTF alerts give the `candidate` features with the object's earlier
//! alerts ([`crate::features::tabular`]), LSST alerts the `diaSource` features with the
//! history each alert carries ([`crate::features::lsst`]). The model file records the
//! survey, so each survey's alerts are refused by the other's models.
//!
//! Every alert of the first `max_detections` of a training object is a training row;
//! validation and test objects are judged at their last such alert, through the same
//! inference path (`LoadedModel`, rules included) that `classify` uses. The events are the
//! networks' (one step per ensemble member, one validation), so the app's training view
//! and the CLI's progress show a tree run as they show a network's.

use super::config::TrainConfig;
use super::events::{TrainEvent, Validation};
use super::run_state::{TrainOutcome, TrainState};
use super::split::Split;
use super::TrainError;
use crate::alert::neutral::{Survey, SurveyAlert};
use crate::alert::{read_all_any, AlertRef, AnyAlert, ReadOptions};
use crate::classify::{ClassRow, ClassifyOptions, LoadedModel};
use crate::eval::metrics::ConfusionMatrix;
use crate::features::sets::FeatureSet;
use crate::model::trees::{tree_model_header_for, TreeConfig, TreeEnsemble};
use crate::sequence::neutral::BorrowedObject;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The labelled objects of one survey, each with its alerts (first N, time order), by id.
struct Objects {
    survey: Survey,
    by_id: BTreeMap<String, Vec<AnyAlert>>,
}

impl Objects {
    /// The feature set the survey's tree models read.
    fn set(&self) -> FeatureSet {
        FeatureSet::of_survey(self.survey)
    }

    fn ids(&self) -> Vec<String> {
        self.by_id.keys().cloned().collect()
    }

    /// Feature rows of the objects in `ids`, one per alert, with the object's id.
    fn rows(&self, ids: &HashSet<&str>) -> Vec<(String, Vec<f32>)> {
        let set = self.set();
        self.by_id
            .iter()
            .filter(|(id, _)| ids.contains(id.as_str()))
            .flat_map(|(id, alerts)| {
                let refs: Vec<AlertRef> = alerts.iter().map(AnyAlert::as_ref).collect();
                (0..refs.len())
                    .filter_map(|k| set.tree_row(refs[k], &refs[..k]).ok())
                    .map(|row| (id.clone(), row))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The model's answer at each object's last alert, by object id: knowing the object's
    /// earlier alerts, or on the history the last one carries where it carries it whole.
    fn last_answers(
        &self,
        model: &LoadedModel,
        ids: &HashSet<&str>,
        cancel: &AtomicBool,
    ) -> Result<HashMap<String, ClassRow>, TrainError> {
        let chosen: Vec<BorrowedObject> = self
            .by_id
            .iter()
            .filter(|(id, _)| ids.contains(id.as_str()))
            .map(|(id, alerts)| {
                let refs: Vec<AlertRef> = alerts.iter().map(AnyAlert::as_ref).collect();
                let alerts = match refs.last() {
                    Some(last) if last.carries_whole_history() => vec![*last],
                    _ => refs,
                };
                BorrowedObject {
                    name: id.clone(),
                    alerts,
                }
            })
            .collect();
        let options = ClassifyOptions {
            max_detections: 0,
            only_last: true,
            look_ahead_for_stationary: false,
            ..Default::default()
        };
        let rows = model
            .classify(
                &chosen,
                &options,
                &burn::tensor::Device::flex(),
                cancel,
                &|_, _| {},
            )
            .map_err(TrainError::Evaluating)?
            .rows;
        Ok(rows.into_iter().map(|r| (r.object_id.clone(), r)).collect())
    }
}

/// Reads the data and keeps the labelled objects of the configured classes, first N alerts
/// each; one survey per model.
fn load_objects(
    config: &TrainConfig,
    labels: &BTreeMap<String, String>,
) -> Result<(Objects, Vec<String>), TrainError> {
    let options = ReadOptions {
        lsst_schemas: config.lsst_schemas.clone(),
        ..Default::default()
    };
    let (alerts, summary) = read_all_any(&config.data, &options);
    let mut by_survey: BTreeMap<Survey, Vec<AnyAlert>> = BTreeMap::new();
    for a in alerts {
        by_survey.entry(a.survey()).or_default().push(a);
    }
    let labelled = |id: &str| {
        labels
            .get(id)
            .is_some_and(|l| config.classes.iter().any(|c| c == l))
    };
    let mut surveys = by_survey.into_iter();
    let (survey, alerts) = match (surveys.next(), surveys.len()) {
        (None, _) => {
            return Err(TrainError::Data(format!(
                "no alerts read from {} ({} read errors{})",
                config
                    .data
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                summary.errors.len(),
                summary
                    .errors
                    .first()
                    .map_or(String::new(), |e| format!(", the first: {e}"))
            )))
        }
        (Some(only), 0) => only,
        (Some(first), _) => {
            let held: Vec<String> = std::iter::once(first)
                .chain(surveys)
                .map(|(survey, alerts)| format!("{} {survey}", alerts.len()))
                .collect();
            return Err(TrainError::Data(format!(
                "the data holds {} alerts: a tree model is trained on one survey's alerts (their features differ); give one survey's folders",
                held.join(" and ")
            )));
        }
    };
    let mut by_id = AnyAlert::by_object_in_time(alerts);
    by_id.retain(|id, _| labelled(id));
    for alerts in by_id.values_mut() {
        alerts.truncate(config.max_detections);
    }
    let objects = Objects { survey, by_id };
    Ok((
        objects,
        summary.errors.iter().map(|e| e.to_string()).collect(),
    ))
}

/// Trains, validates and tests a tree model into `out` (`best.stampseq`, `split.json`,
/// `metrics.json`). A tree run takes seconds: it is not resumed, a second run redoes it.
pub fn train_trees(
    config: &TrainConfig,
    trees: &TreeConfig,
    out: &Path,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<TrainOutcome, TrainError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let started = std::time::Instant::now();
    let mut labels = super::dataset::read_labels(&config.labels)?;
    if let Some(path) = &config.holdout_labels {
        labels.extend(super::dataset::read_labels(path)?);
    }
    // Unreadable files are left out and named in the model's report, as for networks.
    let (objects, read_errors) = load_objects(config, &labels)?;
    let survey = objects.survey;
    check_classes(config, survey)?;
    let classes = Classes {
        labels: &labels,
        config,
    };
    let pairs: Vec<(String, usize)> = objects
        .ids()
        .into_iter()
        .filter_map(|id| classes.of(&id).map(|c| (id, c)))
        .collect();
    let split = Split::for_config(config, &pairs)?;
    split.save(&out.join("split.json"))?;
    let set = |ids: &[String]| -> HashSet<String> { ids.iter().cloned().collect() };
    let (train_ids, val_ids, test_ids) = (set(&split.train), set(&split.val), set(&split.test));
    if val_ids.is_empty() {
        return Err(TrainError::Data(
            "the split leaves no validation object in this data".into(),
        ));
    }
    on_event(TrainEvent::Loaded {
        train: train_ids.len(),
        val: val_ids.len(),
        test: test_ids.len(),
        from_cache: false,
        left_out: 0,
        first_left_out: None,
    });
    let members = trees.members.max(1);
    let (ensemble, train_rows) = fit(config, trees, &objects, &train_ids, &classes, on_event)?;
    let cancelled = cancel.load(Ordering::Relaxed);
    let name = format!("trees-{}", survey.to_string().to_lowercase());
    let mut header = tree_model_header_for(&ensemble, &name, survey);
    let best_path = out.join("best.stampseq");
    let model = LoadedModel::from_trees(ensemble.clone(), header.clone(), &best_path);

    let (val_loss, val_accuracy, val_confusion) = judge(&model, &objects, &val_ids, &classes)?;
    let validation = Validation {
        iteration: members,
        max_iterations: members,
        train_loss: f64::NAN,
        train_accuracy: f64::NAN,
        val_loss,
        val_accuracy,
        best_val_loss: val_loss,
        improved: true,
        elapsed_s: started.elapsed().as_secs_f64(),
        eta_s: 0.0,
        confusion: Some(val_confusion),
    };
    on_event(TrainEvent::Validation(validation.clone()));
    let (test_loss, test_accuracy, test_balanced_accuracy) = if test_ids.is_empty() {
        (None, None, None)
    } else {
        let (l, a, confusion) = judge(&model, &objects, &test_ids, &classes)?;
        (
            Some(l),
            Some(a),
            Some(confusion.metrics().balanced_accuracy),
        )
    };
    let metrics = serde_json::json!({
        "survey": survey,
        "val_loss": val_loss,
        "val_accuracy": val_accuracy,
        "test_loss": test_loss,
        "test_accuracy": test_accuracy,
        "test_balanced_accuracy": test_balanced_accuracy,
        "test_objects": test_ids.len(),
        "train_objects": train_ids.len(),
        "train_rows": train_rows,
        "read_errors": read_errors.len(),
        "first_read_errors": read_errors.iter().take(5).collect::<Vec<_>>(),
        "labels": "as given in the labels CSV: say where they come from when reporting",
    });
    header.provenance.source = "trained by stampseq (trees)".into();
    header.provenance.training = Some(serde_json::json!({
        "config": config,
        "split": {"train": train_ids.len(), "val": val_ids.len(), "test": test_ids.len(), "notes": split.notes},
    }));
    header.provenance.metrics = Some(metrics.clone());
    crate::model::trees::write_tree_model(&ensemble, &header, &best_path)?;
    crate::atomic::write_atomic(
        &out.join("metrics.json"),
        serde_json::to_string_pretty(&metrics)
            .map_err(|source| TrainError::Json {
                path: out.join("metrics.json"),
                source,
            })?
            .as_bytes(),
    )
    .map_err(io(&out.join("metrics.json")))?;
    on_event(TrainEvent::Finished {
        iteration: members,
        cancelled,
        best_val_loss: val_loss,
        best_iteration: members,
        test_accuracy,
    });
    Ok(TrainOutcome {
        state: TrainState {
            iteration: members,
            max_iterations: members,
            best_val_loss: Some(val_loss),
            best_iteration: members,
            seed: config.seed,
            history: vec![validation],
        },
        cancelled,
        test_accuracy,
        test_balanced_accuracy,
        test_loss,
        test_objects: test_ids.len(),
    })
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TrainError {
    let path = path.to_path_buf();
    move |source| TrainError::Io {
        path: path.clone(),
        source,
    }
}

/// A tree model that answers ALeRCE's classes (ZTF's) answers those only: any other
/// configured class is refused.
fn check_classes(config: &TrainConfig, survey: Survey) -> Result<(), TrainError> {
    if !FeatureSet::of_survey(survey).trees_answer_alerce_classes() {
        return Ok(());
    }
    if let Some(c) = config
        .classes
        .iter()
        .find(|c| !crate::model::ALERCE_CLASSES.contains(&c.as_str()))
    {
        return Err(TrainError::Config {
            reason: format!(
                "class {c:?}: a {survey} tree model answers the classes {} (bogus from the real/bogus rule)",
                crate::model::ALERCE_CLASSES.join(", ")
            ),
        });
    }
    Ok(())
}

/// Each object's class: its label's place among the configured classes.
struct Classes<'a> {
    labels: &'a BTreeMap<String, String>,
    config: &'a TrainConfig,
}

impl Classes<'_> {
    fn of(&self, id: &str) -> Option<usize> {
        self.labels
            .get(id)
            .and_then(|l| self.config.classes.iter().position(|c| c == l))
    }
}

/// Fits the ensemble on the training objects' rows (one per alert), reporting each member
/// as a step. Gives the ensemble and the number of rows it was fitted on.
fn fit(
    config: &TrainConfig,
    trees: &TreeConfig,
    objects: &Objects,
    train_ids: &HashSet<String>,
    classes: &Classes,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<(TreeEnsemble, usize), TrainError> {
    let train_refs: HashSet<&str> = train_ids.iter().map(String::as_str).collect();
    let (row_ids, rows): (Vec<String>, Vec<Vec<f32>>) =
        objects.rows(&train_refs).into_iter().unzip();
    let row_labels: Vec<usize> = row_ids
        .iter()
        .map(|id| classes.of(id).unwrap_or(0))
        .collect();
    let features: Vec<String> = objects
        .set()
        .tree_features()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let config_seeded = TreeConfig {
        seed: config.seed,
        ..trees.clone()
    };
    // Members train in parallel inside `fit`; their count is the progress.
    let steps = std::sync::Mutex::new(Vec::new());
    let ensemble = TreeEnsemble::fit(
        &rows,
        &row_labels,
        &config.classes,
        &features,
        &config_seeded,
        &|done, total| {
            steps
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((done, total))
        },
    )
    .map_err(TrainError::Trees)?;
    for (done, total) in steps.into_inner().unwrap_or_else(|p| p.into_inner()) {
        on_event(TrainEvent::Step {
            iteration: done,
            max_iterations: total,
            train_loss: f32::NAN,
        });
    }
    Ok((ensemble, rows.len()))
}

/// Mean loss, accuracy and confusion matrix of `model` on the objects `ids`, judged at
/// each object's last alert, by the path classify takes.
fn judge(
    model: &LoadedModel,
    objects: &Objects,
    ids: &HashSet<String>,
    classes: &Classes,
) -> Result<(f64, f64, ConfusionMatrix), TrainError> {
    let config = classes.config;
    let refs: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let answers = objects.last_answers(model, &refs, &AtomicBool::new(false))?;
    let mut confusion = ConfusionMatrix::new(&config.classes);
    let (mut loss, mut n) = (0.0, 0usize);
    for id in ids {
        let (Some(truth), Some(row)) = (classes.of(id), answers.get(id)) else {
            continue;
        };
        let header_slot = |class: usize| {
            model
                .classes()
                .iter()
                .position(|c| *c == config.classes[class])
        };
        let p_true = header_slot(truth)
            .and_then(|s| row.probabilities.get(s).copied())
            .unwrap_or(0.0);
        loss -= f64::from(p_true.max(1e-7)).ln();
        n += 1;
        // The answer among the trained classes (a rule's bogus answer counts as none).
        let predicted = (0..config.classes.len()).max_by(|&a, &b| {
            let p = |c: usize| {
                header_slot(c)
                    .and_then(|s| row.probabilities.get(s).copied())
                    .unwrap_or(0.0)
            };
            p(a).total_cmp(&p(b))
        });
        if let Some(p) = predicted {
            confusion.add(truth, p);
        }
    }
    let accuracy = confusion.metrics().accuracy;
    Ok((loss / n.max(1) as f64, accuracy, confusion))
}
