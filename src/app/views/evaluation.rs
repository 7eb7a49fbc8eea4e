//! The evaluation view: a loaded model's answers against labels (a labels CSV, or your own
//! vetting labels): confusion-matrix heatmap with counts and row fractions, the accuracy
//! after each number of detections, and a click on a cell lists its objects, each opening
//! in the viewer.

use super::export_button;
use super::{Commands, UiState};
use crate::app::commands::AppCommand;
use crate::app::commands::PlotKind;
use crate::app::domain::AppState;
use crate::eval::metrics::ConfusionMatrix;
use crate::labels::LabelStore;
use crate::model::probs::argmax;
use std::collections::HashMap;

#[derive(Default)]
pub struct EvaluationPanel {
    pub open: bool,
    /// Index into the app's loaded models.
    pub model: usize,
    pub labels_csv: String,
    /// Use the vetting labels instead of a CSV.
    pub use_vetting: bool,
    pub loaded: Option<HashMap<String, String>>,
    /// The job reading the labels CSV, while it runs.
    pub loading: Option<u64>,
    pub error: Option<String>,
    /// The cell whose objects are listed: (true class, predicted class).
    pub cell: Option<(usize, usize)>,
}

/// What the view shows, computed from predictions and labels.
pub struct Evaluation {
    pub confusion: ConfusionMatrix,
    /// Objects in each cell.
    pub members: Vec<Vec<Vec<String>>>,
    /// (k, objects with >= k detections, accuracy after k detections).
    pub per_n: Vec<(usize, usize, f64)>,
    pub skipped: usize,
}

pub fn evaluate(
    classes: &[String],
    by_object: &HashMap<String, Vec<Vec<f32>>>,
    labels: &HashMap<String, String>,
) -> Evaluation {
    let n = classes.len();
    let mut confusion = ConfusionMatrix::new(classes);
    let mut members = vec![vec![Vec::new(); n]; n];
    let mut per_k: Vec<(usize, usize)> = Vec::new();
    let mut skipped = 0;
    let mut objects: Vec<(&String, &String)> = labels.iter().collect();
    objects.sort();
    for (object, label) in objects {
        let (Some(truth), Some(steps)) = (
            classes.iter().position(|c| c == label),
            by_object.get(object),
        ) else {
            skipped += 1;
            continue;
        };
        for (k, probs) in steps.iter().enumerate() {
            if per_k.len() <= k {
                per_k.push((0, 0));
            }
            per_k[k].0 += 1;
            if argmax(probs) == Some(truth) {
                per_k[k].1 += 1;
            }
        }
        if let Some(predicted) = steps.last().and_then(|p| argmax(p)) {
            confusion.add(truth, predicted);
            members[truth][predicted].push(object.clone());
        }
    }
    let per_n = per_k
        .iter()
        .enumerate()
        .map(|(k, (total, right))| (k + 1, *total, *right as f64 / (*total).max(1) as f64))
        .collect();
    Evaluation {
        confusion,
        members,
        per_n,
        skipped,
    }
}

/// The labels the view judges against: the vetting labels, or the loaded CSV's (None
/// before one is loaded).
pub fn labels_in_use(
    panel: &EvaluationPanel,
    store: Option<&LabelStore>,
) -> Option<HashMap<String, String>> {
    if panel.use_vetting {
        Some(
            store
                .map(|l| l.all().clone().into_iter().collect())
                .unwrap_or_default(),
        )
    } else {
        panel.loaded.clone()
    }
}

/// The confusion matrix the view shows now, titled, for export.
pub fn current_confusion(
    state: &AppState,
    panel: &EvaluationPanel,
) -> Option<(ConfusionMatrix, String)> {
    let model = state.predictions.models.get(
        panel
            .model
            .min(state.predictions.models.len().checked_sub(1)?),
    )?;
    let labels = labels_in_use(panel, state.labels.as_ref())?;
    let result = evaluate(&model.classes, &model.by_object, &labels);
    let metrics = result.confusion.metrics();
    let title = format!(
        "{}: {} objects, accuracy {:.3}",
        model.model, metrics.samples, metrics.accuracy
    );
    Some((result.confusion, title))
}

pub fn show(
    state: &AppState,
    ui_state: &mut UiState,
    ctx: &egui::Context,
    commands: &mut Commands,
) {
    let mut open = ui_state.evaluation.open;
    let mut export = None;
    egui::Window::new("Evaluation")
        .open(&mut open)
        .default_size([640.0, 720.0])
        .show(ctx, |ui| {
            if state.predictions.models.is_empty() {
                ui.label("Load a model first (Ctrl+M): the evaluation uses its answers.");
                return;
            }
            let e = &mut ui_state.evaluation;
            e.model = e.model.min(state.predictions.models.len() - 1);
            ui.horizontal(|ui| {
                egui::ComboBox::new("evaluation model", "model")
                    .selected_text(&state.predictions.models[e.model].model)
                    .show_ui(ui, |ui| {
                        for (i, m) in state.predictions.models.iter().enumerate() {
                            ui.selectable_value(&mut e.model, i, &m.model);
                        }
                    });
                ui.checkbox(&mut e.use_vetting, "use my vetting labels");
            });
            if !e.use_vetting {
                ui.horizontal(|ui| {
                    let l = ui.label("labels CSV");
                    ui.add(egui::TextEdit::singleline(&mut e.labels_csv).desired_width(340.0))
                        .labelled_by(l.id);
                    if ui
                        .add_enabled(e.loading.is_none(), egui::Button::new("Load labels"))
                        .clicked()
                    {
                        commands.push(AppCommand::LoadEvaluationLabels(e.labels_csv.trim().into()));
                    }
                });
            }
            if let Some(err) = &e.error {
                ui.colored_label(ui.visuals().error_fg_color, err);
            }
            let Some(labels) = labels_in_use(e, state.labels.as_ref()) else {
                return;
            };
            let model = &state.predictions.models[e.model];
            let result = evaluate(&model.classes, &model.by_object, &labels);
            let metrics = result.confusion.metrics();
            ui.horizontal(|ui| {
                export_button(ui, PlotKind::EvaluationConfusion, &mut export);
                ui.label(format!(
                    "{} objects, accuracy {:.3}, macro F1 {:.3}{}",
                    metrics.samples,
                    metrics.accuracy,
                    metrics.macro_f1,
                    if result.skipped > 0 {
                        format!(
                            " ({} labelled objects not loaded or of another class)",
                            result.skipped
                        )
                    } else {
                        String::new()
                    }
                ));
            });
            if let Some(cell) =
                super::confusion::heatmap(ui, "confusion heatmap", &result.confusion)
            {
                e.cell = Some(cell);
            }
            if let Some((t, p)) = e.cell {
                ui.separator();
                let objects = result
                    .members
                    .get(t)
                    .and_then(|r| r.get(p))
                    .cloned()
                    .unwrap_or_default();
                ui.strong(format!(
                    "true {}, predicted {}: {} objects",
                    model.classes[t],
                    model.classes[p],
                    objects.len()
                ));
                egui::ScrollArea::vertical()
                    .id_salt("cell gallery")
                    .max_height(160.0)
                    .show(ui, |ui| {
                        ui.horizontal_wrapped(|ui| {
                            for o in objects {
                                if ui.button(&o).clicked() {
                                    commands.push(AppCommand::SelectObjectId(o.clone()));
                                }
                            }
                        });
                    });
            }
            ui.separator();
            egui::Grid::new("per n").striped(true).show(ui, |ui| {
                ui.strong("after N detections");
                ui.strong("objects");
                ui.strong("accuracy");
                ui.end_row();
                for (k, total, acc) in &result.per_n {
                    ui.label(k.to_string());
                    ui.label(total.to_string());
                    ui.label(format!("{acc:.3}"));
                    ui.end_row();
                }
            });
        });
    ui_state.evaluation.open = open;
    if let Some(kind) = export {
        commands.push(kind.command().into());
    }
}
