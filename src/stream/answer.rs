//! Answering a micro-batch of alerts: each is placed among its object's alerts (the
//! partition's state), then the model answers it knowing the object's alerts up to it —
//! the answer `stampseq classify` gives for that detection when its stationary rule does
//! not look ahead (`classify --causal`).

use super::state::{PartitionState, StoredAlert};
use super::StreamResult;
use crate::alert::neutral::{Survey, SurveyAlert};
use crate::alert::AnyAlert;
use crate::classify::{answer_uncertainty, ClassifyOptions, LoadedModel};
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
    ) -> anyhow::Result<Self> {
        let backend = LoadedModel::backend_for(path, backend);
        let model = LoadedModel::load_for(path, &backend)?;
        Ok(Self {
            model,
            path: path.to_path_buf(),
            device: backend.device,
        })
    }

    pub fn survey(&self) -> Survey {
        self.model.header.trained_on.survey
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
    /// Which of the two should answer the survey's alerts is not said.
    #[error(
        "models {} and {} were both trained on {survey} alerts: a stream answers each alert \
         with the one model of its survey; give at most one model per survey",
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
            if let Some(b) = models[..i].iter().find(|b| b.survey() == a.survey()) {
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
    pub fn load(paths: &[PathBuf], backend: crate::backend::BackendChoice) -> anyhow::Result<Self> {
        let models = paths
            .iter()
            .map(|p| StreamModel::load(p, backend))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self::new(models)?)
    }

    /// Whether any model reads stamps (tree models do not: the stream then skips decoding
    /// them, which is most of the cost of reading an alert).
    pub fn reads_stamps(&self) -> bool {
        self.models
            .iter()
            .any(|m| !matches!(m.model.header.kind, crate::model::file::ModelKind::Trees))
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

    fn for_survey(&self, survey: Survey) -> Option<&StreamModel> {
        self.models.iter().find(|m| m.survey() == survey)
    }

    /// Why an alert of `survey` is not answered: no model of its survey was given.
    fn no_model_for(&self, survey: Survey, message: &str) -> String {
        match self.models.first() {
            Some(m) if self.models.len() == 1 => m
                .model
                .header
                .check_survey(&m.path, survey, message)
                .err()
                .map_or_else(String::new, |e| e.to_string()),
            _ => format!(
                "{message}: no model trained on {survey} alerts was given (--model); the \
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
        // Per object, the alerts of this batch in arrival order: round r answers each
        // object's r-th alert, so that one classify call sees each object once.
        let mut rounds: Vec<Vec<usize>> = Vec::new();
        let mut seen_in_batch: HashMap<(Survey, String), usize> = HashMap::new();
        let mut lsst: Vec<usize> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let summary = item.alert.summary();
            let model = self.for_survey(summary.survey);
            let mut result = StreamResult {
                survey: summary.survey,
                object_id: summary.object_id.clone(),
                alert_id: summary.alert_id,
                k: 0,
                mjd: summary.mjd,
                model: model.map(|m| m.model.name().to_string()),
                classes: model.map_or_else(Vec::new, |m| m.model.classes().to_vec()),
                probabilities: Vec::new(),
                std: Vec::new(),
                uncertainty: None,
                disagreement: None,
                top_class: None,
                uncertain: true,
                rule: None,
                skipped: None,
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
                ztf: match &item.alert {
                    AnyAlert::Ztf(a) => Some(Box::new(a.clone())),
                    AnyAlert::Lsst(_) => None,
                },
                lsst: match &item.alert {
                    AnyAlert::Lsst(a) if self.reads_lsst_history() => Some(a.clone()),
                    _ => None,
                },
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
            if model.is_none() {
                result.skipped = Some(self.no_model_for(
                    object.0,
                    &format!("{}[{}]@{}", item.topic, item.partition, item.offset),
                ));
            } else if matches!(item.alert, AnyAlert::Ztf(_)) {
                let round = seen_in_batch.entry(object).or_insert(0);
                if rounds.len() <= *round {
                    rounds.push(Vec::new());
                }
                rounds[*round].push(i);
                *round += 1;
            } else {
                // The LSST model: a tree model or a single-alert network answers the
                // alert on its own (it carries its object's history); a temporal network
                // with the object's alerts held, as `classify` answers it.
                lsst.push(i);
            }
            results.push(result);
        }
        if !lsst.is_empty() {
            self.answer_lsst(states, items, &lsst, &mut results);
        }

        let cancel = AtomicBool::new(false);
        let ztf_model = self.for_survey(Survey::Ztf);
        for round in rounds {
            // Rounds only hold alerts of a survey with a model.
            let Some(m) = ztf_model else {
                break;
            };
            let mut sequences = Vec::with_capacity(round.len());
            let mut wanted: HashMap<(String, Option<i64>), usize> = HashMap::new();
            for &i in &round {
                let item = &items[i];
                let AnyAlert::Ztf(alert) = &item.alert else {
                    continue;
                };
                let Some(state) = states.get(&(item.topic.clone(), item.partition)) else {
                    continue;
                };
                // The alert's place now that the whole batch is in (a later message may hold
                // an earlier detection).
                if let Some((k, seq)) = state.ztf_sequence_through(&alert.object_id, alert.candid) {
                    results[i].k = k;
                    wanted.insert((alert.object_id.clone(), alert.candid), i);
                    sequences.push(seq);
                }
            }
            match m
                .model
                .classify(&sequences, &self.options, &m.device, &cancel, &|_, _| {})
            {
                Ok(output) => {
                    for row in output.rows {
                        let Some(&i) = wanted.get(&(row.object_id.clone(), row.candid)) else {
                            continue;
                        };
                        let (uncertainty, uncertain) =
                            answer_uncertainty(&row.probabilities, &row.std, row.disagreement);
                        let r = &mut results[i];
                        r.uncertainty = uncertainty;
                        r.uncertain = uncertain;
                        r.top_class = Some(row.top_class);
                        r.probabilities = row.probabilities;
                        r.std = row.std;
                        r.disagreement = row.disagreement;
                        r.rule = row.rule;
                    }
                    for s in output.skipped {
                        if let Some(&i) = wanted
                            .iter()
                            .find(|((o, _), &i)| *o == s.object_id && results[i].k == s.k)
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
        results
    }

    /// Whether the LSST model reads an object's earlier alerts (a temporal network), so
    /// that the state keeps LSST alerts whole in memory.
    fn reads_lsst_history(&self) -> bool {
        self.reads_earlier_stamps(Survey::Lsst)
    }

    /// Whether the model of `survey` reads the stamps of an object's earlier alerts (a
    /// temporal network), so that the state must keep them across a restart.
    fn reads_earlier_stamps(&self, survey: Survey) -> bool {
        self.for_survey(survey)
            .is_some_and(|m| matches!(m.model.header.kind, crate::model::file::ModelKind::Temporal))
    }

    /// Whether any model of the stream reads earlier stamps: then each message body goes
    /// with its alerts to the state.
    pub fn keeps_messages(&self) -> bool {
        [Survey::Ztf, Survey::Lsst]
            .into_iter()
            .any(|s| self.reads_earlier_stamps(s))
    }

    /// The LSST alerts `indices` of `items`, answered by the LSST model.
    fn answer_lsst(
        &self,
        states: &States,
        items: &[Incoming],
        indices: &[usize],
        results: &mut [StreamResult],
    ) {
        let Some(m) = self.for_survey(Survey::Lsst) else {
            return;
        };
        let cancel = AtomicBool::new(false);
        if self.reads_lsst_history() {
            // Each alert with its object's alerts held up to it: the causal answer after
            // that detection, as `classify` gives it on the same alerts.
            for &i in indices {
                let item = &items[i];
                let AnyAlert::Lsst(alert) = &item.alert else {
                    continue;
                };
                let alerts = object_of(&item.alert)
                    .and_then(|(_, key)| {
                        states
                            .get(&(item.topic.clone(), item.partition))?
                            .lsst_alerts_through(&key, alert.alert_id)
                    })
                    .unwrap_or_else(|| vec![(**alert).clone()]);
                match m.model.classify_lsst(&alerts, &cancel) {
                    Ok(output) => {
                        let row = output
                            .rows
                            .iter()
                            .find(|r| r.candid == Some(alert.alert_id));
                        fill(&mut results[i], row);
                    }
                    Err(e) => results[i].skipped = Some(e.to_string()),
                }
            }
            return;
        }
        let alerts: Vec<crate::alert::lsst::LsstAlert> = indices
            .iter()
            .filter_map(|&i| match &items[i].alert {
                AnyAlert::Lsst(a) => Some((**a).clone()),
                AnyAlert::Ztf(_) => None,
            })
            .collect();
        match m.model.classify_lsst(&alerts, &cancel) {
            Ok(output) => {
                let by_alert: HashMap<i64, crate::classify::ClassRow> = output
                    .rows
                    .into_iter()
                    .filter_map(|r| Some((r.candid?, r)))
                    .collect();
                for &i in indices {
                    let row = results[i].alert_id.and_then(|id| by_alert.get(&id));
                    fill(&mut results[i], row);
                }
            }
            Err(e) => {
                for &i in indices {
                    results[i].skipped = Some(e.to_string());
                }
            }
        }
    }
}

/// An answer's row into its result, or why there is none.
fn fill(r: &mut StreamResult, row: Option<&crate::classify::ClassRow>) {
    let Some(row) = row else {
        r.skipped = Some("the model gave no answer".into());
        return;
    };
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
