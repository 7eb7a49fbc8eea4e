//! Details of the selected detection: the candidate fields, the model features (raw and
//! normalised), AllWISE, links to the portals, and the vetting buttons.

use super::{Commands, UiState};
use crate::alert::Alert;
use crate::app::domain::AppState;
use crate::features::allwise::WISE_FEATURES;
use crate::features::{raw_features, ALERCE_FEATURES};

use super::values::{
    arcsec, count, dec_dms, fields_grid, grid_row, history_start, julian_date, links,
    links_section, magnitude, modified_julian_date, number, origin_row, pair, ra_hms, raw_feature,
    sign, solar_system_name, utc, with_unit, MISSING,
};
use super::vetting::vetting;

pub fn show(state: &AppState, ui_state: &mut UiState, ui: &mut egui::Ui, commands: &mut Commands) {
    let Some(object) = state.selection.object else {
        ui.label("No object selected.");
        return;
    };
    let (Some(sequence), Some(row)) =
        (state.catalog.object(object), state.catalog.rows.get(object))
    else {
        return;
    };
    // Each survey's record has its own fields: the object's alerts say which it is.
    if sequence
        .alerts
        .first()
        .and_then(|a| a.as_ref().ztf())
        .is_none()
    {
        super::lsst_details::show(state, ui_state, ui, sequence, &row.object_id, commands);
        return;
    }
    let object_id = row.object_id.clone();
    ui.heading(&object_id);
    vetting(state, ui_state, ui, &object_id, commands);
    ui.separator();
    let Some(alert) = state
        .catalog
        .alert(object, state.selection.detection)
        .and_then(|a| a.as_ref().ztf())
    else {
        return;
    };
    let c = &alert.candidate;
    egui::ScrollArea::vertical()
        .id_salt("details")
        .show(ui, |ui| {
            links_section(ui, links(&object_id, c.ra, c.dec), c.ra, c.dec);
            egui::CollapsingHeader::new("Candidate")
                .default_open(true)
                .show(ui, |ui| candidate_grid(ui, alert));
            if !alert.broker_columns.is_empty() {
                egui::CollapsingHeader::new(format!(
                    "Broker columns ({})",
                    alert.broker_columns.len()
                ))
                .default_open(true)
                .show(ui, |ui| {
                    fields_grid(ui, "broker grid", &alert.broker_columns)
                });
            }
            egui::CollapsingHeader::new("Model features")
                .default_open(false)
                .show(ui, |ui| {
                    let raw = raw_features(c, &ALERCE_FEATURES);
                    let normalised = state.predictions.feature_stats().map(|s| s.normalize(&raw));
                    egui::Grid::new("feature grid")
                        .striped(true)
                        .show(ui, |ui| {
                            ui.strong("feature");
                            ui.strong("raw");
                            ui.strong("normalised");
                            ui.end_row();
                            let stats = state.predictions.feature_stats();
                            for (i, name) in ALERCE_FEATURES.iter().enumerate() {
                                ui.label(*name);
                                ui.monospace(raw_feature(raw[i]));
                                if stats.is_some_and(|s| s.neutralised.iter().any(|n| n == name)) {
                                    ui.label("read as missing").on_hover_text(
                                        "The model reads this feature as missing (its training \
                                         mean) whatever the alert says: it tells which source \
                                         an alert came from rather than what it is",
                                    );
                                } else {
                                    ui.monospace(
                                        normalised
                                            .as_ref()
                                            .map_or(MISSING.into(), |n| format!("{:+.3}", n[i])),
                                    );
                                }
                                ui.end_row();
                            }
                        });
                });
            egui::CollapsingHeader::new("AllWISE")
                .default_open(false)
                .show(ui, |ui| {
                    allwise(
                        ui,
                        sequence,
                        state.wise.as_ref(),
                        &state.allwise,
                        &mut ui_state.wise_lookup,
                        &mut ui_state.prefs.allwise_radius_arcsec,
                    )
                });
        });
}

/// The alert's `candidate` fields as astronomers read them, each with what it means on hover.
fn candidate_grid(ui: &mut egui::Ui, alert: &Alert) {
    let c = &alert.candidate;
    egui::Grid::new("candidate grid")
        .striped(true)
        .show(ui, |ui| {
            let mut row = |k: &str, v: String, why: &str| grid_row(ui, k, v, why);
            row(
                "candid",
                alert.candid.map_or(MISSING.into(), |c| c.to_string()),
                "",
            );
            row(
                "JD",
                julian_date(c.jd),
                "Julian date of the exposure's start",
            );
            row("MJD", modified_julian_date(c.jd), "JD − 2400000.5");
            row("UTC", utc(c.jd), "");
            row("filter", c.band().to_string(), "ZTF filter");
            // Degrees, then hours and degrees in sexagesimal: one row each
            // keeps the panel as narrow as a candid.
            row(
                "RA, Dec (°)",
                format!("{:.5} {:+.5}", c.ra, c.dec),
                "J2000, degrees (the Links above copy 6 decimals)",
            );
            row("RA", ra_hms(c.ra), "J2000, h:m:s");
            row("Dec", dec_dms(c.dec), "J2000, d:m:s");
            row(
                "magpsf",
                magnitude(Some(c.magpsf), Some(c.sigmapsf)),
                "PSF-fit magnitude in the difference image, with its 1σ error",
            );
            row(
                "diffmaglim",
                number(c.diffmaglim, 2),
                "5σ limiting magnitude of the difference image",
            );
            row(
                "isdiffpos",
                sign(c.isdiffpos).into(),
                "+: brighter than in the reference image (positive subtraction); \
                     −: fainter (negative)",
            );
            row(
                "rb / drb",
                pair(number(c.rb, 3), number(c.drb, 3)),
                "real-bogus scores, 0 (bogus) to 1 (real)",
            );
            row(
                "fwhm / elong",
                pair(with_unit(number(c.fwhm, 2), " px"), number(c.elong, 2)),
                "FWHM of the source (pixels of 1.01\") and its elongation",
            );
            row(
                "sgscore1 / distpsnr1",
                pair(number(c.sgscore1, 3), arcsec(c.distpsnr1)),
                "nearest Pan-STARRS1 source: star/galaxy score (1 = star) and \
                     distance",
            );
            row(
                "distnr",
                arcsec(c.distnr),
                "distance to the nearest source in the reference image",
            );
            row(
                "magnr",
                magnitude(c.magnr, c.sigmagnr),
                "magnitude of the nearest source in the reference image",
            );
            row(
                "ssdistnr / ssmagnr",
                pair(arcsec(c.ssdistnr), number(c.ssmagnr, 2))
                    + &solar_system_name(c.ssnamenr.as_deref()),
                "nearest known solar-system object: distance, V magnitude, name",
            );
            row(
                "neargaia / maggaia",
                pair(arcsec(c.neargaia), number(c.maggaia, 2)),
                "nearest Gaia source: distance and G magnitude",
            );
            row(
                "ndethist / ncovhist",
                pair(count(c.ndethist), count(c.ncovhist)),
                "detections / observations of this position so far",
            );
            row(
                "jdstarthist",
                history_start(c.jdstarthist),
                &format!(
                    "first detection of this position, MJD {}",
                    c.jdstarthist.map_or(MISSING.into(), modified_julian_date)
                ),
            );
            row(
                "schema",
                alert
                    .schema_version
                    .clone()
                    .unwrap_or_else(|| MISSING.into()),
                "",
            );
            origin_row(ui, &alert.origin);
        });
}

/// The crossmatch table's magnitudes and the catalogue's nearest source, whichever are
/// loaded.
fn allwise(
    ui: &mut egui::Ui,
    object: &crate::sequence::neutral::ObjectSequence,
    table: Option<&crate::features::allwise::CrossmatchTable>,
    panel: &crate::app::wise::WisePanel,
    lookup: &mut crate::app::wise::WiseLookup,
    radius: &mut f64,
) {
    let o = |v: Option<f64>| number(v, 3);
    if let Some(m) = table.and_then(|w| w.get(&object.key.id)) {
        ui.label("Crossmatch table:");
        ui.monospace(format!("W1 {}  W2 {}  W3 {}", o(m.w1), o(m.w2), o(m.w3)));
    } else if table.is_some() {
        ui.label("Not in the crossmatch table.");
    }
    if panel.loading.is_some() {
        ui.horizontal(|ui| {
            ui.add(egui::Spinner::new());
            ui.label("Reading the AllWISE catalogue...");
        });
    }
    if let Some(e) = &panel.error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    if panel.catalogue.is_some() {
        ui.horizontal(|ui| {
            let l = ui.label("Cone search, radius");
            ui.add(
                egui::DragValue::new(radius)
                    .range(0.1..=3600.0)
                    .speed(0.1)
                    .suffix("\""),
            )
            .labelled_by(l.id);
        });
        let radius = *radius;
        match lookup.nearest(panel.catalogue.as_ref(), object, radius) {
            Some(m) => {
                ui.monospace(format!("{} at {:.2}\"", m.source.id, m.separation_arcsec));
                egui::Grid::new("allwise grid")
                    .striped(true)
                    .show(ui, |ui| {
                        let f = &m.features;
                        for (i, name) in WISE_FEATURES.iter().enumerate() {
                            ui.label(*name);
                            ui.monospace(number(f.present[i].then_some(f.values[i]), 3));
                            ui.end_row();
                        }
                    });
                ui.small("g, r: mean PSF magnitude of the detections in that band.");
            }
            None => {
                ui.label(format!("No AllWISE source within {radius:.2}\"."));
            }
        }
    } else if table.is_none() && panel.loading.is_none() {
        ui.label("No AllWISE catalogue or crossmatch loaded (File menu).");
    }
}
