//! The confusion-matrix heatmap shared by the training and evaluation views: one cell per
//! (true, predicted) pair with its count and row fraction, shaded by the fraction.

use crate::eval::metrics::ConfusionMatrix;

/// Draws `cm`; returns the (true, predicted) cell clicked this frame.
pub fn heatmap(ui: &mut egui::Ui, id: &str, cm: &ConfusionMatrix) -> Option<(usize, usize)> {
    let fractions = cm.row_normalised();
    let mut clicked = None;
    egui::Grid::new(id).spacing([2.0, 2.0]).show(ui, |ui| {
        ui.label("true \\ predicted");
        for c in &cm.classes {
            ui.strong(c);
        }
        ui.end_row();
        for (t, row) in cm.counts.iter().enumerate() {
            ui.strong(&cm.classes[t]);
            for (p, count) in row.iter().enumerate() {
                let f = fractions[t][p] as f32;
                let shade = (255.0 * (1.0 - 0.8 * f)) as u8;
                let text = egui::RichText::new(format!("{count}\n{f:.2}")).color(if f > 0.5 {
                    egui::Color32::WHITE
                } else {
                    egui::Color32::BLACK
                });
                let button = egui::Button::new(text)
                    .fill(egui::Color32::from_rgb(shade, shade, 255))
                    .min_size(egui::vec2(64.0, 40.0));
                if ui
                    .add(button)
                    .on_hover_text(format!(
                        "true {}, predicted {}",
                        cm.classes[t], cm.classes[p]
                    ))
                    .clicked()
                {
                    clicked = Some((t, p));
                }
            }
            ui.end_row();
        }
    });
    clicked
}
