//! The window around the panels: the menu bar, the status bar, the command palette and the
//! keyboard shortcuts, each turning what the user does into a command.

use super::commands::{Command, PlotKind};
use super::StampseqApp;
use std::path::PathBuf;

impl StampseqApp {
    pub(super) fn handle_shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.egui_wants_keyboard_input();
        for (command, shortcut) in self.prefs.shortcuts.in_match_order() {
            if typing && self.prefs.shortcuts.is_plain_key(command) {
                continue;
            }
            if ctx.input_mut(|i| i.consume_shortcut(&shortcut)) {
                self.run_command(command);
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
            self.open_alerts(dropped);
        }
    }

    pub(super) fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::MenuBar::new().ui(ui, |ui| {
            let item = |ui: &mut egui::Ui, app: &mut Self, command: Command| {
                let text = format!(
                    "{}    {}",
                    command.title(),
                    app.prefs.shortcuts.text(command, ui.ctx())
                );
                if ui.button(text).clicked() {
                    app.run_command(command);
                    ui.close();
                }
            };
            ui.menu_button("File", |ui| {
                item(ui, self, Command::OpenFiles);
                item(ui, self, Command::OpenFolder);
                item(ui, self, Command::LoadModel);
                item(ui, self, Command::FineTune);
                item(ui, self, Command::SwitchModel);
                item(ui, self, Command::LoadAllWise);
                item(ui, self, Command::ConnectStream);
                item(ui, self, Command::DisconnectStream);
                item(ui, self, Command::ImportLabels);
                item(ui, self, Command::ExportLabels);
                item(ui, self, Command::ExportStamps);
                ui.menu_button("Export a plot", |ui| {
                    for c in Command::ALL
                        .into_iter()
                        .filter(|c| PlotKind::of(*c).is_some())
                    {
                        item(ui, self, c);
                    }
                });
            });
            ui.menu_button("View", |ui| {
                ui.checkbox(&mut self.prefs.show_light_curve, "Light curve");
                ui.checkbox(&mut self.prefs.show_evolution, "Class evolution");
                ui.checkbox(&mut self.prefs.show_model_input, "What the model sees");
                item(ui, self, Command::ToggleTraining);
                item(ui, self, Command::ToggleEvaluation);
                ui.checkbox(
                    &mut self.prefs.flip_negative_difference,
                    "Flip negative subtractions",
                );
                item(ui, self, Command::ToggleBlink);
                item(ui, self, Command::ResetZoom);
                let mut rules = !self.prefs.raw_model_output;
                if ui
                    .checkbox(&mut rules, "Physics rules after every model")
                    .on_hover_text(
                        "Off: each model's raw output (as classify --no-rules): no stationary, \
                         known solar-system object, real/bogus... rule after it",
                    )
                    .changed()
                {
                    self.prefs.raw_model_output = !rules;
                    self.answer_again();
                }
            });
            ui.menu_button("Vet", |ui| {
                for c in Command::ALL.into_iter().filter(|c| c.label().is_some()) {
                    item(ui, self, c);
                }
                item(ui, self, Command::AcceptModelClass);
                item(ui, self, Command::ClearLabel);
                item(ui, self, Command::Undo);
                item(ui, self, Command::ToggleOnlyUnvetted);
            });
            ui.menu_button("Help", |ui| {
                item(ui, self, Command::ToggleHelp);
                item(ui, self, Command::CommandPalette);
            });
        });
    }

    pub(super) fn status_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(format!("Display: {}", self.device_name));
            ui.separator();
            ui.label(match &self.model_device {
                Some(d) => format!("Models: {d}"),
                None => "Models: none run yet".to_string(),
            });
            ui.separator();
            ui.label(format!(
                "{} alerts, {} objects",
                self.catalog.alerts,
                self.catalog.rows.len()
            ));
            if let Some(h) = &self.hover {
                ui.separator();
                ui.monospace(format!(
                    "{} x {} y {} = {:.3}",
                    h.panel_name(),
                    h.col + 1,
                    h.row + 1,
                    h.value
                ));
            }
            if !self.load_errors.is_empty() {
                ui.separator();
                ui.colored_label(
                    ui.visuals().warn_fg_color,
                    format!("{} read errors", self.load_errors.len()),
                )
                .on_hover_text(
                    self.load_errors
                        .iter()
                        .take(20)
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
            let mut cancel = false;
            for job in &self.jobs.running {
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
                self.jobs.cancel_all();
            }
            if let Some(live) = &self.live {
                ui.separator();
                ui.label(live.status_line());
            }
            if let Some(m) = self.messages.last() {
                ui.separator();
                ui.label(m);
            }
        });
    }

    pub(super) fn palette(&mut self, ctx: &egui::Context) {
        if !self.show_palette {
            return;
        }
        let mut chosen = None;
        let mut open = true;
        egui::Window::new("Command palette")
            .open(&mut open)
            .collapsible(false)
            .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 60.0))
            .show(ctx, |ui| {
                let edit = ui.text_edit_singleline(&mut self.palette_query);
                edit.request_focus();
                let q = self.palette_query.to_lowercase();
                let matches: Vec<Command> = Command::ALL
                    .into_iter()
                    .filter(|c| c.title().to_lowercase().contains(&q))
                    .collect();
                for c in &matches {
                    if ui
                        .button(format!(
                            "{}    {}",
                            c.title(),
                            self.prefs.shortcuts.text(*c, ctx)
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
            self.show_palette = false;
        }
        if let Some(c) = chosen {
            self.show_palette = false;
            self.run_command(c);
        }
    }
}
