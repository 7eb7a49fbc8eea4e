//! `stampseq bench ...`: throughput measurements. Timings belong here and in BENCHMARKS.md,
//! never in tests.

use crate::alert::{collect_inputs, read_inputs, ReadOptions};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Read and decode alerts (Avro, gzip, FITS) on all cores; last line:
    /// `ingest: N alerts in S s = R alerts/s`.
    Ingest(IngestArgs),
    /// Run a model on batches of real preprocessed alerts; last line:
    /// `infer: R alerts/s (backend, batch N)`.
    Infer(InferArgs),
    /// Time training steps of a configuration; last line: `train: R samples/s (backend)`.
    Train(TrainBenchArgs),
}

#[derive(Debug, Args)]
pub struct TrainBenchArgs {
    /// A `stampseq train` TOML configuration (its data is read and preprocessed first).
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub backend: crate::backend::BackendChoice,
    /// Timed steps, after two warm-up steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
}

#[derive(Debug, Args)]
pub struct InferArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, default_value = "auto")]
    pub backend: crate::backend::BackendChoice,
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Timed batches after two warm-up batches.
    #[arg(long, default_value_t = 10)]
    pub iterations: usize,
    /// Alerts to take the inputs from (default: the bundled sample).
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Avro files, folders or .tar.gz archives.
    pub paths: Vec<PathBuf>,
    /// Timed passes; the median is reported (the first also warms the page cache).
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Skip the cutouts (metadata only).
    #[arg(long)]
    pub no_stamps: bool,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Ingest(args) => ingest(args),
        BenchCommand::Infer(args) => infer(args),
        BenchCommand::Train(args) => train_bench(args),
    }
}

fn ingest(args: IngestArgs) -> anyhow::Result<ExitCode> {
    super::require_paths(&args.paths)?;
    let (inputs, walk_errors) = collect_inputs(&args.paths);
    for e in &walk_errors {
        eprintln!("warning: {e}");
    }
    let options = ReadOptions {
        decode_stamps: !args.no_stamps,
        ..Default::default()
    };
    let mut runs = Vec::new();
    for pass in 0..args.repeat.max(1) {
        let stamps = AtomicUsize::new(0);
        let start = Instant::now();
        let summary = read_inputs(
            &inputs,
            &options,
            |_| {},
            |alert| {
                stamps.fetch_add(alert.cutouts.count(), Ordering::Relaxed);
            },
        );
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "pass {}: {} alerts, {} stamps, {} errors, {:.1} MB in {:.3} s",
            pass + 1,
            summary.alerts,
            stamps.load(Ordering::Relaxed),
            summary.errors.len(),
            summary.bytes as f64 / 1e6,
            secs
        );
        runs.push((secs, summary.alerts, summary.bytes));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (secs, alerts, bytes) = runs[runs.len() / 2];
    anyhow::ensure!(alerts > 0, "no alert could be read");
    println!(
        "ingest: {alerts} alerts in {secs:.3} s = {:.0} alerts/s ({:.1} MB/s, {} threads)",
        alerts as f64 / secs,
        bytes as f64 / 1e6 / secs,
        rayon::current_num_threads()
    );
    Ok(ExitCode::SUCCESS)
}

fn infer(args: InferArgs) -> anyhow::Result<ExitCode> {
    use crate::classify::{ClassifyOptions, LoadedModel};
    use crate::sequence::group_into_sequences;
    let backend = args.backend.resolve();
    let model = LoadedModel::load_for(&args.model, &backend)?;
    let paths = if args.paths.is_empty() {
        super::gui::bundled_sample_dir()
            .into_iter()
            .collect::<Vec<_>>()
    } else {
        args.paths.clone()
    };
    anyhow::ensure!(
        !paths.is_empty(),
        "no alerts given and no bundled sample found"
    );
    let (alerts, _) = crate::alert::read_all(&paths, &ReadOptions::default());
    anyhow::ensure!(!alerts.is_empty(), "no alert could be read");
    // Repeat the real alerts until one batch is full, as one object each.
    let mut batch_alerts = Vec::with_capacity(args.batch);
    while batch_alerts.len() < args.batch.max(1) {
        for a in &alerts {
            if batch_alerts.len() == args.batch.max(1) {
                break;
            }
            let mut a = a.clone();
            a.object_id = format!("bench{}", batch_alerts.len());
            batch_alerts.push(a);
        }
    }
    let sequences = group_into_sequences(batch_alerts);
    let options = ClassifyOptions {
        max_detections: 1,
        batch_size: args.batch.max(1),
        production_rules: false,
    };
    let cancel = AtomicBool::new(false);
    let mut times = Vec::new();
    for i in 0..args.iterations + 2 {
        let start = Instant::now();
        let out = model.classify(&sequences, &options, &backend.device, &cancel, &|_, _| {})?;
        let secs = start.elapsed().as_secs_f64();
        anyhow::ensure!(
            out.rows.len() == sequences.len(),
            "{} alerts skipped",
            out.skipped.len()
        );
        if i >= 2 {
            times.push(secs);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    eprintln!(
        "{} batches of {}: median {:.4} s, best {:.4} s (preprocessing included)",
        times.len(),
        sequences.len(),
        median,
        times[0]
    );
    println!(
        "infer: {:.0} alerts/s ({}, batch {})",
        sequences.len() as f64 / median,
        backend.description,
        sequences.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn train_bench(args: TrainBenchArgs) -> anyhow::Result<ExitCode> {
    use crate::train::{train, TrainConfig, TrainEvent};
    let mut config = TrainConfig::from_toml_file(&args.config)?;
    let warmup = 2;
    config.max_iterations = warmup + args.steps.max(1);
    // No validation inside the timed window.
    config.validate_every = config.max_iterations;
    let backend = args.backend.resolve();
    let device = backend.device.clone().autodiff();
    let run = tempfile::tempdir()?;
    let mut started: Option<Instant> = None;
    let mut timed = 0usize;
    let mut elapsed = 0.0;
    let cancel = AtomicBool::new(false);
    train(&config, run.path(), &device, &cancel, &mut |e| {
        if let TrainEvent::Step { iteration, .. } = e {
            if iteration == warmup {
                started = Some(Instant::now());
            } else if let Some(t) = started {
                if iteration <= warmup + args.steps {
                    timed = iteration - warmup;
                    elapsed = t.elapsed().as_secs_f64();
                }
            }
        }
    })?;
    anyhow::ensure!(timed > 0 && elapsed > 0.0, "no step was timed");
    let samples = (timed * config.batch) as f64;
    eprintln!(
        "{timed} steps of batch {} in {elapsed:.2} s ({:.3} s per step)",
        config.batch,
        elapsed / timed as f64
    );
    println!(
        "train: {:.1} samples/s ({})",
        samples / elapsed,
        backend.training_description()
    );
    Ok(ExitCode::SUCCESS)
}
