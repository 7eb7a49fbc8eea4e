//! `stampseq table`: one row per alert, either survey, in neutral units.

use crate::alert::neutral::{read_table, write_table, TableFormat};
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct TableArgs {
    /// Alert files (ZTF or LSST Avro, Confluent-framed LSST messages, broker Parquet),
    /// folders (searched recursively) or .tar.gz archives.
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub schemas: super::LsstSchemaArgs,
}

pub fn run(args: TableArgs) -> anyhow::Result<ExitCode> {
    super::require_paths(&args.paths)?;
    let options = args.schemas.read_options();
    let (rows, summary) = read_table(&args.paths, &options);
    for e in &summary.errors {
        eprintln!("warning: {e}");
    }
    let format = match args.format {
        Format::Csv => TableFormat::Csv,
        Format::Jsonl => TableFormat::Jsonl,
    };
    match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            write_table(&rows, format, std::io::BufWriter::new(file))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            write_table(&rows, format, std::io::stdout().lock()).context("writing the table")?
        }
    }
    Ok(if rows.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
