//! Issue #20: an answer for Rubin/LSST alerts from day one. One run over ZTF and LSST
//! alerts answers each alert with the model of its survey (the neutral model, learnt on
//! ZTF objects, for LSST: marked transferred), through `classify` and a real broker; the
//! physics rules hold on LSST alerts (known solar-system objects are asteroids, objects
//! detected on two or more nights are not).

use crate::common::data_dir;
use crate::common::run_ok;
use stampseq::alert::neutral::Survey;
use stampseq::alert::{collect_inputs, read_inputs_any, AnyAlert, ReadOptions};
use stampseq::sequence::neutral::count_nights_mjd;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::Command;

fn stampseq() -> Command {
    let mut c = crate::common::stampseq();
    c.env(
        "STAMPSEQ_ASSETS",
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets"),
    );
    c
}

fn schemas() -> PathBuf {
    data_dir().join("lsst/lsst-alert-packet/schema")
}

/// The folders of the command: LSST Parquet, framed and BOOM alerts, and a ZTF
/// object's five alerts.
fn mixed_inputs() -> Vec<PathBuf> {
    vec![
        data_dir().join("lsst/fink-science"),
        data_dir().join("lsst/derived-fink-v10-framed"),
        data_dir().join("lsst/boom"),
        data_dir().join("ztf/fixture/sequence_ZTF19abegmle"),
    ]
}

/// What each distinct alert of the inputs is, read by the library: its survey, whether it
/// belongs to a known solar-system object, and on how many nights its object was detected
/// (the alert's own history and every loaded alert of the object).
struct Truth {
    survey: Survey,
    solar_system: bool,
    nights: usize,
}

fn truth() -> HashMap<i64, Truth> {
    let options = ReadOptions {
        lsst_schemas: Some(schemas()),
        ..Default::default()
    };
    let (inputs, _) = collect_inputs(&mixed_inputs());
    let alerts = std::sync::Mutex::new(Vec::new());
    read_inputs_any(
        &inputs,
        &options,
        |_| {},
        |a| alerts.lock().expect("lock").push(a),
    );
    let alerts = alerts.into_inner().expect("alerts");
    // Detection times per object, over every alert's own detection and carried history.
    let mut times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for a in &alerts {
        match a {
            AnyAlert::Lsst(l) => {
                let t = times.entry(l.object_name()).or_default();
                t.push(l.dia_source.midpoint_mjd_tai);
                t.extend(l.prv_dia_sources.iter().map(|p| p.midpoint_mjd_tai));
            }
            AnyAlert::Ztf(z) => {
                let t = times.entry(z.object_id.clone()).or_default();
                t.push(z.candidate.jd - 2_400_000.5);
                t.extend(
                    z.prv_candidates
                        .iter()
                        .filter(|p| p.is_detection())
                        .map(|p| p.jd - 2_400_000.5),
                );
            }
        }
    }
    let mut out = HashMap::new();
    for a in &alerts {
        let (id, survey, object, solar) = match a {
            AnyAlert::Lsst(l) => (
                l.alert_id,
                Survey::Lsst,
                l.object_name(),
                l.is_solar_system(),
            ),
            AnyAlert::Ztf(z) => (
                z.candid.expect("candid"),
                Survey::Ztf,
                z.object_id.clone(),
                false,
            ),
        };
        let nights = count_nights_mjd(survey, times[&object].iter().copied());
        out.insert(
            id,
            Truth {
                survey,
                solar_system: solar,
                nights,
            },
        );
    }
    out
}

/// Checks every answer against the truth: every alert answered once, by the model of its
/// survey, the transferred mark on LSST answers only, and the rules.
fn check_answers(answers: &HashMap<i64, HashMap<String, String>>, what: &str) {
    let truth = truth();
    let lsst = truth.values().filter(|t| t.survey == Survey::Lsst).count();
    assert!(lsst >= 70, "{what}: {lsst} LSST alerts read");
    assert_eq!(
        answers.len(),
        truth.len(),
        "{what}: every distinct alert answered once"
    );
    let mut solar = 0;
    let mut multi_night = 0;
    for (id, t) in &truth {
        let a = answers
            .get(id)
            .unwrap_or_else(|| panic!("{what}: alert {id} not answered"));
        let (model, transferred) = match t.survey {
            Survey::Ztf => ("default-fused", "false"),
            Survey::Lsst => ("neutral-trees", "true"),
        };
        assert_eq!(a["model"], model, "{what}: alert {id}");
        assert_eq!(a["transferred"], transferred, "{what}: alert {id}");
        if t.solar_system {
            solar += 1;
            assert_eq!(a["top_class"], "asteroid", "{what}: alert {id}");
        }
        if t.nights >= 2 {
            multi_night += 1;
            assert_ne!(
                a["top_class"], "asteroid",
                "{what}: alert {id} of an object detected on {} nights",
                t.nights
            );
        }
    }
    eprintln!(
        "{what}: {} alerts ({lsst} LSST), {solar} of known solar-system objects, \
         {multi_night} of objects detected on two or more nights",
        truth.len()
    );
    assert_eq!(solar, 3, "{what}: the three alerts with an ssObjectId");
    assert!(
        multi_night >= 50,
        "{what}: {multi_night} multi-night alerts"
    );
}

#[test]
fn one_classify_run_answers_ztf_and_lsst_alerts_each_with_its_surveys_model() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("answers.csv");
    let run = stampseq()
        .arg("classify")
        .args(mixed_inputs())
        .arg("--out")
        .arg(&out)
        .env("STAMPSEQ_LSST_SCHEMAS", schemas())
        .output()
        .expect("classify");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("neutral-trees"), "{err}");
    let mut answers = HashMap::new();
    let mut reader = csv::Reader::from_path(&out).expect("csv");
    for r in reader.deserialize::<HashMap<String, String>>() {
        let r = r.expect("row");
        let id: i64 = r["candid"].parse().expect("alert id");
        assert!(answers.insert(id, r).is_none(), "alert {id} answered twice");
    }
    check_answers(&answers, "classify");

    // A model given for one survey leaves the other's alerts to its default; a model that
    // reads neither survey's alerts here is not needed for the run to answer.
    let json = dir.path().join("answers.json");
    run_ok(
        stampseq()
            .arg("classify")
            .args(mixed_inputs())
            .arg("--model")
            .arg(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("assets/models/default-trees.stampseq"),
            )
            .args(["--format", "json", "--out"])
            .arg(&json)
            .env("STAMPSEQ_LSST_SCHEMAS", schemas()),
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("parse");
    let models: HashSet<&str> = v["models"]
        .as_array()
        .expect("models")
        .iter()
        .map(|m| m["model"].as_str().expect("name"))
        .collect();
    assert_eq!(models, HashSet::from(["default-trees", "neutral-trees"]));
    for r in v["rows"].as_array().expect("rows") {
        let lsst = r["survey"] == "LSST";
        assert_eq!(r["transferred"], lsst, "{r}");
    }
}

#[test]
fn a_stream_of_both_surveys_answers_every_alert_as_classify_does() {
    let dir = tempfile::tempdir().expect("tmp");
    let broker = crate::kafka::Broker::start();
    broker.create_topic("mixed", 2);
    // Parquet rows cannot be produced as messages: the framed LSST alerts (the same alerts
    // as 20 of the Parquet rows), BOOM's, and the ZTF object's.
    let inputs = [
        data_dir().join("lsst/derived-fink-v10-framed"),
        data_dir().join("lsst/boom"),
        data_dir().join("ztf/fixture/sequence_ZTF19abegmle"),
    ];
    run_ok(
        stampseq()
            .args([
                "produce",
                "--brokers",
                &broker.address(),
                "--topic",
                "mixed",
            ])
            .arg("--lsst-schemas")
            .arg(schemas())
            .args(&inputs),
    );
    let answers_dir = dir.path().join("answers");
    run_ok(
        stampseq()
            .args([
                "stream",
                "--brokers",
                &broker.address(),
                "--topic",
                "mixed",
                "--group",
                "both",
                "--from-beginning",
                "--until-caught-up",
                "--backend",
                "cpu",
            ])
            .arg("--lsst-schemas")
            .arg(schemas())
            .arg("--out")
            .arg(&answers_dir)
            .arg("--state-dir")
            .arg(dir.path().join("state")),
    );
    let mut streamed: HashMap<String, HashMap<String, String>> = HashMap::new();
    for f in std::fs::read_dir(&answers_dir).expect("answers") {
        let mut reader = csv::Reader::from_path(f.expect("file").path()).expect("csv");
        for r in reader.deserialize::<HashMap<String, String>>() {
            let r = r.expect("row");
            streamed.insert(r["alertId"].clone(), r);
        }
    }
    assert_eq!(streamed.len(), 29, "20 framed + 2 BOOM + 7 ZTF alerts");

    // `classify --causal` on the same alerts gives the same answers.
    let csv_out = dir.path().join("classify.csv");
    run_ok(
        stampseq()
            .arg("classify")
            .args(&inputs)
            .args(["--causal", "--max-detections", "0", "--out"])
            .arg(&csv_out)
            .env("STAMPSEQ_LSST_SCHEMAS", schemas()),
    );
    let mut reader = csv::Reader::from_path(&csv_out).expect("csv");
    let mut n = 0;
    for r in reader.deserialize::<HashMap<String, String>>() {
        let r = r.expect("row");
        let s = &streamed[&r["candid"]];
        assert_eq!(s["skipped"], "", "{}", r["candid"]);
        assert_eq!(s["model"], r["model"], "{}", r["candid"]);
        assert_eq!(s["top_class"], r["top_class"], "{}", r["candid"]);
        assert_eq!(s["transferred"], r["transferred"], "{}", r["candid"]);
        for c in ["AGN", "SN", "VS", "asteroid", "bogus"] {
            let (a, b): (f64, f64) = (
                s[&format!("p_{c}")].parse().expect("p"),
                r[&format!("p_{c}")].parse().expect("p"),
            );
            assert!((a - b).abs() < 1e-6, "{} p_{c}: {a} vs {b}", r["candid"]);
        }
        n += 1;
    }
    assert_eq!(n, 29);
}

/// `evaluate --model` on labelled objects of both surveys: the given model's report, and the
/// other survey's labelled objects scored with its default model beside it.
#[test]
fn evaluate_scores_the_other_surveys_objects_with_their_default() {
    let dir = tempfile::tempdir().expect("tmp");
    let labels = dir.path().join("labels.csv");
    // The ZTF object is a variable star in the shared labels; the three LSST alerts of
    // known solar-system objects are asteroids by their association.
    std::fs::write(
        &labels,
        "objectId,label\nZTF19abegmle,VS\n20892066498361688,asteroid\n\
         21163611661088578,asteroid\n21164736943044929,asteroid\n",
    )
    .expect("labels");
    let out = dir.path().join("eval");
    let run = stampseq()
        .args(["evaluate", "--model"])
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/models/default-trees.stampseq"))
        .arg("--data")
        .args(mixed_inputs())
        .arg("--labels")
        .arg(&labels)
        .arg("--out")
        .arg(&out)
        .env("STAMPSEQ_LSST_SCHEMAS", schemas())
        .output()
        .expect("evaluate");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    let read = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .expect("json")
    };
    let ztf = read(out.join("metrics.json"));
    assert_eq!(ztf["model"], "default-trees");
    assert_eq!(ztf["objects"], 1);
    let lsst = read(out.join("neutral-trees/metrics.json"));
    assert_eq!(lsst["model"], "neutral-trees");
    assert_eq!(lsst["objects"], 3);
    assert_eq!(lsst["accuracy"], 1.0, "the known-object rule: {err}");
}

/// `evaluate` without `--model` scores the answer `classify` gives: the ZTF default on the
/// ZTF objects, the LSST default on the LSST ones; with LSST objects alone, only the latter.
#[test]
fn evaluate_without_a_model_scores_each_surveys_default() {
    let dir = tempfile::tempdir().expect("tmp");
    let labels = dir.path().join("labels.csv");
    std::fs::write(
        &labels,
        "objectId,label\nZTF19abegmle,VS\n20892066498361688,asteroid\n\
         21163611661088578,asteroid\n21164736943044929,asteroid\n",
    )
    .expect("labels");
    let evaluate = |inputs: Vec<PathBuf>, out: &std::path::Path| {
        let run = stampseq()
            .args(["evaluate", "--backend", "cpu", "--data"])
            .args(inputs)
            .arg("--labels")
            .arg(&labels)
            .arg("--out")
            .arg(out)
            .env("STAMPSEQ_LSST_SCHEMAS", schemas())
            .output()
            .expect("evaluate");
        let err = String::from_utf8_lossy(&run.stderr).to_string();
        assert!(run.status.success(), "{err}");
    };
    let read = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .expect("json")
    };
    let both = dir.path().join("both");
    evaluate(mixed_inputs(), &both);
    let ztf = read(both.join("metrics.json"));
    assert_eq!(ztf["model"], "default-fused");
    assert_eq!(ztf["objects"], 1);
    let lsst = read(both.join("neutral-trees/metrics.json"));
    assert_eq!(lsst["model"], "neutral-trees");
    assert_eq!(lsst["objects"], 3);

    let lsst_only = dir.path().join("lsst");
    let lsst_inputs: Vec<PathBuf> = mixed_inputs()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("lsst"))
        .collect();
    assert!(!lsst_inputs.is_empty());
    evaluate(lsst_inputs, &lsst_only);
    assert!(!lsst_only.join("metrics.json").exists());
    let lsst = read(lsst_only.join("neutral-trees/metrics.json"));
    assert_eq!(lsst["objects"], 3);
}

/// `stampseq finetune` on labelled LSST objects starts from the neutral model and makes an
/// LSST model of it: its LSST answers are no longer transferred.
#[test]
fn finetune_on_lsst_labels_makes_the_neutral_model_an_lsst_model() {
    let dir = tempfile::tempdir().expect("tmp");
    // A copy of the bundled models, so that the fine-tuned one is written beside the copy.
    let assets = dir.path().join("assets");
    std::fs::create_dir_all(assets.join("models")).expect("dir");
    for m in ["default-trees", "neutral-trees"] {
        std::fs::copy(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("assets/models/{m}.stampseq")),
            assets.join(format!("models/{m}.stampseq")),
        )
        .expect("copy");
    }
    // An assets folder as a checkout or an install has it: the fine-tune reads the
    // benchmark split there to train on the bundled objects too.
    std::fs::create_dir_all(assets.join("benchmark")).expect("dir");
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/benchmark/split.csv"),
        assets.join("benchmark/split.csv"),
    )
    .expect("copy the split");
    let framed = data_dir().join("lsst/derived-fink-v10-framed");
    let answers = |model: Option<&std::path::Path>| -> Vec<HashMap<String, String>> {
        let out = dir.path().join("answers.csv");
        let mut c = stampseq();
        c.env("STAMPSEQ_ASSETS", &assets)
            .arg("classify")
            .arg(&framed)
            .arg("--out")
            .arg(&out)
            .env("STAMPSEQ_LSST_SCHEMAS", schemas());
        if let Some(m) = model {
            c.arg("--model").arg(m);
        }
        let run = c.output().expect("classify");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        csv::Reader::from_path(&out)
            .expect("csv")
            .deserialize::<HashMap<String, String>>()
            .map(|r| r.expect("row"))
            .collect()
    };
    let before = answers(None);
    assert!(before.iter().all(|r| r["transferred"] == "true"));
    // Vet every object: the known solar-system ones as asteroids, the others as AGN.
    let mut labels = String::from("objectId,label\n");
    let mut seen = HashSet::new();
    for r in &before {
        if seen.insert(r["objectId"].clone()) {
            let label = if r["rule"].contains("known solar-system object") {
                "asteroid"
            } else {
                "AGN"
            };
            labels.push_str(&format!("{},{label}\n", r["objectId"]));
        }
    }
    let labels_csv = dir.path().join("labels.csv");
    std::fs::write(&labels_csv, labels).expect("labels");
    let run = stampseq()
        .env("STAMPSEQ_ASSETS", &assets)
        .arg("finetune")
        .arg(&framed)
        .arg("--labels")
        .arg(&labels_csv)
        .arg("--lsst-schemas")
        .arg(schemas())
        .output()
        .expect("finetune");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(
        err.contains("neutral-trees.stampseq"),
        "started from the neutral model: {err}"
    );
    let new_model = std::fs::read_dir(assets.join("models"))
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("neutral-trees.ft-"))
                && p.extension().is_some_and(|e| e == "stampseq")
        })
        .expect("the fine-tuned model beside the neutral one");
    let header = stampseq::model::file::read_header(&new_model).expect("header");
    assert_eq!(header.trained_on.survey, Survey::Lsst);
    assert_eq!(header.trained_on.feature_set, "neutral");
    let after = answers(Some(&new_model));
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|r| r["transferred"] == "false"));
    let agn = after.iter().filter(|r| r["top_class"] == "AGN").count();
    let agn_before = before.iter().filter(|r| r["top_class"] == "AGN").count();
    assert!(
        agn > agn_before,
        "the vetting moved answers: {agn_before} -> {agn} AGN"
    );
}
