//! The desktop app: an eframe/egui window over the library. State lives in
//! [`StampseqApp`]; each panel in `views/` draws from it; loading runs in [`jobs`]; every
//! action is a [`commands::Command`].

pub mod commands;
pub mod export;
mod files;
pub mod jobs;
pub mod live;
mod models;
mod poll;
pub mod predictions;
pub mod prefs;
pub mod stamp_gpu;
pub mod state;
pub mod views;
mod window;
pub mod wise;

use crate::features::allwise::CrossmatchTable;
use crate::features::FeatureStats;
use crate::labels::LabelStore;
use commands::Command;
use jobs::Jobs;
use predictions::Predictions;
use prefs::Preferences;
use stamp_gpu::{StampGpu, ViewTransform};
use state::{Catalog, RowFacts, Selection};
use std::path::PathBuf;

/// How the app starts.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Alert files, folders or archives to load at start.
    pub inputs: Vec<PathBuf>,
    /// Where vetting labels are kept.
    pub labels_dir: Option<PathBuf>,
    /// Forget saved preferences (tests start from the defaults).
    pub fresh_preferences: bool,
    /// Model files to run on everything loaded.
    pub models: Vec<PathBuf>,
    pub backend: crate::backend::BackendChoice,
    /// An AllWISE crossmatch table to show in the details panel.
    pub wise: Option<PathBuf>,
    /// An AllWISE catalogue (ra, dec, w1mpro..w3mpro) to cone-search around each object.
    pub allwise: Option<PathBuf>,
    /// Cone-search radius in arcseconds; the saved preference when not given.
    pub allwise_radius_arcsec: Option<f64>,
    /// The LSST alert schema folder (alert_packet's `schema/`) for Kafka messages saved as
    /// files; `None` falls back to `$STAMPSEQ_LSST_SCHEMAS`.
    pub lsst_schemas: Option<PathBuf>,
    /// A Confluent schema registry for schema ids the folder lacks.
    pub schema_registry: Option<crate::alert::lsst::SchemaRegistry>,
}

/// The app's data folder: `$XDG_DATA_HOME/stampseq`, else `~/.local/share/stampseq`, else
/// `./stampseq-data`.
pub fn default_data_dir() -> PathBuf {
    crate::assets::user_data_dir()
}

/// The labels folder when none is given: `$XDG_DATA_HOME/stampseq/labels`, else
/// `~/.local/share/stampseq/labels`, else `./stampseq-labels`.
pub fn default_labels_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("stampseq/labels");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join(".local/share/stampseq/labels");
    }
    PathBuf::from("stampseq-labels")
}

pub struct StampseqApp {
    pub catalog: Catalog,
    pub selection: Selection,
    /// Browser rows after filter and sort, recomputed when `visible_key` changes.
    pub visible: Vec<usize>,
    visible_key: Option<state::RowsKey>,
    pub prefs: Preferences,
    pub labels: Option<LabelStore>,
    pub label_error: Option<String>,
    pub predictions: Predictions,
    pub feature_stats: Option<FeatureStats>,
    pub wise: Option<CrossmatchTable>,
    pub allwise: wise::WisePanel,
    pub jobs: Jobs,
    pub view: ViewTransform,
    pub hover: Option<views::stamps::HoverPixel>,
    /// LSST panels turned North up, by stamp: resampled once, not at every frame.
    pub lsst_panels: views::stamps::PanelCache,
    pub blink: bool,
    pub gpu: bool,
    pub device_name: String,
    pub frame: u64,
    pub show_help: bool,
    pub shortcut_editor: views::shortcuts::ShortcutEditor,
    pub show_palette: bool,
    pub palette_query: String,
    pub focus_search: bool,
    pub scroll_to_selection: bool,
    pub messages: Vec<String>,
    pub load_errors: Vec<crate::alert::ReadError>,
    /// Model files in use, re-run whenever more alerts arrive.
    pub model_paths: Vec<PathBuf>,
    pub backend: crate::backend::BackendChoice,
    /// Where the models last ran, for the status bar.
    pub model_device: Option<String>,
    pub training: views::training::TrainingPanel,
    pub evaluation: views::evaluation::EvaluationPanel,
    /// How "Fine-tune on my labels" trains (tests shrink it).
    /// The alert files and folders opened in this session, in order (what the training
    /// view's "From this session" trains on).
    pub sources: Vec<std::path::PathBuf>,
    pub finetune_config: crate::experiments::finetune::FinetuneConfig,
    /// A fine-tuned model whose answers the browser shows as soon as they arrive.
    pub promote_on_arrival: Option<String>,
    /// The model the browser showed before the last switch, to switch back to.
    pub previous_model: Option<String>,
    /// The "Import labels" dialog, while open.
    pub label_import: Option<views::label_import::LabelImport>,
    /// The note being typed for the selected object: (object, text).
    pub note_draft: Option<(String, String)>,
    /// The "Connect to a stream" dialog, while open.
    pub connect_form: Option<live::ConnectForm>,
    /// The stream connection, running or finished (its last status stays in view).
    pub live: Option<live::LiveStream>,
    /// Where a stream's answers, dead letters and partition states go, a folder per group.
    pub stream_dir: PathBuf,
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

impl StampseqApp {
    pub fn new(cc: &eframe::CreationContext<'_>, options: AppOptions) -> Self {
        let mut prefs = if options.fresh_preferences {
            Preferences::default()
        } else {
            Preferences::load(cc.storage)
        };
        if let Some(r) = options.allwise_radius_arcsec {
            prefs.allwise_radius_arcsec = r;
        }
        let (gpu, device_name) = match &cc.wgpu_render_state {
            Some(rs) => {
                StampGpu::install(rs);
                let info = rs.adapter.get_info();
                (true, format!("{} ({:?})", info.name, info.backend))
            }
            None => (false, "CPU rendering".to_string()),
        };
        let labels_dir = options
            .labels_dir
            .clone()
            .unwrap_or_else(default_labels_dir);
        let (labels, label_error) = match LabelStore::open(&labels_dir) {
            Ok(l) => (Some(l), None),
            Err(e) => (None, Some(format!("labels not available: {e}"))),
        };
        let mut jobs = Jobs::default();
        jobs.set_context(cc.egui_ctx.clone());
        jobs.lsst_schemas = crate::alert::lsst::SchemaSources {
            dir: options.lsst_schemas.clone(),
            registry: options.schema_registry.clone(),
        };
        let mut messages = Vec::new();
        let wise = options.wise.as_deref().and_then(|path| {
            CrossmatchTable::from_csv(path)
                .map_err(|e| messages.push(format!("AllWISE table not loaded: {e}")))
                .ok()
        });
        let mut app = Self {
            catalog: Catalog::default(),
            selection: Selection::default(),
            visible: Vec::new(),
            visible_key: None,
            prefs,
            labels,
            label_error,
            predictions: Predictions::default(),
            feature_stats: None,
            wise,
            allwise: wise::WisePanel::default(),
            jobs,
            view: ViewTransform::default(),
            hover: None,
            lsst_panels: Default::default(),
            blink: false,
            gpu,
            device_name,
            frame: 0,
            show_help: false,
            shortcut_editor: Default::default(),
            show_palette: false,
            palette_query: String::new(),
            focus_search: false,
            scroll_to_selection: false,
            messages,
            load_errors: Vec::new(),
            model_paths: options.models.clone(),
            backend: options.backend,
            model_device: None,
            training: views::training::TrainingPanel::default(),
            evaluation: views::evaluation::EvaluationPanel::default(),
            finetune_config: Default::default(),
            sources: Vec::new(),
            promote_on_arrival: None,
            previous_model: None,
            label_import: None,
            note_draft: None,
            connect_form: None,
            live: None,
            stream_dir: default_data_dir().join("stream"),
        };
        if let Some(store) = app.labels.as_mut() {
            store.set_vetter(Some(&app.prefs.vetter_name));
        }
        if !options.inputs.is_empty() {
            app.open_alerts(options.inputs);
        }
        if let Some(path) = options.allwise {
            app.load_allwise(path);
        }
        app
    }

    pub fn select_object(&mut self, index: usize) {
        if self.selection.object != Some(index) {
            self.selection = Selection {
                object: Some(index),
                detection: 0,
            };
        }
    }

    /// Selects an object by its id; false when it is not loaded.
    pub fn select_object_id(&mut self, object_id: &str) -> bool {
        match self.catalog.index_of(object_id) {
            Some(i) => {
                self.select_object(i);
                self.scroll_to_selection = true;
                true
            }
            None => false,
        }
    }

    pub fn selected_object_id(&self) -> Option<String> {
        self.selection
            .object
            .and_then(|o| self.catalog.rows.get(o))
            .map(|r| r.object_id.clone())
    }

    fn set_label(&mut self, label: Option<&str>) {
        let Some(object_id) = self.selected_object_id() else {
            return;
        };
        let Some(store) = self.labels.as_mut() else {
            return;
        };
        match store.set(&object_id, label) {
            Ok(()) => {
                self.label_error = None;
                // Vetting flows: after a label, go on to the next object.
                if label.is_some() {
                    self.selection.step_object(&self.visible, 1);
                    self.scroll_to_selection = true;
                }
            }
            Err(e) => self.label_error = Some(format!("label not saved: {e}")),
        }
    }

    pub fn run_command(&mut self, command: Command) {
        if let Some(label) = command.label() {
            self.set_label(Some(label));
            return;
        }
        if let Some(plot) = export::PlotKind::of(command) {
            self.export_plot(plot);
            return;
        }
        match command {
            Command::FineTune => self.start_finetune(),
            Command::ImportLabels => {
                if let Some(path) = rfd::FileDialog::new()
                    .add_filter("CSV", &["csv", "txt"])
                    .pick_file()
                {
                    self.open_label_import(&path);
                }
            }
            Command::SwitchModel => self.switch_model(),
            Command::ConnectStream => {
                // Opened again, the dialog keeps what was typed.
                self.connect_form
                    .get_or_insert_with(live::ConnectForm::default);
            }
            Command::DisconnectStream => self.disconnect_stream(),
            Command::AcceptModelClass => {
                let top = self
                    .selected_object_id()
                    .and_then(|id| self.predictions.top_class(&id).map(|(c, _)| c.to_string()));
                match top {
                    Some(class) => self.set_label(Some(&class)),
                    None => self
                        .messages
                        .push("No model prediction for this object.".into()),
                }
            }
            Command::ClearLabel => self.set_label(None),
            Command::Undo => {
                if let Some(store) = self.labels.as_mut() {
                    match store.undo() {
                        Ok(object_id) => {
                            self.select_object_id(&object_id);
                        }
                        Err(e) => self.messages.push(e.to_string()),
                    }
                }
            }
            Command::NextObject | Command::PreviousObject => {
                let step = if command == Command::NextObject {
                    1
                } else {
                    -1
                };
                self.selection.step_object(&self.visible, step);
                self.scroll_to_selection = true;
            }
            Command::NextDetection => self.selection.step_detection(&self.catalog, 1),
            Command::PreviousDetection => self.selection.step_detection(&self.catalog, -1),
            Command::ToggleBlink => self.blink = !self.blink,
            Command::ResetZoom => self.view = ViewTransform::default(),
            Command::OpenFiles => {
                let mut dialog = rfd::FileDialog::new().add_filter(
                    "Alerts (ZTF, LSST)",
                    &["avro", "gz", "tgz", "tar", "parquet", "parq"],
                );
                if let Some(dir) = &self.prefs.last_folder {
                    dialog = dialog.set_directory(dir);
                }
                if let Some(files) = dialog.pick_files() {
                    self.prefs.last_folder = files.first().and_then(|f| f.parent()).map(Into::into);
                    self.open_alerts(files);
                }
            }
            Command::OpenFolder => {
                if let Some(dir) = rfd::FileDialog::new().pick_folder() {
                    self.prefs.last_folder = Some(dir.clone());
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
            Command::ExportLabels => {
                if let Some(path) = rfd::FileDialog::new()
                    .set_file_name("labels_with_probabilities.csv")
                    .save_file()
                {
                    match self.export_labels(&path) {
                        Ok(n) => self
                            .messages
                            .push(format!("{n} labels written to {}", path.display())),
                        Err(e) => self.messages.push(format!("export failed: {e}")),
                    }
                }
            }
            Command::ExportStamps => {
                if let Some(dir) = rfd::FileDialog::new().pick_folder() {
                    match self.export_stamps(&dir) {
                        Ok(n) => self
                            .messages
                            .push(format!("{n} files written to {}", dir.display())),
                        Err(e) => self.messages.push(format!("export failed: {e}")),
                    }
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
            Command::ToggleTraining => self.training.open = !self.training.open,
            Command::ToggleEvaluation => self.evaluation.open = !self.evaluation.open,
            Command::ToggleHelp => self.show_help = !self.show_help,
            Command::CommandPalette => {
                self.show_palette = !self.show_palette;
                self.palette_query.clear();
            }
            Command::FocusSearch => self.focus_search = true,
            Command::ToggleOnlyUnvetted => {
                self.prefs.filter.only_unvetted = !self.prefs.filter.only_unvetted
            }
            Command::CycleStretch => {
                use crate::stamp::display::Stretch;
                let s = &mut self.prefs.science.stretch;
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
                let c = &mut self.prefs.science.colormap;
                let i = all.iter().position(|x| x == c).unwrap_or(0);
                *c = all[(i + 1) % all.len()];
            }
            _ => {}
        }
    }

    /// Reads an AllWISE catalogue in the background; the details panel cone-searches it.
    pub fn load_allwise(&mut self, path: PathBuf) {
        self.allwise.error = None;
        self.allwise.loading = Some(self.jobs.load_allwise(path));
    }

    /// Filters and sorts the browser's rows again if what they depend on changed; true if
    /// it did.
    pub fn refresh_visible(&mut self) -> bool {
        let key = state::RowsKey {
            filter: self.prefs.filter.clone(),
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

    /// Forgets the browser's rows, so the next frame recomputes them (benchmarks compare
    /// with and without the cache).
    pub fn invalidate_visible(&mut self) {
        self.visible_key = None;
    }

    /// Reads alert files and folders on a worker; they are remembered as this session's
    /// sources.
    pub fn open_alerts(&mut self, paths: Vec<std::path::PathBuf>) {
        for p in &paths {
            if !self.sources.contains(p) {
                self.sources.push(p.clone());
            }
        }
        self.jobs.load(paths);
    }

    /// Reads another tool's CSV and opens the dialog that maps its columns and classes.
    pub fn open_label_import(&mut self, path: &std::path::Path) {
        match crate::labels::ForeignCsv::read(path) {
            Ok(foreign) => self.label_import = Some(views::label_import::LabelImport::new(foreign)),
            Err(e) => self.messages.push(format!("Import labels: {e}")),
        }
    }

    /// The loaded AllWISE catalogue and radius, for the default answer's mid-infrared rule.
    pub(crate) fn allwise_for_models(
        &self,
    ) -> Option<(
        std::sync::Arc<crate::features::allwise::AllWiseCatalogue>,
        f64,
    )> {
        self.allwise
            .catalogue
            .clone()
            .map(|c| (c, self.prefs.allwise_radius_arcsec))
    }
}

impl eframe::App for StampseqApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.frame += 1;
        if CLOSE_REQUESTED.load(std::sync::atomic::Ordering::SeqCst) {
            self.jobs.cancel_all();
            if let Some(live) = &self.live {
                live.disconnect();
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.poll_jobs();
        self.poll_stream();
        let rebinding = views::shortcuts::capture(self, &ctx);
        if !self.show_palette && !rebinding {
            self.handle_shortcuts(&ctx);
        }
        self.refresh_visible();
        if self.selection.object.is_none() && !self.visible.is_empty() {
            self.selection.object = Some(self.visible[0]);
        }

        egui::Panel::top("menu").show(ui, |ui| self.menu_bar(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::Panel::left("browser")
            .resizable(true)
            .default_size(360.0)
            .max_size(600.0)
            .show(ui, |ui| views::browser::show(self, ui));
        egui::Panel::right("details")
            .resizable(true)
            .default_size(320.0)
            .max_size(520.0)
            .show(ui, |ui| views::details::show(self, ui));
        let panes = [
            self.prefs.show_light_curve,
            self.prefs.show_evolution,
            self.prefs.show_model_input,
        ];
        let columns = panes.iter().filter(|p| **p).count();
        if columns > 0 {
            egui::Panel::bottom("plots")
                .resizable(true)
                .default_size(330.0)
                .min_size(220.0)
                .show(ui, |ui| {
                    let mut wanted = None;
                    let heading = |ui: &mut egui::Ui, title: &str, kind, wanted: &mut _| {
                        ui.horizontal(|ui| {
                            ui.label(egui::RichText::new(title).strong());
                            views::export_button(ui, kind, wanted);
                        });
                    };
                    ui.columns(columns, |cols| {
                        let mut next = 0;
                        if self.prefs.show_light_curve {
                            let kind = export::PlotKind::LightCurve;
                            heading(&mut cols[next], "Light curve", kind, &mut wanted);
                            views::lightcurve::show(self, &mut cols[next]);
                            next += 1;
                        }
                        if self.prefs.show_evolution {
                            let kind = export::PlotKind::ClassEvolution;
                            heading(&mut cols[next], "Class evolution", kind, &mut wanted);
                            views::evolution::show(self, &mut cols[next]);
                            next += 1;
                        }
                        if self.prefs.show_model_input {
                            let col = &mut cols[next];
                            col.label(egui::RichText::new("What the model sees").strong());
                            egui::ScrollArea::vertical()
                                .id_salt("model input")
                                .show(col, |ui| views::model_input::show(self, ui));
                        }
                    });
                    if let Some(kind) = wanted {
                        self.run_command(kind.command());
                    }
                });
        }
        egui::CentralPanel::default().show(ui, |ui| views::stamps::show(self, ui));
        views::training::show(self, &ctx);
        views::evaluation::show(self, &ctx);
        views::shortcuts::show(self, &ctx);
        views::label_import::show(self, &ctx);
        views::connect::show(self, &ctx);
        self.palette(&ctx);
        if self.jobs.is_busy() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        // The status line's rate and lag change without a batch arriving.
        if self.live.as_ref().is_some_and(live::LiveStream::is_running) {
            ctx.request_repaint_after(std::time::Duration::from_millis(500));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.prefs);
    }
}

/// Set by Ctrl+C or SIGTERM: the app closes its window the normal way, so preferences are
/// saved and workers are cancelled, instead of dying mid-write.
static CLOSE_REQUESTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static CLOSE_CONTEXT: std::sync::OnceLock<egui::Context> = std::sync::OnceLock::new();

fn install_close_handler(ctx: &egui::Context) {
    if CLOSE_CONTEXT.set(ctx.clone()).is_ok() {
        let installed = ctrlc::set_handler(|| {
            CLOSE_REQUESTED.store(true, std::sync::atomic::Ordering::SeqCst);
            if let Some(c) = CLOSE_CONTEXT.get() {
                c.request_repaint();
            }
        });
        if let Err(e) = installed {
            eprintln!("warning: Ctrl+C will not close the window cleanly: {e}");
        }
    }
}

/// Opens the window. burn shares eframe's wgpu device only if that device was created with
/// the adapter's full features and limits, so the app asks for them.
/// The window's icon, from the bundled PNG; none (the desktop's default) if it cannot be
/// decoded, which only a broken build could cause.
fn window_icon() -> std::sync::Arc<egui::IconData> {
    let icon =
        image::load_from_memory_with_format(crate::assets::ICON_PNG, image::ImageFormat::Png)
            .map(|i| {
                let rgba = i.to_rgba8();
                egui::IconData {
                    width: rgba.width(),
                    height: rgba.height(),
                    rgba: rgba.into_raw(),
                }
            })
            .unwrap_or_default();
    std::sync::Arc::new(icon)
}

pub fn run(options: AppOptions) -> anyhow::Result<()> {
    let mut wgpu_options = egui_wgpu::WgpuConfiguration::default();
    if let egui_wgpu::WgpuSetup::CreateNew(create) = &mut wgpu_options.wgpu_setup {
        create.device_descriptor =
            std::sync::Arc::new(|adapter| egui_wgpu::wgpu::DeviceDescriptor {
                label: Some("stampseq device"),
                required_features: adapter.features()
                    - egui_wgpu::wgpu::Features::MAPPABLE_PRIMARY_BUFFERS,
                required_limits: adapter.limits(),
                ..Default::default()
            });
    }
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("stampseq")
            .with_app_id("stampseq")
            .with_icon(window_icon())
            .with_inner_size([1500.0, 950.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Wgpu,
        wgpu_options,
        ..Default::default()
    };
    eframe::run_native(
        "stampseq",
        native,
        Box::new(move |cc| {
            install_close_handler(&cc.egui_ctx);
            Ok(Box::new(StampseqApp::new(cc, options)))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window could not be opened: {e}"))
}
