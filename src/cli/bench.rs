//! `stampseq bench ...`: throughput measurements. Timings belong here and in BENCHMARKS.md,
//! never in tests.

use crate::alert::{collect_inputs, read_inputs, ReadOptions};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Read and decode alerts (Avro, gzip, FITS) on all cores; last line:
    /// `ingest: N alerts in S s = R alerts/s`.
    Ingest(IngestArgs),
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
