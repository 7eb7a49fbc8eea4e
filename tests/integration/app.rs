//! The real app driven through egui_kittest (wgpu on Mesa's lavapipe in CI): load the
//! shared sequences, select SN 2021rhu, change the stretch, vet objects from the keyboard
//! and find the labels on disk. Snapshots live in tests/snapshots/.

use crate::common::ztf;
use egui::Key;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use stampseq::app::export::PlotKind;
use stampseq::app::{AppOptions, StampseqApp};
use std::path::Path;

fn harness<'a>(inputs: Vec<std::path::PathBuf>, labels: &Path) -> Harness<'a, StampseqApp> {
    harness_with_models(inputs, labels, Vec::new())
}

fn harness_with_models<'a>(
    inputs: Vec<std::path::PathBuf>,
    labels: &Path,
    models: Vec<std::path::PathBuf>,
) -> Harness<'a, StampseqApp> {
    let labels = labels.to_path_buf();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .wgpu()
        .build_eframe(move |cc| {
            StampseqApp::new(
                cc,
                AppOptions {
                    inputs,
                    labels_dir: Some(labels),
                    fresh_preferences: true,
                    models,
                    backend: stampseq::backend::BackendChoice::Cpu,
                    wise: Some(ztf("aux/allwise_xmatch_5_ztf_objects.csv")),
                    allwise: None,
                    allwise_radius_arcsec: None,
                    lsst_schemas: None,
                    schema_registry: None,
                },
            )
        });
    // Loading runs on a worker thread: step until it has reported.
    for _ in 0..3000 {
        h.step();
        if !h.state().state.jobs.is_busy() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.run_steps(3);
    h
}

/// Exports `kind` through the app as PNG and SVG, as its "Export…" button does once the
/// save dialog has a name, and checks that the PNG decodes and the SVG parses and holds
/// `labels`.
pub(crate) fn export_both(
    h: &mut Harness<'_, StampseqApp>,
    kind: PlotKind,
    dir: &Path,
    labels: &[&str],
) {
    for ext in ["png", "svg"] {
        let path = dir.join(format!("{kind:?}.{ext}"));
        h.state_mut().export_plot_to(kind, path.clone());
        let done = format!("plot written to {}", path.display());
        for _ in 0..500 {
            h.step();
            if h.state().state.messages.last() == Some(&done) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(h.state().state.messages.last(), Some(&done));
    }
    let png = image::open(dir.join(format!("{kind:?}.png"))).expect("PNG decodes");
    assert!(png.width() > 100);
    let svg = std::fs::read_to_string(dir.join(format!("{kind:?}.svg"))).expect("svg");
    let doc = roxmltree::Document::parse(&svg).expect("SVG parses");
    let texts: String = doc.descendants().filter_map(|n| n.text()).collect();
    for label in labels {
        assert!(
            texts.contains(label),
            "{label:?} missing from the {kind:?} SVG"
        );
    }
}

#[test]
fn browse_select_stretch_and_vet_from_the_keyboard() {
    if !crate::common::vulkan_device("app::browse_select_stretch_and_vet_from_the_keyboard") {
        return;
    }
    let labels = tempfile::tempdir().expect("tempdir");
    let mut h = harness(vec![ztf("sequences")], labels.path());
    assert_eq!(
        h.state().state.catalog.rows.len(),
        50,
        "the 50 objects of sequences/"
    );
    assert!(h.state().ui.gpu, "stamps drawn by the wgpu shader");

    // Find SN 2021rhu with the search box (Ctrl+F) and click its row.
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::F);
    h.run_steps(2);
    h.event(egui::Event::Text("abiuvdk".into()));
    h.run_steps(2);
    assert_eq!(h.state().state.visible.len(), 1);
    h.key_press(Key::Escape);
    h.run_steps(2);
    h.get_by_label("ZTF21abiuvdk").click();
    h.run_steps(2);
    let app = h.state();
    let selected = app.state.selection.object.expect("selection");
    assert_eq!(app.state.catalog.objects[selected].key.id, "ZTF21abiuvdk");
    assert_eq!(app.state.catalog.objects[selected].alerts.len(), 34);

    // Change the science stretch from asinh to log.
    // The first "stretch" combo box is the science/reference one.
    h.query_all_by_role_and_label(egui::accesskit::Role::ComboBox, "stretch")
        .next()
        .expect("stretch combo box")
        .click();
    h.run_steps(2);
    h.get_by_label("log").click();
    h.run_steps(2);
    assert_eq!(
        h.state().ui.prefs.science.stretch,
        stampseq::stamp::display::Stretch::LOG
    );
    h.snapshot("app_ZTF21abiuvdk_log_stretch");

    // Clear the search (Ctrl+F, select all, delete) so the app can move on after a label.
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::F);
    h.run_steps(2);
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::A);
    h.key_press(Key::Backspace);
    h.run_steps(2);
    h.key_press(Key::Escape);
    h.run_steps(2);
    assert_eq!(h.state().state.visible.len(), 50);

    // Vet three objects: SN here, then the app moves on; AGN, then bogus.
    h.key_press(Key::Num2);
    h.run_steps(2);
    h.key_press(Key::Num1);
    h.run_steps(2);
    h.key_press(Key::Num5);
    h.run_steps(2);
    h.state_mut().flush_labels();
    let csv = std::fs::read_to_string(labels.path().join("labels.csv")).expect("labels.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(csv.contains("ZTF21abiuvdk,SN"), "{csv}");
    assert!(csv.contains(",AGN") && csv.contains(",bogus"), "{csv}");

    // Ctrl+Z takes the last label back, on disk too.
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    h.state_mut().flush_labels();
    let csv = std::fs::read_to_string(labels.path().join("labels.csv")).expect("labels.csv");
    assert!(!csv.contains(",bogus"), "{csv}");
    let log = std::fs::read_to_string(labels.path().join("labels.log")).expect("labels.log");
    assert_eq!(
        log.lines().count(),
        4,
        "three labels and an undo, journalled"
    );
}

/// egui keeps a resizable panel at the height it had on its first frame; the plots panel
/// must open at its default height whether or not an object is shown by then (loading ends
/// on a worker at no fixed frame, which made the window's layout depend on timing).
#[test]
fn the_plots_panel_opens_at_its_default_height_before_anything_is_loaded() {
    if !crate::common::vulkan_device(
        "app::the_plots_panel_opens_at_its_default_height_before_anything_is_loaded",
    ) {
        return;
    }
    let labels = tempfile::tempdir().expect("tempdir");
    let mut h = harness(Vec::new(), labels.path());
    h.run_steps(3);
    assert!(h.state().state.catalog.rows.is_empty(), "nothing loaded");
    let heading = h.get_by_label("Light curve").rect();
    let status_top = h.get_by_label_contains("Display:").rect().top();
    // Default 330 px; its minimum is 220.
    assert!(
        status_top - heading.top() > 300.0,
        "plots panel {} px tall",
        status_top - heading.top()
    );
}

#[test]
fn the_help_overlay_lists_every_shortcut() {
    if !crate::common::vulkan_device("app::the_help_overlay_lists_every_shortcut") {
        return;
    }
    let labels = tempfile::tempdir().expect("tempdir");
    let mut h = harness(vec![ztf("fixture/sequence_ZTF19abegmle")], labels.path());
    // The AllWISE table given at start reaches the details panel's data.
    let w1 = h
        .state()
        .state
        .wise
        .as_ref()
        .and_then(|w| w.get("ZTF19abegmle"))
        .and_then(|m| m.w1)
        .expect("ZTF19abegmle in the AllWISE table");
    assert!((w1 - 14.643).abs() < 1e-6);
    h.key_press(Key::F1);
    h.run_steps(2);
    for c in stampseq::app::commands::Command::ALL {
        assert!(
            h.query_by_label(c.title()).is_some(),
            "{} missing from the help",
            c.title()
        );
    }
}

#[test]
fn a_model_classifies_in_the_background_and_the_evolution_is_drawn() {
    if !crate::common::vulkan_device(
        "app::a_model_classifies_in_the_background_and_the_evolution_is_drawn",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("alerce.stampseq");
    stampseq::model::import::import_alerce(
        &crate::common::data_dir().join("alerce/alerce_stamp_classifier.safetensors"),
        &model,
    )
    .expect("import");
    let mut h = harness_with_models(
        vec![ztf("fixture/sequence_ZTF19abegmle")],
        dir.path(),
        vec![model],
    );
    // The classification job starts when loading ends: let it finish too.
    wait_for_models(&mut h, 1);
    let app = h.state();
    let m = app.state.predictions.models.first().expect("predictions");
    assert_eq!(m.model, "alerce", "named by its file");
    let steps = m.by_object.get("ZTF19abegmle").expect("the object");
    assert_eq!(steps.len(), 7, "one answer per detection");
    assert!(steps
        .iter()
        .all(|p| (p.iter().sum::<f32>() - 1.0).abs() < 1e-4));
    assert!(app
        .state
        .models
        .device
        .as_deref()
        .is_some_and(|d| d.contains("CPU")));
    // The key above the plot: each model and each class once, as a checkbox.
    for label in ["alerce", "AGN", "SN", "VS", "asteroid", "bogus"] {
        assert_eq!(checkboxes(&h, label), 1, "{label:?} in the evolution key");
    }
    h.snapshot("app_class_evolution");

    // Both plots of the bottom panel export, from their "Export…" buttons' code path.
    assert!(h.query_all_by_label("Export…").count() >= 2);
    let out = dir.path().join("plots");
    std::fs::create_dir_all(&out).expect("dir");
    export_both(
        &mut h,
        PlotKind::LightCurve,
        &out,
        &["ZTF19abegmle", "magnitude", "detections"],
    );
    h.state_mut()
        .export_plot_to(PlotKind::LightCurve, out.join("light.jpg"));
    assert!(
        h.state()
            .state
            .messages
            .last()
            .is_some_and(|m| m.contains("should end in .png or .svg")),
        "{:?}",
        h.state().state.messages.last()
    );

    // Two more models, both "tsc-gru-n5" inside: the app tells them apart by file. One at
    // a time, so that their order (and so their line styles) is fixed.
    let bundled = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/models");
    for (i, name) in ["tsc-gru-real", "tsc-gru-sim"].iter().enumerate() {
        h.state_mut()
            .load_model(bundled.join(format!("{name}.stampseq")));
        wait_for_models(&mut h, i + 2);
    }
    let names: Vec<&str> = h
        .state()
        .state
        .predictions
        .models
        .iter()
        .map(|m| m.model.as_str())
        .collect();
    assert_eq!(names, ["alerce", "tsc-gru-real", "tsc-gru-sim"]);
    for label in ["alerce", "tsc-gru-real", "tsc-gru-sim", "SN", "bogus"] {
        assert_eq!(checkboxes(&h, label), 1, "{label:?} in the evolution key");
    }
    h.snapshot("app_class_evolution_three_models");

    // Leave out a model and a class; the choice is a preference, and the export draws
    // what the plot shows.
    for label in ["tsc-gru-real", "bogus"] {
        h.query_all_by_role_and_label(egui::accesskit::Role::CheckBox, label)
            .next()
            .expect("checkbox")
            .click();
        h.run_steps(2);
    }
    let prefs = &h.state().ui.prefs;
    assert!(prefs.evolution_hidden_models.contains("tsc-gru-real"));
    assert!(prefs.evolution_hidden_classes.contains("bogus"));
    export_both(
        &mut h,
        PlotKind::ClassEvolution,
        &out,
        &["ZTF19abegmle", "alerce", "tsc-gru-sim", "SN", "probability"],
    );
    let svg = std::fs::read_to_string(out.join("ClassEvolution.svg")).expect("svg");
    assert!(
        !svg.contains("tsc-gru-real"),
        "a hidden model is not exported"
    );
    assert!(!svg.contains(">bogus<"), "a hidden class is not exported");

    // In the view's flux mode the export draws flux, as the view does.
    h.get_by_label("flux (nJy)").click();
    h.run_steps(2);
    assert!(h.state().ui.prefs.light_curve_flux);
    let flux_dir = out.join("flux");
    std::fs::create_dir_all(&flux_dir).expect("dir");
    export_both(
        &mut h,
        PlotKind::LightCurve,
        &flux_dir,
        &["ZTF19abegmle (ZTF)", "difference flux (nJy)", "UTC"],
    );
}

/// Steps the app until `n` models have answered and no job runs.
/// The details view reads the alert's features as the first model does: normalised, and
/// those it reads as missing (the default's sky position, latitudes and `ndethist`) said
/// so rather than shown as a number it never sees.
#[test]
fn the_details_say_which_features_the_model_reads_as_missing() {
    if !crate::common::vulkan_device(
        "app::the_details_say_which_features_the_model_reads_as_missing",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let model = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models/default-fused.stampseq");
    let mut h = harness_with_models(
        vec![ztf("fixture/sequence_ZTF19abegmle")],
        dir.path(),
        vec![model],
    );
    wait_for_models(&mut h, 1);
    let stats = h
        .state()
        .state
        .predictions
        .feature_stats()
        .cloned()
        .expect("the default's networks' feature statistics");
    assert!(
        stats.neutralised.iter().any(|n| n == "gal_lat"),
        "{stats:?}"
    );
    if h.state().state.selection.object.is_none() {
        h.get_by_label("ZTF19abegmle").click();
        h.run_steps(3);
    }
    assert_eq!(h.query_all_by_label("read as missing").count(), 0);
    h.get_by_label("Model features").click();
    h.run_steps(3);
    assert_eq!(
        h.query_all_by_label("read as missing").count(),
        stats.neutralised.len()
    );
    // The features it reads show their normalised value: the PS1 star/galaxy score here.
    let shown = {
        let app = h.state();
        let state = &app.state;
        let row = state.selection.object.expect("selected");
        let alert = state
            .catalog
            .alert(row, state.selection.detection)
            .and_then(|a| a.as_ref().ztf())
            .expect("a ZTF alert");
        let raw = stampseq::features::raw_features(
            &alert.candidate,
            &stampseq::features::ALERCE_FEATURES,
        );
        format!("{:+.3}", stats.normalize(&raw)[0])
    };
    assert!(
        h.query_all_by_label(&shown).count() >= 1,
        "sgscore1 normalised {shown}"
    );
}

fn wait_for_models(h: &mut Harness<'_, StampseqApp>, n: usize) {
    for _ in 0..3000 {
        h.step();
        if !h.state().state.jobs.is_busy() && h.state().state.predictions.models.len() >= n {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        h.state().state.predictions.models.len(),
        n,
        "models answered"
    );
    h.run_steps(3);
}

fn checkboxes(h: &Harness<'_, StampseqApp>, label: &str) -> usize {
    h.query_all_by_role_and_label(egui::accesskit::Role::CheckBox, label)
        .count()
}

#[test]
fn the_selected_detection_exports_as_fits_and_png() {
    if !crate::common::vulkan_device("app::the_selected_detection_exports_as_fits_and_png") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let h = harness(vec![ztf("fixture/sequence_ZTF19abegmle")], dir.path());
    let out = dir.path().join("export");
    std::fs::create_dir_all(&out).expect("dir");
    assert_eq!(h.state().export_stamps(&out).expect("export"), 6);
    let fits =
        std::fs::read(out.join("ZTF19abegmle_916439405515010013_science.fits")).expect("fits");
    let stamp = stampseq::alert::decode_fits_image(&fits).expect("decodes");
    let Some(stampseq::alert::AnyAlert::Ztf(alert)) = h.state().state.catalog.alert(0, 0) else {
        panic!("a ZTF alert");
    };
    let original = alert.cutouts.science.as_ref().expect("science");
    let bits =
        |s: &stampseq::alert::Stamp| s.pixels.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&stamp), bits(original), "FITS holds the raw pixels");
    let png = image::open(out.join("ZTF19abegmle_916439405515010013_difference.png")).expect("png");
    assert_eq!((png.width(), png.height()), (252, 252));
}

#[test]
fn a_tiny_training_run_starts_and_stops_from_the_training_view() {
    if !crate::common::vulkan_device(
        "app::a_tiny_training_run_starts_and_stops_from_the_training_view",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sim_dir = dir.path().join("sim");
    stampseq::sim::run(&stampseq::sim::SimConfig {
        out: sim_dir.clone(),
        objects: 30,
        seed: 3,
        templates: vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample")],
        exclude_objects: Default::default(),
        min_detections: 2,
        max_detections: 3,
    })
    .expect("simulate");
    let mut h = harness(vec![ztf("fixture/sequence_ZTF19abegmle")], dir.path());
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::T);
    h.run_steps(2);
    {
        let t = &mut h.state_mut().ui.training;
        assert!(t.open, "Ctrl+T opens the training view");
        t.data = sim_dir.display().to_string();
        t.labels = sim_dir.join("labels.csv").display().to_string();
        t.out = dir.path().join("run").display().to_string();
        t.iterations = 400;
        t.batch = 6;
        t.validate_every = 5;
        t.val_per_class = 1;
        t.max_detections = 3;
        // The simulator's five classes, typed in as the labels name them.
        t.classes = "AGN, SN, VS, asteroid, bogus".into();
    }
    h.get_by_label("Start").click();
    h.run_steps(2);
    assert!(h.state().state.training.is_running());
    // Wait for two validations, then stop.
    for _ in 0..3000 {
        h.step();
        if h.state().state.training.validations.len() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        h.state().state.training.validations.len() >= 2,
        "{}",
        h.state().state.training.status
    );
    // The latest validation's confusion matrix is drawn, counting each validation object
    // (one per class) once.
    h.run_steps(2);
    let latest = h
        .state()
        .state
        .training
        .validations
        .last()
        .cloned()
        .expect("one");
    let cm = latest.confusion.expect("a confusion matrix");
    assert_eq!(
        cm.total(),
        cm.classes.len() as u64,
        "one validation object per class"
    );
    assert!(
        h.query_by_label_contains("validation confusion at step")
            .is_some(),
        "the heatmap's title"
    );
    for (counts, fractions) in cm.counts.iter().zip(cm.row_normalised()) {
        for (count, fraction) in counts.iter().zip(fractions) {
            let cell = format!("{count}\n{fraction:.2}");
            assert!(
                h.query_all_by_label(&cell).next().is_some(),
                "cell {cell:?} drawn"
            );
        }
    }
    h.get_by_label("Stop").click();
    for _ in 0..3000 {
        h.step();
        if !h.state().state.training.is_running() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let t = &h.state().state.training;
    assert!(!t.is_running(), "stopped");
    assert!(t.status.contains("stopped"), "{}", t.status);
    let last = t.validations.last().expect("validation").iteration;
    assert!(last < 400, "stopped early, at {last}");
    assert!(dir.path().join("run/best.stampseq").is_file());
    assert!(t.finished_model.is_some());
    // No snapshot: where Stop lands depends on timing, so the curves differ run to run.

    export_both(
        &mut h,
        PlotKind::TrainingCurves,
        dir.path(),
        &["loss", "accuracy", "iteration"],
    );
    export_both(
        &mut h,
        PlotKind::TrainingConfusion,
        dir.path(),
        &["validation at step", "AGN", "bogus", "predicted"],
    );
}

#[test]
fn the_training_view_draws_the_latest_validation_confusion() {
    if !crate::common::vulkan_device("app::the_training_view_draws_the_latest_validation_confusion")
    {
        return;
    }
    use stampseq::eval::metrics::ConfusionMatrix;
    use stampseq::train::{TrainEvent, Validation};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = harness(vec![ztf("fixture/sequence_ZTF19abegmle")], dir.path());
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::T);
    h.run_steps(2);
    // Events as a run sends them, fixed so that the snapshot is stable.
    let classes = ["AGN", "SN", "VS", "asteroid", "bogus"];
    let validation = |iteration: usize, right: u64| {
        let mut cm = ConfusionMatrix::new(&classes);
        for t in 0..classes.len() {
            for _ in 0..right {
                cm.add(t, t);
            }
            for _ in right..4 {
                cm.add(t, (t + 1) % classes.len());
            }
        }
        Validation {
            iteration,
            max_iterations: 100,
            train_loss: 1.6 - iteration as f64 / 100.0,
            train_accuracy: right as f64 / 4.0,
            val_loss: 1.7 - iteration as f64 / 100.0,
            val_accuracy: right as f64 / 4.0,
            best_val_loss: 1.7 - iteration as f64 / 100.0,
            improved: true,
            elapsed_s: iteration as f64,
            eta_s: 100.0 - iteration as f64,
            confusion: Some(cm),
        }
    };
    {
        let t = &mut h.state_mut().state.training;
        for i in 1..=50 {
            t.on_event(TrainEvent::Step {
                iteration: i,
                max_iterations: 100,
                train_loss: 1.6 - i as f32 / 100.0,
            });
        }
        t.on_event(TrainEvent::Validation(validation(25, 1)));
        t.on_event(TrainEvent::Validation(validation(50, 3)));
    }
    // Enough frames for the panels to settle at their final sizes: fewer, and the snapshot
    // depends on how many frames the machine's load let loading take.
    h.run_steps(30);
    assert!(h
        .query_by_label("validation confusion at step 50")
        .is_some());
    // Three of four right in every row, the fourth in the next class's column.
    assert_eq!(h.query_all_by_label("3\n0.75").count(), 5);
    assert_eq!(h.query_all_by_label("1\n0.25").count(), 5);
    h.snapshot("app_training_confusion");
}

#[test]
fn the_evaluation_view_opens_a_confusion_cell_and_its_objects() {
    if !crate::common::vulkan_device(
        "app::the_evaluation_view_opens_a_confusion_cell_and_its_objects",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // Labels of the real labelled set, from the manifest.
    let labels = dir.path().join("labels.csv");
    let mut text = String::from("objectId,label\n");
    let mut seen = std::collections::HashSet::new();
    for (set, _, object, _, _) in crate::common::manifest() {
        if set == "labeled" && seen.insert(object.clone()) {
            let mut r = csv::Reader::from_path(ztf("manifest.csv")).expect("manifest");
            let label = r
                .records()
                .filter_map(Result::ok)
                .find(|row| row[2] == *object)
                .map(|row| row[8].to_string())
                .unwrap_or_default();
            text.push_str(&format!("{object},{label}\n"));
        }
    }
    std::fs::write(&labels, text).expect("labels");
    let model = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models/tsc-gru-sim.stampseq");
    let mut h = harness_with_models(vec![ztf("labeled")], dir.path(), vec![model]);
    for _ in 0..3000 {
        h.step();
        if !h.state().state.jobs.is_busy() && !h.state().state.predictions.models.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::L);
    h.run_steps(2);
    h.state_mut().ui.evaluation.labels_csv = labels.display().to_string();
    h.get_by_label("Load labels").click();
    h.run_steps(2);
    // The CSV is read on a worker: step until it has reported.
    for _ in 0..500 {
        if !h.state().state.jobs.is_busy() {
            break;
        }
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        h.state().ui.evaluation.loaded.is_some(),
        "{:?}",
        h.state().ui.evaluation.error
    );

    // The cell of true SN predicted SN, clicked by its text.
    let m = &h.state().state.predictions.models[0];
    let loaded = h.state().ui.evaluation.loaded.clone().expect("labels");
    let result = stampseq::app::views::evaluation::evaluate(&m.classes, &m.by_object, &loaded);
    let sn = m.classes.iter().position(|c| c == "SN").expect("SN");
    let count = result.confusion.counts[sn][sn];
    let fraction = result.confusion.row_normalised()[sn][sn];
    assert!(result.confusion.total() > 200);
    h.get_by_label(&format!("{count}\n{fraction:.2}")).click();
    h.run_steps(2);
    assert_eq!(h.state().ui.evaluation.cell, Some((sn, sn)));
    let first = result.members[sn][sn]
        .first()
        .cloned()
        .expect("an object in the cell");
    // The gallery's button (the browser lists the same objectId as a plain label).
    h.get_by_role_and_label(egui::accesskit::Role::Button, &first)
        .click();
    h.run_steps(2);
    let app = h.state();
    let selected = app.state.selection.object.expect("selected");
    assert_eq!(app.state.catalog.objects[selected].key.id, first);

    export_both(
        &mut h,
        PlotKind::EvaluationConfusion,
        dir.path(),
        &["accuracy", "SN", "predicted"],
    );
}

/// The default answer in the app: its uncertainty in a sortable browser column, the
/// "uncertain or unusual" filter, and the band around each class in the evolution.
#[test]
fn the_default_answer_shows_its_uncertainty() {
    if !crate::common::vulkan_device("app::the_default_answer_shows_its_uncertainty") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let model = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models/default-trees.stampseq");
    let mut h = harness_with_models(vec![ztf("sequences")], dir.path(), vec![model]);
    wait_for_models(&mut h, 1);
    let total = h.state().state.visible.len();
    {
        let app = h.state();
        let m = &app.state.predictions.models[0];
        assert_eq!(m.model, "default-trees");
        assert_eq!(m.classes.len(), 5);
        let spread = m.spread.get("ZTF21abiuvdk").expect("the ensemble's spread");
        assert_eq!(spread.len(), 34, "one per detection");
        assert!(spread.iter().any(|s| s.std.iter().any(|v| *v > 0.0)));
        assert_eq!(
            app.state.predictions.top_class("ZTF21abiuvdk").map(|t| t.0),
            Some("SN")
        );
    }

    // Sorting by the uncertainty column orders the rows by it.
    h.get_by_label("±").click();
    h.run_steps(3);
    let app = h.state();
    let values: Vec<f32> = app
        .state
        .visible
        .iter()
        .map(|&i| {
            let id = &app.state.catalog.rows[i].object_id;
            app.state.predictions.uncertainty(id).map_or(-1.0, |u| u.0)
        })
        .collect();
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");

    // The filter keeps exactly the uncertain or unusual answers.
    h.get_by_label("Uncertain or unusual").click();
    h.run_steps(3);
    let app = h.state();
    let kept = app.state.visible.len();
    let expected = app
        .state
        .catalog
        .rows
        .iter()
        .filter(|r| {
            app.state
                .predictions
                .uncertainty(&r.object_id)
                .is_some_and(|u| u.1)
        })
        .count();
    assert_eq!(kept, expected);
    assert!(kept > 0 && kept < total, "{kept} of {total}");

    // The likeliest supernovae first, from the browser's "by class" order.
    h.get_by_label("Uncertain or unusual").click();
    h.run_steps(2);
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "order by class")
        .click();
    h.run_steps(2);
    h.get_by_label("P(SN) first").click();
    h.run_steps(3);
    let app = h.state();
    assert_eq!(app.state.visible.len(), total);
    let p_sn: Vec<f32> = app
        .state
        .visible
        .iter()
        .map(|&i| {
            app.state
                .predictions
                .class_probability(&app.state.catalog.rows[i].object_id, "SN")
                .expect("answer")
        })
        .collect();
    assert!(p_sn.windows(2).all(|w| w[0] >= w[1]), "{p_sn:?}");
    assert_eq!(
        app.state
            .predictions
            .top_class(&app.state.catalog.rows[app.state.visible[0]].object_id)
            .map(|t| t.0),
        Some("SN")
    );

    // SN 2021rhu's evolution with its bands.
    let index = h
        .state()
        .state
        .catalog
        .rows
        .iter()
        .position(|r| r.object_id == "ZTF21abiuvdk")
        .expect("SN 2021rhu");
    h.state_mut().select_object(index);
    h.run_steps(5);
    h.snapshot("app_default_answer_uncertainty");
}

/// The browser's answer (the first model's top class) for every loaded object.
fn browser_answers(app: &StampseqApp) -> Vec<Option<String>> {
    app.state
        .catalog
        .rows
        .iter()
        .map(|r| {
            app.state
                .predictions
                .top_class(&r.object_id)
                .map(|t| t.0.to_string())
        })
        .collect()
}

/// The vetting loop: vet ten objects from the keyboard in the informative order,
/// fine-tune from the app on a tiny budget, the new model loads beside the old and the
/// browser answers come from it; switching back restores the old answers.
#[test]
fn vet_informative_first_finetune_and_switch_back() {
    if !crate::common::vulkan_device("app::vet_informative_first_finetune_and_switch_back") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let models = dir.path().join("models");
    std::fs::create_dir_all(&models).expect("dir");
    let base = models.join("default-trees.stampseq");
    let original = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("assets/models/default-trees.stampseq"),
    )
    .expect("bundled model");
    std::fs::write(&base, &original).expect("copy");
    let truth: std::collections::HashMap<String, String> = {
        let mut reader = csv::Reader::from_path(ztf("extra/manifest.csv")).expect("manifest");
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
    let labels_dir = dir.path().join("labels");
    let mut h = harness_with_models(
        vec![ztf("extra/fink-broker-history")],
        &labels_dir,
        vec![base.clone()],
    );
    wait_for_models(&mut h, 1);
    let old_answers = browser_answers(h.state());

    h.get_by_label("Most informative first").click();
    h.run_steps(3);
    {
        let app = h.state();
        assert_eq!(
            app.ui.prefs.filter.sort,
            stampseq::app::state::SortColumn::Informative
        );
        // Leaving out the random tenth, the order is by falling informativeness.
        let scores: Vec<f32> = app
            .state
            .visible
            .iter()
            .map(|&i| &app.state.catalog.rows[i].object_id)
            .filter(|id| stampseq::app::state::object_hash01(id) >= 0.1)
            .map(|id| app.state.predictions.informativeness(id).expect("answer"))
            .collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    }
    let first = h.state().state.visible[0];
    h.state_mut().select_object(first);
    h.run_steps(2);
    let mut vetted = Vec::new();
    for _ in 0..10 {
        let id = h.state().state.selected_object_id().expect("a selection");
        let key = match truth.get(&id).map(String::as_str) {
            Some("AGN") => Key::Num1,
            Some("SN") => Key::Num2,
            Some("asteroid") => Key::Num4,
            _ => Key::Num3,
        };
        h.key_press(key);
        h.run_steps(2);
        vetted.push(id);
    }
    let store = h.state().state.labels.as_ref().expect("labels");
    assert_eq!(store.len(), 10, "ten labels on disk");
    for id in &vetted {
        assert!(store.get(id).is_some(), "{id} vetted");
    }

    h.state_mut().state.finetune_config.trees = stampseq::model::trees::TreeConfig {
        members: 1,
        iterations: 10,
        ..Default::default()
    };
    h.state_mut()
        .run_command(stampseq::app::commands::Command::FineTune);
    wait_for_models(&mut h, 2);
    let names: Vec<String> = h
        .state()
        .state
        .predictions
        .models
        .iter()
        .map(|m| m.model.clone())
        .collect();
    assert!(
        names[0].starts_with("default-trees.ft-"),
        "the browser shows the fine-tuned model: {names:?}"
    );
    assert_eq!(names[1], "default-trees");
    assert_eq!(
        std::fs::read(&base).expect("old"),
        original,
        "old model untouched"
    );
    let new_files = std::fs::read_dir(&models)
        .expect("dir")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("default-trees.ft-")
        })
        .count();
    assert!(
        new_files >= 2,
        "the new model and its report beside the old"
    );
    let new_answers = browser_answers(h.state());
    let from_new = &h.state().state.predictions.models[0];
    for (r, answer) in h.state().state.catalog.rows.iter().zip(&new_answers) {
        let p = from_new.by_object[&r.object_id].last().expect("answer");
        let top = stampseq::eval::metrics::argmax(p).expect("top");
        assert_eq!(answer.as_deref(), Some(from_new.classes[top].as_str()));
    }

    h.state_mut()
        .run_command(stampseq::app::commands::Command::SwitchModel);
    h.run_steps(3);
    assert_eq!(h.state().state.predictions.models[0].model, "default-trees");
    let back = browser_answers(h.state());
    assert_eq!(back, old_answers, "switching back restores the old answers");
}

/// Label hygiene: another tool's CSV imported through the mapping dialog, a label's
/// confidence and the vetter's name, all journalled.
#[test]
fn labels_import_through_the_dialog_and_carry_confidence_and_vetter() {
    if !crate::common::vulkan_device(
        "app::labels_import_through_the_dialog_and_carry_confidence_and_vetter",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let csv = dir.path().join("alerce-export.csv");
    std::fs::write(
        &csv,
        "oid,classALeRCE,prob\nZTF18abudwyj,QSO,0.9\nZTF25abcydiy,SNIa,0.8\nZTF25abeepjx,Periodic-Other,0.7\nZTF22aakyeps,,0.1\n",
    )
    .expect("csv");
    let labels_dir = dir.path().join("labels");
    let mut h = harness(vec![sample], &labels_dir);
    h.state_mut().open_label_import(&csv);
    h.run_steps(3);
    // The CSV is read on a worker: step until it has reported.
    for _ in 0..500 {
        if !h.state().state.jobs.is_busy() {
            break;
        }
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    {
        let dialog = h.state().ui.label_import.as_ref().expect("dialog open");
        assert_eq!(dialog.id_column, 0, "oid found as the object id");
        assert_eq!(dialog.class_column, 1, "classALeRCE found as the class");
    }
    // The class column was guessed from its name; map the unknown one by hand.
    h.state_mut()
        .ui
        .label_import
        .as_mut()
        .expect("dialog")
        .mapping
        .insert("Periodic-Other".into(), "VS".into());
    h.run_steps(2);
    h.get_by_label("Import").click();
    h.run_steps(3);
    assert!(h.state().ui.label_import.is_none(), "the dialog closes");
    let store = h.state().state.labels.as_ref().expect("labels");
    assert_eq!(store.get("ZTF18abudwyj"), Some("AGN"));
    assert_eq!(store.get("ZTF25abcydiy"), Some("SN"));
    assert_eq!(store.get("ZTF25abeepjx"), Some("VS"));
    assert_eq!(store.get("ZTF22aakyeps"), None, "no class: left out");

    // Vet one from the keyboard under a name, then mark it unsure.
    h.state_mut().ui.prefs.vetter_name = "Ada".into();
    h.state_mut()
        .state
        .labels
        .as_mut()
        .expect("labels")
        .set_vetter(Some("Ada"));
    assert!(h.state_mut().select_object_id("ZTF18abslpjy"));
    h.run_steps(2);
    h.key_press(Key::Num2);
    h.run_steps(2);
    assert!(h.state_mut().select_object_id("ZTF18abslpjy"));
    h.run_steps(2);
    h.get_by_label("unsure").click();
    h.run_steps(3);
    let store = h.state().state.labels.as_ref().expect("labels");
    let d = store.details("ZTF18abslpjy").expect("details");
    assert_eq!(d.confidence.as_deref(), Some("unsure"));
    assert_eq!(d.vetter.as_deref(), Some("Ada"));
    h.state_mut().flush_labels();
    let journal = std::fs::read_to_string(labels_dir.join("labels.log")).expect("journal");
    assert!(journal.contains("\"vetter\":\"Ada\""), "{journal}");
    assert!(journal.contains("imported from alerce-export.csv"));
}

/// An AllWISE catalogue loaded in the app makes the default answer read the mid-infrared
/// colour: an object with W1 - W2 = 1.1 under it becomes more AGN-like.
#[test]
fn loading_an_allwise_catalogue_reanswers_with_the_colour_rule() {
    if !crate::common::vulkan_device(
        "app::loading_an_allwise_catalogue_reanswers_with_the_colour_rule",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let model = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models/default-trees.stampseq");
    let mut h = harness_with_models(vec![sample], dir.path(), vec![model]);
    wait_for_models(&mut h, 1);
    let before = h
        .state()
        .state
        .predictions
        .class_probability("ZTF18abslpjy", "AGN")
        .expect("answer");
    let (ra, dec) = {
        let app = h.state();
        let row = app.state.catalog.index_of("ZTF18abslpjy").expect("object");
        app.state
            .catalog
            .alert(row, 0)
            .expect("an alert")
            .as_ref()
            .ra_dec()
    };
    let catalogue = dir.path().join("allwise.csv");
    std::fs::write(
        &catalogue,
        format!("ra,dec,w1mpro,w2mpro,w3mpro\n{ra:.7},{dec:.7},14.0,12.9,10.0\n"),
    )
    .expect("catalogue");
    h.state_mut().ui.prefs.allwise_radius_arcsec = 3.0;
    h.state_mut().load_allwise(catalogue);
    for _ in 0..3000 {
        h.step();
        let app = h.state();
        if app.state.allwise.catalogue.is_some() && !app.state.jobs.is_busy() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.run_steps(3);
    let after = h
        .state()
        .state
        .predictions
        .class_probability("ZTF18abslpjy", "AGN")
        .expect("answer");
    assert!(after > before, "P(AGN) {before} -> {after}");
}

/// A broker's copy of a ZTF alert keeps the columns the broker added (Fink: the SIMBAD
/// cross-match `cdsxmatch`, its ingestion `timestamp` and `topic`), and the details show
/// them.
#[test]
fn a_brokers_columns_are_kept_and_shown() {
    if !crate::common::vulkan_device("app::a_brokers_columns_are_kept_and_shown") {
        return;
    }
    let file = ztf("fixture/fink_reserialized_with_cdsxmatch.avro");
    let (alerts, summary) =
        stampseq::alert::read_all(&[&file], &stampseq::alert::ReadOptions::default());
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    let columns = &alerts[0].broker_columns;
    assert_eq!(
        columns.keys().collect::<Vec<_>>(),
        ["cdsxmatch", "timestamp", "topic"]
    );
    assert_eq!(columns["cdsxmatch"], "RRLyr");
    // An alert as ZTF sends it has none.
    let (plain, _) = stampseq::alert::read_all(
        &[ztf("fixture/v4.02_2695378462115010012.avro")],
        &stampseq::alert::ReadOptions::default(),
    );
    assert!(plain[0].broker_columns.is_empty());

    let labels = tempfile::tempdir().expect("tempdir");
    let mut h = harness(vec![file], labels.path());
    // The browser's row (the heading of the details names it too).
    h.query_all_by_label("ZTF18abvcdqu")
        .next()
        .expect("listed")
        .click();
    h.run_steps(3);
    assert_eq!(h.state().state.selection.object, Some(0));
    assert!(h.query_by_label_contains("Broker columns (3)").is_some());
    assert!(h.query_by_label("cdsxmatch").is_some());
    assert!(h.query_by_label("RRLyr").is_some());
}

/// Issue #18: the physics rules pass every model's answer in the app too, and a switch in
/// the View menu shows each model's raw output instead (as `classify --no-rules`).
#[test]
fn the_view_menu_switches_the_physics_rules_off_and_on() {
    if !crate::common::vulkan_device("app::the_view_menu_switches_the_physics_rules_off_and_on") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let sample = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
    let model = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models/default-trees.stampseq");
    let mut h = harness_with_models(vec![sample], dir.path(), vec![model]);
    wait_for_models(&mut h, 1);
    // Every bundled sample object was detected on several nights: with the rules, the
    // stationary rule leaves none an asteroid share after its last detection; the trees
    // alone give some a little.
    let asteroid_max = |h: &Harness<'_, StampseqApp>| {
        let m = &h.state().state.predictions.models[0];
        let a = m
            .classes
            .iter()
            .position(|c| c == "asteroid")
            .expect("asteroid");
        m.by_object
            .values()
            .map(|steps| steps.last().map_or(0.0, |p| p[a]))
            .fold(0f32, f32::max)
    };
    assert_eq!(asteroid_max(&h), 0.0, "the stationary rule");

    let switch = |h: &mut Harness<'_, StampseqApp>| {
        h.get_by_label("View").click();
        h.run_steps(2);
        h.get_by_label("Physics rules after every model").click();
        h.run_steps(2);
        for _ in 0..3000 {
            h.step();
            if !h.state().state.jobs.is_busy() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        h.key_press(Key::Escape);
        h.run_steps(3);
    };
    switch(&mut h);
    assert!(h.state().ui.prefs.raw_model_output);
    assert!(h
        .state()
        .state
        .messages
        .iter()
        .any(|m| m.contains("raw output")));
    assert!(
        asteroid_max(&h) > 0.0,
        "without the stationary rule the trees' own asteroid share shows"
    );

    switch(&mut h);
    assert!(!h.state().ui.prefs.raw_model_output);
    assert_eq!(asteroid_max(&h), 0.0);
}
