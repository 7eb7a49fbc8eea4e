//! `stampseq evaluate`: metrics of a model file on labelled alerts.

use crate::alert::collect_inputs;
use crate::backend::BackendChoice;
use crate::classify::LoadedModel;
use crate::eval::evaluate::{evaluate_with, read_labels};
use crate::sequence::neutral::read_objects;
use crate::train::Split;
use anyhow::Context;
use clap::Args;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Avro files, folders or .tar.gz archives.
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// `objectId,label` CSV.
    #[arg(long)]
    pub labels: PathBuf,
    /// Folder for metrics.json and the CSV tables.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 5)]
    pub max_detections: usize,
    /// Score each model's raw output: no physics rules after it (by default every model's
    /// answer passes them, as `classify` gives it).
    #[arg(long)]
    pub no_rules: bool,
    /// Class priors of the stream, e.g. `VS=0.7,AGN=0.1,SN=0.1,asteroid=0.1` (by default
    /// the answer is at equal priors, as the models are trained).
    #[arg(long)]
    pub priors: Option<String>,
    #[arg(long, default_value = "auto")]
    pub backend: BackendChoice,
    /// A training run's `split.json`: score only the objects of its test part, so that a
    /// model is not judged on objects it was trained or selected on.
    #[arg(long)]
    pub split: Option<PathBuf>,
    #[command(flatten)]
    pub lsst: super::LsstSchemaArgs,
    /// Which part of `--split` to score.
    #[arg(long, default_value = "test", requires = "split", value_parser = ["train", "val", "test"])]
    pub split_part: String,
}

pub fn run(args: EvaluateArgs) -> anyhow::Result<ExitCode> {
    let backend = LoadedModel::backend_for(&args.model, args.backend);
    eprintln!("backend: {}", backend.description);
    let model = LoadedModel::load_for(&args.model, &backend)?;
    let mut labels = read_labels(&args.labels)?;
    if let Some(path) = &args.split {
        let split =
            Split::load(path).with_context(|| format!("reading the split {}", path.display()))?;
        let part: HashSet<&String> = match args.split_part.as_str() {
            "train" => split.train.iter().collect(),
            "val" => split.val.iter().collect(),
            _ => split.test.iter().collect(),
        };
        let before = labels.len();
        labels.retain(|id, _| part.contains(id));
        eprintln!(
            "{} of {before} labelled objects are in the {} part of {}",
            labels.len(),
            args.split_part,
            path.display()
        );
    }
    let (inputs, walk_errors) = collect_inputs(&args.data);
    let (objects, summary) = read_objects(&inputs, &args.lsst.read_options(), |_| {});
    for e in walk_errors.iter().chain(&summary.errors) {
        eprintln!("warning: {e}");
    }
    let other: usize = objects
        .iter()
        .filter(|o| !model.reads(o.key.survey))
        .count();
    if other > 0 {
        eprintln!(
            "warning: {other} objects are of a survey {} does not read: left out",
            model.name()
        );
    }
    let objects: Vec<_> = objects
        .into_iter()
        .filter(|o| model.reads(o.key.survey))
        .collect();
    anyhow::ensure!(
        !objects.is_empty(),
        "model {} ({}) reads {} alerts and the data holds none",
        model.name(),
        args.model.display(),
        model.header.trained_on.survey
    );
    let report = evaluate_with(
        &model,
        &objects,
        &labels,
        args.max_detections,
        &crate::classify::ClassifyOptions {
            rules: !args.no_rules,
            priors: args
                .priors
                .as_deref()
                .map(crate::model::priors::parse_priors)
                .transpose()?,
            ..Default::default()
        },
        &backend.device,
        &args.out,
    )?;
    report_done(&args, &report)
}

fn report_done(
    args: &EvaluateArgs,
    report: &crate::eval::evaluate::EvalReport,
) -> anyhow::Result<ExitCode> {
    eprintln!(
        "{} objects: accuracy {:.3}, macro F1 {:.3}, {:.1} ms per sequence",
        report.objects, report.accuracy, report.macro_f1, report.mean_inference_ms_per_sequence
    );
    for p in report.per_n.iter().filter(|p| p.objects > 0) {
        eprintln!(
            "  after {} detections: accuracy {:.3} ({} objects)",
            p.n, p.accuracy, p.objects
        );
    }
    for (label, n) in &report.skipped_labels {
        eprintln!("skipped {n} objects labelled {label} (not a class of the model)");
    }
    eprintln!("wrote {}", args.out.join("metrics.json").display());
    Ok(ExitCode::SUCCESS)
}
