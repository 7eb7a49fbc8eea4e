//! The survey-neutral view of an alert: what any survey's alert says in the same units
//! (time as MJD, flux in nJy, AB magnitude), the first step toward one alert model. Each
//! survey's type keeps its own record; this view is computed from it.
//!
//! Conventions: ZTF `mjd` = `jd` - 2400000.5 (UTC, start of exposure); LSST `mjd` =
//! `midpointMjdTai` (TAI, mid-exposure). Flux in nJy: ZTF 10^((31.4 - magpsf) / 2.5) signed
//! by `isdiffpos`; LSST `psfFlux`. Magnitude: ZTF `magpsf`; LSST 31.4 - 2.5 log10(flux) for
//! positive flux only.

use super::any_alert::{AlertRef, AnyAlert};
use super::lsst::{LsstAlert, LsstObject};
use super::{collect_inputs, read_inputs_any, ReadOptions, ReadSummary};
use super::{Alert, CutoutKind, DiffSign};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

/// AB magnitude zero point of a flux in nJy: m = 31.4 - 2.5 log10(f / nJy).
pub const NJY_ZERO_POINT: f64 = 31.4;

pub use super::types::Survey;

/// The shape of one cutout, in the order science, template, difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StampShape {
    pub kind: CutoutKind,
    pub width: usize,
    pub height: usize,
}

/// One alert in survey-neutral terms: one row of `stampseq table`.
#[derive(Debug, Clone, Serialize)]
pub struct AlertSummary {
    pub survey: Survey,
    #[serde(rename = "objectId")]
    pub object_id: String,
    /// ZTF `candid`; LSST `diaSourceId`.
    #[serde(rename = "alertId")]
    pub alert_id: Option<i64>,
    pub mjd: f64,
    pub band: String,
    pub ra: f64,
    pub dec: f64,
    pub mag: Option<f64>,
    pub mag_err: Option<f64>,
    /// nJy, signed (negative on a negative difference).
    pub flux: Option<f64>,
    pub flux_err: Option<f64>,
    pub isdiffpos: Option<DiffSign>,
    /// Previous detections the alert carries (not upper limits nor forced photometry).
    pub n_previous: usize,
    pub stamps: Vec<StampShape>,
    pub schema: Option<String>,
    /// LSST: a solar-system alert (`ssObjectId` as the object).
    pub solar_system: bool,
    pub file: String,
    pub record: usize,
    /// Columns the broker added, for broker copies; `lsst_schema_version` included.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub broker: serde_json::Map<String, serde_json::Value>,
}

/// What every survey's alert type can say about itself in neutral terms.
pub trait SurveyAlert {
    fn survey(&self) -> Survey;
    fn summary(&self) -> AlertSummary;
}

/// Which object of a survey: ZTF `objectId`; LSST `diaObjectId`, or `ssObjectId` for a
/// solar-system alert.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    pub survey: Survey,
    pub id: String,
    /// LSST: the id is an `ssObjectId`, a number from another sequence than diaObjectIds.
    pub solar_system: bool,
}

impl ObjectKey {
    /// `None` for an alert naming no object (LSST ids of 0 in both fields, as only
    /// synthetic alerts have): such alerts are not one object together.
    pub fn of(alert: &AnyAlert) -> Option<Self> {
        Self::of_ref(alert.as_ref())
    }

    /// [`Self::of`] a borrowed alert.
    pub fn of_ref(alert: AlertRef) -> Option<Self> {
        match alert {
            AlertRef::Ztf(a) => (!a.object_id.is_empty()).then(|| Self {
                survey: Survey::Ztf,
                id: a.object_id.clone(),
                solar_system: false,
            }),
            AlertRef::Lsst(a) => a.object().map(|object| Self {
                survey: Survey::Lsst,
                id: object.id().to_string(),
                solar_system: matches!(object, LsstObject::SolarSystem(_)),
            }),
        }
    }
}

/// AB magnitude of a flux in nJy; none for zero or negative flux.
pub fn njy_to_mag(flux: f64) -> Option<f64> {
    (flux > 0.0 && flux.is_finite()).then(|| NJY_ZERO_POINT - 2.5 * flux.log10())
}

pub fn mag_to_njy(mag: f64) -> f64 {
    10f64.powf((NJY_ZERO_POINT - mag) / 2.5)
}

/// d(mag) = 2.5 / ln(10) * d(flux) / flux, and back.
pub const MAG_PER_RELATIVE_FLUX: f64 = 1.085_736_204_758_129_6;

impl SurveyAlert for Alert {
    fn survey(&self) -> Survey {
        Survey::Ztf
    }

    fn summary(&self) -> AlertSummary {
        let c = &self.candidate;
        let mag = c.magpsf.is_finite().then_some(c.magpsf);
        let mag_err = c.sigmapsf.is_finite().then_some(c.sigmapsf);
        let sign = match c.isdiffpos {
            Some(DiffSign::Negative) => -1.0,
            _ => 1.0,
        };
        let flux = mag.map(|m| sign * mag_to_njy(m));
        let flux_err = flux
            .zip(mag_err)
            .map(|(f, e)| f.abs() * e / MAG_PER_RELATIVE_FLUX);
        AlertSummary {
            survey: Survey::Ztf,
            object_id: self.object_id.clone(),
            alert_id: self.candid,
            mjd: c.jd - 2_400_000.5,
            band: c.band().to_string(),
            ra: c.ra,
            dec: c.dec,
            mag,
            mag_err,
            flux,
            flux_err,
            isdiffpos: c.isdiffpos,
            n_previous: self
                .prv_candidates
                .iter()
                .filter(|p| p.is_detection())
                .count(),
            stamps: CutoutKind::ALL
                .into_iter()
                .filter_map(|kind| {
                    self.cutouts.get(kind).map(|s| StampShape {
                        kind,
                        width: s.width,
                        height: s.height,
                    })
                })
                .collect(),
            schema: self.schema_version.clone(),
            solar_system: c.near_known_asteroid(),
            file: self.origin.file.to_string(),
            record: self.origin.record,
            broker: self
                .broker_columns
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

impl SurveyAlert for LsstAlert {
    fn survey(&self) -> Survey {
        Survey::Lsst
    }

    fn summary(&self) -> AlertSummary {
        let s = &self.dia_source;
        let flux = s.psf_flux.filter(|f| f.is_finite());
        let flux_err = s.psf_flux_err.filter(|f| f.is_finite());
        let mag = flux.and_then(njy_to_mag);
        let mag_err = mag
            .and(flux.zip(flux_err))
            .map(|(f, e)| MAG_PER_RELATIVE_FLUX * e / f);
        let isdiffpos = match (s.is_negative, flux) {
            (Some(true), _) => Some(DiffSign::Negative),
            (Some(false), _) => Some(DiffSign::Positive),
            (None, Some(f)) if f < 0.0 => Some(DiffSign::Negative),
            (None, Some(_)) => Some(DiffSign::Positive),
            (None, None) => None,
        };
        let broker_keys = [
            "brokerIngestMjd",
            "brokerEndProcessMjd",
            "cdsxmatch",
            "lsst_schema_version",
        ];
        AlertSummary {
            survey: Survey::Lsst,
            object_id: self
                .object()
                .map(|o| o.id().to_string())
                .unwrap_or_default(),
            alert_id: Some(self.alert_id),
            mjd: s.midpoint_mjd_tai,
            band: s.band.clone(),
            ra: s.ra,
            dec: s.dec,
            mag,
            mag_err,
            flux,
            flux_err,
            isdiffpos,
            n_previous: self.prv_dia_sources.len(),
            stamps: CutoutKind::ALL
                .into_iter()
                .filter_map(|kind| {
                    self.cutouts.get(kind).map(|c| StampShape {
                        kind,
                        width: c.image.width,
                        height: c.image.height,
                    })
                })
                .collect(),
            schema: self.schema.map(|v| v.to_string()),
            solar_system: self.is_solar_system(),
            file: self.origin.file.to_string(),
            record: self.origin.record,
            broker: self
                .extra
                .iter()
                .filter(|(k, _)| broker_keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

impl SurveyAlert for AnyAlert {
    fn survey(&self) -> Survey {
        match self {
            AnyAlert::Ztf(a) => a.survey(),
            AnyAlert::Lsst(a) => a.survey(),
        }
    }

    fn summary(&self) -> AlertSummary {
        match self {
            AnyAlert::Ztf(a) => a.summary(),
            AnyAlert::Lsst(a) => a.summary(),
        }
    }
}

impl AlertSummary {
    /// `WxH` per cutout (science/template/difference), `-` for a missing one; empty when
    /// the alert has none.
    pub fn stamps_label(&self) -> String {
        if self.stamps.is_empty() {
            return String::new();
        }
        CutoutKind::ALL
            .into_iter()
            .map(|kind| {
                self.stamps
                    .iter()
                    .find(|s| s.kind == kind)
                    .map(|s| format!("{}x{}", s.width, s.height))
                    .unwrap_or_else(|| "-".into())
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// One summary per alert of every input, in file and record order, and what the read did.
/// Alerts are summarised as they are decoded, so their stamps are never all in memory.
pub fn read_table<P: AsRef<Path>>(
    paths: &[P],
    options: &ReadOptions,
) -> (Vec<AlertSummary>, ReadSummary) {
    let (inputs, walk_errors) = collect_inputs(paths);
    let rows = Mutex::new(Vec::new());
    let mut summary = read_inputs_any(
        &inputs,
        options,
        |_| {},
        |a| {
            let row = a.summary();
            rows.lock().unwrap_or_else(|p| p.into_inner()).push(row)
        },
    );
    summary.errors.splice(0..0, walk_errors);
    let mut rows = rows.into_inner().unwrap_or_else(|p| p.into_inner());
    rows.sort_by(|a, b| (&a.file, a.record).cmp(&(&b.file, b.record)));
    (rows, summary)
}

/// The table's output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Jsonl,
}

/// The CSV columns, in order.
pub const TABLE_COLUMNS: [&str; 19] = [
    "survey",
    "objectId",
    "alertId",
    "mjd",
    "band",
    "ra",
    "dec",
    "mag",
    "mag_err",
    "flux",
    "flux_err",
    "isdiffpos",
    "n_previous",
    "stamps",
    "schema",
    "solar_system",
    "file",
    "record",
    "broker",
];

fn opt(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn sign_label(s: Option<DiffSign>) -> &'static str {
    match s {
        Some(DiffSign::Positive) => "t",
        Some(DiffSign::Negative) => "f",
        None => "",
    }
}

/// Writes one row per alert. CSV numbers are Rust's shortest round-trip text; empty cells
/// are missing values. `broker` is the broker's extra columns as compact JSON.
pub fn write_table<W: Write>(
    rows: &[AlertSummary],
    format: TableFormat,
    out: W,
) -> std::io::Result<()> {
    match format {
        TableFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(TABLE_COLUMNS)?;
            for r in rows {
                let broker = if r.broker.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string(&r.broker)?
                };
                w.write_record([
                    r.survey.to_string(),
                    r.object_id.clone(),
                    r.alert_id.map(|x| x.to_string()).unwrap_or_default(),
                    opt(Some(r.mjd)),
                    r.band.clone(),
                    opt(Some(r.ra)),
                    opt(Some(r.dec)),
                    opt(r.mag),
                    opt(r.mag_err),
                    opt(r.flux),
                    opt(r.flux_err),
                    sign_label(r.isdiffpos).to_string(),
                    r.n_previous.to_string(),
                    r.stamps_label(),
                    r.schema.clone().unwrap_or_default(),
                    r.solar_system.to_string(),
                    r.file.clone(),
                    r.record.to_string(),
                    broker,
                ])?;
            }
            w.flush()
        }
        TableFormat::Jsonl => {
            let mut out = std::io::BufWriter::new(out);
            for r in rows {
                let mut row = serde_json::to_value(r)?;
                if let Some(obj) = row.as_object_mut() {
                    obj.insert("stamps".into(), r.stamps_label().into());
                    obj.insert("isdiffpos".into(), sign_label(r.isdiffpos).into());
                }
                serde_json::to_writer(&mut out, &row)?;
                out.write_all(b"\n")?;
            }
            out.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn njy_magnitudes_round_trip_and_refuse_negative_flux() {
        assert!((njy_to_mag(3631e9).expect("positive") - 0.0).abs() < 1e-3);
        assert!((njy_to_mag(mag_to_njy(20.0)).expect("positive") - 20.0).abs() < 1e-12);
        assert_eq!(njy_to_mag(-5.0), None);
        assert_eq!(njy_to_mag(0.0), None);
        // 1% in flux is about 0.01086 mag.
        assert!((MAG_PER_RELATIVE_FLUX - 2.5 / 10f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn ztf_flux_is_signed_by_isdiffpos_and_time_is_mjd() {
        use crate::alert::{AlertOrigin, Candidate, Cutouts};
        let alert = Alert {
            object_id: "ZTF18aaaaaaa".into(),
            candid: Some(42),
            schema_version: Some("3.3".into()),
            publisher: None,
            candidate: Candidate {
                jd: 2_458_000.5,
                fid: 2,
                ra: 10.0,
                dec: -5.0,
                magpsf: 19.0,
                sigmapsf: 0.1,
                isdiffpos: Some(DiffSign::Negative),
                ..Default::default()
            },
            prv_candidates: Vec::new(),
            fp_hists: Vec::new(),
            cutouts: Cutouts::default(),
            label: None,
            broker_columns: Default::default(),
            origin: AlertOrigin {
                file: "a.avro".into(),
                record: 0,
            },
        };
        let s = alert.summary();
        assert_eq!(s.mjd, 58_000.0);
        assert_eq!(s.band, "r");
        let flux = s.flux.expect("flux");
        assert!(
            (flux + 10f64.powf(12.4 / 2.5)).abs() < 1e-9 * flux.abs(),
            "{flux}"
        );
        let err = s.flux_err.expect("flux_err");
        assert!((err / flux.abs() - 0.1 / MAG_PER_RELATIVE_FLUX).abs() < 1e-12);
        assert_eq!(s.mag, Some(19.0));
        assert_eq!(s.stamps_label(), "");
    }
}
