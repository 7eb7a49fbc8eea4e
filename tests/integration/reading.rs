use crate::common::{manifest, ztf};
use stampseq::alert::{read_all, CutoutKind, ReadOptions};
use std::collections::{BTreeMap, HashMap};

#[test]
fn every_fixture_file_reads_with_its_odd_cases() {
    let (alerts, summary) = read_all(&[ztf("fixture")], &ReadOptions::default());
    assert!(summary.errors.is_empty(), "{:#?}", summary.errors);
    assert_eq!(summary.files, 23);
    // 22 one-record files and an 11-record Fink container.
    assert_eq!(alerts.len(), 33);
    let mut versions = BTreeMap::new();
    for a in &alerts {
        *versions
            .entry(a.schema_version.clone().unwrap_or_default())
            .or_insert(0) += 1;
    }
    for v in ["3.0", "3.1", "3.2", "3.3", "4.01", "4.02"] {
        assert!(
            versions.contains_key(v),
            "no alert of schema {v}: {versions:?}"
        );
    }

    // Stripped cutouts read as absent, with the metadata intact.
    let stripped: Vec<_> = alerts
        .iter()
        .filter(|a| a.origin.file.contains("no_cutouts"))
        .collect();
    assert_eq!(stripped.len(), 7);
    assert!(stripped
        .iter()
        .all(|a| a.cutouts.count() == 0 && a.candidate.jd > 2.45e6));

    // The Spark-written edge stamp: snappy codec, no top-level candid, 48 rows by 63 columns.
    let edge = alerts
        .iter()
        .find(|a| a.origin.file.contains("edge_nonsquare"))
        .expect("edge stamp alert");
    assert_eq!(
        edge.candid,
        Some(919448003015010000),
        "candid taken from the candidate"
    );
    for kind in CutoutKind::ALL {
        let s = edge.cutouts.get(kind).expect("edge cutout");
        assert_eq!((s.width, s.height), (63, 48));
    }

    // 4.x alerts carry forced photometry.
    let v4 = alerts
        .iter()
        .find(|a| a.schema_version.as_deref() == Some("4.02"))
        .expect("a 4.02 alert");
    assert!(!v4.fp_hists.is_empty());
    assert!(v4.fp_hists.iter().any(|f| f.forcediffimflux.is_some()));

    // Every other alert has three 63x63 float stamps.
    for a in alerts.iter().filter(|a| a.cutouts.count() == 3) {
        for kind in CutoutKind::ALL {
            let s = a.cutouts.get(kind).expect("cutout");
            assert_eq!(s.pixels.len(), s.width * s.height);
        }
    }
}

#[test]
fn the_night_reads_completely() {
    let (alerts, summary) = read_all(&[ztf("night-20231018")], &ReadOptions::default());
    assert!(
        summary.errors.is_empty(),
        "{:#?}",
        &summary.errors[..summary.errors.len().min(5)]
    );
    assert_eq!(summary.files, 561);
    assert_eq!(alerts.len(), 561);
    assert!(alerts.iter().all(|a| a.cutouts.is_complete()));
    assert!(alerts
        .iter()
        .all(|a| a.schema_version.as_deref() == Some("4.02")));
}

#[test]
fn sequences_and_labeled_match_the_manifest() {
    let rows = manifest();
    let (alerts, summary) = read_all(&[ztf("sequences"), ztf("labeled")], &ReadOptions::default());
    assert!(summary.errors.is_empty(), "{:#?}", summary.errors);
    assert_eq!(alerts.len(), rows.len());

    // The same (objectId, candid, jd) for every file.
    let by_file: HashMap<String, &stampseq::alert::Alert> = alerts
        .iter()
        .map(|a| {
            let rel = a
                .origin
                .file
                .split("/ztf/")
                .last()
                .unwrap_or_default()
                .to_string();
            (rel, a)
        })
        .collect();
    for (_, file, object_id, candid, jd) in &rows {
        let a = by_file
            .get(file)
            .unwrap_or_else(|| panic!("{file} not read"));
        assert_eq!(&a.object_id, object_id, "{file}");
        assert_eq!(a.candid, Some(*candid), "{file}");
        assert!((a.candidate.jd - jd).abs() < 1e-6, "{file}");
        assert!(a.cutouts.is_complete(), "{file}");
    }
    let objects: std::collections::HashSet<_> = rows.iter().map(|r| &r.2).collect();
    let read_objects: std::collections::HashSet<_> = alerts.iter().map(|a| &a.object_id).collect();
    assert_eq!(objects.len(), read_objects.len());
}

#[test]
fn tar_gz_archives_stream_without_unpacking() {
    // A night archive as ZTF publishes them: a gzipped tar of one-alert Avro files.
    let dir = tempfile::tempdir().expect("tempdir");
    let archive_path = dir.path().join("ztf_public_20231018.tar.gz");
    let night: Vec<_> = std::fs::read_dir(ztf("night-20231018"))
        .expect("night folder")
        .map(|e| e.expect("entry").path())
        .take(40)
        .collect();
    {
        let file = std::fs::File::create(&archive_path).expect("create archive");
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for p in &night {
            let name = format!("20231018/{}", p.file_name().unwrap().to_string_lossy());
            tar.append_path_with_name(p, name).expect("append");
        }
        tar.into_inner().expect("tar").finish().expect("gzip");
    }
    let (from_archive, summary) = read_all(&[&archive_path], &ReadOptions::default());
    assert!(summary.errors.is_empty(), "{:#?}", summary.errors);
    assert_eq!(from_archive.len(), night.len());
    assert!(from_archive[0].origin.file.contains(".tar.gz!20231018/"));

    let (direct, _) = read_all(&night, &ReadOptions::default());
    // Keyed by file name; pixels compared as bits since stamps hold NaN.
    let key = |x: &stampseq::alert::Alert| {
        let name = x
            .origin
            .file
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let bits: Vec<u32> = x
            .cutouts
            .science
            .iter()
            .flat_map(|s| s.pixels.iter().map(|v| v.to_bits()))
            .collect();
        (name, x.candid, bits)
    };
    let mut a: Vec<_> = from_archive.iter().map(key).collect();
    let mut b: Vec<_> = direct.iter().map(key).collect();
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    assert!(a == b, "archive members decode exactly like the files");
}

#[test]
fn flat_labelled_stamp_records_read_as_alerts() {
    let (alerts, summary) = read_all(
        &[ztf("aux/alerce_stamp_classifier_test_stamps.avro")],
        &ReadOptions::default(),
    );
    assert!(summary.errors.is_empty(), "{:#?}", summary.errors);
    assert_eq!(alerts.len(), 51);
    assert!(alerts
        .iter()
        .all(|a| a.label.is_some() && a.cutouts.is_complete()));
    let with_features = alerts
        .iter()
        .filter(|a| a.candidate.sgscore1.is_some())
        .count();
    assert_eq!(with_features, 21);
}
