//! Rubin/LSST alerts and broker Parquet files on the real samples in `../shared/data/lsst`
//! and `../shared/data/ztf/extra`: every format and schema version reads and agrees with
//! the manifests; the framed and Parquet copies of the same alerts give the same table
//! rows; mutated copies made here give errors naming file and record.

use crate::common::{data_dir, ztf};
use crate::common::{run_ok, stampseq};
use stampseq::alert::neutral::{read_table, write_table, AlertSummary, SurveyAlert, TableFormat};
use stampseq::alert::{read_all, read_all_any, AnyAlert, CutoutKind, ReadErrorKind, ReadOptions};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

fn lsst(rel: &str) -> PathBuf {
    data_dir().join("lsst").join(rel)
}

fn schemas() -> PathBuf {
    lsst("lsst-alert-packet/schema")
}

fn options() -> ReadOptions {
    ReadOptions {
        lsst_schemas: Some(schemas()),
        ..Default::default()
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

/// Rows of a manifest by (file relative to its folder, record), as column -> value.
fn manifest(path: &Path) -> HashMap<(String, usize), HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("manifest");
    let headers = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("manifest row");
            let row: HashMap<String, String> = headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect();
            let key = (row["file"].clone(), row["record"].parse().expect("record"));
            (key, row)
        })
        .collect()
}

fn relative(file: &str, root: &Path) -> String {
    Path::new(file)
        .strip_prefix(root)
        .unwrap_or_else(|_| panic!("{file} is not under {}", root.display()))
        .display()
        .to_string()
}

#[test]
fn every_lsst_alert_reads_and_agrees_with_the_manifest() {
    let root = lsst("");
    let (alerts, summary) = read_all_any(&[&root], &options());
    assert!(summary.errors.is_empty(), "{:#?}", summary.errors);
    let expected = manifest(&lsst("manifest.csv"));
    assert_eq!(alerts.len(), 113);
    assert_eq!(expected.len(), 113);
    let mut versions = BTreeSet::new();
    let mut formats = BTreeSet::new();
    for alert in &alerts {
        let AnyAlert::Lsst(a) = alert else {
            panic!("a ZTF alert under lsst/: {:?}", alert.origin())
        };
        let key = (relative(&a.origin.file, &root), a.origin.record);
        let row = expected
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} is not in the manifest"));
        formats.insert(row["format"].clone());
        let s = &a.dia_source;
        let at = format!("{key:?}");
        assert_eq!(a.alert_id.to_string(), row["diaSourceId"], "{at}");
        let id = |x: Option<i64>| x.map(|v| v.to_string()).unwrap_or_default();
        // The manifest writes ids of 0 and nulls alike as empty or 0.
        let manifest_id = |v: &str| {
            if v == "0" {
                String::new()
            } else {
                v.to_string()
            }
        };
        assert_eq!(
            id(s.dia_object_id),
            manifest_id(&row["diaObjectId"]),
            "{at}"
        );
        assert_eq!(id(s.ss_object_id), manifest_id(&row["ssObjectId"]), "{at}");
        assert_eq!(s.band, row["band"], "{at}");
        let mjd: f64 = row["midpointMjdTai"].parse().expect("mjd");
        assert_eq!(s.midpoint_mjd_tai, mjd, "{at}");
        let flux: f64 = row["psfFlux"].parse().expect("psfFlux");
        let ours = s.psf_flux.expect("psfFlux");
        assert!(
            (ours - flux).abs() <= 1e-6 * flux.abs(),
            "{at}: {ours} vs {flux}"
        );
        let n_prv: usize = row["n_prvDiaSources"].parse().unwrap_or(0);
        assert_eq!(a.prv_dia_sources.len(), n_prv, "{at}");
        let shapes: Vec<String> = [
            CutoutKind::Difference,
            CutoutKind::Science,
            CutoutKind::Template,
        ]
        .into_iter()
        .filter_map(|k| a.cutouts.get(k))
        .map(|c| c.image.shape_label())
        .collect();
        if row["cutouts"] == "none" {
            assert!(shapes.is_empty(), "{at}: {shapes:?}");
        } else {
            let text = format!("FITS {} (diff/sci/tmpl)", shapes.join("/"));
            assert_eq!(text, row["cutouts"], "{at}");
            for kind in CutoutKind::ALL {
                let c = a.cutouts.get(kind).expect("cutout");
                let v = c.variance.as_ref().expect("variance");
                assert_eq!(v.shape_label(), c.image.shape_label(), "{at}");
                assert!(c.psf.is_some(), "{at}: no PSF");
                assert_eq!(c.unit.as_deref(), Some("nJy"), "{at}");
            }
        }
        // Framed messages by their id, container files by their schema, the Fink v10 copy
        // by its column, the OR4 copy (which says nothing) by its columns.
        let version = a
            .schema
            .unwrap_or_else(|| panic!("{at}: no schema version"));
        assert_eq!(version.to_string(), row["schema"], "{at}");
        versions.insert(version.to_string());
        if !row["content"].starts_with("SYNTHETIC") {
            let solar = a.is_solar_system();
            assert_eq!(solar, a.dia_source.dia_object_id.is_none(), "{at}");
        }
    }
    let all: BTreeSet<String> = [
        "7_0", "7_1", "7_2", "7_3", "7_4", "8_0", "9_0", "10_0", "11_0", "11_1",
    ]
    .iter()
    .map(|v| format!("lsst.v{v}"))
    .collect();
    assert_eq!(versions, all);
    assert_eq!(formats.len(), 3, "{formats:?}");
}

fn rows_by_alert(rows: Vec<AlertSummary>) -> BTreeMap<i64, AlertSummary> {
    rows.into_iter()
        .map(|r| (r.alert_id.expect("alert id"), r))
        .collect()
}

/// The framed copies are float32 where Fink's Parquet holds float64.
fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1e-30),
        (None, None) => true,
        _ => false,
    }
}

#[test]
fn framed_and_parquet_copies_agree_in_the_table() {
    let (framed, s1) = read_table(&[lsst("derived-fink-v10-framed")], &options());
    let (parquet, s2) = read_table(
        &[lsst("fink-science/rubin_sample_data_10_0.parquet")],
        &options(),
    );
    assert!(s1.errors.is_empty() && s2.errors.is_empty());
    let framed = rows_by_alert(framed);
    let parquet = rows_by_alert(parquet);
    assert_eq!(framed.len(), 20);
    assert_eq!(parquet.len(), 25);
    let mut solar = 0;
    for (id, f) in &framed {
        let p = parquet
            .get(id)
            .unwrap_or_else(|| panic!("{id} is not in the Parquet file"));
        assert_eq!(f.object_id, p.object_id, "{id}");
        assert_eq!(f.band, p.band, "{id}");
        assert_eq!(f.mjd, p.mjd, "{id}");
        assert_eq!((f.ra, f.dec), (p.ra, p.dec), "{id}");
        assert!(close(f.flux, p.flux), "{id}: {:?} {:?}", f.flux, p.flux);
        assert!(close(f.flux_err, p.flux_err), "{id}");
        assert!(close(f.mag, p.mag) && close(f.mag_err, p.mag_err), "{id}");
        assert_eq!(f.isdiffpos, p.isdiffpos, "{id}");
        assert_eq!(f.n_previous, p.n_previous, "{id}");
        assert_eq!(f.stamps_label(), p.stamps_label(), "{id}");
        assert_eq!(f.schema, p.schema, "{id}");
        assert_eq!(f.solar_system, p.solar_system, "{id}");
        assert!(f.broker.is_empty() && p.broker.contains_key("brokerIngestMjd"));
        solar += usize::from(f.solar_system);
        // Neutral units: the AB magnitude of positive nJy fluxes.
        if let (Some(flux), Some(mag)) = (f.flux, f.mag) {
            assert!((mag - (31.4 - 2.5 * flux.log10())).abs() < 1e-9);
        }
    }
    assert_eq!(solar, 3);

    // The same through the CSV text, as `stampseq table` writes it.
    let mut csv_text = Vec::new();
    let rows: Vec<AlertSummary> = framed.values().cloned().collect();
    write_table(&rows, TableFormat::Csv, &mut csv_text).expect("csv");
    let mut reader = csv::Reader::from_reader(&csv_text[..]);
    let header = reader.headers().expect("header").clone();
    for col in [
        "survey",
        "objectId",
        "alertId",
        "mjd",
        "band",
        "ra",
        "dec",
        "mag",
        "mag_err",
        "flux",
        "flux_err",
        "isdiffpos",
        "n_previous",
        "stamps",
        "schema",
    ] {
        assert!(header.iter().any(|h| h == col), "no column {col}");
    }
    let first = reader.records().next().expect("row").expect("row");
    assert_eq!(&first[0], "LSST");
    assert_eq!(&first[13], "30x30/30x30/30x30");
}

#[test]
fn table_command_writes_both_surveys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("alerts.jsonl");
    run_ok(
        stampseq()
            .args(["table", "--format", "jsonl", "--out"])
            .arg(&out)
            .arg("--lsst-schemas")
            .arg(schemas())
            .arg(lsst("boom"))
            .arg(ztf("extra/fink-science-history")),
    );
    let text = std::fs::read_to_string(&out).expect("output");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(rows.len(), 2 + 35);
    let boom = rows
        .iter()
        .find(|r| r["alertId"] == 25409136044802067i64)
        .expect("the boom v7.1 alert");
    assert_eq!(boom["survey"], "LSST");
    assert_eq!(boom["objectId"], "25401295582003262");
    assert_eq!(boom["band"], "g");
    assert_eq!(boom["n_previous"], 2);
    assert_eq!(boom["schema"], "lsst.v7_1");
    assert_eq!(boom["stamps"], "30x30/30x30/30x30");
    let flux = boom["flux"].as_f64().expect("flux");
    assert!((flux - 2000.9814453125).abs() < 1e-9);
    let ztf_row = rows.iter().find(|r| r["survey"] == "ZTF").expect("ZTF row");
    let mag = ztf_row["mag"].as_f64().expect("mag");
    let flux = ztf_row["flux"].as_f64().expect("flux").abs();
    assert!((flux - 10f64.powf((31.4 - mag) / 2.5)).abs() < 1e-6 * flux);
    let jd_mjd = ztf_row["mjd"].as_f64().expect("mjd");
    assert!(jd_mjd > 58000.0 && jd_mjd < 60000.0, "{jd_mjd}");
    assert!(ztf_row["broker"]["timestamp"].is_number(), "{ztf_row}");
}

#[test]
fn inspect_counts_lsst_alerts_objects_and_versions() {
    let out = run_ok(
        stampseq()
            .args(["inspect", "--json", "--lsst-schemas"])
            .arg(schemas())
            .arg(lsst("")),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["alerts"], 113);
    assert_eq!(
        v["errors"].as_array().map(|a| a.len()),
        Some(0),
        "{}",
        v["errors"]
    );
    assert_eq!(v["surveys"]["LSST"]["alerts"], 113);
    assert!(v["surveys"]["ZTF"].is_null());
    assert_eq!(v["schema_versions"]["lsst.v10_0"], 47);
    assert_eq!(v["schema_versions"]["lsst.v11_1"], 2);
    assert_eq!(v["schema_versions"]["lsst.v7_1"], 52);
    let shapes = v["stamp_shapes"].as_object().expect("shapes");
    assert!(shapes.contains_key("30x30"));
    for shape in shapes.keys() {
        let (w, h) = shape.split_once('x').expect("WxH");
        let (w, h): (usize, usize) = (w.parse().expect("w"), h.parse().expect("h"));
        assert!(w >= 30 && h >= 30, "{shape}");
    }
    // diaObjectId, else ssObjectId; the 16 synthetic alerts carry neither and are no object.
    assert_eq!(v["surveys"]["LSST"]["objects"], 77);
    assert_eq!(v["surveys"]["LSST"]["alerts_without_object"], 16);
    // One alert per object here, but 52 objects have detections on two nights or more in
    // the prvDiaSources they carry (counted with fastavro and pyarrow, nights by dayObs).
    assert_eq!(v["objects_multi_night"], 0);
    assert_eq!(v["objects_multi_night_history"], 52);
    assert_eq!(v["surveys"]["LSST"]["objects_multi_night_history"], 52);
}

#[test]
fn ztf_parquet_alerts_read_with_cutouts_and_match_the_manifest() {
    let files = [
        "fink-science-history/data/alerts/alerts.parquet",
        "fink-mm/fink_grb/test/test_data/ztf_test/online/raw/year=2019/month=09/day=03/ztf_science_test.parquet",
    ];
    let paths: Vec<PathBuf> = files.iter().map(|f| ztf(&format!("extra/{f}"))).collect();
    let (alerts, summary) = read_all(&paths, &ReadOptions::default());
    assert!(summary.errors.is_empty(), "{:#?}", summary.errors);
    assert_eq!(alerts.len(), 35 + 51);
    assert!(alerts.iter().all(|a| a.cutouts.is_complete()));
    assert!(alerts
        .iter()
        .all(|a| a.cutouts.science.as_ref().is_some_and(|s| s.width >= 60)));
    let expected = manifest(&ztf("extra/manifest.csv"));
    let root = ztf("extra");
    let mut matched = 0;
    for a in &alerts {
        let key = (relative(&a.origin.file, &root), a.origin.record);
        let Some(row) = expected.get(&key) else {
            continue;
        };
        matched += 1;
        assert_eq!(a.object_id, row["objectId"], "{key:?}");
        assert_eq!(
            a.candid.map(|c| c.to_string()).as_deref(),
            Some(row["candid"].as_str())
        );
        let jd: f64 = row["jd"].parse().expect("jd");
        assert!((a.candidate.jd - jd).abs() < 1e-9, "{key:?}");
        assert_eq!(a.candidate.fid.to_string(), row["fid"], "{key:?}");
        let mag: f64 = row["magpsf"].parse().expect("magpsf");
        assert!((a.candidate.magpsf - mag).abs() < 1e-4, "{key:?}");
    }
    assert_eq!(matched, 15, "labelled Parquet alerts in the manifest");
    // The rest of stampseq takes them as they are: objects as sequences (one alert is in
    // both files, and a sequence keeps it once).
    let objects: BTreeSet<String> = alerts.iter().map(|a| a.object_id.clone()).collect();
    let (sequences, _) = stampseq::sequence::neutral::group_objects(
        alerts.into_iter().map(stampseq::alert::AnyAlert::Ztf),
    );
    assert_eq!(sequences.len(), objects.len());
    assert_eq!(objects.len(), 85);
    assert_eq!(sequences.iter().map(|s| s.alerts.len()).sum::<usize>(), 85);
}

/// Finds the `n`-th FITS cutout in a framed message and replaces it, fixing the Avro
/// length in front of it (a zigzag varint right before the bytes).
fn replace_cutout(message: &[u8], n: usize, edit: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let starts: Vec<usize> = message
        .windows(9)
        .enumerate()
        .filter(|(_, w)| *w == b"SIMPLE  =")
        .map(|(i, _)| i)
        .collect();
    let start = starts[n];
    // The varint's last byte has its high bit clear; the bytes before it have it set.
    let mut len_start = start - 1;
    while message[len_start - 1] & 0x80 != 0 {
        len_start -= 1;
    }
    let mut zigzag = 0u64;
    for (i, b) in message[len_start..start].iter().enumerate() {
        zigzag |= u64::from(b & 0x7f) << (7 * i);
    }
    let old_len = (zigzag >> 1) as usize;
    let new = edit(&message[start..start + old_len]);
    let mut varint = Vec::new();
    let mut z = (new.len() as u64) << 1;
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            varint.push(byte);
            break;
        }
        varint.push(byte | 0x80);
    }
    let mut out = message[..len_start].to_vec();
    out.extend_from_slice(&varint);
    out.extend_from_slice(&new);
    out.extend_from_slice(&message[start + old_len..]);
    out
}

#[test]
fn corrupt_lsst_and_parquet_inputs_give_named_errors_and_the_rest_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good_path = lsst("derived-fink-v10-framed/169813006395375676.v10_0.confluent.avro");
    let good = std::fs::read(&good_path).expect("framed alert");

    let mut unknown_id = good.clone();
    unknown_id[1..5].copy_from_slice(&1234u32.to_be_bytes());
    let unknown_id = write(dir.path(), "unknown_id.avro", &unknown_id);
    let truncated = write(dir.path(), "truncated.avro", &good[..good.len() / 2]);
    let header_only = write(dir.path(), "header_only.avro", &good[..3]);
    // A whole message followed by the first half of another: one alert, then an error.
    let mut two = good.clone();
    two.extend_from_slice(&good[..good.len() / 3]);
    let second_cut = write(dir.path(), "second_cut.avro", &two);
    // The science cutout cut after its variance HDU: no PSFIMAGE.
    let no_psf = write(
        dir.path(),
        "no_psf.avro",
        &replace_cutout(&good, 1, |fits| fits[..17280].to_vec()),
    );
    // The difference cutout is no FITS at all.
    let not_fits = write(
        dir.path(),
        "not_fits.avro",
        &replace_cutout(&good, 0, |fits| vec![7u8; fits.len()]),
    );

    let parquet = std::fs::read(lsst("fink-science/rubin_sample_data_10_0.parquet")).expect("pq");
    let parquet_cut = write(dir.path(), "cut.parquet", &parquet[..parquet.len() * 2 / 3]);
    let mut scrambled = parquet.clone();
    for i in (4..scrambled.len() - 8).step_by(101) {
        scrambled[i] ^= 0x5a;
    }
    let parquet_scrambled = write(dir.path(), "scrambled.parquet", &scrambled);
    let mut footer = parquet.clone();
    let n = footer.len();
    for b in &mut footer[n - 400..n - 8] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    let parquet_footer = write(dir.path(), "footer.parquet", &footer);

    let bad = [
        &unknown_id,
        &truncated,
        &header_only,
        &second_cut,
        &no_psf,
        &not_fits,
        &parquet_cut,
        &parquet_scrambled,
        &parquet_footer,
    ];
    let mut inputs: Vec<PathBuf> = bad.iter().map(|p| p.to_path_buf()).collect();
    inputs.push(lsst("boom"));
    let (alerts, summary) = read_all_any(&inputs, &options());
    for e in &summary.errors {
        assert!(!matches!(e.kind, ReadErrorKind::Panic(_)), "panicked: {e}");
    }
    let errors_of = |p: &Path| {
        let name = p.display().to_string();
        summary
            .errors
            .iter()
            .filter(|e| e.file == name)
            .collect::<Vec<_>>()
    };
    for p in bad {
        assert!(
            !errors_of(p).is_empty(),
            "no error for {}: {:#?}",
            p.display(),
            summary.errors
        );
    }
    let alerts_of = |p: &Path| {
        let name = p.display().to_string();
        alerts.iter().filter(|a| *a.origin().file == *name).count()
    };
    assert_eq!(
        alerts
            .iter()
            .filter(|a| a.origin().file.contains("/boom/"))
            .count(),
        2
    );

    let e = &errors_of(&unknown_id)[0];
    assert_eq!(e.record, Some(0));
    assert!(matches!(e.kind, ReadErrorKind::Schema(_)), "{e}");
    assert!(e.to_string().contains("1234"), "{e}");

    let e = &errors_of(&truncated)[0];
    assert_eq!((e.record, alerts_of(&truncated)), (Some(0), 0));
    assert!(e.to_string().contains("truncated or corrupt"), "{e}");
    assert!(matches!(
        errors_of(&header_only)[0].kind,
        ReadErrorKind::Framing(_)
    ));

    assert_eq!(alerts_of(&second_cut), 1);
    assert_eq!(errors_of(&second_cut)[0].record, Some(1));

    // Cutout problems keep the alert and name the cutout.
    assert_eq!(alerts_of(&no_psf), 1);
    let e = errors_of(&no_psf);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].to_string().contains("cutoutScience") && e[0].to_string().contains("PSFIMAGE"));
    let science = alerts
        .iter()
        .find_map(|a| match a {
            AnyAlert::Lsst(a) if *a.origin.file == *no_psf.display().to_string() => {
                a.cutouts.science.clone()
            }
            _ => None,
        })
        .expect("science image kept");
    assert!(science.variance.is_some() && science.psf.is_none());
    assert_eq!(alerts_of(&not_fits), 1);
    assert!(errors_of(&not_fits)[0]
        .to_string()
        .contains("cutoutDifference"));

    for p in [&parquet_cut, &parquet_footer] {
        let e = errors_of(p);
        assert!(matches!(e[0].kind, ReadErrorKind::Parquet(_)), "{e:#?}");
    }
}

/// Serves every request with the same registry reply, counting requests.
fn serve_forever(reply: String) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let served = count.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 4096];
            let n = stream.read(&mut request).unwrap_or(0);
            let line = String::from_utf8_lossy(&request[..n]);
            let reply = if line.starts_with("GET /schemas/ids/1000 ") {
                format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{reply}")
            } else {
                "HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"Schema not found\"}".to_string()
            };
            served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (port, count)
}

#[test]
fn framed_messages_read_with_schemas_from_a_registry_cached_on_disk() {
    use stampseq::alert::lsst::SchemaRegistry;
    // A registry serves one self-contained schema, made here from the shared GPL folder.
    let folder = schemas().join("10/0");
    let texts: Vec<String> = std::fs::read_dir(&folder)
        .expect("schema folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "avsc"))
        .map(|p| std::fs::read_to_string(p).expect("avsc"))
        .collect();
    let list = apache_avro::Schema::parse_list(&texts).expect("schemas");
    let alert = list
        .iter()
        .find(|s| s.name().is_some_and(|n| n.name() == "alert"))
        .expect("alert schema");
    let full = alert.independent_canonical_form(&list).expect("canonical");
    let (port, requests) = serve_forever(serde_json::json!({ "schema": full }).to_string());

    let dir = tempfile::tempdir().expect("tempdir");
    let no_local = dir.path().join("no-schemas");
    std::fs::create_dir(&no_local).expect("mkdir");
    let cache = dir.path().join("cache");
    let framed = lsst("derived-fink-v10-framed");
    let read = |url: &str| {
        read_all_any(
            &[&framed],
            &ReadOptions {
                lsst_schemas: Some(no_local.clone()),
                schema_registry: Some(SchemaRegistry::new(url, Some(cache.clone()))),
                ..Default::default()
            },
        )
    };
    let (alerts, summary) = read(&format!("http://127.0.0.1:{port}"));
    assert!(summary.errors.is_empty(), "{:#?}", summary.errors);
    assert_eq!(alerts.len(), 20);
    assert!(requests.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert!(cache.join("1000.avsc").is_file());
    let (local, _) = read_all_any(&[&framed], &options());
    let rows = |a: &[AnyAlert]| {
        a.iter()
            .map(|a| serde_json::to_value(a.summary()).expect("row"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rows(&alerts),
        rows(&local),
        "registry and folder schemas agree"
    );

    // A registry that is down: the disk cache still answers; without it, a named error.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dead_url = format!("http://127.0.0.1:{dead}");
    let (alerts, summary) = read(&dead_url);
    assert!(
        summary.errors.is_empty() && alerts.len() == 20,
        "{:#?}",
        summary.errors
    );
    std::fs::remove_dir_all(&cache).expect("clear cache");
    // Another spelling of the dead address, so that no schema is remembered in memory.
    let (alerts, summary) = read(&format!("http://localhost:{dead}"));
    assert!(alerts.is_empty());
    assert_eq!(summary.errors.len(), 20);
    let e = &summary.errors[0];
    assert_eq!(e.record, Some(0));
    assert!(e.file.ends_with(".v10_0.confluent.avro"), "{e}");
    assert!(matches!(e.kind, ReadErrorKind::Schema(_)), "{e}");
    assert!(e.to_string().contains("unreachable"), "{e}");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// What a table row says, to compare copies of the same alerts.
fn table_key(rows: Vec<AlertSummary>) -> BTreeSet<String> {
    rows.into_iter()
        .map(|r| {
            format!(
                "{} {} {:?} {} {:?} {} {}",
                r.survey,
                r.object_id,
                r.alert_id,
                r.mjd,
                r.flux,
                r.stamps_label(),
                r.record
            )
        })
        .collect()
}

#[test]
fn gzipped_alert_files_read_as_their_originals_and_a_broken_one_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let originals = [
        ztf("fixture/v4.02_2695378462115010012.avro"),
        ztf("fixture/fink_multi_record_container.avro"),
        lsst("boom/25409136044802067.v7_1.avro"),
        lsst("derived-fink-v10-framed/169813006111211588.v10_0.confluent.avro"),
        lsst("fink-science/rubin_sample_data_10_0.parquet"),
        ztf("extra/fink-science-history/data/alerts/alerts.parquet"),
    ];
    // Folders keep `.avro.gz`; a file given by name is read whatever its name.
    let folder = dir.path().join("gz");
    std::fs::create_dir_all(&folder).expect("dir");
    let mut given = vec![folder.clone()];
    for (i, path) in originals.iter().enumerate() {
        let bytes = gzip(&std::fs::read(path).expect("original"));
        if path.extension().is_some_and(|e| e == "parquet") {
            given.push(write(dir.path(), &format!("{i}.parquet.gz"), &bytes));
        } else {
            write(&folder, &format!("{i}.avro.gz"), &bytes);
        }
    }
    let (want, s1) = read_table(&originals, &options());
    let (got, s2) = read_table(&given, &options());
    assert!(s1.errors.is_empty(), "{:?}", s1.errors);
    assert!(s2.errors.is_empty(), "{:?}", s2.errors);
    assert!(want.len() > 50, "{} alerts", want.len());
    assert!(want.iter().any(|r| r.survey.to_string() == "ZTF"));
    assert!(want.iter().any(|r| r.survey.to_string() == "LSST"));
    assert_eq!(table_key(got), table_key(want));

    // A truncated gzip and one gzipped twice: each an error naming the file; the rest reads.
    let whole = gzip(&std::fs::read(&originals[2]).expect("boom"));
    let truncated = write(&folder, "truncated.avro.gz", &whole[..whole.len() / 2]);
    let twice = write(&folder, "twice.avro.gz", &gzip(&whole));
    let (rows, summary) = read_table(&given, &options());
    assert_eq!(rows.len(), s2.alerts);
    for (path, says) in [
        (&truncated, "truncated or corrupt"),
        (&twice, "gzipped twice"),
    ] {
        let name = path.display().to_string();
        let e = summary
            .errors
            .iter()
            .find(|e| e.file == name)
            .unwrap_or_else(|| panic!("no error for {name}: {:?}", summary.errors));
        assert!(matches!(e.kind, ReadErrorKind::Gzip(_)), "{e}");
        assert!(e.to_string().contains(says), "{e}");
    }
}

/// `produce` replays a gzipped alert file as the alert itself (a stream carries alerts, not
/// gzip files); a truncated one is refused by name.
#[test]
fn produce_sends_a_gzipped_file_unzipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let original = std::fs::read(ztf("fixture/v4.02_2695378462115010012.avro")).expect("fixture");
    let zipped = gzip(&original);
    let good = write(dir.path(), "alert.avro.gz", &zipped);
    let broken = write(dir.path(), "broken.avro.gz", &zipped[..zipped.len() / 2]);
    let prepared = stampseq::stream::produce::prepare(
        &[good, broken.clone()],
        &stampseq::alert::AnyReader::default(),
    );
    assert_eq!(prepared.messages.len(), 1);
    let message = &prepared.messages[0];
    assert!(message.unreadable.is_none());
    assert_eq!(message.payload, original);
    assert!(message.key.starts_with("ZTF"), "{}", message.key);
    assert_eq!(prepared.refused.len(), 1);
    assert!(
        prepared.refused[0].contains(&broken.display().to_string())
            && prepared.refused[0].contains("truncated or corrupt"),
        "{:?}",
        prepared.refused
    );
}

/// The message with the first occurrence of `old` (an Avro double: 8 bytes, little-endian)
/// replaced by `new`.
fn replace_double(message: &[u8], old: f64, new: f64) -> Vec<u8> {
    let at = message
        .windows(8)
        .position(|w| w == old.to_le_bytes())
        .expect("the double is in the message");
    let mut out = message.to_vec();
    out[at..at + 8].copy_from_slice(&new.to_le_bytes());
    out
}

#[test]
fn an_lsst_detection_without_a_finite_time_is_an_error_and_such_earlier_ones_are_left_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good_path = lsst("derived-fink-v10-framed/169813006131658851.v10_0.confluent.avro");
    let good = std::fs::read(&good_path).expect("framed alert");
    let (alerts, summary) = read_all_any(std::slice::from_ref(&good_path), &options());
    assert!(summary.errors.is_empty(), "{:#?}", summary.errors);
    let Some(AnyAlert::Lsst(alert)) = alerts.first() else {
        panic!("an LSST alert")
    };
    let prv = alert.prv_dia_sources.len();
    assert!(prv > 1, "the sample has earlier detections");

    let no_time = write(
        dir.path(),
        "no_time.avro",
        &replace_double(&good, alert.dia_source.midpoint_mjd_tai, f64::NAN),
    );
    let no_ra = write(
        dir.path(),
        "no_ra.avro",
        &replace_double(&good, alert.dia_source.ra, f64::INFINITY),
    );
    let earlier = write(
        dir.path(),
        "earlier_no_time.avro",
        &replace_double(&good, alert.prv_dia_sources[0].midpoint_mjd_tai, f64::NAN),
    );
    let inputs = [no_time.clone(), no_ra.clone(), earlier.clone()];
    let (alerts, summary) = read_all_any(&inputs, &options());
    for (path, field) in [(&no_time, "midpointMjdTai is NaN"), (&no_ra, "ra is inf")] {
        let name = path.display().to_string();
        let e = summary
            .errors
            .iter()
            .find(|e| e.file == name)
            .unwrap_or_else(|| panic!("no error for {name}: {:#?}", summary.errors));
        assert!(matches!(e.kind, ReadErrorKind::NotAnAlert(_)), "{e}");
        assert!(e.to_string().contains(field), "{e}");
    }
    assert_eq!(summary.errors.len(), 2, "{:#?}", summary.errors);
    let [AnyAlert::Lsst(kept)] = alerts.as_slice() else {
        panic!(
            "only the alert whose earlier detection lost its time: {} alerts",
            alerts.len()
        )
    };
    assert_eq!(*kept.origin.file, *earlier.display().to_string());
    assert_eq!(kept.prv_dia_sources.len(), prv - 1);
    assert!(kept
        .prv_dia_sources
        .iter()
        .all(|s| s.midpoint_mjd_tai.is_finite()));
}
