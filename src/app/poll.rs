//! Applying what the background jobs report to the app's state.

use super::jobs::{FileDone, JobEvent};
use super::StampseqApp;

impl StampseqApp {
    /// Applies what the background jobs reported.
    pub fn poll_jobs(&mut self) {
        self.state.poll_label_writes();
        for event in self.state.jobs.poll() {
            match event {
                JobEvent::Loaded {
                    alerts, summary, ..
                } => self.on_loaded(alerts, summary),
                JobEvent::Classified {
                    predictions,
                    backend,
                    skipped,
                    ..
                } => self.on_classified(predictions, backend, skipped),
                JobEvent::FineTuned { report, .. } => self.on_finetuned(&report),
                JobEvent::AllWiseLoaded {
                    job,
                    path,
                    catalogue,
                } => self.on_allwise(job, path, catalogue),
                JobEvent::Training { event, .. } => self.state.training.on_event(event),
                JobEvent::Trained { best, summary, .. } => {
                    let run = &mut self.state.training;
                    run.job = None;
                    run.cancel = None;
                    run.finished_model = best;
                    run.status = summary.clone();
                    self.state.messages.push(summary);
                }
                JobEvent::FileDone { done, .. } => self.on_file_done(done),
                JobEvent::Failed { job, error } => self.on_failed(job, error),
                JobEvent::Exported { path, .. } => self
                    .state
                    .messages
                    .push(format!("plot written to {}", path.display())),
                JobEvent::Progress { .. } | JobEvent::Idle { .. } => {}
            }
        }
    }

    /// Alerts read: they join the catalogue, the selection stays on its object, and every
    /// model in use answers again.
    fn on_loaded(
        &mut self,
        alerts: Vec<crate::alert::AnyAlert>,
        summary: crate::alert::ReadSummary,
    ) {
        let keep = self.state.selected_object_id();
        let n = alerts.len();
        let unassociated = self.state.catalog.add_alerts(alerts);
        let unlisted = if unassociated > 0 {
            format!(
                " {unassociated} LSST alerts name no object (diaObjectId and \
                 ssObjectId 0) and are not listed."
            )
        } else {
            String::new()
        };
        self.state.messages.push(format!(
            "Loaded {n} alerts from {} files ({} errors).{unlisted}",
            summary.files,
            summary.errors.len()
        ));
        self.state.load_errors.extend(summary.errors);
        match keep {
            Some(id) => {
                self.select_object_id(&id);
            }
            None if !self.state.catalog.rows.is_empty() => self.state.selection.object = None,
            None => {}
        }
        for path in self.state.models.paths.clone() {
            self.classify_with(path);
        }
    }

    /// Runs a model file over everything loaded, as the preferences say.
    pub(super) fn classify_with(&mut self, path: std::path::PathBuf) {
        let request = self.classify_request(self.allwise_for_models());
        self.state.jobs.classify(path, request);
    }

    /// A fine-tuned model was written (its report beside it): it loads, and the browser
    /// shows its answers once they come.
    fn on_finetuned(&mut self, report: &crate::experiments::finetune::FinetuneReport) {
        let accuracy = |c: Option<&crate::experiments::finetune::Comparison>| {
            c.map_or("—".into(), |c| {
                format!("{:.1} %", 100.0 * c.balanced_accuracy)
            })
        };
        let (before, after) = (
            accuracy(report.before.as_ref()),
            accuracy(report.after.as_ref()),
        );
        self.state.messages.push(format!(
            "Fine-tuned on {} of your labels: balanced accuracy on {} labels, each judged out of fold, {before} -> {after}; {} answers changed. Wrote {} (the old model is kept; Model > switch back).",
            report.user_train_objects,
            report.user_validation_objects.len(),
            report.answers_changed,
            report.new_model.display()
        ));
        self.state.models.promote_on_arrival =
            Some(crate::app::predictions::display_name(&report.new_model, ""));
        self.load_model(report.new_model.clone());
    }

    fn on_allwise(
        &mut self,
        job: u64,
        path: std::path::PathBuf,
        catalogue: std::sync::Arc<crate::features::allwise::AllWiseCatalogue>,
    ) {
        let state = &mut self.state;
        if state.allwise.loading == Some(job) {
            state.allwise.loading = None;
        }
        state.messages.push(format!(
            "AllWISE: {} sources from {}.",
            catalogue.len(),
            path.display()
        ));
        state.allwise.catalogue = Some(catalogue);
        state.allwise.path = Some(path);
        // The mid-infrared colour rule passes every model's answer: answer again.
        if !state.catalog.objects.is_empty() {
            for model in state.models.paths.clone() {
                self.classify_with(model);
            }
        }
    }

    fn on_file_done(&mut self, done: FileDone) {
        match done {
            FileDone::Written(message) => self.state.messages.push(message),
            FileDone::SessionLabels(session) => {
                self.state.training.writing_labels = None;
                self.ui.training.fill_from_session(&session);
                self.state.training.status = session.summary;
            }
            FileDone::Crossmatch(table) => self.state.wise = Some(*table),
            FileDone::ForeignLabels(foreign) => {
                self.ui.label_import = Some(super::views::label_import::LabelImport::new(*foreign))
            }
            FileDone::EvaluationLabels(labels) => {
                let e = &mut self.ui.evaluation;
                e.loading = None;
                e.loaded = Some(labels);
                e.error = None;
                e.cell = None;
            }
        }
    }

    /// A job failed: said where it was waited for, and in the status bar.
    fn on_failed(&mut self, job: u64, error: String) {
        let state = &mut self.state;
        if state.allwise.loading == Some(job) {
            state.allwise.loading = None;
            state.allwise.error = Some(error.clone());
        }
        let run = &mut state.training;
        if run.job == Some(job) {
            run.job = None;
            run.cancel = None;
            run.status = error.clone();
        }
        if run.writing_labels == Some(job) {
            run.writing_labels = None;
            run.status = format!("From this session: {error}");
        }
        if self.ui.evaluation.loading == Some(job) {
            self.ui.evaluation.loading = None;
            self.ui.evaluation.error = Some(error.clone());
        }
        state.messages.push(error)
    }

    /// A model's answers arrived: kept, shown first if they were waited for, and the
    /// stand-in asked for the objects no loaded model reads.
    fn on_classified(
        &mut self,
        predictions: crate::app::predictions::ModelPredictions,
        backend: String,
        skipped: usize,
    ) {
        self.state.messages.push(format!(
            "{} classified {} objects ({skipped} detections skipped).",
            predictions.model,
            predictions.by_object.len()
        ));
        self.state.models.device = Some(backend);
        let name = predictions.model.clone();
        self.state.predictions.insert(predictions);
        // After the first loaded model's answers, so that the stand-in's
        // answers always come last.
        let first = self
            .state
            .models
            .paths
            .first()
            .map(|p| crate::app::predictions::display_name(p, ""));
        if first.as_deref() == Some(name.as_str()) {
            self.answer_other_surveys();
        }
        if self.state.models.promote_on_arrival.as_deref() == Some(name.as_str()) {
            self.state.models.promote_on_arrival = None;
            self.state.models.previous = self
                .state
                .predictions
                .models
                .first()
                .map(|m| m.model.clone());
            self.state.predictions.promote(&name);
            self.state.invalidate_visible();
        }
    }
}
