//! The app's models: loading one and running it on what is loaded (which surveys' objects
//! each answers), the bundled neutral model standing in for objects no loaded model reads,
//! switching the browser's model, and fine-tuning on the vetting labels.

use super::StampseqApp;
use crate::alert::neutral::Survey;
use crate::features::allwise::AllWiseCatalogue;
use crate::model::file::ModelHeader;
use crate::sequence::neutral::ObjectSequence;
use std::path::PathBuf;
use std::sync::Arc;

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
            .models
            .paths
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
        // Which surveys' objects are labelled: a fine-tune on LSST labels starts from a
        // model that reads them (chosen on the worker, as it reads model files).
        let lsst_labelled = self.state.catalog.objects.iter().any(|o| {
            o.key.survey == Survey::Lsst && labels.contains_key(&super::state::browser_key(&o.key))
        });
        let model_paths = self.state.models.paths.clone();
        let browsers = base.clone();
        self.state.jobs.finetune(
            &browsers,
            move || finetune_base(base, lsst_labelled, &model_paths),
            labels,
            self.state.catalog.objects.clone(),
            self.state.finetune_config.clone(),
        );
    }

    /// Shows the previous model's answers in the browser again (and back).
    pub fn switch_model(&mut self) {
        let Some(previous) = self.state.models.previous.clone() else {
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
            self.state.models.previous = current;
            self.state.invalidate_visible();
            self.state
                .messages
                .push(format!("The browser shows {previous}'s answers."));
        }
    }

    /// Objects of a survey no loaded model reads: the bundled stand-in answers them, marked
    /// transferred (only them: the other objects keep their own models). Which surveys the
    /// loaded models read is read from their files, on a worker ([`Jobs::stand_in`]).
    ///
    /// [`Jobs::stand_in`]: super::jobs::Jobs::stand_in
    pub fn answer_other_surveys(&mut self) {
        if self.state.catalog.objects.is_empty() || self.state.models.paths.is_empty() {
            return;
        }
        let request = self.classify_request(None);
        let loaded = self.state.models.paths.clone();
        self.state.jobs.stand_in(loaded, request);
    }

    /// What a model answers: everything loaded, with the AllWISE catalogue given (if any),
    /// through the physics rules unless the preferences ask for the raw output.
    pub(super) fn classify_request(
        &self,
        allwise: Option<(Arc<AllWiseCatalogue>, f64)>,
    ) -> ClassifyRequest {
        ClassifyRequest {
            objects: self.state.catalog.objects.clone(),
            backend: self.state.models.backend,
            allwise,
            rules: !self.ui.prefs.raw_model_output,
        }
    }

    /// Every loaded model answers everything again (the rules switched on or off).
    pub fn answer_again(&mut self) {
        for path in self.state.models.paths.clone() {
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
        if !self.state.models.paths.contains(&path) {
            self.state.models.paths.push(path.clone());
        }
        self.classify_with(path);
    }
}

/// What a classify job answers and how: the loaded objects (shared with the catalogue, not
/// copied), the backend, the AllWISE catalogue for the mid-infrared rule, and whether the
/// physics rules pass the answers.
pub struct ClassifyRequest {
    pub objects: Arc<Vec<ObjectSequence>>,
    pub backend: crate::backend::BackendChoice,
    pub allwise: Option<(Arc<AllWiseCatalogue>, f64)>,
    pub rules: bool,
}

/// Whether a model answers the loaded objects of `survey`: those of the surveys it reads,
/// except that a model learnt on another survey's labels (one fine-tuned on LSST objects)
/// leaves ZTF's objects to the models learnt on ZTF's own; LSST has no labels of its own
/// in reach, so a transferred answer is the best it has.
pub(super) fn answers(header: &ModelHeader, survey: Survey) -> bool {
    header.reads(survey) && !(survey == Survey::Ztf && header.transferred_to(survey))
}

/// Whether the bundled stand-in answers objects of `survey` that no loaded model reads:
/// where it reads them from another survey's training, which is what it stands in for.
pub(super) fn stands_in(header: &ModelHeader, survey: Survey) -> bool {
    header.reads(survey) && header.transferred_to(survey)
}

/// The model a fine-tune starts from: the browser's, unless the labels are on LSST objects
/// it does not read; then the loaded model that reads them, else the bundled neutral model
/// (which vetting thus turns into an LSST model). Reads model files: on the worker.
fn finetune_base(browsers: PathBuf, lsst_labelled: bool, model_paths: &[PathBuf]) -> PathBuf {
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
