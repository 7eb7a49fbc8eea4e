//! An alert's light-curve points in the survey-neutral units of [`super::neutral`]: its
//! own detection and the history it carries, each with the key that tells a point carried
//! by two alerts. What each survey's record calls a detection, a forced measurement or an
//! upper limit is read here, so that the light-curve builder does not ask which survey.
//!
//! LSST: history is `prvDiaSources` (detections) and `prvDiaForcedSources` (forced
//! photometry on the difference image at the object's position), bands u g r i z y, time
//! `midpointMjdTai`. ZTF: `prv_candidates` (detections and upper limits) and `fp_hists`.

use super::any_alert::AlertRef;
use super::lsst::{DiaForcedSource, DiaSource, LsstAlert};
use super::neutral::{mag_to_njy, njy_to_mag, MAG_PER_RELATIVE_FLUX, NJY_ZERO_POINT};
use super::{band_name, Alert, DiffSign};
use serde::Serialize;

/// Forced photometry and upper limits are shown in magnitudes as the depth they reach: the
/// magnitude of five times the flux error, the same 5-sigma depth as ZTF's `diffmaglim`.
pub const LIMIT_SIGMA: f64 = 5.0;

/// ZTF writes -99999 where a forced flux is missing.
const ZTF_FORCED_MISSING: f64 = -99_999.0;

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

/// What makes two alerts' points one point: a detection is its source id (one without an
/// id is never merged); any other point its kind, band and time's bits, or the survey's
/// own id for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PointKey {
    Source(Option<i64>),
    Other(u8, String, u64),
}

impl<'a> AlertRef<'a> {
    /// The alert's own detection as a light-curve point, with its key.
    pub fn own_point(self) -> (PointKey, Point) {
        match self {
            Self::Ztf(a) => {
                let c = &a.candidate;
                let point = ztf_detection(
                    c.jd,
                    c.fid,
                    c.magpsf,
                    Some(c.sigmapsf),
                    c.isdiffpos,
                    a.candid,
                    true,
                );
                (PointKey::Source(a.candid), point)
            }
            Self::Lsst(a) => (
                PointKey::Source(Some(a.dia_source.dia_source_id)),
                lsst_detection(&a.dia_source, true),
            ),
        }
    }

    /// The history the alert carries as light-curve points, each with its key, in the
    /// order the alert holds them: earlier detections (and limits), then forced photometry.
    pub fn history_points(self) -> Vec<(PointKey, Point)> {
        match self {
            Self::Ztf(a) => ztf_history(a),
            Self::Lsst(a) => lsst_history(a),
        }
    }
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

fn ztf_history(a: &Alert) -> Vec<(PointKey, Point)> {
    let mut points = Vec::with_capacity(a.prv_candidates.len() + a.fp_hists.len());
    for p in &a.prv_candidates {
        match (p.candid, p.magpsf, p.diffmaglim) {
            (Some(id), Some(mag), _) => points.push((
                PointKey::Source(Some(id)),
                ztf_detection(p.jd, p.fid, mag, p.sigmapsf, p.isdiffpos, Some(id), false),
            )),
            (None, _, Some(lim)) => points.push((
                PointKey::Other(0, band_name(p.fid).into(), p.jd.to_bits()),
                Point {
                    mjd: p.jd - 2_400_000.5,
                    band: band_name(p.fid).into(),
                    kind: PointKind::UpperLimit,
                    flux: None,
                    flux_err: None,
                    mag: None,
                    mag_err: None,
                    mag_limit: Some(lim).filter(|l| l.is_finite()),
                },
            )),
            // A candidate id without a magnitude, or neither a detection nor a limit.
            _ => {}
        }
    }
    for f in &a.fp_hists {
        // forcediffimflux is in data numbers of the science image's zero point.
        let to_njy = f
            .magzpsci
            .filter(|z| z.is_finite())
            .map(|z| 10f64.powf((NJY_ZERO_POINT - z) / 2.5));
        let present = |x: Option<f64>| x.filter(|v| v.is_finite() && *v != ZTF_FORCED_MISSING);
        let flux_err = present(f.forcediffimfluxunc)
            .zip(to_njy)
            .map(|(u, k)| u * k);
        points.push((
            PointKey::Other(1, band_name(f.fid).into(), f.jd.to_bits()),
            Point {
                mjd: f.jd - 2_400_000.5,
                band: band_name(f.fid).into(),
                kind: PointKind::Forced,
                flux: present(f.forcediffimflux).zip(to_njy).map(|(x, k)| x * k),
                flux_err,
                mag: None,
                mag_err: None,
                mag_limit: finite(f.diffmaglim).or_else(|| limit_of(flux_err)),
            },
        ));
    }
    points
}

fn lsst_history(a: &LsstAlert) -> Vec<(PointKey, Point)> {
    let detections = a.prv_dia_sources.iter().map(|s| {
        (
            PointKey::Source(Some(s.dia_source_id)),
            lsst_detection(s, false),
        )
    });
    let forced = a.prv_dia_forced_sources.iter().map(|f| {
        let key = match (f.dia_forced_source_id, f.visit) {
            (Some(id), _) => PointKey::Other(1, String::new(), id as u64),
            (None, Some(visit)) => PointKey::Other(2, f.band.clone(), visit as u64),
            (None, None) => PointKey::Other(3, f.band.clone(), f.midpoint_mjd_tai.to_bits()),
        };
        (key, lsst_forced(f))
    });
    detections.chain(forced).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
