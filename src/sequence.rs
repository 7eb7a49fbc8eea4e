//! ZTF objects: an object's alerts in time order, and its light curve merged from every
//! alert's history. [`neutral`]: objects and light curves of either survey, what the layers
//! above read (only the app's catalogue still holds these ZTF ones).

pub mod neutral;

use crate::alert::{Alert, DiffSign};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Palomar's local noon is 20:00 UT; a ZTF night runs from one local noon to the next, so
/// that a night never straddles two "nights" the way a JD day (noon UT) would.
const NIGHT_START_UT_DAYS: f64 = 20.0 / 24.0;

/// The observing night of a Julian date, as an integer MJD of its starting local noon.
pub fn night_of(jd: f64) -> i64 {
    (jd - 2_400_000.5 - NIGHT_START_UT_DAYS).floor() as i64
}

/// One point of a light curve.
#[derive(Debug, Clone, Serialize)]
pub struct LightCurvePoint {
    pub jd: f64,
    pub fid: i32,
    pub kind: PointKind,
}

#[derive(Debug, Clone, Serialize)]
pub enum PointKind {
    Detection {
        magpsf: f64,
        sigmapsf: f64,
        isdiffpos: Option<DiffSign>,
        candid: Option<i64>,
        /// Whether the alert of this detection (with its stamps) is loaded.
        has_alert: bool,
    },
    UpperLimit {
        diffmaglim: f64,
    },
}

/// An object's detections and upper limits from all its alerts, deduplicated, in time order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LightCurve {
    pub points: Vec<LightCurvePoint>,
}

impl LightCurve {
    pub fn detections(&self) -> impl Iterator<Item = &LightCurvePoint> {
        self.points
            .iter()
            .filter(|p| matches!(p.kind, PointKind::Detection { .. }))
    }

    pub fn upper_limits(&self) -> impl Iterator<Item = &LightCurvePoint> {
        self.points
            .iter()
            .filter(|p| matches!(p.kind, PointKind::UpperLimit { .. }))
    }

    /// Merges the alerts' own detections and their `prv_candidates`. A detection is known by
    /// its `candid`; an upper limit by its time and filter.
    pub fn from_alerts(alerts: &[Alert]) -> Self {
        let mut seen_candids = HashSet::new();
        let mut seen_limits = HashSet::new();
        let mut points = Vec::new();
        for alert in alerts {
            let c = &alert.candidate;
            if alert.candid.is_none_or(|id| seen_candids.insert(id)) {
                points.push(LightCurvePoint {
                    jd: c.jd,
                    fid: c.fid,
                    kind: PointKind::Detection {
                        magpsf: c.magpsf,
                        sigmapsf: c.sigmapsf,
                        isdiffpos: c.isdiffpos,
                        candid: alert.candid,
                        has_alert: true,
                    },
                });
            }
        }
        for alert in alerts {
            for p in &alert.prv_candidates {
                match (p.candid, p.magpsf, p.diffmaglim) {
                    (Some(id), Some(mag), _) if seen_candids.insert(id) => {
                        points.push(LightCurvePoint {
                            jd: p.jd,
                            fid: p.fid,
                            kind: PointKind::Detection {
                                magpsf: mag,
                                sigmapsf: p.sigmapsf.unwrap_or(f64::NAN),
                                isdiffpos: p.isdiffpos,
                                candid: Some(id),
                                has_alert: false,
                            },
                        });
                    }
                    (None, _, Some(lim)) if seen_limits.insert((p.jd.to_bits(), p.fid)) => {
                        points.push(LightCurvePoint {
                            jd: p.jd,
                            fid: p.fid,
                            kind: PointKind::UpperLimit { diffmaglim: lim },
                        });
                    }
                    _ => {}
                }
            }
        }
        points.sort_by(|a, b| a.jd.total_cmp(&b.jd).then(a.fid.cmp(&b.fid)));
        Self { points }
    }
}

/// One astronomical object: its alerts (each with stamps) in time order.
#[derive(Debug, Clone, Serialize)]
pub struct Sequence {
    pub object_id: String,
    /// The object's alerts, one per detection, ordered by `jd`, duplicates dropped.
    #[serde(skip)]
    pub detections: Vec<Alert>,
    pub light_curve: LightCurve,
}

impl Sequence {
    pub fn len(&self) -> usize {
        self.detections.len()
    }

    pub fn is_empty(&self) -> bool {
        self.detections.is_empty()
    }

    pub fn first_jd(&self) -> Option<f64> {
        self.detections.first().map(|a| a.candidate.jd)
    }

    pub fn last_jd(&self) -> Option<f64> {
        self.detections.last().map(|a| a.candidate.jd)
    }

    /// Distinct observing nights among the detections that have alerts.
    pub fn nights(&self) -> usize {
        count_nights(self.detections.iter().map(|a| a.candidate.jd))
    }
}

pub fn count_nights(jds: impl Iterator<Item = f64>) -> usize {
    jds.filter(|jd| jd.is_finite())
        .map(night_of)
        .collect::<HashSet<_>>()
        .len()
}

/// Groups alerts by `objectId`, drops repeated `candid`s (the same alert read twice, e.g.
/// from a file and an archive), orders each object's alerts by `jd`. Objects come out sorted
/// by id.
pub fn group_into_sequences(alerts: impl IntoIterator<Item = Alert>) -> Vec<Sequence> {
    let mut by_object: BTreeMap<String, Vec<Alert>> = BTreeMap::new();
    for alert in alerts {
        by_object
            .entry(alert.object_id.clone())
            .or_default()
            .push(alert);
    }
    by_object
        .into_iter()
        .map(|(object_id, alerts)| Sequence::of_alerts(object_id, alerts))
        .collect()
}

impl Sequence {
    /// One object's alerts ordered by `jd` (then `candid`), an alert read twice kept once
    /// (the first given), with the light curve merged from them.
    fn of_alerts(object_id: String, mut alerts: Vec<Alert>) -> Self {
        // Stable: of two copies of one alert, the one given first stays.
        alerts.sort_by(|a, b| {
            a.candidate
                .jd
                .total_cmp(&b.candidate.jd)
                .then(a.candid.cmp(&b.candid))
        });
        let mut seen = HashSet::new();
        alerts.retain(|a| a.candid.is_none_or(|id| seen.insert(id)));
        let light_curve = LightCurve::from_alerts(&alerts);
        Sequence {
            object_id,
            detections: alerts,
            light_curve,
        }
    }

    /// Adds another sequence of the same object (later alerts, a second file): the result
    /// is what grouping all the alerts together gives.
    pub fn absorb(&mut self, other: Sequence) {
        let mut alerts = std::mem::take(&mut self.detections);
        alerts.extend(other.detections);
        *self = Sequence::of_alerts(std::mem::take(&mut self.object_id), alerts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_night_does_not_split_at_noon_ut() {
        // 03:00 UT and 12:29 UT on 2023-10-18: one Palomar night (dusk to dawn), although the
        // integer JD rolls over at 12:00 UT between them.
        let evening: f64 = 2_460_235.625;
        let morning: f64 = 2_460_236.02;
        assert_ne!(evening.floor(), morning.floor());
        assert_eq!(night_of(evening), night_of(morning));
        // The next evening is another night.
        assert_ne!(night_of(evening), night_of(evening + 1.0));
        assert_eq!(
            count_nights([evening, morning, evening + 1.0].into_iter()),
            2
        );
    }
}
