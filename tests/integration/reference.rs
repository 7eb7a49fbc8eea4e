//! Parity with the original ALeRCE preprocessing: stamps and features computed here from the
//! raw alerts against those the TensorFlow pipeline fed its network (reference_inputs).

use crate::common::{data_dir, ztf};
use stampseq::alert::{read_all, Alert, ReadOptions};
use stampseq::features::{FeatureStats, ALERCE_FEATURES};
use stampseq::stamp::{model_stamps, ALERCE_CROP};
use std::collections::HashMap;

struct Reference {
    files: Vec<(String, usize)>,
    stamps: Vec<f32>,
    features_raw: Vec<f64>,
    features: Vec<f64>,
}

fn load_reference() -> Reference {
    let dir = data_dir().join("alerce");
    let mut files = Vec::new();
    let mut csv =
        csv::Reader::from_path(dir.join("reference_probs.csv")).expect("reference_probs.csv");
    for row in csv.records() {
        let row = row.expect("row");
        let file = &row[2];
        let (path, record) = match file.split_once('#') {
            Some((p, k)) => (p.to_string(), k.parse().expect("record index")),
            None => (file.to_string(), 0),
        };
        files.push((path, record));
    }
    let bytes = std::fs::read(dir.join("reference_inputs.safetensors")).expect("reference inputs");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    let f32s = |name: &str| -> Vec<f32> {
        st.tensor(name)
            .expect(name)
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    let f64s = |name: &str| -> Vec<f64> {
        st.tensor(name)
            .expect(name)
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect()
    };
    Reference {
        stamps: f32s("stamps"),
        features_raw: f64s("features_raw"),
        features: f64s("features"),
        files,
    }
}

fn alerts_by_file_record(files: &[(String, usize)]) -> HashMap<(String, usize), Alert> {
    let mut unique: Vec<&String> = files.iter().map(|(f, _)| f).collect();
    unique.sort();
    unique.dedup();
    let paths: Vec<_> = unique.iter().map(|f| ztf(f)).collect();
    let (alerts, summary) = read_all(&paths, &ReadOptions::default());
    assert!(summary.errors.is_empty(), "{:#?}", summary.errors);
    alerts
        .into_iter()
        .map(|a| {
            let rel = a
                .origin
                .file
                .split("/ztf/")
                .last()
                .unwrap_or_default()
                .to_string();
            ((rel, a.origin.record), a)
        })
        .collect()
}

#[test]
fn stamps_and_features_match_the_tensorflow_pipeline_for_all_580_alerts() {
    let reference = load_reference();
    assert_eq!(reference.files.len(), 580);
    let alerts = alerts_by_file_record(&reference.files);
    let stats = FeatureStats::from_alerce_safetensors(
        &data_dir().join("alerce/alerce_stamp_classifier.safetensors"),
    )
    .expect("feature statistics");
    let n_stamp = ALERCE_CROP * ALERCE_CROP * 3;
    let nf = ALERCE_FEATURES.len();
    let mut worst_stamp = 0f32;
    for (i, key) in reference.files.iter().enumerate() {
        let alert = alerts
            .get(key)
            .unwrap_or_else(|| panic!("{key:?} not read"));
        let ours = model_stamps(&alert.cutouts, Some(&alert.candidate), ALERCE_CROP)
            .unwrap_or_else(|e| panic!("{key:?}: {e}"));
        let theirs = &reference.stamps[i * n_stamp..(i + 1) * n_stamp];
        for (a, b) in ours.pixels.iter().zip(theirs) {
            worst_stamp = worst_stamp.max((a - b).abs());
        }
        assert!(
            worst_stamp <= 1e-6,
            "{key:?}: stamp differs by {worst_stamp}"
        );

        let (raw, norm) = stats.features(&alert.candidate);
        let raw_ref = &reference.features_raw[i * nf..(i + 1) * nf];
        let norm_ref = &reference.features[i * nf..(i + 1) * nf];
        for (j, name) in ALERCE_FEATURES.iter().enumerate() {
            let (a, b) = (raw[j], raw_ref[j]);
            let ok = if name.starts_with("ecl_")
                || name.starts_with("gal_")
                || *name == "ra"
                || *name == "dec"
            {
                (a - b).abs() <= 1e-6
            } else {
                (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-6 * b.abs().max(1.0)
            };
            assert!(ok, "{key:?} {name}: ours {a}, TensorFlow pipeline {b}");
            let (a, b) = (norm[j], norm_ref[j]);
            assert!(
                (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                "{key:?} normalised {name}: ours {a}, reference {b}"
            );
        }
    }
}
