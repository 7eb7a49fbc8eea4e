//! Class evolution: each class's probability after detection 1..N of the selected object,
//! for every loaded model (a single-alert model answers per detection; a temporal model
//! gives its running answer), as lines with hover values or as stacked bars.

use crate::app::StampseqApp;
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints};

pub fn class_colour(class: &str) -> egui::Color32 {
    let (r, g, b) = crate::eval::plots::class_rgb(class);
    egui::Color32::from_rgb(r, g, b)
}

pub fn show(app: &mut StampseqApp, ui: &mut egui::Ui) {
    let Some(object) = app.selection.object else {
        return;
    };
    if app.predictions.models.is_empty() {
        ui.label("No model loaded: Model > Load model file... (Ctrl+M).");
        return;
    }
    let object_id = app.catalog.sequences[object].object_id.clone();
    ui.horizontal(|ui| {
        ui.selectable_value(&mut app.prefs.evolution_bars, false, "lines");
        ui.selectable_value(&mut app.prefs.evolution_bars, true, "stacked bars");
    });
    let models: Vec<_> = app
        .predictions
        .models
        .iter()
        .filter_map(|m| m.by_object.get(&object_id).map(|steps| (m, steps)))
        .collect();
    if models.is_empty() {
        ui.label("The loaded models have no answer for this object.");
        return;
    }
    let selected = app.selection.detection as f64 + 1.0;
    let bars = app.prefs.evolution_bars;
    Plot::new("class evolution")
        .height(ui.available_height().max(120.0))
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_label("detection")
        .y_axis_label("probability")
        .legend(
            Legend::default()
                .text_style(egui::TextStyle::Small)
                .background_alpha(0.5),
        )
        .show(ui, |plot| {
            let dashes = [
                egui_plot::LineStyle::Solid,
                egui_plot::LineStyle::dashed_dense(),
            ];
            for (mi, (model, steps)) in models.iter().enumerate() {
                for (ci, class) in model.classes.iter().enumerate() {
                    let name = format!("{} {class}", model.model);
                    if bars {
                        // One stack per model, side by side at each detection.
                        let width = 0.8 / models.len() as f64;
                        let offset = (mi as f64 - (models.len() as f64 - 1.0) / 2.0) * width;
                        let chart = BarChart::new(
                            name,
                            steps
                                .iter()
                                .enumerate()
                                .map(|(k, p)| {
                                    let base: f32 = p[..ci].iter().sum();
                                    Bar::new(k as f64 + 1.0 + offset, p[ci] as f64)
                                        .base_offset(base as f64)
                                        .width(width)
                                })
                                .collect(),
                        )
                        .color(class_colour(class));
                        plot.bar_chart(chart);
                    } else {
                        let points: Vec<[f64; 2]> = steps
                            .iter()
                            .enumerate()
                            .map(|(k, p)| [k as f64 + 1.0, p[ci] as f64])
                            .collect();
                        plot.line(
                            Line::new(name, PlotPoints::from(points))
                                .color(class_colour(class))
                                .style(dashes[mi % dashes.len()])
                                .width(2.0),
                        );
                    }
                }
            }
            plot.vline(egui_plot::VLine::new("", selected).color(egui::Color32::GRAY));
        });
}
