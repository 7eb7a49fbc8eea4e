//! Where a stream's answers and dead letters go: a Kafka topic, files, or both. Every
//! `write_*` returns only once what it was given is durable (delivered to the brokers, or
//! flushed to disk), because the caller commits the input offsets right after.

use super::{DeadLetter, StreamResult};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("creating the Kafka producer: {0}")]
    Producer(#[source] rdkafka::error::KafkaError),
    #[error("producing to topic {topic}: {reason}")]
    Delivery { topic: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SinkError + '_ {
    move |source| SinkError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Counts deliveries that failed, for the batch that is being written.
#[derive(Default)]
pub struct DeliveryReport {
    failed: AtomicUsize,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for DeliveryReport {}

impl ProducerContext for DeliveryReport {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert_with(|| e.to_string());
        }
    }
}

/// How long [`TopicWriter::send_all`] waits for the brokers to acknowledge a batch.
const ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// A producer that knows whether everything it sent arrived. Its own thread serves the
/// delivery reports; `send_all` waits for them in steps of a millisecond, not with rdkafka's
/// `flush`, which sleeps in steps of 100 ms while that thread serves them: every batch of a
/// stream waited 100 ms for acknowledgements that had come in a few milliseconds.
pub struct TopicWriter {
    producer: ThreadedProducer<DeliveryReport>,
    pub topic: String,
}

impl TopicWriter {
    pub fn new(config: &ClientConfig, topic: &str) -> Result<Self, SinkError> {
        let mut config = config.clone();
        // Nothing is lost to a broker's hiccup, nor written twice by a retry; unless the
        // user said otherwise (`-X`).
        for (key, value) in [("acks", "all"), ("enable.idempotence", "true")] {
            if config.get(key).is_none() {
                config.set(key, value);
            }
        }
        let producer: ThreadedProducer<DeliveryReport> = config
            .create_with_context(DeliveryReport::default())
            .map_err(SinkError::Producer)?;
        // An idempotent producer asks for its producer id when it starts, finds no broker
        // connected yet and asks again 500 ms later; the answer to a metadata request asks
        // at once, which often saves the first batch that wait. (Brokers that do not
        // answer within a second are not an error here: sending says so.)
        let _ = producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(1));
        Ok(Self {
            producer,
            topic: topic.to_string(),
        })
    }

    /// Sends messages and waits until every one is acknowledged.
    pub fn send_all(
        &self,
        messages: impl IntoIterator<Item = (String, Vec<u8>, Option<OwnedHeaders>)>,
    ) -> Result<(), SinkError> {
        let context = self.producer.context();
        context.failed.store(0, Ordering::Relaxed);
        for (key, payload, headers) in messages {
            let mut record = BaseRecord::to(&self.topic).key(&key).payload(&payload);
            if let Some(h) = headers {
                record = record.headers(h);
            }
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull,
                        ),
                        back,
                    )) => {
                        record = back;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err((e, _)) => {
                        return Err(SinkError::Delivery {
                            topic: self.topic.clone(),
                            reason: e.to_string(),
                        })
                    }
                }
            }
        }
        self.wait_for_acks()?;
        let failed = context.failed.load(Ordering::Relaxed);
        if failed > 0 {
            let reason = context
                .first_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .unwrap_or_default();
            return Err(SinkError::Delivery {
                topic: self.topic.clone(),
                reason: format!("{failed} messages not delivered: {reason}"),
            });
        }
        Ok(())
    }

    /// Sends what lingers in the queue now and waits until every message's delivery report
    /// has been served (the count of messages in flight includes reports not yet served).
    fn wait_for_acks(&self) -> Result<(), SinkError> {
        let deadline = Instant::now() + ACK_TIMEOUT;
        loop {
            // A flush that does not wait: librdkafka sends the lingering messages at once.
            let done = self.producer.flush(Duration::ZERO).is_ok();
            if done && self.producer.in_flight_count() == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(SinkError::Delivery {
                    topic: self.topic.clone(),
                    reason: format!(
                        "not acknowledged within {} s: {} messages outstanding",
                        ACK_TIMEOUT.as_secs(),
                        self.producer.in_flight_count()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Rolling CSV files of answers: a new file at every start (so that nothing is ever
/// appended after a line a killed process left half-written) and every `rows_per_file`.
pub struct CsvWriter {
    dir: PathBuf,
    stem: String,
    rows_per_file: usize,
    file: Option<(File, PathBuf)>,
    rows: usize,
    part: usize,
    classes: Vec<String>,
}

impl CsvWriter {
    /// `classes`: the model's, one probability column each.
    pub fn new(dir: &Path, rows_per_file: usize, classes: &[String]) -> Result<Self, SinkError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Ok(Self {
            dir: dir.to_path_buf(),
            stem: format!("results-{stamp}-{}", std::process::id()),
            rows_per_file: rows_per_file.max(1),
            file: None,
            rows: 0,
            part: 0,
            classes: classes.to_vec(),
        })
    }

    pub fn write(&mut self, results: &[StreamResult]) -> Result<(), SinkError> {
        for chunk in results.chunks(self.rows_per_file) {
            if self.file.is_none() || self.rows >= self.rows_per_file {
                self.roll()?;
            }
            let room = self.rows_per_file - self.rows;
            let (now, later) = chunk.split_at(room.min(chunk.len()));
            self.append(now)?;
            if !later.is_empty() {
                self.roll()?;
                self.append(later)?;
            }
        }
        Ok(())
    }

    fn roll(&mut self) -> Result<(), SinkError> {
        self.part += 1;
        let path = self.dir.join(format!("{}-{:04}.csv", self.stem, self.part));
        let mut file = File::create(&path).map_err(io_err(&path))?;
        file.write_all(StreamResult::csv_header(&self.classes).as_bytes())
            .map_err(io_err(&path))?;
        self.file = Some((file, path));
        self.rows = 0;
        Ok(())
    }

    fn append(&mut self, rows: &[StreamResult]) -> Result<(), SinkError> {
        let Some((file, path)) = self.file.as_mut() else {
            return Ok(());
        };
        let mut text = String::new();
        for r in rows {
            text.push_str(&r.csv_line(&self.classes));
        }
        // One write per batch, then to disk: a kill leaves whole lines or a partial last one.
        file.write_all(text.as_bytes()).map_err(io_err(path))?;
        file.sync_data().map_err(io_err(path))?;
        self.rows += rows.len();
        Ok(())
    }
}

/// Where answers go.
pub struct ResultSink {
    pub topic: Option<TopicWriter>,
    pub csv: Option<CsvWriter>,
}

impl ResultSink {
    pub fn write(&mut self, results: &[StreamResult]) -> Result<(), SinkError> {
        if results.is_empty() {
            return Ok(());
        }
        if let Some(csv) = self.csv.as_mut() {
            csv.write(results)?;
        }
        if let Some(topic) = &self.topic {
            topic.send_all(results.iter().map(|r| {
                (
                    r.object_id.clone(),
                    serde_json::to_vec(r).unwrap_or_default(),
                    None,
                )
            }))?;
        }
        Ok(())
    }
}

/// Where messages that could not be read go: the original bytes with the error, to a topic
/// (headers `stampseq-error`, `stampseq-source`) or a folder (`<topic>-<partition>-<offset>.bin`
/// beside one line of `dead-letters.jsonl`).
pub enum DeadLetterSink {
    Topic(TopicWriter),
    Dir(PathBuf),
}

impl DeadLetterSink {
    pub fn write(&self, letters: &[DeadLetter]) -> Result<(), SinkError> {
        if letters.is_empty() {
            return Ok(());
        }
        match self {
            Self::Topic(writer) => writer.send_all(letters.iter().map(|d| {
                let source = format!("{}[{}]@{}", d.topic, d.partition, d.offset);
                let headers = OwnedHeaders::new()
                    .insert(Header {
                        key: "stampseq-error",
                        value: Some(d.error.as_bytes()),
                    })
                    .insert(Header {
                        key: "stampseq-source",
                        value: Some(source.as_bytes()),
                    });
                (
                    d.key.clone().unwrap_or_default(),
                    d.payload.clone(),
                    Some(headers),
                )
            })),
            Self::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(io_err(dir))?;
                let mut index = String::new();
                for d in letters {
                    let name = format!("{}-{}-{}.bin", d.topic, d.partition, d.offset);
                    let path = dir.join(&name);
                    crate::atomic::write_atomic(&path, &d.payload).map_err(io_err(&path))?;
                    let line = serde_json::json!({
                        "topic": d.topic,
                        "partition": d.partition,
                        "offset": d.offset,
                        "error": d.error,
                        "payload": name,
                    });
                    index.push_str(&line.to_string());
                    index.push('\n');
                }
                let path = dir.join("dead-letters.jsonl");
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(io_err(&path))?;
                file.write_all(index.as_bytes()).map_err(io_err(&path))?;
                file.sync_data().map_err(io_err(&path))?;
                Ok(())
            }
        }
    }
}
