//! Vetting labels: what the astronomer said about each object.
//!
//! Two files in the labels folder: `labels.log`, an append-only journal (one JSON object a
//! line: time, object, label, the label it replaced) that is never rewritten, and
//! `labels.csv`, the current label of each object, rewritten atomically after every change.
//! The journal is the truth: on open it is replayed, so a crash between the two writes
//! loses nothing, and undo is an entry of its own.

use crate::atomic::write_atomic;
use crate::time::{jd_to_calendar, unix_seconds_to_jd};
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
    /// A line of a labels file that cannot be read, with what is wrong in it as its source.
    #[error("{path}, line {line}: {source}")]
    Corrupt {
        path: String,
        line: usize,
        source: LineError,
    },
    #[error("nothing to undo")]
    NothingToUndo,
    #[error("{0} has no label yet: label it first")]
    NotLabelled(String),
}

/// What is wrong in one line of a labels file.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// A journal line that is not an entry.
    #[error("{0}")]
    Journal(#[source] serde_json::Error),
    /// A CSV row, or another tool's CSV, that does not parse.
    #[error("{0}")]
    Csv(#[source] csv::Error),
    #[error("expected objectId,label")]
    NotObjectAndLabel,
}

/// One journal entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Who vetted (the name in the app's preferences).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vetter: Option<String>,
    /// "sure" or "unsure".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the confidence and the note were before, so that undo restores them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_confidence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_note: Option<String>,
}

/// What goes with a label besides the class: how sure the vetter was, a free note, who and
/// when.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LabelDetails {
    pub confidence: Option<String>,
    pub note: Option<String>,
    pub vetter: Option<String>,
    /// Seconds since the Unix epoch of the last change.
    pub time: f64,
}

/// The confidences a label can carry.
pub const CONFIDENCES: [&str; 2] = ["sure", "unsure"];

/// The labels of one folder, kept in step with its files.
#[derive(Debug)]
pub struct LabelStore {
    dir: PathBuf,
    current: BTreeMap<String, String>,
    /// Changes made in this session that undo can take back, newest last.
    undo_stack: Vec<LabelEvent>,
    /// Counts the changes, so that views derived from the labels know when to redo them.
    revision: u64,
    details: BTreeMap<String, LabelDetails>,
    /// Written into each new entry.
    vetter: Option<String>,
    /// Journal lines not yet written, for a store whose writes are deferred
    /// ([`LabelStore::defer_writes`]); `None` when each change is written before it returns.
    unwritten: Option<String>,
}

/// The changes a store with deferred writes has not written yet: the journal entries and
/// the CSV after them ([`LabelStore::take_unwritten`]), for a writer off the caller's thread.
#[derive(Debug)]
pub struct UnwrittenLabels {
    log: PathBuf,
    lines: String,
    csv: PathBuf,
    table: String,
}

impl UnwrittenLabels {
    /// Appends the entries to the journal (synced to disk), then rewrites the CSV
    /// atomically: the journal stays the truth, as when a store writes them itself.
    pub fn write(&self) -> Result<(), LabelError> {
        append_journal(&self.log, &self.lines)?;
        write_atomic(&self.csv, self.table.as_bytes()).map_err(|source| LabelError::Io {
            path: self.csv.display().to_string(),
            source,
        })
    }
}

/// Appends `lines` to the journal at `log` and syncs it.
fn append_journal(log: &Path, lines: &str) -> Result<(), LabelError> {
    let io = |source| LabelError::Io {
        path: log.display().to_string(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io)?;
    f.write_all(lines.as_bytes()).map_err(io)?;
    f.sync_data().map_err(io)
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
            details: BTreeMap::new(),
            vetter: None,
            unwritten: None,
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
                                source: LineError::Journal(e),
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
            Some(l) => {
                self.current.insert(event.object_id.clone(), l.clone());
                self.details.insert(
                    event.object_id.clone(),
                    LabelDetails {
                        confidence: event.confidence.clone(),
                        note: event.note.clone(),
                        vetter: event.vetter.clone(),
                        time: event.time,
                    },
                );
            }
            None => {
                self.current.remove(&event.object_id);
                self.details.remove(&event.object_id);
            }
        };
    }

    /// The name written into new entries as the vetter.
    pub fn set_vetter(&mut self, name: Option<&str>) {
        self.vetter = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from);
    }

    pub fn details(&self, object_id: &str) -> Option<&LabelDetails> {
        self.details.get(object_id)
    }

    /// Changes the confidence and the note of a labelled object (journalled, undoable).
    pub fn set_details(
        &mut self,
        object_id: &str,
        confidence: Option<&str>,
        note: Option<&str>,
    ) -> Result<(), LabelError> {
        let Some(label) = self.current.get(object_id).cloned() else {
            return Err(LabelError::NotLabelled(object_id.to_string()));
        };
        let old = self.details.get(object_id).cloned().unwrap_or_default();
        let note = note
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from);
        let confidence = confidence.map(String::from);
        if old.confidence == confidence && old.note == note {
            return Ok(());
        }
        let event = LabelEvent {
            time: now(),
            object_id: object_id.to_string(),
            label: Some(label.clone()),
            previous: Some(label),
            undo: false,
            vetter: self.vetter.clone(),
            confidence,
            note,
            previous_confidence: old.confidence,
            previous_note: old.note,
        };
        self.record(&event)?;
        self.undo_stack.push(event);
        Ok(())
    }

    /// Labels many objects at once (an import): one journal entry each; returns how many
    /// changed.
    pub fn import(&mut self, labels: &[(String, String)], note: &str) -> Result<usize, LabelError> {
        let mut changed = 0;
        for (id, label) in labels {
            if self.get(id) == Some(label.as_str()) {
                continue;
            }
            let old = self.details.get(id).cloned().unwrap_or_default();
            let event = LabelEvent {
                time: now(),
                object_id: id.clone(),
                label: Some(label.clone()),
                previous: self.current.get(id).cloned(),
                undo: false,
                vetter: self.vetter.clone(),
                confidence: old.confidence.clone(),
                note: Some(note.to_string()),
                previous_confidence: old.confidence,
                previous_note: old.note,
            };
            self.record(&event)?;
            self.undo_stack.push(event);
            changed += 1;
        }
        Ok(changed)
    }

    /// Every label with its details, as CSV (objectId, label, confidence, note, vetter,
    /// time as ISO date), written atomically.
    pub fn export_csv(&self, path: &Path) -> Result<(), LabelError> {
        let io = |source: std::io::Error| LabelError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["objectId", "label", "confidence", "note", "vetter", "time"])
            .map_err(|e| io(e.into()))?;
        for (id, label) in &self.current {
            let d = self.details.get(id).cloned().unwrap_or_default();
            let when = jd_to_calendar(unix_seconds_to_jd(d.time));
            w.write_record([
                id.as_str(),
                label.as_str(),
                d.confidence.as_deref().unwrap_or(""),
                d.note.as_deref().unwrap_or(""),
                d.vetter.as_deref().unwrap_or(""),
                when.as_str(),
            ])
            .map_err(|e| io(e.into()))?;
        }
        let bytes = w.into_inner().map_err(|e| io(e.into_error()))?;
        write_atomic(path, &bytes).map_err(|source| LabelError::Io {
            path: path.display().to_string(),
            source,
        })
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
        let old = self.details.get(object_id).cloned().unwrap_or_default();
        let event = LabelEvent {
            time: now(),
            object_id: object_id.to_string(),
            label: label.map(str::to_string),
            previous: self.current.get(object_id).cloned(),
            undo: false,
            vetter: self.vetter.clone(),
            confidence: old.confidence.clone(),
            note: old.note.clone(),
            previous_confidence: old.confidence,
            previous_note: old.note,
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
            vetter: self.vetter.clone(),
            confidence: last.previous_confidence.clone(),
            note: last.previous_note.clone(),
            previous_confidence: last.confidence.clone(),
            previous_note: last.note.clone(),
        };
        self.record(&event)?;
        Ok(last.object_id)
    }

    /// From now on a change is made in memory only and its entry kept for the caller to
    /// write, in order, with [`Self::take_unwritten`] (an app that must not wait on a disk).
    pub fn defer_writes(&mut self) {
        self.unwritten.get_or_insert_with(String::new);
    }

    /// The changes not yet written, if any, with the CSV as it is now.
    pub fn take_unwritten(&mut self) -> Option<UnwrittenLabels> {
        let lines = std::mem::take(self.unwritten.as_mut()?);
        (!lines.is_empty()).then(|| UnwrittenLabels {
            log: self.log_path(),
            lines,
            csv: self.csv_path(),
            table: self.csv_text(),
        })
    }

    fn record(&mut self, event: &LabelEvent) -> Result<(), LabelError> {
        let log = self.log_path();
        let mut line = serde_json::to_string(event).map_err(|e| LabelError::Io {
            path: log.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        line.push('\n');
        if let Some(unwritten) = self.unwritten.as_mut() {
            unwritten.push_str(&line);
            self.apply(event);
            return Ok(());
        }
        append_journal(&log, &line)?;
        self.apply(event);
        self.write_csv()
    }

    fn csv_text(&self) -> String {
        let mut out = String::from("objectId,label\n");
        for (object, label) in &self.current {
            out.push_str(&format!("{object},{label}\n"));
        }
        out
    }

    fn write_csv(&self) -> Result<(), LabelError> {
        let path = self.csv_path();
        write_atomic(&path, self.csv_text().as_bytes()).map_err(|source| LabelError::Io {
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
        let header = i == 0
            && line
                .get(..14)
                .is_some_and(|h| h.eq_ignore_ascii_case("objectId,label"))
            && line[14..].chars().next().is_none_or(|c| c == ',');
        if line.is_empty() || header {
            continue;
        }
        // Further columns (a split's part, a source) are allowed and ignored: the label is
        // the second field, never the rest of the line.
        let mut fields = line.split(',');
        let (Some(id), Some(label)) = (fields.next(), fields.next()) else {
            return Err(LabelError::Corrupt {
                path: path.display().to_string(),
                line: i + 1,
                source: LineError::NotObjectAndLabel,
            });
        };
        out.insert(id.trim().to_string(), label.trim().to_string());
    }
    Ok(out)
}

/// Another tool's CSV export: its column names and rows, for choosing the object-id and
/// class columns.
#[derive(Debug, Clone)]
pub struct ForeignCsv {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl ForeignCsv {
    pub fn read(path: &Path) -> Result<Self, LabelError> {
        let corrupt = |line: usize, e: csv::Error| LabelError::Corrupt {
            path: path.display().to_string(),
            line,
            source: LineError::Csv(e),
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .map_err(|e| corrupt(1, e))?;
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| corrupt(1, e))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for (i, r) in reader.records().enumerate() {
            let r = r.map_err(|e| corrupt(i + 2, e))?;
            rows.push(r.iter().map(|v| v.trim().to_string()).collect());
        }
        Ok(Self {
            path: path.to_path_buf(),
            headers,
            rows,
        })
    }

    /// The distinct values of a column, sorted: the class names to map.
    pub fn values(&self, column: usize) -> Vec<String> {
        let mut v: Vec<String> = self
            .rows
            .iter()
            .filter_map(|r| r.get(column).cloned())
            .filter(|v| !v.is_empty())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// (objectId, stampseq class) for every row whose class `mapping` maps to one of
    /// [`VETTING_CLASSES`]; rows with an unmapped class are left out and counted.
    pub fn mapped(
        &self,
        id_column: usize,
        class_column: usize,
        mapping: &BTreeMap<String, String>,
    ) -> (Vec<(String, String)>, usize) {
        let mut out = Vec::new();
        let mut skipped = 0;
        for r in &self.rows {
            let (Some(id), Some(class)) = (r.get(id_column), r.get(class_column)) else {
                skipped += 1;
                continue;
            };
            match mapping.get(class) {
                Some(to) if !id.is_empty() && VETTING_CLASSES.contains(&to.as_str()) => {
                    out.push((id.clone(), to.clone()))
                }
                _ => skipped += 1,
            }
        }
        (out, skipped)
    }
}

/// A guess at the mapping of another tool's class names to stampseq's, for a dialog to
/// start from: exact names, then the usual synonyms (QSO, blazar, SN Ia, RRLyr...).
pub fn guess_mapping(values: &[String]) -> BTreeMap<String, String> {
    values
        .iter()
        .filter_map(|v| {
            let l = v.to_ascii_lowercase();
            let to = if let Some(c) = VETTING_CLASSES.iter().find(|c| c.eq_ignore_ascii_case(v)) {
                c
            } else if [
                "qso", "agn", "blazar", "bllac", "bl lac", "seyfert", "quasar", "liner",
            ]
            .iter()
            .any(|k| l.contains(k))
            {
                &"AGN"
            } else if l.starts_with("sn") || l.contains("supernova") || l.contains("tde") {
                &"SN"
            } else if [
                "rrl", "ceph", "eb", "lpv", "mira", "var", "star", "dsct", "cv",
            ]
            .iter()
            .any(|k| l.contains(k))
            {
                &"VS"
            } else if l.contains("asteroid") || l.contains("sso") || l.contains("solar") {
                &"asteroid"
            } else if l.contains("bogus") || l.contains("artefact") || l.contains("artifact") {
                &"bogus"
            } else {
                return None;
            };
            Some((v.clone(), to.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_labels_csv_with_more_columns_keeps_only_the_label() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("split.csv");
        std::fs::write(
            &path,
            "objectId,label,part,source\nZTF1,VS,test,skyportal\nZTF2,AGN,train,fink\nZTF3,SN\n",
        )
        .expect("write");
        let labels = read_labels_csv(&path).expect("read");
        assert_eq!(labels.len(), 3);
        assert_eq!(labels["ZTF1"], "VS");
        assert_eq!(labels["ZTF2"], "AGN");
        assert_eq!(labels["ZTF3"], "SN");
        std::fs::write(&path, "ZTF1\n").expect("write");
        assert!(read_labels_csv(&path).is_err(), "a row with no label");
    }

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
    fn details_are_journalled_undoable_and_exported() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut s = LabelStore::open(dir.path()).expect("open");
            s.set_vetter(Some("Ada"));
            assert!(
                s.set_details("X", Some("sure"), None).is_err(),
                "no label yet"
            );
            s.set("X", Some("SN")).expect("set");
            s.set_details("X", Some("unsure"), Some("host is a smudge"))
                .expect("details");
            s.set_details("X", Some("sure"), Some("spectrum: Ia"))
                .expect("details");
            s.undo().expect("undo");
            let d = s.details("X").expect("details");
            assert_eq!(d.confidence.as_deref(), Some("unsure"));
            assert_eq!(d.note.as_deref(), Some("host is a smudge"));
            // A relabel keeps the note.
            s.set("X", Some("AGN")).expect("relabel");
        }
        let s = LabelStore::open(dir.path()).expect("reopen");
        let d = s.details("X").expect("details survive");
        assert_eq!(d.vetter.as_deref(), Some("Ada"));
        assert_eq!(d.note.as_deref(), Some("host is a smudge"));
        assert_eq!(s.get("X"), Some("AGN"));
        let out = dir.path().join("export.csv");
        s.export_csv(&out).expect("export");
        let text = std::fs::read_to_string(&out).expect("read");
        assert!(text.starts_with("objectId,label,confidence,note,vetter,time\n"));
        assert!(
            text.contains("X,AGN,unsure,host is a smudge,Ada,"),
            "{text}"
        );
        // The two-column labels.csv stays what training and evaluation read.
        assert_eq!(
            read_labels_csv(&s.csv_path()).expect("csv"),
            BTreeMap::from([("X".to_string(), "AGN".to_string())])
        );
    }

    #[test]
    fn another_tools_csv_imports_through_a_mapping() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fink.csv");
        std::fs::write(
            &path,
            "oid,ra,class\nZTF1,1.0,QSO\nZTF2,2.0,RRLyr\nZTF3,3.0,Unknown\nZTF4,4.0,SN Ia\n",
        )
        .expect("write");
        let foreign = ForeignCsv::read(&path).expect("read");
        assert_eq!(foreign.headers, ["oid", "ra", "class"]);
        let values = foreign.values(2);
        assert_eq!(values, ["QSO", "RRLyr", "SN Ia", "Unknown"]);
        let mapping = guess_mapping(&values);
        assert_eq!(mapping.get("QSO").map(String::as_str), Some("AGN"));
        assert_eq!(mapping.get("RRLyr").map(String::as_str), Some("VS"));
        assert_eq!(mapping.get("SN Ia").map(String::as_str), Some("SN"));
        assert!(!mapping.contains_key("Unknown"));
        let (labels, skipped) = foreign.mapped(0, 2, &mapping);
        assert_eq!(skipped, 1);
        let mut store = LabelStore::open(&dir.path().join("labels")).expect("open");
        assert_eq!(
            store
                .import(&labels, "imported from fink.csv")
                .expect("import"),
            3
        );
        assert_eq!(store.get("ZTF2"), Some("VS"));
        assert_eq!(
            store.details("ZTF4").and_then(|d| d.note.as_deref()),
            Some("imported from fink.csv")
        );
        assert_eq!(
            store.import(&labels, "again").expect("import"),
            0,
            "no change twice"
        );
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
