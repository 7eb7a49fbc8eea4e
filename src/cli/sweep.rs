//! `stampseq sweep`: heads x detection counts x repeats, and the paper-style table.

use crate::alert::{collect_inputs, ReadOptions};
use crate::backend::BackendChoice;
use crate::experiments::sweep::{csv, markdown, sweep, SweepConfig};
use crate::sequence::neutral::read_objects;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// TOML: `heads`, `detections`, `repeats` and a `[train]` table as for `stampseq train`.
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    /// Only these heads of the configuration (names as in the table, comma-separated): to
    /// run parts of one sweep in parallel processes into the same --out; running the whole
    /// configuration afterwards takes the finished runs as they are and prints the table.
    #[arg(long, value_delimiter = ',')]
    pub heads: Vec<String>,
    /// Where inference is timed.
    #[arg(long, default_value = "cpu")]
    pub backend: BackendChoice,
}

pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let mut config = SweepConfig::from_toml_file(&args.config)?;
    if !args.heads.is_empty() {
        let known: Vec<&str> = config.heads.iter().map(|h| h.name()).collect();
        if let Some(unknown) = args.heads.iter().find(|h| !known.contains(&h.as_str())) {
            anyhow::bail!(
                "--heads {unknown}: {} has the heads {}",
                args.config.display(),
                known.join(", ")
            );
        }
        config
            .heads
            .retain(|h| args.heads.iter().any(|w| w == h.name()));
    }
    let (inputs, walk_errors) = collect_inputs(&config.train.data);
    let (sequences, summary) = read_objects(&inputs, &ReadOptions::default(), |_| {});
    for e in walk_errors.iter().chain(&summary.errors) {
        eprintln!("warning: {e}");
    }
    let infer = args.backend.resolve();
    let device = burn::tensor::Device::flex().autodiff();
    let total = config.heads.len() * config.detections.len() * config.repeats;
    // Ctrl-C stops the run in hand at its next step (saved, so that running the same sweep
    // again resumes it) and writes the table of the runs finished so far.
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        ctrlc::set_handler(move || cancel.store(true, Ordering::Relaxed))
            .context("installing the Ctrl-C handler")?;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let runs_path = args.out.join("runs.json");
    let mut done = Vec::new();
    let (runs, rows) = sweep(
        &config,
        &args.out,
        &sequences,
        &device,
        &infer,
        &cancel,
        &mut |r| {
            done.push(r.clone());
            eprintln!(
                "[{}/{total}] {} N={} repeat {}: test balanced accuracy {:.4}, accuracy {:.4} ({} objects), {:.2} ms/sequence",
                done.len(),
                r.head,
                r.n,
                r.repeat,
                r.test_balanced_accuracy,
                r.test_accuracy,
                r.test_objects,
                r.ms_per_sequence
            );
            // Every finished run on disk at once: hours of training survive a crash.
            if let Ok(json) = serde_json::to_string_pretty(&done) {
                if let Err(e) = crate::atomic::write_atomic(&runs_path, json.as_bytes()) {
                    eprintln!("warning: {}: {e}", runs_path.display());
                }
            }
        },
    )?;
    let md = markdown(&rows);
    crate::atomic::write_atomic(&args.out.join("sweep.md"), md.as_bytes())?;
    crate::atomic::write_atomic(&args.out.join("sweep.csv"), csv(&rows).as_bytes())?;
    crate::atomic::write_atomic(
        &args.out.join("runs.json"),
        serde_json::to_string_pretty(&runs)?.as_bytes(),
    )?;
    print!("{md}");
    Ok(ExitCode::SUCCESS)
}
