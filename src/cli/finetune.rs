//! `stampseq finetune`: the default tree model retrained on your vetting labels.

use crate::alert::{read_all, ReadOptions};
use crate::experiments::benchmark::read_split;
use crate::experiments::finetune::{finetune, render_report, FinetuneConfig};
use crate::sequence::group_into_sequences;
use anyhow::Context;
use clap::Args;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct FinetuneArgs {
    /// Alert files, folders or archives holding the vetted objects.
    pub paths: Vec<PathBuf>,
    /// The tree model to start from (default: the bundled default answer). It is never
    /// overwritten: the new model is written beside it as NAME.ft-YYYYMMDD-HHMM.stampseq.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Your labels: the app's labels folder or its labels.csv (objectId,label).
    #[arg(long)]
    pub labels: PathBuf,
    /// The shared data folder, whose benchmark training objects are trained on too.
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    #[arg(long, default_value = "assets/benchmark/split.csv")]
    pub split: PathBuf,
    /// How many bundled objects one of your labels weighs.
    #[arg(long, default_value_t = 3)]
    pub user_weight: usize,
    /// Share of your labels kept to judge the new model.
    #[arg(long, default_value_t = 0.2)]
    pub val_fraction: f64,
}

pub fn run(args: FinetuneArgs) -> anyhow::Result<ExitCode> {
    super::require_paths(&args.paths)?;
    let base = match &args.model {
        Some(p) => p.clone(),
        None => crate::assets::default_model().with_context(|| {
            format!(
                "no --model given and the bundled default model cannot be had: {}",
                crate::assets::why_no_default_model()
            )
        })?,
    };
    let labels_csv = if args.labels.is_dir() {
        args.labels.join("labels.csv")
    } else {
        args.labels.clone()
    };
    let user_labels = crate::labels::read_labels_csv(&labels_csv)
        .with_context(|| format!("reading your labels {}", labels_csv.display()))?;
    let (alerts, summary) = read_all(&args.paths, &ReadOptions::default());
    for e in &summary.errors {
        eprintln!("warning: {e}");
    }
    let loaded = group_into_sequences(alerts);
    anyhow::ensure!(!loaded.is_empty(), "no alert could be read");

    // The bundled training data: the benchmark split's training and validation objects,
    // when the shared data is here; without it, your labels alone.
    let (bundled, bundled_labels) = match read_split(&args.split) {
        Ok(rows) if args.data.is_dir() => {
            let fit: HashMap<String, String> = rows
                .iter()
                .filter(|r| r.part != "test")
                .map(|r| (r.object_id.clone(), r.label.clone()))
                .collect();
            let wanted: HashSet<&str> = fit.keys().map(|k| k.as_str()).collect();
            let folders = crate::experiments::answers::labelled_alert_folders(&args.data);
            let (alerts, _) = read_all(&folders, &ReadOptions::default());
            let seqs = group_into_sequences(
                alerts
                    .into_iter()
                    .filter(|a| wanted.contains(a.object_id.as_str())),
            );
            (seqs, fit)
        }
        _ => {
            eprintln!(
                "note: no bundled training data ({} or {}): training on your labels alone",
                args.split.display(),
                args.data.display()
            );
            (Vec::new(), HashMap::new())
        }
    };
    let bundled_refs: Vec<&crate::sequence::Sequence> = bundled.iter().collect();
    let config = FinetuneConfig {
        user_weight: args.user_weight.max(1),
        val_fraction: args.val_fraction.clamp(0.0, 0.9),
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
