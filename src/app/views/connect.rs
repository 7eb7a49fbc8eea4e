//! The "Connect to a stream" dialog: brokers, topic, consumer group, where to start, and
//! how to authenticate (the password never in the window: it is read from the
//! environment, as the CLI reads it).

use super::{Commands, UiState};
use crate::app::commands::AppCommand;
use crate::stream::kafka::PASSWORD_ENV;
use crate::stream::SecurityProtocol;

pub fn show(ui_state: &mut UiState, ctx: &egui::Context, commands: &mut Commands) {
    let Some(form) = ui_state.connect_form.as_mut() else {
        return;
    };
    let mut open = true;
    let (mut connect, mut cancel) = (false, false);
    egui::Window::new("Connect to a stream")
        .open(&mut open)
        .collapsible(false)
        .show(ctx, |ui| {
            egui::Grid::new("connect fields").show(ui, |ui| {
                let field = |ui: &mut egui::Ui, name: &str, value: &mut String, hint: &str| {
                    let l = ui.label(name);
                    ui.add(
                        egui::TextEdit::singleline(value)
                            .hint_text(hint)
                            .desired_width(260.0),
                    )
                    .labelled_by(l.id);
                    ui.end_row();
                };
                field(ui, "Brokers", &mut form.brokers, "host:port[,host:port]");
                field(ui, "Topic", &mut form.topic, "topic[,topic]");
                field(ui, "Group", &mut form.group, "consumer group");
                ui.label("");
                ui.checkbox(&mut form.from_beginning, "From the beginning")
                    .on_hover_text(
                        "Where the group has no committed offset, start at the topic's \
                         beginning instead of its end. A group that has committed continues \
                         where it stopped.",
                    );
                ui.end_row();
                ui.label("");
                egui::ComboBox::from_label("Security protocol")
                    .selected_text(form.security.as_kafka())
                    .show_ui(ui, |ui| {
                        for p in SecurityProtocol::ALL {
                            ui.selectable_value(&mut form.security, p, p.as_kafka());
                        }
                    });
                ui.end_row();
                field(ui, "Username", &mut form.username, "for SASL");
            });
            let password = if std::env::var_os(PASSWORD_ENV).is_some() {
                "set"
            } else {
                "not set"
            };
            ui.label(format!(
                "The SASL password is read from ${PASSWORD_ENV} ({password})."
            ));
            if let Some(e) = &form.error {
                ui.colored_label(ui.visuals().error_fg_color, e.as_str());
            }
            ui.horizontal(|ui| {
                connect = ui.button("Connect").clicked();
                cancel = ui.button("Cancel").clicked();
            });
        });
    if !open || cancel {
        ui_state.connect_form = None;
    } else if connect {
        commands.push(AppCommand::ConnectStream);
    }
}
