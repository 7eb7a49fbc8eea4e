//! `stampseq simulate`: labelled synthetic ZTF alerts on real template stamps.

use crate::sim::{self, SimConfig};
use clap::Args;
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
    /// bundled sample alerts).
    #[arg(long)]
    pub templates: Vec<PathBuf>,
    #[arg(long, default_value_t = 2)]
    pub min_detections: usize,
    #[arg(long, default_value_t = 5)]
    pub max_detections: usize,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let templates = if args.templates.is_empty() {
        let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample");
        anyhow::ensure!(
            bundled.is_dir(),
            "the bundled sample alerts are not at {}: give --templates DIR",
            bundled.display()
        );
        vec![bundled]
    } else {
        args.templates
    };
    let config = SimConfig {
        out: args.out,
        objects: args.objects,
        seed: args.seed,
        templates,
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
