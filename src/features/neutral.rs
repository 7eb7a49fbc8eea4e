//! Survey-neutral features: what a ZTF and a Rubin/LSST alert both measure, in units that
//! survive the change of telescope and depth, so that trees learnt on labelled ZTF objects
//! can answer LSST alerts on their first night (issue #20).
//!
//! Every feature is a ratio, a signal to noise, a count or a time: no apparent magnitude
//! (LSST reaches 5 magnitudes deeper), no pixel size (0.2" against 1"), no field only one
//! survey has. The light-curve features look back 30 days only, the history a ZTF alert
//! carries, although an LSST alert carries twelve months: otherwise the same object would
//! look older through Rubin's eyes than any ZTF training object ever did.
//!
//! Each detection is first put in neutral terms ([`NeutralDetection`], from the alert's
//! [`crate::alert::neutral::AlertSummary`] and the few shape fields beside it) and its
//! history as the object's [`NeutralLightCurve`]; the features are a function of those
//! two only, so they are the same whichever survey said it.

use crate::alert::lsst::LsstAlert;
use crate::alert::neutral::{mag_to_njy, njy_to_mag, SurveyAlert};
use crate::alert::{Alert, AlertRef, DiffSign};
use crate::features::coords::abs_latitudes;
use crate::sequence::neutral::{count_nights_mjd, NeutralLightCurve};
use std::collections::BTreeSet;

/// The feature set's name in a model header.
pub const NEUTRAL_FEATURES: &str = "neutral";

/// Days of history the light-curve features read: what a ZTF alert carries.
pub const HISTORY_DAYS: f64 = 30.0;

/// The feature names, in vector order.
pub const NEUTRAL_TABULAR_FEATURES: [&str; 20] = [
    "snr",
    "is_negative",
    "band_um",
    "ap_over_psf_flux",
    "elongation",
    "log_diff_over_template_flux",
    "reliability",
    "abs_galactic_lat",
    "abs_ecliptic_lat",
    "n_prev_detections_30d",
    "nights_detected_30d",
    "days_since_first_30d",
    "n_bands_30d",
    "mag_std_30d",
    "mag_amplitude_30d",
    "dmag_since_last_same_band",
    "frac_negative_prev_30d",
    "days_since_last_detection",
    "mag_slope_per_day_30d",
    "g_minus_r_30d",
];

/// One detection in survey-neutral terms.
#[derive(Debug, Clone, PartialEq)]
pub struct NeutralDetection {
    pub mjd: f64,
    pub band: String,
    pub ra: f64,
    pub dec: f64,
    /// Difference-image PSF flux, nJy, signed.
    pub flux: Option<f64>,
    pub flux_err: Option<f64>,
    pub negative: Option<bool>,
    /// Difference-image aperture flux over PSF flux (ZTF 10^(-0.4 (magap - magpsf)); LSST
    /// `apFlux / psfFlux`): near one for a point source, far from it for a bad subtraction.
    pub ap_over_psf_flux: Option<f64>,
    /// Major over minor axis of the source (ZTF `elong`; LSST from `ixx`, `iyy`, `ixy`).
    pub elongation: Option<f64>,
    /// Flux of a source at the position on the reference (ZTF `magnr` within 1.5" of the
    /// detection; LSST `templateFlux` detected at 3 sigma), nJy.
    pub template_flux: Option<f64>,
    /// The survey's real/bogus score (ZTF `drb`; LSST `reliability`).
    pub reliability: Option<f64>,
}

/// Within this distance (arcsec) the ZTF reference source is the source under the
/// detection (a host nucleus, a star), not a neighbour.
const UNDER_SOURCE_ARCSEC: f64 = 1.5;

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// ZTF writes -999 (and a few -99) where it has no value.
fn ztf_known(v: Option<f64>) -> Option<f64> {
    finite(v).filter(|x| *x != -999.0 && *x != -99.0)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (b != 0.0).then(|| a / b).filter(|r| r.is_finite())
}

impl NeutralDetection {
    /// The alert's own detection in neutral terms.
    pub fn of(alert: AlertRef) -> Self {
        match alert {
            AlertRef::Ztf(a) => Self::of_ztf(a),
            AlertRef::Lsst(a) => Self::of_lsst(a),
        }
    }

    fn of_ztf(a: &Alert) -> Self {
        let s = a.summary();
        let c = &a.candidate;
        let template_flux = match (ztf_known(c.distnr), ztf_known(c.magnr)) {
            (Some(d), Some(m)) if (0.0..UNDER_SOURCE_ARCSEC).contains(&d) => Some(mag_to_njy(m)),
            _ => None,
        };
        Self {
            mjd: s.mjd,
            band: s.band,
            ra: s.ra,
            dec: s.dec,
            flux: s.flux,
            flux_err: s.flux_err,
            negative: s.isdiffpos.map(|d| d == DiffSign::Negative),
            ap_over_psf_flux: ztf_known(c.magap)
                .filter(|_| c.magpsf.is_finite())
                .map(|ap| 10f64.powf(-0.4 * (ap - c.magpsf))),
            elongation: ztf_known(c.elong).filter(|e| *e > 0.0),
            template_flux,
            reliability: finite(c.drb),
        }
    }

    fn of_lsst(a: &LsstAlert) -> Self {
        let s = a.summary();
        let d = &a.dia_source;
        let f = |name: &str| match d.fields.get(name)? {
            serde_json::Value::Number(n) => n.as_f64().filter(|v| v.is_finite()),
            _ => None,
        };
        let elongation = match (f("ixx"), f("iyy"), f("ixy")) {
            (Some(xx), Some(yy), Some(xy)) => {
                let half_sum = (xx + yy) / 2.0;
                let root = (((xx - yy) / 2.0).powi(2) + xy * xy).sqrt();
                let (major, minor) = (half_sum + root, half_sum - root);
                (minor > 0.0).then(|| (major / minor).sqrt())
            }
            _ => None,
        };
        let template_flux = f("templateFlux")
            .filter(|t| *t > 0.0)
            .filter(|t| ratio(Some(*t), f("templateFluxErr")).is_some_and(|snr| snr >= 3.0));
        Self {
            mjd: s.mjd,
            band: s.band,
            ra: s.ra,
            dec: s.dec,
            flux: s.flux,
            flux_err: s.flux_err,
            negative: s.isdiffpos.map(|d| d == DiffSign::Negative),
            ap_over_psf_flux: ratio(f("apFlux"), s.flux),
            elongation,
            template_flux,
            reliability: finite(d.reliability),
        }
    }
}

/// Central wavelength of a band, micrometres (ZTF g r i and LSST u g r i z y share their
/// names and nearly their passbands).
fn band_um(band: &str) -> f32 {
    match band {
        "u" => 0.367,
        "g" => 0.48,
        "r" => 0.62,
        "i" => 0.75,
        "z" => 0.87,
        "y" => 0.97,
        _ => f32::NAN,
    }
}

fn nan(v: Option<f64>) -> f32 {
    v.filter(|x| x.is_finite()).map_or(f32::NAN, |x| x as f32)
}

/// The [`NEUTRAL_TABULAR_FEATURES`] of `alert`, given the object's alerts loaded before it
/// (their detections join the history the alert carries).
pub fn neutral_features(alert: AlertRef, earlier: &[AlertRef]) -> Vec<f32> {
    let mut refs: Vec<AlertRef> = earlier.to_vec();
    refs.push(alert);
    features_of(
        &NeutralDetection::of(alert),
        &NeutralLightCurve::from_refs(&refs),
        alert.survey(),
    )
}

/// The features of a detection in neutral terms, given its object's light curve (points
/// at or after the detection are not read).
pub fn features_of(
    d: &NeutralDetection,
    light_curve: &NeutralLightCurve,
    survey: crate::alert::neutral::Survey,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(NEUTRAL_TABULAR_FEATURES.len());
    out.push(nan(ratio(d.flux.map(f64::abs), d.flux_err)));
    out.push(nan(d.negative.map(|n| f64::from(u8::from(n)))));
    out.push(band_um(&d.band));
    out.push(nan(d.ap_over_psf_flux));
    out.push(nan(d.elongation));
    out.push(nan(ratio(d.flux.map(f64::abs), d.template_flux)
        .filter(|r| *r > 0.0)
        .map(f64::log10)));
    out.push(nan(d.reliability));
    let sky = abs_latitudes(d.ra, d.dec);
    out.push(sky.galactic as f32);
    out.push(sky.ecliptic as f32);

    // Detections before this one, within the history window; a point within a second of
    // the detection is the detection itself.
    let now = d.mjd;
    let prv: Vec<(f64, &str, f64)> = light_curve
        .detections()
        .filter(|p| p.mjd < now - 1e-5 && p.mjd >= now - HISTORY_DAYS)
        .filter_map(|p| Some((p.mjd, p.band.as_str(), finite(p.flux)?)))
        .collect();
    out.push(prv.len() as f32);
    let nights = count_nights_mjd(survey, prv.iter().map(|p| p.0).chain([now]));
    out.push(nights as f32);
    let first = prv.iter().map(|p| p.0).fold(now, f64::min);
    out.push((now - first) as f32);
    let bands: BTreeSet<&str> = prv.iter().map(|p| p.1).chain([d.band.as_str()]).collect();
    out.push(bands.len() as f32);
    let mag_of = |flux: f64| njy_to_mag(flux.abs());
    let mags: Vec<f64> = prv
        .iter()
        .filter_map(|p| mag_of(p.2))
        .chain(d.flux.and_then(mag_of))
        .collect();
    out.extend(super::spread_and_range(&mags));
    let last_same_band = prv
        .iter()
        .filter(|p| p.1 == d.band)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    out.push(nan(
        last_same_band.and_then(|p| Some(d.flux.and_then(mag_of)? - mag_of(p.2)?))
    ));
    out.push(if prv.is_empty() {
        f32::NAN
    } else {
        prv.iter().filter(|p| p.2 < 0.0).count() as f32 / prv.len() as f32
    });
    let last = prv.iter().map(|p| p.0).fold(f64::NAN, f64::max);
    out.push(nan(Some(now - last)));
    // Rising or fading: magnitudes per day since the first detection in this band within
    // the window (a supernova's rise, a star's or nucleus' flicker).
    let first_same_band = prv
        .iter()
        .filter(|p| p.1 == d.band)
        .min_by(|a, b| a.0.total_cmp(&b.0));
    out.push(nan(first_same_band.and_then(|p| {
        let days = now - p.0;
        (days > 0.01).then_some(())?;
        Some((d.flux.and_then(mag_of)? - mag_of(p.2)?) / days)
    })));
    // Colour where both bands were seen in the window: the latest g and the latest r.
    let latest = |band: &str| -> Option<f64> {
        if d.band == band {
            return d.flux.and_then(mag_of);
        }
        prv.iter()
            .filter(|p| p.1 == band)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .and_then(|p| mag_of(p.2))
    };
    out.push(nan(latest("g").zip(latest("r")).map(|(g, r)| g - r)));
    debug_assert_eq!(out.len(), NEUTRAL_TABULAR_FEATURES.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::lsst::DiaSource;
    use crate::alert::{AlertOrigin, Candidate, PrvCandidate};

    fn ztf(jd: f64, magpsf: f64, sigmapsf: f64, prv: Vec<PrvCandidate>) -> Alert {
        Alert {
            object_id: "ZTFneutral".into(),
            candid: Some(9),
            schema_version: None,
            publisher: None,
            candidate: Candidate {
                jd,
                fid: 2,
                ra: 150.0,
                dec: 2.0,
                magpsf,
                sigmapsf,
                isdiffpos: Some(DiffSign::Positive),
                magap: Some(magpsf + 0.1),
                elong: Some(1.2),
                distnr: Some(0.4),
                magnr: Some(17.0),
                drb: Some(0.9),
                ..Default::default()
            },
            prv_candidates: prv,
            fp_hists: Vec::new(),
            cutouts: Default::default(),
            label: None,
            broker_columns: Default::default(),
            origin: AlertOrigin {
                file: "z".into(),
                record: 0,
            },
        }
    }

    fn lsst(source: DiaSource, prv: Vec<DiaSource>) -> LsstAlert {
        LsstAlert {
            alert_id: source.dia_source_id,
            schema: None,
            dia_source: source,
            prv_dia_sources: prv,
            prv_dia_forced_sources: Vec::new(),
            dia_object: None,
            ss_source: None,
            ss_object: None,
            mpc_orbits: None,
            extra: Default::default(),
            cutouts: Default::default(),
            origin: AlertOrigin {
                file: "l".into(),
                record: 0,
            },
        }
    }

    fn number(v: f64) -> serde_json::Value {
        serde_json::Value::from(v)
    }

    #[test]
    fn the_same_detection_told_by_either_survey_gives_the_same_features() {
        // ZTF: 18 mag in r at 0.05 mag error, a 17 mag source under it, seen 2 days before
        // at 18.5 mag.
        let jd = 2_460_100.8;
        let prv = vec![PrvCandidate {
            jd: jd - 2.0,
            fid: 2,
            candid: Some(8),
            magpsf: Some(18.5),
            sigmapsf: Some(0.1),
            isdiffpos: Some(DiffSign::Positive),
            ..Default::default()
        }];
        let z = ztf(jd, 18.0, 0.05, prv);
        let zf = neutral_features(AlertRef::Ztf(&z), &[]);

        // The same told in LSST's terms: nJy fluxes, the aperture flux, round moments
        // stretched to the same elongation, the template flux of a 17 mag source.
        let flux = mag_to_njy(18.0);
        let err = flux * 0.05 / crate::alert::neutral::MAG_PER_RELATIVE_FLUX;
        let mut fields = crate::alert::lsst::FieldMap::default();
        fields.insert("apFlux".into(), number(mag_to_njy(18.1)));
        fields.insert("ixx".into(), number(1.44));
        fields.insert("iyy".into(), number(1.0));
        fields.insert("ixy".into(), number(0.0));
        fields.insert("templateFlux".into(), number(mag_to_njy(17.0)));
        fields.insert("templateFluxErr".into(), number(10.0));
        let mjd = jd - 2_400_000.5;
        let source = DiaSource {
            dia_source_id: 9,
            dia_object_id: Some(1),
            midpoint_mjd_tai: mjd,
            band: "r".into(),
            ra: 150.0,
            dec: 2.0,
            psf_flux: Some(flux),
            psf_flux_err: Some(err),
            reliability: Some(0.9),
            is_negative: Some(false),
            fields,
            ..Default::default()
        };
        let before = DiaSource {
            dia_source_id: 8,
            dia_object_id: Some(1),
            midpoint_mjd_tai: mjd - 2.0,
            band: "r".into(),
            ra: 150.0,
            dec: 2.0,
            psf_flux: Some(mag_to_njy(18.5)),
            psf_flux_err: Some(10.0),
            ..Default::default()
        };
        let l = lsst(source, vec![before]);
        let lf = neutral_features(AlertRef::Lsst(&l), &[]);
        for (i, name) in NEUTRAL_TABULAR_FEATURES.iter().enumerate() {
            let (a, b) = (zf[i], lf[i]);
            assert!(
                (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-4 * a.abs().max(1.0),
                "{name}: ZTF {a}, LSST {b}"
            );
        }
        assert!((zf[0] - 21.714724).abs() < 1e-3, "snr {}", zf[0]);
        assert_eq!(zf[9], 1.0, "one earlier detection");
        assert_eq!(zf[10], 2.0, "two nights");
    }

    #[test]
    fn features_from_the_alert_equal_those_from_its_neutral_summary() {
        let jd = 2_460_100.8;
        let prv = vec![PrvCandidate {
            jd: jd - 1.0,
            fid: 1,
            candid: Some(3),
            magpsf: Some(19.0),
            sigmapsf: Some(0.1),
            isdiffpos: Some(DiffSign::Negative),
            ..Default::default()
        }];
        let z = ztf(jd, 18.0, 0.05, prv);
        let from_alert = neutral_features(AlertRef::Ztf(&z), &[]);
        let summary = z.summary();
        let detection = NeutralDetection::of(AlertRef::Ztf(&z));
        assert_eq!(detection.mjd, summary.mjd);
        assert_eq!(detection.flux, summary.flux);
        let light_curve = NeutralLightCurve::from_ztf(std::slice::from_ref(&z));
        let from_summary = features_of(&detection, &light_curve, summary.survey);
        assert_eq!(
            format!("{from_alert:?}"),
            format!("{from_summary:?}"),
            "NaN-aware equality"
        );
        // The negative earlier detection counts as such.
        assert_eq!(from_alert[16], 1.0);
    }

    #[test]
    fn sky_position_features_are_latitudes() {
        // The summer solstice point lies on the ecliptic (longitude 90) and in the
        // galactic plane (b = -0.02, l = 186): longitudes read as latitudes give 90 and 186.
        let mut z = ztf(2_460_100.8, 18.0, 0.05, Vec::new());
        z.candidate.ra = 90.0;
        z.candidate.dec = 23.439_291_1;
        let v = neutral_features(AlertRef::Ztf(&z), &[]);
        let at = |name: &str| {
            v[NEUTRAL_TABULAR_FEATURES
                .iter()
                .position(|n| *n == name)
                .expect("feature")]
        };
        assert!(at("abs_ecliptic_lat") < 1e-4, "{}", at("abs_ecliptic_lat"));
        assert!(at("abs_galactic_lat") < 0.05, "{}", at("abs_galactic_lat"));
    }

    #[test]
    fn history_older_than_thirty_days_is_not_read() {
        let jd = 2_460_100.8;
        let old = PrvCandidate {
            jd: jd - 45.0,
            fid: 2,
            candid: Some(3),
            magpsf: Some(19.0),
            sigmapsf: Some(0.1),
            isdiffpos: Some(DiffSign::Positive),
            ..Default::default()
        };
        let z = ztf(jd, 18.0, 0.05, vec![old]);
        let f = neutral_features(AlertRef::Ztf(&z), &[]);
        assert_eq!(f[9], 0.0);
        assert_eq!(f[10], 1.0);
        assert!(f[17].is_nan());
    }
}
