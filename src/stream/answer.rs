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
}

/// The model a stream answers with.
pub struct Answerer {
    pub model: LoadedModel,
    pub model_path: PathBuf,
    pub device: Device,
    pub options: ClassifyOptions,
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
    pub fn new(model: LoadedModel, model_path: PathBuf, device: Device) -> Self {
        Self {
            model,
            model_path,
            device,
            options: ClassifyOptions {
                max_detections: 0,
                batch_size: 4096,
                production_rules: false,
                look_ahead_for_stationary: false,
                only_last: true,
                allwise: None,
            },
        }
    }

    /// Loads a model file for a stream (the CLI's and the app's). A tree model runs on the
    /// CPU whatever is asked: probing for a GPU would only cost the start-up (and print the
    /// windowing system's complaints on a server).
    pub fn load(
        path: &std::path::Path,
        backend: crate::backend::BackendChoice,
    ) -> anyhow::Result<Self> {
        let trees = crate::model::file::read_header(path)
            .is_ok_and(|h| matches!(h.kind, crate::model::file::ModelKind::Trees));
        let backend = if trees {
            crate::backend::BackendChoice::Cpu.resolve()
        } else {
            backend.resolve()
        };
        let model = LoadedModel::load_for(path, &backend)?;
        Ok(Self::new(model, path.to_path_buf(), backend.device))
    }

    /// Whether the model reads stamps (tree models do not: the stream then skips decoding
    /// them, which is most of the cost of reading an alert).
    pub fn reads_stamps(&self) -> bool {
        !matches!(self.model.header.kind, crate::model::file::ModelKind::Trees)
    }

    /// Places every alert in its partition's state and answers it. Alerts of partitions
    /// this consumer does not hold are not expected (the caller drops them at a revoke).
    pub fn answer(&self, states: &mut States, items: &[Incoming]) -> Vec<StreamResult> {
        let classes = self.model.classes().to_vec();
        let mut results: Vec<StreamResult> = Vec::with_capacity(items.len());
        // Per object, the alerts of this batch in arrival order: round r answers each
        // object's r-th alert, so that one classify call sees each object once.
        let mut rounds: Vec<Vec<usize>> = Vec::new();
        let mut seen_in_batch: HashMap<(Survey, String), usize> = HashMap::new();
        let mut lsst: Vec<usize> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let summary = item.alert.summary();
            let mut result = StreamResult {
                survey: summary.survey,
                object_id: summary.object_id.clone(),
                alert_id: summary.alert_id,
                k: 0,
                mjd: summary.mjd,
                model: Some(self.model.name().to_string()),
                classes: classes.clone(),
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
            };
            if let Some(state) = state {
                result.k = state.insert(stored).k;
            } else {
                result.skipped = Some("its partition is no longer this consumer's".into());
                results.push(result);
                continue;
            }
            if let Err(e) = self.model.header.check_survey(
                &self.model_path,
                object.0,
                &format!("{}[{}]@{}", item.topic, item.partition, item.offset),
            ) {
                result.skipped = Some(e.to_string());
            } else if matches!(item.alert, AnyAlert::Ztf(_)) {
                let round = seen_in_batch.entry(object).or_insert(0);
                if rounds.len() <= *round {
                    rounds.push(Vec::new());
                }
                rounds[*round].push(i);
                *round += 1;
            } else {
                // An LSST model: the alert carries its object's history, so it is answered
                // on its own, as `classify` answers it.
                lsst.push(i);
            }
            results.push(result);
        }
        if !lsst.is_empty() {
            self.answer_lsst(items, &lsst, &mut results);
        }

        let cancel = AtomicBool::new(false);
        for round in rounds {
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
            match self
                .model
                .classify(&sequences, &self.options, &self.device, &cancel, &|_, _| {})
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

    /// The LSST alerts `indices` of `items`, answered by an LSST model.
    fn answer_lsst(&self, items: &[Incoming], indices: &[usize], results: &mut [StreamResult]) {
        let alerts: Vec<crate::alert::lsst::LsstAlert> = indices
            .iter()
            .filter_map(|&i| match &items[i].alert {
                AnyAlert::Lsst(a) => Some((**a).clone()),
                AnyAlert::Ztf(_) => None,
            })
            .collect();
        match self.model.classify_lsst(&alerts, &AtomicBool::new(false)) {
            Ok(output) => {
                let by_alert: HashMap<i64, crate::classify::ClassRow> = output
                    .rows
                    .into_iter()
                    .filter_map(|r| Some((r.candid?, r)))
                    .collect();
                for &i in indices {
                    let r = &mut results[i];
                    let Some(row) = r.alert_id.and_then(|id| by_alert.get(&id)) else {
                        r.skipped = Some("the model gave no answer".into());
                        continue;
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
            }
            Err(e) => {
                for &i in indices {
                    results[i].skipped = Some(e.to_string());
                }
            }
        }
    }
}
