//! Training on simulated alerts: a small temporal model beats chance on its held-out test
//! split, runs resume after a cancel, the split is stratified by object, and the trained
//! model classifies and evaluates through the model file.

use crate::common::{run_ok, stampseq};
use stampseq::model::{HeadConfig, StampEncoderConfig, TemporalStampClassifierConfig};
use stampseq::sim::{self, SimConfig};
use stampseq::train::{train, ModelChoice, Split, TrainConfig, TrainEvent};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

const CLASSES: [&str; 5] = ["AGN", "SN", "VS", "asteroid", "bogus"];

/// 80 simulated objects (16 per class), made once for the whole file.
fn simulated() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        sim::run(&SimConfig {
            out: dir.path().to_path_buf(),
            objects: 80,
            seed: 21,
            templates: vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample")],
            exclude_objects: Default::default(),
            min_detections: 2,
            max_detections: 4,
        })
        .expect("simulate");
        dir
    })
    .path()
}

fn config(iterations: usize) -> TrainConfig {
    let data = simulated();
    TrainConfig {
        model: ModelChoice::Temporal(TemporalStampClassifierConfig {
            encoder: StampEncoderConfig {
                blocks: vec![vec![8], vec![16]],
                dense: 16,
                dropout: 0.0,
                ..StampEncoderConfig::default()
            },
            wise: false,
            head: HeadConfig::Gru,
            hidden: 16,
            ..TemporalStampClassifierConfig::default()
        }),
        max_detections: 4,
        classes: CLASSES.iter().map(|c| c.to_string()).collect(),
        lr: 3e-3,
        batch: 16,
        max_iterations: iterations,
        validate_every: 10,
        beta: 0.1,
        seed: 5,
        val_per_class: 3,
        test_per_class: 3,
        data: vec![data.to_path_buf()],
        labels: data.join("labels.csv"),
        ..TrainConfig::default()
    }
}

fn device() -> burn::tensor::Device {
    burn::tensor::Device::flex().autodiff()
}

#[test]
fn a_run_whose_loss_is_no_longer_a_number_stops_with_the_reason_and_keeps_no_nan_model() {
    let run = tempfile::tempdir().expect("tempdir");
    let config = TrainConfig {
        lr: 1e30,
        ..config(40)
    };
    let err = train(
        &config,
        run.path(),
        &device(),
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .map(|_| ())
    .expect_err("a learning rate of 1e30 diverges");
    let text = err.to_string();
    assert!(text.contains("training diverged at iteration 10"), "{text}");
    assert!(
        !run.path().join("best.stampseq").exists(),
        "a NaN network kept"
    );
}

/// Copies the files under `from` to `to`, folders included; returns the files copied.
fn copy_tree(from: &Path, to: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(to).expect("folder");
    let mut copied = Vec::new();
    for entry in std::fs::read_dir(from).expect("read folder") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copied.extend(copy_tree(&path, &target));
        } else {
            std::fs::copy(&path, &target).expect("copy");
            copied.push(target);
        }
    }
    copied
}

#[test]
fn a_detection_with_a_feature_no_alert_carries_is_left_out_of_training_and_named() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut alerts: Vec<PathBuf> = copy_tree(simulated(), data.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "avro"))
        .collect();
    alerts.sort();
    let corrupt = &alerts[0];
    let object = corrupt
        .parent()
        .and_then(|p| p.file_name())
        .expect("an object folder")
        .to_string_lossy()
        .into_owned();
    // A double field, so that the value stays finite: its square overflows the features'
    // statistics, and every object's ra was normalised against it.
    let bytes = crate::common::with_candidate_field(corrupt, "ra", 1e300);
    std::fs::write(corrupt, bytes).expect("write");
    // A float field: 1e300 is infinite there, and an infinite input made the network NaN.
    let last = alerts.last().expect("alerts");
    let bytes = crate::common::with_candidate_field(last, "magpsf", 1e300);
    std::fs::write(last, bytes).expect("write");
    let run = tempfile::tempdir().expect("tempdir");
    let config = TrainConfig {
        data: vec![data.path().to_path_buf()],
        labels: data.path().join("labels.csv"),
        ..config(20)
    };
    let mut loaded = None;
    let outcome = train(
        &config,
        run.path(),
        &device(),
        &AtomicBool::new(false),
        &mut |e| {
            if let TrainEvent::Loaded {
                left_out,
                first_left_out,
                ..
            } = e
            {
                loaded = Some((left_out, first_left_out));
            }
        },
    )
    .expect("the other detections train");
    let (left_out, first) = loaded.expect("a Loaded event");
    assert_eq!(left_out, 2);
    let first = first.expect("the first left out is named");
    assert!(
        first.contains(&object) && first.contains("its ra is 1e300"),
        "{first}"
    );
    let best = outcome.state.best_val_loss.expect("a validation");
    assert!(best.is_finite(), "best validation loss {best}");
    assert!(run.path().join("best.stampseq").is_file());
}

#[test]
fn a_small_temporal_model_beats_chance_and_classifies() {
    let run = tempfile::tempdir().expect("tempdir");
    let mut validations = 0;
    let mut val_objects = 0;
    let outcome = train(
        &config(200),
        run.path(),
        &device(),
        &AtomicBool::new(false),
        &mut |e| {
            if let TrainEvent::Loaded { val, .. } = e {
                val_objects = val;
            }
            if let TrainEvent::Validation(v) = e {
                validations += 1;
                // Each validation's confusion matrix counts every validation object once,
                // in the config's class order, and its diagonal is the reported accuracy.
                let cm = v.confusion.as_ref().expect("a confusion matrix");
                assert_eq!(cm.classes, CLASSES);
                assert_eq!(cm.total(), val_objects as u64);
                let right: u64 = (0..CLASSES.len()).map(|i| cm.counts[i][i]).sum();
                assert!((right as f64 / val_objects as f64 - v.val_accuracy).abs() < 1e-12);
                eprintln!(
                    "it {} train {:.3}/{:.2} val {:.3}/{:.2}",
                    v.iteration, v.train_loss, v.train_accuracy, v.val_loss, v.val_accuracy
                );
            }
        },
    )
    .expect("training runs");
    assert_eq!(outcome.state.iteration, 200);
    assert_eq!(validations, 20);
    let accuracy = outcome.test_accuracy.expect("a test split");
    eprintln!("test accuracy {accuracy:.2} (chance 0.2)");
    assert!(accuracy >= 0.5, "test accuracy {accuracy}, chance is 0.2");
    for f in [
        "best.stampseq",
        "last.stampseq",
        "state.json",
        "split.json",
        "history.csv",
    ] {
        assert!(run.path().join(f).is_file(), "{f} written");
    }
    let best: stampseq::eval::metrics::ConfusionMatrix = serde_json::from_str(
        &std::fs::read_to_string(run.path().join("best_confusion.json")).expect("best confusion"),
    )
    .expect("best_confusion.json parses");
    let at_best = outcome
        .state
        .history
        .iter()
        .find(|h| h.iteration == outcome.state.best_iteration)
        .and_then(|h| h.confusion.clone());
    assert_eq!(
        Some(best),
        at_best,
        "the best checkpoint's validation confusion"
    );
    let history = std::fs::read_to_string(run.path().join("history.csv")).expect("history");
    assert_eq!(history.lines().count(), 21);

    // The model file classifies: probabilities after every detection, summing to 1.
    let dev = burn::tensor::Device::flex();
    let model = stampseq::classify::LoadedModel::load(&run.path().join("best.stampseq"), &dev)
        .expect("trained model loads");
    let (alerts, _) = stampseq::alert::read_all_any(&[simulated()], &Default::default());
    let (sequences, _) = stampseq::sequence::neutral::group_objects(alerts);
    let out = model
        .classify(
            &sequences,
            &stampseq::classify::ClassifyOptions {
                max_detections: 4,
                ..Default::default()
            },
            &dev,
            &AtomicBool::new(false),
            &|_, _| {},
        )
        .expect("classify");
    let expected: usize = sequences.iter().map(|s| s.alerts.len().min(4)).sum();
    assert_eq!(out.rows.len() + out.skipped.len(), expected);
    assert!(!out.rows.is_empty());
    for r in &out.rows {
        let sum: f32 = r.probabilities.iter().sum();
        assert!(
            (sum - 1.0).abs() < 1e-4,
            "{} k={} sums to {sum}",
            r.object_id,
            r.k
        );
        assert!((1..=4).contains(&r.k));
    }

    // evaluate writes metrics.json with the accuracy per number of detections.
    let eval_dir = run.path().join("eval");
    let metrics = stampseq::eval::evaluate::evaluate(
        &model,
        &sequences,
        &stampseq::eval::evaluate::read_labels(&simulated().join("labels.csv")).expect("labels"),
        4,
        &dev,
        &eval_dir,
    )
    .expect("evaluate");
    assert_eq!(metrics.per_n.len(), 4);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(eval_dir.join("metrics.json")).expect("metrics.json"),
    )
    .expect("json");
    assert_eq!(json["per_n"].as_array().map(|a| a.len()), Some(4));
    assert!(json["macro_f1"].is_number());

    // The confusion-matrix figure opens: the PNG decodes, the SVG parses and names classes.
    let png = image::open(eval_dir.join("confusion_matrix.png")).expect("PNG decodes");
    assert_eq!((png.width(), png.height()), (720, 640));
    let svg = std::fs::read_to_string(eval_dir.join("confusion_matrix.svg")).expect("svg");
    let doc = roxmltree::Document::parse(&svg).expect("SVG parses");
    let texts: String = doc.descendants().filter_map(|n| n.text()).collect();
    for class in CLASSES {
        assert!(texts.contains(class), "{class} missing from the SVG");
    }

    // And the training curves.
    let curves_png = run.path().join("curves.png");
    let curves_svg = run.path().join("curves.svg");
    stampseq::eval::plots::training_curves(&outcome.state.history, &curves_png, &curves_svg)
        .expect("curves");
    image::open(&curves_png).expect("curves PNG decodes");
    roxmltree::Document::parse(&std::fs::read_to_string(&curves_svg).expect("svg"))
        .expect("curves SVG parses");
}

#[test]
fn a_cancelled_run_resumes_at_its_iteration() {
    let run = tempfile::tempdir().expect("tempdir");
    let cancel = AtomicBool::new(false);
    let first = train(&config(100), run.path(), &device(), &cancel, &mut |e| {
        if let TrainEvent::Step { iteration: 13, .. } = e {
            cancel.store(true, Ordering::Relaxed);
        }
    })
    .expect("first session");
    assert!(first.cancelled);
    assert_eq!(first.state.iteration, 13);
    assert!(run.path().join("best.stampseq").is_file());

    let mut resumed_at = None;
    let mut first_step = None;
    let second = train(
        &config(30),
        run.path(),
        &device(),
        &AtomicBool::new(false),
        &mut |e| match e {
            TrainEvent::Resumed { iteration } => resumed_at = Some(iteration),
            TrainEvent::Step { iteration, .. } if first_step.is_none() => {
                first_step = Some(iteration)
            }
            _ => {}
        },
    )
    .expect("second session");
    assert_eq!(resumed_at, Some(13));
    assert_eq!(first_step, Some(14));
    assert!(!second.cancelled);
    // The saved run's own limit (100) holds, not the new config's.
    assert_eq!(second.state.iteration, 100);
    assert!(second.state.history.len() >= first.state.history.len());
}

#[test]
fn the_split_is_stratified_by_object() {
    let objects: Vec<(String, usize)> = (0..50).map(|i| (format!("obj{i:02}"), i % 5)).collect();
    let classes: Vec<String> = CLASSES.iter().map(|c| c.to_string()).collect();
    let split = Split::draw(&objects, &classes, 3, 2, 9).expect("split");
    let class_of = |id: &str| objects.iter().find(|(o, _)| o == id).map(|(_, c)| *c);
    for c in 0..5 {
        assert_eq!(
            split.val.iter().filter(|o| class_of(o) == Some(c)).count(),
            3
        );
        assert_eq!(
            split.test.iter().filter(|o| class_of(o) == Some(c)).count(),
            2
        );
    }
    let mut all: Vec<&String> = split
        .train
        .iter()
        .chain(&split.val)
        .chain(&split.test)
        .collect();
    assert_eq!(all.len(), 50);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 50, "no object in two splits");
    assert_eq!(
        Split::draw(&objects, &classes, 3, 2, 9).expect("again"),
        split
    );
    assert!(Split::draw(&objects, &classes, 5, 5, 9).is_err());
}

#[test]
fn a_small_sweep_gives_mean_and_std_over_repeats() {
    use stampseq::experiments::sweep::{markdown, sweep, SweepConfig};
    let mut base = config(30);
    base.val_per_class = 2;
    base.test_per_class = 3;
    let config = SweepConfig {
        heads: vec![HeadConfig::Gru, HeadConfig::Conv1d { kernel: 2 }],
        detections: vec![2],
        repeats: 2,
        train: base,
    };
    let (alerts, _) = stampseq::alert::read_all_any(&[simulated()], &Default::default());
    let (sequences, _) = stampseq::sequence::neutral::group_objects(alerts);
    let out = tempfile::tempdir().expect("tempdir");
    let mut seen = 0;
    let (runs, rows) = sweep(
        &config,
        out.path(),
        &sequences,
        &device(),
        &stampseq::backend::BackendChoice::Cpu.resolve(),
        &AtomicBool::new(false),
        &mut |_| seen += 1,
    )
    .expect("sweep");
    assert_eq!((runs.len(), seen), (4, 4));
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.repeats, 2);
        assert!(r.accuracy_mean.is_finite() && r.accuracy_std.is_finite());
        assert!(r.ms_mean > 0.0);
    }
    assert_eq!(rows.iter().filter(|r| r.best).count(), 1);
    let table = markdown(&rows);
    assert!(
        table.contains("+-") && table.lines().count() == 4,
        "{table}"
    );
}

/// With real and simulated objects, validation and test come from the real (holdout) ones,
/// except for a class with too few of them, which the split notes.
#[test]
fn validation_and_test_come_from_the_holdout_objects() {
    let classes: Vec<String> = CLASSES.iter().map(|c| c.to_string()).collect();
    // 12 simulated objects per class; real ones for AGN, SN and VS only (8, 8, and 2 for VS).
    let mut objects: Vec<(String, usize)> =
        (0..60).map(|i| (format!("sim{i:02}"), i % 5)).collect();
    let real: Vec<(String, usize)> = (0..8)
        .flat_map(|i| [(format!("realA{i}"), 0), (format!("realS{i}"), 1)])
        .chain((0..2).map(|i| (format!("realV{i}"), 2)))
        .collect();
    objects.extend(real.iter().cloned());
    let holdout: std::collections::HashSet<String> = real.iter().map(|(o, _)| o.clone()).collect();
    let split = Split::draw_from(&objects, &classes, 3, 2, 4, Some(&holdout)).expect("split");
    let class_of = |id: &str| objects.iter().find(|(o, _)| o == id).map(|(_, c)| *c);
    for part in [&split.val, &split.test] {
        for id in part.iter() {
            let c = class_of(id).expect("known object");
            // AGN and SN have enough real objects; VS, asteroid and bogus do not.
            assert_eq!(holdout.contains(id), c <= 1, "{id} of class {c}");
        }
    }
    assert_eq!(split.val.len(), 15);
    assert_eq!(split.test.len(), 10);
    // Every other object trains, the simulated AGN and SN among them.
    let mut all: Vec<&String> = split
        .train
        .iter()
        .chain(&split.val)
        .chain(&split.test)
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), objects.len());
    assert_eq!(split.train.len() + 25, objects.len());
    assert!((0..60)
        .filter(|i| i % 5 <= 1)
        .all(|i| split.train.contains(&format!("sim{i:02}"))));
    assert_eq!(
        split
            .train
            .iter()
            .filter(|o| o.starts_with("realA"))
            .count(),
        3
    );
    assert_eq!(split.notes.len(), 3, "{:?}", split.notes);
    assert!(split.notes[0].starts_with("class VS"), "{:?}", split.notes);
    // Drawn again from the same seed: the same split.
    assert_eq!(
        split,
        Split::draw_from(&objects, &classes, 3, 2, 4, Some(&holdout)).expect("again")
    );
}

/// A network trains from another run's preprocessed data alone (as on a machine the raw
/// alerts were not copied to) and comes out weight for weight as from the alerts; a cache
/// made for another configuration is refused by name.
#[test]
fn a_network_trains_from_a_data_cache_without_the_alerts() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let write_config = |folder: &Path, data: &Path, classes: &str| -> PathBuf {
        std::fs::create_dir_all(folder).expect("dir");
        std::fs::copy(
            repo.join("scripts/gpu-sample-labels.csv"),
            folder.join("labels.csv"),
        )
        .expect("labels");
        let text = format!(
            "max_detections = 5\nclasses = [{classes}]\nlr = 0.001\nbatch = 4\n\
             max_iterations = 6\nvalidate_every = 3\nseed = 5\nval_per_class = 1\n\
             test_per_class = 0\naugment = true\ndata = [{:?}]\nlabels = \"labels.csv\"\n\n\
             [model]\nkind = \"temporal\"\nwise = false\nhidden = 8\ntime = \"Log1p\"\n\n\
             [model.head]\nkind = \"Gru\"\n\n[model.encoder]\nblocks = [[4]]\ndense = 8\n\
             dropout = 0.0\n",
            data.display().to_string()
        );
        let path = folder.join("config.toml");
        std::fs::write(&path, text).expect("config");
        path
    };
    let first = write_config(
        &dir.path().join("a"),
        &repo.join("assets/sample"),
        "\"SN\", \"other\"",
    );
    let train = |config: &Path, run: &Path, cache: Option<&Path>| {
        let mut command = stampseq();
        command
            .args(["train", "--config"])
            .arg(config)
            .arg("--out")
            .arg(run);
        if let Some(cache) = cache {
            command.arg("--data-cache").arg(cache);
        }
        command.output().expect("train")
    };
    let succeeded = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let run1 = dir.path().join("run1");
    succeeded(train(&first, &run1, None));
    let cache = run1.join("data.cache");
    assert!(cache.is_file());

    // Elsewhere, with the alerts absent.
    let missing = dir.path().join("no-alerts-here");
    let second = write_config(&dir.path().join("b"), &missing, "\"SN\", \"other\"");
    let run2 = dir.path().join("run2");
    succeeded(train(&second, &run2, Some(&cache)));
    let header = |run: &Path| {
        stampseq::model::file::read_header(&run.join("best.stampseq")).expect("model header")
    };
    assert_eq!(header(&run1).classes, header(&run2).classes);
    // Same seed, same data: the same answers on the sample.
    let answers = |run: &Path| {
        let out = run_ok(
            stampseq()
                .args([
                    "classify",
                    "--backend",
                    "flex",
                    "--max-detections",
                    "0",
                    "--model",
                ])
                .arg(run.join("best.stampseq"))
                .arg(repo.join("assets/sample")),
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let (a, b) = (answers(&run1), answers(&run2));
    assert!(a.lines().count() > 10);
    assert_eq!(a, b);

    // Other classes: not the same dataset.
    let third = write_config(&dir.path().join("c"), &missing, "\"other\", \"SN\"");
    let out = train(&third, &dir.path().join("run3"), Some(&cache));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&cache.display().to_string()) && err.contains("made with other labels"),
        "{err}"
    );

    // The sky position read as missing from the first step: the same cache serves (it
    // holds raw features), the model records what it neutralised and answers otherwise.
    let fourth = write_config(&dir.path().join("d"), &missing, "\"SN\", \"other\"");
    let text = std::fs::read_to_string(&fourth).expect("config");
    let text = text.replacen(
        "seed = 5\n",
        "seed = 5\nneutralised_features = [\"ra\", \"dec\", \"ecl_long\", \"gal_long\"]\n",
        1,
    );
    std::fs::write(&fourth, text).expect("config");
    let run4 = dir.path().join("run4");
    succeeded(train(&fourth, &run4, Some(&cache)));
    assert_eq!(
        header(&run4).feature_stats.neutralised,
        ["ra", "dec", "ecl_long", "gal_long"]
    );
    assert_eq!(header(&run4).format_version, 2);
    assert_ne!(answers(&run4), a);

    // Read as missing once trained (the bundled networks' recipe): the network trains and is
    // chosen reading its position, so its weights are those of the first run, and the
    // model it answers with is that run's model neutralised afterwards; the checkpoint it
    // resumes from still reads every feature.
    let after = |folder: &str, test_per_class: usize| {
        let config = write_config(&dir.path().join(folder), &missing, "\"SN\", \"other\"");
        let text = std::fs::read_to_string(&config).expect("config");
        let text = text
            .replacen(
                "seed = 5\n",
                "seed = 5\nneutralised_features = [\"ra\", \"dec\", \"ecl_long\", \"gal_long\"]\n\
                 neutralise_after_training = true\n",
                1,
            )
            .replacen(
                "test_per_class = 0\n",
                &format!("test_per_class = {test_per_class}\n"),
                1,
            );
        std::fs::write(&config, text).expect("config");
        config
    };
    let run6 = dir.path().join("run6");
    succeeded(train(&after("f", 0), &run6, Some(&cache)));
    assert_eq!(
        header(&run6).feature_stats.neutralised,
        ["ra", "dec", "ecl_long", "gal_long"]
    );
    let last = stampseq::model::file::read_header(&run6.join("last.stampseq")).expect("last");
    assert!(last.feature_stats.neutralised.is_empty());
    let afterwards = dir.path().join("run1-neutralised");
    succeeded(
        stampseq()
            .arg("neutralise")
            .arg(run1.join("best.stampseq"))
            .args(["--features", "ra,dec,ecl_long,gal_long", "--out"])
            .arg(&afterwards)
            .output()
            .expect("neutralise"),
    );
    std::fs::create_dir_all(dir.path().join("run1n")).expect("dir");
    std::fs::rename(&afterwards, dir.path().join("run1n/best.stampseq")).expect("move");
    assert_eq!(answers(&run6), answers(&dir.path().join("run1n")));
    assert_ne!(answers(&run6), a);
    // With a test split, judged as it will answer.
    let run7 = dir.path().join("run7");
    succeeded(train(&after("g", 1), &run7, Some(&cache)));
    let best7 = header(&run7);
    assert_eq!(best7.feature_stats.neutralised.len(), 4);
    assert!(best7
        .provenance
        .metrics
        .is_some_and(|m| m["test_objects"] == 2));

    // A feature the network does not read is refused before training, as is the timing
    // without the list.
    let refused = |line: &str, expected: &str| {
        let config = write_config(&dir.path().join("e"), &missing, "\"SN\", \"other\"");
        let text = std::fs::read_to_string(&config).expect("config");
        let text = text.replacen("seed = 5\n", &format!("seed = 5\n{line}\n"), 1);
        std::fs::write(&config, text).expect("config");
        let out = train(&config, &dir.path().join("run5"), Some(&cache));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expected), "{err}");
    };
    refused(
        "neutralised_features = [\"drb\"]",
        "neutralised feature \"drb\" is not among",
    );
    refused(
        "neutralise_after_training = true",
        "neutralise_after_training without",
    );
}

/// The state of a run of `config` trained to the end in a folder of its own.
fn trained_in_a_fresh_folder(config: &TrainConfig) -> stampseq::train::TrainState {
    let dir = tempfile::tempdir().expect("tempdir");
    train(
        config,
        dir.path(),
        &device(),
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .expect("training runs")
    .state
}

#[test]
fn balanced_validation_changes_only_how_the_checkpoint_is_chosen() {
    let run = |balanced: bool| {
        trained_in_a_fresh_folder(&TrainConfig {
            balanced_validation: balanced,
            ..config(30)
        })
    };
    let (pooled, balanced) = (run(false), run(true));
    assert_eq!(pooled.history.len(), 3);
    assert_eq!(balanced.history.len(), 3);
    for (p, b) in pooled.history.iter().zip(&balanced.history) {
        // The same steps are trained; only the validation loss is averaged otherwise (the
        // simulated objects' classes have different numbers of detections).
        assert_eq!(p.train_loss, b.train_loss);
        assert_eq!(p.val_accuracy, b.val_accuracy);
        assert!(
            (p.val_loss - b.val_loss).abs() > 1e-9,
            "pooled {} balanced {}",
            p.val_loss,
            b.val_loss
        );
    }
    let lowest = balanced
        .history
        .iter()
        .min_by(|a, b| a.val_loss.total_cmp(&b.val_loss))
        .expect("validations");
    assert_eq!(balanced.best_iteration, lowest.iteration);
}

#[test]
fn a_run_trains_the_same_while_another_trains_beside_it() {
    // burn-flex draws every network's first weights from one generator per process, at its
    // first forward pass: another run seeding it and drawing at that moment must not change
    // this run's weights.
    let run = |seed: u64, iterations: usize| {
        trained_in_a_fresh_folder(&TrainConfig {
            seed,
            ..config(iterations)
        })
        .history
    };
    let alone = run(5, 20);
    let stop = AtomicBool::new(false);
    let (beside, others) = std::thread::scope(|s| {
        let other = s.spawn(|| {
            let mut runs = 0;
            while !stop.load(Ordering::Relaxed) {
                run(6 + runs, 1);
                runs += 1;
            }
            runs
        });
        let beside = run(5, 20);
        stop.store(true, Ordering::Relaxed);
        (beside, other.join().expect("the other run"))
    });
    assert!(others > 0);
    assert_eq!(alone.len(), beside.len());
    for (a, b) in alone.iter().zip(&beside) {
        assert_eq!(a.train_loss, b.train_loss);
        assert_eq!(a.val_loss, b.val_loss);
    }
}
