//! Objects and light curves of either survey, in the survey-neutral units of
//! [`crate::alert::neutral`]: time as MJD, flux in nJy, AB magnitude, bands by name. These
//! are the objects everything above this layer reads, ZTF ones included; the ZTF
//! [`Sequence`](super::Sequence) and [`LightCurve`](super::LightCurve) are left to the
//! app's catalogue until it holds these (`tests/integration/architecture.rs` keeps it so).
//!
//! What each survey's record says (its history, its nights, which object it is) is asked
//! of the alert ([`AlertRef`], [`crate::alert::points`], [`Survey`]): nothing here
//! branches on the survey.

pub use crate::alert::neutral::ObjectKey;
use crate::alert::neutral::{Survey, SurveyAlert};
use crate::alert::points::PointKey;
pub use crate::alert::points::{Point, PointKind, LIMIT_SIGMA};
use crate::alert::{Alert, AlertRef, AnyAlert};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// The observing night of an MJD, as an integer MJD ([`Survey::night_of_mjd`]).
pub fn night_of_mjd(survey: Survey, mjd: f64) -> i64 {
    survey.night_of_mjd(mjd)
}

/// Distinct observing nights among these times.
pub fn count_nights_mjd(survey: Survey, mjds: impl Iterator<Item = f64>) -> usize {
    mjds.filter(|m| m.is_finite())
        .map(|m| night_of_mjd(survey, m))
        .collect::<HashSet<_>>()
        .len()
}

/// An object's points from all its alerts, deduplicated, in time order (then band).
#[derive(Debug, Clone, Default, Serialize)]
pub struct NeutralLightCurve {
    pub points: Vec<Point>,
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
        let alerts: Vec<AlertRef> = alerts.iter().map(AlertRef::from).collect();
        Self::from_refs(&alerts)
    }

    /// The light curve of these alerts of one object: each alert's own detection and the
    /// history it carries, a point carried twice kept once.
    pub fn from_refs(alerts: &[AlertRef]) -> Self {
        let mut sources = HashSet::new();
        let mut others = HashSet::new();
        let mut keep = |key: PointKey| match key {
            PointKey::Source(None) => true,
            PointKey::Source(Some(id)) => sources.insert(id),
            other => others.insert(other),
        };
        let mut points = Vec::new();
        for alert in alerts {
            let (key, point) = alert.own_point();
            if keep(key) {
                points.push(point);
            }
        }
        for alert in alerts {
            for (key, point) in alert.history_points() {
                if keep(key) {
                    points.push(point);
                }
            }
        }
        points.sort_by(|a, b| a.mjd.total_cmp(&b.mjd).then_with(|| a.band.cmp(&b.band)));
        Self { points }
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
    let alert = alert.as_ref();
    (alert.mjd(), alert.alert_id())
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
        self.detections.iter().map(AlertRef::from).collect()
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
    let own = survey.night_of_mjd(alert_time_and_id(alert).0);
    let nights = alert
        .as_ref()
        .carried_detection_mjds()
        .into_iter()
        .filter(|m| m.is_finite())
        .map(|m| survey.night_of_mjd(m))
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
}
