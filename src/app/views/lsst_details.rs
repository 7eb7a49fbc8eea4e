//! Details of the selected LSST detection: its `diaSource` (the main fields, then every field
//! the schema has), the columns a broker added, the object or solar-system records, links
//! by position, and the vetting buttons. A solar-system object says so at the top.

use super::values::{
    dec_dms, fields_grid, grid_row, links, links_section, origin_row, pair, ra_hms, utc, MISSING,
};
use super::vetting::vetting;
use super::{Commands, UiState};
use crate::alert::lsst::LsstAlert;
use crate::alert::neutral::{njy_to_mag, MAG_PER_RELATIVE_FLUX};
use crate::app::domain::AppState;
use crate::sequence::neutral::ObjectSequence;

/// Shown where an LSST object has no answer: no model trained on LSST alerts is loaded.
pub const NO_LSST_MODEL: &str = "No model trained on LSST";

/// Beside an answer transferred from another survey's training.
pub const TRANSFERRED: &str = "* transferred: the model learnt on labelled ZTF objects, from \
     what both surveys measure; unvalidated on LSST labels. Label LSST objects (keys 1-5) and \
     fine-tune on them (command palette, Ctrl+P: \"Fine-tune\") to make it an LSST model.";

pub fn show(
    state: &AppState,
    ui_state: &mut UiState,
    ui: &mut egui::Ui,
    object: &ObjectSequence,
    key: &str,
    commands: &mut Commands,
) {
    let (id, solar_system) = (&object.key.id, object.key.solar_system);
    ui.heading(key);
    if solar_system {
        ui.colored_label(egui::Color32::YELLOW, "Solar-system object")
            .on_hover_text(format!(
                "ssObjectId {id}: matched to a known solar-system object; its alerts carry \
                 no diaObject (diaObjectId 0)"
            ));
    } else {
        ui.label(format!("LSST diaObjectId {id}"));
    }
    vetting(state, ui_state, ui, key, commands);
    ui.separator();
    let Some(alert) = object
        .alerts
        .get(state.selection.detection)
        .and_then(|a| a.as_ref().lsst())
    else {
        return;
    };
    let s = &alert.dia_source;
    egui::ScrollArea::vertical()
        .id_salt("details")
        .show(ui, |ui| {
            // By position: ALeRCE's and Fink's ZTF pages do not know LSST ids.
            let by_position = links(key, s.ra, s.dec)
                .into_iter()
                .filter(|(name, _)| matches!(*name, "TNS" | "SIMBAD"))
                .collect();
            links_section(ui, by_position, s.ra, s.dec);
            egui::CollapsingHeader::new("diaSource")
                .default_open(true)
                .show(ui, |ui| main_fields(ui, alert));
            if !alert.extra.is_empty() {
                egui::CollapsingHeader::new("Broker and alert columns")
                    .default_open(true)
                    .show(ui, |ui| fields_grid(ui, "extra grid", &alert.extra));
            }
            egui::CollapsingHeader::new(format!("All diaSource fields ({})", s.fields.len()))
                .default_open(false)
                .show(ui, |ui| fields_grid(ui, "diaSource grid", &s.fields));
            for (title, record) in [
                ("diaObject", &alert.dia_object),
                ("ssSource", &alert.ss_source),
                ("ssObject", &alert.ss_object),
                ("MPC orbit", &alert.mpc_orbits),
            ] {
                if let Some(fields) = record {
                    egui::CollapsingHeader::new(format!("{title} ({})", fields.len()))
                        .default_open(false)
                        .show(ui, |ui| fields_grid(ui, title, fields));
                }
            }
            egui::CollapsingHeader::new("Model")
                .default_open(true)
                .show(ui, |ui| {
                    let answers: Vec<String> = state
                        .predictions
                        .models
                        .iter()
                        .filter_map(|m| {
                            let steps = m.by_object.get(key)?;
                            let p = steps.get(state.selection.detection).or(steps.last())?;
                            let best = crate::model::probs::argmax(p)?;
                            let mark = if m.transferred.contains(key) {
                                " *"
                            } else {
                                ""
                            };
                            Some(format!(
                                "{}: {} {:.2}{mark}",
                                m.model,
                                m.classes.get(best)?,
                                p[best]
                            ))
                        })
                        .collect();
                    if answers.is_empty() {
                        ui.label(format!(
                            "{NO_LSST_MODEL}: load one with File > Load a model file (trained by \
                             `stampseq train` on LSST alerts: [model] kind = \"trees\", \
                             \"enhanced\" or \"temporal\"); the ZTF models never read LSST \
                             alerts."
                        ));
                    }
                    let transferred = answers.iter().any(|a| a.ends_with(" *"));
                    for a in answers {
                        ui.label(a);
                    }
                    if transferred {
                        ui.label(egui::RichText::new(TRANSFERRED).small().weak());
                    }
                });
        });
}

fn main_fields(ui: &mut egui::Ui, alert: &LsstAlert) {
    let s = &alert.dia_source;
    let flux = s.psf_flux.filter(|f| f.is_finite());
    let flux_err = s.psf_flux_err.filter(|e| e.is_finite());
    let mag = flux.and_then(njy_to_mag);
    let opt = |v: Option<f64>, decimals: usize| {
        v.filter(|v| v.is_finite())
            .map_or(MISSING.into(), |v| format!("{v:.decimals$}"))
    };
    let id = |v: Option<i64>| v.map_or(MISSING.into(), |v| v.to_string());
    egui::Grid::new("diaSource main grid")
        .striped(true)
        .show(ui, |ui| {
            let mut row = |k: &str, v: String, why: &str| grid_row(ui, k, v, why);
            row("diaSourceId", s.dia_source_id.to_string(), "");
            row(
                "diaObjectId",
                id(s.dia_object_id),
                "none (0) for a solar-system source",
            );
            row(
                "ssObjectId",
                id(s.ss_object_id),
                "none (0) unless matched to a known solar-system object",
            );
            row(
                "visit / detector",
                pair(id(s.visit), id(s.detector.map(i64::from))),
                "",
            );
            row(
                "MJD (TAI)",
                format!("{:.6}", s.midpoint_mjd_tai),
                "midpointMjdTai: the middle of the exposure, TAI",
            );
            row(
                "UTC",
                utc(s.midpoint_mjd_tai + 2_400_000.5 - 37.0 / 86_400.0),
                "mid-exposure, UTC = TAI - 37 s",
            );
            row("band", s.band.clone(), "LSST filter, u g r i z y");
            row(
                "RA, Dec (°)",
                format!("{:.5} {:+.5}", s.ra, s.dec),
                "ICRS, degrees (the Links above copy 6 decimals)",
            );
            row("RA", ra_hms(s.ra), "h:m:s");
            row("Dec", dec_dms(s.dec), "d:m:s");
            row(
                "psfFlux (nJy)",
                match (flux, flux_err) {
                    (Some(f), Some(e)) => format!("{f:.1} ± {e:.1}"),
                    (Some(f), None) => format!("{f:.1}"),
                    _ => MISSING.into(),
                },
                "PSF flux on the difference image, signed, with its 1σ error",
            );
            row(
                "AB magnitude",
                match (mag, flux.zip(flux_err)) {
                    (Some(m), Some((f, e))) => {
                        format!("{m:.3} ± {:.3}", MAG_PER_RELATIVE_FLUX * e / f)
                    }
                    (Some(m), None) => format!("{m:.3}"),
                    _ => MISSING.into(),
                },
                "31.4 - 2.5 log10(psfFlux / nJy), for a positive flux only",
            );
            row(
                "SNR",
                opt(s.snr, 1),
                "signal-to-noise ratio of the detection",
            );
            row(
                "reliability",
                opt(s.reliability, 3),
                "Rubin's real/bogus score, 0 (bogus) to 1 (real)",
            );
            row(
                "isNegative",
                s.is_negative.map_or(MISSING.into(), |n| n.to_string()),
                "schema 8.0 and later: negative on the difference image",
            );
            row(
                "previous",
                format!(
                    "{} detections, {} forced",
                    alert.prv_dia_sources.len(),
                    alert.prv_dia_forced_sources.len()
                ),
                "prvDiaSources and prvDiaForcedSources carried by this alert",
            );
            row(
                "schema",
                alert.schema.map_or(MISSING.into(), |v| v.to_string()),
                "",
            );
            origin_row(ui, &alert.origin);
        });
}
