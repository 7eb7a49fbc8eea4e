//! An alert of either survey. Apart from the readers so that each reader (Avro, Parquet)
//! can hand one back without the readers importing each other.

use super::lsst::LsstAlert;
use super::types::{AlertOrigin, Survey};
use super::ztf::Alert;

/// An alert of either survey, with its own record.
// The ZTF variant stays unboxed: it is the common case on the hot path of a night's read,
// and boxing it would cost an allocation per alert to save stack space no one lacks.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum AnyAlert {
    Ztf(Alert),
    Lsst(Box<LsstAlert>),
}

impl AnyAlert {
    pub fn origin(&self) -> &AlertOrigin {
        self.as_ref().origin()
    }

    /// The ZTF alert itself (None for another survey's): for what reads ZTF alerts only
    /// so far.
    pub fn into_ztf(self) -> Option<Alert> {
        match self {
            Self::Ztf(a) => Some(a),
            Self::Lsst(_) => None,
        }
    }

    /// Alerts by object ([`AlertRef::object_name`]), each object's oldest first (then by
    /// alert id), an alert read twice kept once (the first given): the sequences a model
    /// trains on, whatever the survey.
    pub fn by_object_in_time(
        alerts: impl IntoIterator<Item = AnyAlert>,
    ) -> std::collections::BTreeMap<String, Vec<AnyAlert>> {
        let mut by_object: std::collections::BTreeMap<String, Vec<AnyAlert>> = Default::default();
        for a in alerts {
            by_object
                .entry(a.as_ref().object_name())
                .or_default()
                .push(a);
        }
        for list in by_object.values_mut() {
            // Stable: of two copies of one alert, the one given first stays.
            list.sort_by(|a, b| {
                let (a, b) = (a.as_ref(), b.as_ref());
                a.days()
                    .total_cmp(&b.days())
                    .then(a.alert_id().cmp(&b.alert_id()))
            });
            let mut seen = std::collections::HashSet::new();
            list.retain(|a| a.as_ref().alert_id().is_none_or(|id| seen.insert(id)));
        }
        by_object
    }

    /// The alert borrowed, for what reads alerts of either survey.
    pub fn as_ref(&self) -> AlertRef<'_> {
        match self {
            Self::Ztf(a) => AlertRef::Ztf(a),
            Self::Lsst(a) => AlertRef::Lsst(a),
        }
    }
}

/// A borrowed alert of either survey: what the answer path, the rules and the features
/// take, so that an object's alerts can come from wherever they are held (an object, a
/// stream's state, a training set) alike. Its accessors are the survey-neutral questions every
/// caller asks; what differs further by survey is asked of `features/`.
#[derive(Debug, Clone, Copy)]
pub enum AlertRef<'a> {
    Ztf(&'a Alert),
    Lsst(&'a LsstAlert),
}

impl<'a> From<&'a Alert> for AlertRef<'a> {
    fn from(a: &'a Alert) -> Self {
        Self::Ztf(a)
    }
}

impl<'a> From<&'a LsstAlert> for AlertRef<'a> {
    fn from(a: &'a LsstAlert) -> Self {
        Self::Lsst(a)
    }
}

impl<'a> From<&'a AnyAlert> for AlertRef<'a> {
    fn from(a: &'a AnyAlert) -> Self {
        a.as_ref()
    }
}

impl<'a> AlertRef<'a> {
    pub fn survey(self) -> Survey {
        match self {
            Self::Ztf(_) => Survey::Ztf,
            Self::Lsst(_) => Survey::Lsst,
        }
    }

    pub fn origin(self) -> &'a AlertOrigin {
        match self {
            Self::Ztf(a) => &a.origin,
            Self::Lsst(a) => &a.origin,
        }
    }

    /// `file#record`, as answers and skipped entries name where an alert came from.
    pub fn source(self) -> String {
        let o = self.origin();
        format!("{}#{}", o.file, o.record)
    }

    /// The alert's own id: ZTF `candid`, LSST `alertId`.
    pub fn alert_id(self) -> Option<i64> {
        match self {
            Self::Ztf(a) => a.candid,
            Self::Lsst(a) => Some(a.alert_id),
        }
    }

    /// The detection's time as a Julian date (ZTF `jd`; LSST `midpointMjdTai` + 2400000.5).
    pub fn jd(self) -> f64 {
        match self {
            Self::Ztf(a) => a.candidate.jd,
            Self::Lsst(a) => a.dia_source.midpoint_mjd_tai + 2_400_000.5,
        }
    }

    /// The detection's time as an MJD (ZTF `jd` - 2400000.5; LSST `midpointMjdTai` as it
    /// is, so that an LSST time keeps its last bits).
    pub fn mjd(self) -> f64 {
        match self {
            Self::Ztf(a) => a.candidate.jd - 2_400_000.5,
            Self::Lsst(a) => a.dia_source.midpoint_mjd_tai,
        }
    }

    /// Days on the survey's own clock (ZTF jd, LSST MJD TAI): for differences only, where
    /// adding 2400000.5 would cost an LSST time its last bits.
    pub fn days(self) -> f64 {
        match self {
            Self::Ztf(a) => a.candidate.jd,
            Self::Lsst(a) => a.dia_source.midpoint_mjd_tai,
        }
    }

    /// The object's detection count at this alert when the alert carries its whole history
    /// (LSST `prvDiaSources` plus this one); None where the history is cut (ZTF keeps 30
    /// days), so that the count is the alert's place among those loaded.
    pub fn carried_detection_count(self) -> Option<usize> {
        match self {
            Self::Ztf(_) => None,
            Self::Lsst(a) => Some(a.prv_dia_sources.len() + 1),
        }
    }

    /// Whether the alert carries its object's whole history (LSST), so that it is read
    /// alone; where it does not (ZTF keeps 30 days), the object's earlier alerts are kept
    /// with it.
    pub fn carries_whole_history(self) -> bool {
        self.carried_detection_count().is_some()
    }

    /// The MJDs of the earlier detections the alert carries (not limits nor forced
    /// photometry), in the order the alert holds them.
    pub fn carried_detection_mjds(self) -> Vec<f64> {
        match self {
            Self::Ztf(a) => a
                .prv_candidates
                .iter()
                .filter(|p| p.is_detection())
                .map(|p| p.jd - 2_400_000.5)
                .collect(),
            Self::Lsst(a) => a
                .prv_dia_sources
                .iter()
                .map(|s| s.midpoint_mjd_tai)
                .collect(),
        }
    }

    /// The object's id in labels and answers: ZTF `objectId`; LSST as
    /// [`LsstAlert::object_name`] names it.
    pub fn object_name(self) -> String {
        match self {
            Self::Ztf(a) => a.object_id.clone(),
            Self::Lsst(a) => a.object_name(),
        }
    }

    /// The science cutout's side, pixels (0 without one).
    pub fn science_side(self) -> usize {
        match self {
            Self::Ztf(a) => a.cutouts.science.as_ref().map_or(0, |c| c.width),
            Self::Lsst(a) => a.cutouts.science.as_ref().map_or(0, |c| c.image.width),
        }
    }

    /// Whether the alert holds any cutout image.
    pub fn has_stamps(self) -> bool {
        match self {
            Self::Ztf(a) => a.cutouts.count() > 0,
            Self::Lsst(a) => a.cutouts.count() > 0,
        }
    }

    /// Where the detection is, degrees.
    pub fn ra_dec(self) -> (f64, f64) {
        match self {
            Self::Ztf(a) => (a.candidate.ra, a.candidate.dec),
            Self::Lsst(a) => (a.dia_source.ra, a.dia_source.dec),
        }
    }

    /// The ZTF alert, for the ZTF feature set and ALeRCE's production rules.
    pub fn ztf(self) -> Option<&'a Alert> {
        match self {
            Self::Ztf(a) => Some(a),
            Self::Lsst(_) => None,
        }
    }

    /// The LSST alert, for the LSST feature set.
    pub fn lsst(self) -> Option<&'a LsstAlert> {
        match self {
            Self::Ztf(_) => None,
            Self::Lsst(a) => Some(a),
        }
    }
}

/// An alert as a log keeps it, for `#[serde(with = "kept_record")]` on an
/// `Option<AnyAlert>`: one that does not carry its object's whole history (ZTF) is written
/// as its survey's record, stamps left out; one that carries it (LSST) is not written, as
/// the message it came in retells it.
pub mod kept_record {
    use super::{Alert, AnyAlert};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(alert: &Option<AnyAlert>, s: S) -> Result<S::Ok, S::Error> {
        match alert {
            Some(AnyAlert::Ztf(a)) => s.serialize_some(a),
            _ => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AnyAlert>, D::Error> {
        Ok(Option::<Alert>::deserialize(d)?.map(AnyAlert::Ztf))
    }

    /// Whether [`serialize`] writes nothing for it: the field is then left out.
    pub fn is_unwritten(alert: &Option<AnyAlert>) -> bool {
        !matches!(alert, Some(AnyAlert::Ztf(_)))
    }
}
