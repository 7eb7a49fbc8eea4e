//! `stampseq labels`: import another tool's labels into a labels folder, and export them.

use crate::labels::{guess_mapping, ForeignCsv, LabelStore};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum LabelsCommand {
    /// Import labels from another tool's CSV (an objectId column and a class column, the
    /// class names mapped to stampseq's).
    Import(ImportArgs),
    /// Export the labels with their confidence, note, vetter and time as CSV.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    /// The labels folder (the app's `--labels`).
    #[arg(long)]
    pub labels: PathBuf,
    /// The column holding the ZTF objectId.
    #[arg(long, default_value = "objectId")]
    pub id_column: String,
    /// The column holding the class.
    #[arg(long, default_value = "class")]
    pub class_column: String,
    /// FROM=TO, one per class name of the file (repeatable); names not given are mapped by
    /// the usual synonyms (QSO -> AGN, RRLyr -> VS, SN Ia -> SN...) or left out.
    #[arg(long = "map")]
    pub map: Vec<String>,
    /// Your name, written into the journal.
    #[arg(long)]
    pub vetter: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub labels: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(cmd: LabelsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LabelsCommand::Import(args) => {
            let foreign = ForeignCsv::read(&args.file)?;
            let column = |name: &str| {
                foreign
                    .headers
                    .iter()
                    .position(|h| h == name)
                    .with_context(|| {
                        format!(
                            "{}: no column {name:?} (columns: {})",
                            args.file.display(),
                            foreign.headers.join(", ")
                        )
                    })
            };
            let (id, class) = (column(&args.id_column)?, column(&args.class_column)?);
            let mut mapping: BTreeMap<String, String> = guess_mapping(&foreign.values(class));
            for m in &args.map {
                let (from, to) = m
                    .split_once('=')
                    .with_context(|| format!("--map {m:?}: expected FROM=TO"))?;
                anyhow::ensure!(
                    crate::labels::VETTING_CLASSES.contains(&to.trim()),
                    "--map {m:?}: {to:?} is not one of {:?}",
                    crate::labels::VETTING_CLASSES
                );
                mapping.insert(from.trim().to_string(), to.trim().to_string());
            }
            for (from, to) in &mapping {
                eprintln!("  {from} -> {to}");
            }
            let (labels, skipped) = foreign.mapped(id, class, &mapping);
            let mut store = LabelStore::open(&args.labels)?;
            store.set_vetter(args.vetter.as_deref());
            let name = args
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let changed = store.import(&labels, &format!("imported from {name}"))?;
            eprintln!(
                "imported {changed} labels ({} rows mapped, {skipped} left out: class not mapped or no id) into {}",
                labels.len(),
                args.labels.display()
            );
        }
        LabelsCommand::Export(args) => {
            let store = LabelStore::open(&args.labels)?;
            store.export_csv(&args.out)?;
            eprintln!("wrote {} labels to {}", store.len(), args.out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
