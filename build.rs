//! Embeds the bundled models, the sample alerts and the benchmark split into the executable,
//! so that `stampseq` answers from any folder once installed or copied, the checkout gone.
//! A build script rather than a macro crate: it sees files added to `assets/` (cargo reruns it
//! when a watched folder changes), which `include_dir!` cannot on stable Rust.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What travels inside the binary, relative to `assets/`. Figures (PNG, SVG) stay behind:
/// nothing reads them at run time.
const EMBEDDED_DIRS: [&str; 2] = ["models", "sample"];
const EMBEDDED_FILES: [&str; 2] = ["benchmark/split.csv", "benchmark/forced-train.txt"];

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else if !matches!(
            path.extension().and_then(|x| x.to_str()),
            Some("png" | "svg")
        ) {
            out.push(path);
        }
    }
}

/// FNV-1a, 64 bits: names the extracted copy of these exact files (not a security hash).
fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *hash ^= u64::from(*b);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let assets = root.join("assets");
    let mut files = Vec::new();
    for dir in EMBEDDED_DIRS {
        files_under(&assets.join(dir), &mut files);
    }
    for file in EMBEDDED_FILES {
        let path = assets.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_file() {
            files.push(path);
        }
    }
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut code = String::from("/// Files embedded from `assets/`: (path under `assets/`, contents).\npub static EMBEDDED: &[(&str, &[u8])] = &[\n");
    let mut models = String::new();
    for path in &files {
        let rel = path
            .strip_prefix(&assets)
            .expect("under assets")
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut file_hash = 0xcbf2_9ce4_8422_2325_u64;
        fnv1a(&mut file_hash, &bytes);
        fnv1a(&mut hash, rel.as_bytes());
        fnv1a(&mut hash, &bytes);
        writeln!(
            code,
            "    ({rel:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .ok();
        if let Some(name) = rel
            .strip_prefix("models/")
            .and_then(|n| n.strip_suffix(".stampseq"))
        {
            writeln!(models, "    ({name:?}, \"{file_hash:016x}\"),").ok();
        }
    }
    code.push_str("];\n");
    writeln!(code, "/// FNV-1a of every embedded path and file: names the extracted copy.\npub const EMBEDDED_HASH: &str = \"{hash:016x}\";").ok();
    writeln!(code, "/// The bundled models (file stem) with the FNV-1a of their file: their version.\npub static EMBEDDED_MODELS: &[(&str, &str)] = &[\n{models}];").ok();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_assets.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
