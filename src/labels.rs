//! Vetting labels: what the astronomer said about each object.
//!
//! Two files in the labels folder: `labels.log`, an append-only journal (one JSON object a
//! line: time, object, label, the label it replaced) that is never rewritten, and
//! `labels.csv`, the current label of each object, rewritten atomically after every change.
//! The journal is the truth: on open it is replayed, so a crash between the two writes
//! loses nothing, and undo is an entry of its own.

use crate::atomic::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The vetting classes, with the keys that give them in the app.
pub const VETTING_CLASSES: [&str; 6] = ["AGN", "SN", "VS", "asteroid", "bogus", "unsure"];

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {problem}")]
    Corrupt {
        path: String,
        line: usize,
        problem: String,
    },
    #[error("nothing to undo")]
    NothingToUndo,
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelEvent {
    /// Seconds since the Unix epoch.
    pub time: f64,
    pub object_id: String,
    /// The new label; `None` clears it.
    pub label: Option<String>,
    /// What it replaced, so the journal alone can undo.
    pub previous: Option<String>,
    /// True for an entry written by undo.
    #[serde(default)]
    pub undo: bool,
}

/// The labels of one folder, kept in step with its files.
#[derive(Debug)]
pub struct LabelStore {
    dir: PathBuf,
    current: BTreeMap<String, String>,
    /// Changes made in this session that undo can take back, newest last.
    undo_stack: Vec<LabelEvent>,
    /// Counts the changes, so that views derived from the labels know when to redo them.
    revision: u64,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl LabelStore {
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("labels.log")
    }

    pub fn csv_path(&self) -> PathBuf {
        self.dir.join("labels.csv")
    }

    /// Opens (or starts) the labels in `dir`, replaying its journal.
    pub fn open(dir: &Path) -> Result<Self, LabelError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| LabelError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut store = Self {
            dir: dir.to_path_buf(),
            current: BTreeMap::new(),
            undo_stack: Vec::new(),
            revision: 0,
        };
        let log = store.log_path();
        match std::fs::File::open(&log) {
            Ok(f) => {
                let mut good_bytes = 0usize;
                let mut torn = false;
                for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
                    let line = line.map_err(io(&log))?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    let event: LabelEvent = match serde_json::from_str(&line) {
                        Ok(e) => e,
                        // A crash can cut the last line short: it never reached the CSV
                        // either, so it is dropped; anything earlier is real corruption.
                        Err(_) if is_last_line(&log, i) => {
                            torn = true;
                            break;
                        }
                        Err(e) => {
                            return Err(LabelError::Corrupt {
                                path: log.display().to_string(),
                                line: i + 1,
                                problem: e.to_string(),
                            })
                        }
                    };
                    store.apply(&event);
                    good_bytes += line.len() + 1;
                }
                if torn {
                    // Cut the torn line off, or the next entry would be glued to it.
                    let text = std::fs::read(&log).map_err(io(&log))?;
                    write_atomic(&log, &text[..good_bytes.min(text.len())]).map_err(io(&log))?;
                }
                // The CSV may be behind the journal after a crash.
                store.write_csv()?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&log)(e)),
        }
        Ok(store)
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    fn apply(&mut self, event: &LabelEvent) {
        self.revision += 1;
        match &event.label {
            Some(l) => self.current.insert(event.object_id.clone(), l.clone()),
            None => self.current.remove(&event.object_id),
        };
    }

    pub fn get(&self, object_id: &str) -> Option<&str> {
        self.current.get(object_id).map(String::as_str)
    }

    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.current
    }

    pub fn len(&self) -> usize {
        self.current.len()
    }

    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// Labels an object (or clears its label with `None`); on disk before it returns.
    pub fn set(&mut self, object_id: &str, label: Option<&str>) -> Result<(), LabelError> {
        let event = LabelEvent {
            time: now(),
            object_id: object_id.to_string(),
            label: label.map(str::to_string),
            previous: self.current.get(object_id).cloned(),
            undo: false,
        };
        if event.label == event.previous {
            return Ok(());
        }
        self.record(&event)?;
        self.undo_stack.push(event);
        Ok(())
    }

    /// Takes back the last change of this session; returns the object it touched.
    pub fn undo(&mut self) -> Result<String, LabelError> {
        let last = self.undo_stack.pop().ok_or(LabelError::NothingToUndo)?;
        let event = LabelEvent {
            time: now(),
            object_id: last.object_id.clone(),
            label: last.previous.clone(),
            previous: last.label.clone(),
            undo: true,
        };
        self.record(&event)?;
        Ok(last.object_id)
    }

    fn record(&mut self, event: &LabelEvent) -> Result<(), LabelError> {
        let log = self.log_path();
        let io = |source| LabelError::Io {
            path: log.display().to_string(),
            source,
        };
        let mut line = serde_json::to_string(event).map_err(|e| io(std::io::Error::other(e)))?;
        line.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io)?;
        f.write_all(line.as_bytes()).map_err(io)?;
        f.sync_data().map_err(io)?;
        self.apply(event);
        self.write_csv()
    }

    fn write_csv(&self) -> Result<(), LabelError> {
        let mut out = String::from("objectId,label\n");
        for (object, label) in &self.current {
            out.push_str(&format!("{object},{label}\n"));
        }
        let path = self.csv_path();
        write_atomic(&path, out.as_bytes()).map_err(|source| LabelError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

fn is_last_line(path: &Path, index: usize) -> bool {
    std::fs::read_to_string(path)
        .map(|s| s.lines().count() == index + 1)
        .unwrap_or(false)
}

/// Reads an `objectId,label` CSV (a header row is recognised and skipped): the format of
/// `labels.csv` here, of `stampseq simulate` and of the training and evaluation inputs.
pub fn read_labels_csv(path: &Path) -> Result<BTreeMap<String, String>, LabelError> {
    let text = std::fs::read_to_string(path).map_err(|source| LabelError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.eq_ignore_ascii_case("objectId,label")) {
            continue;
        }
        let (id, label) = line.split_once(',').ok_or_else(|| LabelError::Corrupt {
            path: path.display().to_string(),
            line: i + 1,
            problem: "expected objectId,label".into(),
        })?;
        out.insert(id.trim().to_string(), label.trim().to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_survive_reopening_and_undo_is_journalled() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut s = LabelStore::open(dir.path()).expect("open");
            s.set("ZTF21abiuvdk", Some("SN")).expect("set");
            s.set("ZTF18abudwyj", Some("AGN")).expect("set");
            s.set("ZTF21abiuvdk", Some("bogus")).expect("relabel");
            assert_eq!(s.undo().expect("undo"), "ZTF21abiuvdk");
            assert_eq!(s.get("ZTF21abiuvdk"), Some("SN"));
        }
        let s = LabelStore::open(dir.path()).expect("reopen");
        assert_eq!(s.get("ZTF21abiuvdk"), Some("SN"));
        assert_eq!(s.get("ZTF18abudwyj"), Some("AGN"));
        let csv = std::fs::read_to_string(s.csv_path()).expect("csv");
        assert_eq!(csv, "objectId,label\nZTF18abudwyj,AGN\nZTF21abiuvdk,SN\n");
        let log = std::fs::read_to_string(s.log_path()).expect("log");
        assert_eq!(log.lines().count(), 4, "append-only: the undo is an entry");
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_earlier_corruption_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut s = LabelStore::open(dir.path()).expect("open");
            s.set("A", Some("VS")).expect("set");
        }
        let log = dir.path().join("labels.log");
        let mut text = std::fs::read_to_string(&log).expect("log");
        text.push_str("{\"time\": 1.0, \"object_id\": \"B\", \"lab");
        std::fs::write(&log, &text).expect("tear");
        let mut s = LabelStore::open(dir.path()).expect("torn tail is tolerated");
        assert_eq!(s.len(), 1);
        s.set("C", Some("SN")).expect("set after a torn tail");
        drop(s);
        assert_eq!(LabelStore::open(dir.path()).expect("reopen").len(), 2);
        let text = std::fs::read_to_string(&log).expect("log");

        std::fs::write(&log, format!("garbage\n{text}")).expect("corrupt");
        let err = LabelStore::open(dir.path()).expect_err("corrupt journal");
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
