//! The Rubin/LSST alert as the survey writes it: the triggering `diaSource`, its history,
//! the object (or the solar-system source) and three cutouts with variance and PSF.
//!
//! The few fields every reader needs are typed; every field of each record is also kept,
//! by its schema name, in `fields`, so nothing the producer wrote is lost (schemas 7.0 to
//! 11.1 differ in about a hundred of them).

use crate::alert::{AlertOrigin, CutoutKind, Stamp};
use serde::Serialize;
use std::fmt;

/// The fields of one record by schema name, as JSON values (NaN and null both read null).
pub type FieldMap = serde_json::Map<String, serde_json::Value>;

/// An alert_packet schema version, e.g. 10.0 (Confluent schema id 1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SchemaVersion {
    pub major: u32,
    pub minor: u32,
}

impl SchemaVersion {
    /// id = major x 100 + minor (DMTN-093).
    pub fn from_id(id: u32) -> Self {
        Self {
            major: id / 100,
            minor: id % 100,
        }
    }

    pub fn id(self) -> u32 {
        self.major * 100 + self.minor
    }

    /// The Avro namespace, `lsst.v10_0`: how Rubin names the versions.
    pub fn namespace(self) -> String {
        format!("lsst.v{}_{}", self.major, self.minor)
    }

    /// Parses `lsst.v10_0` (a namespace, or a full name such as `lsst.v10_0.alert`).
    pub fn from_namespace(name: &str) -> Option<Self> {
        let rest = name.strip_prefix("lsst.v")?;
        let version = rest.split('.').next()?;
        let (major, minor) = version.split_once('_')?;
        Some(Self {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lsst.v{}_{}", self.major, self.minor)
    }
}

/// One difference-image detection (`diaSource`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiaSource {
    pub dia_source_id: i64,
    pub visit: Option<i64>,
    pub detector: Option<i32>,
    /// `None` where the record holds 0 (a solar-system source has no diaObject).
    pub dia_object_id: Option<i64>,
    /// `None` where the record holds 0 (not associated with a known solar-system object).
    pub ss_object_id: Option<i64>,
    /// Mid-exposure time, MJD in TAI.
    pub midpoint_mjd_tai: f64,
    /// One of u g r i z y.
    pub band: String,
    pub ra: f64,
    pub dec: f64,
    /// Signed PSF flux on the difference image, nJy.
    pub psf_flux: Option<f64>,
    pub psf_flux_err: Option<f64>,
    pub snr: Option<f64>,
    pub reliability: Option<f64>,
    /// Schema 8.0 and later: the source is negative on the difference image.
    pub is_negative: Option<bool>,
    pub fields: FieldMap,
}

/// Forced photometry on the difference image at the object's position.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiaForcedSource {
    pub dia_forced_source_id: Option<i64>,
    pub dia_object_id: Option<i64>,
    pub visit: Option<i64>,
    pub midpoint_mjd_tai: f64,
    pub band: String,
    pub ra: Option<f64>,
    pub dec: Option<f64>,
    pub psf_flux: Option<f64>,
    pub psf_flux_err: Option<f64>,
    pub fields: FieldMap,
}

/// The simple TAN world coordinates of a cutout (no `CTYPE` is written: TAN, degrees).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CutoutWcs {
    /// Reference pixel, FITS 1-based.
    pub crpix: [f64; 2],
    /// Sky position of the reference pixel, degrees.
    pub crval: [f64; 2],
    /// `[[PC1_1, PC1_2], [PC2_1, PC2_2]]` times `CDELT`, degrees per pixel.
    pub cd: [[f64; 2]; 2],
}

/// One LSST cutout: the image (nJy), its variance and the PSF kernel.
#[derive(Debug, Clone, Serialize)]
pub struct LsstCutout {
    pub image: Stamp,
    /// The `UNCERT` HDU: variance, nJy^2, same shape as the image.
    pub variance: Option<Stamp>,
    /// The `PSFIMAGE` HDU: the PSF kernel (sums to about 1), its own shape.
    pub psf: Option<Stamp>,
    /// `BUNIT` of the image, `nJy` in every producer seen.
    pub unit: Option<String>,
    /// `ROTPA`: position angle of the focal plane +Y with respect to North, degrees.
    pub rotpa: Option<f64>,
    pub wcs: Option<CutoutWcs>,
    /// `CUTMINX`, `CUTMINY`: the cutout's corner on the detector.
    pub corner: Option<[i64; 2]>,
}

impl LsstCutout {
    /// Arcseconds per pixel: LSST's nominal 0.2, what a cutout without a WCS is read at.
    pub fn nominal_pixel_scale_arcsec() -> f64 {
        crate::alert::neutral::Survey::Lsst.pixel_scale_arcsec()
    }
}

/// The three cutouts; any may be absent (a synthetic alert, or one that failed to decode).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LsstCutouts {
    pub science: Option<LsstCutout>,
    pub template: Option<LsstCutout>,
    pub difference: Option<LsstCutout>,
}

impl LsstCutouts {
    pub fn get(&self, kind: CutoutKind) -> Option<&LsstCutout> {
        match kind {
            CutoutKind::Science => self.science.as_ref(),
            CutoutKind::Template => self.template.as_ref(),
            CutoutKind::Difference => self.difference.as_ref(),
        }
    }

    pub fn slot(&mut self, kind: CutoutKind) -> &mut Option<LsstCutout> {
        match kind {
            CutoutKind::Science => &mut self.science,
            CutoutKind::Template => &mut self.template,
            CutoutKind::Difference => &mut self.difference,
        }
    }

    pub fn count(&self) -> usize {
        CutoutKind::ALL
            .into_iter()
            .filter(|k| self.get(*k).is_some())
            .count()
    }
}

/// What an LSST alert is about: a DIA object, or a known solar-system object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LsstObject {
    Dia(i64),
    SolarSystem(i64),
}

impl LsstObject {
    pub fn id(self) -> i64 {
        match self {
            Self::Dia(id) | Self::SolarSystem(id) => id,
        }
    }
}

/// One Rubin alert with every record it carries.
#[derive(Debug, Clone, Serialize)]
pub struct LsstAlert {
    /// `diaSourceId` (schema 8.0 and later) or `alertId` (7.x): the same number.
    pub alert_id: i64,
    /// The writer schema, when known (framed, container and Fink v10 Parquet files say it;
    /// other Parquet copies do not).
    pub schema: Option<SchemaVersion>,
    pub dia_source: DiaSource,
    /// Earlier detections of the object, oldest first as written; empty for a first one
    /// (written as null, not as an empty array).
    pub prv_dia_sources: Vec<DiaSource>,
    pub prv_dia_forced_sources: Vec<DiaForcedSource>,
    pub dia_object: Option<FieldMap>,
    /// Schema 8.0 and later: the solar-system source this detection was matched to.
    pub ss_source: Option<FieldMap>,
    /// Schema 7.x: the solar-system object.
    pub ss_object: Option<FieldMap>,
    /// The orbit (`mpc_orbits`, 10.0 and later; `MPCORB`, 8.0 to 9.0).
    pub mpc_orbits: Option<FieldMap>,
    /// Other top-level fields: `observation_reason`, `target_name`, and the columns
    /// brokers add (`brokerIngestMjd`, `cdsxmatch`, `lsst_schema_version`, ...).
    pub extra: FieldMap,
    #[serde(skip)]
    pub cutouts: LsstCutouts,
    pub origin: AlertOrigin,
}

impl LsstAlert {
    /// The object this alert belongs to: `diaObjectId`, else `ssObjectId` (0 means none).
    pub fn object(&self) -> Option<LsstObject> {
        self.dia_source
            .dia_object_id
            .map(LsstObject::Dia)
            .or(self.dia_source.ss_object_id.map(LsstObject::SolarSystem))
    }

    /// The object's id in labels and answers, as `stampseq table` writes it: the
    /// `diaObjectId`, else the `ssObjectId`, else `alert <diaSourceId>` for one that names
    /// neither.
    pub fn object_name(&self) -> String {
        match self.object() {
            Some(o) => o.id().to_string(),
            None => format!("alert {}", self.alert_id),
        }
    }

    /// A solar-system alert: no diaObject, a solar-system source or object instead.
    pub fn is_solar_system(&self) -> bool {
        self.ss_source.is_some() || matches!(self.object(), Some(LsstObject::SolarSystem(_)))
    }
}

/// Alerts by object ([`LsstAlert::object_name`]), each object's oldest first (then by alert
/// id), an alert delivered twice kept once: the sequences models train on and answer.
pub fn by_object_in_time<A: std::borrow::Borrow<LsstAlert>>(
    alerts: impl IntoIterator<Item = A>,
) -> std::collections::BTreeMap<String, Vec<A>> {
    let mut by_object: std::collections::BTreeMap<String, Vec<A>> = Default::default();
    for a in alerts {
        by_object
            .entry(a.borrow().object_name())
            .or_default()
            .push(a);
    }
    for list in by_object.values_mut() {
        list.sort_by(|a, b| {
            let (a, b) = (a.borrow(), b.borrow());
            a.dia_source
                .midpoint_mjd_tai
                .total_cmp(&b.dia_source.midpoint_mjd_tai)
                .then(a.alert_id.cmp(&b.alert_id))
        });
        list.dedup_by_key(|a| a.borrow().alert_id);
    }
    by_object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_versions_from_ids_and_names() {
        let v = SchemaVersion::from_id(1101);
        assert_eq!((v.major, v.minor, v.id()), (11, 1, 1101));
        assert_eq!(v.to_string(), "lsst.v11_1");
        assert_eq!(
            SchemaVersion::from_namespace("lsst.v7_3.alert"),
            Some(SchemaVersion::from_id(703))
        );
        assert_eq!(SchemaVersion::from_namespace("ztf.alert"), None);
        assert_eq!(SchemaVersion::from_namespace("lsst.vX_1"), None);
    }
}
