//! The object browser: a virtualised table (smooth with 100,000 objects, see
//! `stampseq bench browser`), with search, filters and sortable columns. Rows are filtered
//! and sorted in `StampseqApp::refresh_visible`, only when something they depend on changed.

use crate::alert::neutral::Survey;
use crate::app::state::SortColumn;
use crate::app::StampseqApp;
use crate::time::jd_to_calendar;
use egui_extras::{Column, TableBuilder};

pub fn show(app: &mut StampseqApp, ui: &mut egui::Ui) {
    filters(app, ui);
    ui.separator();
    table(app, ui);
}

/// Search, filters, the orderings that are not columns, and the count of what is shown.
fn filters(app: &mut StampseqApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let l = ui.label("Search");
        let search = ui
            .add(
                egui::TextEdit::singleline(&mut app.prefs.filter.search)
                    .hint_text("objectId")
                    .desired_width(140.0),
            )
            .labelled_by(l.id);
        if app.focus_search {
            search.request_focus();
            app.focus_search = false;
        }
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut app.prefs.filter.only_unvetted, "Not yet vetted");
        let l = ui.label("min detections");
        ui.add(egui::DragValue::new(&mut app.prefs.filter.min_detections).range(1..=100))
            .labelled_by(l.id);
    });
    ui.horizontal(|ui| {
        let informative = app.prefs.filter.sort == SortColumn::Informative;
        if ui
            .selectable_label(informative, "Most informative first")
            .on_hover_text(
                "Vet these first: the answers the model is least sure of (weak top class, \
                 wide ensemble spread), one object in ten at random so that what your labels \
                 buy is measured fairly",
            )
            .clicked()
        {
            app.prefs.filter.sort = SortColumn::Informative;
            app.prefs.filter.descending = true;
        }
        let newest = app.prefs.filter.sort == SortColumn::Arrival && app.prefs.filter.descending;
        if ui
            .selectable_label(newest, "Newest first")
            .on_hover_text("The objects whose alerts arrived last (from a stream, a load) first")
            .clicked()
        {
            app.prefs.filter.sort = SortColumn::Arrival;
            app.prefs.filter.descending = true;
        }
        // Most likely first, of the class asked for: the newest likely supernovae first
        // with the "last seen" column as the tie-breaker of a second sort.
        let classes: Vec<String> = app
            .predictions
            .models
            .first()
            .map(|m| m.classes.clone())
            .unwrap_or_default();
        let by_class = app.prefs.filter.sort == SortColumn::ClassProbability;
        egui::ComboBox::from_label("order by class")
            .selected_text(if by_class {
                format!("P({})", app.prefs.filter.sort_class)
            } else {
                "—".into()
            })
            .show_ui(ui, |ui| {
                for c in classes {
                    if ui
                        .selectable_label(
                            by_class && app.prefs.filter.sort_class == c,
                            format!("P({c}) first"),
                        )
                        .clicked()
                    {
                        app.prefs.filter.sort = SortColumn::ClassProbability;
                        app.prefs.filter.sort_class = c;
                        app.prefs.filter.descending = true;
                    }
                }
            });
    });
    ui.checkbox(&mut app.prefs.filter.only_uncertain, "Uncertain or unusual")
        .on_hover_text(
            "Only objects whose first model is unsure: top class below 0.6, its ensemble \
             members disagreeing, or a spread above 0.15",
        );
    ui.label(format!(
        "{} of {} objects, {} alerts",
        app.visible.len(),
        app.catalog.rows.len(),
        app.catalog.alerts
    ));
}

/// The table of objects, virtualised; a click selects, a header click sorts.
fn table(app: &mut StampseqApp, ui: &mut egui::Ui) {
    let selected = app.selection.object;
    let mut clicked = None;
    let mut sort_clicked = None;
    let header = |ui: &mut egui::Ui,
                  text: &str,
                  col: SortColumn,
                  sort: &mut Option<SortColumn>,
                  current: SortColumn,
                  desc: bool| {
        let arrow = if current == col {
            if desc {
                " v"
            } else {
                " ^"
            }
        } else {
            ""
        };
        if ui.button(format!("{text}{arrow}")).clicked() {
            *sort = Some(col);
        }
    };
    let (current, desc) = (app.prefs.filter.sort, app.prefs.filter.descending);
    // LSST ids run to 19 digits: a wider object column once any is loaded (a table of its
    // own, as a column's initial width only applies at its first layout).
    let lsst = app
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
    if app.scroll_to_selection {
        if let Some(pos) = selected.and_then(|s| app.visible.iter().position(|&v| v == s)) {
            table = table.scroll_to_row(pos, None);
        }
        app.scroll_to_selection = false;
    }
    table
        .header(22.0, |mut row| {
            row.col(|ui| {
                header(
                    ui,
                    "object",
                    SortColumn::ObjectId,
                    &mut sort_clicked,
                    current,
                    desc,
                )
            });
            row.col(|ui| {
                header(
                    ui,
                    "det",
                    SortColumn::Detections,
                    &mut sort_clicked,
                    current,
                    desc,
                )
            });
            row.col(|ui| {
                header(
                    ui,
                    "last seen",
                    SortColumn::LastSeen,
                    &mut sort_clicked,
                    current,
                    desc,
                )
            });
            row.col(|ui| {
                header(
                    ui,
                    "label",
                    SortColumn::Label,
                    &mut sort_clicked,
                    current,
                    desc,
                )
            });
            row.col(|ui| {
                header(
                    ui,
                    "model",
                    SortColumn::Probability,
                    &mut sort_clicked,
                    current,
                    desc,
                )
            });
            row.col(|ui| {
                header(
                    ui,
                    "±",
                    SortColumn::Uncertainty,
                    &mut sort_clicked,
                    current,
                    desc,
                )
            });
        })
        .body(|body| {
            body.rows(20.0, app.visible.len(), |mut row| {
                let index = app.visible[row.index()];
                let r = &app.catalog.rows[index];
                row.set_selected(selected == Some(index));
                // Cells are plain (non-selectable) labels so that a click selects the row.
                let cell = |ui: &mut egui::Ui, text: String| {
                    ui.add(egui::Label::new(text).selectable(false));
                };
                row.col(|ui| {
                    if r.solar_system {
                        ui.add(
                            egui::Label::new(
                                egui::RichText::new(&r.object_id).color(egui::Color32::YELLOW),
                            )
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
                    let label = app.labels.as_ref().and_then(|l| l.get(&r.object_id));
                    cell(ui, label.unwrap_or("").to_string())
                });
                row.col(|ui| {
                    if let Some((class, p)) = app.predictions.top_class(&r.object_id) {
                        if app.predictions.is_transferred(&r.object_id) {
                            // A badge: the answer was learnt on another survey's labels.
                            ui.add(egui::Label::new(format!("{class} {p:.2} *")).selectable(false))
                                .on_hover_text(super::lsst_details::TRANSFERRED);
                        } else {
                            cell(ui, format!("{class} {p:.2}"));
                        }
                    } else if r.survey != Survey::Ztf
                        && (!app.model_paths.is_empty() || !app.predictions.models.is_empty())
                    {
                        // Only a model trained on LSST alerts answers an LSST object: say
                        // why there is no answer.
                        ui.add(egui::Label::new("no LSST model").selectable(false))
                            .on_hover_text(super::lsst_details::NO_LSST_MODEL);
                    }
                });
                row.col(|ui| {
                    if let Some((u, uncertain)) = app.predictions.uncertainty(&r.object_id) {
                        let text = if u.is_nan() {
                            String::new()
                        } else {
                            format!("{u:.2}")
                        };
                        // A mark beside answers worth a second look; the hover says why.
                        let why =
                            app.predictions
                                .hesitation(&r.object_id)
                                .map(|[(a, pa), (b, pb)]| {
                                    format!("{a} {pa:.2} against {b} {pb:.2}; spread of {a} {text}")
                                });
                        let shown = if uncertain { format!("{text} ?") } else { text };
                        let response = ui.add(egui::Label::new(shown).selectable(false));
                        if let Some(why) = why {
                            response.on_hover_text(why);
                        }
                    }
                });
                if row.response().clicked() {
                    clicked = Some(index);
                }
            });
        });
    if let Some(col) = sort_clicked {
        if app.prefs.filter.sort == col {
            app.prefs.filter.descending = !app.prefs.filter.descending;
        } else {
            app.prefs.filter.sort = col;
            app.prefs.filter.descending = false;
        }
    }
    if let Some(index) = clicked {
        app.select_object(index);
    }
}
