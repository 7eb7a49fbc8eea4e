//! Replaying alert files into a topic, as the surveys publish them: one message per file
//! (a ZTF Avro container, an LSST Confluent-framed message), keyed by the object so that
//! an object's alerts share a partition, sent in time order. Files that cannot be read are
//! sent as they are, keyed by their name: a stream must cope with them too.

use super::kafka::{KafkaOptions, KafkaSetupError};
use super::sink::{SinkError, TopicWriter};
use crate::alert::neutral::SurveyAlert;
use crate::alert::{collect_inputs, AnyReader, Input};
use rayon::prelude::*;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ProduceError {
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub key: String,
    pub payload: Vec<u8>,
    /// Sort time (MJD); unreadable files go last.
    pub time: f64,
    pub file: PathBuf,
    /// Why the file could not be read, if it could not.
    pub unreadable: Option<String>,
}

#[derive(Debug, Default)]
pub struct Prepared {
    pub messages: Vec<Outgoing>,
    /// Paths that are not sent, and why (a report's lines: [`Refused`] or a walk's error).
    pub refused: Vec<String>,
}

/// Why a file is not sent.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{}: archives are not replayed one alert per message; unpack it first", .0.display())]
    Archive(PathBuf),
    #[error("{}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    NotGzip {
        path: PathBuf,
        source: crate::alert::ReadErrorKind,
    },
    #[error("{}: a Parquet file is a broker's copy, not a stream message", .0.display())]
    Parquet(PathBuf),
}

/// Reads the files and orders them into messages.
pub fn prepare(paths: &[PathBuf], reader: &AnyReader) -> Prepared {
    let (inputs, walk_errors) = collect_inputs(paths);
    let mut prepared = Prepared {
        refused: walk_errors.iter().map(|e| e.to_string()).collect(),
        ..Default::default()
    };
    let reader = AnyReader {
        decode_stamps: false,
        ..reader.clone()
    };
    let read: Vec<Result<Outgoing, Refused>> = inputs
        .par_iter()
        .map(|input| {
            let path = match input {
                Input::Avro(p) => p,
                Input::Archive(p) => return Err(Refused::Archive(p.clone())),
            };
            let payload = std::fs::read(path).map_err(|source| Refused::Unreadable {
                path: path.clone(),
                source,
            })?;
            // A stream carries the alert itself, not a gzipped file of it.
            let payload = if crate::alert::is_gzip(&payload) {
                crate::alert::gunzip_file(&payload).map_err(|source| Refused::NotGzip {
                    path: path.clone(),
                    source,
                })?
            } else {
                payload
            };
            if crate::alert::parquet::is_parquet(&payload) {
                return Err(Refused::Parquet(path.clone()));
            }
            let label: Arc<str> = path.display().to_string().into();
            let decoded = reader.decode(payload.clone(), &label);
            let first = decoded.alerts.first().map(|a| a.summary());
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(match first {
                Some(s) if decoded.errors.is_empty() => Outgoing {
                    key: s.object_id,
                    payload,
                    time: s.mjd,
                    file: path.clone(),
                    unreadable: None,
                },
                _ => Outgoing {
                    key: name,
                    payload,
                    time: f64::INFINITY,
                    file: path.clone(),
                    unreadable: Some(
                        decoded
                            .errors
                            .first()
                            .map_or("no alert in it".into(), |e| e.to_string()),
                    ),
                },
            })
        })
        .collect();
    for r in read {
        match r {
            Ok(m) => prepared.messages.push(m),
            Err(e) => prepared.refused.push(e.to_string()),
        }
    }
    prepared
        .messages
        .sort_by(|a, b| a.time.total_cmp(&b.time).then(a.file.cmp(&b.file)));
    prepared
}

/// Sends the messages, `repeat` times over, and waits until the brokers have them all.
pub fn send(
    kafka: &KafkaOptions,
    topic: &str,
    messages: &[Outgoing],
    repeat: usize,
) -> Result<usize, ProduceError> {
    let writer = TopicWriter::new(&kafka.client_config()?, topic)?;
    let mut sent = 0;
    for _ in 0..repeat.max(1) {
        for chunk in messages.chunks(1000) {
            writer.send_all(
                chunk
                    .iter()
                    .map(|m| (m.key.clone(), m.payload.clone(), None)),
            )?;
            sent += chunk.len();
        }
    }
    Ok(sent)
}
