//! The light curve of either survey, drawn from the survey-neutral light curve
//! ([`NeutralLightCurve`]): per band, the difference photometry as AB magnitude (detections
//! with error bars; upper limits and forced photometry as open down-triangles at their 5σ
//! depth) or as flux in nJy (forced points as measurements), the detections that carry
//! stamps ringed, time as MJD (ZTF: UTC; LSST: TAI). Colours: ZTF's g r i as ALeRCE draws
//! them, Rubin's u g r i z y as Rubin does.

use super::UiState;
use crate::alert::neutral::Survey;
use crate::app::domain::AppState;
use crate::sequence::neutral::{NeutralLightCurve, PointKind as NeutralKind, LIMIT_SIGMA};
use egui_plot::{Line, MarkerShape, Plot, PlotPoints, PlotUi, Points};

/// A band's colour in its survey's convention (see `Survey::band_rgb`).
fn colour_of(survey: Survey, band: &str, dark: bool) -> egui::Color32 {
    let (r, g, b) = survey.band_rgb(band, dark);
    egui::Color32::from_rgb(r, g, b)
}

pub fn show(state: &AppState, ui_state: &mut UiState, ui: &mut egui::Ui) {
    let Some(object) = state.selection.object else {
        return;
    };
    let (Some(curve), Some(survey)) = (
        state.catalog.light_curve(object),
        state.catalog.survey(object),
    ) else {
        return;
    };
    let selected = state.catalog.alert_mjd(object, state.selection.detection);
    let mut flux = ui_state.prefs.light_curve_flux;
    show_curve(curve, survey, selected, &mut flux, ui);
    ui_state.prefs.light_curve_flux = flux;
}

/// One band's points of a light curve, as plotted.
#[derive(Default)]
struct BandPoints {
    detections: Vec<[f64; 2]>,
    stamped: Vec<[f64; 2]>,
    /// Forced photometry: fluxes in flux mode, 5σ limits in magnitude mode.
    forced: Vec<[f64; 2]>,
    /// Upper limits (ZTF's non-detections): their depth, in magnitude mode only.
    limits: Vec<[f64; 2]>,
    /// (x, low, high) error bars.
    bars: Vec<(f64, f64, f64)>,
}

fn band_points(curve: &NeutralLightCurve, band: &str, flux_mode: bool) -> BandPoints {
    let mut out = BandPoints::default();
    for p in curve.points.iter().filter(|p| p.band == band) {
        let x = p.mjd;
        match (&p.kind, flux_mode) {
            (NeutralKind::Detection { has_alert, .. }, true) => {
                let Some(f) = p.flux else { continue };
                out.detections.push([x, f]);
                if *has_alert {
                    out.stamped.push([x, f]);
                }
                if let Some(e) = p.flux_err {
                    out.bars.push((x, f - e, f + e));
                }
            }
            (NeutralKind::Detection { has_alert, .. }, false) => {
                // Only positive flux has a magnitude.
                let Some(m) = p.mag else { continue };
                out.detections.push([x, m]);
                if *has_alert {
                    out.stamped.push([x, m]);
                }
                if let Some(e) = p.mag_err {
                    out.bars.push((x, m - e, m + e));
                }
            }
            (NeutralKind::Forced, true) => {
                if let Some(f) = p.flux {
                    out.forced.push([x, f]);
                    if let Some(e) = p.flux_err {
                        out.bars.push((x, f - e, f + e));
                    }
                }
            }
            (NeutralKind::Forced, false) => {
                if let Some(l) = p.mag_limit {
                    out.forced.push([x, l]);
                }
            }
            // A limit has no flux.
            (NeutralKind::UpperLimit, true) => {}
            (NeutralKind::UpperLimit, false) => {
                if let Some(l) = p.mag_limit {
                    out.limits.push([x, l]);
                }
            }
        }
    }
    out
}

fn show_curve(
    curve: &NeutralLightCurve,
    survey: Survey,
    selected_mjd: Option<f64>,
    flux_mode: &mut bool,
    ui: &mut egui::Ui,
) {
    ui.horizontal(|ui| {
        ui.selectable_value(flux_mode, false, "AB magnitude");
        ui.selectable_value(flux_mode, true, "flux (nJy)");
    });
    if curve.points.is_empty() {
        ui.label("No photometry.");
        return;
    }
    let flux = *flux_mode;
    let dark = ui.visuals().dark_mode;
    let bands = curve.bands();
    let per_band: Vec<(&str, BandPoints)> = bands
        .iter()
        .map(|b| (*b, band_points(curve, b, flux)))
        .collect();
    if per_band
        .iter()
        .all(|(_, p)| p.detections.is_empty() && p.forced.is_empty() && p.limits.is_empty())
    {
        ui.label("No point with a positive flux: switch to flux to see them.");
    }
    Plot::new("light curve")
        .height(ui.available_height().max(120.0))
        .invert_y(!flux)
        .x_axis_label(format!("MJD ({})", survey.time_scale()))
        .y_axis_label(if flux {
            "difference flux (nJy)"
        } else {
            "AB magnitude"
        })
        .legend(
            egui_plot::Legend::default()
                .position(egui_plot::Corner::RightBottom)
                .text_style(egui::TextStyle::Small)
                .background_alpha(0.5),
        )
        .show(ui, |plot| {
            for (band, points) in per_band {
                draw_band(plot, band, colour_of(survey, band, dark), points, flux);
            }
            if flux {
                plot.hline(egui_plot::HLine::new("", 0.0).color(egui::Color32::DARK_GRAY));
            }
            if let Some(x) = selected_mjd {
                plot.vline(egui_plot::VLine::new("", x).color(egui::Color32::GRAY));
            }
        });
}

fn draw_band(
    plot: &mut PlotUi<'_>,
    band: &str,
    colour: egui::Color32,
    points: BandPoints,
    flux: bool,
) {
    for (x, lo, hi) in points.bars {
        plot.line(
            Line::new("", PlotPoints::from(vec![[x, lo], [x, hi]]))
                .color(colour)
                .allow_hover(false),
        );
    }
    if !points.detections.is_empty() {
        plot.points(
            Points::new(format!("{band} detections"), points.detections)
                .color(colour)
                .radius(3.0)
                .shape(MarkerShape::Circle)
                .filled(true),
        );
    }
    if !points.stamped.is_empty() {
        plot.points(
            Points::new("", points.stamped)
                .color(colour)
                .radius(6.0)
                .shape(MarkerShape::Circle)
                .filled(false),
        );
    }
    if !points.forced.is_empty() {
        // In flux a forced point is a measurement; in magnitude only its depth is shown.
        let (name, shape) = if flux {
            (format!("{band} forced"), MarkerShape::Square)
        } else {
            (
                format!("{band} forced, {LIMIT_SIGMA}σ limits"),
                MarkerShape::Down,
            )
        };
        plot.points(
            Points::new(name, points.forced)
                .color(colour.linear_multiply(0.6))
                .radius(4.0)
                .shape(shape)
                .filled(false),
        );
    }
    if !points.limits.is_empty() {
        plot.points(
            Points::new(format!("{band} upper limits"), points.limits)
                .color(colour.linear_multiply(0.6))
                .radius(4.0)
                .shape(MarkerShape::Down)
                .filled(false),
        );
    }
}
