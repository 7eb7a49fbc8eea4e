//! The window around the panels: the menu bar, the status bar, the bottom panel of plots,
//! the command palette and the keyboard shortcuts, each turning what the user does into a
//! command.

use super::commands::{AppCommand, Command, PlotKind};
use super::domain::AppState;
use super::export;
use super::views::{self, Commands, UiState};
use std::path::PathBuf;

/// The commands of the shortcuts pressed, and the files dropped on the window.
pub(super) fn shortcuts(ui_state: &UiState, ctx: &egui::Context, commands: &mut Commands) {
    let typing = ctx.egui_wants_keyboard_input();
    for (command, shortcut) in ui_state.prefs.shortcuts.in_match_order() {
        if typing && ui_state.prefs.shortcuts.is_plain_key(command) {
            continue;
        }
        if ctx.input_mut(|i| i.consume_shortcut(&shortcut)) {
            commands.push(command.into());
        }
    }
    let dropped: Vec<PathBuf> = ctx.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    });
    if !dropped.is_empty() {
        commands.push(AppCommand::OpenAlerts(dropped));
    }
}

/// One menu entry per command; the View menu's checkboxes change the preferences in place.
pub(super) fn menu_bar(ui_state: &mut UiState, ui: &mut egui::Ui, commands: &mut Commands) {
    egui::MenuBar::new().ui(ui, |ui| {
        let mut chosen = Vec::new();
        let mut answer_again = false;
        let shortcuts = ui_state.prefs.shortcuts.clone();
        let mut item = |ui: &mut egui::Ui, command: Command| {
            let text = format!(
                "{}    {}",
                command.title(),
                shortcuts.text(command, ui.ctx())
            );
            if ui.button(text).clicked() {
                chosen.push(AppCommand::from(command));
                ui.close();
            }
        };
        ui.menu_button("File", |ui| {
            item(ui, Command::OpenFiles);
            item(ui, Command::OpenFolder);
            item(ui, Command::LoadModel);
            item(ui, Command::FineTune);
            item(ui, Command::SwitchModel);
            item(ui, Command::LoadAllWise);
            item(ui, Command::ConnectStream);
            item(ui, Command::DisconnectStream);
            item(ui, Command::ImportLabels);
            item(ui, Command::ExportLabels);
            item(ui, Command::ExportStamps);
            ui.menu_button("Export a plot", |ui| {
                for c in Command::ALL
                    .into_iter()
                    .filter(|c| PlotKind::of(*c).is_some())
                {
                    item(ui, c);
                }
            });
        });
        ui.menu_button("View", |ui| {
            ui.checkbox(&mut ui_state.prefs.show_light_curve, "Light curve");
            ui.checkbox(&mut ui_state.prefs.show_evolution, "Class evolution");
            ui.checkbox(&mut ui_state.prefs.show_model_input, "What the model sees");
            item(ui, Command::ToggleTraining);
            item(ui, Command::ToggleEvaluation);
            ui.checkbox(
                &mut ui_state.prefs.flip_negative_difference,
                "Flip negative subtractions",
            );
            item(ui, Command::ToggleBlink);
            item(ui, Command::ResetZoom);
            let mut rules = !ui_state.prefs.raw_model_output;
            if ui
                .checkbox(&mut rules, "Physics rules after every model")
                .on_hover_text(
                    "Off: each model's raw output (as classify --no-rules): no stationary, \
                         known solar-system object, real/bogus... rule after it",
                )
                .changed()
            {
                ui_state.prefs.raw_model_output = !rules;
                answer_again = true;
            }
        });
        ui.menu_button("Vet", |ui| {
            for c in Command::ALL.into_iter().filter(|c| c.label().is_some()) {
                item(ui, c);
            }
            item(ui, Command::AcceptModelClass);
            item(ui, Command::ClearLabel);
            item(ui, Command::Undo);
            item(ui, Command::ToggleOnlyUnvetted);
        });
        ui.menu_button("Help", |ui| {
            item(ui, Command::ToggleHelp);
            item(ui, Command::CommandPalette);
        });
        commands.extend(chosen);
        if answer_again {
            commands.push(AppCommand::AnswerAgain);
        }
    });
}

/// Where things run, what is loaded, the jobs (with a cancel button) and the last message.
pub(super) fn status_bar(
    state: &AppState,
    ui_state: &UiState,
    ui: &mut egui::Ui,
    commands: &mut Commands,
) {
    ui.horizontal(|ui| {
        ui.label(format!("Display: {}", ui_state.device_name));
        ui.separator();
        ui.label(match &state.models.device {
            Some(d) => format!("Models: {d}"),
            None => "Models: none run yet".to_string(),
        });
        ui.separator();
        ui.label(format!(
            "{} alerts, {} objects",
            state.catalog.alerts,
            state.catalog.rows.len()
        ));
        if let Some(h) = &ui_state.hover {
            ui.separator();
            ui.monospace(format!(
                "{} x {} y {} = {:.3}",
                h.panel_name(),
                h.col + 1,
                h.row + 1,
                h.value
            ));
        }
        if !state.load_errors.is_empty() {
            ui.separator();
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("{} read errors", state.load_errors.len()),
            )
            .on_hover_text(
                state
                    .load_errors
                    .iter()
                    .take(20)
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        let mut cancel = false;
        for job in &state.jobs.running {
            ui.separator();
            ui.add(egui::Spinner::new());
            ui.add(
                egui::ProgressBar::new(job.fraction)
                    .desired_width(120.0)
                    .text(format!("{} {}", job.title, job.message)),
            );
            cancel |= ui.small_button("cancel").clicked();
        }
        if cancel {
            commands.push(AppCommand::CancelJobs);
        }
        if let Some(live) = &state.live {
            ui.separator();
            ui.label(live.status_line());
        }
        if let Some(m) = state.messages.last() {
            ui.separator();
            ui.label(m);
        }
    });
}

/// The command palette: every command by its title, Enter runs the first match.
pub(super) fn palette(ui_state: &mut UiState, ctx: &egui::Context, commands: &mut Commands) {
    if !ui_state.show_palette {
        return;
    }
    let mut chosen = None;
    let mut open = true;
    egui::Window::new("Command palette")
        .open(&mut open)
        .collapsible(false)
        .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 60.0))
        .show(ctx, |ui| {
            let edit = ui.text_edit_singleline(&mut ui_state.palette_query);
            edit.request_focus();
            let q = ui_state.palette_query.to_lowercase();
            let matches: Vec<Command> = Command::ALL
                .into_iter()
                .filter(|c| c.title().to_lowercase().contains(&q))
                .collect();
            for c in &matches {
                if ui
                    .button(format!(
                        "{}    {}",
                        c.title(),
                        ui_state.prefs.shortcuts.text(*c, ctx)
                    ))
                    .clicked()
                {
                    chosen = Some(*c);
                }
            }
            if ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                chosen = matches.first().copied();
            }
        });
    if !open || ctx.input(|i| i.key_pressed(egui::Key::Escape)) {
        ui_state.show_palette = false;
    }
    if let Some(c) = chosen {
        ui_state.show_palette = false;
        commands.push(c.into());
    }
}

/// The bottom panel of plots: the light curve, the class evolution and what the model
/// sees, each shown as the View menu says.
pub(super) fn plots(
    state: &AppState,
    ui_state: &mut UiState,
    ui: &mut egui::Ui,
    commands: &mut Commands,
) {
    let panes = [
        ui_state.prefs.show_light_curve,
        ui_state.prefs.show_evolution,
        ui_state.prefs.show_model_input,
    ];
    let columns = panes.iter().filter(|p| **p).count();
    if columns == 0 {
        return;
    }
    egui::Panel::bottom("plots")
        .resizable(true)
        .default_size(330.0)
        .min_size(220.0)
        .show(ui, |ui| {
            // The panel remembers the height its content took on the first frame; filling
            // it makes that the default height whether or not an object is shown yet (else
            // the window's layout depends on when loading ends).
            ui.set_min_height(ui.available_height());
            let mut wanted = None;
            let heading = |ui: &mut egui::Ui, title: &str, kind, wanted: &mut _| {
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new(title).strong());
                    views::export_button(ui, kind, wanted);
                });
            };
            ui.columns(columns, |cols| {
                let mut next = 0;
                if ui_state.prefs.show_light_curve {
                    let kind = export::PlotKind::LightCurve;
                    heading(&mut cols[next], "Light curve", kind, &mut wanted);
                    views::lightcurve::show(state, ui_state, &mut cols[next]);
                    next += 1;
                }
                if ui_state.prefs.show_evolution {
                    let kind = export::PlotKind::ClassEvolution;
                    heading(&mut cols[next], "Class evolution", kind, &mut wanted);
                    views::evolution::show(state, ui_state, &mut cols[next]);
                    next += 1;
                }
                if ui_state.prefs.show_model_input {
                    let col = &mut cols[next];
                    col.label(egui::RichText::new("What the model sees").strong());
                    egui::ScrollArea::vertical()
                        .id_salt("model input")
                        .show(col, |ui| views::model_input::show(state, ui_state, ui));
                }
            });
            if let Some(kind) = wanted {
                commands.push(AppCommand::from(kind.command()));
            }
        });
}
