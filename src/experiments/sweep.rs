//! Repeats and sweeps: every temporal head x every detection count x R repeats (different
//! seeds), trained with one base configuration, then the paper-style table: mean +- std of
//! the held-out test accuracy and of the inference time per sequence, and Welch's t-test
//! between the best head and each other at every N.

use crate::classify::{ClassifyOptions, LoadedModel};
use crate::eval::stats::{mean_std, welch_t_test};
use crate::model::HeadConfig;
use crate::sequence::neutral::ObjectSequence;
use crate::train::{train, ModelChoice, TrainConfig, TrainError};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    pub heads: Vec<HeadConfig>,
    /// Detection counts N (the paper: 2..5).
    pub detections: Vec<usize>,
    #[serde(default = "ten")]
    pub repeats: usize,
    /// Everything else, as for `stampseq train` (its head and N are overridden).
    pub train: TrainConfig,
}

fn ten() -> usize {
    10
}

impl SweepConfig {
    /// Reads a TOML file; relative data and label paths are taken from the file's folder.
    pub fn from_toml_file(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.into(),
            source,
        })?;
        let mut config: SweepConfig =
            toml::from_str(&text).map_err(|source| TrainError::ConfigToml {
                path: path.into(),
                source,
            })?;
        config
            .train
            .resolve_paths(path.parent().unwrap_or(Path::new(".")));
        if config.heads.is_empty() || config.detections.is_empty() || config.repeats == 0 {
            return Err(TrainError::Config {
                reason: "a sweep needs at least one head, one detection count and one repeat"
                    .into(),
            });
        }
        if !matches!(config.train.model, ModelChoice::Temporal(_)) {
            return Err(TrainError::Config {
                reason: "sweeps compare temporal heads: the [train.model] kind must be temporal"
                    .into(),
            });
        }
        Ok(config)
    }
}

/// One trained model of the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRun {
    pub head: String,
    pub n: usize,
    pub repeat: usize,
    pub test_accuracy: f64,
    pub test_balanced_accuracy: f64,
    pub test_objects: usize,
    pub ms_per_sequence: f64,
    pub model: PathBuf,
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    pub head: String,
    pub n: usize,
    pub repeats: usize,
    pub accuracy_mean: f64,
    pub accuracy_std: f64,
    pub balanced_accuracy_mean: f64,
    pub balanced_accuracy_std: f64,
    /// Test objects per run (the same in every run when the split is fixed).
    pub test_objects: usize,
    pub ms_mean: f64,
    pub ms_std: f64,
    /// Welch's p-value against the best head at this N (None for the best itself).
    pub p_vs_best: Option<f64>,
    pub best: bool,
}

/// Runs the sweep; `on_run` hears of each finished model. Runs go in `out/<head>-n<N>-r<k>`.
pub fn sweep(
    config: &SweepConfig,
    out: &Path,
    sequences: &[ObjectSequence],
    device: &Device,
    infer: &crate::backend::ResolvedBackend,
    cancel: &AtomicBool,
    on_run: &mut dyn FnMut(&SweepRun),
) -> Result<(Vec<SweepRun>, Vec<SweepRow>), TrainError> {
    let mut runs = Vec::new();
    for &n in &config.detections {
        for head in &config.heads {
            for repeat in 0..config.repeats {
                if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                    return Ok((runs.clone(), table(&runs)));
                }
                let mut c = config.train.clone();
                c.max_detections = n;
                c.seed = config.train.seed + repeat as u64;
                if let ModelChoice::Temporal(t) = &mut c.model {
                    t.head = head.clone();
                }
                let dir = out.join(format!("{}-n{n}-r{repeat}", head.name()));
                let outcome = train(&c, &dir, device, cancel, &mut |_| {})?;
                if outcome.cancelled {
                    // Saved half-way: the same sweep run again resumes it. Not a result.
                    return Ok((runs.clone(), table(&runs)));
                }
                let model_path = dir.join("best.stampseq");
                let model = LoadedModel::load_for(&model_path, infer)?;
                let options = ClassifyOptions {
                    max_detections: n,
                    ..Default::default()
                };
                let start = std::time::Instant::now();
                let classified = model
                    .classify(sequences, &options, &infer.device, cancel, &|_, _| {})
                    .map_err(TrainError::TimingInference)?;
                let objects = classified
                    .rows
                    .iter()
                    .map(|r| &r.object_id)
                    .collect::<std::collections::HashSet<_>>()
                    .len()
                    .max(1);
                let run = SweepRun {
                    head: head.name().to_string(),
                    n,
                    repeat,
                    test_accuracy: outcome.test_accuracy.unwrap_or(f64::NAN),
                    test_balanced_accuracy: outcome.test_balanced_accuracy.unwrap_or(f64::NAN),
                    test_objects: outcome.test_objects,
                    ms_per_sequence: start.elapsed().as_secs_f64() * 1000.0 / objects as f64,
                    model: model_path,
                };
                on_run(&run);
                runs.push(run);
            }
        }
    }
    let rows = table(&runs);
    Ok((runs, rows))
}

/// Mean +- std per (head, N), the best head per N, and Welch's p-values against it.
pub fn table(runs: &[SweepRun]) -> Vec<SweepRow> {
    let mut keys: Vec<(usize, String)> = runs.iter().map(|r| (r.n, r.head.clone())).collect();
    keys.sort();
    keys.dedup();
    let values = |n: usize, head: &str, f: &dyn Fn(&SweepRun) -> f64| -> Vec<f64> {
        runs.iter()
            .filter(|r| r.n == n && r.head == head)
            .map(f)
            .collect()
    };
    let mut rows: Vec<SweepRow> = keys
        .iter()
        .map(|(n, head)| {
            let acc = values(*n, head, &|r| r.test_accuracy);
            let balanced = values(*n, head, &|r| r.test_balanced_accuracy);
            let ms = values(*n, head, &|r| r.ms_per_sequence);
            let (accuracy_mean, accuracy_std) = mean_std(&acc);
            let (balanced_accuracy_mean, balanced_accuracy_std) = mean_std(&balanced);
            let test_objects = runs
                .iter()
                .filter(|r| r.n == *n && &r.head == head)
                .map(|r| r.test_objects)
                .max()
                .unwrap_or(0);
            let (ms_mean, ms_std) = mean_std(&ms);
            SweepRow {
                head: head.clone(),
                n: *n,
                repeats: acc.len(),
                accuracy_mean,
                accuracy_std,
                balanced_accuracy_mean,
                balanced_accuracy_std,
                test_objects,
                ms_mean,
                ms_std,
                p_vs_best: None,
                best: false,
            }
        })
        .collect();
    let ns: Vec<usize> = {
        let mut v: Vec<usize> = rows.iter().map(|r| r.n).collect();
        v.dedup();
        v
    };
    for n in ns {
        let best = rows
            .iter()
            .filter(|r| r.n == n)
            .max_by(|a, b| {
                a.balanced_accuracy_mean
                    .total_cmp(&b.balanced_accuracy_mean)
            })
            .map(|r| r.head.clone());
        let Some(best) = best else { continue };
        let best_acc = values(n, &best, &|r| r.test_balanced_accuracy);
        for row in rows.iter_mut().filter(|r| r.n == n) {
            if row.head == best {
                row.best = true;
            } else {
                let acc = values(n, &row.head, &|r| r.test_balanced_accuracy);
                row.p_vs_best = welch_t_test(&best_acc, &acc).map(|w| w.p_value);
            }
        }
    }
    rows
}

/// The table as Markdown, as the paper prints it, with balanced accuracy beside accuracy
/// (the best head and the p-values go by balanced accuracy: on a skewed test set, such as
/// the real benchmark's, accuracy rewards the majority class).
pub fn markdown(rows: &[SweepRow]) -> String {
    let mut s = String::from(
        "| head | N | repeats | test objects | balanced accuracy | accuracy | inference ms/sequence | p (Welch, vs best) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {}{} | {} | {} | {} | {:.4} +- {:.4} | {:.4} +- {:.4} | {:.2} +- {:.2} | {} |\n",
            r.head,
            if r.best { " (best)" } else { "" },
            r.n,
            r.repeats,
            r.test_objects,
            r.balanced_accuracy_mean,
            r.balanced_accuracy_std,
            r.accuracy_mean,
            r.accuracy_std,
            r.ms_mean,
            r.ms_std,
            r.p_vs_best.map_or("-".to_string(), |p| format!("{p:.3e}")),
        ));
    }
    s
}

/// The table as CSV.
pub fn csv(rows: &[SweepRow]) -> String {
    let mut s = String::from(
        "head,n,repeats,test_objects,balanced_accuracy_mean,balanced_accuracy_std,accuracy_mean,accuracy_std,ms_mean,ms_std,p_vs_best,best\n",
    );
    for r in rows {
        s.push_str(&format!(
            "{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.4},{:.4},{},{}\n",
            r.head,
            r.n,
            r.repeats,
            r.test_objects,
            r.balanced_accuracy_mean,
            r.balanced_accuracy_std,
            r.accuracy_mean,
            r.accuracy_std,
            r.ms_mean,
            r.ms_std,
            r.p_vs_best.map_or(String::new(), |p| format!("{p:.6}")),
            r.best
        ));
    }
    s
}
