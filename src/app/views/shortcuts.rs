//! The keyboard shortcuts overlay (F1), which is also where they are changed: click a
//! shortcut, press the new key combination. The result is kept in the preferences.

use super::UiState;
use crate::app::commands::{normalise_modifiers, Command};
use egui::{Event, Key, KeyboardShortcut};

#[derive(Debug, Default)]
pub struct ShortcutEditor {
    /// The command whose new shortcut the next key press becomes.
    pub capturing: Option<Command>,
    /// The outcome of the last change (a conflict, or what was bound).
    pub message: Option<String>,
}

/// Takes the key press meant for the command being rebound, before any shortcut or widget
/// sees it. Returns true while a binding is being captured, so that shortcuts stay quiet.
pub fn capture(ui_state: &mut UiState, ctx: &egui::Context) -> bool {
    let Some(command) = ui_state.shortcut_editor.capturing else {
        return false;
    };
    let pressed = ctx.input_mut(|i| {
        let at = i.events.iter().position(|e| {
            matches!(
                e,
                Event::Key {
                    pressed: true,
                    repeat: false,
                    ..
                }
            )
        })?;
        match i.events.remove(at) {
            Event::Key { key, modifiers, .. } => Some((key, modifiers)),
            _ => None,
        }
    });
    // Text events of the same key press would otherwise land in a focused text field.
    ctx.input_mut(|i| i.events.retain(|e| !matches!(e, Event::Text(_))));
    let Some((key, modifiers)) = pressed else {
        return true;
    };
    let editor = &mut ui_state.shortcut_editor;
    editor.capturing = None;
    let modifiers = normalise_modifiers(modifiers);
    if key == Key::Escape && modifiers.is_none() {
        editor.message = None;
        return false;
    }
    let shortcut = KeyboardShortcut::new(modifiers, key);
    editor.message = Some(
        match ui_state.prefs.shortcuts.bind(command, Some(shortcut)) {
            Ok(()) => format!("{}: {}", command.title(), ctx.format_shortcut(&shortcut)),
            Err(conflict) => format!("Not changed: {conflict}."),
        },
    );
    false
}

pub fn show(ui_state: &mut UiState, ctx: &egui::Context) {
    let mut open = ui_state.show_help;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut open)
        .collapsible(false)
        .show(ctx, |ui| {
            ui.label("Click a shortcut, then press the new key combination (Esc cancels).");
            if let Some(m) = &ui_state.shortcut_editor.message {
                ui.colored_label(ui.visuals().warn_fg_color, m);
            }
            for (a, b) in ui_state.prefs.shortcuts.conflicts() {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!(
                        "{} and {} share {}: only the first works.",
                        a.title(),
                        b.title(),
                        ui_state.prefs.shortcuts.text(a, ctx)
                    ),
                );
            }
            egui::ScrollArea::vertical().show(ui, |ui| {
                egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                    for c in Command::ALL {
                        shortcut_row(ui_state, ui, c);
                    }
                    ui.monospace("drag / wheel / double-click");
                    ui.label("pan / zoom / reset, linked across stamps");
                    ui.end_row();
                });
            });
            if ui.button("Reset all shortcuts").clicked() {
                ui_state.prefs.shortcuts.reset_all();
                ui_state.shortcut_editor = ShortcutEditor::default();
            }
        });
    ui_state.show_help = open;
    if !open {
        ui_state.shortcut_editor.capturing = None;
    }
}

fn shortcut_row(ui_state: &mut UiState, ui: &mut egui::Ui, c: Command) {
    let capturing = ui_state.shortcut_editor.capturing == Some(c);
    let text = if capturing {
        "press keys...".to_string()
    } else {
        match ui_state.prefs.shortcuts.text(c, ui.ctx()) {
            t if t.is_empty() => "none".to_string(),
            t => t,
        }
    };
    let button = ui
        .add(egui::Button::new(egui::RichText::new(text).monospace()).selected(capturing))
        .on_hover_text(format!("Change the shortcut of \"{}\"", c.title()));
    if button.clicked() {
        ui_state.shortcut_editor.capturing = (!capturing).then_some(c);
        ui_state.shortcut_editor.message = None;
    }
    ui.label(c.title());
    ui.horizontal(|ui| {
        if ui_state.prefs.shortcuts.shortcut(c).is_some()
            && ui
                .small_button("clear")
                .on_hover_text("No shortcut")
                .clicked()
        {
            // Unbinding cannot conflict.
            let _ = ui_state.prefs.shortcuts.bind(c, None);
        }
        if ui_state.prefs.shortcuts.is_custom(c)
            && ui
                .small_button("default")
                .on_hover_text(format!(
                    "Back to {}",
                    c.default_shortcut()
                        .map_or("none".to_string(), |s| ui.ctx().format_shortcut(&s))
                ))
                .clicked()
        {
            if let Err(e) = ui_state.prefs.shortcuts.reset(c) {
                ui_state.shortcut_editor.message = Some(format!("Not changed: {e}."));
            }
        }
    });
    ui.end_row();
}
