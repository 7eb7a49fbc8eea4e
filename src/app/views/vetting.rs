//! The vetting buttons of an object (its label, confidence, note and vetter), under the
//! details of either survey.

use super::{Commands, UiState};
use crate::app::commands::{AppCommand, Command};
use crate::app::domain::AppState;

pub fn vetting(
    state: &AppState,
    ui_state: &mut UiState,
    ui: &mut egui::Ui,
    object_id: &str,
    commands: &mut Commands,
) {
    let current = state
        .labels
        .as_ref()
        .and_then(|l| l.get(object_id))
        .map(str::to_string);
    ui.horizontal_wrapped(|ui| {
        ui.label("Label:");
        for cmd in [
            Command::LabelAgn,
            Command::LabelSn,
            Command::LabelVs,
            Command::LabelAsteroid,
            Command::LabelBogus,
            Command::LabelUnsure,
        ] {
            let label = cmd.label().unwrap_or_default();
            let text = format!("{label} ({})", ui_state.prefs.shortcuts.text(cmd, ui.ctx()));
            if ui
                .selectable_label(current.as_deref() == Some(label), text)
                .clicked()
            {
                commands.push(cmd.into());
            }
        }
    });
    // How sure, a note, and who: kept in the journal with the label.
    if current.is_some() {
        let details = state
            .labels
            .as_ref()
            .and_then(|l| l.details(object_id))
            .cloned()
            .unwrap_or_default();
        let mut confidence = details.confidence.clone();
        ui.horizontal(|ui| {
            for c in crate::labels::CONFIDENCES {
                if ui
                    .selectable_label(confidence.as_deref() == Some(c), c)
                    .clicked()
                {
                    confidence = Some(c.to_string());
                }
            }
        });
        if ui_state
            .note_draft
            .as_ref()
            .is_none_or(|(id, _)| id != object_id)
        {
            ui_state.note_draft = Some((
                object_id.to_string(),
                details.note.clone().unwrap_or_default(),
            ));
        }
        let mut commit_note = false;
        if let Some((_, text)) = ui_state.note_draft.as_mut() {
            let l = ui.label("note");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(text)
                        .hint_text("why, for whoever vets next")
                        .desired_width(220.0),
                )
                .labelled_by(l.id);
            commit_note = edit.lost_focus();
        }
        let note = ui_state.note_draft.as_ref().map(|(_, t)| t.clone());
        if confidence != details.confidence || commit_note {
            commands.push(AppCommand::SetLabelDetails {
                object_id: object_id.to_string(),
                confidence,
                note: if commit_note {
                    note
                } else {
                    details.note.clone()
                },
            });
        }
        if let Some(who) = &details.vetter {
            ui.small(format!("by {who}"));
        }
    }
    ui.horizontal(|ui| {
        let l = ui.label("vetter");
        let changed = ui
            .add(
                egui::TextEdit::singleline(&mut ui_state.prefs.vetter_name)
                    .hint_text("your name")
                    .desired_width(120.0),
            )
            .labelled_by(l.id)
            .changed();
        if changed {
            commands.push(AppCommand::SetVetter(ui_state.prefs.vetter_name.clone()));
        }
    });
    if let Some(e) = &state.label_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
}
