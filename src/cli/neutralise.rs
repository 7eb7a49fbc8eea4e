//! `stampseq neutralise`: a copy of a network model file that reads some features as
//! missing.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct NeutraliseArgs {
    /// The network model file (ALeRCE, enhanced or temporal).
    pub model: PathBuf,
    /// The features to read as missing (normalised to 0, the training mean), e.g.
    /// `ra,dec,ecl_long,gal_long`: what tells where an alert came from, not what it is.
    #[arg(long, value_delimiter = ',', required = true)]
    pub features: Vec<String>,
    /// The model file to write (may be the input itself; written atomically).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: NeutraliseArgs) -> anyhow::Result<ExitCode> {
    let header = crate::model::neutralise::neutralise_file(&args.model, &args.features, &args.out)
        .with_context(|| format!("neutralising {}", args.model.display()))?;
    eprintln!(
        "wrote {}: {} reads {} as missing",
        args.out.display(),
        header.name,
        header.feature_stats.neutralised.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
