//! The default answer (bundled `default-fused`: `default-trees` and `tsc-gru-real`) and the real-data benchmark, end to end on
//! the real alerts: what a new user gets from `classify` with no model, the physics it must
//! respect, and the benchmark's outputs.

use crate::common::{data_dir, ztf};
use crate::common::{run_ok, stampseq};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// Rows of a `classify` CSV as maps from column to value.
fn rows(csv_path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(csv_path).expect("classify csv");
    let headers = reader.headers().expect("headers").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Runs `classify` with the default answer; what it said on the terminal.
fn classify(paths: &[&Path], out: &Path) -> String {
    let output = stampseq()
        .arg("classify")
        .args(paths)
        .args(["--max-detections", "0", "--out"])
        .arg(out)
        .output()
        .expect("run classify");
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{said}");
    said
}

#[test]
fn classify_without_a_model_gives_five_classes_and_whether_its_members_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sample.csv");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let said = classify(&[&sample], &out);
    // What names the source rather than the class, which its networks read as missing.
    assert!(
        said.contains(
            "its networks read ra, dec, ndethist, ecl_lat, ecl_long, gal_lat, gal_long as missing"
        ),
        "{said}"
    );
    let rows = rows(&out);
    assert_eq!(rows.len(), 56, "every alert of the sample, one row each");
    for r in &rows {
        assert_eq!(r["model"], "default-fused");
        let p: f32 = ["AGN", "SN", "VS", "asteroid", "bogus"]
            .iter()
            .map(|c| r[&format!("p_{c}")].parse::<f32>().expect("probability"))
            .sum();
        assert!((p - 1.0).abs() < 1e-4, "{r:?}");
        // Three networks and the trees: the spread of the networks' answers is the
        // uncertainty, a probability's worth at most.
        let u: f32 = r["uncertainty"].parse().expect("uncertainty");
        assert!((0.0..=0.5).contains(&u), "{r:?}");
        let d: f32 = r["disagreement"].parse().expect("disagreement");
        assert!((0.0..=1.0).contains(&d));
    }
    // The multi-night supernovae of the sample the simulation-only model called asteroids.
    let last = |id: &str| {
        rows.iter()
            .filter(|r| r["objectId"] == id)
            .max_by_key(|r| r["k"].parse::<usize>().expect("k"))
            .map(|r| r["top_class"].clone())
            .expect("object classified")
    };
    for sn in ["ZTF25abcydiy", "ZTF25abixhdc"] {
        assert_eq!(last(sn), "SN", "{sn}");
    }
}

#[test]
fn no_object_seen_on_two_nights_is_an_asteroid_and_sn_2021rhu_is_a_supernova() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("sequences.csv");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    classify(&[&ztf("sequences"), &sample], &out);
    let rows = rows(&out);
    assert!(rows.len() >= 180, "{}", rows.len());
    let asteroids: Vec<String> = rows
        .iter()
        .filter(|r| r["top_class"] == "asteroid")
        .map(|r| format!("{} k={}", r["objectId"], r["k"]))
        .collect();
    assert!(asteroids.is_empty(), "asteroid answers: {asteroids:?}");
    let rhu: Vec<&HashMap<String, String>> = rows
        .iter()
        .filter(|r| r["objectId"] == "ZTF21abiuvdk")
        .collect();
    assert_eq!(rhu.len(), 34);
    let last = rhu
        .iter()
        .max_by_key(|r| r["k"].parse::<usize>().expect("k"))
        .expect("rows");
    assert_eq!(last["top_class"], "SN");
    // Most of its steps, not just the last.
    let sn_steps = rhu.iter().filter(|r| r["top_class"] == "SN").count();
    assert!(sn_steps * 3 >= rhu.len() * 2, "{sn_steps} of {}", rhu.len());
}

#[test]
fn known_asteroids_are_asteroids() {
    // The extra folder's asteroids are labelled by their own ssdistnr: the rule must find
    // every one of those readable from a plain Avro folder.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("extra.csv");
    classify(&[&ztf("extra/fink-alert-simulator")], &out);
    let labels: HashMap<String, String> = {
        let mut reader = csv::Reader::from_path(ztf("extra/manifest.csv")).expect("extra manifest");
        let h = reader.headers().expect("headers").clone();
        let id = h.iter().position(|c| c == "objectId").expect("objectId");
        let label = h.iter().position(|c| c == "label").expect("label");
        reader
            .records()
            .map(|r| {
                let r = r.expect("row");
                (r[id].to_string(), r[label].to_string())
            })
            .collect()
    };
    let rows = rows(&out);
    let asteroids: Vec<&HashMap<String, String>> = rows
        .iter()
        .filter(|r| labels.get(&r["objectId"]).is_some_and(|l| l == "asteroid"))
        .collect();
    assert!(asteroids.len() >= 100);
    let found: Vec<_> = asteroids
        .iter()
        .filter(|r| r["top_class"] == "asteroid")
        .collect();
    // A few were detected on an earlier night at the same spot: a source stays there, and
    // the stationary rule wins.
    assert!(
        found.len() * 100 >= asteroids.len() * 95,
        "{} of {}",
        found.len(),
        asteroids.len()
    );
    assert!(found
        .iter()
        .all(|r| r["rule"].contains("known solar-system object")));
}

#[test]
fn a_truncated_tree_model_is_refused_with_its_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/default-trees.stampseq"),
    )
    .expect("bundled model");
    let bad = dir.path().join("cut.stampseq");
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).expect("write");
    let out = stampseq()
        .arg("classify")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample"))
        .arg("--model")
        .arg(&bad)
        .output()
        .expect("run classify");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.stampseq"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn benchmark_writes_its_table_metrics_and_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("bench");
    let model = dir.path().join("trees.stampseq");
    run_ok(
        stampseq()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("benchmark")
            .arg("--data")
            .arg(data_dir())
            .args(["--repeats", "2", "--members", "2", "--no-networks", "--out"])
            .arg(&out)
            .arg("--save-model")
            .arg(&model)
            // A network retrained on every fold (two steps: this checks the plumbing, not the
            // network) and fused with the fold's trees.
            .args([
                "--retrain-grouped",
                "assets/models/tsc-gru-real.toml",
                "--retrain-iterations",
                "2",
            ]),
    );
    let table = std::fs::read_to_string(out.join("table.md")).expect("table.md");
    assert!(table.contains("| default-trees |"), "{table}");
    assert!(table.contains("| majority (VS) |"), "{table}");
    assert!(table.contains("over 2 repeats"));
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).expect("metrics"))
            .expect("json");
    let models = metrics["models"].as_array().expect("models");
    let trees = models
        .iter()
        .find(|m| m["model"] == "default-trees")
        .expect("trees");
    let ba = trees["five_classes"]["metrics"]["balanced_accuracy"]
        .as_f64()
        .expect("ba");
    let majority = models[0]["five_classes"]["metrics"]["balanced_accuracy"]
        .as_f64()
        .expect("majority ba");
    assert!(
        ba > majority + 0.3,
        "trees {ba} against majority {majority}"
    );
    assert_eq!(trees["repeated_five"]["repeats"], 2);
    let ece = trees["five_classes"]["ece"].as_f64().expect("ece");
    assert!((0.0..1.0).contains(&ece));
    for f in [
        "reliability.png",
        "reliability.svg",
        "confusion-default-trees.png",
    ] {
        let bytes = std::fs::read(out.join(f)).expect(f);
        assert!(bytes.len() > 1000, "{f}");
    }
    let svg = std::fs::read_to_string(out.join("reliability.svg")).expect("svg");
    roxmltree::Document::parse(&svg).expect("the SVG parses");
    // The saved model answers like the bundled one is made to.
    let header = stampseq::model::file::read_header(&model).expect("saved model");
    assert_eq!(header.classes.len(), 5);
    assert!(header.provenance.training.is_some());

    // The headline: grouped by source, every object of the split scored by trees that
    // never saw its source group, beside the majority answer.
    assert!(table.contains("Grouped by source"), "{table}");
    assert!(table.contains("Shortcut audit"), "{table}");
    let grouped = &metrics["grouped"];
    let folds = grouped["folds"].as_array().expect("folds");
    assert!(folds.len() >= 4);
    let held: u64 = folds
        .iter()
        .map(|f| f["test_objects"].as_u64().expect("count"))
        .sum();
    let objects: u64 = metrics["counts"]
        .as_object()
        .expect("counts")
        .values()
        .flat_map(|p| p.as_object().expect("part").values())
        .map(|n| n.as_u64().expect("n"))
        .sum();
    assert_eq!(held, objects, "every object held out once");
    let g = grouped["models"].as_array().expect("grouped models");
    let ba = |name: &str| {
        g.iter().find(|m| m["model"] == name).expect(name)["five_classes"]["metrics"]
            ["balanced_accuracy"]
            .as_f64()
            .expect("ba")
    };
    assert!(ba("default-trees") > ba("majority (per fold)") + 0.15);
    // The retrained network and its fusion answer every held-out object, each scored by
    // the run of its own fold, whose parts keep the held-out objects out of training and
    // selection; the fused default as shipped is scored on the random split.
    for name in [
        "tsc-gru-real (retrained per fold)",
        "fused: default-trees + tsc-gru-real (retrained per fold)",
    ] {
        let m = g.iter().find(|m| m["model"] == name).expect(name);
        assert_eq!(m["retrained"], true, "{name}");
        assert!(table.contains(&format!("| {name} | yes |")), "{table}");
        assert!(ba(name) > ba("majority (per fold)"), "{name}");
    }
    assert!(table.contains("| default-fused |"), "{table}");
    // A source outside the grouping: ALeRCE's stamp classifier test set, none of its objects
    // among the shared ones, every record of the three classes scored for the trees and the
    // fused default as the benchmark leaves them, those with metadata apart.
    assert!(table.contains("A source outside the grouping"), "{table}");
    let external = &metrics["external"];
    assert_eq!(external["shared_objects_left_out"], 0);
    for (class, all, with_metadata) in [("AGN", 13, 10), ("VS", 21, 6), ("asteroid", 14, 3)] {
        assert_eq!(
            external["objects"][class],
            serde_json::json!([all, with_metadata]),
            "{class}"
        );
    }
    let rows = external["rows"].as_array().expect("external rows");
    // The floor: always the training majority (VS), a third over three classes.
    let floor = rows[0]["with_metadata"]["metrics"]["balanced_accuracy"]
        .as_f64()
        .expect("majority ba");
    assert_eq!(rows[0]["model"], "majority (VS)");
    assert!((floor - 1.0 / 3.0).abs() < 1e-9, "{floor}");
    for name in ["default-trees", "default-fused"] {
        let row = rows.iter().find(|r| r["model"] == name).expect(name);
        assert_eq!(row["all"]["objects"], 48, "{name}");
        assert_eq!(row["with_metadata"]["objects"], 19, "{name}");
        let ba = row["with_metadata"]["metrics"]["balanced_accuracy"]
            .as_f64()
            .expect("ba");
        assert!((0.0..=1.0).contains(&ba), "{name}: {ba}");
    }
    // The trees' weight is also chosen for each held-out group on the other groups alone,
    // one of the weights tried, for every group.
    let elsewhere = grouped["fusion_weights_elsewhere"]
        .as_array()
        .expect("weights chosen elsewhere");
    assert_eq!(elsewhere.len(), 1);
    let weights = elsewhere[0]["weights"].as_array().expect("per group");
    assert_eq!(
        weights.len(),
        grouped["groups"].as_array().expect("groups").len()
    );
    for w in weights {
        let w = w[1].as_f64().expect("weight") as f32;
        assert!(
            stampseq::experiments::fusion_weight::TREES_WEIGHTS.contains(&w),
            "{w}"
        );
    }
    assert!(
        ba("fused: default-trees x (chosen on the other groups) + tsc-gru-real (retrained per fold)")
            > ba("majority (per fold)")
    );
    // AGN by held-out group: each AGN is scored once, in its own group's column, where the
    // fold's models learnt AGN from the other groups' alone.
    assert!(
        table.contains("**AGN found on each held-out source group**"),
        "{table}"
    );
    let trees_row = g
        .iter()
        .find(|m| m["model"] == "default-trees")
        .expect("trees");
    let agn_scored: u64 = trees_row["per_group"]
        .as_array()
        .expect("per group")
        .iter()
        .map(|p| p["agn_scored"].as_u64().expect("agn scored"))
        .sum();
    assert_eq!(
        agn_scored,
        metrics["counts"]["test"]["AGN"].as_u64().unwrap_or(0)
            + metrics["counts"]["train"]["AGN"].as_u64().unwrap_or(0)
            + metrics["counts"]["val"]["AGN"].as_u64().unwrap_or(0)
    );
    let runs = out.join("grouped-runs/tsc-gru-real");
    let mut fold_dirs: Vec<_> = std::fs::read_dir(&runs)
        .expect("fold runs")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    fold_dirs.sort();
    assert_eq!(fold_dirs.len(), folds.len());
    for (dir, fold) in fold_dirs.iter().zip(folds) {
        let mut reader = csv::Reader::from_path(dir.join("parts.csv")).expect("parts");
        let mut test = 0;
        let mut seen = std::collections::HashSet::new();
        for r in reader.records() {
            let r = r.expect("row");
            assert!(seen.insert(r[0].to_string()), "{} twice", &r[0]);
            test += usize::from(&r[1] == "test");
        }
        assert_eq!(
            test as u64,
            fold["test_objects"].as_u64().expect("n"),
            "{dir:?}"
        );
        assert!(dir.join("best.stampseq").is_file());
    }
    // The equal-priors default is checked against the training frequencies' answer.
    let at_frequencies = g
        .iter()
        .find(|m| m["model"] == "default-trees (training-frequency priors)")
        .expect("the priors check");
    let ece = at_frequencies["five_classes"]["ece"].as_f64().expect("ece");
    assert!((0.0..1.0).contains(&ece));
    // The audit ran on the training and validation objects only, and the features tell
    // the source far better than chance.
    let audit = &grouped["audit"];
    let fit: u64 = ["train", "val"]
        .iter()
        .flat_map(|p| metrics["counts"][p].as_object().expect("part").values())
        .map(|n| n.as_u64().expect("n"))
        .sum();
    assert!(audit["objects"].as_u64().expect("audit objects") <= fit);
    let chance = audit["source_chance"].as_f64().expect("chance");
    assert!(
        audit["source_balanced_accuracy"]
            .as_f64()
            .expect("source ba")
            > chance + 0.2
    );
    let candidates = audit["candidates"].as_array().expect("candidates");
    for f in audit["neutralised"].as_array().expect("neutralised") {
        assert!(candidates.contains(f));
    }
}

#[test]
fn bench_active_writes_a_well_formed_table_and_figure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("active");
    run_ok(
        stampseq()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["bench", "active", "--data"])
            .arg(data_dir())
            .args([
                "--step",
                "10",
                "--initial",
                "10",
                "--budget",
                "30",
                "--seeds",
                "2",
                "--members",
                "1",
                "--out",
            ])
            .arg(&out),
    );
    let table = std::fs::read_to_string(out.join("table.md")).expect("table.md");
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| 1") || l.starts_with("| 2") || l.starts_with("| 3"))
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    for row in rows {
        assert_eq!(row.matches('±').count(), 2, "{row}");
    }
    let curves: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("curves.json")).expect("json"))
            .expect("parses");
    let curves = curves.as_array().expect("curves");
    assert_eq!(curves.len(), 2);
    for c in curves {
        assert_eq!(c["labels"], serde_json::json!([10, 20, 30]));
        for v in c["mean"].as_array().expect("means") {
            let v = v.as_f64().expect("number");
            assert!((0.0..=1.0).contains(&v));
        }
    }
    let svg = std::fs::read_to_string(out.join("learning-curves.svg")).expect("svg");
    let doc = roxmltree::Document::parse(&svg).expect("SVG parses");
    let texts: String = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(texts.contains("informative") && texts.contains("random"));
    let png = image::open(out.join("learning-curves.png")).expect("PNG decodes");
    assert!(png.width() > 300);
}

/// Labels of the extra folder's Spark-written alerts, as an astronomer's labels.csv.
pub(crate) fn vetting_labels(dir: &Path) -> std::path::PathBuf {
    let mut reader = csv::Reader::from_path(ztf("extra/manifest.csv")).expect("manifest");
    let h = reader.headers().expect("headers").clone();
    let col = |n: &str| h.iter().position(|c| c == n).expect("column");
    let (file, id, label) = (col("file"), col("objectId"), col("label"));
    let mut text = String::from("objectId,label\n");
    let mut seen = std::collections::HashSet::new();
    for r in reader.records() {
        let r = r.expect("row");
        if r[file].starts_with("fink-broker-history") && seen.insert(r[id].to_string()) {
            text.push_str(&format!("{},{}\n", &r[id], &r[label]));
        }
    }
    let path = dir.join("labels.csv");
    std::fs::write(&path, text).expect("labels");
    path
}

/// A copy of the bundled default model and a labels.csv, in a folder of their own.
struct Fixture {
    dir: tempfile::TempDir,
    base: std::path::PathBuf,
    original: Vec<u8>,
    labels: std::path::PathBuf,
    labels_before: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("default-trees.stampseq");
    let original = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/default-trees.stampseq"),
    )
    .expect("bundled");
    std::fs::write(&base, &original).expect("copy");
    let labels = vetting_labels(dir.path());
    let labels_before = std::fs::read(&labels).expect("labels");
    Fixture {
        dir,
        base,
        original,
        labels,
        labels_before,
    }
}

fn finetune_command(base: &Path, labels: &Path) -> Command {
    let mut cmd = stampseq();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("finetune")
        .arg(ztf("extra/fink-broker-history"))
        .arg("--model")
        .arg(base)
        .arg("--labels")
        .arg(labels)
        .arg("--data")
        .arg(data_dir());
    cmd
}

/// From any folder, with no `--data` or `--split`, the fine-tune trains on the bundled
/// split's objects as the app does (the split from the executable, the shared data from
/// `$STAMPSEQ_DATA`), not on the user's labels alone.
#[test]
fn finetune_from_another_folder_still_trains_on_the_bundled_objects() {
    let Fixture {
        dir, base, labels, ..
    } = fixture();
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let output = stampseq()
        .current_dir(elsewhere.path())
        .env("STAMPSEQ_DATA", data_dir())
        .arg("finetune")
        .arg(ztf("extra/fink-broker-history"))
        .arg("--model")
        .arg(&base)
        .arg("--labels")
        .arg(&labels)
        .output()
        .expect("run finetune");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("no bundled training data"), "{stderr}");
    let report = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a report");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).expect("report")).expect("json");
    assert!(
        report["bundled_objects"].as_u64().expect("n") > 300,
        "{}",
        report["bundled_objects"]
    );
}

#[test]
fn finetune_writes_a_new_model_beside_the_old_and_reports_what_it_bought() {
    let Fixture {
        dir,
        base,
        original,
        labels,
        labels_before,
    } = fixture();
    run_ok(finetune_command(&base, &labels));
    assert_eq!(
        std::fs::read(&base).expect("old"),
        original,
        "the old model is untouched"
    );
    assert_eq!(std::fs::read(&labels).expect("labels"), labels_before);
    let new: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("default-trees.ft-"))
                && p.extension().is_some_and(|x| x == "stampseq")
        })
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let header = stampseq::model::file::read_header(&new[0]).expect("new model reads");
    assert!(header.provenance.source.contains("fine-tuned"));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(new[0].with_extension("json")).expect("report"))
            .expect("json");
    assert!(report["user_train_objects"].as_u64().expect("n") > 50);
    let after = report["after"]["balanced_accuracy"]
        .as_f64()
        .expect("after");
    assert!((0.0..=1.0).contains(&after));
    assert!(std::fs::read_to_string(new[0].with_extension("md"))
        .expect("md")
        .contains("before:"));
}

#[test]
fn a_killed_finetune_leaves_the_old_model_and_the_labels_intact() {
    let Fixture {
        dir,
        base,
        original,
        labels,
        labels_before,
    } = fixture();
    for wait_ms in [300u64, 900, 1500] {
        let mut child = finetune_command(&base, &labels)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start finetune");
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        // SIGKILL: no chance to clean up.
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(std::fs::read(&base).expect("old"), original);
        assert_eq!(std::fs::read(&labels).expect("labels"), labels_before);
        // Any new model that exists is whole.
        for entry in std::fs::read_dir(dir.path()).expect("dir").flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|x| x == "stampseq") && p != base {
                stampseq::model::file::read_header(&p).expect("a complete model file");
            }
        }
    }
}

#[test]
fn labels_import_and_export_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("theirs.csv");
    std::fs::write(&csv, "objectId,type\nZTF1,RRLyr\nZTF2,weird\n").expect("csv");
    let labels = dir.path().join("labels");
    run_ok(
        stampseq()
            .args(["labels", "import"])
            .arg(&csv)
            .arg("--labels")
            .arg(&labels)
            .args([
                "--class-column",
                "type",
                "--map",
                "weird=bogus",
                "--vetter",
                "Ada",
            ]),
    );
    let export = dir.path().join("export.csv");
    run_ok(
        stampseq()
            .args(["labels", "export", "--labels"])
            .arg(&labels)
            .arg("--out")
            .arg(&export),
    );
    let text = std::fs::read_to_string(&export).expect("export");
    assert!(
        text.contains("ZTF1,VS,,imported from theirs.csv,Ada,"),
        "{text}"
    );
    assert!(text.contains("ZTF2,bogus,"), "{text}");
    let bad = stampseq()
        .args(["labels", "import"])
        .arg(&csv)
        .arg("--labels")
        .arg(&labels)
        .args(["--class-column", "nope"])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no column \"nope\""));
}

#[test]
fn an_allwise_catalogue_adds_the_mid_infrared_agn_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let (alerts, _) = stampseq::alert::read_all(
        std::slice::from_ref(&sample),
        &stampseq::alert::ReadOptions::default(),
    );
    let at = |id: &str| {
        let a = alerts
            .iter()
            .find(|a| a.object_id == id)
            .expect("sample object");
        (a.candidate.ra, a.candidate.dec)
    };
    let (ra1, dec1) = at("ZTF18abudwyj");
    let (ra2, dec2) = at("ZTF25abcydiy");
    let catalogue = dir.path().join("allwise.csv");
    std::fs::write(
        &catalogue,
        format!(
            "ra,dec,w1mpro,w2mpro,w3mpro\n{ra1:.7},{dec1:.7},14.00,12.90,10.0\n{ra2:.7},{dec2:.7},15.00,14.90,12.0\n"
        ),
    )
    .expect("catalogue");
    let out = dir.path().join("with-wise.csv");
    run_ok(
        stampseq()
            .arg("classify")
            .arg(&sample)
            .arg("--allwise")
            .arg(&catalogue)
            .args(["--allwise-radius", "3", "--out"])
            .arg(&out),
    );
    let rows = rows(&out);
    let agn: Vec<_> = rows
        .iter()
        .filter(|r| r["objectId"] == "ZTF18abudwyj")
        .collect();
    assert!(!agn.is_empty());
    assert!(
        agn.iter().any(|r| r["rule"].contains("W1-W2 = 1.10")),
        "{:?}",
        agn.iter().map(|r| &r["rule"]).collect::<Vec<_>>()
    );
    assert!(rows
        .iter()
        .filter(|r| r["objectId"] == "ZTF25abcydiy")
        .all(|r| !r["rule"].contains("W1-W2")));
    let bad = stampseq()
        .arg("classify")
        .arg(&sample)
        .arg("--allwise")
        .arg(dir.path().join("missing.csv"))
        .output()
        .expect("run classify");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("missing.csv"));
}

/// The README's first command: the default answer (trees and a small network, fused) runs
/// on the CPU kernels and looks for no GPU, so a machine without a graphics session prints
/// nothing but what classify says.
#[test]
fn the_default_answer_runs_on_the_cpu_without_looking_for_a_gpu() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let output = stampseq()
        .arg("classify")
        .arg(&sample)
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .expect("run classify");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "backend: CPU (stampseq conv kernels + burn flex; auto for a fused model)\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn bench_active_replays_the_loop_on_each_source_held_out_of_training() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("active");
    run_ok(
        stampseq()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["bench", "active", "--data"])
            .arg(data_dir())
            .args([
                "--cross-source-only",
                "--cross-step",
                "20",
                "--cross-budget",
                "40",
                "--seeds",
                "1",
                "--members",
                "1",
                "--out",
            ])
            .arg(&out),
    );
    let replays: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("cross-source.json")).expect("json"))
            .expect("parses");
    let replays = replays.as_array().expect("replays");
    assert!(replays.len() >= 2, "{replays:?}");
    let count = |v: &serde_json::Value| -> u64 {
        v.as_object()
            .expect("counts")
            .values()
            .map(|n| n.as_u64().expect("count"))
            .sum()
    };
    // Every labelled object is either in the held-out group or among those trained on,
    // never both: the two add up to the same total whichever group is held out.
    let totals: std::collections::BTreeSet<u64> = replays
        .iter()
        .map(|r| count(&r["counts"]) + r["other_objects"].as_u64().expect("others"))
        .collect();
    assert_eq!(totals.len(), 1, "{replays:?}");
    for r in replays {
        let scored_classes: Vec<&str> = r["scored_classes"]
            .as_array()
            .expect("scored classes")
            .iter()
            .map(|c| c.as_str().expect("class"))
            .collect();
        assert!(scored_classes.len() >= 2);
        let of_scored: u64 = scored_classes
            .iter()
            .map(|c| r["counts"][c].as_u64().expect("count"))
            .sum();
        let orders = r["orders"].as_array().expect("orders");
        assert_eq!(orders.len(), 2);
        for order in orders {
            let steps = order[1].as_array().expect("steps");
            assert_eq!(steps[0]["labels"], 0);
            // With no label of the new source, every object of its scored classes is scored;
            // a vetted object is never scored again.
            assert_eq!(steps[0]["scored"].as_f64(), Some(of_scored as f64));
            for s in steps {
                let vetted = s["labels"].as_u64().expect("labels");
                let scored = s["scored"].as_f64().expect("scored");
                assert!(scored <= of_scored as f64 && scored + vetted as f64 >= of_scored as f64);
                let ba = s["balanced_accuracy"][0].as_f64().expect("ba");
                assert!((0.0..=1.0).contains(&ba), "{s:?}");
            }
        }
    }
    let table = std::fs::read_to_string(out.join("cross-source.md")).expect("table");
    assert!(table.contains("weak"), "{table}");
    let svg = std::fs::read_to_string(out.join("cross-source-curves.svg")).expect("svg");
    roxmltree::Document::parse(&svg).expect("SVG parses");
}
