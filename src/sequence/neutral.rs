//! Objects and light curves of either survey, in the survey-neutral units of
//! [`crate::alert::neutral`]: time as MJD, flux in nJy, AB magnitude, bands by name. The
//! ZTF [`Sequence`](super::Sequence) and [`LightCurve`](super::LightCurve) stay what models
//! and the app read; this is what reads LSST objects (and ZTF ones the same way).
//!
//! LSST: an object is its `diaObjectId`, or the `ssObjectId` of a solar-system alert; its
//! history is `prvDiaSources` (detections) and `prvDiaForcedSources` (forced photometry on
//! the difference image at the object's position), bands u g r i z y, time `midpointMjdTai`.
//! ZTF: `objectId`, `prv_candidates` (detections and upper limits) and `fp_hists`.

use crate::alert::lsst::{DiaForcedSource, DiaSource, LsstAlert, LsstObject};
use crate::alert::neutral::{
    mag_to_njy, njy_to_mag, Survey, SurveyAlert, MAG_PER_RELATIVE_FLUX, NJY_ZERO_POINT,
};
use crate::alert::{band_name, Alert, AlertRef, AnyAlert, DiffSign};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Forced photometry and upper limits are shown in magnitudes as the depth they reach: the
/// magnitude of five times the flux error, the same 5-sigma depth as ZTF's `diffmaglim`.
pub const LIMIT_SIGMA: f64 = 5.0;

/// ZTF writes -99999 where a forced flux is missing.
const ZTF_FORCED_MISSING: f64 = -99_999.0;

/// The observing night of an MJD, as an integer MJD: nights do not split at midnight UT.
/// ZTF: from Palomar's local noon (20:00 UT), as [`super::night_of`]. LSST: Rubin's
/// `dayObs`, which rolls over at 12:00 in UTC-12 (MJD + 0.5), hours after Cerro Pachón's
/// dawn. LSST times are TAI, 37 s from UTC: nothing for a night boundary at noon.
pub fn night_of_mjd(survey: Survey, mjd: f64) -> i64 {
    let start = match survey {
        Survey::Ztf => 20.0 / 24.0,
        Survey::Lsst => 0.5,
    };
    (mjd - start).floor() as i64
}

/// Distinct observing nights among these times.
pub fn count_nights_mjd(survey: Survey, mjds: impl Iterator<Item = f64>) -> usize {
    mjds.filter(|m| m.is_finite())
        .map(|m| night_of_mjd(survey, m))
        .collect::<HashSet<_>>()
        .len()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PointKind {
    /// A detection: ZTF `candid`, LSST `diaSourceId`.
    Detection {
        source_id: Option<i64>,
        /// Whether the alert of this detection (with its stamps) is loaded.
        has_alert: bool,
    },
    /// Forced photometry: measured whether or not a source is there, so shown in
    /// magnitudes as a limit (`mag_limit`), in flux as it is.
    Forced,
    /// A ZTF non-detection: only its limiting magnitude.
    UpperLimit,
}

/// One light-curve point of either survey.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// ZTF `jd` - 2400000.5 (UTC, exposure start); LSST `midpointMjdTai` (TAI, mid-exposure).
    pub mjd: f64,
    /// `g r i` (ZTF) or `u g r i z y` (LSST).
    pub band: String,
    pub kind: PointKind,
    /// Difference-image flux in nJy, signed.
    pub flux: Option<f64>,
    pub flux_err: Option<f64>,
    /// AB magnitude of a detection of positive flux (31.4 - 2.5 log10 f).
    pub mag: Option<f64>,
    pub mag_err: Option<f64>,
    /// The 5-sigma limiting magnitude of forced points and upper limits.
    pub mag_limit: Option<f64>,
}

impl Point {
    pub fn is_detection(&self) -> bool {
        matches!(self.kind, PointKind::Detection { .. })
    }
}

/// An object's points from all its alerts, deduplicated, in time order (then band).
#[derive(Debug, Clone, Default, Serialize)]
pub struct NeutralLightCurve {
    pub points: Vec<Point>,
}

fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

fn limit_of(flux_err: Option<f64>) -> Option<f64> {
    flux_err.and_then(|e| njy_to_mag(LIMIT_SIGMA * e))
}

fn lsst_detection(s: &DiaSource, has_alert: bool) -> Point {
    let flux = finite(s.psf_flux);
    let flux_err = finite(s.psf_flux_err);
    let mag = flux.and_then(njy_to_mag);
    Point {
        mjd: s.midpoint_mjd_tai,
        band: s.band.clone(),
        kind: PointKind::Detection {
            source_id: Some(s.dia_source_id),
            has_alert,
        },
        flux,
        flux_err,
        mag,
        mag_err: mag
            .and(flux.zip(flux_err))
            .map(|(f, e)| MAG_PER_RELATIVE_FLUX * e / f),
        mag_limit: None,
    }
}

fn lsst_forced(s: &DiaForcedSource) -> Point {
    let flux_err = finite(s.psf_flux_err);
    Point {
        mjd: s.midpoint_mjd_tai,
        band: s.band.clone(),
        kind: PointKind::Forced,
        flux: finite(s.psf_flux),
        flux_err,
        mag: None,
        mag_err: None,
        mag_limit: limit_of(flux_err),
    }
}

fn ztf_detection(
    jd: f64,
    fid: i32,
    mag: f64,
    sigma: Option<f64>,
    sign: Option<DiffSign>,
    source_id: Option<i64>,
    has_alert: bool,
) -> Point {
    let sign = if sign == Some(DiffSign::Negative) {
        -1.0
    } else {
        1.0
    };
    let mag = Some(mag).filter(|m| m.is_finite());
    let mag_err = finite(sigma);
    let flux = mag.map(|m| sign * mag_to_njy(m));
    Point {
        mjd: jd - 2_400_000.5,
        band: band_name(fid).into(),
        kind: PointKind::Detection {
            source_id,
            has_alert,
        },
        flux,
        flux_err: flux
            .zip(mag_err)
            .map(|(f, e)| f.abs() * e / MAG_PER_RELATIVE_FLUX),
        // ZTF's magpsf is the magnitude of |flux|: a negative difference keeps it, as
        // ZTF's own light curves do.
        mag,
        mag_err,
        mag_limit: None,
    }
}

impl NeutralLightCurve {
    pub fn detections(&self) -> impl Iterator<Item = &Point> {
        self.points.iter().filter(|p| p.is_detection())
    }

    pub fn forced(&self) -> impl Iterator<Item = &Point> {
        self.points
            .iter()
            .filter(|p| matches!(p.kind, PointKind::Forced))
    }

    /// The bands present, in wavelength order.
    pub fn bands(&self) -> Vec<&str> {
        const ORDER: [&str; 6] = ["u", "g", "r", "i", "z", "y"];
        let present: HashSet<&str> = self.points.iter().map(|p| p.band.as_str()).collect();
        let mut bands: Vec<&str> = present.into_iter().collect();
        bands.sort_by_key(|b| (ORDER.iter().position(|o| o == b).unwrap_or(ORDER.len()), *b));
        bands
    }

    /// Merges the alerts' own detections, then their histories. A detection is known by its
    /// source id, so one carried in a later alert's history keeps the alert that has it; a
    /// forced point by its id (else visit, band and time); a ZTF limit by time and band.
    pub fn from_alerts<'a>(alerts: impl IntoIterator<Item = &'a AnyAlert>) -> Self {
        let alerts: Vec<AlertRef> = alerts.into_iter().map(AnyAlert::as_ref).collect();
        Self::from_refs(&alerts)
    }

    /// [`Self::from_alerts`] for ZTF alerts held as themselves (a ZTF `Sequence`'s).
    pub fn from_ztf(alerts: &[Alert]) -> Self {
        let alerts: Vec<AlertRef> = alerts.iter().map(AlertRef::Ztf).collect();
        Self::from_refs(&alerts)
    }

    /// The light curve of these alerts of one object: each alert's own detection and the
    /// history it carries, a point carried twice kept once.
    pub fn from_refs(alerts: &[AlertRef]) -> Self {
        let mut sources = HashSet::new();
        let mut others = HashSet::new();
        let mut points = Vec::new();
        for alert in alerts {
            match alert {
                AlertRef::Ztf(a) => {
                    let c = &a.candidate;
                    if a.candid.is_none_or(|id| sources.insert(id)) {
                        points.push(ztf_detection(
                            c.jd,
                            c.fid,
                            c.magpsf,
                            Some(c.sigmapsf),
                            c.isdiffpos,
                            a.candid,
                            true,
                        ));
                    }
                }
                AlertRef::Lsst(a) => {
                    if sources.insert(a.dia_source.dia_source_id) {
                        points.push(lsst_detection(&a.dia_source, true));
                    }
                }
            }
        }
        for alert in alerts {
            match alert {
                AlertRef::Ztf(a) => ztf_history(a, &mut sources, &mut others, &mut points),
                AlertRef::Lsst(a) => lsst_history(a, &mut sources, &mut others, &mut points),
            }
        }
        points.sort_by(|a, b| a.mjd.total_cmp(&b.mjd).then_with(|| a.band.cmp(&b.band)));
        Self { points }
    }
}

/// Keys of points other than detections: the kind, the band and the time's bits (or the
/// survey's id for the point).
type OtherKey = (u8, String, u64);

fn ztf_history(
    a: &Alert,
    sources: &mut HashSet<i64>,
    others: &mut HashSet<OtherKey>,
    points: &mut Vec<Point>,
) {
    for p in &a.prv_candidates {
        match (p.candid, p.magpsf, p.diffmaglim) {
            (Some(id), Some(mag), _) if sources.insert(id) => {
                points.push(ztf_detection(
                    p.jd,
                    p.fid,
                    mag,
                    p.sigmapsf,
                    p.isdiffpos,
                    Some(id),
                    false,
                ));
            }
            (None, _, Some(lim)) if others.insert((0, band_name(p.fid).into(), p.jd.to_bits())) => {
                points.push(Point {
                    mjd: p.jd - 2_400_000.5,
                    band: band_name(p.fid).into(),
                    kind: PointKind::UpperLimit,
                    flux: None,
                    flux_err: None,
                    mag: None,
                    mag_err: None,
                    mag_limit: Some(lim).filter(|l| l.is_finite()),
                });
            }
            // A detection already seen, a limit already seen, or neither.
            _ => {}
        }
    }
    for f in &a.fp_hists {
        if !others.insert((1, band_name(f.fid).into(), f.jd.to_bits())) {
            continue;
        }
        // forcediffimflux is in data numbers of the science image's zero point.
        let to_njy = f
            .magzpsci
            .filter(|z| z.is_finite())
            .map(|z| 10f64.powf((NJY_ZERO_POINT - z) / 2.5));
        let present = |x: Option<f64>| x.filter(|v| v.is_finite() && *v != ZTF_FORCED_MISSING);
        let flux_err = present(f.forcediffimfluxunc)
            .zip(to_njy)
            .map(|(u, k)| u * k);
        points.push(Point {
            mjd: f.jd - 2_400_000.5,
            band: band_name(f.fid).into(),
            kind: PointKind::Forced,
            flux: present(f.forcediffimflux).zip(to_njy).map(|(x, k)| x * k),
            flux_err,
            mag: None,
            mag_err: None,
            mag_limit: finite(f.diffmaglim).or_else(|| limit_of(flux_err)),
        });
    }
}

fn lsst_history(
    a: &LsstAlert,
    sources: &mut HashSet<i64>,
    others: &mut HashSet<OtherKey>,
    points: &mut Vec<Point>,
) {
    for s in &a.prv_dia_sources {
        if sources.insert(s.dia_source_id) {
            points.push(lsst_detection(s, false));
        }
    }
    for f in &a.prv_dia_forced_sources {
        let key = match (f.dia_forced_source_id, f.visit) {
            (Some(id), _) => (1, String::new(), id as u64),
            (None, Some(visit)) => (2, f.band.clone(), visit as u64),
            (None, None) => (3, f.band.clone(), f.midpoint_mjd_tai.to_bits()),
        };
        if others.insert(key) {
            points.push(lsst_forced(f));
        }
    }
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
        match alert {
            AnyAlert::Ztf(a) => (!a.object_id.is_empty()).then(|| Self {
                survey: Survey::Ztf,
                id: a.object_id.clone(),
                solar_system: false,
            }),
            AnyAlert::Lsst(a) => a.object().map(|object| Self {
                survey: Survey::Lsst,
                id: object.id().to_string(),
                solar_system: matches!(object, LsstObject::SolarSystem(_)),
            }),
        }
    }
}

/// One object of either survey: its alerts in time order and its light curve.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectSequence {
    pub key: ObjectKey,
    /// One per detection that has an alert, by time, the same alert read twice kept once.
    #[serde(skip)]
    pub alerts: Vec<AnyAlert>,
    pub light_curve: NeutralLightCurve,
}

impl ObjectSequence {
    /// Nights with an alert of the object.
    pub fn alert_nights(&self) -> usize {
        count_nights_mjd(self.key.survey, self.alerts.iter().map(|a| a.summary().mjd))
    }

    /// Nights with a detection: the alerts' and those of the history they carry.
    pub fn detection_nights(&self) -> usize {
        count_nights_mjd(
            self.key.survey,
            self.light_curve.detections().map(|p| p.mjd),
        )
    }
}

/// The time and id of an alert's own detection, without building its summary.
fn alert_time_and_id(alert: &AnyAlert) -> (f64, Option<i64>) {
    match alert {
        AnyAlert::Ztf(a) => (a.candidate.jd - 2_400_000.5, a.candid),
        AnyAlert::Lsst(a) => (a.dia_source.midpoint_mjd_tai, Some(a.alert_id)),
    }
}

/// Groups alerts of any survey into objects (sorted by survey, then id), drops an alert
/// read twice (same id), orders each object's alerts by time and merges its light curve.
/// Alerts naming no object come back apart, in their input order.
pub fn group_objects(
    alerts: impl IntoIterator<Item = AnyAlert>,
) -> (Vec<ObjectSequence>, Vec<AnyAlert>) {
    let mut by_object: BTreeMap<ObjectKey, Vec<AnyAlert>> = BTreeMap::new();
    let mut unassociated = Vec::new();
    for alert in alerts {
        match ObjectKey::of(&alert) {
            Some(key) => by_object.entry(key).or_default().push(alert),
            None => unassociated.push(alert),
        }
    }
    let objects = by_object
        .into_iter()
        .map(|(key, alerts)| ObjectSequence::of_alerts(key, alerts))
        .collect();
    (objects, unassociated)
}

impl ObjectSequence {
    /// One object's alerts by time (then id), an alert read twice kept once (the first
    /// given), with the light curve merged from them.
    fn of_alerts(key: ObjectKey, mut alerts: Vec<AnyAlert>) -> Self {
        // Stable: of two copies of one alert, the one given first stays.
        alerts.sort_by(|a, b| {
            let (ta, ia) = alert_time_and_id(a);
            let (tb, ib) = alert_time_and_id(b);
            ta.total_cmp(&tb).then(ia.cmp(&ib))
        });
        let mut seen = HashSet::new();
        alerts.retain(|a| alert_time_and_id(a).1.is_none_or(|id| seen.insert(id)));
        let light_curve = NeutralLightCurve::from_alerts(&alerts);
        ObjectSequence {
            key,
            alerts,
            light_curve,
        }
    }

    /// An alert that names no object (LSST ids of 0, as only synthetic alerts have), as an
    /// object of its own, named `alert <id>` as [`LsstAlert::object_name`] names it.
    pub fn lone(alert: AnyAlert) -> Self {
        let key = ObjectKey {
            survey: alert.survey(),
            id: format!("alert {}", alert.as_ref().alert_id().unwrap_or(0)),
            solar_system: false,
        };
        ObjectSequence::of_alerts(key, vec![alert])
    }

    /// Adds another sequence of the same object: the result is what grouping all the
    /// alerts together gives.
    pub fn absorb(&mut self, other: ObjectSequence) {
        let mut alerts = std::mem::take(&mut self.alerts);
        alerts.extend(other.alerts);
        *self = ObjectSequence::of_alerts(self.key.clone(), alerts);
    }
}

/// Reads every alert of `inputs`, of either survey, into objects ([`group_objects`]); an
/// alert that names no object is an object of its own ([`ObjectSequence::lone`]). The
/// order does not depend on how the reading threads ran.
pub fn read_objects<P>(
    inputs: &[crate::alert::Input],
    options: &crate::alert::ReadOptions,
    on_progress: P,
) -> (Vec<ObjectSequence>, crate::alert::ReadSummary)
where
    P: Fn(crate::alert::ReadProgress) + Sync,
{
    let alerts = std::sync::Mutex::new(Vec::new());
    let summary = crate::alert::read_inputs_any(inputs, options, on_progress, |a| {
        alerts.lock().unwrap_or_else(|p| p.into_inner()).push(a)
    });
    let mut alerts = alerts.into_inner().unwrap_or_else(|p| p.into_inner());
    alerts.sort_by(|a, b| {
        let (a, b) = (a.origin(), b.origin());
        (&*a.file, a.record).cmp(&(&*b.file, b.record))
    });
    let (mut objects, lone) = group_objects(alerts);
    objects.extend(lone.into_iter().map(ObjectSequence::lone));
    (objects, summary)
}

/// An object as the answer path reads it: the name its answers carry and its alerts,
/// oldest first. The ZTF [`crate::sequence::Sequence`] and the survey-neutral
/// [`ObjectSequence`] both are one, so that one answer path serves both.
pub trait AlertObject: Sync {
    fn name(&self) -> &str;
    fn alert_refs(&self) -> Vec<AlertRef<'_>>;

    /// The survey of its alerts (None for an object without one).
    fn survey(&self) -> Option<Survey> {
        self.alert_refs().first().map(|a| a.survey())
    }
}

impl AlertObject for ObjectSequence {
    fn name(&self) -> &str {
        &self.key.id
    }

    fn alert_refs(&self) -> Vec<AlertRef<'_>> {
        self.alerts.iter().map(AnyAlert::as_ref).collect()
    }
}

impl AlertObject for crate::sequence::Sequence {
    fn name(&self) -> &str {
        &self.object_id
    }

    fn alert_refs(&self) -> Vec<AlertRef<'_>> {
        self.detections.iter().map(AlertRef::Ztf).collect()
    }
}

/// An object's alerts borrowed from wherever they are held (a stream's state, a training
/// set), oldest first.
#[derive(Debug, Clone)]
pub struct BorrowedObject<'a> {
    pub name: String,
    pub alerts: Vec<AlertRef<'a>>,
}

impl AlertObject for BorrowedObject<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn alert_refs(&self) -> Vec<AlertRef<'_>> {
        self.alerts.clone()
    }
}

impl<T: AlertObject> AlertObject for &T {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn alert_refs(&self) -> Vec<AlertRef<'_>> {
        (**self).alert_refs()
    }
}

/// The nights of an alert's own detection and of the detections its history carries: what
/// `inspect` keeps per alert instead of the alert.
pub fn detection_nights_of(alert: &AnyAlert) -> (i64, Vec<i64>) {
    let survey = alert.survey();
    let own = night_of_mjd(survey, alert_time_and_id(alert).0);
    let history: Vec<f64> = match alert {
        AnyAlert::Ztf(a) => a
            .prv_candidates
            .iter()
            .filter(|p| p.is_detection())
            .map(|p| p.jd - 2_400_000.5)
            .collect(),
        AnyAlert::Lsst(a) => a
            .prv_dia_sources
            .iter()
            .map(|s| s.midpoint_mjd_tai)
            .collect(),
    };
    let nights = history
        .into_iter()
        .filter(|m| m.is_finite())
        .map(|m| night_of_mjd(survey, m))
        .collect();
    (own, nights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsst_nights_roll_over_at_dayobs_not_at_midnight() {
        // 2025-12-31 23:30 UT (dusk at Cerro Pachón) and 2026-01-01 09:00 UT (dawn): one
        // night, although the MJD rolls over at midnight UT between them.
        let evening: f64 = 61_041.0 - 0.5 / 24.0;
        let dawn: f64 = 61_041.0 + 9.0 / 24.0;
        assert_ne!(evening.floor(), dawn.floor());
        assert_eq!(
            night_of_mjd(Survey::Lsst, evening),
            night_of_mjd(Survey::Lsst, dawn)
        );
        // The next evening is another night.
        assert_eq!(
            count_nights_mjd(Survey::Lsst, [evening, dawn, evening + 1.0].into_iter()),
            2
        );
        // ZTF keeps Palomar's nights, as sequence::night_of.
        let jd = 2_460_235.625;
        assert_eq!(
            night_of_mjd(Survey::Ztf, jd - 2_400_000.5),
            crate::sequence::night_of(jd)
        );
    }

    #[test]
    fn forced_points_are_limits_and_negative_flux_has_no_magnitude() {
        let forced = lsst_forced(&DiaForcedSource {
            midpoint_mjd_tai: 60_000.0,
            band: "y".into(),
            psf_flux: Some(-120.0),
            psf_flux_err: Some(200.0),
            ..Default::default()
        });
        assert_eq!(forced.mag, None);
        // 5 x 200 nJy = 1 uJy: 31.4 - 2.5 * 3 = 23.9.
        assert!((forced.mag_limit.expect("limit") - 23.9).abs() < 1e-12);
        assert_eq!(forced.flux, Some(-120.0));
        let negative = lsst_detection(
            &DiaSource {
                dia_source_id: 7,
                psf_flux: Some(-500.0),
                psf_flux_err: Some(50.0),
                band: "u".into(),
                ..Default::default()
            },
            true,
        );
        assert_eq!((negative.mag, negative.mag_err), (None, None));
        assert_eq!(negative.flux, Some(-500.0));
    }
}
