//! What a Rubin/LSST alert carries beyond its cutouts, as one flat vector for tree models:
//! the triggering `diaSource` (signal to noise, sign, band, shape against the PSF, trail and
//! dipole fits, reliability, extendedness, science and template fluxes), its place on the
//! sky, and the object's history that the alert itself carries (`prvDiaSources`,
//! `prvDiaForcedSources`): so an alert's features never depend on which other alerts were
//! loaded, and a stream answers each alert as a file reader does.
//!
//! As for ZTF ([`super::tabular`]), apparent brightness is left out (only ratios, signal to
//! noise and changes) and the solar-system association (`ssObjectId`, `ssSource`) is a
//! documented rule ([`crate::model::rules::apply_lsst`]), not a feature. Missing values are
//! NaN: trees route them on their own. Fields are read by schema name, so every schema
//! from 7.0 to 11.1 gives the features it has and NaN for the others.

use crate::alert::lsst::{DiaSource, FieldMap, LsstAlert};
use crate::features::coords::abs_latitudes;
use std::collections::BTreeSet;

/// The feature names, in vector order. A tree model trained on LSST alerts stores these
/// and is refused when they differ from the ones this build computes.
pub const LSST_TABULAR_FEATURES: [&str; 30] = [
    "snr",
    "is_negative",
    "band",
    "reliability",
    "extendedness",
    "psf_chi2_per_pixel",
    "ap_over_psf_flux",
    "science_over_psf_flux",
    "template_flux_snr",
    "shape_over_psf",
    "trail_length",
    "trail_over_psf_flux",
    "dipole_flux_diff_over_mean",
    "is_dipole",
    "pixel_flags",
    "pixel_flags_edge",
    "abs_galactic_lat",
    "abs_ecliptic_lat",
    "n_prev_detections",
    "nights_detected",
    "days_since_first",
    "n_bands_detected",
    "lc_mag_std",
    "lc_mag_amplitude",
    "dmag_since_last_same_band",
    "frac_negative_prev",
    "n_forced",
    "forced_frac_significant",
    "forced_frac_negative",
    "days_since_last_detection",
];

/// u g r i z y as 0..5, so trees can split blue from red; NaN for anything else.
fn band_index(band: &str) -> f32 {
    match band {
        "u" => 0.0,
        "g" => 1.0,
        "r" => 2.0,
        "i" => 3.0,
        "z" => 4.0,
        "y" => 5.0,
        _ => f32::NAN,
    }
}

fn field(fields: &FieldMap, name: &str) -> Option<f64> {
    match fields.get(name)? {
        serde_json::Value::Number(n) => n.as_f64().filter(|v| v.is_finite()),
        serde_json::Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn nan(v: Option<f64>) -> f32 {
    v.filter(|x| x.is_finite()).map_or(f32::NAN, |x| x as f32)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (b != 0.0).then(|| a / b).filter(|r| r.is_finite())
}

/// The observing night, as Rubin's `dayObs` counts it (the library's one convention).
fn night(mjd: f64) -> i64 {
    crate::sequence::neutral::night_of_mjd(crate::alert::neutral::Survey::Lsst, mjd)
}

fn mag(flux: Option<f64>) -> Option<f64> {
    crate::alert::neutral::njy_to_mag(flux?.abs())
}

/// The detection's signal to noise: the `snr` field, else |psfFlux| / psfFluxErr.
fn snr(s: &DiaSource) -> Option<f64> {
    s.snr
        .or_else(|| ratio(s.psf_flux.map(f64::abs), s.psf_flux_err))
        .filter(|v| v.is_finite())
}

fn negative(s: &DiaSource) -> Option<bool> {
    s.is_negative.or(s.psf_flux.map(|f| f < 0.0))
}

/// The features of one alert, in [`LSST_TABULAR_FEATURES`] order.
pub fn lsst_features(alert: &LsstAlert) -> Vec<f32> {
    let s = &alert.dia_source;
    let f = |name: &str| field(&s.fields, name);
    let mut out = Vec::with_capacity(LSST_TABULAR_FEATURES.len());
    out.push(nan(snr(s)));
    out.push(nan(negative(s).map(|n| f64::from(u8::from(n)))));
    out.push(band_index(&s.band));
    out.push(nan(s.reliability));
    out.push(nan(f("extendedness")));
    out.push(nan(ratio(f("psfChi2"), f("psfNdata"))));
    out.push(nan(ratio(f("apFlux"), s.psf_flux)));
    out.push(nan(ratio(f("scienceFlux"), s.psf_flux)));
    out.push(nan(ratio(f("templateFlux"), f("templateFluxErr"))));
    let size = f("ixx").zip(f("iyy")).map(|(a, b)| a + b);
    let psf_size = f("ixxPSF").zip(f("iyyPSF")).map(|(a, b)| a + b);
    out.push(nan(ratio(size, psf_size)));
    out.push(nan(f("trailLength")));
    out.push(nan(ratio(f("trailFlux"), s.psf_flux)));
    out.push(nan(ratio(
        f("dipoleFluxDiff").map(f64::abs),
        f("dipoleMeanFlux").map(f64::abs),
    )));
    out.push(nan(f("isDipole")));
    out.push(nan(f("pixelFlags")));
    out.push(nan(f("pixelFlags_edge")));
    let sky = abs_latitudes(s.ra, s.dec);
    out.push(sky.galactic as f32);
    out.push(sky.ecliptic as f32);

    // The history the alert carries: earlier detections of the object, before this one.
    let now = s.midpoint_mjd_tai;
    let prv: Vec<&DiaSource> = alert
        .prv_dia_sources
        .iter()
        .filter(|p| p.midpoint_mjd_tai < now && p.dia_source_id != s.dia_source_id)
        .collect();
    out.push(prv.len() as f32);
    let nights: BTreeSet<i64> = prv
        .iter()
        .map(|p| night(p.midpoint_mjd_tai))
        .chain(std::iter::once(night(now)))
        .collect();
    out.push(nights.len() as f32);
    let first = prv.iter().map(|p| p.midpoint_mjd_tai).fold(now, f64::min);
    out.push((now - first) as f32);
    let bands: BTreeSet<&str> = prv
        .iter()
        .map(|p| p.band.as_str())
        .chain(std::iter::once(s.band.as_str()))
        .collect();
    out.push(bands.len() as f32);
    let mags: Vec<f64> = prv
        .iter()
        .copied()
        .chain(std::iter::once(s))
        .filter_map(|p| mag(p.psf_flux))
        .collect();
    out.extend(super::spread_and_range(&mags));
    let last_same_band = prv
        .iter()
        .filter(|p| p.band == s.band)
        .max_by(|a, b| a.midpoint_mjd_tai.total_cmp(&b.midpoint_mjd_tai));
    out.push(nan(
        last_same_band.and_then(|p| Some(mag(s.psf_flux)? - mag(p.psf_flux)?))
    ));
    out.push(if prv.is_empty() {
        f32::NAN
    } else {
        prv.iter().filter(|p| negative(p) == Some(true)).count() as f32 / prv.len() as f32
    });
    let forced: Vec<(f64, f64)> = alert
        .prv_dia_forced_sources
        .iter()
        .filter(|p| p.midpoint_mjd_tai < now)
        .filter_map(|p| Some((p.psf_flux?, p.psf_flux_err?)))
        .filter(|(f, e)| f.is_finite() && e.is_finite() && *e > 0.0)
        .collect();
    out.push(forced.len() as f32);
    if forced.is_empty() {
        out.push(f32::NAN);
        out.push(f32::NAN);
    } else {
        let n = forced.len() as f32;
        out.push(forced.iter().filter(|(f, e)| f.abs() / e > 5.0).count() as f32 / n);
        out.push(forced.iter().filter(|(f, e)| *f / e < -5.0).count() as f32 / n);
    }
    let last = prv
        .iter()
        .map(|p| p.midpoint_mjd_tai)
        .fold(f64::NAN, f64::max);
    out.push(nan(Some(now - last)));
    debug_assert_eq!(out.len(), LSST_TABULAR_FEATURES.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::lsst::DiaForcedSource;

    fn source(id: i64, mjd: f64, band: &str, flux: f64) -> DiaSource {
        DiaSource {
            dia_source_id: id,
            dia_object_id: Some(7),
            midpoint_mjd_tai: mjd,
            band: band.into(),
            ra: 150.0,
            dec: 2.0,
            psf_flux: Some(flux),
            psf_flux_err: Some(flux.abs() / 20.0),
            ..Default::default()
        }
    }

    fn alert(s: DiaSource, prv: Vec<DiaSource>, forced: Vec<DiaForcedSource>) -> LsstAlert {
        LsstAlert {
            alert_id: s.dia_source_id,
            schema: None,
            dia_source: s,
            prv_dia_sources: prv,
            prv_dia_forced_sources: forced,
            dia_object: None,
            ss_source: None,
            ss_object: None,
            mpc_orbits: None,
            extra: Default::default(),
            cutouts: Default::default(),
            origin: crate::alert::AlertOrigin {
                file: "test".into(),
                record: 0,
            },
        }
    }

    fn get(v: &[f32], name: &str) -> f32 {
        v[LSST_TABULAR_FEATURES
            .iter()
            .position(|n| *n == name)
            .expect("feature")]
    }

    #[test]
    fn sky_position_features_are_latitudes() {
        // The summer solstice point lies on the ecliptic (longitude 90) and in the
        // galactic plane (b = -0.02, l = 186): longitudes read as latitudes give 90 and 186.
        let mut s = source(1, 61000.2, "i", 1000.0);
        s.ra = 90.0;
        s.dec = 23.439_291_1;
        let v = lsst_features(&alert(s, vec![], vec![]));
        assert!(
            get(&v, "abs_ecliptic_lat") < 1e-4,
            "{}",
            get(&v, "abs_ecliptic_lat")
        );
        assert!(
            get(&v, "abs_galactic_lat") < 0.05,
            "{}",
            get(&v, "abs_galactic_lat")
        );
    }

    #[test]
    fn a_first_detection_has_no_history_and_a_later_one_sees_its_own() {
        let first = lsst_features(&alert(source(1, 61000.2, "i", 1000.0), vec![], vec![]));
        assert_eq!(first.len(), LSST_TABULAR_FEATURES.len());
        assert_eq!(get(&first, "n_prev_detections"), 0.0);
        assert_eq!(get(&first, "nights_detected"), 1.0);
        assert!(get(&first, "lc_mag_std").is_nan());
        assert_eq!(get(&first, "band"), 3.0);
        assert!((get(&first, "snr") - 20.0).abs() < 1e-4);

        // Three nights later, brighter by a factor 10 (2.5 mag) in the same band, after a
        // negative detection in g; the alert's own diaSource among the previous ones (as
        // some producers write it) is not counted twice.
        let later = lsst_features(&alert(
            source(3, 61003.3, "i", 10_000.0),
            vec![
                source(1, 61000.2, "i", 1000.0),
                source(2, 61001.2, "g", -500.0),
                source(3, 61003.3, "i", 10_000.0),
            ],
            vec![DiaForcedSource {
                midpoint_mjd_tai: 60990.0,
                band: "i".into(),
                psf_flux: Some(-3000.0),
                psf_flux_err: Some(100.0),
                ..Default::default()
            }],
        ));
        assert_eq!(get(&later, "n_prev_detections"), 2.0);
        assert_eq!(get(&later, "nights_detected"), 3.0);
        assert_eq!(get(&later, "n_bands_detected"), 2.0);
        assert!((get(&later, "days_since_first") - 3.1).abs() < 1e-3);
        assert!((get(&later, "dmag_since_last_same_band") + 2.5).abs() < 1e-4);
        assert_eq!(get(&later, "frac_negative_prev"), 0.5);
        assert_eq!(get(&later, "n_forced"), 1.0);
        assert_eq!(get(&later, "forced_frac_negative"), 1.0);
        assert!((get(&later, "days_since_last_detection") - 2.1).abs() < 1e-3);
    }
}
