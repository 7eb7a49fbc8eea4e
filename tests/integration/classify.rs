//! End to end: `import-alerce` on the ALeRCE weights, then `classify` on the raw alerts,
//! against the probabilities of the original TensorFlow graph for all 580 reference alerts.

use crate::common::{data_dir, ztf};
use std::collections::HashMap;
use std::process::Command;

fn stampseq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stampseq"))
}

#[test]
fn import_then_classify_matches_tensorflow_on_the_raw_alerts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("alerce.stampseq");
    let out = stampseq()
        .arg("import-alerce")
        .arg(data_dir().join("alerce/alerce_stamp_classifier.safetensors"))
        .arg("--out")
        .arg(&model)
        .output()
        .expect("run import-alerce");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
    let out = stampseq()
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
        .arg(&csv_out)
        .output()
        .expect("run classify");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
