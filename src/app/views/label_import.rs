//! The "Import labels" dialog: another tool's CSV, its object-id and class columns chosen,
//! its class names mapped to stampseq's (the usual synonyms pre-filled), then imported into
//! the labels folder as journal entries of their own (undoable one by one).

use super::{Commands, UiState};
use crate::app::commands::AppCommand;
use crate::labels::{guess_mapping, ForeignCsv, VETTING_CLASSES};
use std::collections::BTreeMap;

pub struct LabelImport {
    pub foreign: ForeignCsv,
    pub id_column: usize,
    pub class_column: usize,
    /// Their class name -> stampseq's; absent: left out.
    pub mapping: BTreeMap<String, String>,
}

impl LabelImport {
    /// Opens on the columns whose names look like an object id and a class.
    pub fn new(foreign: ForeignCsv) -> Self {
        let find = |names: &[&str]| {
            foreign
                .headers
                .iter()
                .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
        };
        let id_column = find(&["objectId", "oid", "object_id", "ztf_id", "id"]).unwrap_or(0);
        // Exact names first, then any column that names a class (ALeRCE's classALeRCE).
        let class_column = find(&["class", "label", "type", "classification", "class_name"])
            .or_else(|| {
                foreign
                    .headers
                    .iter()
                    .position(|h| h.to_ascii_lowercase().contains("class"))
            })
            .unwrap_or_else(|| foreign.headers.len().saturating_sub(1));
        let mapping = guess_mapping(&foreign.values(class_column));
        Self {
            foreign,
            id_column,
            class_column,
            mapping,
        }
    }

    /// The labels the dialog would import now, and the rows it leaves out.
    pub fn preview(&self) -> (Vec<(String, String)>, usize) {
        self.foreign
            .mapped(self.id_column, self.class_column, &self.mapping)
    }
}

pub fn show(ui_state: &mut UiState, ctx: &egui::Context, commands: &mut Commands) {
    let Some(dialog) = ui_state.label_import.as_mut() else {
        return;
    };
    let mut open = true;
    let mut import = false;
    egui::Window::new("Import labels")
        .open(&mut open)
        .collapsible(false)
        .show(ctx, |ui| {
            ui.label(format!(
                "{} ({} rows)",
                dialog.foreign.path.display(),
                dialog.foreign.rows.len()
            ));
            let headers = dialog.foreign.headers.clone();
            let mut class_changed = false;
            egui::Grid::new("import columns").show(ui, |ui| {
                ui.label("objectId column");
                egui::ComboBox::from_id_salt("id column")
                    .selected_text(headers.get(dialog.id_column).cloned().unwrap_or_default())
                    .show_ui(ui, |ui| {
                        for (i, h) in headers.iter().enumerate() {
                            ui.selectable_value(&mut dialog.id_column, i, h);
                        }
                    });
                ui.end_row();
                ui.label("class column");
                egui::ComboBox::from_id_salt("class column")
                    .selected_text(
                        headers
                            .get(dialog.class_column)
                            .cloned()
                            .unwrap_or_default(),
                    )
                    .show_ui(ui, |ui| {
                        for (i, h) in headers.iter().enumerate() {
                            class_changed |= ui
                                .selectable_value(&mut dialog.class_column, i, h)
                                .changed();
                        }
                    });
                ui.end_row();
            });
            if class_changed {
                dialog.mapping = guess_mapping(&dialog.foreign.values(dialog.class_column));
            }
            ui.separator();
            ui.label("Their class, then stampseq's (leave out to skip):");
            egui::ScrollArea::vertical()
                .max_height(240.0)
                .show(ui, |ui| {
                    egui::Grid::new("import mapping").show(ui, |ui| {
                        for value in dialog.foreign.values(dialog.class_column) {
                            ui.label(&value);
                            let current = dialog.mapping.get(&value).cloned();
                            egui::ComboBox::from_id_salt(("map", value.as_str()))
                                .selected_text(current.as_deref().unwrap_or("leave out"))
                                .show_ui(ui, |ui| {
                                    if ui
                                        .selectable_label(current.is_none(), "leave out")
                                        .clicked()
                                    {
                                        dialog.mapping.remove(&value);
                                    }
                                    for c in VETTING_CLASSES {
                                        if ui
                                            .selectable_label(current.as_deref() == Some(c), c)
                                            .clicked()
                                        {
                                            dialog.mapping.insert(value.clone(), c.to_string());
                                        }
                                    }
                                });
                            ui.end_row();
                        }
                    });
                });
            let (labels, skipped) = dialog.preview();
            ui.label(format!(
                "{} labels to import, {skipped} rows left out",
                labels.len()
            ));
            if ui.button("Import").clicked() {
                import = true;
            }
        });
    if import {
        if let Some(dialog) = ui_state.label_import.take() {
            let (labels, _) = dialog.preview();
            let source = dialog
                .foreign
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            commands.push(AppCommand::ImportLabels { labels, source });
        }
    } else if !open {
        ui_state.label_import = None;
    }
}
