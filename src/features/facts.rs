//! What the physics rules ([`crate::model::rules`]) need to know of a detection, asked of
//! its survey here so that the rules are written once: how many nights and minutes the
//! source was seen at one place, whether a known solar-system object is there, how bright
//! it is, whether the survey has seen the position empty for months, and its real/bogus
//! score.

use crate::alert::neutral::{njy_to_mag, Survey};
use crate::alert::{Alert, AlertRef};
use crate::features::tabular::{detection_nights, detection_span_days};
use crate::sequence::neutral::count_nights_mjd;
use crate::sequence::night_of;

/// Within this distance of a known solar-system object a ZTF alert is that object.
pub const KNOWN_SSO_RADIUS_ARCSEC: f64 = 5.0;

/// What the rules read of one detection, given the object's other loaded alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleFacts {
    /// Observing nights with a detection of the source at this place.
    pub nights: usize,
    /// Minutes between the first and last detection at this place.
    pub span_minutes: f64,
    /// Whether the detections are of one fixed place (ZTF: one `objectId`; LSST: one
    /// `diaObject`, not a solar-system object).
    pub one_place: bool,
    /// How the survey names that place in a note ("at this position", "as one diaObject").
    pub place_words: &'static str,
    /// A known solar-system object at the detection, in words for the note.
    pub known_sso: Option<String>,
    /// AB magnitude of the detection (positive difference flux).
    pub mag: Option<f64>,
    /// A source first seen lately where the survey imaged the position many times before:
    /// (days since first seen, images with no detection before).
    pub new_source: Option<(f64, i32)>,
    /// The survey's real/bogus score, its name for the note, on a 0-1 scale with the
    /// survey's threshold at 0.5.
    pub real_bogus: Option<(f64, &'static str)>,
}

impl RuleFacts {
    /// The facts of `alert`, given the object's alerts loaded before and after it (`later`
    /// empty where answers must not look ahead).
    pub fn of(alert: AlertRef, earlier: &[AlertRef], later: &[AlertRef]) -> Self {
        match alert {
            AlertRef::Ztf(a) => {
                let earlier: Vec<&Alert> = earlier.iter().filter_map(|e| e.ztf()).collect();
                let later: Vec<&Alert> = later.iter().filter_map(|e| e.ztf()).collect();
                ztf_facts(a, &earlier, &later)
            }
            AlertRef::Lsst(a) => lsst_facts(a, earlier, later),
        }
    }
}

fn ztf_facts(alert: &Alert, earlier: &[&Alert], later: &[&Alert]) -> RuleFacts {
    let c = &alert.candidate;
    let mut night_set = detection_nights(alert, earlier);
    night_set.extend(later.iter().map(|a| night_of(a.candidate.jd)));
    let ahead = later
        .iter()
        .map(|a| a.candidate.jd - c.jd)
        .fold(0.0f64, f64::max);
    let span_minutes = detection_span_days(alert, earlier).max(ahead) * 24.0 * 60.0;
    let known_sso = c
        .ssdistnr
        .filter(|d| (0.0..KNOWN_SSO_RADIUS_ARCSEC).contains(d))
        .map(|d| {
            // Broker copies write a missing name as the text "null".
            let name = c
                .ssnamenr
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case("null"))
                .unwrap_or("unnamed");
            format!("asteroid: known solar-system object {name} {d:.1}\" away")
        });
    let new_source = match (c.jdstarthist, c.ndethist, c.ncovhist) {
        (Some(start), Some(det), Some(cov))
            if start > 0.0 && c.isdiffpos.is_some_and(|d| d.is_positive()) =>
        {
            Some((c.jd - start, cov - det))
        }
        _ => None,
    };
    RuleFacts {
        nights: night_set.len(),
        span_minutes,
        one_place: true,
        place_words: "at this position",
        known_sso,
        mag: c.magpsf.is_finite().then_some(c.magpsf),
        new_source,
        real_bogus: c
            .drb
            .filter(|v| (0.0..=1.0).contains(v))
            .map(|v| (v, "ZTF real/bogus score drb")),
    }
}

fn lsst_facts(
    alert: &crate::alert::lsst::LsstAlert,
    earlier: &[AlertRef],
    later: &[AlertRef],
) -> RuleFacts {
    let s = &alert.dia_source;
    let loaded = earlier
        .iter()
        .chain(later)
        .filter_map(|a| a.lsst())
        .map(|a| a.dia_source.midpoint_mjd_tai);
    let times: Vec<f64> = alert
        .prv_dia_sources
        .iter()
        .map(|p| p.midpoint_mjd_tai)
        .chain(std::iter::once(s.midpoint_mjd_tai))
        .chain(loaded)
        .filter(|t| t.is_finite())
        .collect();
    let nights = count_nights_mjd(Survey::Lsst, times.iter().copied());
    let span_minutes = (times.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - times.iter().copied().fold(f64::INFINITY, f64::min))
        * 24.0
        * 60.0;
    let solar_system = alert.is_solar_system();
    // An `ssObjectId` on the source is Rubin's own association with a known solar-system
    // object, even where a diaObject was made too; the stationary rule still wins over it
    // for a diaObject seen on several nights, as for ZTF.
    let known_sso = (solar_system || s.ss_object_id.is_some()).then(|| {
        let id = s
            .ss_object_id
            .map_or_else(|| "unnamed".to_string(), |i| i.to_string());
        format!("asteroid: known solar-system object {id} (ssSource)")
    });
    RuleFacts {
        nights,
        span_minutes,
        one_place: s.dia_object_id.is_some() && !solar_system,
        place_words: "as one diaObject",
        known_sso,
        mag: s
            .psf_flux
            .filter(|f| f.is_finite() && *f > 0.0)
            .and_then(njy_to_mag),
        new_source: None,
        real_bogus: s
            .reliability
            .filter(|v| (0.0..=1.0).contains(v))
            .map(|v| (v, "LSST reliability")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::lsst::{DiaSource, LsstAlert};

    fn lsst(dia_object: Option<i64>, ss_object: Option<i64>, prv_nights: &[f64]) -> LsstAlert {
        let source = |id: i64, mjd: f64| DiaSource {
            dia_source_id: id,
            dia_object_id: dia_object,
            ss_object_id: ss_object,
            midpoint_mjd_tai: mjd,
            band: "r".into(),
            psf_flux: Some(5000.0),
            psf_flux_err: Some(100.0),
            ..Default::default()
        };
        LsstAlert {
            alert_id: 1,
            schema: None,
            dia_source: source(1, 61_000.2),
            prv_dia_sources: prv_nights
                .iter()
                .enumerate()
                .map(|(i, m)| source(10 + i as i64, *m))
                .collect(),
            prv_dia_forced_sources: Vec::new(),
            dia_object: None,
            ss_source: None,
            ss_object: None,
            mpc_orbits: None,
            extra: Default::default(),
            cutouts: Default::default(),
            origin: crate::alert::AlertOrigin {
                file: "t".into(),
                record: 0,
            },
        }
    }

    #[test]
    fn an_lsst_source_associated_with_a_known_object_is_one_unless_it_stays_put() {
        // Rubin associated the source with ssObjectId 9 (and also made a diaObject): a
        // known solar-system object, at one place seen once.
        let a = lsst(Some(7), Some(9), &[]);
        let facts = RuleFacts::of(AlertRef::Lsst(&a), &[], &[]);
        assert!(facts.known_sso.as_deref().is_some_and(|n| n.contains('9')));
        assert!(facts.one_place);
        assert_eq!(facts.nights, 1);
        // The same diaObject detected two nights before: the stationary rule's two nights
        // (which win over the association in `model::rules`).
        let b = lsst(Some(7), Some(9), &[60_998.2]);
        let facts = RuleFacts::of(AlertRef::Lsst(&b), &[], &[]);
        assert_eq!(facts.nights, 2);
        assert!(facts.one_place);
        // Neither association: no known object.
        let c = lsst(Some(7), None, &[]);
        assert!(RuleFacts::of(AlertRef::Lsst(&c), &[], &[])
            .known_sso
            .is_none());
    }
}
