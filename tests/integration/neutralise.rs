//! `stampseq neutralise`: a network that reads its sky position as missing answers the same
//! wherever an alert is on the sky, with the weights it had; tree and fused models, and
//! features the model does not read, are refused with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;

fn stampseq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stampseq"))
}

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
    let original = bundled("enhanced-real.stampseq");
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
