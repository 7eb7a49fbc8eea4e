//! A real Kafka-compatible broker for the stream tests: tansu (Apache-2.0), in memory, on a
//! free loopback port, one per test. Found at `$STAMPSEQ_TANSU`, in `~/.cache/stampseq-tools`
//! (where `.ci/run` installs it) or on `PATH`; when none is, the first test that needs it
//! builds it there once with cargo (the others wait), so `cargo test` needs no step before.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::ClientConfig;
use stampseq::stream::tansu::{self, Tansu};
use std::time::{Duration, Instant};

/// A tansu broker for one test; a broker that can be neither found nor built is a failure
/// that says why, not a skipped test.
pub struct Broker(Tansu);

impl Broker {
    pub fn start() -> Self {
        let binary = tansu::find_or_install().unwrap_or_else(|e| panic!("the Kafka tests: {e}"));
        Self(Tansu::start(binary).unwrap_or_else(|e| panic!("{e}")))
    }

    pub fn address(&self) -> String {
        self.0.address()
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        self.0
            .create_topic(name, partitions)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A message read back: key, payload, headers as (name, value).
pub struct Read {
    pub key: Option<String>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, String)>,
}

/// Every message of a topic, from the beginning to the partitions' ends as they are now.
pub fn read_topic(brokers: &str, topic: &str) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "stampseq-test-reader")
        .set("enable.auto.commit", "false")
        .set("log_level", "3")
        .create()
        .expect("reader");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    let mut list = TopicPartitionList::new();
    for &p in &partitions {
        // From the beginning, not from the low watermark: tansu's watermarks do not always
        // match the offsets it hands out.
        list.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    let mut out = Vec::new();
    consumer.assign(&list).expect("assign");
    let t0 = Instant::now();
    // Until the topic has been quiet for a second and a half.
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_millis(1500) {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "reading {topic} back took over a minute"
        );
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        quiet_since = Instant::now();
        let m = m.expect("message");
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_string(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Read {
            key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
            payload: m.payload().unwrap_or_default().to_vec(),
            headers,
        });
    }
    out
}
