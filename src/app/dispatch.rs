//! The one place the app's state changes on the user's behalf: each [`AppCommand`] a view
//! returned goes to the handler of its area (selection, labels, files, models, training,
//! view), and anything slow or touching a file starts a job.

use super::commands::{AppCommand, Command};
use super::export::PlotKind;
use super::jobs::FileDone;
use super::stamp_gpu::ViewTransform;
use super::StampseqApp;
use std::path::PathBuf;

impl StampseqApp {
    /// Applies what a view, a key or a menu asked for.
    pub fn run_command(&mut self, command: impl Into<AppCommand>) {
        match command.into() {
            AppCommand::Run(command) => self.run_user_command(command),
            AppCommand::SelectObject(index) => self.select_object(index),
            AppCommand::SelectObjectId(id) => {
                self.select_object_id(&id);
            }
            AppCommand::SelectDetection(k) => self.state.selection.detection = k,
            AppCommand::OpenAlerts(paths) => self.open_alerts(paths),
            AppCommand::LoadModel(path) => self.load_model(path),
            AppCommand::AnswerAgain => self.answer_again(),
            AppCommand::CancelJobs => self.state.jobs.cancel_all(),
            AppCommand::StartTraining { config, out } => self.start_training(*config, out),
            AppCommand::StopTraining => self.stop_training(),
            AppCommand::TrainingFromSession { out } => self.training_from_session(out),
            AppCommand::LoadEvaluationLabels(path) => self.load_evaluation_labels(path),
            AppCommand::ImportLabels { labels, source } => self.import_labels(&labels, &source),
            AppCommand::SetLabelDetails {
                object_id,
                confidence,
                note,
            } => self.set_label_details(&object_id, confidence, note),
            AppCommand::SetVetter(name) => {
                if let Some(store) = self.state.labels.as_mut() {
                    store.set_vetter(Some(&name));
                }
            }
            AppCommand::ConnectStream => self.connect_stream(),
        }
        // What the command changed in the labels goes to their writer, in order.
        self.state.send_label_writes();
    }

    pub(super) fn run_commands(&mut self, commands: Vec<AppCommand>) {
        for command in commands {
            self.run_command(command);
        }
    }

    /// A user command (key, menu, palette, button), by its area.
    fn run_user_command(&mut self, command: Command) {
        if let Some(label) = command.label() {
            self.set_label(Some(label));
            return;
        }
        if let Some(plot) = PlotKind::of(command) {
            self.export_plot(plot);
            return;
        }
        match command {
            Command::AcceptModelClass | Command::ClearLabel | Command::Undo => {
                self.vetting_command(command)
            }
            Command::NextObject
            | Command::PreviousObject
            | Command::NextDetection
            | Command::PreviousDetection => self.selection_command(command),
            Command::OpenFiles
            | Command::OpenFolder
            | Command::LoadModel
            | Command::LoadAllWise
            | Command::ImportLabels
            | Command::ExportLabels
            | Command::ExportStamps => self.file_command(command),
            Command::FineTune => self.start_finetune(),
            Command::SwitchModel => self.switch_model(),
            Command::ConnectStream => {
                // Opened again, the dialog keeps what was typed.
                self.ui
                    .connect_form
                    .get_or_insert_with(super::live::ConnectForm::default);
            }
            Command::DisconnectStream => self.disconnect_stream(),
            _ => self.view_command(command),
        }
    }

    fn vetting_command(&mut self, command: Command) {
        match command {
            Command::AcceptModelClass => {
                let top = self.state.selected_object_id().and_then(|id| {
                    self.state
                        .predictions
                        .top_class(&id)
                        .map(|(c, _)| c.to_string())
                });
                match top {
                    Some(class) => self.set_label(Some(&class)),
                    None => self
                        .state
                        .messages
                        .push("No model prediction for this object.".into()),
                }
            }
            Command::ClearLabel => self.set_label(None),
            Command::Undo => {
                if let Some(store) = self.state.labels.as_mut() {
                    match store.undo() {
                        Ok(object_id) => {
                            self.select_object_id(&object_id);
                        }
                        Err(e) => self.state.messages.push(e.to_string()),
                    }
                }
            }
            _ => {}
        }
    }

    fn selection_command(&mut self, command: Command) {
        let state = &mut self.state;
        match command {
            Command::NextObject | Command::PreviousObject => {
                let step = if command == Command::NextObject {
                    1
                } else {
                    -1
                };
                state.selection.step_object(&state.visible, step);
                self.ui.scroll_to_selection = true;
            }
            Command::NextDetection => state.selection.step_detection(&state.catalog, 1),
            Command::PreviousDetection => state.selection.step_detection(&state.catalog, -1),
            _ => {}
        }
    }

    /// Commands that ask for a file or folder first (the system's dialog), then read or
    /// write it on a worker.
    fn file_command(&mut self, command: Command) {
        match command {
            Command::OpenFiles => {
                let mut dialog = rfd::FileDialog::new().add_filter(
                    "Alerts (ZTF, LSST)",
                    &["avro", "gz", "tgz", "tar", "parquet", "parq"],
                );
                if let Some(dir) = &self.ui.prefs.last_folder {
                    dialog = dialog.set_directory(dir);
                }
                if let Some(files) = dialog.pick_files() {
                    self.ui.prefs.last_folder =
                        files.first().and_then(|f| f.parent()).map(Into::into);
                    self.open_alerts(files);
                }
            }
            Command::OpenFolder => {
                if let Some(dir) = rfd::FileDialog::new().pick_folder() {
                    self.ui.prefs.last_folder = Some(dir.clone());
                    self.open_alerts(vec![dir]);
                }
            }
            Command::LoadModel => {
                if let Some(path) = rfd::FileDialog::new()
                    .add_filter("stampseq model", &["stampseq", "safetensors"])
                    .pick_file()
                {
                    self.load_model(path);
                }
            }
            Command::LoadAllWise => {
                if let Some(path) = rfd::FileDialog::new()
                    .add_filter(
                        "AllWISE catalogue (ra, dec, w1mpro..w3mpro)",
                        &["csv", "parquet", "parq"],
                    )
                    .pick_file()
                {
                    self.load_allwise(path);
                }
            }
            Command::ImportLabels => {
                if let Some(path) = rfd::FileDialog::new()
                    .add_filter("CSV", &["csv", "txt"])
                    .pick_file()
                {
                    self.open_label_import(&path);
                }
            }
            Command::ExportLabels => {
                if let Some(path) = rfd::FileDialog::new()
                    .set_file_name("labels_with_probabilities.csv")
                    .save_file()
                {
                    self.export_labels_to(path);
                }
            }
            Command::ExportStamps => {
                if let Some(dir) = rfd::FileDialog::new().pick_folder() {
                    self.export_stamps_to(dir);
                }
            }
            _ => {}
        }
    }

    /// Commands that change only how the window looks.
    fn view_command(&mut self, command: Command) {
        let ui = &mut self.ui;
        match command {
            Command::ToggleBlink => ui.blink = !ui.blink,
            Command::ResetZoom => ui.view = ViewTransform::default(),
            Command::ToggleTraining => ui.training.open = !ui.training.open,
            Command::ToggleEvaluation => ui.evaluation.open = !ui.evaluation.open,
            Command::ToggleHelp => ui.show_help = !ui.show_help,
            Command::CommandPalette => {
                ui.show_palette = !ui.show_palette;
                ui.palette_query.clear();
            }
            Command::FocusSearch => ui.focus_search = true,
            Command::ToggleOnlyUnvetted => {
                ui.prefs.filter.only_unvetted = !ui.prefs.filter.only_unvetted
            }
            Command::CycleStretch => {
                use crate::stamp::display::Stretch;
                let s = &mut ui.prefs.science.stretch;
                *s = match s {
                    Stretch::Linear => Stretch::LOG,
                    Stretch::Log { .. } => Stretch::Sqrt,
                    Stretch::Sqrt => Stretch::ASINH,
                    Stretch::Asinh { .. } => Stretch::Linear,
                };
            }
            Command::CycleColormap => {
                use crate::stamp::display::Colormap;
                let all = Colormap::ALL;
                let c = &mut ui.prefs.science.colormap;
                let i = all.iter().position(|x| x == c).unwrap_or(0);
                *c = all[(i + 1) % all.len()];
            }
            _ => {}
        }
    }

    pub fn select_object(&mut self, index: usize) {
        self.state.select_object(index);
    }

    /// Selects an object by its id; false when it is not loaded.
    pub fn select_object_id(&mut self, object_id: &str) -> bool {
        match self.state.catalog.index_of(object_id) {
            Some(i) => {
                self.state.select_object(i);
                self.ui.scroll_to_selection = true;
                true
            }
            None => false,
        }
    }

    fn set_label(&mut self, label: Option<&str>) {
        let Some(object_id) = self.state.selected_object_id() else {
            return;
        };
        let Some(store) = self.state.labels.as_mut() else {
            return;
        };
        match store.set(&object_id, label) {
            Ok(()) => {
                self.state.label_error = None;
                // Vetting flows: after a label, go on to the next object.
                if label.is_some() {
                    self.state.selection.step_object(&self.state.visible, 1);
                    self.ui.scroll_to_selection = true;
                }
            }
            Err(e) => self.state.label_error = Some(format!("label not saved: {e}")),
        }
    }

    fn set_label_details(
        &mut self,
        object_id: &str,
        confidence: Option<String>,
        note: Option<String>,
    ) {
        if let Some(store) = self.state.labels.as_mut() {
            if let Err(e) = store.set_details(object_id, confidence.as_deref(), note.as_deref()) {
                self.state.label_error = Some(e.to_string());
            }
        }
    }

    fn import_labels(&mut self, labels: &[(String, String)], source: &str) {
        let state = &mut self.state;
        match state.labels.as_mut() {
            Some(store) => match store.import(labels, &format!("imported from {source}")) {
                Ok(n) => state
                    .messages
                    .push(format!("Imported {n} labels from {source}.")),
                Err(e) => state.label_error = Some(e.to_string()),
            },
            None => state
                .messages
                .push("Import labels: no labels folder.".into()),
        }
        state.invalidate_visible();
    }

    /// Reads alert files and folders on a worker; they are remembered as this session's
    /// sources.
    pub fn open_alerts(&mut self, paths: Vec<PathBuf>) {
        for p in &paths {
            if !self.state.sources.contains(p) {
                self.state.sources.push(p.clone());
            }
        }
        self.state.jobs.load(paths);
    }

    /// Reads an AllWISE catalogue in the background; the details panel cone-searches it.
    pub fn load_allwise(&mut self, path: PathBuf) {
        self.state.allwise.error = None;
        self.state.allwise.loading = Some(self.state.jobs.load_allwise(path));
    }

    /// Reads another tool's CSV on a worker; the dialog that maps its columns and classes
    /// opens when it is read.
    pub fn open_label_import(&mut self, path: &std::path::Path) {
        let path = path.to_path_buf();
        let title = format!("Reading {}", path.display());
        self.state.jobs.file(title, move || {
            crate::labels::ForeignCsv::read(&path)
                .map(|foreign| FileDone::ForeignLabels(Box::new(foreign)))
                .map_err(|e| format!("Import labels: {e}"))
        });
    }

    /// Reads the evaluation view's labels CSV on a worker.
    fn load_evaluation_labels(&mut self, path: PathBuf) {
        let job = self
            .state
            .jobs
            .file(format!("Reading {}", path.display()), move || {
                crate::eval::evaluate::read_labels(&path)
                    .map(FileDone::EvaluationLabels)
                    .map_err(|e| e.to_string())
            });
        self.ui.evaluation.loading = Some(job);
    }

    /// The loaded AllWISE catalogue and the radius set, for the default answer's
    /// mid-infrared rule.
    pub(crate) fn allwise_for_models(
        &self,
    ) -> Option<(
        std::sync::Arc<crate::features::allwise::AllWiseCatalogue>,
        f64,
    )> {
        self.state
            .allwise_for_models(self.ui.prefs.allwise_radius_arcsec)
    }

    /// Starts the training view's run on a worker.
    fn start_training(&mut self, mut config: crate::train::TrainConfig, out: PathBuf) {
        if self.state.training.is_running() {
            return;
        }
        // Framed LSST messages among the data read with the app's schema folder.
        config.lsst_schemas = self.state.jobs.lsst_schemas.dir.clone();
        let (job, cancel) = self.state.jobs.train(config, out);
        self.state.training.started(job, cancel);
    }

    fn stop_training(&mut self) {
        let run = &mut self.state.training;
        if let Some(c) = &run.cancel {
            c.store(true, std::sync::atomic::Ordering::Relaxed);
            run.status = "stopping after the current step...".into();
        }
    }

    /// The training form from this session: the vetting labels of the loaded objects are
    /// written into the run folder on a worker; the form is filled when they are.
    fn training_from_session(&mut self, out: PathBuf) {
        let state = &mut self.state;
        let labels = state
            .labels
            .as_ref()
            .map(|l| l.all().clone())
            .unwrap_or_default();
        let catalog = &state.catalog;
        let loaded = |id: &str| catalog.index_of(id).is_some();
        match super::training::session_labels(&state.sources, &labels, &loaded) {
            Ok(vetted) => {
                let sources = state.sources.clone();
                let title = format!("Writing the vetting labels into {}", out.display());
                let job = state.jobs.file(title, move || {
                    super::training::write_session_labels(&out, &sources, &vetted)
                        .map(FileDone::SessionLabels)
                });
                state.training.writing_labels = Some(job);
            }
            Err(why) => state.training.status = format!("From this session: {why}"),
        }
    }
}
