//! The app's rebindable shortcuts (kept in eframe's storage), the browser's cached row index
//! and the AllWISE cone search in the details panel, driven through egui_kittest.

use crate::common::ztf;
use egui::accesskit::Role;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use stampseq::app::commands::Command;
use stampseq::app::{AppOptions, StampseqApp};
use std::path::Path;

use stampseq::app::prefs::MemoryStorage;

fn options(inputs: Vec<std::path::PathBuf>, labels: &Path) -> AppOptions {
    AppOptions {
        inputs,
        labels_dir: Some(labels.to_path_buf()),
        fresh_preferences: true,
        backend: stampseq::backend::BackendChoice::Cpu,
        ..Default::default()
    }
}

/// Steps until the background jobs (loading, reading a catalogue) have reported.
fn settle(h: &mut Harness<'_, StampseqApp>) {
    for _ in 0..3000 {
        h.step();
        if !h.state().state.jobs.is_busy() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.run_steps(3);
}

fn harness<'a>(
    options: AppOptions,
    storage: Option<&'a MemoryStorage>,
) -> Harness<'a, StampseqApp> {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1500.0, 950.0))
        .build_eframe(move |cc| {
            if let Some(s) = storage {
                cc.storage = Some(s);
            }
            StampseqApp::new(cc, options)
        });
    settle(&mut h);
    h
}

#[test]
fn a_rebound_shortcut_works_is_listed_and_comes_back_at_the_next_start() {
    if !crate::common::vulkan_device(
        "app_keys_wise::a_rebound_shortcut_works_is_listed_and_comes_back_at_the_next_start",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = harness(
        options(vec![ztf("fixture/sequence_ZTF19abegmle")], dir.path()),
        None,
    );
    assert!(!h.state().ui.blink);

    // F1, click blink's shortcut (B), press K.
    h.key_press(Key::F1);
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "B").click();
    h.run_steps(2);
    assert_eq!(
        h.state().ui.shortcut_editor.capturing,
        Some(Command::ToggleBlink)
    );
    h.key_press(Key::K);
    h.run_steps(2);
    assert!(
        !h.state().ui.blink,
        "the key press was taken for the binding"
    );
    assert!(h.query_by_role_and_label(Role::Button, "K").is_some());

    // A taken key is refused and said so: R resets the zoom.
    h.get_by_role_and_label(Role::Button, "K").click();
    h.run_steps(2);
    h.key_press(Key::R);
    h.run_steps(2);
    assert!(
        h.query_by_label("Not changed: R is already used by \"Reset zoom and pan\".")
            .is_some(),
        "conflict reported"
    );
    let k = egui::KeyboardShortcut::new(Modifiers::NONE, Key::K);
    assert_eq!(
        h.state().ui.prefs.shortcuts.shortcut(Command::ToggleBlink),
        Some(k)
    );

    // K blinks now, B no longer does.
    h.key_press(Key::K);
    h.run_steps(2);
    assert!(h.state().ui.blink, "K toggles the blink");
    h.key_press(Key::B);
    h.run_steps(2);
    assert!(h.state().ui.blink, "B is free");

    // The palette and the menus show the shortcut in effect.
    h.key_press_modifiers(Modifiers::COMMAND, Key::P);
    h.run_steps(2);
    assert!(h
        .query_by_label("Blink science against reference    K")
        .is_some());
    h.key_press(Key::Escape);
    h.run_steps(2);

    // Saved as eframe saves at exit, and applied at the next start.
    let mut storage = MemoryStorage::default();
    eframe::App::save(h.state_mut(), &mut storage);
    drop(h);
    let mut again = options(vec![ztf("fixture/sequence_ZTF19abegmle")], dir.path());
    again.fresh_preferences = false;
    let mut h = harness(again, Some(&storage));
    assert_eq!(
        h.state().ui.prefs.shortcuts.shortcut(Command::ToggleBlink),
        Some(k)
    );
    h.key_press(Key::K);
    h.run_steps(2);
    assert!(
        h.state().ui.blink,
        "K still toggles the blink after a restart"
    );
    h.key_press(Key::F1);
    h.run_steps(2);
    assert!(h.query_by_role_and_label(Role::Button, "K").is_some());

    // Back to the default.
    h.get_by_role_and_label(Role::Button, "default").click();
    h.run_steps(2);
    assert!(!h.state().ui.prefs.shortcuts.is_custom(Command::ToggleBlink));
    h.key_press(Key::F1);
    h.run_steps(2);
    h.key_press(Key::B);
    h.run_steps(2);
    assert!(!h.state().ui.blink, "B toggles the blink again");
}

#[test]
fn a_label_updates_the_not_yet_vetted_list() {
    if !crate::common::vulkan_device("app_keys_wise::a_label_updates_the_not_yet_vetted_list") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = harness(options(vec![ztf("sequences")], dir.path()), None);
    assert_eq!(h.state().state.visible.len(), 50);
    h.get_by_label("Not yet vetted").click();
    h.run_steps(2);
    assert!(h.state().ui.prefs.filter.only_unvetted);
    assert_eq!(h.state().state.visible.len(), 50, "nothing vetted yet");

    let first = h.state().state.selection.object.expect("selected");
    let first_id = h.state().state.catalog.objects[first].key.id.clone();
    h.key_press(Key::Num2);
    h.run_steps(2);
    let app = h.state();
    assert_eq!(
        app.state.visible.len(),
        49,
        "the labelled object left the list"
    );
    assert!(!app.state.visible.contains(&first));
    let count = format!("49 of 50 objects, {} alerts", app.state.catalog.alerts);
    assert!(h.query_by_label(&count).is_some(), "{count}");

    // Undo takes the label back and the object returns.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert_eq!(h.state().state.visible.len(), 50);
    assert_eq!(
        h.state()
            .state
            .labels
            .as_ref()
            .and_then(|l| l.get(&first_id)),
        None
    );
}

/// A catalogue with AllWISE's own column names, from CDS's real crossmatches: the 5,440
/// sources matched to SDSS positions and the source of ZTF19abegmle.
fn catalogue(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("allwise.csv");
    let mut out = String::from("designation,ra,dec,w1mpro,w2mpro,w3mpro\n");
    for table in [
        "aux/allwise_xmatch_5439_sdss_positions.csv",
        "aux/allwise_xmatch_5_ztf_objects.csv",
    ] {
        let mut r = csv::Reader::from_path(ztf(table)).expect("table");
        let h = r.headers().expect("headers").clone();
        let col = |name: &str| h.iter().position(|c| c == name).expect(name);
        let cols = ["AllWISE", "RAJ2000", "DEJ2000", "W1mag", "W2mag", "W3mag"].map(col);
        for row in r.records() {
            let row = row.expect("row");
            out.push_str(&cols.map(|c| row[c].to_string()).join(","));
            out.push('\n');
        }
    }
    std::fs::write(&path, out).expect("catalogue");
    path
}

#[test]
fn the_details_panel_shows_the_nearest_allwise_source() {
    if !crate::common::vulkan_device(
        "app_keys_wise::the_details_panel_shows_the_nearest_allwise_source",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = options(vec![ztf("fixture/sequence_ZTF19abegmle")], dir.path());
    o.allwise = Some(catalogue(dir.path()));
    let mut h = harness(o, None);
    let app = h.state();
    assert!(
        app.state.allwise.error.is_none(),
        "{:?}",
        app.state.allwise.error
    );
    assert!(app
        .state
        .allwise
        .catalogue
        .as_ref()
        .is_some_and(|c| c.len() > 5000));
    assert_eq!(app.ui.prefs.allwise_radius_arcsec, 1.0);

    h.get_by_label("AllWISE").click();
    h.run_steps(2);
    let object = h.state().state.selection.object.expect("selected");
    let sequence = h.state().state.catalog.objects[object].clone();
    let app = h.state_mut();
    let m = app
        .ui
        .wise_lookup
        .nearest(app.state.allwise.catalogue.as_ref(), &sequence, 1.0)
        .cloned()
        .expect("a source within 1 arcsec");
    assert_eq!(m.source.id, "J224840.67-003303.6");
    assert!((m.source.mags.w1.expect("W1") - 14.643).abs() < 1e-9);
    // CDS puts the single detections 0.16-0.22 arcsec from it.
    assert!((0.1..0.3).contains(&m.separation_arcsec), "{m:?}");
    let heading = format!("J224840.67-003303.6 at {:.2}\"", m.separation_arcsec);
    assert!(h.query_by_label(&heading).is_some(), "{heading}");
    assert!(h.query_by_label("14.643").is_some(), "W1");
    assert!(
        h.query_by_label("1.184").is_some(),
        "W1-W2 = 14.643 - 13.459"
    );

    // Narrower than the separation: none.
    h.state_mut().ui.prefs.allwise_radius_arcsec = 0.1;
    h.run_steps(2);
    assert!(h
        .query_by_label("No AllWISE source within 0.10\".")
        .is_some());
}

#[test]
fn a_catalogue_that_does_not_read_is_reported() {
    if !crate::common::vulkan_device("app_keys_wise::a_catalogue_that_does_not_read_is_reported") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("not_allwise.csv");
    std::fs::write(&bad, "objectId,label\nZTF19abegmle,SN\n").expect("write");
    let mut o = options(vec![ztf("fixture/sequence_ZTF19abegmle")], dir.path());
    o.allwise = Some(bad);
    let h = harness(o, None);
    let error = h.state().state.allwise.error.clone().expect("an error");
    assert!(error.contains("no ra column"), "{error}");
    assert!(h.state().state.allwise.catalogue.is_none());
}

#[test]
fn the_app_reads_a_parquet_catalogue_and_reports_a_broken_one() {
    if !crate::common::vulkan_device(
        "app_keys_wise::the_app_reads_a_parquet_catalogue_and_reports_a_broken_one",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = stampseq::features::allwise::AllWiseCatalogue::from_csv(&catalogue(dir.path()))
        .expect("CSV catalogue");
    let rows: Vec<crate::crossmatch::Row> = csv
        .sources()
        .iter()
        .map(|s| {
            let m = s.mags;
            (s.id.clone(), s.ra, s.dec, m.w1, m.w2, m.w3)
        })
        .collect();
    let path = dir.path().join("allwise.parquet");
    crate::crossmatch::write_parquet(&path, crate::crossmatch::PARQUET_SCHEMA, &rows);

    let mut o = options(vec![ztf("fixture/sequence_ZTF19abegmle")], dir.path());
    o.allwise = Some(path.clone());
    let mut h = harness(o, None);
    assert!(
        h.state().state.allwise.error.is_none(),
        "{:?}",
        h.state().state.allwise.error
    );
    assert_eq!(
        h.state().state.allwise.catalogue.as_ref().map(|c| c.len()),
        Some(csv.len())
    );
    h.get_by_label("AllWISE").click();
    h.run_steps(2);
    let object = h.state().state.selection.object.expect("selected");
    let sequence = h.state().state.catalog.objects[object].clone();
    let app = h.state_mut();
    let m = app
        .ui
        .wise_lookup
        .nearest(app.state.allwise.catalogue.as_ref(), &sequence, 1.0)
        .cloned()
        .expect("a source within 1 arcsec");
    assert_eq!(m.source.id, "J224840.67-003303.6");
    assert!((m.source.mags.w1.expect("W1") - 14.643).abs() < 1e-5);

    let bytes = std::fs::read(&path).expect("read");
    let cut = dir.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).expect("write");
    let mut o = options(vec![ztf("fixture/sequence_ZTF19abegmle")], dir.path());
    o.allwise = Some(cut);
    let h = harness(o, None);
    let error = h.state().state.allwise.error.clone().expect("an error");
    assert!(
        error.contains("cut.parquet") && error.contains("not a readable Parquet file"),
        "{error}"
    );
    assert!(h.state().state.allwise.catalogue.is_none());
}
