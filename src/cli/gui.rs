//! `stampseq gui` (and `stampseq` alone): the desktop app.

use crate::app::{run, AppOptions};
use crate::assets::{bundled_models, bundled_sample_dir};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args, Default)]
pub struct GuiArgs {
    /// Alert files, folders or archives to open (default: the bundled sample alerts).
    pub paths: Vec<PathBuf>,
    /// Folder for vetting labels (default: ~/.local/share/stampseq/labels).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Model files to classify with (repeatable).
    #[arg(long = "model")]
    pub models: Vec<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub backend: crate::backend::BackendChoice,
    /// An AllWISE crossmatch table (objectId with W1..W3 or w1mpro..) for the details panel.
    #[arg(long)]
    pub wise: Option<PathBuf>,
    /// An AllWISE catalogue (CSV, or Parquet as IRSA distributes it, by the .parquet/.parq
    /// extension: ra, dec, w1mpro, w2mpro, w3mpro, or VizieR's RAJ2000, DEJ2000, W1mag..) to
    /// cone-search around each object.
    #[arg(long, value_name = "CATALOGUE")]
    pub allwise: Option<PathBuf>,
    /// Cone-search radius in arcseconds (default: the last one used, at first 1).
    #[arg(long, value_name = "ARCSEC", value_parser = parse_radius)]
    pub allwise_radius: Option<f64>,
    /// LSST Kafka messages saved as files need their writer schemas.
    #[command(flatten)]
    pub lsst: super::LsstSchemaArgs,
}

fn parse_radius(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 3600.0 => Ok(r),
        Ok(_) => Err("the radius must be above 0 and at most 3600 arcsec".into()),
        Err(e) => Err(e.to_string()),
    }
}

pub fn run_gui(args: GuiArgs) -> anyhow::Result<ExitCode> {
    let inputs = if args.paths.is_empty() {
        bundled_sample_dir().into_iter().collect()
    } else {
        args.paths
    };
    // With no model asked for, the bundled ones run on whatever is opened.
    let models = if args.models.is_empty() {
        bundled_models()
    } else {
        args.models
    };
    let read = args.lsst.read_options();
    run(AppOptions {
        inputs,
        labels_dir: args.labels,
        fresh_preferences: false,
        models,
        backend: args.backend,
        wise: args.wise,
        allwise: args.allwise,
        allwise_radius_arcsec: args.allwise_radius,
        lsst_schemas: read.lsst_schemas,
        schema_registry: read.schema_registry,
    })?;
    Ok(ExitCode::SUCCESS)
}
