use crate::common::ztf;
use crate::common::{run_ok, stampseq};

#[test]
fn inspect_json_summarises_the_fixtures() {
    let out = run_ok(stampseq().args(["inspect", "--json"]).arg(ztf("fixture")));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["files"], 23);
    assert_eq!(v["alerts"], 33);
    assert_eq!(v["objects"], 22);
    assert_eq!(v["objects_multi_night"], 2);
    assert_eq!(v["schema_versions"]["4.02"], 2);
    assert_eq!(v["stamp_shapes"]["63x48"], 3);
    assert_eq!(v["errors"].as_array().map(|a| a.len()), Some(0));
}

#[test]
fn inspect_reports_bad_files_and_strict_fails_on_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("broken.avro");
    std::fs::write(&bad, b"Obj\x01garbage").expect("write");
    let good = ztf("fixture/v3.0_595147624915010001.avro");

    let out = stampseq()
        .args(["inspect", "--json"])
        .arg(&bad)
        .arg(&good)
        .output()
        .expect("run");
    assert!(out.status.success(), "one alert was read: exit 0");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["alerts"], 1);
    let errors = v["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["file"], bad.display().to_string());
    assert!(errors[0]["error"].as_str().is_some_and(|s| !s.is_empty()));

    let strict = stampseq()
        .args(["inspect", "--strict"])
        .arg(&bad)
        .arg(&good)
        .output()
        .expect("run");
    assert!(!strict.status.success());

    let nothing = stampseq()
        .args(["inspect"])
        .arg(&bad)
        .output()
        .expect("run");
    assert!(!nothing.status.success(), "no alert read: failure");
}

#[test]
fn bench_ingest_prints_its_rate_last() {
    let out = stampseq()
        .args(["bench", "ingest", "--repeat", "1"])
        .arg(ztf("fixture/sequence_ZTF19abegmle"))
        .output()
        .expect("run");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("a line");
    assert!(last.starts_with("ingest: 7 alerts in "), "{last}");
    assert!(last.contains(" alerts/s"), "{last}");
}

#[test]
fn the_bundled_sample_is_eight_multi_night_objects() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let out = run_ok(
        stampseq()
            .args(["inspect", "--json", "--strict"])
            .arg(&sample),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["alerts"], 56);
    assert_eq!(v["objects"], 8);
    assert_eq!(v["objects_multi_night"], 8);
    assert_eq!(v["stamp_shapes"]["63x63"], 168);
}

#[test]
fn bench_train_prints_samples_per_second_last() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = dir.path().join("sim");
    stampseq::sim::run(&stampseq::sim::SimConfig {
        out: sim.clone(),
        objects: 20,
        seed: 4,
        templates: vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample")],
        exclude_objects: Default::default(),
        min_detections: 2,
        max_detections: 3,
    })
    .expect("simulate");
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        r#"max_detections = 3
classes = ["AGN", "SN", "VS", "asteroid", "bogus"]
batch = 4
val_per_class = 1
test_per_class = 1
data = ["sim"]
labels = "sim/labels.csv"

[model]
kind = "temporal"
wise = false
hidden = 8

[model.head]
kind = "Gru"

[model.encoder]
blocks = [[4], [8]]
dense = 8
"#,
    )
    .expect("config");
    let out = run_ok(
        stampseq()
            .args(["bench", "train", "--steps", "2", "--config"])
            .arg(&config),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("a line");
    assert!(
        last.starts_with("train: ") && last.contains(" samples/s (CPU"),
        "{last}"
    );
}

/// The bundled temporal model, judged on its own held-out real test objects: `--split`
/// keeps the 191 objects of the run's test part (the benchmark's) out of the 649 labelled ones.
#[test]
fn evaluate_the_bundled_model_on_its_real_test_split() {
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let models = repo.join("assets/models");
    let out = tempfile::tempdir().expect("tempdir");
    let run = stampseq()
        .args(["evaluate", "--backend", "cpu", "--model"])
        .arg(models.join("tsc-gru-real.stampseq"))
        .arg("--data")
        .arg(ztf("labeled"))
        .arg("--data")
        .arg(ztf("extra"))
        .arg("--labels")
        .arg(repo.join("assets/benchmark/split.csv"))
        .arg("--split")
        .arg(models.join("tsc-gru-real.split.json"))
        // The bundled report's figures are the network's own, before the physics rules.
        .arg("--no-rules")
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("191 of 649 labelled objects"), "{stderr}");
    let metrics: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("metrics.json")).expect("metrics.json"),
    )
    .expect("JSON");
    assert_eq!(metrics["objects"], 191);
    assert_eq!(metrics["per_n"][0]["n"], 1);
    assert_eq!(metrics["per_n"][0]["objects"], 191);
    // The figure the report shows: same model, same objects, same accuracy.
    let bundled: serde_json::Value = serde_json::from_slice(
        &std::fs::read(models.join("tsc-gru-real.real-test-metrics.json")).expect("bundled"),
    )
    .expect("JSON");
    let (now, then) = (metrics["accuracy"].as_f64(), bundled["accuracy"].as_f64());
    assert!(
        now.zip(then).is_some_and(|(a, b)| (a - b).abs() < 1e-9),
        "{now:?} vs {then:?}"
    );
    image::open(out.path().join("confusion_matrix.png")).expect("PNG decodes");
    let svg = std::fs::read_to_string(out.path().join("confusion_matrix.svg")).expect("SVG");
    let doc = roxmltree::Document::parse(&svg).expect("SVG parses");
    let texts: String = doc.descendants().filter_map(|n| n.text()).collect();
    for class in ["AGN", "SN", "VS", "asteroid"] {
        assert!(texts.contains(class), "{class} missing from the SVG");
    }
}
