//! The real app driven through egui_kittest (wgpu on Mesa's lavapipe in CI): load the
//! shared sequences, select SN 2021rhu, change the stretch, vet objects from the keyboard
//! and find the labels on disk. Snapshots live in tests/snapshots/.

use crate::common::ztf;
use egui::Key;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use stampseq::app::{AppOptions, StampseqApp};
use std::path::Path;

fn harness<'a>(inputs: Vec<std::path::PathBuf>, labels: &Path) -> Harness<'a, StampseqApp> {
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
                },
            )
        });
    // Loading runs on a worker thread: step until it has reported.
    for _ in 0..600 {
        h.step();
        if !h.state().jobs.is_busy() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.run_steps(3);
    h
}

#[test]
fn browse_select_stretch_and_vet_from_the_keyboard() {
    let labels = tempfile::tempdir().expect("tempdir");
    let mut h = harness(vec![ztf("sequences")], labels.path());
    assert_eq!(
        h.state().catalog.rows.len(),
        50,
        "the 50 objects of sequences/"
    );
    assert!(h.state().gpu, "stamps drawn by the wgpu shader");

    // Find SN 2021rhu with the search box (Ctrl+F) and click its row.
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::F);
    h.run_steps(2);
    h.event(egui::Event::Text("abiuvdk".into()));
    h.run_steps(2);
    assert_eq!(h.state().visible.len(), 1);
    h.key_press(Key::Escape);
    h.run_steps(2);
    h.get_by_label("ZTF21abiuvdk").click();
    h.run_steps(2);
    let app = h.state();
    let selected = app.selection.object.expect("selection");
    assert_eq!(app.catalog.sequences[selected].object_id, "ZTF21abiuvdk");
    assert_eq!(app.catalog.sequences[selected].len(), 34);

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
        h.state().prefs.science.stretch,
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
    assert_eq!(h.state().visible.len(), 50);

    // Vet three objects: SN here, then the app moves on; AGN, then bogus.
    h.key_press(Key::Num2);
    h.run_steps(2);
    h.key_press(Key::Num1);
    h.run_steps(2);
    h.key_press(Key::Num5);
    h.run_steps(2);
    let csv = std::fs::read_to_string(labels.path().join("labels.csv")).expect("labels.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(csv.contains("ZTF21abiuvdk,SN"), "{csv}");
    assert!(csv.contains(",AGN") && csv.contains(",bogus"), "{csv}");

    // Ctrl+Z takes the last label back, on disk too.
    h.key_press_modifiers(egui::Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    let csv = std::fs::read_to_string(labels.path().join("labels.csv")).expect("labels.csv");
    assert!(!csv.contains(",bogus"), "{csv}");
    let log = std::fs::read_to_string(labels.path().join("labels.log")).expect("labels.log");
    assert_eq!(
        log.lines().count(),
        4,
        "three labels and an undo, journalled"
    );
}

#[test]
fn the_help_overlay_lists_every_shortcut() {
    let labels = tempfile::tempdir().expect("tempdir");
    let mut h = harness(vec![ztf("fixture/sequence_ZTF19abegmle")], labels.path());
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
