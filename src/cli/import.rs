//! `stampseq import-alerce`: the ALeRCE stamp classifier's TensorFlow weights (exported to
//! safetensors) into a stampseq model file.

use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ImportAlerceArgs {
    /// `alerce_stamp_classifier.safetensors` (TF layouts, with feature_norm/feature_clip).
    pub weights: PathBuf,
    /// The stampseq model file to write.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: ImportAlerceArgs) -> anyhow::Result<ExitCode> {
    let header = crate::model::import::import_alerce(&args.weights, &args.out)?;
    eprintln!(
        "wrote {} ({} model, classes {})",
        args.out.display(),
        header.kind,
        header.classes.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
