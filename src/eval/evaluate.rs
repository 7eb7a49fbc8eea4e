//! Evaluation of a model file on labelled sequences: metrics at each object's last
//! classified detection, the accuracy after each number of detections, inference time.

use crate::classify::{ClassifyOptions, LoadedModel};
use crate::eval::metrics::{ConfusionMatrix, Metrics};
use crate::model::probs::argmax;
use crate::sequence::neutral::AlertObject;
use burn::tensor::Device;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// No labelled object carries a label the model answers with.
    #[error("no labelled sequence with one of the model's classes ({})", classes.join(", "))]
    NoLabelledSequence { classes: Vec<String> },
    #[error(transparent)]
    Labels(#[from] crate::labels::LabelError),
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Plot(#[from] crate::eval::plots::PlotError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
}

/// Accuracy after exactly `n` detections, over the objects that have them.
#[derive(Debug, Clone, Serialize)]
pub struct PerN {
    pub n: usize,
    pub objects: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub classes: Vec<String>,
    pub objects: usize,
    /// Objects whose label is not among the model's classes, by label.
    pub skipped_labels: BTreeMap<String, usize>,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub metrics: Metrics,
    pub confusion_row_normalised: Vec<Vec<f64>>,
    pub per_n: Vec<PerN>,
    pub mean_inference_ms_per_sequence: f64,
}

/// `objectId,label` rows (see [`crate::labels::read_labels_csv`]).
pub fn read_labels(path: &Path) -> Result<HashMap<String, String>, EvalError> {
    crate::labels::read_labels_csv(path)
        .map(|m| m.into_iter().collect())
        .map_err(EvalError::from)
}

/// Classifies the labelled sequences' first `max_detections` and writes `metrics.json`,
/// `per_n.csv`, `per_class.csv` and `confusion.csv` into `out`.
pub fn evaluate<O: AlertObject>(
    model: &LoadedModel,
    sequences: &[O],
    labels: &HashMap<String, String>,
    max_detections: usize,
    device: &Device,
    out: &Path,
) -> Result<EvalReport, EvalError> {
    evaluate_with(
        model,
        sequences,
        labels,
        max_detections,
        &ClassifyOptions::default(),
        device,
        out,
    )
}

/// [`evaluate`], answering as `answer` says: its physics rules (on, or off for the raw
/// output) and class priors; the detections and the look-ahead are the evaluation's own.
pub fn evaluate_with<O: AlertObject>(
    model: &LoadedModel,
    sequences: &[O],
    labels: &HashMap<String, String>,
    max_detections: usize,
    answer: &ClassifyOptions,
    device: &Device,
    out: &Path,
) -> Result<EvalReport, EvalError> {
    let classes = model.classes().to_vec();
    let mut skipped_labels = BTreeMap::new();
    let mut truth = HashMap::new();
    let mut kept = Vec::new();
    for s in sequences {
        let Some(label) = labels.get(s.name()) else {
            continue;
        };
        match classes.iter().position(|c| c == label) {
            Some(c) => {
                truth.insert(s.name().to_string(), c);
                kept.push(s);
            }
            None => *skipped_labels.entry(label.clone()).or_insert(0) += 1,
        }
    }
    if kept.is_empty() {
        return Err(EvalError::NoLabelledSequence { classes });
    }
    let options = ClassifyOptions {
        max_detections,
        // Scores after N detections: no rule may look ahead.
        look_ahead_for_stationary: false,
        only_last: false,
        ..answer.clone()
    };
    let started = std::time::Instant::now();
    let output = model.classify(&kept, &options, device, &AtomicBool::new(false), &|_, _| {})?;
    let elapsed = started.elapsed().as_secs_f64();
    score(
        model,
        &truth,
        &output,
        elapsed,
        kept.len(),
        skipped_labels,
        out,
    )
}

/// Metrics at each object's last answered alert, per detection count, and the files.
fn score(
    model: &LoadedModel,
    truth: &HashMap<String, usize>,
    output: &crate::classify::ClassifyOutput,
    elapsed: f64,
    objects: usize,
    skipped_labels: BTreeMap<String, usize>,
    out: &Path,
) -> Result<EvalReport, EvalError> {
    let classes = model.classes().to_vec();
    let n_max = output.rows.iter().map(|r| r.k).max().unwrap_or(0);
    let mut per_k: Vec<ConfusionMatrix> =
        (0..n_max).map(|_| ConfusionMatrix::new(&classes)).collect();
    let mut last: HashMap<&str, (usize, usize)> = HashMap::new();
    for r in &output.rows {
        let (Some(&t), Some(p)) = (truth.get(&r.object_id), argmax(&r.probabilities)) else {
            continue;
        };
        per_k[r.k - 1].add(t, p);
        let e = last.entry(r.object_id.as_str()).or_insert((0, p));
        if r.k >= e.0 {
            *e = (r.k, p);
        }
    }
    let mut overall = ConfusionMatrix::new(&classes);
    for (id, (_, p)) in &last {
        if let Some(&t) = truth.get(*id) {
            overall.add(t, *p);
        }
    }
    let metrics = overall.metrics();
    let per_n: Vec<PerN> = per_k
        .iter()
        .enumerate()
        .map(|(i, cm)| {
            let m = cm.metrics();
            PerN {
                n: i + 1,
                objects: cm.total() as usize,
                accuracy: m.accuracy,
                macro_f1: m.macro_f1,
            }
        })
        .collect();
    let report = EvalReport {
        model: model.name().to_string(),
        classes: classes.clone(),
        objects: last.len(),
        skipped_labels,
        accuracy: metrics.accuracy,
        macro_f1: metrics.macro_f1,
        confusion_row_normalised: overall.row_normalised(),
        metrics,
        per_n,
        mean_inference_ms_per_sequence: 1e3 * elapsed / objects.max(1) as f64,
    };
    write_outputs(&report, &overall, out)?;
    Ok(report)
}

fn write_outputs(report: &EvalReport, cm: &ConfusionMatrix, out: &Path) -> Result<(), EvalError> {
    let write = |name: &str, text: String| {
        let path = out.join(name);
        crate::atomic::write_atomic(&path, text.as_bytes())
            .map_err(|source| EvalError::Io { path, source })
    };
    let json = serde_json::to_string_pretty(report).map_err(|source| EvalError::Json {
        path: out.join("metrics.json"),
        source,
    })?;
    write("metrics.json", json)?;
    crate::eval::plots::confusion_matrix(
        cm,
        &format!("{}: {} objects", report.model, report.objects),
        &out.join("confusion_matrix.png"),
        &out.join("confusion_matrix.svg"),
    )?;
    let mut s = String::from("n,objects,accuracy,macro_f1\n");
    for p in &report.per_n {
        s.push_str(&format!(
            "{},{},{:.4},{:.4}\n",
            p.n, p.objects, p.accuracy, p.macro_f1
        ));
    }
    write("per_n.csv", s)?;
    let mut s = String::from("class,precision,recall,f1,support\n");
    for c in &report.metrics.per_class {
        s.push_str(&format!(
            "{},{:.4},{:.4},{:.4},{}\n",
            c.class, c.precision, c.recall, c.f1, c.support
        ));
    }
    write("per_class.csv", s)?;
    let mut s = format!("true\\predicted,{}\n", cm.classes.join(","));
    for (c, row) in cm.classes.iter().zip(&cm.counts) {
        let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        s.push_str(&format!("{c},{}\n", cells.join(",")));
    }
    write("confusion.csv", s)?;
    Ok(())
}
