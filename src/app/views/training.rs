//! The training view: the configuration as a form, Start and Stop, and live curves of
//! training and validation loss and accuracy (TensorBoard-style smoothing, log-scale y,
//! best-checkpoint marker, ETA) beside the latest validation's confusion matrix. Training
//! runs on a worker thread; the window stays fluid.

use super::export_button;
use crate::app::commands::PlotKind;
use crate::app::StampseqApp;
use crate::model::{HeadConfig, Positions, StampEncoderConfig, TemporalStampClassifierConfig};
use crate::train::{ModelChoice, TrainConfig, TrainEvent, Validation};
use egui_plot::{Legend, Line, Plot, PlotPoints, Points};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// The form and the run's live state.
pub struct TrainingPanel {
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
    pub job: Option<u64>,
    pub cancel: Option<Arc<AtomicBool>>,
    pub steps: Vec<[f64; 2]>,
    pub validations: Vec<Validation>,
    pub status: String,
    pub finished_model: Option<PathBuf>,
}

impl Default for TrainingPanel {
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
            job: None,
            cancel: None,
            steps: Vec::new(),
            validations: Vec::new(),
            status: String::new(),
            finished_model: None,
        }
    }
}

impl TrainingPanel {
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

    /// Fills the form from this session: the alert files and folders opened, and the
    /// vetting labels of the loaded objects, written to `<run folder>/vetting-labels.csv`
    /// (atomically; LSST solar-system objects by their ssObjectId, as the trainer names
    /// them). The classes become the labels given, most used first. Says what it did, or
    /// why it cannot.
    pub fn fill_from_session(
        &mut self,
        sources: &[PathBuf],
        labels: &std::collections::BTreeMap<String, String>,
        loaded: &dyn Fn(&str) -> bool,
    ) -> Result<String, String> {
        if sources.is_empty() {
            return Err(
                "no alert file or folder was opened in this session (streamed \
                        alerts are not kept in files)"
                    .into(),
            );
        }
        let vetted: Vec<(&String, &String)> = labels.iter().filter(|(id, _)| loaded(id)).collect();
        if vetted.is_empty() {
            return Err("no loaded object is vetted yet (keys 1-5, or import labels)".into());
        }
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        let out = PathBuf::from(self.out.trim());
        let path = out.join("vetting-labels.csv");
        let failed = |e: &dyn std::fmt::Display| format!("writing {}: {e}", path.display());
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(["objectId", "label"])
            .map_err(|e| failed(&e))?;
        for (id, label) in &vetted {
            *counts.entry(label.as_str()).or_default() += 1;
            let name = id.strip_prefix("SSO ").unwrap_or(id);
            csv.write_record([name, label.as_str()])
                .map_err(|e| failed(&e))?;
        }
        let bytes = csv.into_inner().map_err(|e| failed(&e))?;
        std::fs::create_dir_all(&out)
            .and_then(|()| crate::atomic::write_atomic(&path, &bytes))
            .map_err(|e| failed(&e))?;
        let mut classes: Vec<(&str, usize)> = counts.into_iter().collect();
        classes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        self.data = sources
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("; ");
        self.labels = path.display().to_string();
        self.classes = classes
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ");
        Ok(format!(
            "{} vetted objects ({}); labels written to {}",
            vetted.len(),
            classes
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            path.display()
        ))
    }

    pub fn on_event(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::Loaded {
                train,
                val,
                test,
                from_cache,
            } => {
                self.status = format!(
                    "data: {train} training, {val} validation, {test} test objects{}",
                    if from_cache { " (from cache)" } else { "" }
                )
            }
            TrainEvent::Resumed { iteration } => {
                self.status = format!("resumed at step {iteration}")
            }
            TrainEvent::Step {
                iteration,
                train_loss,
                ..
            } => self.steps.push([iteration as f64, train_loss as f64]),
            TrainEvent::Validation(v) => {
                self.status = format!(
                    "step {}/{}: validation loss {:.4}, accuracy {:.3}; ETA {:.0} s",
                    v.iteration, v.max_iterations, v.val_loss, v.val_accuracy, v.eta_s
                );
                self.validations.push(v);
            }
            TrainEvent::Finished { .. } => {}
        }
    }

    pub fn is_running(&self) -> bool {
        self.job.is_some()
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

pub fn show(app: &mut StampseqApp, ctx: &egui::Context) {
    let mut open = app.training.open;
    let mut start = false;
    let mut stop = false;
    let mut load_model = None;
    let mut export = None;
    let mut from_session = false;
    egui::Window::new("Training")
        .open(&mut open)
        .default_size([1100.0, 640.0])
        .show(ctx, |ui| {
            let t = &mut app.training;
            let running = t.is_running();
            ui.add_enabled_ui(!running, |ui| {
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
                        let number =
                            |ui: &mut egui::Ui,
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
            });
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(
                        !running,
                        egui::Button::new("From this session: opened alerts, my vetting labels"),
                    )
                    .on_hover_text(
                        "Fill the alert folders, the labels (your vetting, written to the run \
                         folder) and the classes from what this session opened and vetted",
                    )
                    .clicked()
                {
                    from_session = true;
                }
                if ui
                    .add_enabled(!running, egui::Button::new("Start"))
                    .clicked()
                {
                    start = true;
                }
                if ui.add_enabled(running, egui::Button::new("Stop")).clicked() {
                    stop = true;
                }
                if let Some(model) = &t.finished_model {
                    if ui
                        .button("Load the trained model into the viewer")
                        .clicked()
                    {
                        load_model = Some(model.clone());
                    }
                }
                ui.label(&t.status);
            });
            ui.horizontal(|ui| {
                ui.add(egui::Slider::new(&mut t.smoothing, 0.0..=0.99).text("smoothing"));
                ui.checkbox(&mut t.log_y, "log-scale loss");
                export_button(ui, PlotKind::TrainingCurves, &mut export);
            });
            let latest = t
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
                            curves(ui, t);
                        });
                        ui.vertical(|ui| {
                            ui.horizontal(|ui| {
                                ui.strong(format!("validation confusion at step {iteration}"));
                                export_button(ui, PlotKind::TrainingConfusion, &mut export);
                            });
                            super::confusion::heatmap(ui, "training confusion", cm);
                        });
                    });
                }
                None => curves(ui, t),
            }
        });
    app.training.open = open;
    if from_session {
        let labels = app
            .labels
            .as_ref()
            .map(|l| l.all().clone())
            .unwrap_or_default();
        let catalog = &app.catalog;
        let loaded = |id: &str| catalog.index_of(id).is_some();
        app.training.status = match app
            .training
            .fill_from_session(&app.sources, &labels, &loaded)
        {
            Ok(done) => done,
            Err(why) => format!("From this session: {why}"),
        };
    }
    if start {
        let mut config = app.training.config();
        // Framed LSST messages among the data read with the app's schema folder.
        config.lsst_schemas = app.jobs.lsst_schemas.dir.clone();
        let out = PathBuf::from(app.training.out.trim());
        app.training.steps.clear();
        app.training.validations.clear();
        app.training.finished_model = None;
        app.training.status = "reading the data...".into();
        let (job, cancel) = app.jobs.train(config, out);
        app.training.job = Some(job);
        app.training.cancel = Some(cancel);
    }
    if stop {
        if let Some(c) = &app.training.cancel {
            c.store(true, Ordering::Relaxed);
            app.training.status = "stopping after the current step...".into();
        }
    }
    if let Some(path) = load_model {
        app.load_model(path);
    }
    if let Some(kind) = export {
        app.run_command(kind.command());
    }
}

fn curves(ui: &mut egui::Ui, t: &TrainingPanel) {
    let y = |v: f64| if t.log_y { v.max(1e-6).log10() } else { v };
    let steps: Vec<[f64; 2]> = smooth(&t.steps, t.smoothing)
        .into_iter()
        .map(|[x, v]| [x, y(v)])
        .collect();
    let val: Vec<[f64; 2]> = t
        .validations
        .iter()
        .map(|v| [v.iteration as f64, y(v.val_loss)])
        .collect();
    let best = t
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
    let train_acc: Vec<[f64; 2]> = t
        .validations
        .iter()
        .map(|v| [v.iteration as f64, v.train_accuracy])
        .collect();
    let val_acc: Vec<[f64; 2]> = t
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
