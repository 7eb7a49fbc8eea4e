//! The keyboard shortcuts overlay (F1), which is also where they are changed: click a
//! shortcut, press the new key combination. The result is kept in the preferences.

use crate::app::commands::{normalise_modifiers, Command};
use crate::app::StampseqApp;
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
pub fn capture(app: &mut StampseqApp, ctx: &egui::Context) -> bool {
    let Some(command) = app.shortcut_editor.capturing else {
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
    let editor = &mut app.shortcut_editor;
    editor.capturing = None;
    let modifiers = normalise_modifiers(modifiers);
    if key == Key::Escape && modifiers.is_none() {
        editor.message = None;
        return false;
    }
    let shortcut = KeyboardShortcut::new(modifiers, key);
    editor.message = Some(match app.prefs.shortcuts.bind(command, Some(shortcut)) {
        Ok(()) => format!("{}: {}", command.title(), ctx.format_shortcut(&shortcut)),
        Err(conflict) => format!("Not changed: {conflict}."),
    });
    false
}

pub fn show(app: &mut StampseqApp, ctx: &egui::Context) {
    let mut open = app.show_help;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut open)
        .collapsible(false)
        .show(ctx, |ui| {
            ui.label("Click a shortcut, then press the new key combination (Esc cancels).");
            if let Some(m) = &app.shortcut_editor.message {
                ui.colored_label(ui.visuals().warn_fg_color, m);
            }
            for (a, b) in app.prefs.shortcuts.conflicts() {
                ui.colored_label(
                    ui.visuals().error_fg_color,
                    format!(
                        "{} and {} share {}: only the first works.",
                        a.title(),
                        b.title(),
                        app.prefs.shortcuts.text(a, ctx)
                    ),
                );
            }
            egui::ScrollArea::vertical().show(ui, |ui| {
                egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                    for c in Command::ALL {
                        shortcut_row(app, ui, c);
                    }
                    ui.monospace("drag / wheel / double-click");
                    ui.label("pan / zoom / reset, linked across stamps");
                    ui.end_row();
                });
            });
            if ui.button("Reset all shortcuts").clicked() {
                app.prefs.shortcuts.reset_all();
                app.shortcut_editor = ShortcutEditor::default();
            }
        });
    app.show_help = open;
    if !open {
        app.shortcut_editor.capturing = None;
    }
}

fn shortcut_row(app: &mut StampseqApp, ui: &mut egui::Ui, c: Command) {
    let capturing = app.shortcut_editor.capturing == Some(c);
    let text = if capturing {
        "press keys...".to_string()
    } else {
        match app.prefs.shortcuts.text(c, ui.ctx()) {
            t if t.is_empty() => "none".to_string(),
            t => t,
        }
    };
    let button = ui
        .add(egui::Button::new(egui::RichText::new(text).monospace()).selected(capturing))
        .on_hover_text(format!("Change the shortcut of \"{}\"", c.title()));
    if button.clicked() {
        app.shortcut_editor.capturing = (!capturing).then_some(c);
        app.shortcut_editor.message = None;
    }
    ui.label(c.title());
    ui.horizontal(|ui| {
        if app.prefs.shortcuts.shortcut(c).is_some()
            && ui
                .small_button("clear")
                .on_hover_text("No shortcut")
                .clicked()
        {
            // Unbinding cannot conflict.
            let _ = app.prefs.shortcuts.bind(c, None);
        }
        if app.prefs.shortcuts.is_custom(c)
            && ui
                .small_button("default")
                .on_hover_text(format!(
                    "Back to {}",
                    c.default_shortcut()
                        .map_or("none".to_string(), |s| ui.ctx().format_shortcut(&s))
                ))
                .clicked()
        {
            if let Err(e) = app.prefs.shortcuts.reset(c) {
                app.shortcut_editor.message = Some(format!("Not changed: {e}."));
            }
        }
    });
    ui.end_row();
}
