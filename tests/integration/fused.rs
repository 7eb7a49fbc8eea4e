//! Fused models (`stampseq fuse`, the default answer `default-fused`): the answer is the
//! mean of the members' probabilities, then the rules once; a fused base fine-tunes its
//! trees and keeps its network; bad fusions are refused with the reason.

use crate::common::{data_dir, ztf};
use crate::common::{run_ok, stampseq};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("assets/models/{name}.stampseq"))
}

const FIVE: [&str; 5] = ["AGN", "SN", "VS", "asteroid", "bogus"];

/// `classify --format json` rows of `model` on the bundled sample: (object, k) to
/// (probabilities over the five classes, std over them, disagreement, rule).
type Answer = (Vec<f64>, Vec<f64>, Option<f64>, Option<String>);

/// `stampseq fuse` of the named bundled models (with `weights`, if given) into a file in
/// `dir`.
fn fuse_bundled(dir: &Path, members: &[&str], weights: Option<&str>) -> PathBuf {
    let fused = dir.join(format!("{}.stampseq", members.join("+")));
    let mut command = stampseq();
    command.arg("fuse");
    for member in members {
        command.arg(bundled(member));
    }
    if let Some(weights) = weights {
        command.args(["--weights", weights]);
    }
    run_ok(command.arg("--out").arg(&fused));
    fused
}

fn answers(model: &Path, extra: &[&str]) -> HashMap<(String, u64), Answer> {
    let out = run_ok(
        stampseq()
            .arg("classify")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample"))
            .arg("--model")
            .arg(model)
            .args(["--format", "json", "--backend", "cpu"])
            .args(extra),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let classes: Vec<String> = v["classes"]
        .as_array()
        .expect("classes")
        .iter()
        .map(|c| c.as_str().expect("class").to_string())
        .collect();
    let five = |xs: &serde_json::Value| -> Vec<f64> {
        FIVE.iter()
            .map(|c| {
                classes
                    .iter()
                    .position(|k| k == c)
                    .and_then(|i| xs.as_array().and_then(|a| a.get(i)))
                    .and_then(|x| x.as_f64())
                    .unwrap_or(0.0)
            })
            .collect()
    };
    v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                (
                    r["object_id"].as_str().expect("id").to_string(),
                    r["k"].as_u64().expect("k"),
                ),
                (
                    five(&r["probabilities"]),
                    five(&r["std"]),
                    r["disagreement"].as_f64(),
                    r["rule"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

#[test]
fn a_fused_model_answers_the_mean_of_its_members_then_the_rules_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fused = fuse_bundled(dir.path(), &["default-trees", "enhanced-real"], None);
    let raw = ["--no-rules"];
    let (f, t, n) = (
        answers(&fused, &raw),
        answers(&bundled("default-trees"), &raw),
        answers(&bundled("enhanced-real"), &raw),
    );
    assert_eq!(f.len(), 56, "every detection of the sample answered");
    let mut differ = 0;
    for (key, (p, sd, disagreement, _)) in &f {
        let (pt, sdt, _, _) = &t[key];
        let (pn, _, _, _) = &n[key];
        for c in 0..5 {
            let mean = 0.5 * (pt[c] + pn[c]);
            assert!(
                (p[c] - mean).abs() < 1e-5,
                "{key:?} {}: {} vs {mean}",
                FIVE[c],
                p[c]
            );
            assert!(
                (sd[c] - 0.5 * sdt[c]).abs() < 1e-5,
                "{key:?} sd {}",
                FIVE[c]
            );
        }
        let top = |x: &Vec<f64>| (0..5).max_by(|&a, &b| x[a].total_cmp(&x[b]));
        // The share of the members whose top class is not the fused answer's.
        let expected = [pt, pn].iter().filter(|m| top(m) != top(p)).count() as f64 / 2.0;
        assert_eq!(*disagreement, Some(expected), "{key:?}");
        differ += usize::from(top(pt) != top(pn));
    }
    assert!(differ < f.len(), "the members agree somewhere");
    // With the rules: the stationary rule passes the fused answer once, as for any model.
    let ruled = answers(&fused, &[]);
    let stationary: Vec<_> = ruled
        .iter()
        .filter(|(_, (_, _, _, rule))| rule.as_deref().is_some_and(|r| r.contains("not asteroid")))
        .collect();
    assert!(!stationary.is_empty());
    assert!(stationary.iter().all(|(_, (p, _, _, _))| p[3] == 0.0));
}

#[test]
fn fusing_refuses_a_lone_member_other_features_and_a_cut_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let one = stampseq()
        .arg("fuse")
        .arg(bundled("default-trees"))
        .arg("--out")
        .arg(dir.path().join("one.stampseq"))
        .output()
        .expect("fuse");
    assert!(!one.status.success());
    let mixed = stampseq()
        .arg("fuse")
        .arg(bundled("default-trees"))
        .arg(bundled("neutral-trees"))
        .arg("--out")
        .arg(dir.path().join("mixed.stampseq"))
        .output()
        .expect("fuse");
    assert!(!mixed.status.success());
    let err = String::from_utf8_lossy(&mixed.stderr);
    assert!(err.contains("different surveys or features"), "{err}");
    assert!(!dir.path().join("mixed.stampseq").exists());

    let bytes = std::fs::read(bundled("default-fused")).expect("bundled default");
    let cut = dir.path().join("cut.stampseq");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let out = stampseq()
        .arg("classify")
        .arg(ztf("fixture"))
        .arg("--model")
        .arg(&cut)
        .output()
        .expect("classify");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.stampseq"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `stampseq finetune` of the model file `base` on the vetting labels of
/// `ztf/extra/fink-broker-history` (written into `dir`), which must succeed.
fn fine_tune_on_vetting_labels(dir: &Path, base: &Path) {
    let labels = crate::default_answer::vetting_labels(dir);
    run_ok(
        stampseq()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("finetune")
            .arg(ztf("extra/fink-broker-history"))
            .arg("--model")
            .arg(base)
            .arg("--labels")
            .arg(&labels)
            .arg("--data")
            .arg(data_dir()),
    );
}

#[test]
fn a_fused_base_fine_tunes_its_trees_and_keeps_its_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("default-fused.stampseq");
    let original = std::fs::read(bundled("default-fused")).expect("bundled");
    std::fs::write(&base, &original).expect("copy");
    fine_tune_on_vetting_labels(dir.path(), &base);
    assert_eq!(
        std::fs::read(&base).expect("base"),
        original,
        "base untouched"
    );
    let new: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("default-fused.ft-"))
                && p.extension().is_some_and(|x| x == "stampseq")
        })
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let read = |p: &Path| {
        let bytes = std::fs::read(p).expect("model");
        let header = stampseq::model::file::header_from_bytes(&bytes, p).expect("header");
        let members =
            stampseq::model::fused::read_fused_members(&bytes, &header, p).expect("members");
        (header, members)
    };
    let (old_header, old_members) = read(&base);
    let (new_header, new_members) = read(&new[0]);
    assert_eq!(new_header.kind, stampseq::model::file::ModelKind::Fused);
    assert_eq!(new_header.classes, old_header.classes);
    assert_eq!(new_members.len(), old_members.len());
    for i in 1..old_members.len() {
        assert_eq!(
            new_members[i], old_members[i],
            "network {i} is kept as it was"
        );
    }
    assert_ne!(new_members[0], old_members[0], "the trees are retrained");
    assert!(new_header.provenance.source.contains("fine-tuned"));
}

#[test]
fn a_weighted_fusion_answers_the_weighted_mean_of_its_members() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fused = fuse_bundled(dir.path(), &["default-trees", "enhanced-real"], Some("1,4"));
    let raw = ["--no-rules"];
    let (f, t, n) = (
        answers(&fused, &raw),
        answers(&bundled("default-trees"), &raw),
        answers(&bundled("enhanced-real"), &raw),
    );
    assert_eq!(f.len(), 56, "every detection of the sample answered");
    for (key, (p, sd, _, _)) in &f {
        let (pt, sdt, _, _) = &t[key];
        let (pn, _, _, _) = &n[key];
        for c in 0..5 {
            let mean = 0.2 * pt[c] + 0.8 * pn[c];
            assert!(
                (p[c] - mean).abs() < 1e-5,
                "{key:?} {}: {} vs {mean}",
                FIVE[c],
                p[c]
            );
            assert!(
                (sd[c] - 0.2 * sdt[c]).abs() < 1e-5,
                "{key:?} sd {}",
                FIVE[c]
            );
        }
    }
    let bytes = std::fs::read(&fused).expect("model");
    let header = stampseq::model::file::header_from_bytes(&bytes, &fused).expect("header");
    assert!(
        header
            .provenance
            .source
            .contains("0.20 x default-trees, 0.80 x enhanced-real"),
        "{}",
        header.provenance.source
    );
    // Weights that do not fit the members are refused with the reason.
    let out = stampseq()
        .arg("fuse")
        .arg(bundled("default-trees"))
        .arg(bundled("enhanced-real"))
        .args(["--weights", "1,2,3"])
        .arg("--out")
        .arg(dir.path().join("bad.stampseq"))
        .output()
        .expect("fuse");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("3 weights for 2 members"),
        "{err}"
    );
}

#[test]
fn a_fused_fine_tune_chooses_the_trees_weight_out_of_fold_and_records_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("default-fused.stampseq");
    std::fs::copy(bundled("default-fused"), &base).expect("copy");
    fine_tune_on_vetting_labels(dir.path(), &base);
    let json = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("default-fused.ft-"))
                && p.extension().is_some_and(|x| x == "json")
        })
        .expect("report json");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("read")).expect("json");
    let bytes = std::fs::read(&base).expect("base");
    let base_header = stampseq::model::file::header_from_bytes(&bytes, &base).expect("header");
    let base_weight = stampseq::model::fused::member_weights(&base_header, &base).expect("w")[0];
    let (before, after) = (
        report["trees_weight"][0].as_f64().expect("before"),
        report["trees_weight"][1].as_f64().expect("after"),
    );
    assert!((before - f64::from(base_weight)).abs() < 1e-6);
    let tried: Vec<(f64, f64)> = report["trees_weights_tried"]
        .as_array()
        .expect("tried")
        .iter()
        .map(|t| (t[0].as_f64().expect("w"), t[1].as_f64().expect("ba")))
        .collect();
    assert!(tried.len() >= 7, "{tried:?}");
    assert!(
        (tried[0].0 - before).abs() < 1e-6,
        "the base's weight is tried first"
    );
    let best = tried.iter().map(|t| t.1).fold(f64::MIN, f64::max);
    let chosen = tried.iter().find(|t| t.1 == best).expect("best");
    assert!(
        (chosen.0 - after).abs() < 1e-6,
        "the first best is chosen: {tried:?}"
    );
    let after_ba = report["after"]["balanced_accuracy"]
        .as_f64()
        .expect("after");
    assert!((after_ba - best).abs() < 1e-9);
    // The new model answers with the weight chosen.
    let new = json.with_extension("stampseq");
    let new_bytes = std::fs::read(&new).expect("new model");
    let new_header = stampseq::model::file::header_from_bytes(&new_bytes, &new).expect("header");
    let w = stampseq::model::fused::member_weights(&new_header, &new).expect("weights");
    assert!(
        (f64::from(w[0]) - after).abs() < 1e-6,
        "{w:?} against {after}"
    );
}

#[test]
fn an_ensemble_of_networks_adds_the_spread_of_its_members_to_the_trees_spread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fused = fuse_bundled(
        dir.path(),
        &["default-trees", "enhanced-real", "tsc-gru-real"],
        Some("1,2,2"),
    );
    let raw = ["--no-rules"];
    let (f, t, a, b) = (
        answers(&fused, &raw),
        answers(&bundled("default-trees"), &raw),
        answers(&bundled("enhanced-real"), &raw),
        answers(&bundled("tsc-gru-real"), &raw),
    );
    assert_eq!(f.len(), 56, "every detection of the sample answered");
    let mut spread = 0.0;
    for (key, (p, sd, _, _)) in &f {
        let (pt, sdt, _, _) = &t[key];
        let (pa, _, _, _) = &a[key];
        let (pb, _, _, _) = &b[key];
        for c in 0..5 {
            let mean = 0.2 * pt[c] + 0.4 * (pa[c] + pb[c]);
            assert!((p[c] - mean).abs() < 1e-5, "{key:?} {}", FIVE[c]);
            // The trees' spread at their weight, and the two networks' (at equal weight,
            // half their difference) at theirs, added in quadrature.
            let networks = 0.8 * 0.5 * (pa[c] - pb[c]).abs();
            let expected = ((0.2 * sdt[c]).powi(2) + networks.powi(2)).sqrt();
            assert!(
                (sd[c] - expected).abs() < 1e-5,
                "{key:?} sd {}: {} vs {expected}",
                FIVE[c],
                sd[c]
            );
            spread += sd[c];
        }
    }
    assert!(spread > 0.0, "the networks differ somewhere");
}
