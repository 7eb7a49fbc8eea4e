//! Bad input made at test time from real files: every problem is an error naming the file
//! (and record), nothing panics, and the good alerts around it still come back.

use crate::common::ztf;
use stampseq::alert::{read_all, ReadErrorKind, ReadOptions};
use std::path::{Path, PathBuf};

fn good_file() -> PathBuf {
    ztf("fixture/v4.02_3005140370015010009.avro")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

#[test]
fn truncated_flipped_and_foreign_files_give_errors_and_the_batch_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(good_file()).expect("fixture");
    let mut bad = vec![
        write(dir.path(), "empty.avro", b""),
        write(dir.path(), "text.avro", b"objectId,candid\nZTF1,2\n"),
        write(dir.path(), "header_only.avro", &bytes[..200]),
    ];
    for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 20] {
        bad.push(write(
            dir.path(),
            &format!("truncated_{cut}.avro"),
            &bytes[..cut],
        ));
    }
    // Flipped bytes all through the file, deterministic.
    for (k, step) in [97usize, 1013, 4099].into_iter().enumerate() {
        let mut flipped = bytes.clone();
        for i in (50..flipped.len()).step_by(step) {
            flipped[i] ^= 0x5a;
        }
        bad.push(write(dir.path(), &format!("flipped_{k}.avro"), &flipped));
    }
    let mut inputs = bad.clone();
    inputs.push(ztf("fixture/sequence_ZTF19abegmle"));
    let (alerts, summary) = read_all(&inputs, &ReadOptions::default());
    let good: Vec<_> = alerts
        .iter()
        .filter(|a| a.origin.file.contains("sequence_ZTF19abegmle"))
        .collect();
    assert_eq!(good.len(), 7, "all good alerts still read");
    for path in &bad {
        let name = path.display().to_string();
        assert!(
            summary.errors.iter().any(|e| e.file == name),
            "no error reported for {name}: {:#?}",
            summary.errors
        );
    }
    for e in &summary.errors {
        assert!(
            !matches!(e.kind, ReadErrorKind::Panic(_)),
            "decoder panicked: {e}"
        );
        assert!(!e.to_string().is_empty());
    }
}

/// The first record of a real alert changed by `edit`, written back through apache-avro
/// with the alert's own schema.
fn rewrite_alert(edit: impl FnOnce(&mut Vec<(String, apache_avro::types::Value)>)) -> Vec<u8> {
    crate::common::rewrite_alert_at(&good_file(), edit)
}

/// Rewrites one cutout of a real alert through apache-avro with the alert's own schema.
fn rewrite_cutout(edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    use apache_avro::types::Value;
    rewrite_alert(|fields| {
        for (name, v) in fields.iter_mut() {
            if name == "cutoutDifference" {
                if let Value::Union(_, inner) = v {
                    if let Value::Record(cf) = inner.as_mut() {
                        for (n, data) in cf.iter_mut() {
                            if n == "stampData" {
                                if let Value::Bytes(b) = data {
                                    edit(b);
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

#[test]
fn a_broken_cutout_is_an_error_for_that_record_and_the_alert_keeps_its_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cut_gzip = write(
        dir.path(),
        "cut_gzip.avro",
        &rewrite_cutout(|b| b.truncate(b.len() / 2)),
    );
    let not_gzip = write(dir.path(), "not_gzip.avro", &rewrite_cutout(|b| b.fill(7)));
    // A valid gzip of a FITS image with three axes: the wrong shape for a stamp.
    let wrong_shape = write(
        dir.path(),
        "cube.avro",
        &rewrite_cutout(|b| {
            let fits = stampseq::alert::gunzip(b).expect("real cutout");
            let mut header = String::from_utf8_lossy(&fits[..2880]).into_owned();
            header = header.replacen(
                "NAXIS   =                    2",
                "NAXIS   =                    3",
                1,
            );
            let mut cube = header.into_bytes();
            cube.extend_from_slice(&fits[2880..]);
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, &cube).expect("gzip");
            *b = gz.finish().expect("gzip");
        }),
    );
    for path in [&cut_gzip, &not_gzip, &wrong_shape] {
        let (alerts, summary) = read_all(&[path], &ReadOptions::default());
        assert_eq!(alerts.len(), 1, "{}", path.display());
        let a = &alerts[0];
        assert!(a.cutouts.science.is_some() && a.cutouts.difference.is_none());
        assert_eq!(summary.errors.len(), 1, "{:#?}", summary.errors);
        let e = &summary.errors[0];
        assert_eq!(e.record, Some(0));
        assert!(e
            .file
            .ends_with(path.file_name().unwrap().to_str().unwrap()));
        assert!(e.to_string().contains("cutoutDifference"), "{e}");
    }
}

#[test]
fn nan_stamps_and_edge_stamps_reach_the_model_input() {
    use stampseq::stamp::{model_stamps, ALERCE_CROP};
    let (alerts, _) = read_all(
        &[ztf("fixture/edge_nonsquare_stamp_000010510300844919.avro")],
        &ReadOptions::default(),
    );
    let a = &alerts[0];
    let m = model_stamps(&a.cutouts, Some(&a.candidate), ALERCE_CROP).expect("edge stamp");
    // ypos = 16.5: the source is near the low-y edge of the CCD, so rows are missing there.
    assert_eq!(m.padding.rows_at_start, 15);
    assert_eq!(m.padding.rows_at_end, 0);
    assert!(m
        .pixels
        .iter()
        .all(|v| v.is_finite() && (0.0..=1.0).contains(v)));
}

/// A real alert with one candidate field set to `value`.
fn rewrite_candidate(field: &str, value: f64) -> Vec<u8> {
    crate::common::with_candidate_field(&good_file(), field, value)
}

#[test]
fn an_alert_without_a_finite_time_or_position_is_an_error_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("jd", f64::NAN, "candidate jd is missing or NaN"),
        ("dec", f64::INFINITY, "candidate dec is infinite"),
    ];
    let mut inputs = vec![ztf("fixture/sequence_ZTF19abegmle")];
    for (field, value, _) in cases {
        inputs.push(write(
            dir.path(),
            &format!("{field}.avro"),
            &rewrite_candidate(field, value),
        ));
    }
    let (alerts, summary) = read_all(&inputs, &ReadOptions::default());
    assert_eq!(alerts.len(), 7, "the good alerts still read");
    assert_eq!(summary.errors.len(), cases.len(), "{:#?}", summary.errors);
    for ((field, _, message), path) in cases.iter().zip(&inputs[1..]) {
        let e = summary
            .errors
            .iter()
            .find(|e| e.file == path.display().to_string())
            .unwrap_or_else(|| panic!("no error for {field}"));
        assert_eq!(e.record, Some(0));
        assert!(e.to_string().contains(message), "{e}");
    }
}
