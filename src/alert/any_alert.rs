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

    /// The alert borrowed, for what reads alerts of either survey.
    pub fn as_ref(&self) -> AlertRef<'_> {
        match self {
            Self::Ztf(a) => AlertRef::Ztf(a),
            Self::Lsst(a) => AlertRef::Lsst(a),
        }
    }
}

/// A borrowed alert of either survey: what the answer path, the rules and the features
/// take, so that an object's alerts can come from a ZTF [`crate::sequence::Sequence`] or a
/// survey-neutral object alike. Its accessors are the survey-neutral questions every
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
