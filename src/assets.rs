//! Where the bundled models, the sample alerts and the benchmark split are.
//!
//! They travel inside the executable (see `build.rs`): the first call that needs them writes
//! them once into the user's data folder (`$XDG_DATA_HOME/stampseq/bundled/<hash>/`, else
//! `~/.local/share/stampseq/bundled/<hash>/`, else the temporary folder), named by the hash of
//! their contents, so a binary installed with `cargo install --path .` or copied anywhere
//! answers from any folder with the checkout gone, and two builds never share a copy.
//! `$STAMPSEQ_ASSETS` names an `assets/` folder to use instead (a checkout whose models were
//! just rebuilt, say).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/embedded_assets.rs"));

/// The app's icon (256x256 RGBA PNG, drawn by `scripts/make-icon.py`): the window's icon
/// and the one `stampseq install-desktop` installs.
pub static ICON_PNG: &[u8] = include_bytes!("../assets/icon/stampseq.png");

/// The file stem of the default answer for ZTF alerts in `models/`: the trees and the
/// stamp-reading network fused (see [`default_model`]).
pub const DEFAULT_MODEL_NAME: &str = "default-fused";
/// The file stem of the default answer's trees in `models/`: what the benchmark trains and
/// what a fine-tune on your labels retrains.
pub const DEFAULT_TREES_NAME: &str = "default-trees";
/// The file stems of the networks in `models/` that the benchmark fuses with its trees into
/// the default answer (`benchmark --fuse-with` when none is given).
pub const DEFAULT_FUSED_NETWORKS: [&str; 3] =
    ["tsc-gru-real", "tsc-gru-real-s23", "tsc-gru-real-s24"];
/// The bundled model of survey-neutral features (see [`neutral_model`]).
pub const NEUTRAL_MODEL_NAME: &str = "neutral-trees";

/// The marker written last into an extracted copy: a folder without it is incomplete.
const COMPLETE_MARKER: &str = ".complete";

#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    #[error("$STAMPSEQ_ASSETS ({0}) holds no models/ folder")]
    Override(PathBuf),
    #[error("writing the bundled models and sample into {dir}: {source}")]
    Write {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The user's data folder: `$XDG_DATA_HOME/stampseq`, else `~/.local/share/stampseq`, else
/// `./stampseq-data`.
pub fn user_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("stampseq");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join(".local/share/stampseq");
    }
    PathBuf::from("stampseq-data")
}

/// The bundled `assets/` folder (holding `models/`, `sample/` and `benchmark/split.csv`):
/// `$STAMPSEQ_ASSETS`, else the embedded copy written out once. Found once per process.
pub fn bundled_assets_dir() -> Result<PathBuf, &'static AssetsError> {
    static DIR: OnceLock<Result<PathBuf, AssetsError>> = OnceLock::new();
    match DIR.get_or_init(locate) {
        Ok(dir) => Ok(dir.clone()),
        Err(e) => Err(e),
    }
}

fn locate() -> Result<PathBuf, AssetsError> {
    if let Some(dir) = std::env::var_os("STAMPSEQ_ASSETS").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if dir.join("models").is_dir() {
            Ok(dir)
        } else {
            Err(AssetsError::Override(dir))
        };
    }
    let name = format!("{}-{EMBEDDED_HASH}", env!("CARGO_PKG_VERSION"));
    let home = user_data_dir().join("bundled").join(&name);
    match extract_into(&home) {
        Ok(()) => Ok(home),
        // A read-only home (a container, a locked-down account) still gets an answer.
        Err(first) => {
            let temp = std::env::temp_dir()
                .join(format!("stampseq-bundled-{}", user_tag()))
                .join(&name);
            extract_into(&temp).map(|()| temp).map_err(|_| first)
        }
    }
}

/// Tells users apart in a shared temporary folder without a dependency on libc.
fn user_tag() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "user".into())
}

/// Writes the embedded files under `dir` unless a complete copy is there: into a sibling
/// folder first, renamed into place whole, so that a crash or a second process never leaves
/// a half-written copy where the next run would read it.
fn extract_into(dir: &Path) -> Result<(), AssetsError> {
    if dir.join(COMPLETE_MARKER).is_file() {
        return Ok(());
    }
    let err = |source| AssetsError::Write {
        dir: dir.to_path_buf(),
        source,
    };
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(err)?;
    let staging = tempfile::Builder::new()
        .prefix(".extracting-")
        .tempdir_in(parent)
        .map_err(err)?;
    for (rel, bytes) in EMBEDDED {
        let path = staging.path().join(rel);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(err)?;
        }
        std::fs::write(&path, bytes).map_err(err)?;
    }
    std::fs::write(staging.path().join(COMPLETE_MARKER), EMBEDDED_HASH).map_err(err)?;
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, dir) {
        let _ = std::fs::remove_dir_all(&staged);
        // Another process finished first: its copy is the same files.
        if !dir.join(COMPLETE_MARKER).is_file() {
            return Err(err(e));
        }
    }
    Ok(())
}

/// The bundled sample alerts (`assets/sample`).
pub fn bundled_sample_dir() -> Option<PathBuf> {
    let dir = bundled_assets_dir().ok()?.join("sample");
    dir.is_dir().then_some(dir)
}

/// The bundled models folder (`assets/models`).
pub fn bundled_models_dir() -> Option<PathBuf> {
    let dir = bundled_assets_dir().ok()?.join("models");
    dir.is_dir().then_some(dir)
}

/// The benchmark's committed split (`assets/benchmark/split.csv`).
pub fn bundled_split() -> Option<PathBuf> {
    let path = bundled_assets_dir().ok()?.join("benchmark/split.csv");
    path.is_file().then_some(path)
}

/// The default answer for ZTF alerts (`models/default-fused.stampseq`): the mean of three
/// networks that read the stamps with the ALeRCE features over an object's detections (the
/// GRU temporal head, seeds 22, 23 and 24), then the physics rules; five classes, with the
/// members' spread as uncertainty. The trees on the alert's metadata and history
/// (`default-trees`) ride in the file at weight 0, for the fine-tune to weigh again. Chosen
/// by the benchmark's grouped-by-source validation. It is the only model loaded when none
/// is asked for: the other bundled models are opt-in with `--model`.
pub fn default_model() -> Option<PathBuf> {
    let path = bundled_models_dir()?.join(format!("{DEFAULT_MODEL_NAME}.stampseq"));
    path.is_file().then_some(path)
}

/// The default answer's trees alone (`models/default-trees.stampseq`): no stamps read.
pub fn default_trees_model() -> Option<PathBuf> {
    let path = bundled_models_dir()?.join(format!("{DEFAULT_TREES_NAME}.stampseq"));
    path.is_file().then_some(path)
}

/// The default answer for alerts of surveys with no labelled alerts of their own in reach
/// (Rubin/LSST): trees on survey-neutral features learnt on ZTF objects
/// (`models/neutral-trees.stampseq`), its answers marked as transferred.
pub fn neutral_model() -> Option<PathBuf> {
    let path = bundled_models_dir()?.join(format!("{NEUTRAL_MODEL_NAME}.stampseq"));
    path.is_file().then_some(path)
}

/// The default model for alerts of `survey`: the ZTF default for ZTF, the neutral one for
/// any other survey.
pub fn default_model_for(survey: crate::alert::neutral::Survey) -> Option<PathBuf> {
    if survey == crate::alert::neutral::Survey::Ztf {
        default_model()
    } else {
        neutral_model()
    }
}

/// The models the app loads when none is asked for.
pub fn bundled_models() -> Vec<PathBuf> {
    default_model().into_iter().collect()
}

/// Why the bundled default model cannot be had, for messages that must say so.
pub fn why_no_default_model() -> String {
    match bundled_assets_dir() {
        Err(e) => e.to_string(),
        Ok(dir) => format!(
            "{} holds no {DEFAULT_MODEL_NAME}.stampseq",
            dir.join("models").display()
        ),
    }
}

/// `stampseq --version`: the crate's version and the bundled models with their versions
/// (the FNV-1a of each model file, as built into this executable).
pub fn long_version() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut s = String::from(env!("CARGO_PKG_VERSION"));
        s.push_str("\nbundled models (file version = FNV-1a of the file):");
        for (name, hash) in EMBEDDED_MODELS {
            let default = if *name == DEFAULT_MODEL_NAME {
                "  (the default answer)"
            } else {
                ""
            };
            s.push_str(&format!("\n  {name:<22} {hash}{default}"));
        }
        s.push_str(&format!("\nbundled assets: {EMBEDDED_HASH}"));
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_files_hold_the_default_model_and_the_sample() {
        let names: Vec<&str> = EMBEDDED.iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"models/default-trees.stampseq"));
        assert!(names.contains(&"models/default-fused.stampseq"));
        assert!(names.contains(&"benchmark/split.csv"));
        assert!(
            names
                .iter()
                .filter(|n| n.starts_with("sample/") && n.ends_with(".avro"))
                .count()
                >= 50
        );
        assert!(EMBEDDED.iter().all(|(_, b)| !b.is_empty()));
        assert!(EMBEDDED_MODELS
            .iter()
            .any(|(n, _)| *n == DEFAULT_MODEL_NAME));
    }

    #[test]
    fn extraction_writes_every_file_once_and_a_complete_copy_is_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("bundled/x");
        extract_into(&target).expect("extracted");
        for (rel, bytes) in EMBEDDED {
            assert_eq!(
                &std::fs::read(target.join(rel)).expect("file"),
                bytes,
                "{rel}"
            );
        }
        // A complete copy is not written again: a changed file stays as it is.
        let probe = target.join(EMBEDDED[0].0);
        std::fs::write(&probe, b"changed").expect("write");
        extract_into(&target).expect("reused");
        assert_eq!(std::fs::read(&probe).expect("read"), b"changed");
        // No staging folder is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("bundled"))
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("x")]);
    }
}
