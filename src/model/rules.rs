//! Physics the alert already carries, applied after a model as documented rules, because a
//! few hundred labelled objects cannot teach a network what a sentence can:
//!
//! 1. **Stationary**: a source detected at one position (ZTF associates detections within
//!    1.5") on two or more nights, or twice at least [`STATIONARY_MINUTES`] apart, is not a
//!    moving object (a main-belt asteroid moves 1.5" in a few minutes), so its asteroid
//!    probability is set to zero and the rest renormalised. This rule wins over 2: a known
//!    asteroid passing over a variable source does not make the source move.
//! 2. **Known solar-system object**: `ssdistnr` (distance to the nearest known asteroid or
//!    comet predicted in the image, from the MPC orbit catalogue) below
//!    [`KNOWN_SSO_RADIUS_ARCSEC`] makes the alert an asteroid, as ALeRCE's production
//!    rules do.
//! 3. **No known object, bright**: the catalogue of known asteroids is essentially complete
//!    to V of about 19.5 for the main belt, so an alert brighter than
//!    [`COMPLETE_SSO_MAG`] with no known solar-system object within 5" is rarely an
//!    asteroid: its asteroid probability is scaled by [`UNKNOWN_BRIGHT_SSO_FACTOR`].
//! 4. **New source, not a star**: a variable star is detected again and again where it
//!    sits; a positive source first detected less than [`NEW_SOURCE_DAYS`] ago at a
//!    position imaged at least [`NEW_SOURCE_MISSES`] times without a detection is rarely
//!    one (3 of the 229 training variable stars, against 28 of the 40 supernovae), so its
//!    variable-star probability is scaled by [`NEW_SOURCE_VS_FACTOR`]. AGN are left alone:
//!    a faint nucleus is often first seen in a flare.
//! 5. **Mid-infrared colour** (only when an AllWISE catalogue is given): W1 - W2 of at least
//!    [`AGN_W1_W2`] Vega mag marks an AGN (Stern et al. 2012: hot dust around an accreting
//!    black hole; stars and normal galaxies sit near 0), so P(AGN) is scaled up by
//!    [`AGN_WISE_FACTOR`] and the rest renormalised.
//! 6. **Real/bogus**: where the alert carries ZTF's deep real/bogus score `drb` (schema 3.3
//!    and later; Duev et al. 2019), the bogus probability is 0 above ZTF's threshold of 0.5
//!    and rises to 1 at `drb` = 0 (`2 (0.5 - drb)`); the astrophysical classes share the
//!    rest in the model's proportions. Older alerts carry
//!    only the coarser `rb`, and the model's own bogus answer stands. An LSST alert's
//!    `reliability` is read the same way.
//!
//! The rules are written once ([`apply_facts`]) on what each survey says of a detection
//! ([`RuleFacts`], asked of the survey in `features/`): for LSST, rule 1 counts one
//! `diaObject`'s detections and rule 2 reads `ssSource` / `ssObjectId`.

use crate::alert::{Alert, AlertRef};
use crate::features::facts::RuleFacts;

/// Within this distance of a known solar-system object an alert is that object.
pub use crate::features::facts::KNOWN_SSO_RADIUS_ARCSEC;
/// Two detections at one position this far apart in time mean the source stays put.
pub const STATIONARY_MINUTES: f64 = 30.0;
/// Brighter than this, an asteroid would be a known one.
pub const COMPLETE_SSO_MAG: f64 = 18.5;
pub const UNKNOWN_BRIGHT_SSO_FACTOR: f32 = 0.1;
pub const NEW_SOURCE_DAYS: f64 = 90.0;
pub const NEW_SOURCE_MISSES: i32 = 100;
pub const NEW_SOURCE_VS_FACTOR: f32 = 0.2;
/// Stern et al. (2012)'s AGN criterion, W1 - W2 >= 0.8 (Vega).
pub const AGN_W1_W2: f64 = 0.8;
pub const AGN_WISE_FACTOR: f32 = 5.0;
/// ZTF's deep real/bogus threshold (Duev et al. 2019).
pub const DRB_THRESHOLD: f64 = 0.5;

/// Applies the mid-infrared colour rule (rule 5) to an answer; `w1_w2` is the AllWISE
/// colour of the nearest source within the search radius. Returns the note if it fired.
pub fn apply_wise(
    w1_w2: f64,
    classes: &[String],
    probs: &mut [f32],
    std: Option<&mut [f32]>,
) -> Option<RuleNote> {
    let agn = classes.iter().position(|c| c == "AGN")?;
    if !(w1_w2.is_finite() && w1_w2 >= AGN_W1_W2) || probs[agn] >= 1.0 {
        return None;
    }
    let mut scale = vec![1.0f32; probs.len()];
    let before = probs[agn];
    // Scaling up is shrinking the rest: P(AGN) / (1 - P(AGN)) grows by the factor.
    let odds = before / (1.0 - before).max(1e-6) * AGN_WISE_FACTOR;
    let after = odds / (1.0 + odds);
    let rest = 1.0 - before;
    if rest > 1e-6 {
        let f = (1.0 - after) / rest;
        for (k, p) in probs.iter_mut().enumerate() {
            if k != agn {
                *p *= f;
                scale[k] = f;
            }
        }
    }
    probs[agn] = after;
    if let Some(std) = std {
        carry_spread(std, &scale, probs);
    }
    Some(format!(
        "AGN-like: AllWISE W1-W2 = {w1_w2:.2} (>= {AGN_W1_W2}, Stern et al. 2012)"
    ))
}

/// Scales each class's spread as the rules scaled its probability, within what a spread of
/// probabilities with that mean can be: members' probabilities in [0, 1] with mean p spread
/// by at most sqrt(p (1 - p)) (Bhatia and Davis 2000). Renormalising after shrinking one
/// class scales the others up, and their spread would otherwise pass that bound (a
/// probability of 0.92 with a spread of 0.52).
fn carry_spread(std: &mut [f32], scale: &[f32], probs: &[f32]) {
    for ((s, f), p) in std.iter_mut().zip(scale).zip(probs) {
        let p = p.clamp(0.0, 1.0);
        *s = (*s * f).min((p * (1.0 - p)).sqrt());
    }
}

/// Scales class `k` of `probs` by `factor` and renormalises the others so that the sum
/// stays one; `scale` follows each class's factor (for the ensemble spread).
fn shrink(probs: &mut [f32], scale: &mut [f32], k: usize, factor: f32) -> bool {
    let before = probs[k];
    let rest = 1.0 - before;
    if before <= 0.0 || rest <= 1e-6 {
        return false;
    }
    let after = before * factor;
    let f = (1.0 - after) / rest;
    for (i, p) in probs.iter_mut().enumerate() {
        if i != k {
            *p *= f;
            scale[i] *= f;
        }
    }
    probs[k] = after;
    scale[k] *= factor;
    true
}

/// A rule that changed an answer, and why, in words for a table cell.
pub type RuleNote = String;

/// Applies the rules to `probs` (and scales the per-class `std` alongside) for `alert`,
/// given the object's alerts before it. Classes the model lacks are left alone. Returns
/// the rules that changed the answer, joined by "; ", or None.
pub fn apply(
    alert: &Alert,
    earlier: &[&Alert],
    classes: &[String],
    probs: &mut [f32],
    std: Option<&mut [f32]>,
) -> Option<RuleNote> {
    apply_knowing(alert, earlier, &[], classes, probs, std)
}

/// [`apply`], where the stationary rule also counts the object's `later` alerts: the
/// source of an object seen at one position on several nights never moved, at any of its
/// detections. The app and `classify` know every loaded alert of an object; a benchmark
/// scoring the answer after N detections must not look ahead, and passes none.
pub fn apply_knowing(
    alert: &Alert,
    earlier: &[&Alert],
    later: &[&Alert],
    classes: &[String],
    probs: &mut [f32],
    std: Option<&mut [f32]>,
) -> Option<RuleNote> {
    let earlier: Vec<AlertRef> = earlier.iter().map(|a| AlertRef::from(*a)).collect();
    let later: Vec<AlertRef> = later.iter().map(|a| AlertRef::from(*a)).collect();
    let facts = RuleFacts::of(alert.into(), &earlier, &later);
    apply_facts(&facts, classes, probs, std)
}

/// The rules for a Rubin/LSST alert on the history it carries: the same rules as for ZTF,
/// on what LSST says of them ([`RuleFacts`]): stationary as one `diaObject`, a known
/// solar-system object from `ssSource` or an `ssObjectId` on the source, the
/// brightness of an unknown asteroid, `reliability` as ZTF's `drb`. The new-source rule
/// needs ZTF's count of past images at the position, which LSST alerts do not carry.
pub fn apply_lsst(
    alert: &crate::alert::lsst::LsstAlert,
    classes: &[String],
    probs: &mut [f32],
    std: Option<&mut [f32]>,
) -> Option<RuleNote> {
    let facts = RuleFacts::of(alert.into(), &[], &[]);
    apply_facts(&facts, classes, probs, std)
}

/// The rules, written once for every survey, on what the survey says of the detection
/// ([`RuleFacts`], asked of it in `features/`).
pub fn apply_facts(
    facts: &RuleFacts,
    classes: &[String],
    probs: &mut [f32],
    std: Option<&mut [f32]>,
) -> Option<RuleNote> {
    let idx = |name: &str| classes.iter().position(|c| c == name);
    let mut notes = Vec::new();
    let mut scale = vec![1.0f32; probs.len()];
    let mut one_hot = None;
    let nights = facts.nights;
    let span_minutes = facts.span_minutes;
    let ast = idx("asteroid");
    let known_sso = facts.known_sso.as_ref();
    if let Some(a) = ast {
        if facts.one_place && (nights >= 2 || span_minutes >= STATIONARY_MINUTES) {
            if probs[a] > 0.0 {
                let rest = 1.0 - probs[a];
                if rest > 1e-6 {
                    for (k, p) in probs.iter_mut().enumerate() {
                        if k != a {
                            scale[k] = 1.0 / rest;
                            *p /= rest;
                        }
                    }
                }
                probs[a] = 0.0;
                scale[a] = 0.0;
                let place = facts.place_words;
                notes.push(if nights >= 2 {
                    format!("not asteroid: detected on {nights} nights {place}")
                } else {
                    format!("not asteroid: detected {span_minutes:.0} min apart {place}")
                });
            }
        } else if let Some(note) = known_sso {
            one_hot = Some(a);
            notes.push(note.clone());
        }
    }
    if let (Some(a), None, None) = (ast, one_hot, known_sso) {
        if let Some(mag) = facts.mag.filter(|m| *m < COMPLETE_SSO_MAG) {
            let before = probs[a];
            if shrink(probs, &mut scale, a, UNKNOWN_BRIGHT_SSO_FACTOR) && before > 0.5 {
                notes.push(format!(
                    "unlikely asteroid: {mag:.1} mag with no known solar-system object near"
                ));
            }
        }
    }
    if let (Some(v), None) = (idx("VS"), one_hot) {
        let fresh = facts
            .new_source
            .filter(|(days, misses)| *days < NEW_SOURCE_DAYS && *misses >= NEW_SOURCE_MISSES);
        if let Some((days, misses)) = fresh {
            let before = probs[v];
            if shrink(probs, &mut scale, v, NEW_SOURCE_VS_FACTOR) && before > 0.3 {
                notes.push(format!(
                    "unlikely variable star: first seen {days:.0} days ago at a position imaged {misses} times before"
                ));
            }
        }
    }
    if let Some(a) = one_hot {
        probs.iter_mut().for_each(|p| *p = 0.0);
        probs[a] = 1.0;
        if let Some(std) = std {
            std.iter_mut().for_each(|s| *s = 0.0);
        }
        return Some(notes.join("; "));
    }
    if let (Some(b), Some((score, name))) = (idx("bogus"), facts.real_bogus) {
        // The score is not a calibrated probability: above the survey's threshold the
        // pipeline calls the detection real, below it the bogus share grows to 1.
        let bogus = (2.0 * (DRB_THRESHOLD - score)).clamp(0.0, 1.0) as f32;
        let real = 1.0 - probs[b];
        if real > 1e-6 {
            let f = (1.0 - bogus) / real;
            for (k, p) in probs.iter_mut().enumerate() {
                if k != b {
                    *p *= f;
                    scale[k] *= f;
                }
            }
            probs[b] = bogus;
            scale[b] = 0.0;
            if score < DRB_THRESHOLD {
                notes.push(format!("bogus: {name} {score:.2}"));
            }
        }
    }
    if let Some(std) = std {
        carry_spread(std, &scale, probs);
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{AlertOrigin, Candidate, PrvCandidate};

    fn classes() -> Vec<String> {
        ["AGN", "SN", "VS", "asteroid", "bogus"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn alert(jd: f64, ssdistnr: f64, prv: Vec<PrvCandidate>) -> Alert {
        Alert {
            object_id: "ZTFtest".into(),
            candid: Some(jd as i64),
            schema_version: None,
            publisher: None,
            candidate: Candidate {
                jd,
                fid: 1,
                magpsf: 18.0,
                ssdistnr: Some(ssdistnr),
                drb: Some(0.9),
                ..Default::default()
            },
            prv_candidates: prv,
            fp_hists: Vec::new(),
            cutouts: Default::default(),
            label: None,
            broker_columns: Default::default(),
            origin: AlertOrigin {
                file: "t".into(),
                record: 0,
            },
        }
    }

    #[test]
    fn a_source_seen_on_two_nights_is_never_an_asteroid() {
        let first = alert(2_460_000.7, -999.0, Vec::new());
        // A known asteroid 1" away, but the object was detected two nights before.
        let second = alert(2_460_002.7, 1.0, Vec::new());
        let mut p = vec![0.1, 0.1, 0.1, 0.6, 0.1];
        let mut s = vec![0.05; 5];
        let note = apply(&second, &[&first], &classes(), &mut p, Some(&mut s)).unwrap();
        assert!(note.contains("2 nights"), "{note}");
        assert_eq!(p[3], 0.0);
        assert_eq!(s[3], 0.0);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // The same from the alert's own history, with no earlier alert loaded.
        let prv = vec![PrvCandidate {
            jd: 2_460_000.7,
            fid: 1,
            candid: Some(5),
            magpsf: Some(18.2),
            ..Default::default()
        }];
        let mut p = vec![0.1, 0.1, 0.1, 0.6, 0.1];
        apply(&alert(2_460_002.7, 1.0, prv), &[], &classes(), &mut p, None);
        assert_eq!(p[3], 0.0);
    }

    #[test]
    fn a_known_solar_system_object_on_one_night_is_an_asteroid() {
        let mut p = vec![0.5, 0.2, 0.2, 0.05, 0.05];
        let note = apply(
            &alert(2_460_000.7, 2.5, Vec::new()),
            &[],
            &classes(),
            &mut p,
            None,
        );
        assert!(note.unwrap().contains("2.5\""));
        assert_eq!(p, vec![0.0, 0.0, 0.0, 1.0, 0.0]);
        let mut p = vec![0.5, 0.2, 0.2, 0.05, 0.05];
        assert!(apply(
            &alert(2_460_000.7, 7.0, Vec::new()),
            &[],
            &classes(),
            &mut p,
            None
        )
        .is_none());
    }

    #[test]
    fn later_alerts_count_when_given() {
        let first = alert(2_460_000.7, -999.0, Vec::new());
        let second = alert(2_460_003.7, -999.0, Vec::new());
        let mut p = vec![0.1, 0.1, 0.1, 0.6, 0.1];
        apply(&first, &[], &classes(), &mut p, None);
        assert!(p[3] > 0.0, "no look-ahead by default");
        let mut p = vec![0.1, 0.1, 0.1, 0.6, 0.1];
        let note = apply_knowing(&first, &[], &[&second], &classes(), &mut p, None).unwrap();
        assert!(note.contains("2 nights"), "{note}");
        assert_eq!(p[3], 0.0);
    }

    #[test]
    fn two_detections_an_hour_apart_are_not_a_moving_object() {
        let first = alert(2_460_000.70, -999.0, Vec::new());
        let second = alert(2_460_000.74, -999.0, Vec::new());
        let mut p = vec![0.1, 0.1, 0.1, 0.6, 0.1];
        let note = apply(&second, &[&first], &classes(), &mut p, None).unwrap();
        assert!(note.contains("min apart"), "{note}");
        assert_eq!(p[3], 0.0);
        // Ten minutes apart: an asteroid could still be there.
        let close = alert(2_460_000.707, -999.0, Vec::new());
        let mut p = vec![0.1, 0.1, 0.1, 0.6, 0.1];
        apply(&close, &[&first], &classes(), &mut p, None);
        assert!(p[3] > 0.0);
    }

    #[test]
    fn a_bright_alert_with_no_known_object_is_rarely_an_asteroid() {
        let mut a = alert(2_460_000.7, -999.0, Vec::new());
        a.candidate.drb = None;
        a.candidate.magpsf = 15.0;
        let mut p = vec![0.1, 0.2, 0.1, 0.6, 0.0];
        let note = apply(&a, &[], &classes(), &mut p, None).unwrap();
        assert!(note.contains("15.0 mag"), "{note}");
        assert!((p[3] - 0.06).abs() < 1e-6);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Faint: the catalogue of known asteroids is not complete there.
        a.candidate.magpsf = 20.0;
        let mut p = vec![0.1, 0.2, 0.1, 0.6, 0.0];
        assert!(apply(&a, &[], &classes(), &mut p, None).is_none());
        assert_eq!(p[3], 0.6);
    }

    #[test]
    fn a_new_source_is_rarely_a_variable_star() {
        let mut a = alert(2_460_000.7, -999.0, Vec::new());
        a.candidate.drb = None;
        a.candidate.magpsf = 19.0;
        a.candidate.isdiffpos = Some(crate::alert::DiffSign::Positive);
        a.candidate.jdstarthist = Some(2_460_000.7 - 10.0);
        a.candidate.ndethist = Some(5);
        a.candidate.ncovhist = Some(400);
        let mut p = vec![0.1, 0.3, 0.6, 0.0, 0.0];
        let note = apply(&a, &[], &classes(), &mut p, None).unwrap();
        assert!(note.contains("first seen 10 days ago"), "{note}");
        assert!((p[2] - 0.12).abs() < 1e-6);
        assert!(p[1] > p[2]);
        // Detected for years at this position: a star may well be there.
        a.candidate.jdstarthist = Some(2_460_000.7 - 1000.0);
        let mut p = vec![0.1, 0.3, 0.6, 0.0, 0.0];
        apply(&a, &[], &classes(), &mut p, None);
        assert_eq!(p[2], 0.6);
    }

    #[test]
    fn a_red_mid_infrared_colour_raises_agn() {
        let mut p = vec![0.2, 0.2, 0.6, 0.0, 0.0];
        let note = apply_wise(1.1, &classes(), &mut p, None).unwrap();
        assert!(note.contains("1.10"), "{note}");
        // Odds 0.25 x 5 = 1.25: P(AGN) = 5/9.
        assert!((p[0] - 5.0 / 9.0).abs() < 1e-5, "{p:?}");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let mut p = vec![0.2, 0.2, 0.6, 0.0, 0.0];
        assert!(apply_wise(0.1, &classes(), &mut p, None).is_none());
        assert!(apply_wise(f64::NAN, &classes(), &mut p, None).is_none());
        assert_eq!(p[0], 0.2);
    }

    #[test]
    fn bogus_follows_the_real_bogus_score() {
        let mut a = alert(2_460_000.7, -999.0, Vec::new());
        a.candidate.drb = Some(0.2);
        let mut p = vec![0.6, 0.2, 0.2, 0.0, 0.0];
        let note = apply(&a, &[], &classes(), &mut p, None).unwrap();
        assert!(note.contains("drb 0.20"));
        assert!((p[4] - 0.6).abs() < 1e-6, "{p:?}");
        assert!((p[0] - 0.24).abs() < 1e-6);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Above ZTF's threshold the detection is real: no bogus share.
        a.candidate.drb = Some(0.57);
        let mut p = vec![0.3, 0.2, 0.2, 0.0, 0.3];
        assert!(apply(&a, &[], &classes(), &mut p, None).is_none());
        assert_eq!(p[4], 0.0);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }

    #[test]
    fn a_spread_carried_through_the_rules_stays_within_what_its_probability_allows() {
        // Two of six networks say SN, four VS; then the VS is cut five-fold and SN is
        // scaled up by the renormalisation, and so would its spread be.
        let mut probs = [0.2f32, 0.8];
        let mut std = [0.45f32, 0.45];
        carry_spread(&mut std, &[1.0, 1.0], &probs);
        assert!(
            std.iter().all(|s| (s - 0.4).abs() < 1e-6),
            "within sqrt(p (1 - p)): {std:?}"
        );
        let scale = [1.0 / 0.36, 0.2 / 0.36];
        probs = [0.2 / 0.36, 0.16 / 0.36];
        let mut std = [0.45f32, 0.45];
        carry_spread(&mut std, &scale, &probs);
        let bound = |p: f32| (p * (1.0 - p)).sqrt();
        assert!((std[0] - bound(probs[0])).abs() < 1e-6, "{std:?}");
        assert!((std[1] - 0.45 * 0.2 / 0.36).abs() < 1e-6, "{std:?}");
        assert!(std.iter().all(|s| *s <= 0.5));
    }
}
