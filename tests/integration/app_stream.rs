//! The app's live stream connection against a real broker (tansu): the real ZTF alerts
//! produced into a topic, the app opened empty, File > Connect to a stream driven through
//! the dialog, the objects appearing in the browser answered by the default model, the
//! object that arrived last first in "Newest first", then File > Disconnect and the worker
//! gone.

use crate::common::{stampseq, ztf};
use crate::kafka::Broker;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use stampseq::app::{AppOptions, StampseqApp};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn produce(broker: &Broker, paths: &[PathBuf]) {
    produce_with(broker, paths, None);
}

/// [`produce`], with the LSST schema folder that framed messages need.
fn produce_with(broker: &Broker, paths: &[PathBuf], lsst_schemas: Option<&Path>) {
    let mut produce = stampseq();
    produce
        .args([
            "produce",
            "--brokers",
            &broker.address(),
            "--topic",
            "alerts",
        ])
        // One record per produce request: tansu 0.6.0 misnumbers multi-record batches.
        .args(["-X", "batch.num.messages=1"]);
    if let Some(dir) = lsst_schemas {
        produce.arg("--lsst-schemas").arg(dir);
    }
    let out = produce.args(paths).output().expect("stampseq produce");
    assert!(
        out.status.success(),
        "produce: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Steps frames until `done`, at most `limit`; a timeout says what the app's stream said.
fn step_until(
    h: &mut Harness<'_, StampseqApp>,
    what: &str,
    limit: Duration,
    done: impl Fn(&StampseqApp) -> bool,
) {
    let t0 = Instant::now();
    loop {
        h.step();
        if done(h.state()) {
            return;
        }
        if t0.elapsed() > limit {
            let app = h.state();
            panic!(
                "timed out after {limit:?} waiting for {what}: {} objects listed; stream: {}; \
                 messages: {:?}",
                app.state.catalog.rows.len(),
                app.state
                    .live
                    .as_ref()
                    .map_or("not started".into(), |l| l.status_line()),
                app.state.messages.iter().rev().take(5).collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The app opened empty (its labels and stream folders under `data`), the models on the
/// CPU, with `lsst_schemas` for framed LSST messages.
fn empty_app<'a>(data: &Path, lsst_schemas: Option<PathBuf>) -> Harness<'a, StampseqApp> {
    let labels = data.join("labels");
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .wgpu()
        .build_eframe(move |cc| {
            StampseqApp::new(
                cc,
                AppOptions {
                    labels_dir: Some(labels),
                    fresh_preferences: true,
                    backend: stampseq::backend::BackendChoice::Cpu,
                    lsst_schemas,
                    ..Default::default()
                },
            )
        });
    h.state_mut().state.stream_dir = data.join("stream");
    h
}

fn type_into(h: &mut Harness<'_, StampseqApp>, field: &str, text: &str) {
    h.get_by_role_and_label(Role::TextInput, field).focus();
    h.run_steps(2);
    h.get_by_role_and_label(Role::TextInput, field)
        .type_text(text);
    h.run_steps(2);
}

fn menu(h: &mut Harness<'_, StampseqApp>, item: &str) {
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label_contains(item).click();
    h.run_steps(2);
}

#[test]
fn stream_objects_appear_answered_newest_first_then_disconnect() {
    if !crate::common::vulkan_device(
        "app_stream::stream_objects_appear_answered_newest_first_then_disconnect",
    ) {
        return;
    }
    let broker = Broker::start();
    broker.create_topic("alerts", 4);
    // Every object but one first; the last object after the others are listed, so that
    // "Newest first" has a known first row (ZTF18aabjhro sorts 4th by id).
    let late = "ZTF18aabjhro";
    let mut early: Vec<PathBuf> = std::fs::read_dir(ztf("sequences"))
        .expect("sequences")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() && !p.ends_with(late))
        .collect();
    early.sort();
    assert_eq!(early.len(), 49);
    let files = |dir: &Path| std::fs::read_dir(dir).expect("object folder").count();
    let early_alerts: usize = early.iter().map(|d| files(d)).sum();
    let total = early_alerts + files(&ztf("sequences").join(late));
    assert_eq!(total, 184);
    produce(&broker, &early);

    let data = tempfile::tempdir().expect("tempdir");
    let mut h = empty_app(data.path(), None);
    h.run_steps(2);
    assert!(h.state().state.catalog.rows.is_empty());

    menu(&mut h, "Connect to a stream");
    assert!(h.state().ui.connect_form.is_some(), "the dialog opened");
    // Connect refuses an empty form and says why, in the dialog.
    h.get_by_role_and_label(Role::Button, "Connect").click();
    h.run_steps(2);
    assert!(h.state().state.live.is_none());
    h.get_by_label_contains("Give the brokers");
    h.get_by_label_contains("STAMPSEQ_KAFKA_PASSWORD");

    type_into(&mut h, "Brokers", &broker.address());
    type_into(&mut h, "Topic", "alerts");
    h.get_by_label("From the beginning").click();
    h.run_steps(2);
    {
        let form = h.state().ui.connect_form.as_ref().expect("dialog");
        assert_eq!(form.brokers, broker.address());
        assert_eq!(form.topic, "alerts");
        assert_eq!(form.group, "stampseq-app");
        assert!(form.from_beginning);
    }
    h.get_by_role_and_label(Role::Button, "Connect").click();
    h.run_steps(2);
    assert!(h.state().ui.connect_form.is_none(), "the dialog closed");
    assert!(h.state().state.live.is_some(), "the worker started");

    let limit = Duration::from_secs(60);
    step_until(&mut h, "the 49 objects produced first", limit, |app| {
        app.state.catalog.alerts == early_alerts
            && app.state.catalog.rows.len() == 49
            && app
                .state
                .catalog
                .rows
                .iter()
                .all(|r| app.state.predictions.top_class(&r.object_id).is_some())
    });
    produce(&broker, &[ztf("sequences").join(late)]);
    step_until(&mut h, "ZTF18aabjhro from the stream", limit, |app| {
        app.state.catalog.index_of(late).is_some()
            && app.state.predictions.top_class(late).is_some()
    });
    step_until(&mut h, "all 184 alerts", limit, |app| {
        app.state.catalog.alerts == 184
    });

    let app = h.state();
    assert_eq!(app.state.catalog.rows.len(), 50);
    let live = app.state.live.as_ref().expect("connected");
    assert!(live.is_running());
    assert_eq!(live.alerts, 184);
    assert_eq!(live.dead_letters, 0);
    assert_eq!(live.model.as_deref(), Some("default-fused"));
    // The answer is the one after the object's last alert, one per alert.
    let m = app
        .state
        .predictions
        .models
        .first()
        .expect("the stream's model");
    assert_eq!(m.model, "default-fused");
    let seq = &app.state.catalog.objects[app.state.catalog.index_of(late).expect("row")];
    assert_eq!(m.by_object[late].len(), seq.alerts.len());
    let (class, p) = app.state.predictions.top_class(late).expect("answer");
    assert!(m.classes.iter().any(|c| c == class) && p > 0.0 && p <= 1.0);
    // The browser draws the answers, and the status line the stream.
    let answer = format!("{class} {p:.2}");
    assert!(
        h.query_all_by_label(&answer).next().is_some(),
        "no {answer:?} in the browser"
    );
    h.get_by_label_contains(&format!("Stream alerts at {}: running", broker.address()));

    // Newest first: the object produced last leads, the rest follow by arrival.
    h.get_by_label("Newest first").click();
    h.run_steps(3);
    let app = h.state();
    let first = &app.state.catalog.rows[app.state.visible[0]];
    assert_eq!(first.object_id, late, "newest first");
    assert!(h.query_all_by_label(late).next().is_some(), "{late} drawn");
    let arrivals: Vec<u64> = app
        .state
        .visible
        .iter()
        .map(|&i| app.state.catalog.rows[i].arrival)
        .collect();
    assert!(arrivals.windows(2).all(|w| w[0] > w[1]), "{arrivals:?}");
    // By id it is not first: the order above is the arrival's, not the id's.
    assert_ne!(app.state.catalog.rows[0].object_id, late);

    // Answers on disk under the app's data folder.
    let answers = data.path().join("stream/stampseq-app/answers");
    let written = std::fs::read_dir(&answers)
        .unwrap_or_else(|e| panic!("{}: {e}", answers.display()))
        .count();
    assert!(written > 0, "no answer file in {}", answers.display());

    menu(&mut h, "Disconnect from the stream");
    step_until(
        &mut h,
        "the worker to stop",
        Duration::from_secs(30),
        |app| {
            app.state
                .live
                .as_ref()
                .is_some_and(|l| !l.is_running() && l.thread_exited())
        },
    );
    let live = h.state().state.live.as_ref().expect("stream");
    match &live.finished {
        Some(Ok(s)) => assert_eq!(s.alerts, 184),
        other => panic!("the stream ended badly: {other:?}"),
    }
    h.run_steps(2);
    h.get_by_label_contains("disconnected after 184 alerts");
}

/// The folders stay inside the app's stream folder whatever the group is called.
#[test]
fn stream_folders_follow_the_group() {
    if !crate::common::vulkan_device("app_stream::stream_folders_follow_the_group") {
        return;
    }
    let form = stampseq::app::live::ConnectForm {
        brokers: "localhost:9092".into(),
        topic: "alerts".into(),
        group: "my group/1".into(),
        ..Default::default()
    };
    let c = form.config(Path::new("/d")).expect("config");
    assert_eq!(
        c.out_dir.as_deref(),
        Some(Path::new("/d/my_group_1/answers"))
    );
    assert_eq!(c.group, "my group/1");
}

/// A topic carrying both surveys' alerts: with an LSST model loaded, the app's stream
/// answers the ZTF alerts with the default answer and the LSST alerts with the LSST model,
/// each object in the browser under its own survey's model.
#[test]
fn a_topic_of_both_surveys_is_answered_by_each_surveys_model() {
    if !crate::common::vulkan_device(
        "app_stream::a_topic_of_both_surveys_is_answered_by_each_surveys_model",
    ) {
        return;
    }
    let broker = Broker::start();
    broker.create_topic("alerts", 2);
    let schemas = crate::common::data_dir().join("lsst/lsst-alert-packet/schema");
    let framed = crate::common::data_dir().join("lsst/derived-fink-v10-framed");
    produce_with(
        &broker,
        &[ztf("sequences/ZTF18aabjhro"), framed],
        Some(&schemas),
    );
    let data = tempfile::tempdir().expect("tempdir");
    let model_dir = data.path().join("lsst-model");
    std::fs::create_dir_all(&model_dir).expect("model dir");
    let lsst_model = crate::lsst_trees::trained_model(&model_dir);

    let mut h = empty_app(data.path(), Some(schemas));
    h.state_mut().load_model(lsst_model);
    h.run_steps(2);
    menu(&mut h, "Connect to a stream");
    type_into(&mut h, "Brokers", &broker.address());
    type_into(&mut h, "Topic", "alerts");
    h.get_by_label("From the beginning").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Connect").click();
    h.run_steps(2);
    assert!(h.state().state.live.is_some(), "the worker started");

    let ztf_alerts = std::fs::read_dir(ztf("sequences/ZTF18aabjhro"))
        .expect("object")
        .count();
    let answered_by = |app: &StampseqApp, model: &str| {
        app.state
            .predictions
            .models
            .iter()
            .find(|m| m.model == model)
            .map_or(0, |m| m.by_object.len())
    };
    step_until(
        &mut h,
        "both surveys' alerts answered",
        Duration::from_secs(60),
        |app| {
            app.state
                .live
                .as_ref()
                .is_some_and(|l| l.alerts as usize == ztf_alerts + 20)
                && answered_by(app, "default-fused") == 1
                && answered_by(app, "best") > 0
        },
    );
    let app = h.state();
    let live = app.state.live.as_ref().expect("connected");
    assert_eq!(live.model.as_deref(), Some("best, default-fused"));
    assert_eq!(live.dead_letters, 0);
    // Every LSST object the browser lists is answered by the LSST model, none by the ZTF
    // one; the ZTF object by the default answer only.
    let lsst_model = app
        .state
        .predictions
        .models
        .iter()
        .find(|m| m.model == "best")
        .expect("the LSST model's answers");
    assert_eq!(lsst_model.classes, ["asteroid", "other"]);
    let ztf_model = app
        .state
        .predictions
        .models
        .iter()
        .find(|m| m.model == "default-fused")
        .expect("the default answer's answers");
    assert!(ztf_model.by_object.contains_key("ZTF18aabjhro"));
    assert!(!lsst_model.by_object.contains_key("ZTF18aabjhro"));
    let lsst: Vec<_> = app
        .state
        .catalog
        .objects
        .iter()
        .filter(|o| o.key.survey == stampseq::alert::neutral::Survey::Lsst)
        .collect();
    let lsst_objects = lsst.len();
    assert!(lsst_objects > 0);
    assert_eq!(lsst_model.by_object.len(), lsst_objects);
    for o in lsst {
        let key = stampseq::app::state::browser_key(&o.key);
        assert!(lsst_model.by_object.contains_key(&key), "{key} answered");
    }
    assert!(lsst_model
        .by_object
        .keys()
        .all(|id| !ztf_model.by_object.contains_key(id)));
    menu(&mut h, "Disconnect from the stream");
    step_until(
        &mut h,
        "the worker to stop",
        Duration::from_secs(30),
        |app| {
            app.state
                .live
                .as_ref()
                .is_some_and(|l| !l.is_running() && l.thread_exited())
        },
    );
}
