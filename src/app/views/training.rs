//! The training view: the configuration as a form, Start and Stop, and live curves of
//! training and validation loss and accuracy (TensorBoard-style smoothing, log-scale y,
//! best-checkpoint marker, ETA) beside the latest validation's confusion matrix. The view
//! only asks: the app starts and stops the run on a worker, so the window stays fluid.

use super::export_button;
use super::{Commands, UiState};
use crate::app::commands::{AppCommand, PlotKind};
use crate::app::domain::AppState;
use crate::app::training::{SessionTraining, TrainingRun};
use crate::model::{HeadConfig, Positions, StampEncoderConfig, TemporalStampClassifierConfig};
use crate::train::{ModelChoice, TrainConfig};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use std::path::PathBuf;

/// The temporal heads, then the tree model (no stamps; the survey is the data's).
pub const HEADS: [&str; 8] = [
    "LSTM",
    "GRU",
    "SimpleRNN",
    "Gamma memory",
    "Conv1D",
    "TDNN",
    "Transformer",
    "Trees (no stamps)",
];

/// Where the trees sit in [`HEADS`].
const TREES: usize = 7;

/// The form, and how the curves are drawn; the run itself is the app's
/// ([`crate::app::training::TrainingRun`]).
pub struct TrainingForm {
    pub open: bool,
    pub data: String,
    pub labels: String,
    pub out: String,
    pub head: usize,
    pub max_detections: usize,
    pub iterations: usize,
    pub batch: usize,
    pub lr: f64,
    pub validate_every: usize,
    /// The model's classes, comma-separated (any names the labels use: LSST labels need
    /// not be the ZTF classes).
    pub classes: String,
    pub seed: u64,
    pub val_per_class: usize,
    pub smoothing: f64,
    pub log_y: bool,
}

impl Default for TrainingForm {
    fn default() -> Self {
        Self {
            open: false,
            data: String::new(),
            labels: String::new(),
            out: std::env::temp_dir()
                .join("stampseq-run")
                .display()
                .to_string(),
            head: 1,
            max_detections: 5,
            iterations: 500,
            batch: 32,
            lr: 1e-3,
            validate_every: 25,
            // The classes real labels have (no real bogus labels are bundled).
            classes: "AGN, SN, VS, asteroid".into(),
            seed: 0,
            val_per_class: 10,
            smoothing: 0.6,
            log_y: false,
        }
    }
}

impl TrainingForm {
    pub fn head_config(&self) -> HeadConfig {
        match self.head {
            0 => HeadConfig::Lstm,
            1 => HeadConfig::Gru,
            2 => HeadConfig::SimpleRnn,
            3 => HeadConfig::GammaMemory { order: 3, mu: 0.5 },
            4 => HeadConfig::Conv1d { kernel: 3 },
            5 => HeadConfig::Tdnn { delays: 2 },
            _ => HeadConfig::Transformer {
                layers: 1,
                heads: 2,
                positions: Positions::Learned,
            },
        }
    }

    /// The form as a training configuration (a small network suited to a CPU).
    pub fn config(&self) -> TrainConfig {
        let classes: Vec<&str> = self
            .classes
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let model = if self.head == TREES {
            ModelChoice::Trees(crate::model::trees::TreeConfig::default())
        } else {
            ModelChoice::Temporal(TemporalStampClassifierConfig {
                encoder: StampEncoderConfig {
                    blocks: vec![vec![16], vec![32]],
                    dense: 32,
                    dropout: 0.0,
                    ..StampEncoderConfig::default()
                },
                wise: false,
                head: self.head_config(),
                hidden: 32,
                ..TemporalStampClassifierConfig::default()
            })
        };
        TrainConfig {
            model,
            max_detections: self.max_detections,
            classes: classes.iter().map(|c| c.to_string()).collect(),
            lr: self.lr,
            batch: self.batch,
            max_iterations: self.iterations,
            validate_every: self.validate_every,
            beta: 0.1,
            seed: self.seed,
            val_per_class: self.val_per_class,
            test_per_class: self.val_per_class,
            data: self
                .data
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect(),
            labels: PathBuf::from(self.labels.trim()),
            ..TrainConfig::default()
        }
    }

    /// The run folder typed in.
    pub fn out(&self) -> PathBuf {
        PathBuf::from(self.out.trim())
    }

    /// Fills the form from what this session wrote for it.
    pub fn fill_from_session(&mut self, session: &SessionTraining) {
        self.data = session.data.clone();
        self.labels = session.labels.display().to_string();
        self.classes = session.classes.clone();
    }
}

/// TensorBoard's smoothing: an exponential moving average with its start-up bias removed.
pub fn smooth(points: &[[f64; 2]], weight: f64) -> Vec<[f64; 2]> {
    let mut last = 0.0;
    let mut n = 0;
    points
        .iter()
        .map(|&[x, y]| {
            n += 1;
            last = last * weight + (1.0 - weight) * y;
            let debias = 1.0 - weight.powi(n);
            [x, if debias > 0.0 { last / debias } else { y }]
        })
        .collect()
}

/// What the buttons under the form ask for.
#[derive(Default)]
struct Pressed {
    start: bool,
    stop: bool,
    from_session: bool,
    load_model: Option<PathBuf>,
    export: Option<PlotKind>,
}

pub fn show(
    state: &AppState,
    ui_state: &mut UiState,
    ctx: &egui::Context,
    commands: &mut Commands,
) {
    let mut open = ui_state.training.open;
    let mut pressed = Pressed::default();
    let run = &state.training;
    egui::Window::new("Training")
        .open(&mut open)
        .default_size([1100.0, 640.0])
        .show(ctx, |ui| {
            let t = &mut ui_state.training;
            let running = run.is_running();
            ui.add_enabled_ui(!running, |ui| form(ui, t));
            buttons(ui, run, &mut pressed);
            ui.horizontal(|ui| {
                ui.add(egui::Slider::new(&mut t.smoothing, 0.0..=0.99).text("smoothing"));
                ui.checkbox(&mut t.log_y, "log-scale loss");
                export_button(ui, PlotKind::TrainingCurves, &mut pressed.export);
            });
            plots(ui, t, run, &mut pressed.export);
        });
    ui_state.training.open = open;
    let t = &ui_state.training;
    if pressed.from_session {
        commands.push(AppCommand::TrainingFromSession { out: t.out() });
    }
    if pressed.start {
        commands.push(AppCommand::StartTraining {
            config: Box::new(t.config()),
            out: t.out(),
        });
    }
    if pressed.stop {
        commands.push(AppCommand::StopTraining);
    }
    if let Some(path) = pressed.load_model {
        commands.push(AppCommand::LoadModel(path));
    }
    if let Some(kind) = pressed.export {
        commands.push(kind.command().into());
    }
}

/// The form's fields.
fn form(ui: &mut egui::Ui, t: &mut TrainingForm) {
    egui::Grid::new("training form")
        .num_columns(2)
        .show(ui, |ui| {
            let field = |ui: &mut egui::Ui, label: &str, text: &mut String| {
                let l = ui.label(label);
                ui.add(egui::TextEdit::singleline(text).desired_width(420.0))
                    .labelled_by(l.id);
                ui.end_row();
            };
            field(ui, "alert folders (;-separated)", &mut t.data);
            field(ui, "labels CSV", &mut t.labels);
            field(ui, "run folder", &mut t.out);
            ui.label("model");
            egui::ComboBox::new("training head", "head")
                .selected_text(HEADS[t.head])
                .show_ui(ui, |ui| {
                    for (i, h) in HEADS.iter().enumerate() {
                        ui.selectable_value(&mut t.head, i, *h);
                    }
                });
            ui.end_row();
            let number = |ui: &mut egui::Ui,
                          label: &str,
                          v: &mut usize,
                          range: std::ops::RangeInclusive<usize>| {
                let l = ui.label(label);
                ui.add(egui::DragValue::new(v).range(range))
                    .labelled_by(l.id);
                ui.end_row();
            };
            number(ui, "detections N", &mut t.max_detections, 1..=10);
            number(ui, "iterations", &mut t.iterations, 1..=100_000);
            number(ui, "batch", &mut t.batch, 1..=1024);
            number(ui, "validate every", &mut t.validate_every, 1..=10_000);
            number(
                ui,
                "validation objects per class",
                &mut t.val_per_class,
                1..=1000,
            );
            let l = ui.label("learning rate");
            ui.add(
                egui::DragValue::new(&mut t.lr)
                    .range(1e-6..=1e-1)
                    .speed(1e-4),
            )
            .labelled_by(l.id);
            ui.end_row();
            field(ui, "classes (comma-separated)", &mut t.classes);
        });
}

/// From this session, Start, Stop, the finished model, and the run's status.
fn buttons(ui: &mut egui::Ui, run: &TrainingRun, pressed: &mut Pressed) {
    let running = run.is_running();
    ui.horizontal(|ui| {
        pressed.from_session = ui
            .add_enabled(
                !running,
                egui::Button::new("From this session: opened alerts, my vetting labels"),
            )
            .on_hover_text(
                "Fill the alert folders, the labels (your vetting, written to the run \
                 folder) and the classes from what this session opened and vetted",
            )
            .clicked();
        pressed.start = ui
            .add_enabled(!running, egui::Button::new("Start"))
            .clicked();
        pressed.stop = ui.add_enabled(running, egui::Button::new("Stop")).clicked();
        if let Some(model) = &run.finished_model {
            if ui
                .button("Load the trained model into the viewer")
                .clicked()
            {
                pressed.load_model = Some(model.clone());
            }
        }
        ui.label(&run.status);
    });
}

/// The curves, and beside them the latest validation's confusion matrix once there is one.
fn plots(ui: &mut egui::Ui, t: &TrainingForm, run: &TrainingRun, export: &mut Option<PlotKind>) {
    let latest = run
        .validations
        .last()
        .and_then(|v| v.confusion.as_ref().map(|cm| (v.iteration, cm)));
    match latest {
        Some((iteration, cm)) => {
            let side = 110.0 + 66.0 * cm.classes.len() as f32;
            let width = (ui.available_width() - side - 12.0).max(240.0);
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.set_width(width);
                    curves(ui, t, run);
                });
                ui.vertical(|ui| {
                    ui.horizontal(|ui| {
                        ui.strong(format!("validation confusion at step {iteration}"));
                        export_button(ui, PlotKind::TrainingConfusion, export);
                    });
                    super::confusion::heatmap(ui, "training confusion", cm);
                });
            });
        }
        None => curves(ui, t, run),
    }
}

fn curves(ui: &mut egui::Ui, t: &TrainingForm, run: &TrainingRun) {
    let y = |v: f64| if t.log_y { v.max(1e-6).log10() } else { v };
    let steps: Vec<[f64; 2]> = smooth(&run.steps, t.smoothing)
        .into_iter()
        .map(|[x, v]| [x, y(v)])
        .collect();
    let val: Vec<[f64; 2]> = run
        .validations
        .iter()
        .map(|v| [v.iteration as f64, y(v.val_loss)])
        .collect();
    let best = run
        .validations
        .iter()
        .rfind(|v| v.improved)
        .map(|v| [v.iteration as f64, y(v.val_loss)]);
    let half = (ui.available_height() / 2.0 - 10.0).max(120.0);
    Plot::new("training loss")
        .height(half)
        .legend(Legend::default())
        .x_axis_label("iteration")
        .y_axis_label(if t.log_y { "log10 loss" } else { "loss" })
        .show(ui, |plot| {
            plot.line(Line::new("training loss", PlotPoints::from(steps)));
            plot.line(Line::new("validation loss", PlotPoints::from(val)).width(2.0));
            if let Some(b) = best {
                plot.points(
                    Points::new("best checkpoint", vec![b])
                        .radius(6.0)
                        .shape(egui_plot::MarkerShape::Diamond),
                );
            }
        });
    let train_acc: Vec<[f64; 2]> = run
        .validations
        .iter()
        .map(|v| [v.iteration as f64, v.train_accuracy])
        .collect();
    let val_acc: Vec<[f64; 2]> = run
        .validations
        .iter()
        .map(|v| [v.iteration as f64, v.val_accuracy])
        .collect();
    Plot::new("training accuracy")
        .height(half)
        .include_y(0.0)
        .include_y(1.0)
        .legend(Legend::default())
        .x_axis_label("iteration")
        .y_axis_label("accuracy")
        .show(ui, |plot| {
            plot.line(Line::new("training accuracy", PlotPoints::from(train_acc)));
            plot.line(Line::new("validation accuracy", PlotPoints::from(val_acc)).width(2.0));
        });
}

#[cfg(test)]
mod tests {
    #[test]
    fn smoothing_removes_the_start_up_bias() {
        let s = super::smooth(&[[0.0, 2.0], [1.0, 2.0], [2.0, 2.0]], 0.9);
        assert!(s.iter().all(|p| (p[1] - 2.0).abs() < 1e-12), "{s:?}");
        assert_eq!(super::smooth(&[[0.0, 1.0], [1.0, 3.0]], 0.0)[1][1], 3.0);
    }
}
