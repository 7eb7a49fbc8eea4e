//! The vetting buttons of an object (its label, confidence, note and vetter), under the
//! details of either survey.

use crate::app::commands::Command;
use crate::app::StampseqApp;

pub fn vetting(app: &mut StampseqApp, ui: &mut egui::Ui, object_id: &str) {
    let current = app
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
            let text = format!("{label} ({})", app.prefs.shortcuts.text(cmd, ui.ctx()));
            if ui
                .selectable_label(current.as_deref() == Some(label), text)
                .clicked()
            {
                app.run_command(cmd);
            }
        }
    });
    // How sure, a note, and who: kept in the journal with the label.
    if current.is_some() {
        let details = app
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
        if app
            .note_draft
            .as_ref()
            .is_none_or(|(id, _)| id != object_id)
        {
            app.note_draft = Some((
                object_id.to_string(),
                details.note.clone().unwrap_or_default(),
            ));
        }
        let mut commit_note = false;
        if let Some((_, text)) = app.note_draft.as_mut() {
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
        let note = app.note_draft.as_ref().map(|(_, t)| t.clone());
        if confidence != details.confidence || commit_note {
            if let Some(store) = app.labels.as_mut() {
                let note = if commit_note {
                    note
                } else {
                    details.note.clone()
                };
                if let Err(e) = store.set_details(object_id, confidence.as_deref(), note.as_deref())
                {
                    app.label_error = Some(e.to_string());
                }
            }
        }
        if let Some(who) = &details.vetter {
            ui.small(format!("by {who}"));
        }
    }
    ui.horizontal(|ui| {
        let l = ui.label("vetter");
        let changed = ui
            .add(
                egui::TextEdit::singleline(&mut app.prefs.vetter_name)
                    .hint_text("your name")
                    .desired_width(120.0),
            )
            .labelled_by(l.id)
            .changed();
        if changed {
            if let Some(store) = app.labels.as_mut() {
                store.set_vetter(Some(&app.prefs.vetter_name));
            }
        }
    });
    if let Some(e) = &app.label_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
}
