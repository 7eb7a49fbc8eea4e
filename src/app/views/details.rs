//! Details of the selected detection: the candidate fields, the model features (raw and
//! normalised), AllWISE, links to the portals, and the vetting buttons.

use crate::alert::DiffSign;
use crate::app::commands::Command;
use crate::app::StampseqApp;
use crate::features::allwise::WISE_FEATURES;
use crate::features::{raw_features, ALERCE_FEATURES};

/// Portal links for a position, as astronomers paste them.
pub fn links(object_id: &str, ra: f64, dec: f64) -> Vec<(&'static str, String)> {
    vec![
        ("ALeRCE", format!("https://alerce.online/object/{object_id}")),
        ("Fink", format!("https://fink-portal.org/{object_id}")),
        (
            "TNS",
            format!(
                "https://www.wis-tns.org/search?ra={ra:.6}&decl={dec:.6}&radius=5&coords_unit=arcsec"
            ),
        ),
        (
            "SIMBAD",
            format!(
                "https://simbad.cds.unistra.fr/simbad/sim-coo?Coord={ra:.6}%20{dec:+.6}&Radius=5&Radius.unit=arcsec"
            ),
        ),
    ]
}

pub fn show(app: &mut StampseqApp, ui: &mut egui::Ui) {
    let Some(object) = app.selection.object else {
        ui.label("No object selected.");
        return;
    };
    if app.catalog.lsst_object(object).is_some() {
        super::lsst_details::show(app, ui, object);
        return;
    }
    let Some(object_id) = app.catalog.ztf(object).map(|s| s.object_id.clone()) else {
        return;
    };
    ui.heading(&object_id);
    vetting(app, ui, &object_id);
    ui.separator();
    let sequence = &app.catalog.sequences[object];
    let Some(alert) = sequence.detections.get(app.selection.detection) else {
        return;
    };
    let c = &alert.candidate;
    egui::ScrollArea::vertical()
        .id_salt("details")
        .show(ui, |ui| {
            egui::CollapsingHeader::new("Links")
                .default_open(true)
                .show(ui, |ui| {
                    for (name, url) in links(&object_id, c.ra, c.dec) {
                        ui.horizontal(|ui| {
                            ui.hyperlink_to(name, &url);
                            if ui.small_button("copy").clicked() {
                                ui.ctx().copy_text(url.clone());
                            }
                        });
                    }
                    ui.horizontal(|ui| {
                        let pos = format!("{:.6} {:+.6}", c.ra, c.dec);
                        ui.monospace(&pos);
                        if ui.small_button("copy").clicked() {
                            ui.ctx().copy_text(pos);
                        }
                    });
                });
            egui::CollapsingHeader::new("Candidate")
                .default_open(true)
                .show(ui, |ui| {
                    egui::Grid::new("candidate grid")
                        .striped(true)
                        .show(ui, |ui| {
                            let mut row = |k: &str, v: String, why: &str| {
                                let l = ui.label(k);
                                if !why.is_empty() {
                                    l.on_hover_text(why);
                                }
                                ui.monospace(v);
                                ui.end_row();
                            };
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
                            ui.label("file");
                            // The name only, so the view does not depend on where the
                            // data lives; the full path is on hover.
                            let full = format!("{} #{}", alert.origin.file, alert.origin.record);
                            let name = alert.origin.file.rsplit(['/', '\\']).next().unwrap_or("");
                            let short = format!("{name} #{}", alert.origin.record);
                            ui.add(
                                egui::Label::new(egui::RichText::new(short).monospace()).truncate(),
                            )
                            .on_hover_text(full);
                            ui.end_row();
                        });
                });
            if !alert.broker_columns.is_empty() {
                egui::CollapsingHeader::new(format!(
                    "Broker columns ({})",
                    alert.broker_columns.len()
                ))
                .default_open(true)
                .show(ui, |ui| {
                    super::lsst_details::fields_grid(ui, "broker grid", &alert.broker_columns)
                });
            }
            egui::CollapsingHeader::new("Model features")
                .default_open(false)
                .show(ui, |ui| {
                    let raw = raw_features(c, &ALERCE_FEATURES);
                    let normalised = app.feature_stats.as_ref().map(|s| s.normalize(&raw));
                    egui::Grid::new("feature grid")
                        .striped(true)
                        .show(ui, |ui| {
                            ui.strong("feature");
                            ui.strong("raw");
                            ui.strong("normalised");
                            ui.end_row();
                            for (i, name) in ALERCE_FEATURES.iter().enumerate() {
                                ui.label(*name);
                                ui.monospace(raw_feature(raw[i]));
                                ui.monospace(
                                    normalised
                                        .as_ref()
                                        .map_or(MISSING.into(), |n| format!("{:+.3}", n[i])),
                                );
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
                        app.wise.as_ref(),
                        &mut app.allwise,
                        &mut app.prefs.allwise_radius_arcsec,
                    )
                });
        });
}

/// The crossmatch table's magnitudes and the catalogue's nearest source, whichever are
/// loaded.
fn allwise(
    ui: &mut egui::Ui,
    sequence: &crate::sequence::Sequence,
    table: Option<&crate::features::allwise::CrossmatchTable>,
    panel: &mut crate::app::wise::WisePanel,
    radius: &mut f64,
) {
    let o = |v: Option<f64>| number(v, 3);
    if let Some(m) = table.and_then(|w| w.get(&sequence.object_id)) {
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
        match panel.nearest(sequence, radius) {
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

pub(super) fn vetting(app: &mut StampseqApp, ui: &mut egui::Ui, object_id: &str) {
    let current = app
        .labels
        .as_ref()
        .and_then(|l| l.get(object_id))
        .map(str::to_string);
    ui.horizontal_wrapped(|ui| {
        ui.label("Label:");
        for cmd in [
            Command::LabelAgn,
            Command::LabelSn,
            Command::LabelVs,
            Command::LabelAsteroid,
            Command::LabelBogus,
            Command::LabelUnsure,
        ] {
            let label = cmd.label().unwrap_or_default();
            let text = format!("{label} ({})", app.prefs.shortcuts.text(cmd, ui.ctx()));
            if ui
                .selectable_label(current.as_deref() == Some(label), text)
                .clicked()
            {
                app.run_command(cmd);
            }
        }
    });
    // How sure, a note, and who: kept in the journal with the label.
    if current.is_some() {
        let details = app
            .labels
            .as_ref()
            .and_then(|l| l.details(object_id))
            .cloned()
            .unwrap_or_default();
        let mut confidence = details.confidence.clone();
        ui.horizontal(|ui| {
            for c in crate::labels::CONFIDENCES {
                if ui
                    .selectable_label(confidence.as_deref() == Some(c), c)
                    .clicked()
                {
                    confidence = Some(c.to_string());
                }
            }
        });
        if app
            .note_draft
            .as_ref()
            .is_none_or(|(id, _)| id != object_id)
        {
            app.note_draft = Some((
                object_id.to_string(),
                details.note.clone().unwrap_or_default(),
            ));
        }
        let mut commit_note = false;
        if let Some((_, text)) = app.note_draft.as_mut() {
            let l = ui.label("note");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(text)
                        .hint_text("why, for whoever vets next")
                        .desired_width(220.0),
                )
                .labelled_by(l.id);
            commit_note = edit.lost_focus();
        }
        let note = app.note_draft.as_ref().map(|(_, t)| t.clone());
        if confidence != details.confidence || commit_note {
            if let Some(store) = app.labels.as_mut() {
                let note = if commit_note {
                    note
                } else {
                    details.note.clone()
                };
                if let Err(e) = store.set_details(object_id, confidence.as_deref(), note.as_deref())
                {
                    app.label_error = Some(e.to_string());
                }
            }
        }
        if let Some(who) = &details.vetter {
            ui.small(format!("by {who}"));
        }
    }
    ui.horizontal(|ui| {
        let l = ui.label("vetter");
        let changed = ui
            .add(
                egui::TextEdit::singleline(&mut app.prefs.vetter_name)
                    .hint_text("your name")
                    .desired_width(120.0),
            )
            .labelled_by(l.id)
            .changed();
        if changed {
            if let Some(store) = app.labels.as_mut() {
                store.set_vetter(Some(&app.prefs.vetter_name));
            }
        }
    });
    if let Some(e) = &app.label_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
}

// Values as an astronomer writes them. ZTF marks "none" (no PS1 source, no known asteroid
// near) with -999 and the schema with nulls; both read as a dash here, never as a number.

/// What a value that does not exist reads as.
pub const MISSING: &str = "—";

/// `v` unless it is null, not finite or ZTF's -999.
pub fn present(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && (v + 999.0).abs() > 1e-9)
}

pub fn number(v: Option<f64>, decimals: usize) -> String {
    present(v).map_or(MISSING.into(), |v| format!("{v:.decimals$}"))
}

/// A count, which -999 or any negative number cannot be.
pub fn count(v: Option<i32>) -> String {
    v.filter(|&v| v >= 0)
        .map_or(MISSING.into(), |v| v.to_string())
}

/// "18.42 ± 0.05": two decimals, three when the error is under 0.01 mag.
pub fn magnitude(mag: Option<f64>, error: Option<f64>) -> String {
    let Some(mag) = present(mag) else {
        return MISSING.into();
    };
    match present(error).filter(|e| *e >= 0.0) {
        Some(e) if e < 0.01 => format!("{mag:.3} ± {e:.3}"),
        Some(e) => format!("{mag:.2} ± {e:.2}"),
        None => format!("{mag:.2}"),
    }
}

/// An angular distance in arcseconds, as 1.23".
pub fn arcsec(v: Option<f64>) -> String {
    with_unit(number(v, 2), "\"")
}

pub(super) fn with_unit(value: String, unit: &str) -> String {
    if value == MISSING {
        value
    } else {
        value + unit
    }
}

pub fn pair(a: String, b: String) -> String {
    format!("{a} / {b}")
}

/// The sign of the subtraction as written in papers, + or − (a minus sign, not a hyphen),
/// named too: a lone minus in a table reads like the dash of a missing value.
pub fn sign(s: Option<DiffSign>) -> &'static str {
    match s {
        Some(DiffSign::Positive) => "+ (positive)",
        Some(DiffSign::Negative) => "\u{2212} (negative)",
        None => MISSING,
    }
}

fn solar_system_name(name: Option<&str>) -> String {
    match name.map(str::trim) {
        // ZTF writes the string "null" where no object is near.
        Some(n) if !n.is_empty() && n != "null" => format!(" ({n})"),
        _ => String::new(),
    }
}

/// A model feature as the network gets it; ZTF's -999 is named, as it is a value the
/// model was trained with and not a gap.
pub fn raw_feature(v: f64) -> String {
    if (v + 999.0).abs() < 1e-9 {
        format!("{MISSING} (-999)")
    } else {
        format!("{v:.4}")
    }
}

/// Julian dates before the first alerts or after 3000 are not real observation times.
fn plausible(jd: f64) -> bool {
    jd.is_finite() && (2_400_000.5..2_816_787.5).contains(&jd)
}

pub fn julian_date(jd: f64) -> String {
    if plausible(jd) {
        format!("{jd:.5}")
    } else {
        MISSING.into()
    }
}

pub fn modified_julian_date(jd: f64) -> String {
    if plausible(jd) {
        format!("{:.5}", jd - 2_400_000.5)
    } else {
        MISSING.into()
    }
}

/// The UTC date and time of a Julian date, to the second: "2021-06-29 07:12:00".
pub fn utc(jd: f64) -> String {
    if !plausible(jd) {
        return MISSING.into();
    }
    // Rounded once, to whole seconds since the Unix epoch, so 23:59:59.7 carries into
    // the next day instead of reading 24:00.
    let seconds = ((jd - 2_440_587.5) * 86_400.0).round() as i64;
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        time / 3600,
        time / 60 % 60,
        time % 60
    )
}

/// The UTC date a position's history starts, as "2018-06-30".
fn history_start(jd: Option<f64>) -> String {
    match jd.filter(|&jd| plausible(jd)) {
        Some(jd) => utc(jd)[..10].to_string(),
        None => MISSING.into(),
    }
}

/// Gregorian (year, month, day) of a day count from 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// RA as h:m:s to 0.01 s.
pub fn ra_hms(ra: f64) -> String {
    if !ra.is_finite() {
        return MISSING.into();
    }
    // Rounded in the last shown digit first, so 59.999 s carries into the minute.
    let centiseconds = (ra.rem_euclid(360.0) / 15.0 * 360_000.0).round() as i64 % 8_640_000;
    format!(
        "{:02}:{:02}:{:02}.{:02}",
        centiseconds / 360_000,
        centiseconds / 6000 % 60,
        centiseconds / 100 % 60,
        centiseconds % 100
    )
}

/// Dec as ±d:m:s to 0.1".
pub fn dec_dms(dec: f64) -> String {
    if !dec.is_finite() {
        return MISSING.into();
    }
    let tenths = (dec.abs() * 36_000.0).round() as i64;
    format!(
        "{}{:02}:{:02}:{:02}.{}",
        if dec < 0.0 && tenths > 0 { '-' } else { '+' },
        tenths / 36_000,
        tenths / 600 % 60,
        tenths / 10 % 60,
        tenths % 10
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_and_ztf_sentinels_read_as_a_dash() {
        assert_eq!(number(None, 2), MISSING);
        assert_eq!(number(Some(-999.0), 2), MISSING);
        assert_eq!(number(Some(f64::NAN), 2), MISSING);
        assert_eq!(number(Some(-0.5), 2), "-0.50");
        assert_eq!(arcsec(Some(-999.0)), MISSING);
        assert_eq!(arcsec(Some(1.234)), "1.23\"");
        assert_eq!(count(Some(-999)), MISSING);
        assert_eq!(count(Some(998)), "998");
        assert_eq!(pair(count(Some(998)), count(Some(2077))), "998 / 2077");
        assert_eq!(pair(count(None), count(Some(3))), "— / 3");
        assert_eq!(raw_feature(-999.0), "— (-999)");
        assert_eq!(raw_feature(0.25), "0.2500");
        assert_eq!(solar_system_name(Some("null")), "");
        assert_eq!(solar_system_name(Some("12345")), " (12345)");
    }

    #[test]
    fn magnitudes_carry_their_errors() {
        assert_eq!(magnitude(Some(18.4213), Some(0.0512)), "18.42 ± 0.05");
        assert_eq!(magnitude(Some(16.12345), Some(0.0041)), "16.123 ± 0.004");
        assert_eq!(magnitude(Some(17.9), None), "17.90");
        assert_eq!(magnitude(Some(17.9), Some(-999.0)), "17.90");
        assert_eq!(magnitude(Some(-999.0), Some(0.1)), MISSING);
    }

    #[test]
    fn the_subtraction_sign_is_plus_or_minus() {
        assert_eq!(sign(Some(DiffSign::Positive)), "+ (positive)");
        assert_eq!(sign(Some(DiffSign::Negative)), "\u{2212} (negative)");
        assert_eq!(sign(None), MISSING);
    }

    #[test]
    fn julian_dates_read_as_mjd_and_utc() {
        assert_eq!(utc(2_451_545.0), "2000-01-01 12:00:00");
        assert_eq!(utc(2_459_394.8), "2021-06-29 07:12:00");
        assert_eq!(modified_julian_date(2_459_394.8), "59394.30000");
        assert_eq!(julian_date(2_459_394.8), "2459394.80000");
        // Half a second before midnight carries into the next day.
        assert_eq!(utc(2_459_394.5 - 0.4 / 86_400.0), "2021-06-29 00:00:00");
        // Leap day.
        assert_eq!(utc(2_460_370.25), "2024-02-29 18:00:00");
        assert_eq!(history_start(Some(2_458_299.71)), "2018-06-30");
        for bad in [0.0, -999.0, f64::NAN, 1e12] {
            assert_eq!(utc(bad), MISSING);
            assert_eq!(modified_julian_date(bad), MISSING);
        }
        assert_eq!(history_start(Some(-999.0)), MISSING);
    }

    fn sexagesimal(ra: f64, dec: f64) -> String {
        format!("{} {}", ra_hms(ra), dec_dms(dec))
    }

    #[test]
    fn positions_read_in_sexagesimal() {
        assert_eq!(sexagesimal(0.0, 0.0), "00:00:00.00 +00:00:00.0");
        assert_eq!(
            sexagesimal(210.802_25, 54.348_94),
            "14:03:12.54 +54:20:56.2"
        );
        assert_eq!(sexagesimal(359.999_999_99, -0.5), "00:00:00.00 -00:30:00.0");
        // A value that rounds up to 60 s carries into the minute.
        assert_eq!(
            sexagesimal(15.0 * (59.999_999 / 3600.0), -12.999_999_99),
            "00:01:00.00 -13:00:00.0"
        );
        assert_eq!(ra_hms(f64::NAN), MISSING);
        assert_eq!(dec_dms(f64::INFINITY), MISSING);
    }
}
