//! The panels of the main window. Each reads the app's state ([`AppState`]), keeps its own
//! widgets' state in [`UiState`] (text being typed, open dialogs, zoom) and turns what the
//! user asks for into [`AppCommand`]s; none changes the app's state, reads a file or runs
//! a model.

pub mod browser;
pub mod confusion;
pub mod connect;
pub mod details;
pub mod evaluation;
pub mod evolution;
pub mod label_import;
pub mod lightcurve;
pub mod lsst_details;
pub mod model_input;
pub mod shortcuts;
pub mod stamps;
pub mod training;
pub mod values;
pub mod vetting;

use crate::app::commands::{AppCommand, PlotKind};
use crate::app::prefs::Preferences;
use crate::app::stamp_gpu::ViewTransform;

/// How the window is drawn, apart from what it shows: preferences, dialogs, drafts, zoom.
/// Views change it in place; nothing in it is the app's data.
pub struct UiState {
    pub prefs: Preferences,
    pub view: ViewTransform,
    pub hover: Option<stamps::HoverPixel>,
    /// LSST panels turned North up, by stamp: resampled once, not at every frame.
    pub lsst_panels: stamps::PanelCache,
    pub blink: bool,
    /// Whether stamps are drawn by the wgpu shader, and on what.
    pub gpu: bool,
    pub device_name: String,
    pub frame: u64,
    pub show_help: bool,
    pub shortcut_editor: shortcuts::ShortcutEditor,
    pub show_palette: bool,
    pub palette_query: String,
    pub focus_search: bool,
    pub scroll_to_selection: bool,
    pub training: training::TrainingForm,
    pub evaluation: evaluation::EvaluationPanel,
    /// The "Import labels" dialog, while open.
    pub label_import: Option<label_import::LabelImport>,
    /// The note being typed for the selected object: (object, text).
    pub note_draft: Option<(String, String)>,
    /// The "Connect to a stream" dialog, while open.
    pub connect_form: Option<crate::app::live::ConnectForm>,
    /// The details panel's last AllWISE cone search.
    pub wise_lookup: crate::app::wise::WiseLookup,
}

impl UiState {
    pub fn new(prefs: Preferences, gpu: bool, device_name: String) -> Self {
        Self {
            prefs,
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
            training: Default::default(),
            evaluation: Default::default(),
            label_import: None,
            note_draft: None,
            connect_form: None,
            wise_lookup: Default::default(),
        }
    }
}

/// Where a view puts what it asks of the app.
pub type Commands = Vec<AppCommand>;

/// A small "Export…" button that asks for `kind`'s export when clicked.
pub fn export_button(ui: &mut egui::Ui, kind: PlotKind, wanted: &mut Option<PlotKind>) {
    if ui
        .small_button("Export…")
        .on_hover_text(kind.command().title())
        .clicked()
    {
        *wanted = Some(kind);
    }
}
