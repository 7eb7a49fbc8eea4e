//! LSST objects and light curves on the real samples in `../shared/data/lsst`, and models
//! that know their survey: a ZTF model given LSST alerts is refused, naming both. Expected
//! values were read from the files with fastavro and pyarrow, independently of stampseq.

use crate::common::{data_dir, stampseq, ztf};
use stampseq::alert::neutral::Survey;
use stampseq::alert::{collect_inputs, read_all, read_all_any, ReadOptions};
use stampseq::classify::{ClassifyOptions, LoadedModel};
use stampseq::model::file::read_header;
use stampseq::model::{read_alerts_for_model, TrainedOn};
use stampseq::sequence::group_into_sequences;
use stampseq::sequence::neutral::{group_objects, PointKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

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

fn bundled_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/default-trees.stampseq")
}

#[test]
fn lsst_objects_merge_history_and_forced_photometry() {
    let (alerts, summary) = read_all_any(&[lsst("")], &options());
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(alerts.len(), 113);
    let (objects, unassociated) = group_objects(alerts);
    // The synthetic samples (pittgoogle-client, fakeAlert) name no object: ids of 0.
    assert_eq!(unassociated.len(), 16);
    assert_eq!(objects.len(), 77);
    assert!(objects.iter().all(|o| o.key.survey == Survey::Lsst));
    // Solar-system alerts are objects by ssObjectId.
    let ss: Vec<&str> = objects
        .iter()
        .filter(|o| o.key.solar_system)
        .map(|o| o.key.id.as_str())
        .collect();
    assert_eq!(
        ss,
        [
            "20892066498361688",
            "21163611661088578",
            "21164736943044929"
        ]
    );
    // Every object has one alert here (the framed copies are the Parquet rows again), but
    // 52 have detections on two nights or more in the history they carry.
    assert!(objects.iter().all(|o| o.alert_nights() == 1));
    assert_eq!(
        objects.iter().filter(|o| o.detection_nights() >= 2).count(),
        52
    );

    // OR4 object 3068394296366334182: one alert, 7 prvDiaSources, 1 prvDiaForcedSource.
    let o = objects
        .iter()
        .find(|o| o.key.id == "3068394296366334182" && !o.key.solar_system)
        .expect("OR4 object");
    assert_eq!(o.alerts.len(), 1);
    let lc = &o.light_curve;
    assert_eq!(lc.detections().count(), 8);
    assert_eq!(lc.forced().count(), 1);
    assert_eq!(lc.bands(), ["r", "i"]);
    assert_eq!(o.detection_nights(), 2);
    let first = &lc.points[0];
    assert_eq!(first.mjd, 60487.178992812434);
    assert_eq!(first.band, "r");
    assert_eq!(first.flux, Some(11215.5517578125));
    assert!((first.mag.expect("positive flux") - 21.27544839024958).abs() < 1e-9);
    // The negative difference of 60487.18087 has a flux and no magnitude.
    let negative = &lc.points[1];
    assert_eq!(negative.flux, Some(-1763.61865234375));
    assert_eq!(negative.mag, None);
    // Only the alert's own detection has its stamps.
    let with_alert: Vec<_> = lc
        .points
        .iter()
        .filter(|p| {
            matches!(
                p.kind,
                PointKind::Detection {
                    has_alert: true,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(with_alert.len(), 1);
    assert_eq!(
        with_alert[0].kind,
        PointKind::Detection {
            source_id: Some(3068429600980730034),
            has_alert: true
        }
    );
    assert!((with_alert[0].mag.expect("mag") - 21.376017072012225).abs() < 1e-9);
    // The forced point is a limit: 5 x psfFluxErr = 5 x 765.514 nJy.
    let forced = lc.forced().next().expect("forced");
    assert_eq!(forced.mag, None);
    assert_eq!(forced.flux, Some(9503.5146484375));
    assert!((forced.mag_limit.expect("limit") - 22.442691658200445).abs() < 1e-9);
    // Time order.
    assert!(lc.points.windows(2).all(|w| w[0].mjd <= w[1].mjd));
}

#[test]
fn ztf_objects_fill_the_same_light_curve() {
    let dir = ztf("fixture");
    let (any, _) = read_all_any(&[&dir], &ReadOptions::default());
    let (zs, _) = read_all(&[&dir], &ReadOptions::default());
    let (objects, unassociated) = group_objects(any);
    let sequences = group_into_sequences(zs);
    assert!(unassociated.is_empty());
    assert_eq!(objects.len(), sequences.len());
    for (o, s) in objects.iter().zip(&sequences) {
        assert_eq!(o.key.id, s.object_id);
        assert_eq!(o.alerts.len(), s.len());
        assert_eq!(o.alert_nights(), s.nights(), "{}", s.object_id);
        // The same detections as the ZTF light curve, in nJy and MJD.
        assert_eq!(
            o.light_curve.detections().count(),
            s.light_curve.detections().count()
        );
        for (p, q) in o.light_curve.detections().zip(s.light_curve.detections()) {
            assert_eq!(p.mjd, q.jd - 2_400_000.5);
            if let stampseq::sequence::PointKind::Detection { magpsf, .. } = q.kind {
                assert_eq!(p.mag, Some(magpsf).filter(|m| m.is_finite()));
            }
        }
    }
}

#[test]
fn models_written_before_surveys_were_recorded_are_ztf_models() {
    let header = read_header(&bundled_model()).expect("bundled model");
    assert_eq!(header.trained_on, TrainedOn::survey_default(Survey::Ztf));
    assert_eq!(header.trained_on.pixel_scale_arcsec, 1.0);
    assert_eq!(header.trained_on.stamp_size, 63);
}

#[test]
fn a_ztf_model_refuses_lsst_alerts_in_the_library() {
    let path = bundled_model();
    let header = read_header(&path).expect("bundled model");
    let (inputs, _) = collect_inputs(&[lsst("fink-science/or4_lsst7.1.part-00000.snappy.parquet")]);
    let err = read_alerts_for_model(&header, &path, &inputs, &options(), |_| {}, |_| {})
        .expect_err("LSST alerts for a ZTF model");
    assert_eq!(err.found, Survey::Lsst);
    let text = err.to_string();
    assert!(text.contains("default-trees"), "{text}");
    assert!(
        text.contains("or4_lsst7.1.part-00000.snappy.parquet"),
        "{text}"
    );
    assert!(text.contains("trained on ZTF"), "{text}");

    // The same model said to be an LSST one refuses ZTF alerts, when reading and when run.
    let mut model = LoadedModel::load(&path, &burn::tensor::Device::flex()).expect("bundled model");
    model.header.trained_on = TrainedOn::survey_default(Survey::Lsst);
    let (inputs, _) = collect_inputs(&[ztf("fixture")]);
    let err = read_alerts_for_model(
        &model.header,
        &path,
        &inputs,
        &ReadOptions::default(),
        |_| {},
        |_| {},
    )
    .expect_err("ZTF alerts for an LSST model");
    assert_eq!(err.found, Survey::Ztf);
    let (alerts, _) = read_all_any(&[ztf("fixture")], &ReadOptions::default());
    let (sequences, _) = group_objects(alerts);
    // Run on them, it answers none: each alert is skipped with the reason (issue #20: a
    // run is not refused for another survey's alerts; other models may answer them).
    let out = model
        .classify(
            &sequences,
            &ClassifyOptions::default(),
            &burn::tensor::Device::flex(),
            &AtomicBool::new(false),
            &|_, _| {},
        )
        .expect("skipped, not refused");
    assert!(out.rows.is_empty());
    assert!(!out.skipped.is_empty());
    for s in &out.skipped {
        assert!(s.reason.contains("trained on LSST"), "{}", s.reason);
        assert!(s.reason.contains("fixture"), "{}", s.reason);
    }
}

/// A ZTF model given for a run of both surveys answers the ZTF alerts and leaves the LSST
/// ones to the neutral default (issue #20); `evaluate`, which scores one model, says by
/// name that the data hold none of its survey's alerts.
#[test]
fn classify_answers_the_other_survey_with_its_default_and_evaluate_names_the_model() {
    let framed = lsst("derived-fink-v10-framed/169813006395375676.v10_0.confluent.avro");
    let dir = tempfile::tempdir().expect("tempdir");
    let out_json = dir.path().join("answers.json");
    let out = stampseq()
        .arg("classify")
        .arg(ztf("fixture"))
        .arg(&framed)
        .arg("--model")
        .arg(bundled_model())
        .args(["--format", "json", "--out"])
        .arg(&out_json)
        .env("STAMPSEQ_LSST_SCHEMAS", schemas())
        .output()
        .expect("run classify");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_json).expect("json")).expect("parse");
    let rows = v["rows"].as_array().expect("rows");
    let lsst_rows: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["survey"] == "LSST").collect();
    assert_eq!(lsst_rows.len(), 1, "the framed alert");
    assert_eq!(lsst_rows[0]["model"], "neutral-trees");
    assert_eq!(lsst_rows[0]["transferred"], true);
    assert!(rows
        .iter()
        .filter(|r| r["survey"] == "ZTF")
        .all(|r| r["model"] == "default-trees" && r["transferred"] == false));

    let labels = dir.path().join("labels.csv");
    std::fs::write(&labels, "objectId,label\nZTF18aaaaaaa,SN\n").expect("labels");
    let out = stampseq()
        .args(["evaluate", "--model"])
        .arg(bundled_model())
        .arg("--data")
        .arg(&framed)
        .arg("--labels")
        .arg(&labels)
        .arg("--out")
        .arg(dir.path().join("out"))
        .env("STAMPSEQ_LSST_SCHEMAS", schemas())
        .output()
        .expect("run evaluate");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("default-trees"), "{err}");
    assert!(
        err.contains("reads ZTF alerts and the data holds none"),
        "{err}"
    );
    assert!(
        err.contains("of a survey default-trees does not read"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// What a catalogue holds, to compare two ways of filling it.
fn catalog_contents(c: &stampseq::app::state::Catalog) -> Vec<String> {
    use stampseq::alert::neutral::SurveyAlert;
    let mut out: Vec<String> = c
        .rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {}",
                r.object_id, r.survey, r.detections, r.nights, r.first_jd, r.last_jd
            )
        })
        .collect();
    for o in c.objects.iter() {
        let ids: Vec<_> = o.alerts.iter().map(|a| a.summary().alert_id).collect();
        out.push(format!(
            "{:?} {ids:?} {}",
            o.key,
            o.light_curve.points.len()
        ));
    }
    out.push(format!(
        "{} alerts, {} unassociated",
        c.alerts, c.unassociated
    ));
    out
}

/// A stream adds alerts a few at a time, in arrival order, some twice: the catalogue ends
/// as if every alert had been loaded at once.
#[test]
fn a_catalogue_filled_in_batches_equals_one_filled_at_once() {
    use stampseq::app::state::Catalog;
    let (mut alerts, summary) = read_all_any(&[ztf("sequences"), lsst("")], &options());
    assert!(alerts.len() > 250, "{} alerts", alerts.len());
    assert!(summary.alerts > 0);
    let mut whole = Catalog::default();
    whole.add_alerts(alerts.clone());

    // Newest first, and in interleaved batches of 7 with every tenth alert sent again.
    alerts.reverse();
    let mut batched = Catalog::default();
    let mut unassociated = 0;
    for (i, chunk) in alerts.chunks(7).enumerate() {
        let mut batch = chunk.to_vec();
        if i % 10 == 0 {
            batch.extend(chunk.iter().take(1).cloned());
        }
        unassociated += batched.add_alerts(batch);
    }
    assert_eq!(unassociated, whole.unassociated);
    assert!(
        whole.unassociated > 0,
        "the synthetic LSST samples name no object"
    );
    use stampseq::alert::neutral::Survey;
    let of = |survey| {
        whole
            .objects
            .iter()
            .filter(|o| o.key.survey == survey)
            .count()
    };
    assert!(of(Survey::Ztf) > 5 && of(Survey::Lsst) > 50);
    let (a, b) = (catalog_contents(&whole), catalog_contents(&batched));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    // Rows kept from before a batch keep their arrival; the objects of the last batch are
    // the newest.
    let last: std::collections::HashSet<String> = alerts
        .chunks(7)
        .last()
        .expect("a batch")
        .iter()
        .filter_map(stampseq::sequence::neutral::ObjectKey::of)
        .map(|k| stampseq::app::state::browser_key(&k))
        .collect();
    let newest_other = batched
        .rows
        .iter()
        .filter(|r| !last.contains(&r.object_id))
        .map(|r| r.arrival)
        .max()
        .expect("other rows");
    for r in batched.rows.iter().filter(|r| last.contains(&r.object_id)) {
        assert!(
            r.arrival > newest_other,
            "{} arrived {}",
            r.object_id,
            r.arrival
        );
    }
    assert!(!last.is_empty());
    // Every row still finds its object.
    for (i, r) in batched.rows.iter().enumerate() {
        assert_eq!(batched.index_of(&r.object_id), Some(i), "{}", r.object_id);
    }
}
