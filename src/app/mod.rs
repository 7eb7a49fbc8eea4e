//! The desktop app: an eframe/egui window over the library, built as state, views and
//! commands. The app's data is [`AppState`] (`domain.rs`), how the window is drawn is
//! [`UiState`] (`views/`); each panel in `views/` reads the one, keeps its widgets in the
//! other and returns [`commands::AppCommand`]s, which [`StampseqApp::run_command`] alone
//! applies (`dispatch.rs`). Every file read or write and every training runs as a job on a
//! worker ([`jobs`]); `poll.rs` applies what the jobs report. The vetting labels change in
//! memory at once and are written in order by their own worker (`label_writer.rs`).

pub mod commands;
mod dispatch;
pub mod domain;
pub mod export;
mod files;
pub mod jobs;
mod label_writer;
pub mod live;
mod models;
mod poll;
pub mod predictions;
pub mod prefs;
pub mod stamp_gpu;
pub mod state;
pub mod training;
pub mod views;
mod window;
pub mod wise;

use crate::features::allwise::CrossmatchTable;
use crate::labels::LabelStore;
use domain::AppState;
use jobs::Jobs;
use prefs::Preferences;
use stamp_gpu::StampGpu;
use std::path::PathBuf;
use views::{Commands, UiState};

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

/// The app: what it knows ([`AppState`]) and how its window is drawn ([`UiState`]). Each
/// frame the views read the one, change the other in place, and return commands that
/// [`StampseqApp::run_command`] applies once they are drawn.
pub struct StampseqApp {
    pub state: AppState,
    pub ui: UiState,
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
            Ok(mut l) => {
                l.set_vetter(Some(&prefs.vetter_name));
                (Some(l), None)
            }
            Err(e) => (None, Some(format!("labels not available: {e}"))),
        };
        let mut jobs = Jobs::default();
        jobs.set_context(cc.egui_ctx.clone());
        jobs.lsst_schemas = crate::alert::lsst::SchemaSources {
            dir: options.lsst_schemas.clone(),
            registry: options.schema_registry.clone(),
        };
        let mut state = AppState::new(
            labels,
            label_error,
            jobs,
            options.models.clone(),
            options.backend,
            default_data_dir().join("stream"),
        );
        if let Some(path) = options.wise.clone() {
            let title = format!("Reading {}", path.display());
            state.jobs.file(title, move || {
                CrossmatchTable::from_csv(&path)
                    .map(|table| jobs::FileDone::Crossmatch(Box::new(table)))
                    .map_err(|e| format!("AllWISE table not loaded: {e}"))
            });
        }
        let mut app = Self {
            state,
            ui: UiState::new(prefs, gpu, device_name),
        };
        if !options.inputs.is_empty() {
            app.open_alerts(options.inputs);
        }
        if let Some(path) = options.allwise {
            app.load_allwise(path);
        }
        app
    }

    /// Draws the panels of the window, collecting what the views ask for.
    fn draw_panels(&mut self, ui: &mut egui::Ui, commands: &mut Commands) {
        let (state, ui_state) = (&self.state, &mut self.ui);
        egui::Panel::top("menu").show(ui, |ui| window::menu_bar(ui_state, ui, commands));
        egui::Panel::bottom("status")
            .show(ui, |ui| window::status_bar(state, ui_state, ui, commands));
        egui::Panel::left("browser")
            .resizable(true)
            .default_size(360.0)
            .max_size(600.0)
            .show(ui, |ui| views::browser::show(state, ui_state, ui, commands));
        egui::Panel::right("details")
            .resizable(true)
            .default_size(320.0)
            .max_size(520.0)
            .show(ui, |ui| views::details::show(state, ui_state, ui, commands));
        window::plots(state, ui_state, ui, commands);
        egui::CentralPanel::default()
            .show(ui, |ui| views::stamps::show(state, ui_state, ui, commands));
    }

    /// Draws the floating windows (dialogs, the palette), collecting what they ask for.
    fn draw_windows(&mut self, ctx: &egui::Context, commands: &mut Commands) {
        let (state, ui_state) = (&self.state, &mut self.ui);
        views::training::show(state, ui_state, ctx, commands);
        views::evaluation::show(state, ui_state, ctx, commands);
        views::shortcuts::show(ui_state, ctx);
        views::label_import::show(ui_state, ctx, commands);
        views::connect::show(ui_state, ctx, commands);
        window::palette(ui_state, ctx, commands);
    }
}

impl eframe::App for StampseqApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.ui.frame += 1;
        if CLOSE_REQUESTED.load(std::sync::atomic::Ordering::SeqCst) {
            self.state.jobs.cancel_all();
            if let Some(live) = &self.state.live {
                live.disconnect();
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.poll_jobs();
        self.poll_stream();
        let mut commands = Commands::new();
        let rebinding = views::shortcuts::capture(&mut self.ui, &ctx);
        if !self.ui.show_palette && !rebinding {
            window::shortcuts(&self.ui, &ctx, &mut commands);
        }
        // Keys act before the panels are drawn, so that this frame shows what they changed.
        self.run_commands(std::mem::take(&mut commands));
        self.state.refresh_visible(&self.ui.prefs.filter);
        if self.state.selection.object.is_none() && !self.state.visible.is_empty() {
            self.state.selection.object = Some(self.state.visible[0]);
        }
        self.draw_panels(ui, &mut commands);
        // A dialog the menu opens is drawn in this frame, as a window needs a frame to
        // size itself before it shows.
        let mut changed = !commands.is_empty();
        self.run_commands(std::mem::take(&mut commands));
        self.draw_windows(&ctx, &mut commands);
        changed |= !commands.is_empty();
        self.run_commands(commands);
        if changed {
            // What the commands changed is drawn at once, not at the next input.
            ctx.request_repaint();
        }
        if self.state.jobs.is_busy() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        // The status line's rate and lag change without a batch arriving.
        if self
            .state
            .live
            .as_ref()
            .is_some_and(live::LiveStream::is_running)
        {
            ctx.request_repaint_after(std::time::Duration::from_millis(500));
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.ui.prefs);
    }

    fn on_exit(&mut self) {
        self.flush_labels();
    }
}

impl StampseqApp {
    /// Waits until every label change made so far is on disk (the app's exit; tests that
    /// read the labels' files).
    pub fn flush_labels(&mut self) {
        self.state.send_label_writes();
        self.state.label_writer.flush();
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
