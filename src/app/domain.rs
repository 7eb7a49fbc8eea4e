//! What the app knows, apart from how it is drawn: the catalogue and the selection in it,
//! the labels, the models and their answers, the jobs and the stream. Views read it; only
//! the app's command handlers and the job reports change it.

use super::jobs::Jobs;
use super::label_writer::LabelWriter;
use super::live::LiveStream;
use super::predictions::Predictions;
use super::state::{BrowserFilter, Catalog, RowFacts, RowsKey, Selection};
use super::training::TrainingRun;
use super::wise::WisePanel;
use crate::features::allwise::{AllWiseCatalogue, CrossmatchTable};
use crate::labels::LabelStore;
use std::path::PathBuf;
use std::sync::Arc;

pub struct AppState {
    pub catalog: Catalog,
    pub selection: Selection,
    /// Browser rows after filter and sort, recomputed when `visible_key` changes.
    pub visible: Vec<usize>,
    visible_key: Option<RowsKey>,
    /// The vetting labels, changed in memory at once; `label_writer` writes them.
    pub labels: Option<LabelStore>,
    pub label_writer: LabelWriter,
    pub label_error: Option<String>,
    pub predictions: Predictions,
    pub wise: Option<CrossmatchTable>,
    pub allwise: WisePanel,
    pub jobs: Jobs,
    pub messages: Vec<String>,
    pub load_errors: Vec<crate::alert::ReadError>,
    pub models: ModelsInUse,
    /// The alert files and folders opened in this session, in order (what the training
    /// view's "From this session" trains on).
    pub sources: Vec<PathBuf>,
    /// How "Fine-tune on my labels" trains (tests shrink it).
    pub finetune_config: crate::experiments::finetune::FinetuneConfig,
    /// The training run started from the training view, running or finished.
    pub training: TrainingRun,
    /// The stream connection, running or finished (its last status stays in view).
    pub live: Option<LiveStream>,
    /// Where a stream's answers, dead letters and partition states go, a folder per group.
    pub stream_dir: PathBuf,
}

/// The model files the app answers with, and where they run.
pub struct ModelsInUse {
    /// Re-run whenever more alerts arrive.
    pub paths: Vec<PathBuf>,
    pub backend: crate::backend::BackendChoice,
    /// Where the models last ran, for the status bar.
    pub device: Option<String>,
    /// A fine-tuned model whose answers the browser shows as soon as they arrive.
    pub promote_on_arrival: Option<String>,
    /// The model the browser showed before the last switch, to switch back to.
    pub previous: Option<String>,
}

struct Facts<'a> {
    labels: Option<&'a LabelStore>,
    predictions: &'a Predictions,
}

impl RowFacts for Facts<'_> {
    fn label(&self, object_id: &str) -> Option<&str> {
        self.labels.and_then(|l| l.get(object_id))
    }
    fn top_class(&self, object_id: &str) -> Option<(&str, f32)> {
        self.predictions.top_class(object_id)
    }
    fn uncertainty(&self, object_id: &str) -> Option<(f32, bool)> {
        self.predictions.uncertainty(object_id)
    }
    fn informativeness(&self, object_id: &str) -> Option<f32> {
        self.predictions.informativeness(object_id)
    }
    fn class_probability(&self, object_id: &str, class: &str) -> Option<f32> {
        self.predictions.class_probability(object_id, class)
    }
}

impl AppState {
    pub fn new(
        mut labels: Option<LabelStore>,
        label_error: Option<String>,
        jobs: Jobs,
        model_paths: Vec<PathBuf>,
        backend: crate::backend::BackendChoice,
        stream_dir: PathBuf,
    ) -> Self {
        // A label is kept in memory at once and written by the writer, off the UI thread.
        if let Some(store) = labels.as_mut() {
            store.defer_writes();
        }
        let label_writer = LabelWriter::start(jobs.context());
        Self {
            catalog: Catalog::default(),
            selection: Selection::default(),
            visible: Vec::new(),
            visible_key: None,
            labels,
            label_writer,
            label_error,
            predictions: Predictions::default(),
            wise: None,
            allwise: WisePanel::default(),
            jobs,
            messages: Vec::new(),
            load_errors: Vec::new(),
            models: ModelsInUse {
                paths: model_paths,
                backend,
                device: None,
                promote_on_arrival: None,
                previous: None,
            },
            sources: Vec::new(),
            finetune_config: Default::default(),
            training: TrainingRun::default(),
            live: None,
            stream_dir,
        }
    }

    pub fn selected_object_id(&self) -> Option<String> {
        self.selection
            .object
            .and_then(|o| self.catalog.rows.get(o))
            .map(|r| r.object_id.clone())
    }

    /// Selects the object of a browser row, starting at its first detection.
    pub fn select_object(&mut self, index: usize) {
        if self.selection.object != Some(index) {
            self.selection = Selection {
                object: Some(index),
                detection: 0,
            };
        }
    }

    /// Filters and sorts the browser's rows again if what they depend on changed; true if
    /// it did.
    pub fn refresh_visible(&mut self, filter: &BrowserFilter) -> bool {
        let key = RowsKey {
            filter: filter.clone(),
            catalog: self.catalog.revision,
            labels: self.labels.as_ref().map_or(0, LabelStore::revision),
            predictions: self.predictions.revision,
        };
        if self.visible_key.as_ref() == Some(&key) {
            return false;
        }
        let facts = Facts {
            labels: self.labels.as_ref(),
            predictions: &self.predictions,
        };
        self.visible = key.filter.visible_rows(&self.catalog, &facts);
        self.visible_key = Some(key);
        true
    }

    /// Hands the labels' changes not yet written to the writer, in the order they were made.
    pub fn send_label_writes(&mut self) {
        if let Some(unwritten) = self.labels.as_mut().and_then(LabelStore::take_unwritten) {
            self.label_writer.send(unwritten);
        }
    }

    /// Writes that failed since the last call, shown where the labels' errors are.
    pub fn poll_label_writes(&mut self) {
        if let Some(e) = self.label_writer.errors().pop() {
            self.label_error = Some(format!("label not saved: {e}"));
        }
    }

    /// Forgets the browser's rows, so the next frame recomputes them (benchmarks compare
    /// with and without the cache).
    pub fn invalidate_visible(&mut self) {
        self.visible_key = None;
    }

    /// The loaded AllWISE catalogue and radius, for the default answer's mid-infrared rule.
    pub fn allwise_for_models(&self, radius_arcsec: f64) -> Option<(Arc<AllWiseCatalogue>, f64)> {
        self.allwise.catalogue.clone().map(|c| (c, radius_arcsec))
    }
}
