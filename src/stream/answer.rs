//! Answering a micro-batch of alerts: each is placed among its object's alerts (the
//! partition's state), then the model answers it knowing the object's alerts up to it —
//! the answer `stampseq classify` gives for that detection when its stationary rule does
//! not look ahead (`classify --causal`).

use super::state::{PartitionState, StoredAlert};
use super::StreamResult;
use crate::alert::neutral::{Survey, SurveyAlert};
use crate::alert::{AlertRef, AnyAlert};
use crate::classify::{answer_uncertainty, ClassifyOptions, LoadedModel};
use crate::sequence::neutral::BorrowedObject;
use burn::tensor::Device;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

/// An alert read from a message.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub alert: AnyAlert,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The message body, where [`Answerer::keeps_messages`] says the state keeps it.
    pub message: Option<std::sync::Arc<[u8]>>,
}

/// One model of a stream, and the device it runs on.
pub struct StreamModel {
    pub model: LoadedModel,
    pub path: PathBuf,
    pub device: Device,
}

impl StreamModel {
    /// Loads a model file for a stream. A tree model runs on the CPU whatever is asked:
    /// probing for a GPU would only cost the start-up (and print the windowing system's
    /// complaints on a server).
    pub fn load(
        path: &std::path::Path,
        backend: crate::backend::BackendChoice,
    ) -> Result<Self, StreamModelError> {
        let backend = LoadedModel::backend_for(path, backend);
        let model = LoadedModel::load_for(path, &backend)?;
        Ok(Self {
            model,
            path: path.to_path_buf(),
            device: backend.device,
        })
    }

    /// The survey whose labelled alerts the model learnt from.
    pub fn survey(&self) -> Survey {
        self.model.header.trained_on.survey
    }

    /// The surveys whose alerts the model reads, as a key: two models of a stream must not
    /// claim the same alerts the same way.
    fn claims(&self) -> (Survey, Vec<bool>) {
        let reads = Survey::ALL.map(|s| self.model.reads(s)).to_vec();
        (self.survey(), reads)
    }
}

/// The models a stream answers with, at most one per survey: each alert is answered by the
/// model of its survey (a topic may carry both surveys' alerts; Rubin's and ZTF's own
/// streams carry one).
pub struct Answerer {
    pub models: Vec<StreamModel>,
    pub options: ClassifyOptions,
}

/// Models a stream cannot answer with.
#[derive(Debug, thiserror::Error)]
pub enum StreamModelError {
    /// A model file that does not load (the error names the file).
    #[error(transparent)]
    Load(#[from] crate::model::file::ModelFileError),
    /// Which of the two should answer the survey's alerts is not said.
    #[error(
        "models {} and {} were both trained on {survey} alerts and read the same surveys: a \
         stream answers each alert with the one model of its survey; give at most one model \
         per survey",
        first.display(),
        second.display()
    )]
    TwoForOneSurvey {
        survey: Survey,
        first: PathBuf,
        second: PathBuf,
    },
}

/// The partitions this consumer holds, by (topic, partition).
pub type States = HashMap<(String, i32), PartitionState>;

fn object_of(alert: &AnyAlert) -> Option<(Survey, String)> {
    crate::sequence::neutral::ObjectKey::of(alert).map(|k| {
        let id = if k.solar_system {
            format!("ss{}", k.id)
        } else {
            k.id
        };
        (k.survey, id)
    })
}

impl Answerer {
    pub fn new(models: Vec<StreamModel>) -> Result<Self, StreamModelError> {
        for (i, a) in models.iter().enumerate() {
            if let Some(b) = models[..i].iter().find(|b| b.claims() == a.claims()) {
                return Err(StreamModelError::TwoForOneSurvey {
                    survey: a.survey(),
                    first: b.path.clone(),
                    second: a.path.clone(),
                });
            }
        }
        Ok(Self {
            models,
            options: ClassifyOptions {
                max_detections: 0,
                batch_size: 4096,
                production_rules: false,
                look_ahead_for_stationary: false,
                only_last: true,
                rules: true,
                priors: None,
                allwise: None,
            },
        })
    }

    /// Loads the model files of a stream (the CLI's and the app's).
    pub fn load(
        paths: &[PathBuf],
        backend: crate::backend::BackendChoice,
    ) -> Result<Self, StreamModelError> {
        let models = paths
            .iter()
            .map(|p| StreamModel::load(p, backend))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(models)
    }

    /// Whether any model reads stamps (tree models do not: the stream then skips decoding
    /// them, which is most of the cost of reading an alert).
    pub fn reads_stamps(&self) -> bool {
        self.models.iter().any(|m| m.model.reads_stamps())
    }

    /// Every class any model answers, in the models' order: the columns of the answers.
    pub fn classes(&self) -> Vec<String> {
        let mut classes: Vec<String> = Vec::new();
        for c in self.models.iter().flat_map(|m| m.model.classes()) {
            if !classes.contains(c) {
                classes.push(c.clone());
            }
        }
        classes
    }

    /// The model that answers `survey`'s alerts: one trained on that survey, else one
    /// that reads it from another survey's training (the neutral model on LSST alerts).
    fn for_survey(&self, survey: Survey) -> Option<usize> {
        let reading = || {
            self.models
                .iter()
                .enumerate()
                .filter(|(_, m)| m.model.reads(survey))
        };
        reading()
            .find(|(_, m)| m.survey() == survey)
            .or_else(|| reading().next())
            .map(|(i, _)| i)
    }

    /// Why an alert of `survey` is not answered: no model of the stream reads it.
    fn no_model_for(&self, survey: Survey, message: &str) -> String {
        match self.models.first() {
            Some(m) if self.models.len() == 1 => m
                .model
                .header
                .check_survey(&m.path, survey, message)
                .err()
                .map_or_else(String::new, |e| e.to_string()),
            _ => format!(
                "{message}: no model that reads {survey} alerts was given (--model); the \
                 stream's models were trained on {}",
                self.models
                    .iter()
                    .map(|m| format!("{} alerts ({})", m.survey(), m.path.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Places every alert in its partition's state and answers it. Alerts of partitions
    /// this consumer does not hold are not expected (the caller drops them at a revoke).
    pub fn answer(&self, states: &mut States, items: &[Incoming]) -> Vec<StreamResult> {
        let mut results: Vec<StreamResult> = Vec::with_capacity(items.len());
        // Per model and object, the alerts of this batch in arrival order: round r answers
        // each object's r-th alert, so that one classify call sees each object once.
        let mut rounds: Vec<Vec<Vec<usize>>> = vec![Vec::new(); self.models.len()];
        let mut seen_in_batch: HashMap<(Survey, String), usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let summary = item.alert.summary();
            let model = self.for_survey(summary.survey);
            let m = model.map(|i| &self.models[i]);
            let mut result = StreamResult {
                survey: summary.survey,
                object_id: summary.object_id.clone(),
                alert_id: summary.alert_id,
                k: 0,
                mjd: summary.mjd,
                model: m.map(|m| m.model.name().to_string()),
                classes: m.map_or_else(Vec::new, |m| m.model.classes().to_vec()),
                probabilities: Vec::new(),
                std: Vec::new(),
                uncertainty: None,
                disagreement: None,
                top_class: None,
                uncertain: true,
                rule: None,
                skipped: None,
                transferred: m.is_some_and(|m| m.model.header.transferred_to(summary.survey)),
                topic: item.topic.clone(),
                partition: item.partition,
                offset: item.offset,
            };
            let Some(object) = object_of(&item.alert) else {
                result.skipped = Some("the alert names no object".into());
                results.push(result);
                continue;
            };
            let state = states.get_mut(&(item.topic.clone(), item.partition));
            let stored = StoredAlert {
                survey: object.0,
                object: object.1.clone(),
                alert_id: summary.alert_id,
                time: summary.mjd,
                offset: item.offset,
                alert: self
                    .keeps_whole(item.alert.as_ref())
                    .then(|| item.alert.clone()),
                message: item
                    .message
                    .clone()
                    .filter(|_| self.reads_earlier_stamps(object.0)),
            };
            if let Some(state) = state {
                result.k = state.insert(stored).k;
            } else {
                result.skipped = Some("its partition is no longer this consumer's".into());
                results.push(result);
                continue;
            }
            match model {
                None => {
                    result.skipped = Some(self.no_model_for(
                        object.0,
                        &format!("{}[{}]@{}", item.topic, item.partition, item.offset),
                    ));
                }
                Some(mi) => {
                    let round = seen_in_batch.entry(object).or_insert(0);
                    if rounds[mi].len() <= *round {
                        rounds[mi].push(Vec::new());
                    }
                    rounds[mi][*round].push(i);
                    *round += 1;
                }
            }
            results.push(result);
        }
        for (m, model_rounds) in self.models.iter().zip(rounds) {
            for round in model_rounds {
                self.answer_round(m, states, items, &round, &mut results);
            }
        }
        results
    }

    /// One round of one model: each alert of `round` with its object's alerts held up to
    /// it, answered in one classify call: the causal answer after that detection, as
    /// `classify --causal` gives it on the same alerts.
    fn answer_round(
        &self,
        m: &StreamModel,
        states: &States,
        items: &[Incoming],
        round: &[usize],
        results: &mut [StreamResult],
    ) {
        let cancel = AtomicBool::new(false);
        // What each object's alerts are read from: the state's copies, or the alert alone
        // (None: borrowed from the batch, no copy of its 100 kB) where it carries its
        // history, unless a temporal model reads the object's earlier stamps.
        let mut held: Vec<(usize, Option<Vec<AnyAlert>>)> = Vec::new();
        for &i in round {
            let item = &items[i];
            let Some(state) = states.get(&(item.topic.clone(), item.partition)) else {
                continue;
            };
            let alert = item.alert.as_ref();
            let through = || {
                object_of(&item.alert)
                    .and_then(|(survey, key)| state.alerts_through(survey, &key, alert.alert_id()))
            };
            if alert.carries_whole_history() {
                let alerts = self.keeps_whole(alert).then(through).flatten();
                held.push((i, alerts.map(|(_, alerts)| alerts)));
            } else if let Some((k, alerts)) = through().filter(|(_, a)| !a.is_empty()) {
                // The alert's place now that the whole batch is in (a later message may
                // hold an earlier detection).
                results[i].k = k;
                held.push((i, Some(alerts)));
            }
        }
        let objects: Vec<(usize, BorrowedObject)> = held
            .iter()
            .map(|(i, alerts)| {
                let alerts = match alerts {
                    Some(alerts) => alerts.iter().map(AnyAlert::as_ref).collect(),
                    None => vec![items[*i].alert.as_ref()],
                };
                (
                    *i,
                    BorrowedObject {
                        name: format!("{i}"),
                        alerts,
                    },
                )
            })
            .collect();
        let wanted: HashMap<(String, Option<i64>), usize> = objects
            .iter()
            .map(|(i, o)| {
                (
                    (o.name.clone(), o.alerts.last().and_then(|a| a.alert_id())),
                    *i,
                )
            })
            .collect();
        let objects: Vec<BorrowedObject> = objects.into_iter().map(|(_, o)| o).collect();
        match m
            .model
            .classify(&objects, &self.options, &m.device, &cancel, &|_, _| {})
        {
            Ok(output) => {
                for row in &output.rows {
                    if let Some(&i) = wanted.get(&(row.object_id.clone(), row.candid)) {
                        fill(&mut results[i], row);
                    }
                }
                for s in output.skipped {
                    if let Some(&i) = wanted
                        .iter()
                        .find(|((o, _), _)| *o == s.object_id)
                        .map(|(_, i)| i)
                    {
                        results[i].skipped = Some(s.reason);
                    }
                }
            }
            Err(e) => {
                for &i in wanted.values() {
                    results[i].skipped = Some(e.to_string());
                }
            }
        }
        for &i in wanted.values() {
            if results[i].probabilities.is_empty() && results[i].skipped.is_none() {
                results[i].skipped = Some("the model gave no answer".into());
            }
        }
    }

    /// Whether the state keeps the alert whole: where its history is cut, so that the
    /// object's earlier alerts make its features; where it carries its history, only if the
    /// model of its survey reads the object's earlier stamps (a temporal network).
    fn keeps_whole(&self, alert: AlertRef) -> bool {
        !alert.carries_whole_history() || self.reads_earlier_stamps(alert.survey())
    }

    /// Whether the model of `survey` reads the stamps of an object's earlier alerts (a
    /// temporal network), so that the state must keep them across a restart.
    fn reads_earlier_stamps(&self, survey: Survey) -> bool {
        self.for_survey(survey)
            .is_some_and(|i| self.models[i].model.reads_earlier_stamps())
    }

    /// Whether any model of the stream reads earlier stamps: then each message body goes
    /// with its alerts to the state.
    pub fn keeps_messages(&self) -> bool {
        Survey::ALL
            .into_iter()
            .any(|s| self.reads_earlier_stamps(s))
    }
}

/// An answer's row into its result, or why there is none.
fn fill(r: &mut StreamResult, row: &crate::classify::ClassRow) {
    let (uncertainty, uncertain) =
        answer_uncertainty(&row.probabilities, &row.std, row.disagreement);
    r.k = row.k;
    r.uncertainty = uncertainty;
    r.uncertain = uncertain;
    r.top_class = Some(row.top_class.clone());
    r.probabilities = row.probabilities.clone();
    r.std = row.std.clone();
    r.disagreement = row.disagreement;
    r.rule = row.rule.clone();
}
