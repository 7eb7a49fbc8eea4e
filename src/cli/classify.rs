//! `stampseq classify`: class probabilities for every object's first detections.

use super::progress;
use crate::alert::collect_inputs;
use crate::alert::neutral::Survey;
use crate::backend::BackendChoice;
use crate::classify::{ClassifyOptions, ClassifyOutput, LoadedModel};
use crate::model::read::read_lsst_alerts_for_model;
use crate::model::read_alerts_for_model;
use crate::sequence::group_into_sequences;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum Format {
    #[default]
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Avro files, folders or .tar.gz archives.
    pub paths: Vec<PathBuf>,
    /// A stampseq model file (see `import-alerce`, `train` and `benchmark`); by default the
    /// bundled default answer (assets/models/default-trees.stampseq: five classes with
    /// uncertainty).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub backend: BackendChoice,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Write here instead of standard output (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Detections per object to classify, from the first; 0 for all.
    #[arg(long, default_value_t = 5)]
    pub max_detections: usize,
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Apply ALeRCE's production rules (known asteroids; SN dropped on negative subtractions
    /// or a star under the source).
    #[arg(long)]
    pub production_rules: bool,
    /// An AllWISE catalogue (CSV or Parquet, as for `gui --allwise`): the default answer
    /// then also applies the mid-infrared colour rule (W1 - W2 >= 0.8: AGN-like).
    #[arg(long, value_name = "CATALOGUE")]
    pub allwise: Option<PathBuf>,
    /// Answer each detection from it and the object's earlier alerts only, as a stream
    /// does (by default the stationary rule of the tree models also looks at later alerts).
    #[arg(long)]
    pub causal: bool,
    /// Show each model's raw output: no physics rules (stationary, known solar-system
    /// object, real/bogus...) after it. By default every model's answer passes them.
    #[arg(long)]
    pub no_rules: bool,
    /// Class priors of your stream, e.g. `VS=0.7,AGN=0.1,SN=0.1,asteroid=0.1` (ratios
    /// matter; an unnamed class gets the mean). By default the answer is at equal priors,
    /// as the models are trained; the JSON output records which.
    #[arg(long)]
    pub priors: Option<String>,
    #[command(flatten)]
    pub lsst: super::LsstSchemaArgs,
    /// Cone-search radius for --allwise, arcseconds.
    #[arg(long, default_value_t = crate::features::allwise::DEFAULT_RADIUS_ARCSEC)]
    pub allwise_radius: f64,
}

pub fn run(args: ClassifyArgs) -> anyhow::Result<ExitCode> {
    super::require_paths(&args.paths)?;
    let model_path = match &args.model {
        Some(path) => path.clone(),
        None => crate::assets::default_model().with_context(|| {
            format!(
                "no --model given and the bundled default model cannot be had: {}",
                crate::assets::why_no_default_model()
            )
        })?,
    };
    let backend = LoadedModel::backend_for(&model_path, args.backend);
    let backend_words = backend.description.clone();
    eprintln!("backend: {backend_words}");
    let model = LoadedModel::load_for(&model_path, &backend)?;
    eprintln!(
        "model: {} ({}, classes {})",
        model.name(),
        model.header.kind,
        model.classes().join(", ")
    );

    let (inputs, walk_errors) = collect_inputs(&args.paths);
    if model.header.trained_on.survey == Survey::Lsst {
        return classify_lsst(
            &args,
            &model,
            &model_path,
            &backend_words,
            &inputs,
            &walk_errors,
        );
    }
    let alerts = Mutex::new(Vec::new());
    let bar = progress::read_bar(0);
    let summary = read_alerts_for_model(
        &model.header,
        &model_path,
        &inputs,
        &args.lsst.read_options(),
        |p| {
            bar.set_length(p.bytes_total);
            progress::update(&bar, p);
        },
        |a| alerts.lock().unwrap_or_else(|e| e.into_inner()).push(a),
    );
    bar.finish_and_clear();
    let summary = summary?;
    for e in walk_errors.iter().chain(&summary.errors) {
        eprintln!("warning: {e}");
    }
    let sequences = group_into_sequences(alerts.into_inner().unwrap_or_else(|e| e.into_inner()));
    anyhow::ensure!(!sequences.is_empty(), "no alert could be read");

    let bar = progress::count_bar(0, "classifying");
    let options = ClassifyOptions {
        max_detections: args.max_detections,
        batch_size: args.batch,
        production_rules: args.production_rules,
        look_ahead_for_stationary: !args.causal,
        rules: !args.no_rules,
        priors: args
            .priors
            .as_deref()
            .map(crate::model::priors::parse_priors)
            .transpose()?,
        allwise: match &args.allwise {
            Some(path) => Some((
                std::sync::Arc::new(
                    crate::features::allwise::AllWiseCatalogue::from_path(path).with_context(
                        || format!("reading the AllWISE catalogue {}", path.display()),
                    )?,
                ),
                args.allwise_radius,
            )),
            None => None,
        },
        ..ClassifyOptions::default()
    };
    let cancel = AtomicBool::new(false);
    let output = model.classify(
        &sequences,
        &options,
        &backend.device,
        &cancel,
        &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    for s in &output.skipped {
        eprintln!(
            "skipped: {} detection {} ({}): {}",
            s.object_id, s.k, s.source, s.reason
        );
    }
    write_output(&args, &model, &backend_words, &output)?;
    eprintln!(
        "classified {} detections of {} objects ({} skipped)",
        output.rows.len(),
        sequences.len(),
        output.skipped.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// LSST alerts with a model trained on them: a tree model answers each alert on its own
/// record and the history it carries, a network on the stamps of the object's alerts
/// given (so `--max-detections` and `--causal` do not apply); `k` is the object's
/// detection count at the alert.
fn classify_lsst(
    args: &ClassifyArgs,
    model: &LoadedModel,
    model_path: &std::path::Path,
    backend: &str,
    inputs: &[crate::alert::Input],
    walk_errors: &[crate::alert::ReadError],
) -> anyhow::Result<ExitCode> {
    if args.allwise.is_some() || args.production_rules || args.priors.is_some() {
        anyhow::bail!(
            "--allwise, --production-rules and --priors are for ZTF models; {} reads LSST alerts",
            model.name()
        );
    }
    let bar = progress::read_bar(0);
    let read = read_lsst_alerts_for_model(
        &model.header,
        model_path,
        inputs,
        &args.lsst.read_options(),
        |p| {
            bar.set_length(p.bytes_total);
            progress::update(&bar, p);
        },
    );
    bar.finish_and_clear();
    let (alerts, summary) = read?;
    for e in walk_errors.iter().chain(&summary.errors) {
        eprintln!("warning: {e}");
    }
    anyhow::ensure!(!alerts.is_empty(), "no LSST alert could be read");
    let output = model.classify_lsst(&alerts, &AtomicBool::new(false))?;
    write_output(args, model, backend, &output)?;
    let objects: std::collections::HashSet<&str> =
        output.rows.iter().map(|r| r.object_id.as_str()).collect();
    eprintln!(
        "classified {} LSST alerts of {} objects",
        output.rows.len(),
        objects.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_output(
    args: &ClassifyArgs,
    model: &LoadedModel,
    backend: &str,
    output: &ClassifyOutput,
) -> anyhow::Result<()> {
    let text = match args.format {
        Format::Csv => to_csv(model, output),
        Format::Json => serde_json::to_string_pretty(&serde_json::json!({
            "model": model.name(),
            "kind": model.header.kind,
            "classes": model.classes(),
            "backend": backend,
            "survey": model.header.trained_on.survey,
            "rules": !args.no_rules,
            "priors": match &args.priors {
                Some(p) => serde_json::json!(crate::model::priors::parse_priors(p)?),
                None => serde_json::json!("equal"),
            },
            "rows": output.rows,
            "skipped": output.skipped,
        }))?,
    };
    match &args.out {
        Some(path) => crate::atomic::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = stdout.write_all(text.as_bytes());
        }
    }
    Ok(())
}

fn to_csv(model: &LoadedModel, output: &ClassifyOutput) -> String {
    let mut s = String::from("objectId,k,candid,jd,model");
    for c in model.classes() {
        s.push_str(&format!(",p_{c}"));
    }
    let spread = model.has_uncertainty();
    if spread {
        for c in model.classes() {
            s.push_str(&format!(",sd_{c}"));
        }
        s.push_str(",uncertainty,disagreement");
    }
    s.push_str(",top_class,rule,source\n");
    for r in &output.rows {
        s.push_str(&format!(
            "{},{},{},{:.7},{}",
            r.object_id,
            r.k,
            r.candid.map_or(String::new(), |c| c.to_string()),
            r.jd,
            r.model
        ));
        for p in &r.probabilities {
            s.push_str(&format!(",{p:.8}"));
        }
        if spread {
            for sd in &r.std {
                s.push_str(&format!(",{sd:.6}"));
            }
            s.push_str(&format!(
                ",{:.6},{:.3}",
                r.uncertainty().unwrap_or(f32::NAN),
                r.disagreement.unwrap_or(f32::NAN)
            ));
        }
        let quote = |t: &str| {
            if t.contains(',') || t.contains('"') {
                format!("\"{}\"", t.replace('"', "\"\""))
            } else {
                t.to_string()
            }
        };
        s.push_str(&format!(
            ",{},{},{}\n",
            r.top_class,
            quote(r.rule.as_deref().unwrap_or("")),
            quote(&r.source)
        ));
    }
    s
}
