//! `stampseq fuse`: two or more model files as one whose answer is the (weighted) mean of
//! theirs.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct FuseArgs {
    /// The model files to fuse (trees and a network, say); two or more, trained on one
    /// survey's alerts.
    #[arg(required = true, num_args = 2..)]
    pub members: Vec<PathBuf>,
    /// The fused model file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Its name in tables and the app (default: the file name).
    #[arg(long)]
    pub name: Option<String>,
    /// The members' weights, in order (`0.15,0.85`; normalised to sum to 1): the answer
    /// is their weighted mean. Default: the plain mean.
    #[arg(long, value_delimiter = ',')]
    pub weights: Option<Vec<f32>>,
}

pub fn run(args: FuseArgs) -> anyhow::Result<ExitCode> {
    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "fused".into())
    });
    let header =
        crate::model::fused::fuse_files(&args.members, &name, args.weights.as_deref(), &args.out)
            .with_context(|| format!("fusing into {}", args.out.display()))?;
    eprintln!(
        "wrote {}: {} (classes {})",
        args.out.display(),
        header.provenance.source,
        header.classes.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
