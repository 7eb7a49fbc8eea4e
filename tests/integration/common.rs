use std::path::{Path, PathBuf};

/// The shared data folder: `$STAMPSEQ_DATA`, else `../shared/data` beside the checkout.
/// Missing data is a failure, not a skip: these tests are the ones that matter.
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("STAMPSEQ_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    assert!(
        dir.join("ztf/manifest.csv").is_file(),
        "shared test data not found at {} (set STAMPSEQ_DATA)",
        dir.display()
    );
    dir
}

pub fn ztf(rel: &str) -> PathBuf {
    data_dir().join("ztf").join(rel)
}

/// Rows of ztf/manifest.csv as (set, file, objectId, candid, jd).
pub fn manifest() -> Vec<(String, String, String, i64, f64)> {
    let mut reader = csv::Reader::from_path(ztf("manifest.csv")).expect("manifest.csv");
    reader
        .records()
        .map(|r| {
            let r = r.expect("manifest row");
            (
                r[0].to_string(),
                r[1].to_string(),
                r[2].to_string(),
                r[3].parse().expect("candid"),
                r[4].parse().expect("jd"),
            )
        })
        .collect()
}

/// Whether a test that draws or computes through wgpu (the app's kittest harness, wgpu
/// models) can run: it needs a Vulkan device, Mesa's lavapipe at least. Where there is none
/// (a machine with only a Rust toolchain and a C compiler) the test says on the terminal that
/// it did not run and why, and passes; with `STAMPSEQ_REQUIRE_VULKAN=1` (what `.ci/run` sets,
/// having installed Mesa) a missing device fails it instead, so CI cannot skip them quietly.
pub fn vulkan_device(test: &str) -> bool {
    use std::io::Write;
    static ADAPTER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if ADAPTER
        .get_or_init(stampseq::backend::any_wgpu_adapter)
        .is_some()
    {
        return true;
    }
    let why = "no Vulkan device (install mesa-vulkan-drivers and libvulkan1 for lavapipe)";
    if std::env::var_os("STAMPSEQ_REQUIRE_VULKAN").is_some_and(|v| v == "1") {
        panic!("{test}: {why}, and STAMPSEQ_REQUIRE_VULKAN=1 says this machine must have one");
    }
    // Straight to the terminal: the test harness keeps a passing test's own output hidden.
    let _ = writeln!(std::io::stderr(), "NOT RUN {test}: {why}");
    false
}

/// The answers of the model file at `path`, loaded on the CPU path, to `alerts` grouped into
/// objects, with the default options (rules on, equal priors).
pub fn classify_on_cpu(
    path: &std::path::Path,
    alerts: Vec<stampseq::alert::AnyAlert>,
) -> stampseq::classify::ClassifyOutput {
    use stampseq::backend::BackendChoice;
    use stampseq::classify::{ClassifyOptions, LoadedModel};
    let backend = LoadedModel::backend_for(path, BackendChoice::Cpu);
    let model = LoadedModel::load_for(path, &backend).expect("model");
    let (objects, _) = stampseq::sequence::neutral::group_objects(alerts);
    model
        .classify(
            &objects,
            &ClassifyOptions::default(),
            &backend.device,
            &std::sync::atomic::AtomicBool::new(false),
            &|_, _| {},
        )
        .expect("classify")
}

/// The `stampseq` binary of this build.
pub fn stampseq() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_stampseq"))
}

/// Runs `command` and returns what it wrote; a command that fails fails the test with its
/// standard error.
pub fn run_ok(
    mut command: impl std::borrow::BorrowMut<std::process::Command>,
) -> std::process::Output {
    let command = command.borrow_mut();
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?} did not start: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The ZTF alert file at `path` with its first record changed by `edit`, written back
/// through apache-avro with the file's own schema.
pub fn rewrite_alert_at(
    path: &Path,
    edit: impl FnOnce(&mut Vec<(String, apache_avro::types::Value)>),
) -> Vec<u8> {
    use apache_avro::types::Value;
    let bytes = std::fs::read(path).expect("alert file");
    let reader = apache_avro::Reader::new(&bytes[..]).expect("reader");
    let schema = reader.writer_schema().clone();
    let mut records: Vec<Value> = reader.map(|r| r.expect("record")).collect();
    let Value::Record(fields) = &mut records[0] else {
        panic!("an alert record")
    };
    edit(fields);
    let mut writer = apache_avro::Writer::new(&schema, Vec::new()).expect("writer");
    for r in records {
        writer.append_value(r).expect("append");
    }
    writer.into_inner().expect("flush")
}

/// The ZTF alert file at `path` with one candidate field set to `value`, as the float or
/// double its schema holds (a float field cannot carry what a double can: 1e300 is inf).
pub fn with_candidate_field(path: &Path, field: &str, value: f64) -> Vec<u8> {
    use apache_avro::types::Value;
    rewrite_alert_at(path, |fields| {
        let (_, candidate) = fields
            .iter_mut()
            .find(|(name, _)| name == "candidate")
            .expect("candidate");
        let Value::Record(candidate) = candidate else {
            panic!("a candidate record")
        };
        let (_, v) = candidate
            .iter_mut()
            .find(|(name, _)| name == field)
            .expect("the field");
        let typed = |old: &Value| match old {
            Value::Float(_) => Value::Float(value as f32),
            _ => Value::Double(value),
        };
        let new = match &*v {
            Value::Union(i, inner) => Value::Union(*i, Box::new(typed(inner))),
            other => typed(other),
        };
        *v = new;
    })
}
