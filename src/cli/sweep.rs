//! `stampseq sweep`: heads x detection counts x repeats, and the paper-style table.

use crate::alert::{read_all, ReadOptions};
use crate::backend::BackendChoice;
use crate::sequence::group_into_sequences;
use crate::train::sweep::{csv, markdown, sweep, SweepConfig};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// TOML: `heads`, `detections`, `repeats` and a `[train]` table as for `stampseq train`.
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    /// Where inference is timed.
    #[arg(long, default_value = "cpu")]
    pub backend: BackendChoice,
}

pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let config = SweepConfig::from_toml_file(&args.config)?;
    let (alerts, summary) = read_all(&config.train.data, &ReadOptions::default());
    for e in &summary.errors {
        eprintln!("warning: {e}");
    }
    let sequences = group_into_sequences(alerts);
    let infer = args.backend.resolve();
    let device = burn::tensor::Device::flex().autodiff();
    let total = config.heads.len() * config.detections.len() * config.repeats;
    let cancel = AtomicBool::new(false);
    let mut done = 0;
    let (runs, rows) = sweep(
        &config,
        &args.out,
        &sequences,
        &device,
        &infer,
        &cancel,
        &mut |r| {
            done += 1;
            eprintln!(
                "[{done}/{total}] {} N={} repeat {}: test accuracy {:.4}, {:.2} ms/sequence",
                r.head, r.n, r.repeat, r.test_accuracy, r.ms_per_sequence
            );
        },
    )?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
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
