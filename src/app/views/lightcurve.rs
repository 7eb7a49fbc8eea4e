//! The light curve: difference magnitude against time per filter, with error bars, upper
//! limits as open down-triangles, and the detections that carry stamps marked.

use crate::app::StampseqApp;
use crate::sequence::PointKind;
use egui_plot::{Line, MarkerShape, Plot, PlotPoints, Points};

pub fn band_colour(fid: i32) -> egui::Color32 {
    let (r, g, b) = crate::eval::plots::band_rgb(fid);
    egui::Color32::from_rgb(r, g, b)
}

pub fn show(app: &StampseqApp, ui: &mut egui::Ui) {
    let Some(object) = app.selection.object else {
        return;
    };
    let sequence = &app.catalog.sequences[object];
    let Some(t0) = sequence.light_curve.points.first().map(|p| p.jd) else {
        ui.label("No photometry.");
        return;
    };
    let selected_jd = sequence
        .detections
        .get(app.selection.detection)
        .map(|a| a.candidate.jd - t0);
    Plot::new("light curve")
        .height(ui.available_height().max(120.0))
        .invert_y(true)
        .x_axis_label(format!("days since JD {t0:.3}"))
        .y_axis_label("magnitude")
        .legend(
            egui_plot::Legend::default()
                .position(egui_plot::Corner::RightBottom)
                .text_style(egui::TextStyle::Small)
                .background_alpha(0.5),
        )
        .show(ui, |plot| {
            for fid in [1, 2, 3] {
                let band = crate::alert::band_name(fid);
                let mut detections = Vec::new();
                let mut stamped = Vec::new();
                let mut limits = Vec::new();
                for p in sequence.light_curve.points.iter().filter(|p| p.fid == fid) {
                    let x = p.jd - t0;
                    match &p.kind {
                        PointKind::Detection {
                            magpsf,
                            sigmapsf,
                            has_alert,
                            ..
                        } => {
                            detections.push([x, *magpsf]);
                            if *has_alert {
                                stamped.push([x, *magpsf]);
                            }
                            if sigmapsf.is_finite() {
                                plot.line(
                                    Line::new(
                                        "",
                                        PlotPoints::from(vec![
                                            [x, magpsf - sigmapsf],
                                            [x, magpsf + sigmapsf],
                                        ]),
                                    )
                                    .color(band_colour(fid))
                                    .allow_hover(false),
                                );
                            }
                        }
                        PointKind::UpperLimit { diffmaglim } => limits.push([x, *diffmaglim]),
                    }
                }
                if !detections.is_empty() {
                    plot.points(
                        Points::new(format!("{band} detections"), detections)
                            .color(band_colour(fid))
                            .radius(3.0)
                            .shape(MarkerShape::Circle)
                            .filled(true),
                    );
                }
                if !stamped.is_empty() {
                    plot.points(
                        Points::new("", stamped)
                            .color(band_colour(fid))
                            .radius(6.0)
                            .shape(MarkerShape::Circle)
                            .filled(false),
                    );
                }
                if !limits.is_empty() {
                    plot.points(
                        Points::new(format!("{band} upper limits"), limits)
                            .color(band_colour(fid).linear_multiply(0.6))
                            .radius(4.0)
                            .shape(MarkerShape::Down)
                            .filled(false),
                    );
                }
            }
            if let Some(x) = selected_jd {
                plot.vline(egui_plot::VLine::new("", x).color(egui::Color32::GRAY));
            }
        });
}
