//! `stampseq classify`: class probabilities for every object's first detections.

use super::progress;
use crate::alert::collect_inputs;
use crate::alert::neutral::Survey;
use crate::backend::BackendChoice;
use crate::classify::models::classify_with;
use crate::classify::{ClassifyOptions, ClassifyOutput, LoadedModel};
use crate::sequence::neutral::read_objects;
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

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
    /// A stampseq model file (see `import-alerce`, `train` and `benchmark`) for the alerts
    /// of the survey(s) it reads; the others get their survey's bundled default. Defaults:
    /// ZTF `default-fused` (five classes: three GRU temporal networks, with the trees at the
    /// weight the grouped validation chose, retrained by the fine-tune); LSST `neutral-trees` (trees on
    /// survey-neutral features learnt on ZTF objects: answers marked `transferred`).
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub backend: BackendChoice,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Write here instead of standard output (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Detections per object to classify, from the first; 0 (the default) for all (a
    /// transformer head answers as many as its positions, the rest are skipped with the
    /// reason).
    #[arg(long, default_value_t = 0)]
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
    let (inputs, walk_errors) = collect_inputs(&args.paths);
    // Tree models (the defaults) read no stamps: skip inflating and decoding them, most of
    // the cost of reading an alert.
    let model = args.model.clone().or_else(crate::assets::default_model);
    let trees_only = model.as_deref().is_none_or(|p| {
        crate::model::file::read_header(p)
            .is_ok_and(|h| h.kind == crate::model::file::ModelKind::Trees)
    });
    let read_options = crate::alert::ReadOptions {
        decode_stamps: !trees_only,
        ..args.lsst.read_options()
    };
    let bar = progress::read_bar(0);
    let (objects, summary) = read_objects(&inputs, &read_options, |p| {
        bar.set_length(p.bytes_total);
        progress::update(&bar, p);
    });
    bar.finish_and_clear();
    for e in walk_errors.iter().chain(&summary.errors) {
        eprintln!("warning: {e}");
    }
    anyhow::ensure!(!objects.is_empty(), "no alert could be read");
    let surveys: BTreeSet<Survey> = objects.iter().map(|o| o.key.survey).collect();
    let models = run_models(args.model.as_deref(), &surveys, args.backend)?;
    let refs: Vec<&LoadedModel> = models.iter().map(|(m, _)| m).collect();

    let bar = progress::count_bar(0, "classifying");
    let options = answer_options(&args)?;
    let cancel = AtomicBool::new(false);
    let output = classify_with(&refs, &objects, &options, &cancel, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    for s in &output.skipped {
        eprintln!(
            "skipped: {} detection {} ({}): {}",
            s.object_id, s.k, s.source, s.reason
        );
    }
    write_output(&args, &models, &output)?;
    let answered: BTreeSet<&str> = output.rows.iter().map(|r| r.object_id.as_str()).collect();
    eprintln!(
        "classified {} detections of {} objects ({} skipped)",
        output.rows.len(),
        answered.len(),
        output.skipped.len()
    );
    if output.rows.is_empty() {
        anyhow::bail!("no alert could be answered (see the skipped lines above)");
    }
    Ok(ExitCode::SUCCESS)
}

/// The models of a run: the one given (`--model`) for the surveys it reads, the bundled
/// default of each other survey present, each on its backend. A model given for one
/// survey does not stop the others' alerts from being answered.
pub(crate) fn run_models(
    given: Option<&std::path::Path>,
    surveys: &BTreeSet<Survey>,
    backend: BackendChoice,
) -> anyhow::Result<Vec<(LoadedModel, String)>> {
    let load = |path: &std::path::Path| -> anyhow::Result<(LoadedModel, String)> {
        let resolved = LoadedModel::backend_for(path, backend);
        eprintln!("backend: {}", resolved.description);
        let model = LoadedModel::load_for(path, &resolved)?;
        // A fused model's header has no features of its own: its networks' say.
        let (reader, neutralised) = match model.alert_feature_stats() {
            Some(stats) if model.header.kind == crate::model::file::ModelKind::Fused => {
                ("its networks read", &stats.neutralised)
            }
            _ => ("reads", &model.header.feature_stats.neutralised),
        };
        eprintln!(
            "model: {} ({}, classes {}; answers {} alerts{})",
            model.name(),
            model.header.kind,
            model.classes().join(", "),
            Survey::ALL
                .into_iter()
                .filter(|s| model.reads(*s))
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(" and "),
            if neutralised.is_empty() {
                String::new()
            } else {
                format!("; {reader} {} as missing", neutralised.join(", "))
            },
        );
        Ok((model, resolved.description))
    };
    let mut models: Vec<(LoadedModel, String)> = Vec::new();
    if let Some(path) = given {
        models.push(load(path)?);
    }
    for survey in surveys {
        if models.iter().any(|(m, _)| m.reads(*survey)) {
            continue;
        }
        let path = crate::assets::default_model_for(*survey).with_context(|| {
            format!(
                "no model for the {survey} alerts given and the bundled default cannot be had: {}",
                crate::assets::why_no_default_model()
            )
        })?;
        models.push(load(&path)?);
    }
    Ok(models)
}

fn answer_options(args: &ClassifyArgs) -> anyhow::Result<ClassifyOptions> {
    Ok(ClassifyOptions {
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
    })
}

fn write_output(
    args: &ClassifyArgs,
    models: &[(LoadedModel, String)],
    output: &ClassifyOutput,
) -> anyhow::Result<()> {
    let text = match args.format {
        Format::Csv => to_csv(models, output),
        Format::Json => {
            let described: Vec<serde_json::Value> = models
                .iter()
                .map(|(m, backend)| {
                    serde_json::json!({
                        "model": m.name(),
                        "kind": m.header.kind,
                        "classes": m.classes(),
                        "backend": backend,
                        "trained_on": m.header.trained_on.survey,
                        "feature_set": m.header.trained_on.feature_set,
                    })
                })
                .collect();
            let first = &models[0].0;
            serde_json::to_string_pretty(&serde_json::json!({
                "model": first.name(),
                "kind": first.header.kind,
                "classes": first.classes(),
                "backend": models[0].1,
                "survey": first.header.trained_on.survey,
                "models": described,
                "rules": !args.no_rules,
                "priors": match &args.priors {
                    Some(p) => serde_json::json!(crate::model::priors::parse_priors(p)?),
                    None => serde_json::json!("equal"),
                },
                "rows": output.rows,
                "skipped": output.skipped,
            }))?
        }
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

/// One row per answer: the classes of every model of the run as columns (a model lacking
/// one leaves it empty), the spread where any model has one, and whether the answer is
/// transferred from another survey's training.
fn to_csv(models: &[(LoadedModel, String)], output: &ClassifyOutput) -> String {
    let mut classes: Vec<&str> = Vec::new();
    for (m, _) in models {
        for c in m.classes() {
            if !classes.contains(&c.as_str()) {
                classes.push(c);
            }
        }
    }
    let class_lists: HashMap<&str, &[String]> = models
        .iter()
        .map(|(m, _)| (m.name(), m.classes()))
        .collect();
    let mut s = String::from("objectId,k,candid,jd,model");
    for c in &classes {
        s.push_str(&format!(",p_{c}"));
    }
    let spread = models.iter().any(|(m, _)| m.has_uncertainty());
    // A fused model says whether its members agree, with or without a spread.
    let fused = models
        .iter()
        .any(|(m, _)| m.header.kind == crate::model::file::ModelKind::Fused);
    if spread {
        for c in &classes {
            s.push_str(&format!(",sd_{c}"));
        }
        s.push_str(",uncertainty");
    }
    if spread || fused {
        s.push_str(",disagreement");
    }
    s.push_str(",top_class,rule,source,survey,transferred\n");
    for r in &output.rows {
        s.push_str(&format!(
            "{},{},{},{:.7},{}",
            r.object_id,
            r.k,
            r.candid.map_or(String::new(), |c| c.to_string()),
            r.jd,
            r.model
        ));
        let own: &[String] = class_lists.get(r.model.as_str()).copied().unwrap_or(&[]);
        let at = |c: &str| own.iter().position(|o| o == c);
        for c in &classes {
            match at(c).and_then(|i| r.probabilities.get(i)) {
                Some(p) => s.push_str(&format!(",{p:.8}")),
                None => s.push(','),
            }
        }
        if spread {
            for c in &classes {
                match at(c).and_then(|i| r.std.get(i)) {
                    Some(sd) => s.push_str(&format!(",{sd:.6}")),
                    None => s.push(','),
                }
            }
            match r.uncertainty() {
                Some(u) => s.push_str(&format!(",{u:.6}")),
                None => s.push(','),
            }
        }
        if spread || fused {
            match r.disagreement {
                Some(d) => s.push_str(&format!(",{d:.3}")),
                None => s.push(','),
            }
        }
        let quote = |t: &str| {
            if t.contains(',') || t.contains('"') {
                format!("\"{}\"", t.replace('"', "\"\""))
            } else {
                t.to_string()
            }
        };
        s.push_str(&format!(
            ",{},{},{},{},{}\n",
            r.top_class,
            quote(r.rule.as_deref().unwrap_or("")),
            quote(&r.source),
            r.survey,
            r.transferred
        ));
    }
    s
}
