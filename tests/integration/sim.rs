//! The alert simulator: files other tools can read, and physics with known answers.

use crate::common::{run_ok, stampseq};
use stampseq::alert::{read_all, ReadOptions};
use stampseq::sim::artefacts::Artefact;
use stampseq::sim::physics::{aperture_sum, brightest_centroid, robust_sigma, SIDE};
use stampseq::sim::{self, SimClass, SimConfig, SimObject, TemplateBank};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample")
}

fn config(out: &Path, objects: usize, seed: u64) -> SimConfig {
    SimConfig {
        out: out.to_path_buf(),
        objects,
        seed,
        templates: vec![sample()],
        exclude_objects: Default::default(),
        min_detections: 2,
        max_detections: 5,
    }
}

/// Every file under `dir` with its bytes, by path relative to `dir`.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir").to_path_buf();
                out.insert(rel, std::fs::read(&p).expect("read file"));
            }
        }
    }
    out
}

fn labels(dir: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir.join("labels.csv")).expect("labels.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("objectId,label"));
    lines
        .map(|l| {
            let (id, label) = l.split_once(',').expect("two columns");
            (id.to_string(), label.to_string())
        })
        .collect()
}

#[test]
fn simulated_alerts_read_back_complete_with_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = sim::run(&config(dir.path(), 20, 7)).expect("simulate");
    assert_eq!(summary.objects, 20);

    let (alerts, read) = read_all(&[dir.path()], &ReadOptions::default());
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    assert_eq!(alerts.len(), summary.alerts);
    for a in &alerts {
        assert!(a.cutouts.is_complete(), "{}", a.object_id);
        for s in [
            &a.cutouts.science,
            &a.cutouts.template,
            &a.cutouts.difference,
        ] {
            let s = s.as_ref().expect("cutout");
            assert_eq!((s.width, s.height), (63, 63));
            assert_eq!(s.nan_count(), 0);
        }
        assert_eq!(a.schema_version.as_deref(), Some("4.02"));
        let file = Path::new(&*a.origin.file);
        assert_eq!(
            file.file_name().and_then(|n| n.to_str()),
            Some(format!("{}_{}.avro", a.object_id, a.candid.expect("candid")).as_str())
        );
        assert_eq!(
            file.parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str()),
            Some(a.object_id.as_str())
        );
    }
    let mut candids: Vec<i64> = alerts.iter().filter_map(|a| a.candid).collect();
    candids.sort();
    candids.dedup();
    assert_eq!(candids.len(), alerts.len(), "candids are unique");

    let labels = labels(dir.path());
    assert_eq!(labels.len(), 20);
    let mut per_class = BTreeMap::new();
    for (id, label) in &labels {
        assert!(["AGN", "SN", "VS", "asteroid", "bogus"].contains(&label.as_str()));
        *per_class.entry(label.clone()).or_insert(0) += 1;
        let n = alerts.iter().filter(|a| &a.object_id == id).count();
        assert!(n >= 1, "{id} has alerts");
        if label == "asteroid" {
            assert_eq!(n, 1, "an asteroid is seen once");
        }
    }
    assert!(per_class.values().all(|n| *n == 4), "{per_class:?}");
    let ids: std::collections::HashSet<_> = labels.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 20, "each object listed once");

    for a in &alerts {
        let label = &labels
            .iter()
            .find(|(id, _)| *id == a.object_id)
            .expect("labelled")
            .1;
        let c = &a.candidate;
        if label == "asteroid" {
            assert!(c.ssdistnr.is_some_and(|d| d >= 0.0));
            assert!(c.near_known_asteroid());
        } else {
            assert_eq!(c.ssdistnr, Some(-999.0));
        }
        assert!(matches!(c.fid, 1 | 2));
        assert!(c.magpsf > 10.0 && c.magpsf < 23.0 && c.sigmapsf > 0.0);
        assert!(c.ndethist.is_some_and(|n| n >= 1) && c.ncovhist >= c.ndethist);
        // Earlier detections of the object ride along in prv_candidates.
        let earlier = alerts
            .iter()
            .filter(|b| b.object_id == a.object_id && b.candidate.jd < c.jd)
            .filter(|b| c.jd - b.candidate.jd <= 30.0)
            .count();
        let prv_det = a.prv_candidates.iter().filter(|p| p.is_detection()).count();
        assert_eq!(prv_det, earlier, "{}", a.object_id);
    }
}

#[test]
fn the_seed_decides_every_byte() {
    let (a, b, c) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    sim::run(&config(a.path(), 6, 3)).expect("simulate");
    sim::run(&config(b.path(), 6, 3)).expect("simulate");
    sim::run(&config(c.path(), 6, 4)).expect("simulate");
    let (ta, tb, tc) = (tree(a.path()), tree(b.path()), tree(c.path()));
    assert!(ta.len() > 6);
    assert_eq!(ta, tb);
    assert_ne!(ta.keys().collect::<Vec<_>>(), tc.keys().collect::<Vec<_>>());
}

fn objects_of(class: SimClass, count: usize) -> Vec<SimObject> {
    let bank = TemplateBank::load(&[sample()]).expect("templates");
    let cfg = config(Path::new("unused"), 1, 11);
    (0..)
        .filter(|i| SimClass::ALL[i % 5] == class)
        .take(count)
        .map(|i| sim::simulate_index(&bank, &cfg, i).0)
        .collect()
}

/// Noise of a difference stamp from its outer pixels, where no source is.
fn outer_sigma(img: &[f32]) -> f64 {
    let outer: Vec<f32> = (0..SIDE * SIDE)
        .filter(|i| {
            let (r, c) = ((i / SIDE) as i64 - 31, (i % SIDE) as i64 - 31);
            r * r + c * c > 15 * 15
        })
        .map(|i| img[i])
        .collect();
    robust_sigma(&outer)
}

#[test]
fn injected_flux_is_recovered_by_aperture_photometry() {
    let mut checked = 0;
    for obj in objects_of(SimClass::Sn, 6)
        .iter()
        .chain(&objects_of(SimClass::Asteroid, 6))
    {
        for e in obj.detections() {
            if e.phot.snr() < 20.0 {
                continue;
            }
            let (x, y) = obj.truth.source;
            let radius = 3.0 * e.fwhm_arcsec / 1.01;
            let (sum, n) = aperture_sum(&e.difference, x, y, radius);
            let noise = outer_sigma(&e.difference) * (n as f64).sqrt();
            let err = (sum - e.true_flux).abs();
            assert!(
                err < 4.0 * noise + 0.02 * e.true_flux,
                "{}: aperture {sum:.0} vs injected {:.0} (noise {noise:.0})",
                obj.object_id,
                e.true_flux
            );
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} bright detections");
}

fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// Centroid of the brightest (sign-corrected) difference source near the stamp centre.
fn difference_centroid(e: &sim::Epoch) -> (f64, f64) {
    let sign = e.phot.flux.signum() as f32;
    let img: Vec<f32> = e.difference.iter().map(|v| v * sign).collect();
    let (x, y, _) = brightest_centroid(&img, 31.0, 31.0, 6.0).expect("a source");
    (x, y)
}

#[test]
fn supernovae_sit_off_their_hosts_and_agn_on_them() {
    let mut bright = 0;
    for obj in objects_of(SimClass::Sn, 8) {
        let host = obj.truth.host_centre.expect("SN host");
        let offset = obj.truth.host_offset_arcsec.expect("offset");
        assert!((0.5..=3.0).contains(&offset));
        let e = obj
            .detections()
            .max_by(|a, b| a.phot.snr().total_cmp(&b.phot.snr()))
            .expect("detection");
        let c = difference_centroid(e);
        // Centroids of faint detections scatter by more than the offsets being tested.
        if e.phot.snr() > 15.0 {
            bright += 1;
            assert!(distance(c, obj.truth.source) < 0.35, "{}", obj.object_id);
            assert!(
                (distance(c, host) - offset / 1.01).abs() < 0.4,
                "{}: centroid {c:?} host {host:?} offset {offset}",
                obj.object_id
            );
        }
        // The host is where the template is brightest near it.
        let (tx, ty, _) = brightest_centroid(&e.template, host.0, host.1, 2.0).expect("host");
        assert!(distance((tx, ty), host) < 0.6, "{}", obj.object_id);
    }
    assert!(bright >= 2, "only {bright} bright supernovae");
    for obj in objects_of(SimClass::Agn, 5) {
        let host = obj.truth.host_centre.expect("AGN host");
        let e = obj
            .detections()
            .max_by(|a, b| a.phot.snr().abs().total_cmp(&b.phot.snr().abs()))
            .expect("detection");
        assert!(
            distance(difference_centroid(e), host) < 0.35,
            "{}",
            obj.object_id
        );
    }
}

#[test]
fn a_dipole_has_both_signs() {
    let obj = objects_of(SimClass::Bogus, 40)
        .into_iter()
        .find(|o| o.truth.artefact == Some(Artefact::Dipole))
        .expect("a dipole among 40 artefacts");
    let e = obj.detections().next().expect("detection");
    let sigma = outer_sigma(&e.difference) as f32;
    let max = e.difference.iter().copied().fold(f32::MIN, f32::max);
    let min = e.difference.iter().copied().fold(f32::MAX, f32::min);
    assert!(
        max > 10.0 * sigma && min < -10.0 * sigma,
        "{max} {min} {sigma}"
    );
}

#[test]
fn asteroids_are_single_detections_without_host() {
    for obj in objects_of(SimClass::Asteroid, 5) {
        assert_eq!(obj.detections().count(), 1);
        assert!(obj.truth.host_centre.is_none());
    }
}

#[test]
fn simulate_command_writes_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    run_ok(
        stampseq()
            .args(["simulate", "--objects", "5", "--seed", "2", "--out"])
            .arg(dir.path()),
    );
    let labels = labels(dir.path());
    assert_eq!(labels.len(), 5);
    for (id, _) in &labels {
        let files = std::fs::read_dir(dir.path().join(id))
            .expect("object folder")
            .count();
        assert!(files >= 1);
    }
    let bad = stampseq()
        .args([
            "simulate",
            "--objects",
            "2",
            "--min-detections",
            "4",
            "--max-detections",
            "2",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("run stampseq");
    assert!(!bad.status.success());
}

#[test]
fn templates_of_excluded_objects_are_never_used() {
    let all = TemplateBank::load(&[sample()]).expect("templates");
    let sources = |bank: &TemplateBank| -> std::collections::BTreeSet<String> {
        bank.fields
            .iter()
            .flat_map(|f| f.bands.values().map(|t| t.source.clone()))
            .collect()
    };
    assert!(sources(&all).contains("ZTF18abslpjy"));
    let excluded: std::collections::BTreeSet<String> =
        ["ZTF18abslpjy".to_string()].into_iter().collect();
    let bank = TemplateBank::load_excluding(&[sample()], &excluded).expect("templates");
    assert!(!sources(&bank).contains("ZTF18abslpjy"));
    assert_eq!(bank.fields.len() + 1, all.fields.len());
    // Nothing left to draw from: a clear error, not a silent reuse.
    let every = sources(&all);
    match TemplateBank::load_excluding(&[sample()], &every) {
        Err(e) => assert!(e.to_string().contains("excluded"), "{e}"),
        Ok(_) => panic!("every template was excluded"),
    }
}
