//! Details of the selected detection: the candidate fields, the model features (raw and
//! normalised), AllWISE, links to the portals, and the vetting buttons.

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
    let object_id = app.catalog.sequences[object].object_id.clone();
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
                            let mut row = |k: &str, v: String| {
                                ui.label(k);
                                ui.monospace(v);
                                ui.end_row();
                            };
                            let o =
                                |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
                            row("candid", alert.candid.map_or("-".into(), |c| c.to_string()));
                            row("jd", format!("{:.5}", c.jd));
                            row("filter", c.band().to_string());
                            row("magpsf", format!("{:.3} ± {:.3}", c.magpsf, c.sigmapsf));
                            row("diffmaglim", o(c.diffmaglim));
                            row("isdiffpos", format!("{:?}", c.isdiffpos));
                            row("rb / drb", format!("{} / {}", o(c.rb), o(c.drb)));
                            row("fwhm", o(c.fwhm));
                            row(
                                "sgscore1 / distpsnr1",
                                format!("{} / {}", o(c.sgscore1), o(c.distpsnr1)),
                            );
                            row(
                                "distnr / magnr",
                                format!("{} / {}", o(c.distnr), o(c.magnr)),
                            );
                            row("ssdistnr", o(c.ssdistnr));
                            row(
                                "ndethist / ncovhist",
                                format!("{:?} / {:?}", c.ndethist, c.ncovhist),
                            );
                            row("schema", alert.schema_version.clone().unwrap_or_default());
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
                                ui.monospace(format!("{:.4}", raw[i]));
                                ui.monospace(
                                    normalised
                                        .as_ref()
                                        .map_or("-".into(), |n| format!("{:+.3}", n[i])),
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
    let o = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.3}"));
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
                            ui.monospace(if f.present[i] {
                                format!("{:.3}", f.values[i])
                            } else {
                                "-".to_string()
                            });
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

fn vetting(app: &mut StampseqApp, ui: &mut egui::Ui, object_id: &str) {
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
    if let Some(e) = &app.label_error {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
}
