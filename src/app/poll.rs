//! Applying what the background jobs report to the app's state.

use super::jobs::JobEvent;
use super::StampseqApp;

impl StampseqApp {
    /// Applies what the background jobs reported.
    pub fn poll_jobs(&mut self) {
        for event in self.jobs.poll() {
            match event {
                JobEvent::Loaded {
                    alerts, summary, ..
                } => {
                    let keep = self.selected_object_id();
                    let n = alerts.len();
                    let unassociated = self.catalog.add_alerts(alerts);
                    let unlisted = if unassociated > 0 {
                        format!(
                            " {unassociated} LSST alerts name no object (diaObjectId and \
                             ssObjectId 0) and are not listed."
                        )
                    } else {
                        String::new()
                    };
                    self.messages.push(format!(
                        "Loaded {n} alerts from {} files ({} errors).{unlisted}",
                        summary.files,
                        summary.errors.len()
                    ));
                    self.load_errors.extend(summary.errors);
                    match keep {
                        Some(id) => {
                            self.select_object_id(&id);
                        }
                        None if !self.catalog.rows.is_empty() => self.selection.object = None,
                        None => {}
                    }
                    for path in self.model_paths.clone() {
                        self.jobs.classify(
                            path,
                            self.backend,
                            self.catalog.sequences.clone(),
                            self.catalog.lsst.clone(),
                            self.allwise_for_models(),
                            !self.prefs.raw_model_output,
                        );
                    }
                }
                JobEvent::Classified {
                    predictions,
                    backend,
                    skipped,
                    ..
                } => self.on_classified(predictions, backend, skipped),
                JobEvent::FineTuned { report, .. } => {
                    let before = report.before.as_ref().map_or("—".into(), |c| {
                        format!("{:.1} %", 100.0 * c.balanced_accuracy)
                    });
                    let after = report.after.as_ref().map_or("—".into(), |c| {
                        format!("{:.1} %", 100.0 * c.balanced_accuracy)
                    });
                    self.messages.push(format!(
                        "Fine-tuned on {} of your labels: balanced accuracy on {} labels, each judged out of fold, {before} -> {after}; {} answers changed. Wrote {} (the old model is kept; Model > switch back).",
                        report.user_train_objects,
                        report.user_validation_objects.len(),
                        report.answers_changed,
                        report.new_model.display()
                    ));
                    let report_md = report.new_model.with_extension("md");
                    let _ = crate::atomic::write_atomic(
                        &report_md,
                        crate::experiments::finetune::render_report(&report).as_bytes(),
                    );
                    self.promote_on_arrival =
                        Some(crate::app::predictions::display_name(&report.new_model, ""));
                    self.load_model(report.new_model.clone());
                }
                JobEvent::AllWiseLoaded {
                    job,
                    path,
                    catalogue,
                } => {
                    if self.allwise.loading == Some(job) {
                        self.allwise.loading = None;
                    }
                    self.messages.push(format!(
                        "AllWISE: {} sources from {}.",
                        catalogue.len(),
                        path.display()
                    ));
                    self.allwise.catalogue = Some(catalogue);
                    self.allwise.path = Some(path);
                    // The default answer reads the mid-infrared colour: answer again.
                    if !self.catalog.sequences.is_empty() {
                        for model in self.model_paths.clone() {
                            let trees = crate::model::file::read_header(&model)
                                .is_ok_and(|h| h.kind == crate::model::file::ModelKind::Trees);
                            if trees {
                                self.jobs.classify(
                                    model,
                                    self.backend,
                                    self.catalog.sequences.clone(),
                                    self.catalog.lsst.clone(),
                                    self.allwise_for_models(),
                                    !self.prefs.raw_model_output,
                                );
                            }
                        }
                    }
                }
                JobEvent::Training { event, .. } => self.training.on_event(event),
                JobEvent::Trained { out, summary, .. } => {
                    self.training.job = None;
                    self.training.cancel = None;
                    let best = out.join("best.stampseq");
                    self.training.finished_model = best.is_file().then_some(best);
                    self.training.status = summary.clone();
                    self.messages.push(summary);
                }
                JobEvent::Failed { job, error } => {
                    if self.allwise.loading == Some(job) {
                        self.allwise.loading = None;
                        self.allwise.error = Some(error.clone());
                    }
                    if self.training.job == Some(job) {
                        self.training.job = None;
                        self.training.cancel = None;
                        self.training.status = error.clone();
                    }
                    self.messages.push(error)
                }
                JobEvent::Exported { path, .. } => self
                    .messages
                    .push(format!("plot written to {}", path.display())),
                JobEvent::Progress { .. } => {}
            }
        }
    }

    /// A model's answers arrived: kept, shown first if they were waited for, and the
    /// stand-in asked for the objects no loaded model reads.
    fn on_classified(
        &mut self,
        predictions: crate::app::predictions::ModelPredictions,
        backend: String,
        skipped: usize,
    ) {
        self.messages.push(format!(
            "{} classified {} objects ({skipped} detections skipped).",
            predictions.model,
            predictions.by_object.len()
        ));
        self.model_device = Some(backend);
        let name = predictions.model.clone();
        self.predictions.insert(predictions);
        // After the first loaded model's answers, so that the stand-in's
        // answers always come last.
        let first = self
            .model_paths
            .first()
            .map(|p| crate::app::predictions::display_name(p, ""));
        if first.as_deref() == Some(name.as_str()) {
            self.answer_other_surveys();
        }
        if self.promote_on_arrival.as_deref() == Some(name.as_str()) {
            self.promote_on_arrival = None;
            self.previous_model = self.predictions.models.first().map(|m| m.model.clone());
            self.predictions.promote(&name);
            self.invalidate_visible();
        }
    }
}
