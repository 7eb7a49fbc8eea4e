//! The command line: argument parsing and one thin module per subcommand.

mod bench;
mod bench_active;
mod bench_stream;
mod benchmark;
mod classify;
mod desktop;
mod evaluate;
mod finetune;
mod fuse;
pub(crate) mod gui;
mod import;
mod inspect;
mod labels;
mod neutralise;
mod progress;
mod simulate;
mod stream;
mod sweep;
mod table;
mod train;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "stampseq",
    version,
    long_version = crate::assets::long_version(),
    about = "Classify short sequences of ZTF and Rubin/LSST alerts from their image stamps and metadata (Temporal Stamp Classifier)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read alert files, folders or .tar.gz archives and summarise them: alerts, objects,
    /// schema versions, stamp shapes, and every error with its file and record.
    Inspect(inspect::InspectArgs),
    /// One row per alert (ZTF or LSST) in survey-neutral units, as CSV or JSON lines.
    Table(table::TableArgs),
    /// Convert the ALeRCE stamp classifier's weights into a stampseq model file.
    ImportAlerce(import::ImportAlerceArgs),
    /// Class probabilities for each object's first detections, with a model file.
    Classify(classify::ClassifyArgs),
    /// Train every head x detection count x repeat and print the paper-style table.
    Sweep(sweep::SweepArgs),
    /// Open the desktop app on alert files, folders or archives.
    Gui(gui::GuiArgs),
    /// Measure throughput.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Write labelled synthetic ZTF alerts (AGN, SN, VS, asteroid, bogus) made on real
    /// template stamps.
    Simulate(simulate::SimulateArgs),
    /// Train a temporal or enhanced classifier, or trees ([model] kind = "trees"), on ZTF or LSST alerts (one survey per model), from a TOML configuration.
    Train(train::TrainArgs),
    /// Metrics of a model file on labelled alerts (accuracy, F1, per number of detections).
    Evaluate(evaluate::EvaluateArgs),
    /// The real-data benchmark: every model, the trees and the majority answer on the
    /// committed split of real labelled alerts, with repeats, calibration and figures.
    Benchmark(benchmark::BenchmarkArgs),
    /// Fuse model files into one whose answer is the (weighted) mean of theirs (trees on the
    /// alert's metadata with a network on its stamps), the priors and the physics rules
    /// applied once.
    Fuse(fuse::FuseArgs),
    /// Write a copy of a network model that reads some features as missing (its sky
    /// position, say), with the same weights.
    Neutralise(neutralise::NeutraliseArgs),
    /// Retrain the default answer's trees on your vetting labels (in a fused model, weigh
    /// them again, by their score out of fold on your labels); the new model is written
    /// beside the old one with a report of what it bought.
    Finetune(finetune::FinetuneArgs),
    /// Consume alerts from Kafka and answer each as it arrives (consumer groups, at least
    /// once: offsets committed after the answers are written; unreadable messages to a
    /// dead-letter topic or folder).
    Stream(Box<stream::StreamArgs>),
    /// Replay alert files into a Kafka topic, one message per file, keyed by object, in
    /// time order.
    Produce(stream::ProduceArgs),
    /// Import labels from another tool's CSV, or export yours with their details.
    #[command(subcommand)]
    Labels(labels::LabelsCommand),
    /// Install a desktop entry and icon for this executable (Linux, for this user).
    InstallDesktop(desktop::InstallDesktopArgs),
}

/// Runs a parsed command line and returns the process exit status.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Inspect(args)) => inspect::run(args),
        Some(Command::Table(args)) => table::run(args),
        Some(Command::Bench(cmd)) => bench::run(cmd),
        Some(Command::Simulate(args)) => simulate::run(args),
        Some(Command::Gui(args)) => gui::run_gui(args),
        Some(Command::ImportAlerce(args)) => import::run(args),
        Some(Command::Classify(args)) => classify::run(args),
        Some(Command::Sweep(args)) => sweep::run(args),
        Some(Command::Train(args)) => train::run(args),
        Some(Command::Evaluate(args)) => evaluate::run(args),
        Some(Command::Benchmark(args)) => benchmark::run(args),
        Some(Command::Finetune(args)) => finetune::run(args),
        Some(Command::Fuse(args)) => fuse::run(args),
        Some(Command::Neutralise(args)) => neutralise::run(args),
        Some(Command::Labels(cmd)) => labels::run(cmd),
        Some(Command::Stream(args)) => stream::run_stream(*args),
        Some(Command::Produce(args)) => stream::run_produce(args),
        Some(Command::InstallDesktop(args)) => desktop::run(args),
        // No command: the app on the bundled sample, as a desktop user expects.
        None => gui::run_gui(gui::GuiArgs::default()),
    }
}

/// Where LSST writer schemas come from, for commands that read LSST framed messages.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LsstSchemaArgs {
    /// LSST alert schema folder (alert_packet's `schema/`), for Confluent-framed messages.
    /// Without it, `$STAMPSEQ_LSST_SCHEMAS`.
    #[arg(long)]
    pub lsst_schemas: Option<PathBuf>,
    /// A Confluent schema registry (http:// or https://) for schema ids the folder lacks.
    #[arg(long, value_name = "URL")]
    pub schema_registry: Option<String>,
    /// Where registry schemas are cached (default: the user's cache folder).
    #[arg(long, value_name = "DIR", requires = "schema_registry")]
    pub schema_cache: Option<PathBuf>,
}

impl LsstSchemaArgs {
    pub fn read_options(&self) -> crate::alert::ReadOptions {
        crate::alert::ReadOptions {
            lsst_schemas: self.lsst_schemas.clone(),
            schema_registry: self
                .schema_registry
                .as_deref()
                .map(|url| crate::alert::lsst::SchemaRegistry::new(url, self.schema_cache.clone())),
            ..Default::default()
        }
    }
}

/// Paths given on the command line, checked for at least one.
fn require_paths(paths: &[PathBuf]) -> anyhow::Result<()> {
    anyhow::ensure!(
        !paths.is_empty(),
        "give at least one file, folder or archive"
    );
    Ok(())
}
