//! The binary as an installed program: copied anywhere, run from `/`, the checkout out of
//! reach, it still answers with its bundled default model and opens its sample; it names the
//! models it carries; it installs a desktop entry.

use crate::common::ztf;
use std::path::Path;
use std::process::{Command, Output};

/// The release binary copied into `dir`, run from `/` with a fresh data folder and nothing
/// pointing at the checkout.
fn copied_binary(dir: &Path) -> Command {
    let exe = dir.join("bin/stampseq");
    std::fs::create_dir_all(exe.parent().expect("parent")).expect("bin dir");
    std::fs::copy(env!("CARGO_BIN_EXE_stampseq"), &exe).expect("copy the binary");
    let mut cmd = Command::new(exe);
    cmd.current_dir("/")
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("HOME", dir.join("home"))
        .env_remove("STAMPSEQ_ASSETS")
        .env_remove("STAMPSEQ_DATA");
    cmd
}

/// Runs `cmd`, waiting out "text file busy": a test thread that forks while another has just
/// copied the binary leaves the copy open for writing in that child until it execs, and
/// executing the copy in that instant fails; a moment later it runs.
fn run(cmd: &mut Command) -> Output {
    for _ in 0..100 {
        match cmd.output() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            result => return result.expect("run the copied binary"),
        }
    }
    panic!("the copied binary stayed busy for 2 s");
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_copied_binary_answers_from_root_with_its_bundled_default_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alert = ztf("fixture/v4.02_2695378462115010012.avro");
    let out = run(copied_binary(dir.path())
        .args(["classify", "--format", "json"])
        .arg(&alert));
    let stdout = ok(&out);
    let answers: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(answers["model"], "default-fused", "{answers}");
    let rows = answers["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "one alert, one answer: {answers}");
    assert_eq!(answers["skipped"].as_array().map(Vec::len), Some(0));
    // The models were written once into the user's data folder, named by their contents.
    let bundled = dir.path().join("data/stampseq/bundled");
    let copies: Vec<_> = std::fs::read_dir(&bundled).expect("bundled copy").collect();
    assert_eq!(copies.len(), 1);
    // A second run reuses that copy.
    let again = run(copied_binary(dir.path())
        .args(["classify", "--format", "json"])
        .arg(&alert));
    assert_eq!(ok(&again), stdout);
    assert_eq!(std::fs::read_dir(&bundled).expect("bundled").count(), 1);
}

#[test]
fn the_version_names_the_bundled_models() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(copied_binary(dir.path()).arg("--version"));
    let text = ok(&out);
    assert!(
        text.starts_with(&format!("stampseq {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    for model in ["default-trees", "tsc-gru-real", "enhanced-real"] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(model))
            .unwrap_or_else(|| panic!("{model} missing:\n{text}"));
        let hash = line.split_whitespace().nth(1).expect("a version");
        assert_eq!(hash.len(), 16, "{line}");
    }
}

#[test]
fn install_desktop_writes_an_entry_and_an_icon() {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("share");
    let out = run(copied_binary(dir.path())
        .args(["install-desktop", "--data-home"])
        .arg(&home));
    ok(&out);
    let entry =
        std::fs::read_to_string(home.join("applications/stampseq.desktop")).expect("desktop entry");
    assert!(entry.starts_with("[Desktop Entry]\n"), "{entry}");
    let exec = entry
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .expect("Exec line");
    let exe = exec
        .strip_suffix(" gui %F")
        .expect("opens the app on files");
    assert!(Path::new(exe).is_file(), "{exe}");
    assert!(entry.contains("\nIcon=stampseq\n"));
    let icon = std::fs::read(home.join("icons/hicolor/256x256/apps/stampseq.png")).expect("icon");
    assert_eq!(&icon[..8], b"\x89PNG\r\n\x1a\n");
    // 256 x 256, as the folder it is installed into says.
    assert_eq!(&icon[16..24], &[0, 0, 1, 0, 0, 0, 1, 0]);
}
