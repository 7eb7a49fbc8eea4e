//! Writing files the user asks for from the app: the selected detection's stamps (FITS and
//! PNG) and the labels with the models' answers (CSV). What is written is copied out of
//! the state first, so that the writing runs on a worker.

use super::jobs::FileDone;
use super::StampseqApp;
use crate::alert::lsst::LsstAlert;
use crate::alert::neutral::SurveyAlert;
use crate::alert::{Alert, AnyAlert, CutoutKind};
use crate::stamp::display::DisplaySettings;
use std::path::{Path, PathBuf};

/// The selected detection's stamps with the display settings their PNGs are drawn with.
pub struct StampExport {
    /// The selected alert, of either survey.
    alert: AnyAlert,
    science: DisplaySettings,
    difference: DisplaySettings,
}

impl StampExport {
    fn settings(&self, kind: CutoutKind) -> &DisplaySettings {
        if kind == CutoutKind::Difference {
            &self.difference
        } else {
            &self.science
        }
    }

    /// Writes the stamps into `dir`, each survey's cutouts with the cards it has; returns
    /// the number of files written.
    pub fn write(&self, dir: &Path) -> anyhow::Result<usize> {
        let alert = self.alert.as_ref();
        if let Some(a) = alert.ztf() {
            self.write_ztf(a, dir)
        } else if let Some(a) = alert.lsst() {
            self.write_lsst(a, dir)
        } else {
            anyhow::bail!("{}: no stamps this app can write", alert.source())
        }
    }

    /// An LSST alert's cutouts: per cutout, the image, its variance and its PSF as FITS
    /// (the producer's pixels and WCS, numeric cards) and the image as PNG, turned North up
    /// as the viewer shows it, with a scale bar in arcsec at 0.2"/px.
    fn write_lsst(&self, alert: &LsstAlert, dir: &Path) -> anyhow::Result<usize> {
        use crate::stamp::export::{write_fits, write_png_at, Card};
        use crate::stamp::orient::{lsst_frame, Orientation};
        let object_id = alert.object_name();
        let stem = format!("{object_id}_{}", alert.alert_id);
        let mut written = 0;
        for kind in CutoutKind::ALL {
            let Some(cutout) = alert.cutouts.get(kind) else {
                continue;
            };
            let name = match kind {
                CutoutKind::Science => "science",
                CutoutKind::Template => "template",
                CutoutKind::Difference => "difference",
            };
            let mut cards: Vec<(&str, Card, &str)> = vec![
                (
                    "OBJECT",
                    object_id.clone().into(),
                    "diaObjectId (ssObjectId if none)",
                ),
                ("DIASRCID", alert.alert_id.into(), "diaSourceId"),
                ("CUTOUT", name.into(), "science, template or difference"),
                (
                    "MJD-OBS",
                    alert.dia_source.midpoint_mjd_tai.into(),
                    "midpointMjdTai (TAI, mid-exposure)",
                ),
                ("BAND", alert.dia_source.band.clone().into(), "LSST band"),
                (
                    "BUNIT",
                    cutout.unit.clone().unwrap_or_else(|| "nJy".into()).into(),
                    "as the producer wrote it",
                ),
            ];
            if let Some(r) = cutout.rotpa {
                cards.push(("ROTPA", r.into(), "rotator position angle, deg"));
            }
            if let Some(w) = &cutout.wcs {
                cards.extend([
                    ("CTYPE1", "RA---TAN".into(), ""),
                    ("CTYPE2", "DEC--TAN".into(), ""),
                    ("CRPIX1", w.crpix[0].into(), ""),
                    ("CRPIX2", w.crpix[1].into(), ""),
                    ("CRVAL1", w.crval[0].into(), "deg"),
                    ("CRVAL2", w.crval[1].into(), "deg"),
                    ("CD1_1", w.cd[0][0].into(), "deg/pixel"),
                    ("CD1_2", w.cd[0][1].into(), "deg/pixel"),
                    ("CD2_1", w.cd[1][0].into(), "deg/pixel"),
                    ("CD2_2", w.cd[1][1].into(), "deg/pixel"),
                ]);
            }
            let path = |part: &str| dir.join(format!("{stem}_{name}{part}.fits"));
            write_fits(&cutout.image, &path(""), &cards)?;
            written += 1;
            if let Some(variance) = &cutout.variance {
                let mut c = cards.clone();
                c.push(("EXTNAME", "VARIANCE".into(), "nJy^2"));
                write_fits(variance, &path("_variance"), &c)?;
                written += 1;
            }
            if let Some(psf) = &cutout.psf {
                // The PSF kernel has its own size: no sky frame.
                let c: Vec<(&str, Card, &str)> = cards[..5]
                    .iter()
                    .cloned()
                    .chain([("EXTNAME", "PSF".into(), "PSF kernel")])
                    .collect();
                write_fits(psf, &path("_psf"), &c)?;
                written += 1;
            }
            let shown = match lsst_frame(cutout).and_then(|(cd, _)| Orientation::north_up(&cd).ok())
            {
                Some(o) => o.apply(&cutout.image).stamp,
                None => cutout.image.clone(),
            };
            let settings = self.settings(kind);
            write_png_at(
                &shown,
                settings,
                8,
                alert.survey().pixel_scale_arcsec(),
                &dir.join(format!("{stem}_{name}.png")),
            )?;
            written += 1;
        }
        Ok(written)
    }

    /// A ZTF alert's three cutouts as FITS (raw pixels) and as PNG (as displayed, 4x, with
    /// a 10 arcsec bar).
    fn write_ztf(&self, alert: &Alert, dir: &Path) -> anyhow::Result<usize> {
        use crate::stamp::export::{write_fits, write_png};
        let object_id = &alert.object_id;
        let stem = format!(
            "{}_{}",
            object_id,
            alert
                .candid
                .map_or("nocandid".to_string(), |c| c.to_string())
        );
        let mut written = 0;
        for kind in CutoutKind::ALL {
            let Some(stamp) = alert.cutouts.get(kind) else {
                continue;
            };
            let name = match kind {
                CutoutKind::Science => "science",
                CutoutKind::Template => "reference",
                CutoutKind::Difference => "difference",
            };
            let cards = [
                ("OBJECT", object_id.to_string().into(), "ZTF objectId"),
                (
                    "CANDID",
                    alert.candid.map_or(String::new(), |c| c.to_string()).into(),
                    "ZTF candid",
                ),
                ("CUTOUT", name.into(), "science, reference or difference"),
                (
                    "JD",
                    format!("{:.6}", alert.candidate.jd).into(),
                    "Julian date of the exposure",
                ),
            ];
            write_fits(stamp, &dir.join(format!("{stem}_{name}.fits")), &cards)?;
            let settings = self.settings(kind);
            write_png(stamp, settings, 4, &dir.join(format!("{stem}_{name}.png")))?;
            written += 2;
        }
        Ok(written)
    }
}

impl StampseqApp {
    /// The selected detection's stamps, copied out to be written.
    pub fn stamp_export(&self) -> anyhow::Result<StampExport> {
        let state = &self.state;
        let object = state
            .selection
            .object
            .filter(|&o| state.catalog.object(o).is_some())
            .ok_or_else(|| anyhow::anyhow!("no object selected"))?;
        let alert = state
            .catalog
            .alert(object, state.selection.detection)
            .ok_or_else(|| anyhow::anyhow!("no detection selected"))?;
        Ok(StampExport {
            alert: alert.clone(),
            science: self.ui.prefs.science,
            difference: self.ui.prefs.difference,
        })
    }

    /// Writes the selected detection's stamps into `dir` here and now (tests; the app
    /// writes them on a worker, [`StampseqApp::export_stamps_to`]). Returns the number of
    /// files written.
    pub fn export_stamps(&self, dir: &Path) -> anyhow::Result<usize> {
        self.stamp_export()?.write(dir)
    }

    /// Writes the selected detection's stamps into `dir` on a worker.
    pub fn export_stamps_to(&mut self, dir: PathBuf) {
        match self.stamp_export() {
            Ok(export) => {
                let title = format!("Writing stamps into {}", dir.display());
                self.state.jobs.file(title, move || {
                    export
                        .write(&dir)
                        .map(|n| {
                            FileDone::Written(format!("{n} files written to {}", dir.display()))
                        })
                        .map_err(|e| format!("export failed: {e}"))
                });
            }
            Err(e) => self.state.messages.push(format!("export failed: {e}")),
        }
    }

    /// Writes the labels with the models' last probabilities to `path` on a worker.
    pub fn export_labels_to(&mut self, path: PathBuf) {
        match self.labels_csv() {
            Ok((text, n)) => {
                let title = format!("Writing {}", path.display());
                self.state.jobs.file(title, move || {
                    crate::atomic::write_atomic(&path, text.as_bytes())
                        .map(|()| {
                            FileDone::Written(format!("{n} labels written to {}", path.display()))
                        })
                        .map_err(|e| format!("export failed: {e}"))
                });
            }
            Err(e) => self.state.messages.push(format!("export failed: {e}")),
        }
    }

    /// Writes every labelled object with the models' last probabilities, atomically.
    pub fn export_labels(&self, path: &Path) -> anyhow::Result<usize> {
        let (text, n) = self.labels_csv()?;
        crate::atomic::write_atomic(path, text.as_bytes())?;
        Ok(n)
    }

    /// Every labelled object with the models' last probabilities, as CSV text, and how
    /// many objects it holds.
    fn labels_csv(&self) -> anyhow::Result<(String, usize)> {
        let Some(store) = &self.state.labels else {
            anyhow::bail!("no labels are loaded");
        };
        let mut header = vec!["objectId".to_string(), "label".to_string()];
        for m in &self.state.predictions.models {
            for c in &m.classes {
                header.push(format!("{}:p_{c}", m.model));
            }
        }
        let mut out = header.join(",") + "\n";
        for (object, label) in store.all() {
            let mut row = vec![object.clone(), label.clone()];
            for m in &self.state.predictions.models {
                let last = m.by_object.get(object).and_then(|p| p.last());
                for i in 0..m.classes.len() {
                    row.push(
                        last.and_then(|p| p.get(i))
                            .map_or(String::new(), |p| format!("{p:.6}")),
                    );
                }
            }
            out.push_str(&(row.join(",") + "\n"));
        }
        Ok((out, store.len()))
    }
}
