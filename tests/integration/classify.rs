//! End to end: `import-alerce` on the ALeRCE weights, then `classify` on the raw alerts,
//! against the probabilities of the original TensorFlow graph for all 580 reference alerts.

use crate::common::{data_dir, ztf};
use crate::common::{run_ok, stampseq};
use std::collections::HashMap;

#[test]
fn import_then_classify_matches_tensorflow_on_the_raw_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("alerce.stampseq");
    run_ok(
        stampseq()
            .arg("import-alerce")
            .arg(data_dir().join("alerce/alerce_stamp_classifier.safetensors"))
            .arg("--out")
            .arg(&model),
    );

    // Every file the reference rows come from.
    let mut reference = csv::Reader::from_path(data_dir().join("alerce/reference_probs.csv"))
        .expect("reference_probs.csv");
    let mut expected: Vec<(String, usize, [f64; 5])> = Vec::new();
    for row in reference.records() {
        let row = row.expect("row");
        let (file, record) = match row[2].split_once('#') {
            Some((f, k)) => (f.to_string(), k.parse().expect("record")),
            None => (row[2].to_string(), 0),
        };
        let p = |i: usize| row[3 + i].parse::<f64>().expect("probability");
        expected.push((file, record, [p(0), p(1), p(2), p(3), p(4)]));
    }
    let mut files: Vec<&String> = expected.iter().map(|e| &e.0).collect();
    files.sort();
    files.dedup();
    let csv_out = dir.path().join("classified.csv");
    run_ok(
        stampseq()
            .arg("classify")
            .args(files.iter().map(|f| ztf(f)))
            .args([
                "--backend",
                "cpu",
                "--max-detections",
                "0",
                "--format",
                "csv",
                // TensorFlow's figures are the network's raw output, before any rule.
                "--no-rules",
                "--model",
            ])
            .arg(&model)
            .arg("--out")
            .arg(&csv_out),
    );

    // Rows carry `file#record`; duplicates of one alert (same candid) are classified once.
    let mut got: HashMap<String, [f64; 5]> = HashMap::new();
    let mut by_candid: HashMap<String, [f64; 5]> = HashMap::new();
    let mut reader = csv::Reader::from_path(&csv_out).expect("classify output");
    let headers = reader.headers().expect("header").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "objectId",
            "k",
            "candid",
            "jd",
            "model",
            "p_AGN",
            "p_SN",
            "p_VS",
            "p_asteroid",
            "p_bogus",
            "top_class",
            "rule",
            "source",
            "survey",
            "transferred"
        ]
    );
    for row in reader.records() {
        let row = row.expect("row");
        let p = |i: usize| row[5 + i].parse::<f64>().expect("probability");
        let probs = [p(0), p(1), p(2), p(3), p(4)];
        let source = row[12]
            .split("/ztf/")
            .last()
            .unwrap_or_default()
            .to_string();
        got.insert(source, probs);
        if !row[2].is_empty() {
            by_candid.insert(row[2].to_string(), probs);
        }
    }
    let candid_of: HashMap<String, String> = {
        let mut m = HashMap::new();
        let mut r =
            csv::Reader::from_path(data_dir().join("alerce/reference_probs.csv")).expect("csv");
        for row in r.records() {
            let row = row.expect("row");
            if !row[1].is_empty() {
                m.insert(row[2].to_string(), row[1].to_string());
            }
        }
        m
    };
    let mut worst = 0f64;
    for (file, record, tf) in &expected {
        let key = format!("{file}#{record}");
        let ours = got
            .get(&key)
            .or_else(|| {
                candid_of
                    .get(&format!("{file}#{record}"))
                    .or(candid_of.get(file))
                    .and_then(|c| by_candid.get(c))
            })
            .unwrap_or_else(|| panic!("{key} not classified"));
        for (a, b) in ours.iter().zip(tf) {
            worst = worst.max((a - b).abs());
        }
    }
    assert!(worst < 1e-4, "largest difference from TensorFlow: {worst}");
}

#[test]
fn wrong_model_files_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: Vec<(std::path::PathBuf, &str)> = vec![
        (
            data_dir().join("alerce/alerce_stamp_classifier.safetensors"),
            "not a stampseq model",
        ),
        (
            ztf("fixture/v3.0_595147624915010001.avro"),
            "not a safetensors file",
        ),
        (dir.path().join("missing.stampseq"), "cannot read"),
    ];
    for (path, expect) in cases {
        let out = stampseq()
            .arg("classify")
            .arg(ztf("fixture/sequence_ZTF19abegmle"))
            .args(["--backend", "cpu", "--model"])
            .arg(&path)
            .output()
            .expect("run");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{}: {err}", path.display());
    }
}

/// The metadata of a model file, as the safetensors crate reads it.
fn model_metadata(bytes: &[u8]) -> HashMap<String, String> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).expect("safetensors");
    meta.metadata().clone().unwrap_or_default()
}

#[test]
fn a_damaged_model_file_is_refused_and_one_written_before_checksums_still_loads() {
    const CHECKSUM: &str = "stampseq_crc32";
    let dir = tempfile::tempdir().expect("tempdir");
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models");
    for entry in std::fs::read_dir(&models).expect("models") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "stampseq") {
            let bytes = std::fs::read(&path).expect("model");
            assert!(
                model_metadata(&bytes).contains_key(CHECKSUM),
                "{} carries no checksum",
                path.display()
            );
        }
    }
    let good = models.join("tsc-gru-real.stampseq");
    let bytes = std::fs::read(&good).expect("model");
    let classify = |model: &std::path::Path| {
        stampseq()
            .arg("classify")
            .arg(ztf("fixture/sequence_ZTF19abegmle"))
            .args(["--backend", "cpu", "--model"])
            .arg(model)
            .output()
            .expect("run")
    };
    let answers = classify(&good);
    assert!(answers.status.success());

    // One weight's bit flipped, and one letter of the header's text changed: both are
    // still well-formed files that would load and answer otherwise.
    let mut flipped = bytes.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0x04;
    let name = b"tsc-gru-n5";
    let at = bytes
        .windows(name.len())
        .position(|w| w == name)
        .expect("the header names the model");
    let mut renamed = bytes.clone();
    renamed[at + name.len() - 1] = b'6';
    for (case, damaged) in [("weight.stampseq", flipped), ("header.stampseq", renamed)] {
        let path = dir.path().join(case);
        std::fs::write(&path, damaged).expect("write");
        let out = classify(&path);
        assert!(!out.status.success(), "{case} loaded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the file is damaged") && err.contains(&*path.display().to_string()),
            "{case}: {err}"
        );
    }

    // A file written before models were sealed: the same tensors and header, no checksum.
    let tensors = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    let mut metadata = model_metadata(&bytes);
    metadata.remove(CHECKSUM);
    // Named as the bundled file: the answers name their model by its file name.
    let unsealed = dir.path().join("unsealed/tsc-gru-real.stampseq");
    std::fs::create_dir_all(dir.path().join("unsealed")).expect("mkdir");
    std::fs::write(
        &unsealed,
        safetensors::serialize(tensors.tensors(), Some(metadata)).expect("serialize"),
    )
    .expect("write");
    let out = classify(&unsealed);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&answers.stdout),
        "the same answers"
    );

    // What stampseq writes is sealed: a neutralised copy of the unsealed file.
    let neutralised = dir.path().join("neutralised.stampseq");
    run_ok(
        stampseq()
            .arg("neutralise")
            .arg(&unsealed)
            .args(["--features", "fwhm", "--out"])
            .arg(&neutralised),
    );
    let written = std::fs::read(&neutralised).expect("neutralised");
    assert!(model_metadata(&written).contains_key(CHECKSUM));
    assert!(classify(&neutralised).status.success());
}

/// Records without an observation time (ALeRCE's stamp classifier test set gives no jd): a
/// temporal model answers an object's first detection at day zero, leaves out a later one
/// with the reason, and never reads a class off NaN probabilities (it answered every one of
/// these AGN, from NaNs, before).
#[test]
fn a_temporal_model_answers_a_first_detection_without_a_time_and_leaves_out_a_later_one() {
    use stampseq::alert::{read_all_any, AnyAlert};

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models/tsc-gru-real.stampseq");
    let run = |alerts: Vec<AnyAlert>| crate::common::classify_on_cpu(&path, alerts);

    let (stamps, _) = read_all_any(
        &[ztf("aux/alerce_stamp_classifier_test_stamps.avro")],
        &Default::default(),
    );
    assert_eq!(stamps.len(), 51);
    let out = run(stamps);
    assert_eq!(out.rows.len(), 51, "left out: {:?}", out.skipped);
    for row in &out.rows {
        assert!(
            row.probabilities.iter().all(|p| p.is_finite()),
            "{}: {:?}",
            row.object_id,
            row.probabilities
        );
    }
    let classes: std::collections::HashSet<&str> =
        out.rows.iter().map(|r| r.top_class.as_str()).collect();
    assert!(classes.len() >= 2, "one class for all: {classes:?}");

    // A real object of several nights whose later alerts lost their time.
    let (mut alerts, _) = read_all_any(&[ztf("sequences/ZTF21abiuvdk")], &Default::default());
    assert!(alerts.len() >= 3);
    let first = alerts
        .iter()
        .filter_map(|a| a.as_ref().ztf().map(|z| z.candidate.jd))
        .fold(f64::INFINITY, f64::min);
    for alert in &mut alerts {
        if let AnyAlert::Ztf(z) = alert {
            if z.candidate.jd > first {
                z.candidate.jd = f64::NAN;
            }
        }
    }
    let out = run(alerts);
    assert_eq!(
        out.rows.len(),
        1,
        "only the first detection: {:?}",
        out.rows
    );
    assert_eq!(out.rows[0].k, 1);
    assert!(out.rows[0].probabilities.iter().all(|p| p.is_finite()));
    assert!(!out.skipped.is_empty());
    assert!(
        out.skipped
            .iter()
            .all(|s| s.reason.contains("no observation time") && s.k > 1),
        "{:?}",
        out.skipped
    );
}
