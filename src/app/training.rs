//! A training run started from the training view: its job, the curves it reports, and the
//! vetting labels of this session written for it (a file, so on a worker like every write).

use crate::train::{TrainEvent, Validation};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The run's live state: what the job reported so far.
#[derive(Default)]
pub struct TrainingRun {
    pub job: Option<u64>,
    pub cancel: Option<Arc<AtomicBool>>,
    pub steps: Vec<[f64; 2]>,
    pub validations: Vec<Validation>,
    /// One line on what the run (or the form's "From this session") did last.
    pub status: String,
    pub finished_model: Option<PathBuf>,
    /// The job writing this session's labels for the form, while it runs.
    pub writing_labels: Option<u64>,
}

impl TrainingRun {
    pub fn on_event(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::Loaded {
                train,
                val,
                test,
                from_cache,
                left_out,
                first_left_out,
            } => {
                self.status = format!(
                    "data: {train} training, {val} validation, {test} test objects{}{}",
                    if from_cache { " (from cache)" } else { "" },
                    first_left_out.map_or(String::new(), |first| format!(
                        "; {left_out} detection(s) left out, the first: {first}"
                    ))
                )
            }
            TrainEvent::Resumed { iteration } => {
                self.status = format!("resumed at step {iteration}")
            }
            TrainEvent::Step {
                iteration,
                train_loss,
                ..
            } => self.steps.push([iteration as f64, train_loss as f64]),
            TrainEvent::Validation(v) => {
                self.status = format!(
                    "step {}/{}: validation loss {:.4}, accuracy {:.3}; ETA {:.0} s",
                    v.iteration, v.max_iterations, v.val_loss, v.val_accuracy, v.eta_s
                );
                self.validations.push(v);
            }
            TrainEvent::Finished { .. } => {}
        }
    }

    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// A new run: the curves of the last one go.
    pub fn started(&mut self, job: u64, cancel: Arc<AtomicBool>) {
        self.steps.clear();
        self.validations.clear();
        self.finished_model = None;
        self.status = "reading the data...".into();
        self.job = Some(job);
        self.cancel = Some(cancel);
    }
}

/// What the training form is filled with from this session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionTraining {
    /// The alert files and folders opened, `;`-separated as the form takes them.
    pub data: String,
    /// The labels file written.
    pub labels: PathBuf,
    /// The classes the labels give, most used first, comma-separated.
    pub classes: String,
    /// What was done, for the status line.
    pub summary: String,
}

/// The vetting labels of the loaded objects, to be written for a training run; an error
/// says why this session has nothing to train on.
pub fn session_labels(
    sources: &[PathBuf],
    labels: &BTreeMap<String, String>,
    loaded: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, String)>, String> {
    if sources.is_empty() {
        return Err(
            "no alert file or folder was opened in this session (streamed \
                    alerts are not kept in files)"
                .into(),
        );
    }
    let vetted: Vec<(String, String)> = labels
        .iter()
        .filter(|(id, _)| loaded(id))
        .map(|(id, label)| (id.clone(), label.clone()))
        .collect();
    if vetted.is_empty() {
        return Err("no loaded object is vetted yet (keys 1-5, or import labels)".into());
    }
    Ok(vetted)
}

/// Writes `vetted` to `<out>/vetting-labels.csv` (atomically; LSST solar-system objects by
/// their ssObjectId, as the trainer names them) and says how to fill the form with it.
pub fn write_session_labels(
    out: &Path,
    sources: &[PathBuf],
    vetted: &[(String, String)],
) -> Result<SessionTraining, String> {
    let path = out.join("vetting-labels.csv");
    let failed = |e: &dyn std::fmt::Display| format!("writing {}: {e}", path.display());
    let mut counts: BTreeMap<&str, usize> = Default::default();
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["objectId", "label"])
        .map_err(|e| failed(&e))?;
    for (id, label) in vetted {
        *counts.entry(label.as_str()).or_default() += 1;
        csv.write_record([super::state::survey_id(id), label.as_str()])
            .map_err(|e| failed(&e))?;
    }
    let bytes = csv.into_inner().map_err(|e| failed(&e))?;
    std::fs::create_dir_all(out)
        .and_then(|()| crate::atomic::write_atomic(&path, &bytes))
        .map_err(|e| failed(&e))?;
    let mut classes: Vec<(&str, usize)> = counts.into_iter().collect();
    classes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let summary = format!(
        "{} vetted objects ({}); labels written to {}",
        vetted.len(),
        classes
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        path.display()
    );
    Ok(SessionTraining {
        data: sources
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("; "),
        labels: path,
        classes: classes
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", "),
        summary,
    })
}
