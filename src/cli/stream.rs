//! `stampseq stream` (consume a Kafka topic and answer every alert) and `stampseq produce`
//! (replay alert files into a topic).

use super::LsstSchemaArgs;
use crate::alert::AnyReader;
use crate::backend::BackendChoice;
use crate::stream::answer::{Answerer, StreamModel};
use crate::stream::{KafkaOptions, SecurityProtocol, StreamConfig, StreamEvent};
use anyhow::Context;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How to reach the brokers (shared by `stream`, `produce` and `bench stream`).
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    #[arg(long)]
    pub brokers: String,
    #[arg(long, value_enum, default_value_t = SecurityProtocol::Plaintext)]
    pub security_protocol: SecurityProtocol,
    /// SASL mechanism for sasl-plaintext / sasl-ssl.
    #[arg(long, default_value = "SCRAM-SHA-512")]
    pub sasl_mechanism: String,
    /// SASL user name; the password is read from $STAMPSEQ_KAFKA_PASSWORD.
    #[arg(long)]
    pub username: Option<String>,
    /// Any librdkafka property, KEY=VALUE (as kcat's -X), e.g. -X session.timeout.ms=6000.
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub option: Vec<String>,
}

impl KafkaArgs {
    pub fn options(&self) -> anyhow::Result<KafkaOptions> {
        let mut o = KafkaOptions::new(&self.brokers);
        o.security = self.security_protocol;
        o.sasl_mechanism = self.sasl_mechanism.clone();
        o.username = self.username.clone();
        o.extra = KafkaOptions::parse_extra(&self.option)?;
        Ok(o.with_password_from_env())
    }
}

#[derive(Debug, Args)]
pub struct StreamArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Topic(s) to consume.
    #[arg(long, required = true)]
    pub topic: Vec<String>,
    /// Consumer group: processes of one group share the partitions.
    #[arg(long, default_value = "stampseq")]
    pub group: String,
    /// Where the group has no committed offset, start at the partitions' beginning (else at
    /// their end). Committed offsets always win: a restart continues where it stopped.
    #[arg(long)]
    pub from_beginning: bool,
    /// The model; repeat it to give one per survey (a ZTF model and an LSST model): each
    /// alert is answered by the model of its survey. A survey no given model reads gets its
    /// bundled default: default-trees (ZTF), neutral-trees (LSST, answers marked
    /// transferred).
    #[arg(long = "model")]
    pub models: Vec<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub backend: BackendChoice,
    /// Write one JSON message per alert here (key: the object id).
    #[arg(long)]
    pub out_topic: Option<String>,
    /// Write rolling CSV files of answers into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Rows per CSV file before the next one starts.
    #[arg(long, default_value_t = 100_000)]
    pub rows_per_file: usize,
    /// Messages that cannot be read go here, whole, with the error in headers.
    #[arg(long)]
    pub dead_letter_topic: Option<String>,
    /// ... or into this folder (default: STATE_DIR/dead-letters).
    #[arg(long)]
    pub dead_letter_dir: Option<PathBuf>,
    /// Each partition's objects, so that a restart or another member of the group continues
    /// their sequences; give the group's processes the same folder.
    #[arg(long, default_value = "stampseq-stream")]
    pub state_dir: PathBuf,
    /// Keep no state on disk (sequences restart with each process).
    #[arg(long)]
    pub no_state: bool,
    /// A small JSON status (alerts/s, lag per partition, errors), rewritten every second.
    #[arg(long)]
    pub status_file: Option<PathBuf>,
    /// Alerts per micro-batch.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// How long a batch waits to fill, milliseconds.
    #[arg(long, default_value_t = 100)]
    pub linger_ms: u64,
    /// Objects held in memory per partition (least recently seen dropped first).
    #[arg(long, default_value_t = 200_000)]
    pub max_objects: usize,
    /// At most this many alerts per second (replays, demonstrations).
    #[arg(long)]
    pub max_rate: Option<f64>,
    /// Exit once the partitions held are read to their end (catch-up jobs, benchmarks).
    #[arg(long)]
    pub until_caught_up: bool,
    #[command(flatten)]
    pub lsst: LsstSchemaArgs,
    /// Send each model's raw output: no physics rules after it (by default every model's
    /// answer passes them).
    #[arg(long)]
    pub no_rules: bool,
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[arg(long)]
    pub topic: String,
    /// Alert files or folders: each file is one message (ZTF Avro, LSST framed).
    pub paths: Vec<PathBuf>,
    /// Send everything this many times (load tests).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    #[command(flatten)]
    pub lsst: LsstSchemaArgs,
}

/// The stream's models: those given, then the bundled default of each survey no given
/// model reads (ZTF `default-trees`, LSST `neutral-trees`), so that a topic carrying both
/// surveys' alerts is answered whole.
pub fn load_answerer(models: &[PathBuf], backend: BackendChoice) -> anyhow::Result<Answerer> {
    use crate::alert::neutral::Survey;
    let mut loaded = models
        .iter()
        .map(|p| StreamModel::load(p, backend))
        .collect::<Result<Vec<_>, _>>()?;
    for survey in Survey::ALL {
        if loaded.iter().any(|m| m.model.reads(survey)) {
            continue;
        }
        let path = crate::assets::default_model_for(survey).with_context(|| {
            format!(
                "no model for {survey} alerts given and the bundled default cannot be had: {}",
                crate::assets::why_no_default_model()
            )
        })?;
        loaded.push(StreamModel::load(&path, backend)?);
    }
    Ok(Answerer::new(loaded)?)
}

pub fn config_from(args: &StreamArgs) -> anyhow::Result<StreamConfig> {
    let mut c = StreamConfig::new(args.kafka.options()?, args.topic.clone(), &args.group);
    c.from_beginning = args.from_beginning;
    c.out_topic = args.out_topic.clone();
    c.out_dir = args.out.clone();
    c.rows_per_file = args.rows_per_file;
    c.dead_letter_topic = args.dead_letter_topic.clone();
    c.dead_letter_dir = Some(
        args.dead_letter_dir
            .clone()
            .unwrap_or_else(|| args.state_dir.join("dead-letters")),
    );
    c.state_dir = (!args.no_state).then(|| args.state_dir.clone());
    c.status_file = args.status_file.clone();
    c.batch_size = args.batch;
    c.linger = Duration::from_millis(args.linger_ms);
    c.max_objects = args.max_objects;
    c.max_rate = args.max_rate;
    c.until_caught_up = args.until_caught_up;
    let read = args.lsst.read_options();
    c.lsst_schemas = read.lsst_schemas;
    c.schema_registry = read.schema_registry;
    Ok(c)
}

pub fn run_stream(args: StreamArgs) -> anyhow::Result<ExitCode> {
    // Ctrl-C and SIGTERM finish the batch in hand, commit it and leave the group; first
    // thing, so that one arriving while the model loads stops the stream cleanly too.
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed))
            .context("installing the Ctrl-C / SIGTERM handler")?;
    }
    let config = config_from(&args)?;
    let mut answerer = load_answerer(&args.models, args.backend)?;
    answerer.options.rules = !args.no_rules;
    let models: Vec<String> = answerer
        .models
        .iter()
        .map(|m| {
            format!(
                "{} ({}, {})",
                m.model.name(),
                m.model.header.kind,
                m.survey()
            )
        })
        .collect();
    eprintln!(
        "model: {}; consuming {} as group {} from {}",
        models.join(", "),
        config.topics.join(", "),
        config.group,
        config.kafka.brokers
    );
    let live = std::io::stderr().is_terminal();
    let mut last_log = std::time::Instant::now();
    let mut on_event = |event: StreamEvent| match event {
        StreamEvent::Status(s) => {
            if live {
                eprint!("\r\x1b[2K{}", s.line());
            } else if last_log.elapsed() >= Duration::from_secs(10) {
                last_log = std::time::Instant::now();
                eprintln!("{}", s.line());
            }
        }
        StreamEvent::Assigned(p) => eprintln!("{}assigned: {}", cr(live), list(&p)),
        StreamEvent::Revoked(p) => eprintln!("{}revoked: {}", cr(live), list(&p)),
        StreamEvent::DeadLetters(d) => {
            for d in d {
                let at = format!("{}[{}]@{}", d.topic, d.partition, d.offset);
                eprintln!("{}dead letter: {}", cr(live), named(&at, &d.error));
            }
        }
        StreamEvent::Warning(w) => eprintln!("{}warning: {w}", cr(live)),
        StreamEvent::Answered { .. } => {}
    };
    let summary = crate::stream::run(&config, &answerer, &stop, &mut on_event)?;
    if live {
        eprintln!();
    }
    eprintln!(
        "stopped: {} messages, {} alerts ({} answered), {} dead letters, {} commits",
        summary.messages, summary.alerts, summary.answered, summary.dead_letters, summary.commits
    );
    Ok(ExitCode::SUCCESS)
}

fn cr(live: bool) -> &'static str {
    if live {
        "\r\x1b[2K"
    } else {
        ""
    }
}

fn list(p: &[(String, i32)]) -> String {
    p.iter()
        .map(|(t, p)| format!("{t}[{p}]"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run_produce(args: ProduceArgs) -> anyhow::Result<ExitCode> {
    super::require_paths(&args.paths)?;
    let read = args.lsst.read_options();
    let reader = AnyReader {
        decode_stamps: false,
        lsst_schemas: read.lsst_schemas,
        schema_registry: read.schema_registry,
    };
    let prepared = crate::stream::produce::prepare(&args.paths, &reader);
    for r in &prepared.refused {
        eprintln!("not sent: {r}");
    }
    for m in &prepared.messages {
        if let Some(why) = &m.unreadable {
            let file = m.file.display().to_string();
            eprintln!("sent as it is (unreadable): {}", named(&file, why));
        }
    }
    anyhow::ensure!(!prepared.messages.is_empty(), "nothing to send");
    let sent = crate::stream::produce::send(
        &args.kafka.options()?,
        &args.topic,
        &prepared.messages,
        args.repeat,
    )?;
    eprintln!("sent {sent} messages to {}", args.topic);
    Ok(ExitCode::SUCCESS)
}

/// `error` led by where it happened, unless the reader's error already names that place.
fn named(place: &str, error: &str) -> String {
    if error.starts_with(place) {
        error.to_string()
    } else {
        format!("{place}: {error}")
    }
}
