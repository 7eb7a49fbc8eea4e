//! What an alert carries beyond its stamps, as one flat vector for tree models: the
//! candidate's photometry and shape, the PS1 and ZTF-reference counterparts under it, its
//! position on the sky, the survey's own history at that position (`ndethist`,
//! `jdstarthist`...), and the 30-day light curve before it (`prv_candidates`, plus the
//! object's earlier alerts when they are loaded).
//!
//! Apparent magnitudes themselves are left out, only differences and colours kept: in the
//! few hundred labelled objects brightness says which broker kept which alert (no
//! supernova brighter than 16 mag, many bright stars), and trees learned "bright means
//! variable star", which calls every nearby supernova a star.
//!
//! Missing values are NaN: trees route them on their own. `ssdistnr`/`ssmagnr` are left out
//! on purpose: a known solar-system object is a documented rule ([`crate::model::rules`]),
//! so that the trees learn what a moving object looks like from everything else and can
//! flag unknown ones too.

use crate::alert::{Alert, DiffSign};
use crate::sequence::night_of;
use std::collections::BTreeSet;

/// The feature names, in vector order. A tree model stores these and is refused when they
/// differ from the ones this build computes.
pub const TABULAR_FEATURES: [&str; 40] = [
    "sigmapsf",
    "isdiffpos",
    "fid",
    "rb",
    "drb",
    "fwhm",
    "elong",
    "classtar",
    "chipsf",
    "distnr",
    "sigmagnr",
    "chinr",
    "sharpnr",
    "sgscore1",
    "distpsnr1",
    "sgscore2",
    "distpsnr2",
    "ndethist",
    "ncovhist",
    "ndethist_over_ncovhist",
    "days_since_first_hist",
    "hist_span_days",
    "neargaia",
    "abs_galactic_lat",
    "abs_ecliptic_lat",
    "ps1_g_r",
    "ps1_r_i",
    "ps1_i_z",
    "magpsf_minus_magnr",
    "magpsf_minus_srmag1",
    "n_prev_detections",
    "nights_detected",
    "lc_std",
    "lc_amplitude",
    "lc_days",
    "dmag_since_last_same_band",
    "frac_negative_prev",
    "last_limit_minus_mag",
    "lc_g_minus_r",
    "magap_minus_magpsf",
];

/// ZTF writes -999 (and a few -99) where it has no value.
fn known(v: Option<f64>) -> f32 {
    match v {
        Some(x) if x.is_finite() && x != -999.0 && x != -99.0 => x as f32,
        _ => f32::NAN,
    }
}

fn known_i(v: Option<i32>) -> f32 {
    known(v.map(f64::from))
}

fn sign(d: Option<DiffSign>) -> f32 {
    match d {
        Some(DiffSign::Positive) => 1.0,
        Some(DiffSign::Negative) => -1.0,
        None => f32::NAN,
    }
}

/// One earlier detection of the light curve.
struct Point {
    jd: f64,
    fid: i32,
    mag: f64,
    negative: bool,
}

/// The detections and the latest upper limit before `alert`, from its own `prv_candidates`
/// and from the object's `earlier` alerts (a detection counted once, by `candid`).
fn history(alert: &Alert, earlier: &[&Alert]) -> (Vec<Point>, Option<f64>) {
    let jd = alert.candidate.jd;
    let mut seen = BTreeSet::new();
    let mut points = Vec::new();
    let mut last_limit: Option<(f64, f64)> = None;
    for p in &alert.prv_candidates {
        if p.jd >= jd - 1e-6 {
            continue;
        }
        match (p.candid, p.magpsf) {
            (Some(id), Some(mag)) if mag.is_finite() => {
                if seen.insert(id) {
                    points.push(Point {
                        jd: p.jd,
                        fid: p.fid,
                        mag,
                        negative: p.isdiffpos.is_some_and(|d| !d.is_positive()),
                    });
                }
            }
            _ => {
                if let Some(lim) = p.diffmaglim.filter(|v| v.is_finite()) {
                    if last_limit.is_none_or(|(t, _)| p.jd > t) {
                        last_limit = Some((p.jd, lim));
                    }
                }
            }
        }
    }
    for a in earlier {
        let c = &a.candidate;
        if c.jd >= jd - 1e-6 || !c.magpsf.is_finite() {
            continue;
        }
        if a.candid.is_none_or(|id| seen.insert(id)) {
            points.push(Point {
                jd: c.jd,
                fid: c.fid,
                mag: c.magpsf,
                negative: c.isdiffpos.is_some_and(|d| !d.is_positive()),
            });
        }
    }
    points.sort_by(|a, b| a.jd.total_cmp(&b.jd));
    (points, last_limit.map(|(_, lim)| lim))
}

/// The nights on which the object was detected up to and including `alert`: its own
/// history and the earlier alerts given. Two or more mean it stays put.
pub fn nights_detected(alert: &Alert, earlier: &[&Alert]) -> usize {
    detection_nights(alert, earlier).len()
}

/// The nights of [`nights_detected`], as night numbers (see [`night_of`]).
pub fn detection_nights(alert: &Alert, earlier: &[&Alert]) -> BTreeSet<i64> {
    let (points, _) = history(alert, earlier);
    points
        .iter()
        .map(|p| night_of(p.jd))
        .chain(std::iter::once(night_of(alert.candidate.jd)))
        .collect()
}

/// Days from the first detection at this position (its history and `earlier` alerts) to
/// `alert`.
pub fn detection_span_days(alert: &Alert, earlier: &[&Alert]) -> f64 {
    let (points, _) = history(alert, earlier);
    points.first().map_or(0.0, |p| alert.candidate.jd - p.jd)
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// The [`TABULAR_FEATURES`] of `alert`, given the object's alerts before it.
pub fn tabular_features(alert: &Alert, earlier: &[&Alert]) -> Vec<f32> {
    let c = &alert.candidate;
    let mag = known(Some(c.magpsf));
    let sub = |a: f32, b: f32| a - b;
    let (points, last_limit) = history(alert, earlier);
    let sky = crate::features::coords::abs_latitudes(c.ra, c.dec);
    let sgmag1 = known(c.sgmag1);
    let srmag1 = known(c.srmag1);
    let simag1 = known(c.simag1);
    let szmag1 = known(c.szmag1);
    let ndethist = known_i(c.ndethist);
    let ncovhist = known_i(c.ncovhist);
    // Julian dates need f64: an f32 resolves them to a quarter of a day.
    let start = c.jdstarthist.filter(|v| v.is_finite() && *v > 0.0);
    let end = c.jdendhist.filter(|v| v.is_finite() && *v > 0.0);

    let mut mags: Vec<f64> = points.iter().map(|p| p.mag).collect();
    mags.push(c.magpsf);
    let (lc_std, lc_amp) = if mags.len() > 1 {
        let m = mean(&mags).unwrap_or(0.0);
        let var = mags.iter().map(|x| (x - m).powi(2)).sum::<f64>() / mags.len() as f64;
        let (lo, hi) = mags
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        (var.sqrt() as f32, (hi - lo) as f32)
    } else {
        (f32::NAN, f32::NAN)
    };
    let lc_days = points.first().map_or(0.0, |p| (c.jd - p.jd) as f32);
    let dmag_last = points
        .iter()
        .rev()
        .find(|p| p.fid == c.fid)
        .map_or(f32::NAN, |p| (c.magpsf - p.mag) as f32);
    let frac_negative = if points.is_empty() {
        f32::NAN
    } else {
        points.iter().filter(|p| p.negative).count() as f32 / points.len() as f32
    };
    let band_mean = |fid: i32| {
        let v: Vec<f64> = points
            .iter()
            .filter(|p| p.fid == fid)
            .map(|p| p.mag)
            .chain((c.fid == fid).then_some(c.magpsf))
            .collect();
        mean(&v)
    };
    let lc_g_r = match (band_mean(1), band_mean(2)) {
        (Some(g), Some(r)) => (g - r) as f32,
        _ => f32::NAN,
    };
    let nights = points
        .iter()
        .map(|p| night_of(p.jd))
        .chain(std::iter::once(night_of(c.jd)))
        .collect::<BTreeSet<_>>()
        .len();

    let values = vec![
        known(Some(c.sigmapsf)),
        sign(c.isdiffpos),
        c.fid as f32,
        known(c.rb),
        known(c.drb),
        known(c.fwhm),
        known(c.elong),
        known(c.classtar),
        known(c.chipsf),
        known(c.distnr),
        known(c.sigmagnr),
        known(c.chinr),
        known(c.sharpnr),
        known(c.sgscore1),
        known(c.distpsnr1),
        known(c.sgscore2),
        known(c.distpsnr2),
        ndethist,
        ncovhist,
        if ncovhist > 0.0 {
            ndethist / ncovhist
        } else {
            f32::NAN
        },
        start.map_or(f32::NAN, |s| (c.jd - s) as f32),
        match (start, end) {
            (Some(s), Some(e)) => (e - s) as f32,
            _ => f32::NAN,
        },
        known(c.neargaia),
        sky.galactic as f32,
        sky.ecliptic as f32,
        sub(sgmag1, srmag1),
        sub(srmag1, simag1),
        sub(simag1, szmag1),
        sub(mag, known(c.magnr)),
        sub(mag, srmag1),
        points.len() as f32,
        nights as f32,
        lc_std,
        lc_amp,
        lc_days,
        dmag_last,
        frac_negative,
        last_limit.map_or(f32::NAN, |lim| (lim - c.magpsf) as f32),
        lc_g_r,
        sub(known(c.magap), mag),
    ];
    debug_assert_eq!(values.len(), TABULAR_FEATURES.len());
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertOrigin, Candidate, PrvCandidate};

    fn alert(jd: f64, candid: i64, mag: f64, prv: Vec<PrvCandidate>) -> Alert {
        Alert {
            object_id: "ZTFtest".into(),
            candid: Some(candid),
            schema_version: None,
            publisher: None,
            candidate: Candidate {
                jd,
                fid: 1,
                magpsf: mag,
                sigmapsf: 0.1,
                ra: 10.0,
                dec: 20.0,
                isdiffpos: Some(DiffSign::Positive),
                ndethist: Some(10),
                ncovhist: Some(40),
                jdstarthist: Some(jd - 100.0),
                ssdistnr: Some(-999.0),
                ..Default::default()
            },
            prv_candidates: prv,
            fp_hists: Vec::new(),
            cutouts: Default::default(),
            label: None,
            broker_columns: Default::default(),
            origin: AlertOrigin {
                file: "test".into(),
                record: 0,
            },
        }
    }

    fn value(v: &[f32], name: &str) -> f32 {
        let i = TABULAR_FEATURES.iter().position(|n| *n == name).unwrap();
        v[i]
    }

    #[test]
    fn history_from_prv_candidates_and_earlier_alerts_is_counted_once() {
        let prv = vec![
            PrvCandidate {
                jd: 2_460_000.7,
                fid: 1,
                candid: Some(1),
                magpsf: Some(18.0),
                ..Default::default()
            },
            PrvCandidate {
                jd: 2_460_001.7,
                fid: 1,
                diffmaglim: Some(20.5),
                ..Default::default()
            },
        ];
        let first = alert(2_460_000.7, 1, 18.0, Vec::new());
        let last = alert(2_460_003.7, 2, 17.0, prv);
        let v = tabular_features(&last, &[&first]);
        assert_eq!(v.len(), TABULAR_FEATURES.len());
        assert_eq!(value(&v, "n_prev_detections"), 1.0);
        assert_eq!(value(&v, "nights_detected"), 2.0);
        assert!((value(&v, "dmag_since_last_same_band") + 1.0).abs() < 1e-6);
        assert!((value(&v, "last_limit_minus_mag") - 3.5).abs() < 1e-6);
        assert!((value(&v, "lc_amplitude") - 1.0).abs() < 1e-6);
        assert!((value(&v, "days_since_first_hist") - 100.0).abs() < 1e-3);
        assert_eq!(nights_detected(&last, &[&first]), 2);
        assert_eq!(nights_detected(&first, &[]), 1);
    }

    #[test]
    fn sentinels_are_missing() {
        let mut a = alert(2_460_000.7, 1, 18.0, Vec::new());
        a.candidate.sgscore1 = Some(-999.0);
        a.candidate.distnr = Some(-99.0);
        let v = tabular_features(&a, &[]);
        assert!(value(&v, "sgscore1").is_nan());
        assert!(value(&v, "distnr").is_nan());
        assert!(value(&v, "lc_std").is_nan());
        assert_eq!(value(&v, "isdiffpos"), 1.0);
    }

    #[test]
    fn sky_position_features_are_latitudes() {
        // The summer solstice point lies on the ecliptic (longitude 90) and in the
        // galactic plane (b = -0.02, l = 186): longitudes read as latitudes give 90 and 186.
        let mut a = alert(2_460_000.7, 1, 18.0, Vec::new());
        a.candidate.ra = 90.0;
        a.candidate.dec = 23.439_291_1;
        let v = tabular_features(&a, &[]);
        assert!(
            value(&v, "abs_ecliptic_lat") < 1e-4,
            "{}",
            value(&v, "abs_ecliptic_lat")
        );
        assert!(
            value(&v, "abs_galactic_lat") < 0.05,
            "{}",
            value(&v, "abs_galactic_lat")
        );
    }
}
