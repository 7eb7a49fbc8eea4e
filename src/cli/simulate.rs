//! `stampseq simulate`: labelled synthetic ZTF alerts on real template stamps.

use crate::sim::{self, SimConfig};
use anyhow::Context;
use clap::Args;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Folder to write `<objectId>/<objectId>_<candid>.avro` and `labels.csv` into.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of objects; classes (AGN, SN, VS, asteroid, bogus) take turns.
    #[arg(long)]
    pub objects: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Alert files or folders whose template cutouts are the backgrounds (default: the
    /// unlabelled night of alerts in the shared data, `$STAMPSEQ_DATA` or
    /// `../shared/data`, `ztf/night-20231018`).
    #[arg(long)]
    pub templates: Vec<PathBuf>,
    /// CSV files with an objectId column whose objects' templates must not be used, on top
    /// of those always left out: the bundled sample's objects and the validation and test
    /// objects of the benchmark split (assets/benchmark/split.csv).
    #[arg(long)]
    pub exclude_objects: Vec<PathBuf>,
    #[arg(long, default_value_t = 2)]
    pub min_detections: usize,
    #[arg(long, default_value_t = 5)]
    pub max_detections: usize,
}

/// The objects whose sky no simulated alert may show: the bundled sample's, the
/// benchmark split's validation and test objects, and those of `extra` CSV files.
fn excluded_objects(extra: &[PathBuf]) -> anyhow::Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    if let Some(sample) = crate::assets::bundled_sample_dir() {
        for entry in std::fs::read_dir(&sample)?.flatten() {
            if entry.path().is_dir() {
                ids.insert(entry.file_name().to_string_lossy().into_owned());
            }
        }
        if let Some(split) = sample.parent().map(|a| a.join("benchmark/split.csv")) {
            if split.is_file() {
                for row in crate::experiments::benchmark::read_split(&split)? {
                    if row.part != "train" {
                        ids.insert(row.object_id);
                    }
                }
            }
        }
    }
    for path in extra {
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
        let column = reader
            .headers()?
            .iter()
            .position(|h| h == "objectId")
            .with_context(|| format!("{}: no objectId column", path.display()))?;
        for record in reader.records() {
            let record = record.with_context(|| format!("reading {}", path.display()))?;
            if let Some(id) = record.get(column) {
                ids.insert(id.trim().to_string());
            }
        }
    }
    Ok(ids)
}

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let templates = if args.templates.is_empty() {
        let data = std::env::var_os("STAMPSEQ_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("../shared/data"));
        let night = data.join("ztf/night-20231018");
        anyhow::ensure!(
            night.is_dir(),
            "no default templates at {}: give --templates with folders of real ZTF alerts \
             (not the objects you evaluate on)",
            night.display()
        );
        vec![night]
    } else {
        args.templates
    };
    let exclude_objects = excluded_objects(&args.exclude_objects)?;
    eprintln!(
        "templates: {} (never those of {} sample, evaluation or test objects)",
        templates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        exclude_objects.len()
    );
    let config = SimConfig {
        out: args.out,
        objects: args.objects,
        seed: args.seed,
        templates,
        exclude_objects,
        min_detections: args.min_detections,
        max_detections: args.max_detections,
    };
    let summary = sim::run(&config)?;
    println!(
        "wrote {} alerts of {} objects to {}",
        summary.alerts,
        summary.objects,
        config.out.display()
    );
    for (label, n) in &summary.per_class {
        println!("  {label:<9} {n}");
    }
    Ok(ExitCode::SUCCESS)
}
