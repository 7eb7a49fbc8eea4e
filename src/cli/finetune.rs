//! `stampseq finetune`: the default answer's trees retrained on your vetting labels.

use crate::alert::neutral::Survey;
use crate::experiments::answers::read_labelled_objects;
use crate::experiments::benchmark::read_split;
use crate::experiments::finetune::{finetune, render_report, shared_data, FinetuneConfig};
use crate::sequence::neutral::{read_objects, ObjectSequence};
use anyhow::Context;
use clap::Args;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct FinetuneArgs {
    /// Alert files, folders or archives holding the vetted objects.
    pub paths: Vec<PathBuf>,
    /// The model to start from: a tree model or a fused one holding trees (default: the
    /// bundled default answer for the labelled objects' survey). It is never
    /// overwritten: the new model is written beside it as NAME.ft-YYYYMMDD-HHMM.stampseq.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Your labels: the app's labels folder or its labels.csv (objectId,label).
    #[arg(long)]
    pub labels: PathBuf,
    /// The shared data folder, whose benchmark training objects are trained on too
    /// (default: `$STAMPSEQ_DATA`, else `../shared/data` beside the checkout the binary was
    /// built from, as the app finds it).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The benchmark split naming those objects (default: the bundled one).
    #[arg(long)]
    pub split: Option<PathBuf>,
    /// How many bundled objects one of your labels weighs.
    #[arg(long, default_value_t = 3)]
    pub user_weight: usize,
    /// Folds of your labels for judging the new model: each label is scored by trees that
    /// did not train on it (the written model trains on all of them).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[command(flatten)]
    pub lsst: super::LsstSchemaArgs,
}

pub fn run(args: FinetuneArgs) -> anyhow::Result<ExitCode> {
    super::require_paths(&args.paths)?;
    let labels_csv = if args.labels.is_dir() {
        args.labels.join("labels.csv")
    } else {
        args.labels.clone()
    };
    let user_labels = crate::labels::read_labels_csv(&labels_csv)
        .with_context(|| format!("reading your labels {}", labels_csv.display()))?;
    let (inputs, walk_errors) = crate::alert::collect_inputs(&args.paths);
    let (loaded, summary) = read_objects(&inputs, &args.lsst.read_options(), |_| {});
    for e in walk_errors.iter().chain(&summary.errors) {
        eprintln!("warning: {e}");
    }
    anyhow::ensure!(!loaded.is_empty(), "no alert could be read");
    // Your labels on one survey's objects only: that survey's default model is the base
    // (on LSST labels the neutral model, learnt on ZTF, becomes an LSST model); labels on
    // several surveys, or none, start from the default survey's (ZTF).
    let labelled: std::collections::BTreeSet<Survey> = loaded
        .iter()
        .filter(|o| user_labels.contains_key(&o.key.id))
        .map(|o| o.key.survey)
        .collect();
    let survey = match (labelled.len(), labelled.iter().next()) {
        (1, Some(s)) => *s,
        _ => Survey::default(),
    };
    let base = match &args.model {
        Some(p) => p.clone(),
        None => crate::assets::default_model_for(survey).with_context(|| {
            format!(
                "no --model given and the bundled default model for {survey} alerts cannot \
                 be had: {}",
                crate::assets::why_no_default_model()
            )
        })?,
    };
    eprintln!("fine-tuning {}", base.display());

    // The bundled training data: the benchmark split's training and validation objects,
    // when the shared data is here; without it, your labels alone.
    let data = args.data.clone().or_else(shared_data).unwrap_or_default();
    let split = args
        .split
        .clone()
        .or_else(crate::assets::bundled_split)
        .unwrap_or_default();
    let (bundled, bundled_labels) = match read_split(&split) {
        Ok(rows) if data.is_dir() => {
            let fit: HashMap<String, String> = rows
                .iter()
                .filter(|r| r.part != "test")
                .map(|r| (r.object_id.clone(), r.label.clone()))
                .collect();
            let (objects, _) = read_labelled_objects(&data, &|id| fit.contains_key(id));
            (objects, fit)
        }
        _ => {
            let missing = if split.is_file() {
                format!("no shared data at {:?}", data.display())
            } else if split.as_os_str().is_empty() {
                "no benchmark split bundled".to_string()
            } else {
                format!("the split {:?} does not read", split.display())
            };
            eprintln!(
                "note: no bundled training data ({missing}; --data, --split): training on \
                 your labels alone"
            );
            (Vec::new(), HashMap::new())
        }
    };
    let bundled_refs: Vec<&ObjectSequence> = bundled.iter().collect();
    let config = FinetuneConfig {
        user_weight: args.user_weight.max(1),
        folds: args.folds.max(2),
        ..Default::default()
    };
    let report = finetune(
        &base,
        &loaded,
        &user_labels,
        &bundled_refs,
        &bundled_labels,
        &config,
        &|l| eprintln!("{l}"),
    )?;
    let text = render_report(&report);
    let md = report.new_model.with_extension("md");
    crate::atomic::write_atomic(&md, text.as_bytes())
        .with_context(|| format!("writing {}", md.display()))?;
    crate::atomic::write_atomic(
        &report.new_model.with_extension("json"),
        &serde_json::to_vec_pretty(&report)?,
    )?;
    println!("{text}");
    eprintln!(
        "wrote {} (the old model {} is untouched)",
        report.new_model.display(),
        base.display()
    );
    Ok(ExitCode::SUCCESS)
}
