//! Inputs: Avro files (ZTF, LSST container files, LSST Confluent-framed messages), broker
//! Parquet files, folders (recursive) and nightly `.tar.gz` archives, read in parallel. Each
//! file's format is told by its first bytes, not its name.
//!
//! A producer thread walks the inputs (and streams archive members, never unpacking them to
//! disk); rayon workers decode. Alerts are handed to a callback as they are decoded, so a
//! caller that only counts never holds a night of stamps in memory.

use super::any::AnyReader;
use super::any_alert::AnyAlert;
use super::error::{ArchiveError, ReadError, ReadErrorKind};
use super::ztf::Alert;
use rayon::iter::{IntoParallelRefIterator, ParallelBridge, ParallelIterator};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One thing to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// One alert file: Avro container, Confluent-framed messages or broker Parquet.
    Avro(PathBuf),
    /// A tar archive of Avro files, gzipped or not (ZTF's nightly `ztf_public_*.tar.gz`).
    Archive(PathBuf),
}

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Input::Avro(p) | Input::Archive(p) => p,
        }
    }

    fn from_file(path: PathBuf) -> Self {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".tar") {
            Input::Archive(path)
        } else {
            Input::Avro(path)
        }
    }
}

fn is_alert_file_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with(".avro")
        || name.ends_with(".avro.gz")
        || name.ends_with(".parquet")
        || name.ends_with(".parq")
        || name.ends_with(".tar.gz")
        || name.ends_with(".tgz")
        || name.ends_with(".tar")
}

/// Expands paths into inputs: files as given, folders walked recursively (keeping `.avro`,
/// `.avro.gz`, `.parquet`, `.parq`, `.tar.gz`, `.tgz` and `.tar` files), in a stable sorted
/// order.
pub fn collect_inputs<P: AsRef<Path>>(paths: &[P]) -> (Vec<Input>, Vec<ReadError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let path = path.as_ref();
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk_dir(path, &mut inputs, &mut errors),
            Ok(_) => inputs.push(Input::from_file(path.to_path_buf())),
            Err(e) => errors.push(ReadError::path(path, None, ReadErrorKind::io(e))),
        }
    }
    (inputs, errors)
}

fn walk_dir(dir: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<ReadError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(ReadError::path(dir, None, ReadErrorKind::io(e)));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk_dir(&path, inputs, errors);
        } else if path
            .file_name()
            .is_some_and(|n| is_alert_file_name(&n.to_string_lossy()))
        {
            inputs.push(Input::from_file(path));
        }
    }
}

/// How to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Decode the image cutouts (gunzip + FITS). Off for metadata-only passes.
    pub decode_stamps: bool,
    /// Set to stop reading early; what was read so far is kept.
    pub cancel: Arc<AtomicBool>,
    /// The LSST alert schema folder (alert_packet's `schema/`) for Confluent-framed
    /// messages; `None` falls back to `$STAMPSEQ_LSST_SCHEMAS`.
    pub lsst_schemas: Option<PathBuf>,
    /// A Confluent schema registry for schema ids the folder lacks (cached on disk).
    pub schema_registry: Option<super::lsst::SchemaRegistry>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            decode_stamps: true,
            cancel: Arc::new(AtomicBool::new(false)),
            lsst_schemas: None,
            schema_registry: None,
        }
    }
}

/// Where a read stands, for progress bars.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadProgress {
    /// Input bytes consumed (compressed bytes for archives).
    pub bytes_done: u64,
    /// Total input bytes, known up front from the file sizes.
    pub bytes_total: u64,
    pub alerts: usize,
}

/// What a read did, apart from the alerts themselves.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ReadSummary {
    /// Files read, archive members included.
    pub files: usize,
    pub alerts: usize,
    pub bytes: u64,
    pub errors: Vec<ReadError>,
    pub cancelled: bool,
}

enum Job {
    Path(PathBuf),
    Member { name: Arc<str>, bytes: Vec<u8> },
    Failed(ReadError),
}

/// Reads the ZTF alerts of every input in parallel, calling `on_alert` for each alert as it
/// is decoded (from worker threads, in no particular order) and `on_progress` now and then.
/// LSST alerts are left out, with one error per file saying so: the commands above the alert
/// layer that call this read ZTF alerts only.
pub fn read_inputs<F, P>(
    inputs: &[Input],
    options: &ReadOptions,
    on_progress: P,
    on_alert: F,
) -> ReadSummary
where
    F: Fn(Alert) + Sync,
    P: Fn(ReadProgress) + Sync,
{
    let skipped: Mutex<BTreeMap<Arc<str>, usize>> = Mutex::default();
    let mut summary = read_inputs_any(inputs, options, on_progress, |alert| match alert {
        AnyAlert::Ztf(a) => on_alert(a),
        AnyAlert::Lsst(a) => {
            *skipped
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(a.origin.file.clone())
                .or_default() += 1;
        }
    });
    let skipped = skipped.into_inner().unwrap_or_else(|p| p.into_inner());
    for (file, n) in skipped {
        summary.alerts -= n;
        summary.errors.push(ReadError::new(
            &*file,
            None,
            ReadErrorKind::OtherSurvey(format!(
                "{n} LSST alert(s) left out: this command reads ZTF alerts only \
                 (`inspect` and `table` read LSST alerts)"
            )),
        ));
    }
    summary
        .errors
        .sort_by(|a, b| (&a.file, a.record).cmp(&(&b.file, b.record)));
    summary
}

/// Reads every input in parallel, alerts of any survey, calling `on_alert` for each as it
/// is decoded (from worker threads, in no particular order) and `on_progress` now and then.
pub fn read_inputs_any<F, P>(
    inputs: &[Input],
    options: &ReadOptions,
    on_progress: P,
    on_alert: F,
) -> ReadSummary
where
    F: Fn(AnyAlert) + Sync,
    P: Fn(ReadProgress) + Sync,
{
    let bytes_total: u64 = inputs
        .iter()
        .filter_map(|i| std::fs::metadata(i.path()).ok())
        .map(|m| m.len())
        .sum();
    let bytes_done = AtomicU64::new(0);
    let alerts = AtomicUsize::new(0);
    let files = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let reader = AnyReader {
        decode_stamps: options.decode_stamps,
        lsst_schemas: options.lsst_schemas.clone(),
        schema_registry: options.schema_registry.clone(),
    };
    let cancel = &options.cancel;
    let report = |delta: u64| {
        let done = bytes_done.fetch_add(delta, Ordering::Relaxed) + delta;
        on_progress(ReadProgress {
            bytes_done: done,
            bytes_total,
            alerts: alerts.load(Ordering::Relaxed),
        });
    };

    let decode_job = |job: Job| {
        if cancel.load(Ordering::Relaxed) {
            return;
        }
        let (name, bytes, size) = match job {
            Job::Failed(e) => {
                errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                return;
            }
            Job::Member { name, bytes } => (name, bytes, 0),
            Job::Path(path) => {
                let name: Arc<str> = Arc::from(path.display().to_string());
                match std::fs::read(&path) {
                    Ok(b) => {
                        let n = b.len() as u64;
                        (name, b, n)
                    }
                    Err(e) => {
                        errors
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(ReadError::new(&*name, None, ReadErrorKind::io(e)));
                        return;
                    }
                }
            }
        };
        let decoded = reader.decode(bytes, &name);
        files.fetch_add(1, Ordering::Relaxed);
        alerts.fetch_add(decoded.alerts.len(), Ordering::Relaxed);
        if !decoded.errors.is_empty() {
            errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(decoded.errors);
        }
        for alert in decoded.alerts {
            on_alert(alert);
        }
        report(size);
    };

    if inputs.iter().all(|i| matches!(i, Input::Avro(_))) {
        // Files alone: the workers take them from the list. A producer thread and a channel
        // cost a wake-up per file, about 5 % of reading a ZTF night.
        inputs
            .par_iter()
            .for_each(|input| decode_job(Job::Path(input.path().to_path_buf())));
    } else {
        // Bounded so that a fast archive reader cannot run ahead of the decoders by gigabytes.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(64);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let tx = tx;
                for input in inputs {
                    if cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    let sent = match input {
                        Input::Avro(p) => tx.send(Job::Path(p.clone())).is_ok(),
                        Input::Archive(p) => stream_archive(p, &tx, cancel, &report),
                    };
                    if !sent {
                        break;
                    }
                }
            });
            rx.into_iter().par_bridge().for_each(decode_job);
        });
    }

    let mut errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    errors.sort_by(|a, b| (&a.file, a.record).cmp(&(&b.file, b.record)));
    ReadSummary {
        files: files.into_inner(),
        alerts: alerts.into_inner(),
        bytes: bytes_done.into_inner(),
        errors,
        cancelled: cancel.load(Ordering::Relaxed),
    }
}

/// Reads every alert of any survey into memory, in file and record order.
pub fn read_all_any<P: AsRef<Path>>(
    paths: &[P],
    options: &ReadOptions,
) -> (Vec<AnyAlert>, ReadSummary) {
    read_all_with(
        paths,
        options,
        |i, o, keep| read_inputs_any(i, o, |_| {}, keep),
        |a| a.origin(),
    )
}

/// Reads the ZTF alerts into memory: the simple call for tests and small inputs.
pub fn read_all<P: AsRef<Path>>(paths: &[P], options: &ReadOptions) -> (Vec<Alert>, ReadSummary) {
    read_all_with(
        paths,
        options,
        |i, o, keep| read_inputs(i, o, |_| {}, keep),
        |a| &a.origin,
    )
}

/// Collects what `read` hands over, in file and record order: decoding order depends on
/// thread timing, and callers want a stable one.
fn read_all_with<T: Send, P: AsRef<Path>>(
    paths: &[P],
    options: &ReadOptions,
    read: impl FnOnce(&[Input], &ReadOptions, &(dyn Fn(T) + Sync)) -> ReadSummary,
    origin: impl Fn(&T) -> &super::AlertOrigin,
) -> (Vec<T>, ReadSummary) {
    let (inputs, walk_errors) = collect_inputs(paths);
    let alerts = Mutex::new(Vec::new());
    let mut summary = read(&inputs, options, &|a| {
        alerts.lock().unwrap_or_else(|p| p.into_inner()).push(a)
    });
    summary.errors.splice(0..0, walk_errors);
    let mut alerts = alerts.into_inner().unwrap_or_else(|p| p.into_inner());
    alerts.sort_by(|a, b| {
        let (a, b) = (origin(a), origin(b));
        (&a.file, a.record).cmp(&(&b.file, b.record))
    });
    (alerts, summary)
}

/// Counts bytes read from the underlying file, for progress on compressed archives.
struct CountingReader<'a, R, F: Fn(u64)> {
    inner: R,
    pending: u64,
    report: &'a F,
}

impl<R: Read, F: Fn(u64)> Read for CountingReader<'_, R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pending += n as u64;
        if self.pending >= 1 << 20 || n == 0 {
            (self.report)(self.pending);
            self.pending = 0;
        }
        Ok(n)
    }
}

/// Streams the Avro members of a tar archive to the workers. Returns false when the
/// workers are gone.
fn stream_archive<F: Fn(u64)>(
    path: &Path,
    tx: &std::sync::mpsc::SyncSender<Job>,
    cancel: &AtomicBool,
    report: &F,
) -> bool {
    let fail = |kind| {
        tx.send(Job::Failed(ReadError::path(path, None, kind)))
            .is_ok()
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return fail(ReadErrorKind::io(e)),
    };
    let counted = CountingReader {
        inner: std::io::BufReader::with_capacity(1 << 20, file),
        pending: 0,
        report,
    };
    let name = path.to_string_lossy().to_ascii_lowercase();
    let stream: Box<dyn Read> = if name.ends_with(".tar") {
        Box::new(counted)
    } else {
        Box::new(flate2::read::MultiGzDecoder::new(counted))
    };
    let mut archive = tar::Archive::new(stream);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            return fail(ReadErrorKind::Archive(ArchiveError::Unreadable(Arc::new(
                e,
            ))))
        }
    };
    for entry in entries {
        if cancel.load(Ordering::Relaxed) {
            return true;
        }
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => return fail(ReadErrorKind::Archive(ArchiveError::Corrupt(Arc::new(e)))),
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let member = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "?".into());
        let lower = member.to_ascii_lowercase();
        if ![".avro", ".parquet", ".parq"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            continue;
        }
        let full_name: Arc<str> = Arc::from(format!("{}!{}", path.display(), member));
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        if let Err(e) = entry.read_to_end(&mut bytes) {
            let err = ReadError::new(
                &*full_name,
                None,
                ReadErrorKind::Archive(ArchiveError::Unreadable(Arc::new(e))),
            );
            let _ = tx.send(Job::Failed(err));
            return true;
        }
        if tx
            .send(Job::Member {
                name: full_name,
                bytes,
            })
            .is_err()
        {
            return false;
        }
    }
    true
}
