//! The objects one partition has seen, so that an alert is answered knowing the object's
//! earlier alerts (step k, history), bounded in memory, and kept on disk so that a restart,
//! or another consumer of the group taking the partition over, continues the sequences.
//!
//! On disk: one append-only JSON-lines log per partition (`<topic>-<partition>.jsonl`),
//! appended and flushed to disk *before* the offsets of those alerts are committed. A
//! consumer killed mid-append leaves at most a partial last line, which the next owner cuts
//! off. Alerts replayed after a crash (written here, never committed) are recognised by
//! their id and kept once. The log is rewritten (atomically) when it has grown to twice what
//! is still held.

use crate::alert::neutral::{Survey, SurveyAlert};
use crate::alert::{kept_record, AnyAlert};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("stream state {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One alert as the state keeps it. An alert whose history is cut (ZTF's 30 days) is kept
/// whole but for its stamps on disk (the tree models read none). One that carries its
/// object's whole history (LSST) needs only what numbers the steps, and is kept whole in
/// memory only where a temporal network reads the object's earlier stamps. Where a
/// temporal network reads them, the message itself is kept too (on disk as base64), so
/// that after a restart [`PartitionState::restore`] gives the earlier alerts their stamps
/// back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAlert {
    pub survey: Survey,
    pub object: String,
    pub alert_id: Option<i64>,
    /// JD (ZTF) or MJD (LSST): only compared within one object.
    pub time: f64,
    pub offset: i64,
    /// The alert itself, where it is kept ([`crate::alert::kept_record`] says which are
    /// written; its key in the log is `ztf`, the one survey written so far).
    #[serde(
        default,
        rename = "ztf",
        skip_serializing_if = "kept_record::is_unwritten",
        with = "kept_record"
    )]
    pub alert: Option<AnyAlert>,
    /// The Kafka message body the alert came in, where a model reads earlier stamps.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "message_base64"
    )]
    pub message: Option<std::sync::Arc<[u8]>>,
}

/// The message bytes as one base64 string in the JSON line.
mod message_base64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::sync::Arc;

    pub fn serialize<S: Serializer>(bytes: &Option<Arc<[u8]>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Arc<[u8]>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(|b| Some(Arc::from(b)))
            .map_err(serde::de::Error::custom)
    }
}

impl StoredAlert {
    fn same_alert(&self, other: &StoredAlert) -> bool {
        match (self.alert_id, other.alert_id) {
            (Some(a), Some(b)) => a == b,
            _ => self.time == other.time,
        }
    }
}

#[derive(Debug, Default)]
struct ObjectState {
    /// By time, each alert once.
    alerts: Vec<StoredAlert>,
    last_touch: u64,
}

/// What inserting an alert told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// 1-based position among the object's alerts by time.
    pub k: usize,
    /// The alert was already held (a message delivered again).
    pub repeated: bool,
}

/// What loading a partition's log found.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    pub alerts: usize,
    pub objects: usize,
    /// Lines that could not be read (a partial last line after a kill among them).
    pub bad_lines: usize,
    /// The highest offset the log holds, if any.
    pub last_offset: Option<i64>,
}

pub struct PartitionState {
    pub topic: String,
    pub partition: i32,
    objects: HashMap<(Survey, String), ObjectState>,
    max_objects: usize,
    tick: u64,
    log_path: Option<PathBuf>,
    log: Option<File>,
    log_lines: usize,
    held_alerts: usize,
    pending: Vec<u8>,
}

impl PartitionState {
    /// A partition's state, loaded from `dir` when given (and created there if absent).
    pub fn open(
        dir: Option<&Path>,
        topic: &str,
        partition: i32,
        max_objects: usize,
    ) -> Result<(Self, LoadReport), StateError> {
        let mut state = Self {
            topic: topic.to_string(),
            partition,
            objects: HashMap::new(),
            max_objects: max_objects.max(1),
            tick: 0,
            log_path: None,
            log: None,
            log_lines: 0,
            held_alerts: 0,
            pending: Vec::new(),
        };
        let mut report = LoadReport::default();
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            let path = dir.join(format!("{}-{partition}.jsonl", sanitize(topic)));
            report = state.load(&path)?;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io_err(&path))?;
            state.log = Some(file);
            state.log_path = Some(path);
        }
        Ok((state, report))
    }

    fn load(&mut self, path: &Path) -> Result<LoadReport, StateError> {
        let mut report = LoadReport::default();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(report),
            Err(e) => return Err(io_err(path)(e)),
        };
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        // Where the last complete line ends: a partial line after it is cut off, so that
        // appends start on a line of their own.
        let mut good_end = 0u64;
        let mut pos = 0u64;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(io_err(path))?;
            if n == 0 {
                break;
            }
            pos += n as u64;
            if line.last() != Some(&b'\n') {
                report.bad_lines += 1;
                break;
            }
            good_end = pos;
            self.log_lines += 1;
            match serde_json::from_slice::<StoredAlert>(&line) {
                Ok(alert) => {
                    report.last_offset = report.last_offset.max(Some(alert.offset));
                    self.insert_held(alert);
                }
                Err(_) => report.bad_lines += 1,
            }
        }
        if good_end < pos {
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io_err(path))?;
            file.set_len(good_end).map_err(io_err(path))?;
        }
        self.evict();
        report.alerts = self.held_alerts;
        report.objects = self.objects.len();
        Ok(report)
    }

    pub fn objects(&self) -> usize {
        self.objects.len()
    }

    /// Decodes the messages kept with the held alerts that lack their stamps (read back
    /// from the log after a restart), so that a network reads the earlier detections as it
    /// did before. Returns how many alerts got their stamps back and the messages that did
    /// not decode (each named; those alerts stay without stamps).
    pub fn restore(&mut self, reader: &crate::alert::AnyReader) -> (usize, Vec<String>) {
        let (mut restored, mut problems) = (0, Vec::new());
        for object in self.objects.values_mut() {
            for held in &mut object.alerts {
                let Some(message) = held.message.clone() else {
                    continue;
                };
                if held.alert.as_ref().is_some_and(|a| a.as_ref().has_stamps()) {
                    continue;
                }
                let label: std::sync::Arc<str> = format!(
                    "{}[{}]@{} (kept in the stream state)",
                    self.topic, self.partition, held.offset
                )
                .into();
                let decoded = reader.decode(message.to_vec(), &label);
                let own = decoded
                    .alerts
                    .into_iter()
                    .find(|a| a.summary().alert_id == held.alert_id);
                match own {
                    Some(a) => held.alert = Some(a),
                    None => {
                        problems.push(match decoded.errors.first() {
                            Some(e) => e.to_string(),
                            None => format!("{label}: the alert is not in its message"),
                        });
                        continue;
                    }
                }
                restored += 1;
            }
        }
        (restored, problems)
    }

    /// Adds an alert (kept once however often it is delivered) and says where it fell.
    /// The alert is written to the log by the next [`PartitionState::flush`].
    pub fn insert(&mut self, alert: StoredAlert) -> Placed {
        let line = serde_json::to_vec(&alert).unwrap_or_default();
        let placed = self.insert_held(alert);
        if self.log.is_some() && !placed.repeated && !line.is_empty() {
            self.pending.extend_from_slice(&line);
            self.pending.push(b'\n');
            self.log_lines += 1;
        }
        placed
    }

    fn insert_held(&mut self, alert: StoredAlert) -> Placed {
        self.tick += 1;
        let object = self
            .objects
            .entry((alert.survey, alert.object.clone()))
            .or_default();
        object.last_touch = self.tick;
        if let Some(i) = object.alerts.iter().position(|a| a.same_alert(&alert)) {
            // The copy in memory may hold stamps the stored one lacks: keep it.
            return Placed {
                k: i + 1,
                repeated: true,
            };
        }
        let at = object
            .alerts
            .partition_point(|a| (a.time, a.alert_id) <= (alert.time, alert.alert_id));
        object.alerts.insert(at, alert);
        self.held_alerts += 1;
        Placed {
            k: at + 1,
            repeated: false,
        }
    }

    /// The object's alerts held whole up to and including the one with id `alert_id`,
    /// oldest first, with that alert's 1-based place among all the object's alerts held.
    pub fn alerts_through(
        &self,
        survey: Survey,
        object: &str,
        alert_id: Option<i64>,
    ) -> Option<(usize, Vec<AnyAlert>)> {
        let held = self.objects.get(&(survey, object.to_string()))?;
        let k = held.alerts.iter().position(|a| a.alert_id == alert_id)? + 1;
        let alerts = held.alerts[..k]
            .iter()
            .filter_map(|a| a.alert.clone())
            .collect();
        Some((k, alerts))
    }

    /// Writes what was inserted since the last call to the log and to disk; after this
    /// returns, those alerts survive a crash. Then evicts the least recently seen objects
    /// past the bound, and rewrites the log when it has grown to twice what is held.
    pub fn flush(&mut self) -> Result<(), StateError> {
        if let (Some(file), Some(path)) = (self.log.as_mut(), self.log_path.as_ref()) {
            if !self.pending.is_empty() {
                file.write_all(&self.pending).map_err(io_err(path))?;
                file.sync_data().map_err(io_err(path))?;
                self.pending.clear();
            }
        }
        self.evict();
        if self.log.is_some() && self.log_lines > 2 * self.held_alerts + 10_000 {
            self.compact()?;
        }
        Ok(())
    }

    fn evict(&mut self) {
        if self.objects.len() <= self.max_objects {
            return;
        }
        // A tenth below the bound at once, so that eviction is not paid on every alert.
        let keep = self.max_objects - self.max_objects / 10;
        let mut touches: Vec<u64> = self.objects.values().map(|o| o.last_touch).collect();
        touches.sort_unstable();
        let cut = touches[touches.len() - keep];
        let mut dropped = 0;
        self.objects.retain(|_, o| {
            let keep = o.last_touch >= cut;
            if !keep {
                dropped += o.alerts.len();
            }
            keep
        });
        self.held_alerts -= dropped;
    }

    fn compact(&mut self) -> Result<(), StateError> {
        let Some(path) = self.log_path.clone() else {
            return Ok(());
        };
        let mut objects: Vec<&ObjectState> = self.objects.values().collect();
        objects.sort_by_key(|o| o.last_touch);
        let mut bytes = Vec::new();
        for alert in objects.iter().flat_map(|o| &o.alerts) {
            if let Ok(line) = serde_json::to_vec(alert) {
                bytes.extend_from_slice(&line);
                bytes.push(b'\n');
            }
        }
        crate::atomic::write_atomic(&path, &bytes).map_err(io_err(&path))?;
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        file.seek(SeekFrom::End(0)).map_err(io_err(&path))?;
        self.log = Some(file);
        self.log_lines = self.held_alerts;
        Ok(())
    }
}

/// A topic name as a file name: Kafka allows `[a-zA-Z0-9._-]`, which file systems take.
fn sanitize(topic: &str) -> String {
    topic
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::lsst::LsstAlert;
    use crate::sequence::neutral::{group_objects, ObjectSequence};

    impl PartitionState {
        /// The object's alerts through `alert_id`, as an object to classify.
        fn object_through(
            &self,
            survey: Survey,
            object: &str,
            alert_id: Option<i64>,
        ) -> Option<(usize, ObjectSequence)> {
            let (k, alerts) = self.alerts_through(survey, object, alert_id)?;
            Some((k, group_objects(alerts).0.into_iter().next()?))
        }

        /// An LSST object's alerts held whole through `alert_id`.
        fn lsst_alerts_through(&self, object: &str, alert_id: i64) -> Option<Vec<LsstAlert>> {
            let (_, alerts) = self.alerts_through(Survey::Lsst, object, Some(alert_id))?;
            Some(
                alerts
                    .iter()
                    .filter_map(|a| a.as_ref().lsst().cloned())
                    .collect(),
            )
        }
    }

    fn lsst(object: &str, id: i64, time: f64, offset: i64) -> StoredAlert {
        StoredAlert {
            survey: Survey::Lsst,
            object: object.into(),
            alert_id: Some(id),
            time,
            offset,
            alert: None,
            message: None,
        }
    }

    #[test]
    fn a_kept_message_that_no_longer_decodes_is_named_and_the_rest_goes_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (mut s, _) = PartitionState::open(Some(dir.path()), "t", 0, 10).expect("open");
            let mut broken = lsst("o", 7, 60_000.0, 5);
            broken.message = Some(std::sync::Arc::from(&b"\0\0\0\x03\xe8not avro"[..]));
            s.insert(broken);
            s.insert(lsst("o", 8, 60_001.0, 6));
            s.flush().expect("flush");
        }
        let (mut s, report) = PartitionState::open(Some(dir.path()), "t", 0, 10).expect("reopen");
        assert_eq!(report.alerts, 2);
        let (restored, problems) = s.restore(&crate::alert::AnyReader::default());
        assert_eq!(restored, 0);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("t[0]@5 (kept in the stream state)"),
            "{problems:?}"
        );
        // The alert itself is still held: it numbers the steps.
        assert_eq!(s.lsst_alerts_through("o", 8).map(|a| a.len()), Some(0));
    }

    #[test]
    fn steps_follow_time_and_repeats_are_kept_once() {
        let (mut s, _) = PartitionState::open(None, "t", 0, 10).expect("open");
        assert_eq!(s.insert(lsst("a", 2, 2.0, 0)).k, 1);
        assert_eq!(s.insert(lsst("a", 1, 1.0, 1)).k, 1);
        let again = s.insert(lsst("a", 2, 2.0, 2));
        assert_eq!(
            again,
            Placed {
                k: 2,
                repeated: true
            }
        );
        assert_eq!(s.insert(lsst("b", 3, 0.5, 3)).k, 1);
    }

    #[test]
    fn a_restart_continues_and_a_partial_last_line_is_cut_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (mut s, _) = PartitionState::open(Some(dir.path()), "alerts", 3, 10).expect("open");
            s.insert(lsst("a", 1, 1.0, 0));
            s.insert(lsst("a", 2, 2.0, 1));
            s.flush().expect("flush");
        }
        let path = dir.path().join("alerts-3.jsonl");
        // A consumer killed in the middle of an append.
        let mut f = OpenOptions::new().append(true).open(&path).expect("log");
        f.write_all(b"{\"survey\":\"LSST\",\"obj").expect("write");
        drop(f);
        let (mut s, report) =
            PartitionState::open(Some(dir.path()), "alerts", 3, 10).expect("reopen");
        assert_eq!((report.alerts, report.bad_lines), (2, 1));
        assert_eq!(report.last_offset, Some(1));
        assert_eq!(s.insert(lsst("a", 3, 3.0, 2)).k, 3);
        s.flush().expect("flush");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 3);
        assert!(text
            .lines()
            .all(|l| serde_json::from_str::<StoredAlert>(l).is_ok()));
    }

    /// A temporal network on LSST reads an object's alerts held so far, oldest first, up to
    /// the one it answers.
    #[test]
    fn an_lsst_objects_alerts_are_held_through_each_one() {
        let data = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/lsst");
        let options = crate::alert::ReadOptions {
            lsst_schemas: Some(data.join("lsst-alert-packet/schema")),
            ..Default::default()
        };
        let (alerts, _) =
            crate::alert::read_all_any(&[data.join("derived-fink-v10-framed")], &options);
        let Some(crate::alert::AnyAlert::Lsst(first)) = alerts.into_iter().next() else {
            panic!("an LSST alert");
        };
        // The same object seen again a day later, then a third time in between.
        let mut later = first.clone();
        later.alert_id += 1;
        later.dia_source.midpoint_mjd_tai += 1.0;
        let mut between = first.clone();
        between.alert_id += 2;
        between.dia_source.midpoint_mjd_tai += 0.5;
        let (mut s, _) = PartitionState::open(None, "t", 0, 10).expect("open");
        for a in [&first, &later, &between] {
            s.insert(StoredAlert {
                survey: Survey::Lsst,
                object: "o".into(),
                alert_id: Some(a.alert_id),
                time: a.dia_source.midpoint_mjd_tai,
                offset: 0,
                alert: Some(AnyAlert::Lsst(a.clone())),
                message: None,
            });
        }
        let ids = |id: i64| -> Vec<i64> {
            s.lsst_alerts_through("o", id)
                .expect("held")
                .iter()
                .map(|a| a.alert_id)
                .collect()
        };
        assert_eq!(ids(first.alert_id), [first.alert_id]);
        assert_eq!(ids(between.alert_id), [first.alert_id, between.alert_id]);
        assert_eq!(
            ids(later.alert_id),
            [first.alert_id, between.alert_id, later.alert_id]
        );
        assert!(
            s.lsst_alerts_through("o", 7).is_none(),
            "an alert never seen"
        );
    }

    #[test]
    fn a_ztf_alert_survives_the_log() {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/ztf/sequences/ZTF25aatmfzy");
        let file = std::fs::read_dir(&path)
            .expect("shared data")
            .next()
            .expect("a file")
            .expect("entry")
            .path();
        let bytes = std::fs::read(&file).expect("read");
        let alert = crate::alert::decode_avro_bytes(&bytes, &file.display().to_string())
            .alerts
            .remove(0);
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (mut s, _) = PartitionState::open(Some(dir.path()), "t", 0, 10).expect("open");
            s.insert(StoredAlert {
                survey: Survey::Ztf,
                object: alert.object_id.clone(),
                alert_id: alert.candid,
                time: alert.candidate.jd,
                offset: 0,
                alert: Some(AnyAlert::Ztf(alert.clone())),
                message: None,
            });
            s.flush().expect("flush");
        }
        let (s, report) = PartitionState::open(Some(dir.path()), "t", 0, 10).expect("reopen");
        assert_eq!((report.alerts, report.bad_lines), (1, 0));
        let (k, seq) = s
            .object_through(Survey::Ztf, &alert.object_id, alert.candid)
            .expect("held");
        assert_eq!(k, 1);
        let back = seq.alerts[0].as_ref().ztf().expect("a ZTF alert");
        assert_eq!(back.candidate.magpsf, alert.candidate.magpsf);
        assert_eq!(back.prv_candidates.len(), alert.prv_candidates.len());
    }

    #[test]
    fn memory_is_bounded_by_the_least_recently_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut s, _) = PartitionState::open(Some(dir.path()), "t", 0, 10).expect("open");
        for i in 0..25 {
            s.insert(lsst(&format!("o{i}"), i, i as f64, i));
            s.flush().expect("flush");
        }
        assert!(s.objects() <= 10);
        // The newest objects are the ones held.
        assert_eq!(s.insert(lsst("o24", 24, 24.0, 99)).k, 1);
        assert!(s.insert(lsst("o24", 24, 24.0, 99)).repeated);
        // And a reload holds no more than the bound either.
        let (s2, report) = PartitionState::open(Some(dir.path()), "t", 0, 10).expect("reopen");
        assert!(s2.objects() <= 10, "{report:?}");
    }
}
