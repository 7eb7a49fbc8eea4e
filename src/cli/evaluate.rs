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
    /// The model file to score. Without it, the default answer `classify` gives: the bundled
    /// ZTF default for ZTF objects, each other survey's default for its objects (in a folder
    /// of the model's name under `--out`).
    #[arg(long)]
    pub model: Option<PathBuf>,
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
    let model_path = match &args.model {
        Some(path) => path.clone(),
        None => crate::assets::default_model()
            .context("no bundled default model was found: give one with --model")?,
    };
    let backend = LoadedModel::backend_for(&model_path, args.backend);
    eprintln!("backend: {}", backend.description);
    let model = LoadedModel::load_for(&model_path, &backend)?;
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
    let (objects, other): (Vec<_>, Vec<_>) =
        objects.into_iter().partition(|o| model.reads(o.key.survey));
    let options = crate::classify::ClassifyOptions {
        rules: !args.no_rules,
        priors: args
            .priors
            .as_deref()
            .map(crate::model::priors::parse_priors)
            .transpose()?,
        ..Default::default()
    };
    if objects.is_empty() && args.model.is_none() && !other.is_empty() {
        // No ZTF object, no model asked for: each survey's objects get their default.
        evaluate_other_surveys(&args, &other, &labels, &options)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !other.is_empty() {
        eprintln!(
            "warning: {} objects are of a survey {} does not read: their labelled ones are \
             scored with their survey's default model, in a folder of its name under {}",
            other.len(),
            model.name(),
            args.out.display()
        );
    }
    anyhow::ensure!(
        !objects.is_empty(),
        "model {} ({}) reads {} alerts and the data holds none",
        model.name(),
        model_path.display(),
        model.header.trained_on.survey
    );
    let report = evaluate_with(
        &model,
        &objects,
        &labels,
        args.max_detections,
        &options,
        &backend.device,
        &args.out,
    )?;
    report_done(&args, &report)?;
    evaluate_other_surveys(&args, &other, &labels, &options)?;
    Ok(ExitCode::SUCCESS)
}

/// The labelled objects of surveys the given model does not read, each survey's scored
/// with its bundled default model (the answer `classify` gives them) into `OUT/<model>/`.
fn evaluate_other_surveys(
    args: &EvaluateArgs,
    objects: &[crate::sequence::neutral::ObjectSequence],
    labels: &std::collections::HashMap<String, String>,
    options: &crate::classify::ClassifyOptions,
) -> anyhow::Result<()> {
    use crate::alert::neutral::Survey;
    for survey in Survey::ALL {
        let of_survey: Vec<&crate::sequence::neutral::ObjectSequence> = objects
            .iter()
            .filter(|o| o.key.survey == survey && labels.contains_key(&o.key.id))
            .collect();
        if of_survey.is_empty() {
            continue;
        }
        let Some(path) = crate::assets::default_model_for(survey) else {
            eprintln!("warning: no bundled default model for {survey} alerts to score them");
            continue;
        };
        let backend = LoadedModel::backend_for(&path, args.backend);
        let model = LoadedModel::load_for(&path, &backend)?;
        let out = args.out.join(model.name());
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        eprintln!(
            "{} labelled {survey} objects, scored with {} into {}",
            of_survey.len(),
            model.name(),
            out.display()
        );
        let report = evaluate_with(
            &model,
            &of_survey,
            labels,
            args.max_detections,
            options,
            &backend.device,
            &out,
        )?;
        eprintln!(
            "  {}: {} objects, accuracy {:.3}, macro F1 {:.3}",
            model.name(),
            report.objects,
            report.accuracy,
            report.macro_f1
        );
    }
    Ok(())
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
