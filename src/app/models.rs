//! The app's models: loading one and running it on what is loaded, the bundled neutral
//! model standing in for LSST objects no loaded model reads, switching the browser's
//! model, and fine-tuning on the vetting labels.

use super::StampseqApp;
use std::path::PathBuf;

impl StampseqApp {
    /// Starts fine-tuning the browser's model (a tree model, the default answer) on the
    /// vetting labels, on a worker; the new model loads beside the old when it is written.
    pub fn start_finetune(&mut self) {
        let Some(first) = self
            .state
            .predictions
            .models
            .first()
            .map(|m| m.model.clone())
        else {
            self.state
                .messages
                .push("Fine-tune: load a model first (the default answer).".into());
            return;
        };
        let Some(base) = self
            .state
            .model_paths
            .iter()
            .find(|p| crate::app::predictions::display_name(p, "") == first)
            .cloned()
        else {
            self.state
                .messages
                .push(format!("Fine-tune: the file of {first} is not known."));
            return;
        };
        let labels = match &self.state.labels {
            Some(store) if !store.is_empty() => store.all().clone(),
            _ => {
                self.state
                    .messages
                    .push("Fine-tune: vet some objects first (keys 1-5).".into());
                return;
            }
        };
        let lsst_labelled = self
            .state
            .catalog
            .lsst
            .iter()
            .any(|o| labels.contains_key(&crate::app::state::lsst_key(o)));
        let model_paths = self.state.model_paths.clone();
        let browsers = base.clone();
        self.state.jobs.finetune(
            &browsers,
            move || finetune_base(base, lsst_labelled, &model_paths),
            labels,
            self.state.catalog.sequences.clone(),
            self.state.catalog.lsst.clone(),
            self.state.finetune_config.clone(),
        );
    }

    /// Shows the previous model's answers in the browser again (and back).
    pub fn switch_model(&mut self) {
        let Some(previous) = self.state.previous_model.clone() else {
            self.state
                .messages
                .push("No previous model to switch to.".into());
            return;
        };
        let current = self
            .state
            .predictions
            .models
            .first()
            .map(|m| m.model.clone());
        if self.state.predictions.promote(&previous) {
            self.state.previous_model = current;
            self.state.invalidate_visible();
            self.state
                .messages
                .push(format!("The browser shows {previous}'s answers."));
        }
    }

    /// LSST objects loaded and no loaded model that reads them: the bundled neutral model
    /// answers them (only them: the ZTF objects keep their own models), marked transferred.
    pub fn answer_other_surveys(&mut self) {
        use crate::alert::neutral::Survey;
        if self.state.catalog.lsst.is_empty() || self.state.model_paths.is_empty() {
            return;
        }
        let reads_lsst = self
            .state
            .model_paths
            .iter()
            .any(|p| crate::model::file::read_header(p).is_ok_and(|h| h.reads(Survey::Lsst)));
        if reads_lsst {
            return;
        }
        if let Some(neutral) = crate::assets::neutral_model() {
            self.state.jobs.classify(
                neutral,
                self.state.backend,
                std::sync::Arc::new(Vec::new()),
                self.state.catalog.lsst.clone(),
                None,
                !self.ui.prefs.raw_model_output,
            );
        }
    }

    /// Every loaded model answers everything again (the rules switched on or off).
    pub fn answer_again(&mut self) {
        for path in self.state.model_paths.clone() {
            self.load_model(path);
        }
        self.state.messages.push(if self.ui.prefs.raw_model_output {
            "Showing each model's raw output: no physics rules after it.".into()
        } else {
            "The physics rules pass every model's answer again.".into()
        });
    }

    /// Adds a model file and runs it on everything loaded.
    pub fn load_model(&mut self, path: PathBuf) {
        if !self.state.model_paths.contains(&path) {
            self.state.model_paths.push(path.clone());
        }
        self.classify_with(path);
    }
}

/// The model a fine-tune starts from: the browser's, unless the labels are on LSST objects
/// it does not read; then the loaded model that reads them, else the bundled neutral model
/// (which vetting thus turns into an LSST model). Reads model files: on the worker.
fn finetune_base(browsers: PathBuf, lsst_labelled: bool, model_paths: &[PathBuf]) -> PathBuf {
    use crate::alert::neutral::Survey;
    let reads_lsst =
        |p: &PathBuf| crate::model::file::read_header(p).is_ok_and(|h| h.reads(Survey::Lsst));
    if !lsst_labelled || reads_lsst(&browsers) {
        return browsers;
    }
    model_paths
        .iter()
        .rev()
        .find(|p| reads_lsst(p))
        .cloned()
        .or_else(crate::assets::neutral_model)
        .unwrap_or(browsers)
}
