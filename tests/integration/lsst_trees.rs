//! Tree models and networks trained, applied and evaluated on real Rubin/LSST alerts (the
//! LSSTCam alerts of Fink's sample, as Confluent-framed messages) with the `diaSource`
//! features and, for the networks, the alerts' own cutouts, by the same commands as for
//! ZTF; and each survey's models refusing the other's alerts.
//!
//! No labelled LSST set exists in the shared data: the labels here are "asteroid" for the
//! alerts Rubin associated with a known solar-system object and "other" for the rest. They
//! test the machinery (reading, features, split, training, the model file's survey,
//! inference with the rules, evaluation), not the science.

use crate::common::data_dir;
use crate::common::{run_ok, stampseq};
use std::path::{Path, PathBuf};

fn schemas() -> PathBuf {
    data_dir().join("lsst/lsst-alert-packet/schema")
}

fn framed() -> PathBuf {
    data_dir().join("lsst/derived-fink-v10-framed")
}

/// `classify --format json` of the framed LSST alerts with `model`.
fn classify_framed(model: &Path) -> serde_json::Value {
    let out = run_ok(
        stampseq()
            .args(["classify", "--format", "json", "--model"])
            .arg(model)
            .arg("--lsst-schemas")
            .arg(schemas())
            .arg(framed()),
    );
    serde_json::from_slice(&out.stdout).expect("classify's JSON")
}

/// `stampseq table` rows of the framed alerts: (objectId, n_previous, solar_system).
fn table() -> Vec<(String, usize, bool)> {
    let out = run_ok(
        stampseq()
            .args(["table", "--format", "csv", "--lsst-schemas"])
            .arg(schemas())
            .arg(framed()),
    );
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    reader
        .deserialize::<std::collections::HashMap<String, String>>()
        .map(|r| {
            let r = r.expect("row");
            (
                r["objectId"].clone(),
                r["n_previous"].parse().expect("n_previous"),
                r["solar_system"] == "true",
            )
        })
        .collect()
}

fn write_config(dir: &Path, data: &[PathBuf]) -> PathBuf {
    let data: Vec<String> = data
        .iter()
        .map(|p| format!("{:?}", p.display().to_string()))
        .collect();
    let text = format!(
        r#"classes = ["asteroid", "other"]
max_detections = 5
seed = 3
val_per_class = 1
test_per_class = 1
data = [{}]
labels = "labels.csv"
lsst_schemas = {:?}

[model]
kind = "trees"
members = 3
iterations = 20
min_leaf_size = 1
"#,
        data.join(", "),
        schemas().display().to_string()
    );
    let path = dir.join("train.toml");
    std::fs::write(&path, text).expect("config");
    path
}

/// Labels (known solar-system object or not) and the training configuration in `dir`.
fn prepare(dir: &Path, rows: &[(String, usize, bool)]) -> PathBuf {
    let mut labels = String::from("objectId,label\n");
    for (id, _, sso) in rows {
        labels.push_str(&format!(
            "{id},{}\n",
            if *sso { "asteroid" } else { "other" }
        ));
    }
    std::fs::write(dir.join("labels.csv"), &labels).expect("labels");
    write_config(dir, &[framed()])
}

#[test]
fn an_lsst_tree_model_trains_answers_and_evaluates_on_lsst_alerts_only() {
    let rows = table();
    assert_eq!(rows.len(), 20);
    let dir = tempfile::tempdir().expect("tempdir");
    let model = trained_model(dir.path());
    let run = model.parent().expect("run folder").to_path_buf();
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("metrics.json")).expect("metrics"))
            .expect("json");
    assert_eq!(metrics["survey"], "LSST");
    assert_eq!(metrics["test_objects"], 2);

    // Every alert answered, k = the object's detections so far (the history it carries),
    // the rules applied: known solar-system objects are asteroids, an object detected on
    // several nights is not.
    let answer = classify_framed(&model);
    assert_eq!(answer["survey"], "LSST");
    assert_eq!(answer["classes"], serde_json::json!(["asteroid", "other"]));
    let answered = answer["rows"].as_array().expect("rows");
    assert_eq!(answered.len(), 20);
    let mut stationary = 0;
    for r in answered {
        let id = r["object_id"].as_str().expect("id");
        let (_, previous, sso) = rows.iter().find(|(o, _, _)| o == id).expect("known object");
        assert_eq!(r["k"].as_u64(), Some(*previous as u64 + 1), "{id}");
        let p: Vec<f64> = r["probabilities"]
            .as_array()
            .expect("p")
            .iter()
            .map(|v| v.as_f64().expect("f"))
            .collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{id}: {p:?}");
        let rule = r["rule"].as_str().unwrap_or("");
        if *sso {
            assert_eq!(r["top_class"], "asteroid", "{id}");
            assert!(rule.contains("known solar-system object"), "{id}: {rule}");
        } else if rule.starts_with("not asteroid") {
            stationary += 1;
            assert_eq!(p[0], 0.0, "{id}");
        }
    }
    // The rule only speaks where the trees gave the asteroid class some probability.
    assert!(stationary >= 1, "the stationary rule never fired");

    // Evaluation on the labelled objects, as for ZTF.
    let report = evaluate(
        &model,
        &dir.path().join("labels.csv"),
        &dir.path().join("eval"),
    );
    assert_eq!(report["objects"], 20);
    let asteroid = &report["metrics"]["per_class"][0];
    assert_eq!(asteroid["class"], "asteroid");
    assert_eq!(asteroid["support"], 3);
    assert_eq!(asteroid["recall"], 1.0, "the known-object rule");

    // The LSST model never reads ZTF alerts: given ZTF alerts, the run answers them with
    // the ZTF default, not with it (issue #20: no run refused for the other survey).
    let ztf_only = ztf_answers_with(&model);
    assert!(!ztf_only.is_empty());
    assert!(
        ztf_only.iter().all(|m| m == "default-fused"),
        "{ztf_only:?}"
    );

    // One survey per tree model: their features differ.
    let mixed = write_config(
        dir.path(),
        &[
            framed(),
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample"),
        ],
    );
    let out = stampseq()
        .args(["train", "--config"])
        .arg(&mixed)
        .arg("--out")
        .arg(dir.path().join("mixed"))
        .output()
        .expect("train mixed");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("one survey"), "{err}");
}

/// A stream of LSST alerts answered by an LSST model, each answer `classify`'s.
#[test]
fn a_stream_answers_lsst_alerts_with_an_lsst_model_as_classify_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = trained_model(dir.path());
    let expected = classify_framed(&model);
    let got = stream_answers(dir.path(), &model);
    let want = expected["rows"].as_array().expect("rows");
    assert_eq!(got.len(), want.len(), "every LSST alert answered once");
    for w in want {
        let id = w["candid"].as_i64().expect("alert id").to_string();
        let g = &got[&id];
        assert_eq!(g["k"], w["k"].to_string(), "{id}");
        assert!(g.get("skipped").is_none_or(|s| s.is_empty()), "{id}: {g:?}");
        for (c, p) in ["asteroid", "other"]
            .iter()
            .zip(w["probabilities"].as_array().expect("p"))
        {
            let p_got: f64 = g[&format!("p_{c}")].parse().expect("p");
            assert!((p_got - p.as_f64().expect("f")).abs() < 1e-5, "{id} {c}");
        }
    }
}

/// `stampseq evaluate` of `model` on the framed LSST alerts with `labels`: its metrics.json.
fn evaluate(model: &Path, labels: &Path, out: &Path) -> serde_json::Value {
    let run = stampseq()
        .args(["evaluate", "--model"])
        .arg(model)
        .arg("--data")
        .arg(framed())
        .arg("--lsst-schemas")
        .arg(schemas())
        .arg("--labels")
        .arg(labels)
        .arg("--out")
        .arg(out)
        .output()
        .expect("evaluate");
    assert!(
        run.status.success(),
        "{}: {}",
        model.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&std::fs::read(out.join("metrics.json")).expect("metrics"))
        .expect("json")
}

/// A tree model trained on the framed LSST alerts in `dir` (labels in `dir/labels.csv`).
pub(crate) fn trained_model(dir: &Path) -> PathBuf {
    let config = prepare(dir, &table());
    let run = dir.join("run");
    run_ok(
        stampseq()
            .args(["train", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(&run),
    );
    run.join("best.stampseq")
}

/// A network's configuration for the framed LSST alerts (labels already in `dir`): a small
/// encoder on the centre 21 px of the 0.2"/px cutouts, a few iterations.
fn write_network_config(dir: &Path, kind: &str) -> PathBuf {
    let head = if kind == "temporal" {
        "kind = \"temporal\"\nwise = false\nhidden = 8\ntime = \"Log1p\"\n\n[model.head]\nkind = \"Gru\""
    } else {
        "kind = \"enhanced\"\ndense = [16]\ndropout = 0.0"
    };
    let text = format!(
        r#"classes = ["asteroid", "other"]
max_detections = 5
seed = 3
val_per_class = 1
test_per_class = 1
lr = 0.001
batch = 8
max_iterations = 20
validate_every = 10
augment = true
balance_classes = true
data = [{:?}]
labels = "labels.csv"
lsst_schemas = {:?}

[model]
{head}

[model.encoder]
blocks = [[8]]
dense = 16
dropout = 0.0
"#,
        framed().display().to_string(),
        schemas().display().to_string()
    );
    let path = dir.join(format!("{kind}.toml"));
    std::fs::write(&path, text).expect("config");
    path
}

/// Networks on LSST stamps: a single-alert and a temporal network train on the framed
/// alerts' cutouts and `diaSource` features; the model file records the survey, the
/// stamps' side and the feature set; `classify` answers every LSST alert (the CPU kernels
/// as Burn does), `evaluate` scores them, a stream through a real broker answers as
/// `classify` does, and ZTF alerts are refused by name.
#[test]
fn lsst_networks_train_on_lsst_stamps_and_answer_lsst_alerts_only() {
    let rows = table();
    let dir = tempfile::tempdir().expect("tempdir");
    prepare(dir.path(), &rows);
    for kind in ["enhanced", "temporal"] {
        let config = write_network_config(dir.path(), kind);
        let run = dir.path().join(format!("run-{kind}"));
        let out = stampseq()
            .args(["train", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(&run)
            .output()
            .expect("train");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{kind}: {err}");
        // Said also when the output is a log, not a terminal.
        assert!(err.contains("objects: "), "{kind}: {err}");
        let model = run.join("best.stampseq");
        let header = stampseq::model::file::read_header(&model).expect("header");
        assert_eq!(
            header.trained_on.survey,
            stampseq::alert::neutral::Survey::Lsst
        );
        assert_eq!(header.trained_on.feature_set, "lsst-diasource");
        assert!(
            header.trained_on.stamp_size >= 30,
            "{:?}",
            header.trained_on
        );
        assert_eq!(
            header.feature_stats.names,
            stampseq::features::lsst::LSST_TABULAR_FEATURES
        );

        // Every alert answered, with the same probabilities on the CPU kernels and on Burn.
        let answers = |backend: &str| -> serde_json::Value {
            let out = stampseq()
                .args([
                    "classify",
                    "--format",
                    "json",
                    "--backend",
                    backend,
                    "--model",
                ])
                .arg(&model)
                .arg("--lsst-schemas")
                .arg(schemas())
                .arg(framed())
                .output()
                .expect("classify");
            assert!(
                out.status.success(),
                "{kind} {backend}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).expect("json")
        };
        let (cpu, flex) = (answers("cpu"), answers("flex"));
        let ran_on = |v: &serde_json::Value| v["backend"].as_str().unwrap_or("").to_string();
        assert!(ran_on(&cpu).contains("conv kernels"), "{}", ran_on(&cpu));
        assert!(!ran_on(&flex).contains("conv kernels"), "{}", ran_on(&flex));
        let rows_cpu = cpu["rows"].as_array().expect("rows");
        let rows_flex = flex["rows"].as_array().expect("rows");
        assert_eq!(rows_cpu.len(), 20, "{kind}: every alert answered");
        assert_eq!(rows_flex.len(), 20);
        for (a, b) in rows_cpu.iter().zip(rows_flex) {
            let id = a["object_id"].as_str().expect("id");
            assert_eq!(a["candid"], b["candid"]);
            let (_, previous, _) = rows.iter().find(|(o, _, _)| o == id).expect("object");
            assert_eq!(a["k"].as_u64(), Some(*previous as u64 + 1), "{id}");
            let p: Vec<f64> = a["probabilities"]
                .as_array()
                .expect("p")
                .iter()
                .map(|v| v.as_f64().expect("f"))
                .collect();
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{id}: {p:?}");
            for (x, y) in p.iter().zip(b["probabilities"].as_array().expect("p")) {
                assert!((x - y.as_f64().expect("f")).abs() < 1e-5, "{kind} {id}");
            }
        }

        let report = evaluate(
            &model,
            &dir.path().join("labels.csv"),
            &dir.path().join(format!("eval-{kind}")),
        );
        assert_eq!(report["objects"], 20, "{kind}");

        // ZTF alerts are not this model's: the ZTF default answers them.
        let ztf_only = ztf_answers_with(&model);
        assert!(
            ztf_only.iter().all(|m| m == "default-fused"),
            "{kind}: {ztf_only:?}"
        );

        // Through a real broker, a stream answers every LSST alert as `classify` does: a
        // single-alert network on the alert alone, a temporal one with the object's alerts
        // held in the partition's state.
        let stream_dir = dir.path().join(format!("stream-{kind}"));
        std::fs::create_dir_all(&stream_dir).expect("stream dir");
        let got = stream_answers(&stream_dir, &model);
        assert_eq!(got.len(), 20, "{kind}: every LSST alert answered once");
        for w in rows_cpu {
            let id = w["candid"].as_i64().expect("alert id").to_string();
            let g = &got[&id];
            assert_eq!(g["skipped"], "", "{kind} {id}");
            assert_eq!(g["k"], w["k"].to_string(), "{id}");
            for (c, p) in ["asteroid", "other"]
                .iter()
                .zip(w["probabilities"].as_array().expect("p"))
            {
                let p_got: f64 = g[&format!("p_{c}")].parse().expect("p");
                assert!(
                    (p_got - p.as_f64().expect("f")).abs() < 1e-5,
                    "{kind} {id} {c}"
                );
            }
        }
    }
}

/// An encoder crop larger than Rubin's smallest cutouts: training says which stamp and why
/// rather than "no objects".
#[test]
fn an_lsst_network_whose_crop_exceeds_the_cutouts_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    prepare(dir.path(), &table());
    let config = write_network_config(dir.path(), "enhanced");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace("blocks = [[8]]", "blocks = [[8]]\ncrop = 41"),
    )
    .expect("config");
    let out = stampseq()
        .args(["train", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .expect("train");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no labelled detection could be preprocessed")
            && err.contains("crop of 41 px does not fit a 30 px stamp"),
        "{err}"
    );
}

/// `classify --model MODEL` on the bundled ZTF sample: the model of each answer.
fn ztf_answers_with(model: &Path) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tmp");
    let out_csv = dir.path().join("ztf.csv");
    run_ok(
        stampseq()
            .args(["classify", "--model"])
            .arg(model)
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample"))
            .arg("--out")
            .arg(&out_csv),
    );
    let mut reader = csv::Reader::from_path(&out_csv).expect("csv");
    reader
        .deserialize::<std::collections::HashMap<String, String>>()
        .map(|r| r.expect("row")["model"].clone())
        .collect()
}

/// The framed LSST alerts through a real broker and `stampseq stream --model MODEL`: the
/// answers written, by alert id.
fn stream_answers(
    dir: &Path,
    model: &Path,
) -> std::collections::HashMap<String, std::collections::HashMap<String, String>> {
    let broker = crate::kafka::Broker::start();
    broker.create_topic("lsst", 2);
    run_ok(
        stampseq()
            .args(["produce", "--brokers", &broker.address(), "--topic", "lsst"])
            .args(["-X", "batch.num.messages=1"])
            .arg("--lsst-schemas")
            .arg(schemas())
            .arg(framed()),
    );
    let answers = dir.join("stream-answers");
    run_ok(
        stampseq()
            .args([
                "stream",
                "--brokers",
                &broker.address(),
                "--topic",
                "lsst",
                "--group",
                "rubin",
                "--from-beginning",
                "--until-caught-up",
                "--backend",
                "cpu",
            ])
            .arg("--model")
            .arg(model)
            .arg("--lsst-schemas")
            .arg(schemas())
            .arg("--out")
            .arg(&answers)
            .arg("--state-dir")
            .arg(dir.join("stream-state")),
    );
    let mut got = std::collections::HashMap::new();
    for f in std::fs::read_dir(&answers).expect("answers") {
        let mut reader = csv::Reader::from_path(f.expect("file").path()).expect("csv");
        for r in reader.deserialize::<std::collections::HashMap<String, String>>() {
            let r = r.expect("row");
            got.insert(r["alertId"].clone(), r);
        }
    }
    got
}
