//! `stampseq benchmark`: the real-data benchmark (see `experiments::benchmark`).

use crate::backend::BackendChoice;
use crate::experiments::benchmark::{draw_split, read_split, real_labelled_objects, write_split};
use crate::experiments::benchmark_run::{run_benchmark, BenchmarkConfig};
use crate::experiments::report::render_markdown;
use crate::model::trees::TreeConfig;
use anyhow::Context;
use clap::Args;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BenchmarkArgs {
    /// The shared data folder: ztf/labeled, ztf/sequences, ztf/extra and their manifests.
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// The committed object-level split (objectId,label,part,source,licence).
    #[arg(long, default_value = "assets/benchmark/split.csv")]
    pub split: PathBuf,
    /// Model files to score beside the trees and the majority answer; by default the
    /// bundled networks of assets/models.
    #[arg(long = "model")]
    pub models: Vec<PathBuf>,
    /// Score only the trees and the majority answer (and --alerce): no bundled networks.
    #[arg(long)]
    pub no_networks: bool,
    /// The ALeRCE stamp classifier: its weights (`alerce_stamp_classifier.safetensors`,
    /// imported on the fly) or an imported model file.
    #[arg(long)]
    pub alerce: Option<PathBuf>,
    /// Fresh random splits to repeat the scores on (the paper's protocol uses 10).
    #[arg(long, default_value_t = 10)]
    pub repeats: usize,
    /// Folder for metrics.json, table.md and the figures.
    #[arg(long, default_value = "out/benchmark")]
    pub out: PathBuf,
    /// Also write the tree model trained on the split's training and validation objects
    /// (this is how the bundled default model is made).
    #[arg(long)]
    pub save_model: Option<PathBuf>,
    /// A `stampseq simulate` folder: report the trees trained with and without its objects,
    /// judged on the real validation objects (the simulated-data ablation).
    #[arg(long)]
    pub simulated: Option<PathBuf>,
    /// Objects every drawn split (--draw-split and the repeats) keeps in training.
    #[arg(long, default_value = "assets/benchmark/forced-train.txt")]
    pub forced_train: PathBuf,
    /// Draw a fresh split into --split from the shared data's manifests and stop.
    #[arg(long)]
    pub draw_split: bool,
    /// Seed of the drawn split.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Ensemble members of the trees (fewer is faster).
    #[arg(long, default_value_t = TreeConfig::default().members)]
    pub members: usize,
    #[arg(long, default_value = "auto")]
    pub backend: BackendChoice,
    /// A network's training configuration (e.g. assets/models/tsc-gru-real.toml) to retrain
    /// on every fold of the grouped validation, so that it is judged on source groups it
    /// never saw; it is also fused with the trees at every trees' weight tried (0.5, the
    /// plain mean, down to 0), the best marked. Minutes per fold on a CPU; runs go to
    /// OUT/grouped-runs and a finished fold is not trained again.
    #[arg(long = "retrain-grouped")]
    pub retrain_grouped: Vec<PathBuf>,
    /// Training iterations of the retrained networks instead of their configurations'.
    #[arg(long)]
    pub retrain_iterations: Option<usize>,
    /// Where the retrained networks' runs go (default OUT/grouped-runs); a finished fold is
    /// taken from there instead of trained again, a stopped one resumes.
    #[arg(long)]
    pub retrain_runs: Option<PathBuf>,
    /// The network(s) to fuse with the trees trained here into the default answer
    /// (default-fused: their weighted mean at the trees' weight the grouped validation chose
    /// for the network, or the ensemble of the networks, of that name, the networks sharing
    /// the rest equally; else the plain mean; then the rules), scored beside the others.
    /// Repeat it for an ensemble (e.g. one network trained with several seeds), each
    /// retrained per fold with `--retrain-grouped` of the same file stem. Without it, the
    /// bundled default's networks in `assets/models/` (named in `default-fused.md`).
    #[arg(long)]
    pub fuse_with: Vec<PathBuf>,
    /// Score no fused model (the trees alone stand for the default).
    #[arg(long)]
    pub no_fuse: bool,
    /// Write the fused default answer there (the bundled one is
    /// assets/models/default-fused.stampseq), from the trees of --save-model.
    #[arg(long)]
    pub save_fused: Option<PathBuf>,
    /// Keep every feature in the trees even where the shortcut audit finds one that tells
    /// the source and not the class (the audit is still printed); with --neutral, in the
    /// folds' trees and the saved neutral model alike.
    #[arg(long)]
    pub keep_features: bool,
    /// In the grouped validation, neutralise in every fold's trees the features of the
    /// audit chosen once on the split's training and validation objects, instead of each
    /// fold's own audit of its training objects alone (nested, the default). The list
    /// chosen once read objects of the held-out groups, so it flatters the trees. With
    /// --neutral: the neutral trees take the saved neutral model's list, the ZTF trees the
    /// bundled default's.
    #[arg(long, conflicts_with = "keep_features")]
    pub audit_once: bool,
    /// Instead of the benchmark: the survey-neutral model (the default answer for LSST
    /// alerts), judged grouped by source beside the ZTF trees, written with --save-model
    /// (this is how the bundled neutral-trees is made); the table goes to --out.
    #[arg(long)]
    pub neutral: bool,
}

/// The objects every drawn split keeps in training (one object id per line, `#` comments):
/// see the file's own header for why each is there.
fn forced_train_objects(path: &Path) -> anyhow::Result<HashSet<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("the objects kept in training, {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

fn bundled_networks() -> Vec<PathBuf> {
    [
        "tsc-transformer-real",
        "tsc-gru-real",
        "enhanced-real",
        "tsc-gru-sim",
    ]
    .iter()
    .map(|n| PathBuf::from(format!("assets/models/{n}.stampseq")))
    .filter(|p| p.exists())
    .collect()
}

pub fn run(args: BenchmarkArgs) -> anyhow::Result<ExitCode> {
    let forced = forced_train_objects(&args.forced_train)?;
    if args.draw_split {
        let objects = real_labelled_objects(&args.data)?;
        let rows = draw_split(&objects, &forced, args.seed);
        if let Some(dir) = args.split.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        write_split(&rows, &args.split)?;
        eprintln!(
            "wrote {} objects to {} ({} test)",
            rows.len(),
            args.split.display(),
            rows.iter().filter(|r| r.part == "test").count()
        );
        return Ok(ExitCode::SUCCESS);
    }
    read_split(&args.split).with_context(|| {
        format!(
            "the benchmark split {} (make one with --draw-split)",
            args.split.display()
        )
    })?;
    if args.neutral {
        return run_neutral_model(&args);
    }
    let backend = args.backend.resolve();
    eprintln!("backend: {}", backend.description);
    let mut models = if args.no_networks {
        args.models.clone()
    } else if args.models.is_empty() {
        bundled_networks()
    } else {
        args.models.clone()
    };
    let scratch = tempfile::tempdir()?;
    if let Some(alerce) = alerce_model(&args, scratch.path())? {
        models.insert(0, alerce);
    }
    let config = BenchmarkConfig {
        data: args.data,
        split: args.split,
        models,
        repeats: args.repeats,
        out: args.out.clone(),
        save_model: args.save_model,
        trees: TreeConfig {
            members: args.members,
            ..Default::default()
        },
        backend,
        forced_train: forced,
        simulated: args.simulated,
        keep_features: args.keep_features,
        audit_per_fold: !args.audit_once,
        retrain_grouped: args.retrain_grouped,
        retrain_iterations: args.retrain_iterations,
        retrain_runs: args.retrain_runs,
        fuse_with: if args.no_fuse {
            Vec::new()
        } else if args.fuse_with.is_empty() {
            crate::assets::DEFAULT_FUSED_NETWORKS
                .iter()
                .map(|n| PathBuf::from(format!("assets/models/{n}.stampseq")))
                .filter(|p| p.is_file())
                .collect()
        } else {
            args.fuse_with.clone()
        },
        save_fused: args.save_fused,
    };
    let report = run_benchmark(&config, &|line| eprintln!("{line}"))?;
    println!("{}", render_markdown(&report));
    eprintln!(
        "wrote {}/metrics.json, table.md and the figures",
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--alerce` as a model file: given as one, or imported from ALeRCE's weights into `scratch`.
fn alerce_model(args: &BenchmarkArgs, scratch: &Path) -> anyhow::Result<Option<PathBuf>> {
    let Some(alerce) = &args.alerce else {
        return Ok(None);
    };
    if crate::model::file::read_header(alerce).is_ok() {
        return Ok(Some(alerce.clone()));
    }
    let imported = scratch.join("alerce.stampseq");
    crate::model::import::import_alerce(alerce, &imported)
        .with_context(|| format!("importing {}", alerce.display()))?;
    Ok(Some(imported))
}

/// `benchmark --neutral`: the survey-neutral model judged grouped by source beside the ZTF
/// trees (and ALeRCE with `--alerce`), and written with `--save-model`.
fn run_neutral_model(args: &BenchmarkArgs) -> anyhow::Result<ExitCode> {
    use crate::experiments::neutral::{
        render_neutral, run_neutral, FoldNeutralising, NeutralConfig,
    };
    // With --audit-once, the ZTF trees beside it leave out what the bundled default's audit
    // of the split's training and validation objects left out.
    let ztf_neutralised = crate::assets::default_trees_model()
        .and_then(|p| crate::model::file::read_header(&p).ok())
        .and_then(|h| {
            serde_json::from_value::<Vec<String>>(
                h.architecture.get("neutralised_features")?.clone(),
            )
            .ok()
        })
        .unwrap_or_default();
    let scratch = tempfile::tempdir()?;
    let config = NeutralConfig {
        alerce: alerce_model(args, scratch.path())?,
        data: args.data.clone(),
        split: args.split.clone(),
        trees: TreeConfig {
            members: args.members,
            ..TreeConfig::default()
        },
        neutralising: if args.keep_features {
            FoldNeutralising::Keep
        } else if args.audit_once {
            FoldNeutralising::Once
        } else {
            FoldNeutralising::Nested
        },
        ztf_neutralised,
        save_model: args.save_model.clone(),
    };
    let report = run_neutral(&config, &|m| eprintln!("{m}"))?;
    let table = render_neutral(&report);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let md = args.out.join("neutral.md");
    crate::atomic::write_atomic(&md, table.as_bytes())
        .with_context(|| format!("writing {}", md.display()))?;
    let json = args.out.join("neutral.json");
    crate::atomic::write_atomic(&json, serde_json::to_string_pretty(&report)?.as_bytes())
        .with_context(|| format!("writing {}", json.display()))?;
    println!("{table}");
    if let Some(path) = &report.saved {
        eprintln!(
            "wrote {} (trained on {} objects)",
            path.display(),
            report.trained_on
        );
    }
    Ok(ExitCode::SUCCESS)
}
