//! The object browser: a virtualised table (smooth with 100,000 objects, see
//! `stampseq bench browser`), with search, filters and sortable columns. Rows are filtered
//! and sorted in `StampseqApp::refresh_visible`, only when something they depend on changed.

use super::{Commands, UiState};
use crate::alert::neutral::Survey;
use crate::app::commands::AppCommand;
use crate::app::domain::AppState;
use crate::app::state::SortColumn;
use crate::time::jd_to_calendar;
use egui_extras::{Column, TableBuilder};

pub fn show(state: &AppState, ui_state: &mut UiState, ui: &mut egui::Ui, commands: &mut Commands) {
    filters(state, ui_state, ui);
    ui.separator();
    table(state, ui_state, ui, commands);
}

/// Search, filters, the orderings that are not columns, and the count of what is shown.
fn filters(state: &AppState, ui_state: &mut UiState, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let l = ui.label("Search");
        let search = ui
            .add(
                egui::TextEdit::singleline(&mut ui_state.prefs.filter.search)
                    .hint_text("objectId")
                    .desired_width(140.0),
            )
            .labelled_by(l.id);
        if ui_state.focus_search {
            search.request_focus();
            ui_state.focus_search = false;
        }
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut ui_state.prefs.filter.only_unvetted, "Not yet vetted");
        let l = ui.label("min detections");
        ui.add(egui::DragValue::new(&mut ui_state.prefs.filter.min_detections).range(1..=100))
            .labelled_by(l.id);
    });
    ui.horizontal(|ui| {
        let informative = ui_state.prefs.filter.sort == SortColumn::Informative;
        if ui
            .selectable_label(informative, "Most informative first")
            .on_hover_text(
                "Vet these first: the answers the model is least sure of (weak top class, \
                 wide ensemble spread), one object in ten at random so that what your labels \
                 buy is measured fairly",
            )
            .clicked()
        {
            ui_state.prefs.filter.sort = SortColumn::Informative;
            ui_state.prefs.filter.descending = true;
        }
        let newest =
            ui_state.prefs.filter.sort == SortColumn::Arrival && ui_state.prefs.filter.descending;
        if ui
            .selectable_label(newest, "Newest first")
            .on_hover_text("The objects whose alerts arrived last (from a stream, a load) first")
            .clicked()
        {
            ui_state.prefs.filter.sort = SortColumn::Arrival;
            ui_state.prefs.filter.descending = true;
        }
        // Most likely first, of the class asked for: the newest likely supernovae first
        // with the "last seen" column as the tie-breaker of a second sort.
        let classes: Vec<String> = state
            .predictions
            .models
            .first()
            .map(|m| m.classes.clone())
            .unwrap_or_default();
        let by_class = ui_state.prefs.filter.sort == SortColumn::ClassProbability;
        egui::ComboBox::from_label("order by class")
            .selected_text(if by_class {
                format!("P({})", ui_state.prefs.filter.sort_class)
            } else {
                "—".into()
            })
            .show_ui(ui, |ui| {
                for c in classes {
                    if ui
                        .selectable_label(
                            by_class && ui_state.prefs.filter.sort_class == c,
                            format!("P({c}) first"),
                        )
                        .clicked()
                    {
                        ui_state.prefs.filter.sort = SortColumn::ClassProbability;
                        ui_state.prefs.filter.sort_class = c;
                        ui_state.prefs.filter.descending = true;
                    }
                }
            });
    });
    ui.checkbox(
        &mut ui_state.prefs.filter.only_uncertain,
        "Uncertain or unusual",
    )
    .on_hover_text(
        "Only objects whose first model is unsure: top class below 0.6, its ensemble \
             members disagreeing, or a spread above 0.15",
    );
    ui.label(format!(
        "{} of {} objects, {} alerts",
        state.visible.len(),
        state.catalog.rows.len(),
        state.catalog.alerts
    ));
}

/// The table of objects, virtualised; a click selects, a header click sorts.
fn table(state: &AppState, ui_state: &mut UiState, ui: &mut egui::Ui, commands: &mut Commands) {
    let selected = state.selection.object;
    let mut clicked = None;
    let mut sort_clicked = None;
    let filter = &ui_state.prefs.filter;
    let (current, desc) = (filter.sort, filter.descending);
    // LSST ids run to 19 digits: a wider object column once any is loaded (a table of its
    // own, as a column's initial width only applies at its first layout).
    let lsst = state
        .catalog
        .rows
        .last()
        .is_some_and(|r| r.survey != Survey::Ztf);
    let mut table = TableBuilder::new(ui)
        .id_salt(if lsst {
            "object browser lsst"
        } else {
            "object browser"
        })
        .striped(true)
        .sense(egui::Sense::click())
        .column(Column::initial(if lsst { 160.0 } else { 110.0 }).at_least(90.0))
        .column(Column::initial(60.0))
        .column(Column::initial(80.0))
        .column(Column::initial(50.0))
        .column(Column::initial(if lsst { 100.0 } else { 80.0 }).at_least(60.0))
        .column(Column::remainder().at_least(40.0));
    // Finding the row is a scan of every visible row: only when the selection moved.
    if ui_state.scroll_to_selection {
        if let Some(pos) = selected.and_then(|s| state.visible.iter().position(|&v| v == s)) {
            table = table.scroll_to_row(pos, None);
        }
        ui_state.scroll_to_selection = false;
    }
    table
        .header(22.0, |mut row| {
            for (text, col) in COLUMNS {
                row.col(|ui| {
                    let arrow = match (current == col, desc) {
                        (false, _) => "",
                        (true, true) => " v",
                        (true, false) => " ^",
                    };
                    if ui.button(format!("{text}{arrow}")).clicked() {
                        sort_clicked = Some(col);
                    }
                });
            }
        })
        .body(|body| {
            body.rows(20.0, state.visible.len(), |mut row| {
                let index = state.visible[row.index()];
                row.set_selected(selected == Some(index));
                object_row(state, &mut row, index);
                if row.response().clicked() {
                    clicked = Some(index);
                }
            });
        });
    if let Some(col) = sort_clicked {
        let filter = &mut ui_state.prefs.filter;
        if filter.sort == col {
            filter.descending = !filter.descending;
        } else {
            filter.sort = col;
            filter.descending = false;
        }
    }
    if let Some(index) = clicked {
        commands.push(AppCommand::SelectObject(index));
    }
}

/// The table's columns: the header's text and the order its click sorts by.
const COLUMNS: [(&str, SortColumn); 6] = [
    ("object", SortColumn::ObjectId),
    ("det", SortColumn::Detections),
    ("last seen", SortColumn::LastSeen),
    ("label", SortColumn::Label),
    ("model", SortColumn::Probability),
    ("±", SortColumn::Uncertainty),
];

/// The cells of one object's row.
fn object_row(state: &AppState, row: &mut egui_extras::TableRow<'_, '_>, index: usize) {
    let r = &state.catalog.rows[index];
    // Cells are plain (non-selectable) labels so that a click selects the row.
    let cell = |ui: &mut egui::Ui, text: String| {
        ui.add(egui::Label::new(text).selectable(false));
    };
    row.col(|ui| {
        if r.solar_system {
            ui.add(
                egui::Label::new(egui::RichText::new(&r.object_id).color(egui::Color32::YELLOW))
                    .selectable(false),
            )
            .on_hover_text("LSST solar-system object (ssObjectId)");
        } else {
            cell(ui, r.object_id.clone())
        }
    });
    row.col(|ui| cell(ui, format!("{} / {}n", r.detections, r.nights)));
    row.col(|ui| {
        cell(
            ui,
            jd_to_calendar(r.last_jd)
                .get(..10)
                .unwrap_or("-")
                .to_string(),
        )
    });
    row.col(|ui| {
        let label = state.labels.as_ref().and_then(|l| l.get(&r.object_id));
        cell(ui, label.unwrap_or("").to_string())
    });
    row.col(|ui| model_cell(state, ui, r));
    row.col(|ui| uncertainty_cell(state, ui, &r.object_id));
}

/// The first model's top class, marked when learnt on another survey's labels, or why an
/// LSST row has no answer.
fn model_cell(state: &AppState, ui: &mut egui::Ui, r: &crate::app::state::ObjectRow) {
    let predictions = &state.predictions;
    if let Some((class, p)) = predictions.top_class(&r.object_id) {
        if predictions.is_transferred(&r.object_id) {
            // A badge: the answer was learnt on another survey's labels.
            ui.add(egui::Label::new(format!("{class} {p:.2} *")).selectable(false))
                .on_hover_text(super::lsst_details::TRANSFERRED);
        } else {
            ui.add(egui::Label::new(format!("{class} {p:.2}")).selectable(false));
        }
    } else if r.survey != Survey::Ztf
        && (!state.models.paths.is_empty() || !predictions.models.is_empty())
    {
        // Only a model trained on LSST alerts answers an LSST object: say why there is no
        // answer.
        ui.add(egui::Label::new("no LSST model").selectable(false))
            .on_hover_text(super::lsst_details::NO_LSST_MODEL);
    }
}

/// The first model's spread on its top class, with a mark beside answers worth a second
/// look; the hover says why.
fn uncertainty_cell(state: &AppState, ui: &mut egui::Ui, object_id: &str) {
    let Some((u, uncertain)) = state.predictions.uncertainty(object_id) else {
        return;
    };
    let text = if u.is_nan() {
        String::new()
    } else {
        format!("{u:.2}")
    };
    let why = state
        .predictions
        .hesitation(object_id)
        .map(|[(a, pa), (b, pb)]| format!("{a} {pa:.2} against {b} {pb:.2}; spread of {a} {text}"));
    let shown = if uncertain { format!("{text} ?") } else { text };
    let response = ui.add(egui::Label::new(shown).selectable(false));
    if let Some(why) = why {
        response.on_hover_text(why);
    }
}
