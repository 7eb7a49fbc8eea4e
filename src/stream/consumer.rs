//! The consumer loop: poll a micro-batch, read it, answer it, write it, commit it.
//!
//! At least once: a batch's offsets are committed only after its answers and dead letters
//! are durable and the partitions' states are on disk. A consumer killed at any point leaves
//! its last batch uncommitted; whoever takes its partitions (itself restarted, or another
//! member of the group) reads that batch again and answers it again, the same way, since
//! the states recognise alerts they already hold.
//!
//! Rebalances: the group's callbacks run inside `poll`, between batches, so that nothing
//! answered is ever left uncommitted when partitions change hands; messages already polled
//! from a partition just revoked are dropped unanswered (the new owner reads them from the
//! committed offset).

use super::answer::{Answerer, Incoming, States};
use super::kafka::{KafkaOptions, KafkaSetupError};
use super::sink::{CsvWriter, DeadLetterSink, ResultSink, SinkError, TopicWriter};
use super::state::{PartitionState, StateError};
use super::status::{PartitionStatus, RateMeter, StreamStatus};
use super::{DeadLetter, StreamEvent};
use crate::alert::lsst::SchemaRegistry;
use crate::alert::AnyReader;
use rayon::prelude::*;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientContext;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct StreamConfig {
    pub kafka: KafkaOptions,
    pub topics: Vec<String>,
    pub group: String,
    /// Where the group has no committed offset, start at the beginning of the partitions
    /// (Kafka's `auto.offset.reset=earliest`, as kafka-console-consumer's
    /// `--from-beginning`); otherwise at their end.
    pub from_beginning: bool,
    pub out_topic: Option<String>,
    pub out_dir: Option<PathBuf>,
    pub rows_per_file: usize,
    pub dead_letter_topic: Option<String>,
    pub dead_letter_dir: Option<PathBuf>,
    /// Partition states; shared by the group's consumers so that one continues the
    /// sequences of another's partitions.
    pub state_dir: Option<PathBuf>,
    pub status_file: Option<PathBuf>,
    pub batch_size: usize,
    /// How long a batch waits to fill once it has a message.
    pub linger: Duration,
    /// Objects held in memory per partition.
    pub max_objects: usize,
    /// At most this many alerts per second (replays, demonstrations, tests).
    pub max_rate: Option<f64>,
    /// Stop (exit 0) once every partition held has been read to its end.
    pub until_caught_up: bool,
    pub lsst_schemas: Option<PathBuf>,
    pub schema_registry: Option<SchemaRegistry>,
    /// Decode the cutouts even for a model that does not read them: the app shows them.
    pub decode_stamps: bool,
}

impl StreamConfig {
    pub fn new(kafka: KafkaOptions, topics: Vec<String>, group: &str) -> Self {
        Self {
            kafka,
            topics,
            group: group.to_string(),
            from_beginning: false,
            out_topic: None,
            out_dir: None,
            rows_per_file: 100_000,
            dead_letter_topic: None,
            dead_letter_dir: None,
            state_dir: None,
            status_file: None,
            batch_size: 500,
            linger: Duration::from_millis(100),
            max_objects: 200_000,
            max_rate: None,
            until_caught_up: false,
            lsst_schemas: None,
            schema_registry: None,
            decode_stamps: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Setup(#[from] KafkaSetupError),
    #[error("{what}: {source}")]
    Kafka {
        what: String,
        #[source]
        source: KafkaError,
    },
    #[error("writing results: {0}")]
    Sink(#[from] SinkError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}")]
    Config(String),
}

fn kafka(what: impl Into<String>) -> impl FnOnce(KafkaError) -> StreamError {
    let what = what.into();
    move |source| StreamError::Kafka { what, source }
}

#[derive(Debug, Clone, Default)]
pub struct StreamSummary {
    pub messages: u64,
    pub alerts: u64,
    pub answered: u64,
    pub dead_letters: u64,
    pub commits: u64,
}

enum GroupEvent {
    Assign(Vec<(String, i32)>),
    Revoke(Vec<(String, i32)>),
    Error(String),
}

/// Collects the group's rebalances for the loop to act on after `poll` returns.
#[derive(Default)]
struct GroupEvents {
    events: Mutex<Vec<GroupEvent>>,
}

impl GroupEvents {
    fn push(&self, e: GroupEvent) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(e);
    }

    fn take(&self) -> Vec<GroupEvent> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn partitions(list: &TopicPartitionList) -> Vec<(String, i32)> {
    list.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

impl ClientContext for GroupEvents {
    /// librdkafka's own lines (at the `log_level` asked for, errors by default; `-X
    /// debug=cgrp -X log_level=7` traces the group protocol) go to standard error.
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        eprintln!("kafka {level:?} {fac}: {log_message}");
    }
}

impl ConsumerContext for GroupEvents {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            self.push(GroupEvent::Revoke(partitions(list)));
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => self.push(GroupEvent::Assign(partitions(list))),
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => self.push(GroupEvent::Error(e.to_string())),
        }
    }
}

/// A message taken off the consumer, owned.
struct Polled {
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<String>,
    payload: Vec<u8>,
}

enum Polling {
    Nothing,
    Message(Polled),
    End(i32),
    Error(String),
}

struct Loop<'a> {
    config: &'a StreamConfig,
    answerer: &'a Answerer,
    consumer: BaseConsumer<GroupEvents>,
    reader: AnyReader,
    results: ResultSink,
    dead: DeadLetterSink,
    states: States,
    /// Partitions revoked while a batch was being gathered.
    leaving: HashSet<(String, i32)>,
    next_offsets: BTreeMap<(String, i32), i64>,
    watermarks: BTreeMap<(String, i32), i64>,
    at_end: HashSet<i32>,
    status: StreamStatus,
    started: Instant,
    rate: RateMeter,
    last_status: Option<Instant>,
    last_watermarks: Option<Instant>,
    last_message: Instant,
    /// `--max-rate`: when the alerts answered so far are due, and how many they are.
    paced_until: Option<Instant>,
    paced_alerts: u64,
}

/// Consumes until `stop` is set (then finishes the batch in hand, commits and leaves the
/// group), or, with `until_caught_up`, until the partitions held are read to their end.
/// Errors that lose nothing (a message that cannot be read, a commit refused in a
/// rebalance) are reported through `on_event` and the stream goes on; an answer that cannot
/// be written stops it, uncommitted.
pub fn run(
    config: &StreamConfig,
    answerer: &Answerer,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(StreamEvent),
) -> Result<StreamSummary, StreamError> {
    if config.topics.is_empty() {
        return Err(StreamError::Config("give at least one topic".into()));
    }
    if config.out_topic.is_none() && config.out_dir.is_none() {
        return Err(StreamError::Config(
            "give somewhere to write the answers: an output topic, an output folder or both".into(),
        ));
    }
    let base = config.kafka.client_config()?;
    let mut consumer_config = base.clone();
    consumer_config
        .set("group.id", &config.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.offset.reset",
            if config.from_beginning {
                "earliest"
            } else {
                "latest"
            },
        )
        // An alert is answered within a few hundredths of a second of its arrival, and
        // brokers that hold a fetch for its whole wait even when data is there (tansu) are
        // not 50x slower: librdkafka's default wait is 500 ms. (A broker with nothing to
        // send answers an idle consumer 100 times a second.)
        .set("fetch.wait.max.ms", "10")
        // Once the local queue holds its fill (64 MB: only 600 LSST alerts of 107 kB), a
        // consumer behind the stream stops fetching for this long; librdkafka's 1 s default
        // left it idle for most of each second of a backlog of LSST alerts.
        .set("fetch.queue.backoff.ms", "10")
        .set(
            "enable.partition.eof",
            if config.until_caught_up {
                "true"
            } else {
                "false"
            },
        );
    // Options given by the user win over the defaults above.
    for (k, v) in &config.kafka.extra {
        consumer_config.set(k, v);
    }
    let consumer: BaseConsumer<GroupEvents> = consumer_config
        .create_with_context(GroupEvents::default())
        .map_err(kafka("creating the Kafka consumer"))?;
    let topics: Vec<&str> = config.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).map_err(kafka(format!(
        "subscribing to {}",
        config.topics.join(", ")
    )))?;

    let results = ResultSink {
        topic: match &config.out_topic {
            Some(t) => Some(TopicWriter::new(&base, t)?),
            None => None,
        },
        csv: match &config.out_dir {
            Some(d) => Some(CsvWriter::new(
                d,
                config.rows_per_file,
                &answerer.classes(),
            )?),
            None => None,
        },
    };
    let dead =
        match (&config.dead_letter_topic, &config.dead_letter_dir) {
            (Some(t), _) => DeadLetterSink::Topic(TopicWriter::new(&base, t)?),
            (None, Some(d)) => DeadLetterSink::Dir(d.clone()),
            (None, None) => return Err(StreamError::Config(
                "give somewhere for messages that cannot be read: a dead-letter topic or folder"
                    .into(),
            )),
        };
    let status = StreamStatus {
        pid: std::process::id(),
        group: config.group.clone(),
        topics: config.topics.clone(),
        state: "starting".into(),
        ..Default::default()
    };
    let mut lp = Loop {
        config,
        answerer,
        consumer,
        reader: AnyReader {
            decode_stamps: config.decode_stamps || answerer.reads_stamps(),
            lsst_schemas: config.lsst_schemas.clone(),
            schema_registry: config.schema_registry.clone(),
        },
        results,
        dead,
        states: States::new(),
        leaving: HashSet::new(),
        next_offsets: BTreeMap::new(),
        watermarks: BTreeMap::new(),
        at_end: HashSet::new(),
        status,
        started: Instant::now(),
        rate: RateMeter::new(Duration::from_secs(10)),
        last_status: None,
        last_watermarks: None,
        last_message: Instant::now(),
        paced_until: None,
        paced_alerts: 0,
    };
    let outcome = lp.consume(stop, on_event);
    lp.status.state = "stopped".into();
    if let Err(e) = &outcome {
        lp.status.last_error = Some(e.to_string());
    }
    lp.publish_status(on_event, true);
    outcome?;
    let s = &lp.status;
    Ok(StreamSummary {
        messages: s.messages,
        alerts: s.alerts,
        answered: s.answered,
        dead_letters: s.dead_letters,
        commits: s.commits,
    })
}

impl Loop<'_> {
    fn consume(
        &mut self,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(StreamEvent),
    ) -> Result<(), StreamError> {
        self.status.state = "running".into();
        let mut ever_assigned = false;
        while !stop.load(Ordering::Relaxed) {
            let mut batch: Vec<Polled> = Vec::new();
            let mut deadline: Option<Instant> = None;
            while batch.len() < self.config.batch_size.max(1) && !stop.load(Ordering::Relaxed) {
                let timeout = match deadline {
                    Some(d) => d.saturating_duration_since(Instant::now()),
                    None => Duration::from_millis(200),
                };
                let polled = match self.consumer.poll(timeout) {
                    None => Polling::Nothing,
                    Some(Ok(m)) => Polling::Message(Polled {
                        topic: m.topic().to_string(),
                        partition: m.partition(),
                        offset: m.offset(),
                        key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                        payload: m.payload().unwrap_or_default().to_vec(),
                    }),
                    Some(Err(KafkaError::PartitionEOF(p))) => Polling::End(p),
                    Some(Err(e)) => Polling::Error(e.to_string()),
                };
                ever_assigned |= self.handle_group_events(on_event);
                match polled {
                    Polling::Nothing => {}
                    Polling::Message(m) => {
                        self.last_message = Instant::now();
                        self.at_end.remove(&m.partition);
                        if self.states.contains_key(&(m.topic.clone(), m.partition)) {
                            deadline.get_or_insert_with(|| Instant::now() + self.config.linger);
                            batch.push(m);
                        }
                    }
                    Polling::End(p) => {
                        self.at_end.insert(p);
                    }
                    Polling::Error(e) => {
                        let text = format!("consumer: {e}");
                        self.status.last_error = Some(text.clone());
                        on_event(StreamEvent::Warning(text));
                    }
                }
                // A rebalance under way: answer what is in hand now, so that the revoked
                // partitions' states can go.
                if deadline.is_some_and(|d| Instant::now() >= d) || !self.leaving.is_empty() {
                    break;
                }
                if batch.is_empty() {
                    self.publish_status(on_event, false);
                    if self.caught_up(ever_assigned) {
                        return Ok(());
                    }
                }
            }
            if !batch.is_empty() {
                self.process(batch, on_event)?;
                self.throttle(stop);
            }
            for key in std::mem::take(&mut self.leaving) {
                self.states.remove(&key);
                self.next_offsets.remove(&key);
                self.watermarks.remove(&key);
            }
            self.publish_status(on_event, false);
            if self.caught_up(ever_assigned) {
                return Ok(());
            }
        }
        self.status.state = "stopping".into();
        Ok(())
    }

    fn caught_up(&self, ever_assigned: bool) -> bool {
        self.config.until_caught_up
            && ever_assigned
            && !self.states.is_empty()
            && self.states.keys().all(|(_, p)| self.at_end.contains(p))
            // A second with nothing new: some brokers (tansu) report a partition's end
            // before the last messages they hand out.
            && self.last_message.elapsed() >= Duration::from_secs(1)
    }

    /// Acts on the rebalances `poll` reported; true when partitions were assigned.
    fn handle_group_events(&mut self, on_event: &mut dyn FnMut(StreamEvent)) -> bool {
        let mut assigned = false;
        for event in self.consumer.context().take() {
            match event {
                GroupEvent::Assign(list) => {
                    self.status.rebalances += 1;
                    for (topic, partition) in &list {
                        self.at_end.remove(partition);
                        let key = (topic.clone(), *partition);
                        if self.leaving.remove(&key) || self.states.contains_key(&key) {
                            continue;
                        }
                        let dir = self
                            .config
                            .state_dir
                            .as_ref()
                            .map(|d| d.join(&self.config.group));
                        let state = match PartitionState::open(
                            dir.as_deref(),
                            topic,
                            *partition,
                            self.config.max_objects,
                        ) {
                            Ok((mut state, report)) => {
                                if report.bad_lines > 0 {
                                    on_event(StreamEvent::Warning(format!(
                                        "{topic}[{partition}]: {} unreadable lines of the partition state skipped (a consumer stopped mid-write)",
                                        report.bad_lines
                                    )));
                                }
                                // Earlier alerts' stamps, for a network that reads them.
                                let (_, problems) = state.restore(&self.reader);
                                for p in problems {
                                    on_event(StreamEvent::Warning(format!(
                                        "{p}; that earlier alert is read without its stamps"
                                    )));
                                }
                                state
                            }
                            Err(e) => {
                                on_event(StreamEvent::Warning(format!(
                                    "{e}; the partition goes on without its earlier objects"
                                )));
                                match PartitionState::open(
                                    None,
                                    topic,
                                    *partition,
                                    self.config.max_objects,
                                ) {
                                    Ok((s, _)) => s,
                                    Err(_) => continue,
                                }
                            }
                        };
                        self.states.insert((topic.clone(), *partition), state);
                    }
                    // Where each partition resumes, for the lag until its first batch.
                    let mut tpl = TopicPartitionList::new();
                    for (topic, partition) in &list {
                        tpl.add_partition(topic, *partition);
                    }
                    if let Ok(committed) =
                        self.consumer.committed_offsets(tpl, Duration::from_secs(5))
                    {
                        for e in committed.elements() {
                            if let Offset::Offset(o) = e.offset() {
                                self.next_offsets
                                    .insert((e.topic().to_string(), e.partition()), o);
                            }
                        }
                    }
                    assigned = !list.is_empty();
                    on_event(StreamEvent::Assigned(list));
                }
                GroupEvent::Revoke(list) => {
                    self.status.rebalances += 1;
                    // Messages already taken from these partitions are answered and their
                    // offsets committed with the batch: dropping them could lose them, as
                    // librdkafka resumes a partition given straight back from where the
                    // application left it. Their states go once the batch is done, unless
                    // the partition comes back in this rebalance.
                    self.leaving.extend(list.iter().cloned());
                    on_event(StreamEvent::Revoked(list));
                }
                GroupEvent::Error(e) => {
                    let text = format!("rebalance: {e}");
                    self.status.last_error = Some(text.clone());
                    on_event(StreamEvent::Warning(text));
                }
            }
        }
        assigned
    }

    fn process(
        &mut self,
        batch: Vec<Polled>,
        on_event: &mut dyn FnMut(StreamEvent),
    ) -> Result<(), StreamError> {
        let reader = &self.reader;
        let decoded: Vec<_> = batch
            .par_iter()
            .map(|m| {
                let label: Arc<str> = format!("{}[{}]@{}", m.topic, m.partition, m.offset).into();
                if m.payload.is_empty() {
                    return (
                        Vec::new(),
                        Some(format!("{label}: an empty message (no payload)")),
                    );
                }
                let d = reader.decode_slice(&m.payload, &label);
                let error = (!d.errors.is_empty() || d.alerts.is_empty()).then(|| {
                    if d.errors.is_empty() {
                        format!("{label}: no alert in the message")
                    } else {
                        d.errors
                            .iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join("; ")
                    }
                });
                (d.alerts, error)
            })
            .collect();
        let mut items = Vec::new();
        let mut letters = Vec::new();
        let keep_messages = self.answerer.keeps_messages();
        for (m, (alerts, error)) in batch.iter().zip(decoded) {
            let message: Option<Arc<[u8]>> =
                (keep_messages && !alerts.is_empty()).then(|| Arc::from(m.payload.as_slice()));
            for alert in alerts {
                items.push(Incoming {
                    alert,
                    topic: m.topic.clone(),
                    partition: m.partition,
                    offset: m.offset,
                    message: message.clone(),
                });
            }
            if let Some(error) = error {
                letters.push(DeadLetter {
                    topic: m.topic.clone(),
                    partition: m.partition,
                    offset: m.offset,
                    key: m.key.clone(),
                    payload: m.payload.clone(),
                    error,
                });
            }
        }
        let results = self.answerer.answer(&mut self.states, &items);

        // Durable first, committed after.
        self.results.write(&results)?;
        self.dead.write(&letters)?;
        let touched: HashSet<(String, i32)> = batch
            .iter()
            .map(|m| (m.topic.clone(), m.partition))
            .collect();
        for key in &touched {
            if let Some(state) = self.states.get_mut(key) {
                state.flush()?;
            }
        }
        let mut ends: BTreeMap<(String, i32), i64> = BTreeMap::new();
        for m in &batch {
            let end = ends
                .entry((m.topic.clone(), m.partition))
                .or_insert(m.offset);
            *end = (*end).max(m.offset);
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), last) in &ends {
            let _ = list.add_partition_offset(topic, *partition, Offset::Offset(last + 1));
            self.next_offsets
                .insert((topic.clone(), *partition), last + 1);
        }
        match self.consumer.commit(&list, CommitMode::Sync) {
            Ok(()) => self.status.commits += 1,
            Err(e) => {
                let text = format!(
                    "commit refused ({e}); the partitions' next owner answers this batch again"
                );
                self.status.last_error = Some(text.clone());
                on_event(StreamEvent::Warning(text));
            }
        }

        self.status.batches += 1;
        self.status.messages += batch.len() as u64;
        self.status.alerts += items.len() as u64;
        self.status.answered += results.iter().filter(|r| r.skipped.is_none()).count() as u64;
        self.status.dead_letters += letters.len() as u64;
        if !letters.is_empty() {
            on_event(StreamEvent::DeadLetters(letters));
        }
        on_event(StreamEvent::Answered {
            alerts: items.into_iter().map(|i| i.alert).collect(),
            results,
        });
        Ok(())
    }

    /// Paces the answers to `max_rate`: after each batch, waits until its alerts are due at
    /// that rate. Time spent waiting (for partitions, for messages) is credit for one second
    /// at most, so that a consumer that waited does not then answer all it waited for at
    /// once (it did once batches were written in milliseconds).
    fn throttle(&mut self, stop: &AtomicBool) {
        let Some(rate) = self.config.max_rate.filter(|r| *r > 0.0) else {
            return;
        };
        let now = Instant::now();
        let credit_from = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
        let new = self.status.alerts.saturating_sub(self.paced_alerts);
        self.paced_alerts = self.status.alerts;
        let due = self.paced_until.map_or(now, |t| t.max(credit_from))
            + Duration::from_secs_f64(new as f64 / rate);
        self.paced_until = Some(due);
        while !stop.load(Ordering::Relaxed) {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    fn publish_status(&mut self, on_event: &mut dyn FnMut(StreamEvent), force: bool) {
        let now = Instant::now();
        if !force
            && self
                .last_status
                .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            return;
        }
        self.last_status = Some(now);
        if force
            || self
                .last_watermarks
                .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(2))
        {
            self.last_watermarks = Some(now);
            for (topic, partition) in self.states.keys() {
                match self
                    .consumer
                    .fetch_watermarks(topic, *partition, Duration::from_secs(2))
                {
                    Ok((_, high)) => {
                        self.watermarks.insert((topic.clone(), *partition), high);
                    }
                    Err(e) => {
                        self.status.last_error = Some(format!("end of {topic}[{partition}]: {e}"));
                    }
                }
            }
        }
        let committed_or_position = self.consumer.position().ok();
        self.status.uptime_s = self.started.elapsed().as_secs_f64();
        self.status.alerts_per_s = self.rate.record(now, self.status.alerts);
        self.status.partitions = self
            .states
            .iter()
            .map(|((topic, partition), state)| {
                let key = (topic.clone(), *partition);
                let next = self.next_offsets.get(&key).copied().or_else(|| {
                    committed_or_position.as_ref().and_then(|l| {
                        match l.find_partition(topic, *partition)?.offset() {
                            Offset::Offset(o) => Some(o),
                            _ => None,
                        }
                    })
                });
                let high = self.watermarks.get(&key).copied();
                let lag = match (next, high) {
                    (Some(n), Some(h)) => Some((h - n).max(0)),
                    // Nothing read yet: all of the partition is to come.
                    (None, Some(h)) if self.at_end.contains(partition) => {
                        Some(0).filter(|_| h >= 0)
                    }
                    _ => None,
                };
                PartitionStatus {
                    topic: topic.clone(),
                    partition: *partition,
                    next_offset: next,
                    high_watermark: high,
                    lag,
                    objects: state.objects(),
                }
            })
            .collect();
        self.status
            .partitions
            .sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        if let Some(path) = &self.config.status_file {
            if let Ok(text) = serde_json::to_vec_pretty(&self.status) {
                if let Err(e) = crate::atomic::write_atomic(path, &text) {
                    on_event(StreamEvent::Warning(format!(
                        "status file {}: {e}",
                        path.display()
                    )));
                }
            }
        }
        on_event(StreamEvent::Status(self.status.clone()));
    }
}
