//! `stampseq neutralise`: a network that reads its sky position as missing answers the same
//! wherever an alert is on the sky, with the weights it had; tree and fused models, and
//! features the model does not read, are refused with the reason.

use crate::common::stampseq;
use std::path::{Path, PathBuf};

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models")
        .join(name)
}

const SKY: &str = "ra,dec,ecl_lat,ecl_long,gal_lat,gal_long";

/// The probabilities of `model` on the bundled sample, with every alert moved on the sky
/// by `shift` degrees of right ascension (and to the other side of the equator).
fn answers(model: &Path, shift: f64) -> Vec<Vec<f32>> {
    use stampseq::alert::{read_all_any, AnyAlert};

    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let (mut alerts, _) = read_all_any(&[sample], &Default::default());
    assert!(alerts.len() > 20);
    for alert in &mut alerts {
        if let AnyAlert::Ztf(z) = alert {
            z.candidate.ra = (z.candidate.ra + shift).rem_euclid(360.0);
            if shift != 0.0 {
                z.candidate.dec = -z.candidate.dec;
            }
        }
    }
    crate::common::classify_on_cpu(model, alerts)
        .rows
        .into_iter()
        .map(|r| r.probabilities)
        .collect()
}

fn largest_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

#[test]
fn a_network_with_its_sky_position_neutralised_answers_the_same_anywhere_on_the_sky() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The simulation-only reference reads its position (the default's networks ship with
    // it neutralised already).
    let original = bundled("tsc-gru-sim.stampseq");
    let pinned = dir.path().join("pinned.stampseq");
    let out = stampseq()
        .args(["neutralise", "--features", SKY, "--out"])
        .arg(&pinned)
        .arg(&original)
        .output()
        .expect("run neutralise");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("reads ra, dec, ecl_lat, ecl_long, gal_lat, gal_long as missing"),
        "{said}"
    );
    let header = stampseq::model::file::read_header(&pinned).expect("header");
    assert_eq!(header.feature_stats.neutralised.len(), 6);
    assert_eq!(header.format_version, 2, "older builds must refuse it");

    // The original reads the position: moving the alerts changes its answers.
    let moved = largest_difference(&answers(&original, 0.0), &answers(&original, 137.0));
    assert!(moved > 1e-3, "the original moved by {moved}");
    // The neutralised one does not, and it is not the original's answer either.
    let here = answers(&pinned, 0.0);
    let there = answers(&pinned, 137.0);
    assert_eq!(largest_difference(&here, &there), 0.0);
    assert!(largest_difference(&here, &answers(&original, 0.0)) > 1e-4);

    // classify says what the model reads as missing.
    let out = stampseq()
        .args(["classify", "--backend", "cpu", "--model"])
        .arg(&pinned)
        .arg("--out")
        .arg(dir.path().join("answers.csv"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample"))
        .output()
        .expect("run classify");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("; reads ra, dec, ecl_lat"), "{said}");
}

#[test]
fn neutralise_refuses_what_it_cannot_do_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("out.stampseq");
    for (model, features, expect) in [
        (
            "default-trees.stampseq",
            "ra",
            "when trained ([model] neutralised)",
        ),
        (
            "default-fused.stampseq",
            "ra",
            "neutralise its networks, then fuse",
        ),
        ("enhanced-real.stampseq", "drb", "cannot neutralise \"drb\""),
    ] {
        let out = stampseq()
            .args(["neutralise", "--features", features, "--out"])
            .arg(&out_path)
            .arg(bundled(model))
            .output()
            .expect("run neutralise");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{model}: {said}");
        assert!(
            said.contains(expect) && said.contains(model),
            "{model}: {said}"
        );
        assert!(!out_path.exists(), "{model}: nothing is written");
    }
}

/// Each bundled network file reads as missing exactly what its configuration names, and the
/// default answer holds those same files: a network rebuilt, or a list changed, without the
/// other shows here.
#[test]
fn bundled_networks_read_as_missing_what_their_configurations_name() {
    use stampseq::model::file::{header_from_bytes, read_header};
    use std::collections::{BTreeMap, BTreeSet};

    let dir = bundled("");
    let mut configured: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("models folder") {
        let path = entry.expect("entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_none_or(|e| e != "toml") || stem.starts_with('.') {
            continue;
        }
        let config = stampseq::train::TrainConfig::from_toml_file(&path).expect("config");
        if config.neutralised_features.is_empty() {
            continue;
        }
        let header = read_header(&path.with_extension("stampseq")).expect("network file");
        let wanted: BTreeSet<String> = config.neutralised_features.iter().cloned().collect();
        let read: BTreeSet<String> = header.feature_stats.neutralised.iter().cloned().collect();
        assert_eq!(read, wanted, "{stem}.stampseq against {stem}.toml");
        configured.insert(stem.to_string(), wanted);
    }
    assert!(configured.len() >= 6, "{configured:?}");

    let fused_path = bundled("default-fused.stampseq");
    let bytes = std::fs::read(&fused_path).expect("default");
    let header = header_from_bytes(&bytes, &fused_path).expect("default header");
    let members =
        stampseq::model::fused::read_fused_members(&bytes, &header, &fused_path).expect("members");
    let names = stampseq::model::fused::member_names(&header);
    let mut networks = BTreeSet::new();
    for (name, member) in names.iter().zip(&members) {
        let member_header = header_from_bytes(member, &fused_path).expect("member header");
        if let Some(wanted) = configured.get(name) {
            let read: BTreeSet<String> = member_header
                .feature_stats
                .neutralised
                .iter()
                .cloned()
                .collect();
            assert_eq!(&read, wanted, "the default's member {name}");
            networks.insert(name.as_str());
        }
    }
    // The file holds the networks the benchmark fuses when none is named, no other.
    let named: BTreeSet<&str> = stampseq::assets::DEFAULT_FUSED_NETWORKS
        .into_iter()
        .collect();
    assert_eq!(networks, named, "the default's networks");
}
