//! Class evolution: each class's probability after detection 1..N of the selected object,
//! for every loaded model (a single-alert model answers per detection; a temporal model
//! gives its running answer), as lines with hover values or as stacked bars.
//!
//! Colour tells the class and line style (or place in a group of bars) the model, so the
//! key above the plot lists each model once and each class once, as toggles kept in the
//! preferences, rather than a legend entry per model and class over the curves.

use super::UiState;
use crate::app::domain::AppState;
use crate::app::predictions::{ModelPredictions, Predictions};
use crate::app::prefs::Preferences;
use egui_plot::{Bar, BarChart, Line, LineStyle, Plot, PlotPoints};

pub fn class_colour(class: &str) -> egui::Color32 {
    let (r, g, b) = crate::eval::plots::class_rgb(class);
    egui::Color32::from_rgb(r, g, b)
}

/// A model's line style by its place among the loaded models, so that hiding one does not
/// restyle the others; the figures use the same sequence (`eval::plots::LINE_DASHES`).
pub fn line_style(index: usize) -> LineStyle {
    match index % 4 {
        0 => LineStyle::Solid,
        1 => LineStyle::Dashed { length: 10.0 },
        2 => LineStyle::Dotted { spacing: 5.0 },
        _ => LineStyle::Dashed { length: 4.0 },
    }
}

/// One model as drawn for one object: its place among the loaded models (its line style)
/// and the indices of its shown classes.
pub struct Drawn<'a> {
    pub style: usize,
    pub model: &'a ModelPredictions,
    pub steps: &'a [Vec<f32>],
    pub classes: Vec<usize>,
}

/// The models and classes the preferences show that have an answer for `object_id`.
pub fn drawn<'a>(
    predictions: &'a Predictions,
    prefs: &Preferences,
    object_id: &str,
) -> Vec<Drawn<'a>> {
    predictions
        .models
        .iter()
        .enumerate()
        .filter(|(_, m)| !prefs.evolution_hidden_models.contains(&m.model))
        .filter_map(|(style, model)| {
            let steps = model.by_object.get(object_id)?;
            let classes = (0..model.classes.len())
                .filter(|&c| !prefs.evolution_hidden_classes.contains(&model.classes[c]))
                .collect();
            Some(Drawn {
                style,
                model,
                steps,
                classes,
            })
        })
        .collect()
}

/// Every loaded model's classes, each once, in the order the models give them.
fn all_classes(predictions: &Predictions) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in predictions.models.iter().flat_map(|m| &m.classes) {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    out
}

pub fn show(state: &AppState, ui_state: &mut UiState, ui: &mut egui::Ui) {
    let Some(object) = state.selection.object else {
        return;
    };
    let Some(object_id) = state.catalog.rows.get(object).map(|r| r.object_id.clone()) else {
        return;
    };
    let answered = |id: &str| {
        state
            .predictions
            .models
            .iter()
            .any(|m| m.by_object.contains_key(id))
    };
    if state.catalog.survey(object) == Some(crate::alert::neutral::Survey::Lsst)
        && !answered(&object_id)
    {
        ui.label(format!(
            "{}: ZTF models never read LSST alerts; load a model trained on LSST alerts \
             (File > Load a model file).",
            super::lsst_details::NO_LSST_MODEL
        ));
        return;
    }
    if state.predictions.models.is_empty() {
        ui.label("No model loaded: Model > Load model file... (Ctrl+M).");
        return;
    }
    key(state, ui_state, ui);
    let models = drawn(&state.predictions, &ui_state.prefs, &object_id);
    if models.is_empty() {
        ui.label(
            if state
                .predictions
                .models
                .iter()
                .any(|m| m.by_object.contains_key(&object_id))
            {
                "Every model that answered for this object is hidden."
            } else {
                "The loaded models have no answer for this object."
            },
        );
        return;
    }
    let selected = state.selection.detection as f64 + 1.0;
    let bars = ui_state.prefs.evolution_bars;
    let count = models.len() as f64;
    Plot::new("class evolution")
        .height(ui.available_height().max(120.0))
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_label("detection")
        .y_axis_label("probability")
        .show(ui, |plot| {
            for (place, d) in models.iter().enumerate() {
                for &ci in &d.classes {
                    let class = &d.model.classes[ci];
                    // Shown on hover: which model and class a curve is.
                    let name = format!("{} · {class}", d.model.model);
                    if bars {
                        // One stack of the shown classes per model, side by side at each
                        // detection.
                        let width = 0.8 / count;
                        let offset = (place as f64 - (count - 1.0) / 2.0) * width;
                        let below: Vec<usize> =
                            d.classes.iter().copied().take_while(|&c| c != ci).collect();
                        let chart = BarChart::new(
                            name,
                            d.steps
                                .iter()
                                .enumerate()
                                .map(|(k, p)| {
                                    let base: f32 = below.iter().filter_map(|&c| p.get(c)).sum();
                                    let v = p.get(ci).copied().unwrap_or(0.0);
                                    Bar::new(k as f64 + 1.0 + offset, v as f64)
                                        .base_offset(base as f64)
                                        // Narrower than the slot, so the models' stacks
                                        // stay apart.
                                        .width(0.9 * width)
                                })
                                .collect(),
                        )
                        .color(class_colour(class));
                        plot.bar_chart(chart);
                    } else {
                        let points: Vec<[f64; 2]> = d
                            .steps
                            .iter()
                            .enumerate()
                            .map(|(k, p)| {
                                [k as f64 + 1.0, p.get(ci).copied().unwrap_or(0.0) as f64]
                            })
                            .collect();
                        // The ensemble's spread as a band (mean ± one standard deviation),
                        // for models that have one.
                        if let Some(spread) = d.model.spread.get(&object_id) {
                            let band: Vec<(f64, f64, f64)> = points
                                .iter()
                                .zip(spread)
                                .map(|(pt, s)| {
                                    let sd = s.std.get(ci).copied().unwrap_or(0.0) as f64;
                                    (pt[0], (pt[1] - sd).max(0.0), (pt[1] + sd).min(1.0))
                                })
                                .collect();
                            // One trapezoid per step: egui_plot fills only convex polygons.
                            for w in band.windows(2) {
                                let (a, b) = (w[0], w[1]);
                                if (a.2 - a.1).max(b.2 - b.1) < 1e-3 {
                                    continue;
                                }
                                plot.polygon(
                                    egui_plot::Polygon::new(
                                        format!("{name} ± 1σ"),
                                        PlotPoints::from(vec![
                                            [a.0, a.2],
                                            [b.0, b.2],
                                            [b.0, b.1],
                                            [a.0, a.1],
                                        ]),
                                    )
                                    .fill_color(class_colour(class).gamma_multiply(0.18))
                                    .stroke(egui::Stroke::NONE)
                                    .allow_hover(false),
                                );
                            }
                        }
                        plot.line(
                            Line::new(name, PlotPoints::from(points))
                                .color(class_colour(class))
                                .style(line_style(d.style))
                                .width(2.0),
                        );
                    }
                }
            }
            plot.vline(egui_plot::VLine::new("", selected).color(egui::Color32::GRAY));
        });
}

/// Lines or bars, then the models and the classes: each entry shows the mark it has in
/// the plot and is a toggle (a checkbox to screen readers), dimmed while hidden.
fn key(state: &AppState, ui_state: &mut UiState, ui: &mut egui::Ui) {
    let bars = ui_state.prefs.evolution_bars;
    let shown_models: Vec<&str> = state
        .predictions
        .models
        .iter()
        .map(|m| m.model.as_str())
        .filter(|m| !ui_state.prefs.evolution_hidden_models.contains(*m))
        .collect();
    let mut toggled_model = None;
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut ui_state.prefs.evolution_bars, false, "lines");
        ui.selectable_value(&mut ui_state.prefs.evolution_bars, true, "bars")
            .on_hover_text("stacked bars, one stack per model");
        ui.separator();
        for (i, m) in state.predictions.models.iter().enumerate() {
            let place = shown_models.iter().position(|s| *s == m.model);
            let swatch = if bars {
                Swatch::Bars(place, shown_models.len())
            } else {
                Swatch::Line(i)
            };
            if entry(ui, place.is_some(), swatch, &m.model).clicked() {
                toggled_model = Some(m.model.clone());
            }
        }
    });
    if let Some(m) = toggled_model {
        toggle(&mut ui_state.prefs.evolution_hidden_models, m);
    }
    ui.horizontal_wrapped(|ui| {
        for class in all_classes(&state.predictions) {
            let shown = !ui_state.prefs.evolution_hidden_classes.contains(&class);
            let swatch = Swatch::Class(class_colour(&class));
            if entry(ui, shown, swatch, &class).clicked() {
                toggle(&mut ui_state.prefs.evolution_hidden_classes, class);
            }
        }
    });
}

fn toggle(set: &mut std::collections::BTreeSet<String>, item: String) {
    if !set.remove(&item) {
        set.insert(item);
    }
}

/// The mark of a key entry.
enum Swatch {
    /// A model's line, by its style index.
    Line(usize),
    /// A model's place in the group of bars (`None` while hidden) among this many.
    Bars(Option<usize>, usize),
    Class(egui::Color32),
}

/// A legend entry that toggles: the swatch then the name, in small text.
fn entry(ui: &mut egui::Ui, shown: bool, swatch: Swatch, text: &str) -> egui::Response {
    let swatch_size = match swatch {
        Swatch::Class(_) => egui::vec2(10.0, 10.0),
        _ => egui::vec2(22.0, 10.0),
    };
    let gap = 4.0;
    let galley = ui.painter().layout_no_wrap(
        text.to_string(),
        egui::TextStyle::Small.resolve(ui.style()),
        egui::Color32::PLACEHOLDER,
    );
    let size = egui::vec2(
        swatch_size.x + gap + galley.size().x,
        swatch_size.y.max(galley.size().y),
    );
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click());
    response.widget_info(|| {
        egui::WidgetInfo::selected(egui::Role::CheckBox, ui.is_enabled(), shown, text)
    });
    let visuals = ui.visuals();
    let ink = if response.hovered() {
        visuals.strong_text_color()
    } else if shown {
        visuals.text_color()
    } else {
        visuals.weak_text_color().gamma_multiply(0.6)
    };
    let dim = |c: egui::Color32| if shown { c } else { c.gamma_multiply(0.25) };
    let mark = egui::Rect::from_center_size(
        egui::pos2(rect.left() + swatch_size.x / 2.0, rect.center().y),
        swatch_size,
    );
    let painter = ui.painter();
    match swatch {
        Swatch::Class(colour) => {
            painter.rect_filled(mark, 2.0, dim(colour));
        }
        Swatch::Line(style) => {
            let stroke = egui::Stroke::new(2.0, ink);
            let ends = [mark.left_center(), mark.right_center()];
            match line_style(style) {
                LineStyle::Solid => {
                    painter.line_segment(ends, stroke);
                }
                LineStyle::Dashed { length } => {
                    painter.extend(egui::Shape::dashed_line(
                        &ends,
                        stroke,
                        length,
                        length / 2.0,
                    ));
                }
                LineStyle::Dotted { spacing } => {
                    painter.extend(egui::Shape::dotted_line(&ends, ink, spacing, 1.2));
                }
            }
        }
        Swatch::Bars(place, count) => {
            let slots = count.max(1) + usize::from(place.is_none());
            let w = mark.width() / slots as f32;
            for i in 0..slots {
                let bar = egui::Rect::from_min_max(
                    egui::pos2(mark.left() + i as f32 * w + 1.0, mark.top()),
                    egui::pos2(mark.left() + (i + 1) as f32 * w - 1.0, mark.bottom()),
                );
                if place == Some(i) {
                    painter.rect_filled(bar, 0.0, ink);
                } else {
                    painter.rect_stroke(
                        bar,
                        0.0,
                        egui::Stroke::new(1.0, ink.gamma_multiply(0.5)),
                        egui::StrokeKind::Inside,
                    );
                }
            }
        }
    }
    let text_pos = egui::pos2(
        rect.left() + swatch_size.x + gap,
        rect.center().y - galley.size().y / 2.0,
    );
    painter.galley(text_pos, galley, ink);
    if !shown {
        // Struck through as well as dimmed, so hidden reads without relying on contrast.
        let y = rect.center().y;
        painter.line_segment(
            [egui::pos2(text_pos.x, y), egui::pos2(rect.right(), y)],
            egui::Stroke::new(1.0, ink),
        );
    }
    response.on_hover_text(if shown {
        "click to hide"
    } else {
        "click to show"
    })
}
