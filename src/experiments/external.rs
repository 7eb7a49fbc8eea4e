//! A source outside the grouped validation altogether: ALeRCE's stamp classifier test set
//! (alercebroker/pipeline), 51 records labelled by ALeRCE, none of them among the shared
//! objects. Every model is scored on it as the benchmark leaves it (the bundled networks
//! and the trees trained on the split, the fused default), so no model has seen this
//! source. The records carry no observation time and 30 of them no metadata: the table
//! gives the records with metadata (what a real alert carries) and all of them apart.

use super::benchmark::{score, Answers, BenchmarkError, TaskScore};
use crate::backend::ResolvedBackend;
use crate::classify::LoadedModel;
use crate::model::file::ModelKind;
use crate::sequence::neutral::{group_objects, ObjectSequence};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// The set, under the shared data folder.
pub const ALERCE_TEST_SET: &str = "ztf/aux/alerce_stamp_classifier_test_stamps.avro";
/// The classes scored: those with at least three records (one SN and two bogus are not).
pub const EXTERNAL_CLASSES: [&str; 3] = ["AGN", "VS", "asteroid"];

#[derive(Debug, Clone, Serialize)]
pub struct ExternalReport {
    pub set: PathBuf,
    /// Records scored per class, all of them and those with metadata.
    pub objects: BTreeMap<String, (usize, usize)>,
    /// Records left out because their object is among the shared objects.
    pub shared_objects_left_out: usize,
    pub rows: Vec<ExternalRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExternalRow {
    pub model: String,
    /// ALeRCE's classifier on its own test set: the same distribution it trained on.
    pub own_distribution: bool,
    pub with_metadata: Option<TaskScore>,
    pub all: Option<TaskScore>,
}

/// The labelled records as objects, with which of them carry metadata.
struct ExternalSet {
    path: PathBuf,
    sequences: Vec<ObjectSequence>,
    truth: Vec<(String, String)>,
    with_metadata: HashSet<String>,
    left_out: usize,
}

impl ExternalSet {
    /// None where the data folder lacks the set; objects of `shared` are left out, so that
    /// no model is judged on an object it may have trained on.
    fn read(data: &Path, shared: &HashSet<&str>) -> Result<Option<Self>, BenchmarkError> {
        let path = data.join(ALERCE_TEST_SET);
        if !path.is_file() {
            return Ok(None);
        }
        let (alerts, summary) = crate::alert::read_all_any(&[&path], &Default::default());
        if let Some(e) = summary.errors.first() {
            return Err(BenchmarkError::Invalid(format!(
                "{}: {} records unreadable, the first: {e}",
                path.display(),
                summary.errors.len()
            )));
        }
        let (mut truth, mut with_metadata, mut kept, mut left_out) =
            (Vec::new(), HashSet::new(), Vec::new(), 0);
        for alert in alerts {
            let Some(ztf) = alert.as_ref().ztf() else {
                continue;
            };
            let (id, Some(label)) = (ztf.object_id.clone(), ztf.label.clone()) else {
                continue;
            };
            if shared.contains(id.as_str()) {
                left_out += 1;
                continue;
            }
            if ztf.candidate.sgscore1.is_some() {
                with_metadata.insert(id.clone());
            }
            truth.push((id, label));
            kept.push(alert);
        }
        let (sequences, _) = group_objects(kept);
        Ok(Some(Self {
            path,
            sequences,
            truth,
            with_metadata,
            left_out,
        }))
    }

    /// Always `class` (the benchmark's training majority), for the table's floor.
    fn majority_row(&self, class: &str) -> ExternalRow {
        let objects: Vec<&ObjectSequence> = self.sequences.iter().collect();
        let answers = Answers::constant(class, &objects);
        ExternalRow {
            model: format!("majority ({class})"),
            own_distribution: false,
            with_metadata: score(&answers, &self.metadata_truth(), &EXTERNAL_CLASSES, None, 7),
            all: score(&answers, &self.truth, &EXTERNAL_CLASSES, None, 7),
        }
    }

    fn metadata_truth(&self) -> Vec<(String, String)> {
        self.truth
            .iter()
            .filter(|(id, _)| self.with_metadata.contains(id))
            .cloned()
            .collect()
    }

    fn score(
        &self,
        models: &[(String, LoadedModel)],
        backend: &ResolvedBackend,
        say: &dyn Fn(&str),
    ) -> Result<ExternalReport, BenchmarkError> {
        let metadata_truth = self.metadata_truth();
        let mut objects = BTreeMap::new();
        for (id, label) in &self.truth {
            if EXTERNAL_CLASSES.contains(&label.as_str()) {
                let n: &mut (usize, usize) = objects.entry(label.clone()).or_default();
                n.0 += 1;
                n.1 += usize::from(self.with_metadata.contains(id));
            }
        }
        let mut rows = Vec::new();
        for (name, model) in models {
            say(&format!("{}: {name}", self.path.display()));
            let answers: Answers = super::answers::classify_all(model, &self.sequences, backend)?;
            rows.push(ExternalRow {
                model: name.clone(),
                own_distribution: model.header.kind == ModelKind::Alerce,
                with_metadata: score(&answers, &metadata_truth, &EXTERNAL_CLASSES, None, 7),
                all: score(&answers, &self.truth, &EXTERNAL_CLASSES, None, 7),
            });
        }
        Ok(ExternalReport {
            set: self.path.clone(),
            objects,
            shared_objects_left_out: self.left_out,
            rows,
        })
    }
}

/// The benchmark's models on the external set under `data` (objects of `shared` left out),
/// after the answer that is always `majority`: the trees of the split (`trees`, with the name the benchmark gives them) and each model
/// file (the fused default's among them). None where the data folder lacks the set.
pub fn score_external(
    (data, shared, majority): (&Path, &HashSet<&str>, &str),
    trees: (&str, LoadedModel),
    files: &[PathBuf],
    backend: &ResolvedBackend,
    say: &dyn Fn(&str),
) -> Result<Option<ExternalReport>, BenchmarkError> {
    let Some(set) = ExternalSet::read(data, shared)? else {
        return Ok(None);
    };
    let mut models = vec![(trees.0.to_string(), trees.1)];
    for path in files {
        let model = LoadedModel::load_for(path, backend)?;
        models.push((model.name().to_string(), model));
    }
    let mut report = set.score(&models, backend, say)?;
    report.rows.insert(0, set.majority_row(majority));
    Ok(Some(report))
}

/// The table, for the benchmark's Markdown.
pub fn render_external(r: &ExternalReport) -> String {
    let pct = |v: f64| format!("{:.1}", 100.0 * v);
    let count = |c: &str, all: bool| {
        r.objects
            .get(c)
            .map_or(0, |&(a, m)| if all { a } else { m })
    };
    let mut s = format!(
        "\n**A source outside the grouping: ALeRCE's stamp classifier test set** \
         (alercebroker/pipeline; labels by ALeRCE, weak; no object among the shared ones, so \
         every model meets this source for the first time, except ALeRCE's classifier, which \
         was trained on the same distribution). Balanced accuracy over {}, %, ± standard \
         error; records with metadata (sgscore, magnitudes, history counts: what an alert \
         carries) apart from all records (the others hold stamps alone). No record gives an \
         observation time: temporal models answer each at its first detection.\n\n\
         | model | with metadata ({} AGN, {} VS, {} asteroids) | recall AGN / VS / asteroid | all records ({} AGN, {} VS, {} asteroids) | recall AGN / VS / asteroid |\n\
         |---|---|---|---|---|\n",
        EXTERNAL_CLASSES.join(", "),
        count("AGN", false),
        count("VS", false),
        count("asteroid", false),
        count("AGN", true),
        count("VS", true),
        count("asteroid", true),
    );
    let cells = |t: &Option<TaskScore>| match t {
        None => ("–".to_string(), "–".to_string()),
        Some(t) => {
            let recall = EXTERNAL_CLASSES
                .iter()
                .map(|c| {
                    t.metrics
                        .per_class
                        .iter()
                        .find(|p| p.class == *c)
                        .map_or("–".into(), |p| pct(p.recall))
                })
                .collect::<Vec<_>>()
                .join(" / ");
            (
                format!(
                    "**{} ± {}**",
                    pct(t.metrics.balanced_accuracy),
                    pct(t.balanced_accuracy_se)
                ),
                recall,
            )
        }
    };
    for row in &r.rows {
        let (meta, meta_recall) = cells(&row.with_metadata);
        let (all, all_recall) = cells(&row.all);
        let name = if row.own_distribution {
            format!("{} (its own test set)", row.model)
        } else {
            row.model.clone()
        };
        s.push_str(&format!(
            "| {name} | {meta} | {meta_recall} | {all} | {all_recall} |\n"
        ));
    }
    if r.shared_objects_left_out > 0 {
        s.push_str(&format!(
            "\n{} records left out: their objects are among the shared ones.\n",
            r.shared_objects_left_out
        ));
    }
    s
}
