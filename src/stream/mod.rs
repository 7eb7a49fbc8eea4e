//! Live alert streams over Kafka: consume a topic in a consumer group, keep each object's
//! alerts per partition, answer every alert as it arrives with a stampseq model, write the
//! answers (a topic, rolling CSV files) and the messages that could not be read (dead
//! letters), then commit the offsets: at least once, never lost.
//!
//! One consumer is one [`consumer::run`] loop on one thread: poll a micro-batch, decode it on
//! all cores, answer it, write it, flush the partition states, commit. The CLI
//! (`stampseq stream`) and the app's stream connection both run it; the app on a worker that
//! sends [`StreamEvent`]s over a channel.

pub mod answer;
pub mod consumer;
pub mod kafka;
pub mod produce;
pub mod sink;
pub mod state;
pub mod status;
pub mod tansu;

pub use consumer::{run, StreamConfig, StreamError, StreamSummary};
pub use kafka::{KafkaOptions, SecurityProtocol};

use crate::alert::neutral::Survey;
use crate::alert::AnyAlert;
use serde::{Deserialize, Serialize};

/// The answer for one alert of the stream: one output message, one CSV row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamResult {
    pub survey: Survey,
    #[serde(rename = "objectId")]
    pub object_id: String,
    /// ZTF `candid`; LSST `diaSourceId`.
    #[serde(rename = "alertId")]
    pub alert_id: Option<i64>,
    /// 1-based position of the alert among the object's alerts this stream has seen.
    pub k: usize,
    /// MJD of the detection (ZTF: jd - 2400000.5; LSST: midpointMjdTai).
    pub mjd: f64,
    pub model: Option<String>,
    pub classes: Vec<String>,
    /// One per class, in `classes` order; empty when the alert was not answered.
    pub probabilities: Vec<f32>,
    /// The spread of each over the model's ensemble (empty without one).
    pub std: Vec<f32>,
    pub uncertainty: Option<f32>,
    pub disagreement: Option<f32>,
    pub top_class: Option<String>,
    /// The answer deserves a second look (see [`crate::classify::answer_uncertainty`]).
    pub uncertain: bool,
    /// A rule of the model that changed the answer.
    pub rule: Option<String>,
    /// Why there is no answer (a model for another survey, an alert the model cannot read).
    pub skipped: Option<String>,
    /// The answer comes from a model trained on another survey's labelled alerts (the
    /// neutral model on LSST alerts): transferred, unvalidated on this survey's labels.
    pub transferred: bool,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl StreamResult {
    pub fn csv_header(classes: &[String]) -> String {
        let mut s = String::from("survey,objectId,alertId,k,mjd,model");
        for c in classes {
            s.push_str(&format!(",p_{c}"));
        }
        for c in classes {
            s.push_str(&format!(",sd_{c}"));
        }
        s.push_str(
            ",uncertainty,disagreement,top_class,uncertain,rule,skipped,transferred,topic,partition,offset\n",
        );
        s
    }

    /// One CSV line with a probability and a spread cell per class of `classes` (the
    /// header's: the stream's models' classes), empty where this answer has none.
    pub fn csv_line(&self, classes: &[String]) -> String {
        let quote = |t: &str| {
            if t.contains([',', '"', '\n']) {
                format!("\"{}\"", t.replace('"', "\"\""))
            } else {
                t.to_string()
            }
        };
        let opt = |v: Option<f32>| v.map_or(String::new(), |v| format!("{v:.6}"));
        let mut s = format!(
            "{},{},{},{},{:.7},{}",
            self.survey,
            quote(&self.object_id),
            self.alert_id.map_or(String::new(), |a| a.to_string()),
            self.k,
            self.mjd,
            quote(self.model.as_deref().unwrap_or(""))
        );
        let slot = |c: &String| self.classes.iter().position(|own| own == c);
        for c in classes {
            s.push(',');
            if let Some(p) = slot(c).and_then(|i| self.probabilities.get(i)) {
                s.push_str(&format!("{p:.8}"));
            }
        }
        for c in classes {
            s.push(',');
            if let Some(p) = slot(c).and_then(|i| self.std.get(i)) {
                s.push_str(&format!("{p:.6}"));
            }
        }
        s.push_str(&format!(
            ",{},{},{},{},{},{},{},{},{},{}\n",
            opt(self.uncertainty),
            opt(self.disagreement),
            self.top_class.as_deref().unwrap_or(""),
            self.uncertain,
            quote(self.rule.as_deref().unwrap_or("")),
            quote(self.skipped.as_deref().unwrap_or("")),
            self.transferred,
            quote(&self.topic),
            self.partition,
            self.offset
        ));
        s
    }
}

/// A message that could not be read, with the error, kept whole.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Vec<u8>,
    pub error: String,
}

/// What a running stream tells whoever watches it (the app, over a channel).
#[derive(Debug)]
pub enum StreamEvent {
    /// The group gave this consumer these partitions (topic, partition), or took them.
    Assigned(Vec<(String, i32)>),
    Revoked(Vec<(String, i32)>),
    /// A batch was answered, written and committed: its alerts and their answers, in
    /// the same order.
    Answered {
        alerts: Vec<AnyAlert>,
        results: Vec<StreamResult>,
    },
    DeadLetters(Vec<DeadLetter>),
    Status(status::StreamStatus),
    /// Something went wrong that the stream survives (a commit refused during a
    /// rebalance, a partition state that could not be read...).
    Warning(String),
}
