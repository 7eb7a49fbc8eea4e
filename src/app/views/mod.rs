//! The panels of the main window. Each draws from the app state and turns clicks into
//! commands; none reads a file or runs a model.

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

use crate::app::commands::PlotKind;

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
