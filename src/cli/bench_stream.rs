//! `stampseq bench stream`: end to end, broker to answers. Real alerts are replayed into a
//! topic of a real broker (a tansu started here, in memory, unless `--brokers` names one),
//! then `stampseq stream` processes read the topic from the beginning to its end with the
//! default model (or `--model`s), writing every answer to an output topic and committing, once with one
//! consumer and once with two in a group. Each run is timed from the consumers' start to
//! their exit (process start and model load included).

use super::stream::KafkaArgs;
use crate::stream::tansu::{self, Tansu};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Instant;

#[derive(Debug, Args)]
pub struct StreamBenchArgs {
    /// Alert files or folders to replay (ZTF Avro, LSST framed messages).
    pub paths: Vec<PathBuf>,
    /// Send the alerts this many times over.
    #[arg(long, default_value_t = 10)]
    pub repeat: usize,
    #[arg(long, default_value_t = 4)]
    pub partitions: u32,
    /// Consumer counts to time, in order.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub consumers: Vec<usize>,
    /// A running cluster instead of a tansu started here; its topics `--topic` and
    /// `--topic`-answers must exist.
    #[arg(long, requires = "topic")]
    pub brokers: Option<String>,
    #[arg(long)]
    pub topic: Option<String>,
    /// The tansu binary (default: $STAMPSEQ_TANSU, ~/.cache/stampseq-tools/bin/tansu, PATH).
    #[arg(long)]
    pub tansu: Option<PathBuf>,
    /// The consumers' models, one per survey, as `stream --model` (default: the bundled
    /// default answer).
    #[arg(long = "model")]
    pub models: Vec<PathBuf>,
    #[command(flatten)]
    pub lsst: super::LsstSchemaArgs,
    /// A librdkafka property for the producer and the consumers, KEY=VALUE (as `stream -X`).
    #[arg(short = 'X', value_name = "KEY=VALUE")]
    pub option: Vec<String>,
}

pub fn run(args: StreamBenchArgs) -> anyhow::Result<ExitCode> {
    super::require_paths(&args.paths)?;
    let exe = std::env::current_exe().context("finding this stampseq")?;
    let (broker, brokers, topic) = match &args.brokers {
        Some(b) => (None, b.clone(), args.topic.clone().unwrap_or_default()),
        None => {
            let t = Tansu::start(tansu::find(args.tansu.as_ref())?)?;
            let brokers = t.address();
            t.create_topic("bench-alerts", args.partitions)?;
            t.create_topic("bench-alerts-answers", args.partitions)?;
            (Some(t), brokers, "bench-alerts".to_string())
        }
    };
    let kafka = KafkaArgs {
        brokers: brokers.clone(),
        security_protocol: Default::default(),
        sasl_mechanism: "SCRAM-SHA-512".into(),
        username: None,
        option: args.option.clone(),
    };
    let read = args.lsst.read_options();
    let reader = crate::alert::AnyReader {
        decode_stamps: false,
        lsst_schemas: read.lsst_schemas.clone(),
        schema_registry: read.schema_registry.clone(),
    };
    let prepared = crate::stream::produce::prepare(&args.paths, &reader);
    anyhow::ensure!(!prepared.messages.is_empty(), "no alert to send");
    let bytes: usize = prepared.messages.iter().map(|m| m.payload.len()).sum();
    let mut producer = kafka.options()?;
    if broker.is_some() {
        // tansu 0.6.0 numbers the records of multi-record batches so that a consumer resuming
        // inside one skips the rest of it (BENCHMARKS.md): one message per produce request.
        producer
            .extra
            .push(("batch.num.messages".into(), "1".into()));
    }
    let t0 = Instant::now();
    let sent = crate::stream::produce::send(&producer, &topic, &prepared.messages, args.repeat)?;
    let produce_s = t0.elapsed().as_secs_f64();
    println!(
        "produced {sent} messages ({:.1} MB) in {produce_s:.1} s = {:.0} messages/s",
        (bytes * args.repeat.max(1)) as f64 / 1e6,
        sent as f64 / produce_s
    );
    let work = tempfile::tempdir()?;
    let mut results = Vec::new();
    for (run, &n) in args.consumers.iter().enumerate() {
        let group = format!("bench-{run}-{n}");
        let t0 = Instant::now();
        let children: Vec<Child> = (0..n.max(1))
            .map(|i| {
                let mut c = Command::new(&exe);
                c.args(["stream", "--brokers", &brokers, "--topic", &topic])
                    .args(["--group", &group, "--from-beginning", "--until-caught-up"])
                    .args(["--out-topic", &format!("{topic}-answers")])
                    .arg("--state-dir")
                    .arg(work.path().join(format!("state-{run}")))
                    .arg("--status-file")
                    .arg(work.path().join(format!("status-{run}-{i}.json")));
                if let Some(dir) = &read.lsst_schemas {
                    c.arg("--lsst-schemas").arg(dir);
                }
                for m in &args.models {
                    c.arg("--model").arg(m);
                }
                for o in &args.option {
                    c.arg("-X").arg(o);
                }
                c.stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .context("starting stampseq stream")
            })
            .collect::<anyhow::Result<_>>()?;
        for mut child in children {
            let status = child.wait()?;
            anyhow::ensure!(status.success(), "a consumer failed: {status}");
        }
        let seconds = t0.elapsed().as_secs_f64();
        let mut alerts = 0u64;
        for i in 0..n.max(1) {
            let path = work.path().join(format!("status-{run}-{i}.json"));
            let text =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let s: crate::stream::status::StreamStatus = serde_json::from_slice(&text)?;
            alerts += s.alerts;
        }
        println!(
            "stream: {n} consumer(s): {alerts} alerts answered in {seconds:.2} s = {:.0} alerts/s",
            alerts as f64 / seconds
        );
        results.push((n, alerts, seconds));
    }
    if let (Some(one), Some(two)) = (
        results.iter().find(|r| r.0 == 1),
        results.iter().find(|r| r.0 == 2),
    ) {
        let rate = |r: &(usize, u64, f64)| r.1 as f64 / r.2;
        println!("scaling: 2 consumers / 1 = {:.2}x", rate(two) / rate(one));
    }
    drop(broker);
    Ok(ExitCode::SUCCESS)
}
