//! The training loop: Adam on the confidence-penalty loss over the valid steps, validation
//! every K iterations, the best model kept, checkpoints that a later run resumes from.

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::Device;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::config::{ModelChoice, TrainConfig};
use super::dataset::{feature_stats, Dataset, Object};
use super::events::{TrainEvent, Validation};
pub use super::net::{
    batch_gradient_vector, exact_reduction_limit, is_cpu_device, micro_batch_size,
    PROBED_MAX_REDUCTION, WGPU_MAX_REDUCTION,
};
use super::net::{
    batch_gradients, correct, host, init_net, io_err, logits, loss_of, make_batch, read_net,
    write_net, Augment, Net,
};
use super::run_state::{TrainOutcome, TrainState};
use super::sampler::Sampler;
use super::split::Split;
use super::TrainError;
use crate::eval::metrics::ConfusionMatrix;
use crate::features::FeatureStats;
use crate::model::file::{ModelHeader, ModelKind};
use crate::model::probs::argmax;

/// Mean loss over the valid steps, accuracy at each object's last step, and the confusion
/// matrix there, on a plain device. An object whose answer is all NaN counts as wrong and
/// stays out of the matrix, which has no column for it.
fn evaluate(
    net: &Net,
    objects: &[&Object],
    config: &TrainConfig,
    crop: usize,
    stats: &FeatureStats,
    device: &Device,
) -> Result<(f64, f64, ConfusionMatrix), TrainError> {
    let classes = config.classes.len();
    let mut confusion = ConfusionMatrix::new(&config.classes);
    let mut group_losses = Vec::new();
    for group in validation_groups(objects, classes, config.balanced_validation) {
        let (mut loss_sum, mut steps) = (0.0, 0.0);
        for chunk in group.chunks(config.batch.max(1)) {
            let batch = make_batch(chunk, crop, stats, None);
            let out = logits(net, &batch, crop, stats.len(), device);
            let n_valid: f32 = batch.mask.iter().sum();
            let loss = host(loss_of(out.clone(), &batch, config.beta, device))?[0];
            loss_sum += loss as f64 * n_valid as f64;
            steps += n_valid as f64;
            let out = host(out)?;
            for (i, o) in chunk.iter().enumerate() {
                let slot = i * batch.t + o.steps() - 1;
                if let Some(p) = argmax(&out[slot * classes..(slot + 1) * classes]) {
                    confusion.add(o.class, p);
                }
            }
        }
        group_losses.push((loss_sum, steps));
    }
    let right: u64 = (0..classes).map(|i| confusion.counts[i][i]).sum();
    Ok((
        mean_loss(&group_losses),
        if objects.is_empty() {
            f64::NAN
        } else {
            right as f64 / objects.len() as f64
        },
        confusion,
    ))
}

/// The validation objects in the groups whose mean losses weigh the same: one per class
/// present when `balanced`, else all of them in one.
fn validation_groups<'a>(
    objects: &[&'a Object],
    classes: usize,
    balanced: bool,
) -> Vec<Vec<&'a Object>> {
    if !balanced {
        return vec![objects.to_vec()];
    }
    (0..classes)
        .map(|c| objects.iter().copied().filter(|o| o.class == c).collect())
        .filter(|g: &Vec<&Object>| !g.is_empty())
        .collect()
}

/// The mean over groups of each group's loss per step, from `(loss sum, steps)`; NaN when
/// no group has a step.
fn mean_loss(groups: &[(f64, f64)]) -> f64 {
    let means: Vec<f64> = groups
        .iter()
        .filter(|(_, steps)| *steps > 0.0)
        .map(|(sum, steps)| sum / steps)
        .collect();
    if means.is_empty() {
        f64::NAN
    } else {
        means.iter().sum::<f64>() / means.len() as f64
    }
}

fn save_json<T: Serialize>(value: &T, path: &Path) -> Result<(), TrainError> {
    let json = serde_json::to_string_pretty(value).map_err(|source| TrainError::Json {
        path: path.into(),
        source,
    })?;
    crate::atomic::write_atomic(path, json.as_bytes()).map_err(io_err(path))
}

fn save_history(history: &[Validation], path: &Path) -> Result<(), TrainError> {
    let mut s = String::from(
        "iteration,train_loss,train_accuracy,val_loss,val_accuracy,best_val_loss,elapsed_s\n",
    );
    for h in history {
        s.push_str(&format!(
            "{},{:.6},{:.4},{:.6},{:.4},{:.6},{:.2}\n",
            h.iteration,
            h.train_loss,
            h.train_accuracy,
            h.val_loss,
            h.val_accuracy,
            h.best_val_loss,
            h.elapsed_s
        ));
    }
    crate::atomic::write_atomic(path, s.as_bytes()).map_err(io_err(path))
}

/// Trains into `out` (created if needed). A folder holding `state.json` is resumed: the
/// split, feature statistics and weights of `last.stampseq` are taken up again at the saved
/// iteration. Adam's moment estimates are not saved, so they restart from zero on resume.
/// `device` should be an autodiff device. Setting `cancel` stops after the current step,
/// with the checkpoints written.
pub fn train(
    config: &TrainConfig,
    out: &Path,
    device: &Device,
    cancel: &AtomicBool,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<TrainOutcome, TrainError> {
    config.check()?;
    let groups = config.sampling_groups()?;
    if let ModelChoice::Trees(trees) = &config.model {
        return super::trees::train_trees(config, trees, out, cancel, on_event);
    }
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let crop = config.model.crop();
    let (data, from_cache) = Dataset::load(config, crop, Some(&out.join("data.cache")))?;
    let split = split_of(config, &data, &out.join("split.json"))?;
    let sets = Sets::pick(&data, &split)?;
    on_event(TrainEvent::Loaded {
        train: sets.train.len(),
        val: sets.val.len(),
        test: sets.test.len(),
        from_cache,
        left_out: data.summary.bad_detections,
        first_left_out: data.summary.first_left_out.clone(),
    });
    let files = Checkpoints::in_folder(out);
    let (net, state, stats, weights_rng) =
        start_or_resume(config, &files, &data, &sets.train, device, on_event)?;
    let session = Session::new(config, out, device, crop, stats, &data, &split, sets, files)?;
    let (state, cancelled, best_net) =
        session.iterate(net, state, weights_rng, groups.as_ref(), cancel, on_event)?;
    let test = session.judge_test_split(&state, best_net)?;
    on_event(TrainEvent::Finished {
        iteration: state.iteration,
        cancelled,
        best_val_loss: state.best_val_loss.unwrap_or(f64::NAN),
        best_iteration: state.best_iteration,
        test_accuracy: test.accuracy,
    });
    Ok(TrainOutcome {
        state,
        cancelled,
        test_accuracy: test.accuracy,
        test_balanced_accuracy: test.balanced_accuracy,
        test_loss: test.loss,
        test_objects: session.sets.test.len(),
    })
}

/// The run's split: the saved one when the folder has it, else a new one, saved.
fn split_of(config: &TrainConfig, data: &Dataset, path: &Path) -> Result<Split, TrainError> {
    if path.is_file() {
        return Split::load(path);
    }
    let pairs: Vec<(String, usize)> = data
        .objects
        .iter()
        .map(|o| (o.object_id.clone(), o.class))
        .collect();
    let s = Split::for_config(config, &pairs)?;
    s.save(path)?;
    Ok(s)
}

/// Held from seeding the backend's generator until a fresh network's weights are drawn.
type WeightsRngGuard = std::sync::MutexGuard<'static, ()>;

/// The backends draw initial weights from one random generator per process (burn-flex
/// keeps it in a static), lazily, at a network's first forward pass. A run seeds it and
/// takes its first step under this lock, so that its weights are its seed's whatever else
/// trains at the same time (the app's workers, parallel tests). Loading a model file draws
/// nothing (its weights replace the lazy ones).
fn weights_rng_lock() -> WeightsRngGuard {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The objects of the data in each part of the split.
struct Sets<'a> {
    train: Vec<&'a Object>,
    val: Vec<&'a Object>,
    test: Vec<&'a Object>,
}

impl<'a> Sets<'a> {
    fn pick(data: &'a Dataset, split: &Split) -> Result<Self, TrainError> {
        let pick = |ids: &[String]| -> Vec<&'a Object> {
            let wanted: std::collections::HashSet<&str> = ids.iter().map(|s| s.as_str()).collect();
            data.objects
                .iter()
                .filter(|o| wanted.contains(o.object_id.as_str()))
                .collect()
        };
        let sets = Sets {
            train: pick(&split.train),
            val: pick(&split.val),
            test: pick(&split.test),
        };
        if sets.train.is_empty() || sets.val.is_empty() {
            return Err(TrainError::Data(
                "the split leaves no training or no validation object in this data".into(),
            ));
        }
        Ok(sets)
    }
}

/// The files a run keeps in its folder between sessions.
struct Checkpoints {
    state: std::path::PathBuf,
    last: std::path::PathBuf,
    best: std::path::PathBuf,
}

impl Checkpoints {
    fn in_folder(out: &Path) -> Self {
        Self {
            state: out.join("state.json"),
            last: out.join("last.stampseq"),
            best: out.join("best.stampseq"),
        }
    }
}

/// The network, the run's state and the feature statistics: taken up from the folder's
/// checkpoint when it has one, else new (statistics of the training objects, weights from
/// the seed).
fn start_or_resume(
    config: &TrainConfig,
    files: &Checkpoints,
    data: &Dataset,
    train_set: &[&Object],
    device: &Device,
    on_event: &mut dyn FnMut(TrainEvent),
) -> Result<(Net, TrainState, FeatureStats, Option<WeightsRngGuard>), TrainError> {
    if files.state.is_file() && files.last.is_file() {
        let text = std::fs::read_to_string(&files.state).map_err(io_err(&files.state))?;
        let state: TrainState = serde_json::from_str(&text).map_err(|source| TrainError::Json {
            path: files.state.clone(),
            source,
        })?;
        let (net, header, _) = read_net(&files.last, device)?;
        on_event(TrainEvent::Resumed {
            iteration: state.iteration,
        });
        return Ok((net, state, header.feature_stats, None));
    }
    let stats = feature_stats(&data.feature_names, train_set);
    let stats = if config.neutralise_after_training {
        stats
    } else {
        stats
            .with_neutralised(&config.neutralised_features)
            .map_err(TrainError::Neutralised)?
    };
    let arch = config
        .model
        .settled(&config.classes, stats.len(), config.max_detections);
    let state = TrainState {
        max_iterations: config.max_iterations,
        seed: config.seed,
        ..Default::default()
    };
    // Burn draws the weights lazily, at the first forward pass: the generator is seeded under
    // the lock, and the lock is held until the first training step has drawn them.
    let weights_rng = weights_rng_lock();
    device.seed(config.seed);
    Ok((init_net(&arch, device)?, state, stats, Some(weights_rng)))
}

/// Training accumulated since the last validation.
#[derive(Default)]
struct SinceValidation {
    loss: f64,
    right: usize,
    steps: usize,
    batches: usize,
}

/// The test split's scores, when there was a test split and a best model to judge.
#[derive(Default)]
struct TestScores {
    loss: Option<f64>,
    accuracy: Option<f64>,
    balanced_accuracy: Option<f64>,
}

/// What one training session works with, fixed once it has started.
struct Session<'a> {
    config: &'a TrainConfig,
    out: &'a Path,
    device: &'a Device,
    /// The device without autodiff, for validation and the test split.
    plain: Device,
    crop: usize,
    arch: ModelChoice,
    stats: FeatureStats,
    /// What the finished model reads: `stats`, with `neutralised_features` read as missing
    /// when they are so only once trained.
    answer_stats: FeatureStats,
    sets: Sets<'a>,
    files: Checkpoints,
    architecture: serde_json::Value,
    trained_on: crate::model::survey::TrainedOn,
    training_json: serde_json::Value,
}

impl<'a> Session<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        config: &'a TrainConfig,
        out: &'a Path,
        device: &'a Device,
        crop: usize,
        stats: FeatureStats,
        data: &Dataset,
        split: &Split,
        sets: Sets<'a>,
        files: Checkpoints,
    ) -> Result<Self, TrainError> {
        let arch = config
            .model
            .settled(&config.classes, stats.len(), config.max_detections);
        let architecture = serde_json::to_value(&arch).map_err(TrainError::ArchitectureJson)?;
        let training_json = serde_json::json!({
            "config": config,
            "data": data.summary,
            "split": {"train": sets.train.len(), "val": sets.val.len(), "test": sets.test.len(), "notes": split.notes},
        });
        let mut trained_on = crate::model::survey::TrainedOn::survey_default(data.survey);
        if data.stamp_size > 0 {
            trained_on.stamp_size = data.stamp_size;
        }
        let answer_stats = stats
            .clone()
            .with_neutralised(&config.neutralised_features)
            .map_err(TrainError::Neutralised)?;
        Ok(Self {
            config,
            out,
            device,
            plain: device.clone().inner(),
            crop,
            arch,
            stats,
            answer_stats,
            sets,
            files,
            architecture,
            trained_on,
            training_json,
        })
    }

    /// The header of a checkpoint, with the metrics it was chosen by.
    fn header(&self, metrics: Option<serde_json::Value>) -> ModelHeader {
        self.header_reading(&self.stats, metrics)
    }

    /// The header of a checkpoint whose network reads its features through `stats`.
    fn header_reading(
        &self,
        stats: &FeatureStats,
        metrics: Option<serde_json::Value>,
    ) -> ModelHeader {
        let class_refs: Vec<&str> = self.config.classes.iter().map(|s| s.as_str()).collect();
        let kind = match self.arch {
            ModelChoice::Temporal(_) => ModelKind::Temporal,
            ModelChoice::Enhanced(_) => ModelKind::Enhanced,
            ModelChoice::Trees(_) => ModelKind::Trees,
        };
        let mut h = ModelHeader::new(
            kind,
            &self.arch.short_name(self.config.max_detections),
            &class_refs,
            self.crop,
            stats.clone(),
        );
        h.architecture = self.architecture.clone();
        h.trained_on = self.trained_on.clone();
        h.provenance.source = "trained by stampseq".into();
        h.provenance.training = Some(self.training_json.clone());
        h.provenance.metrics = metrics;
        h
    }

    /// Adam steps until the last iteration or `cancel`, validating every K of them and at
    /// the end, with the checkpoints written each time. Gives the state, whether it was
    /// cancelled and this session's best network, if any validation improved.
    fn iterate(
        &self,
        mut net: Net,
        mut state: TrainState,
        mut weights_rng: Option<WeightsRngGuard>,
        groups: Option<&HashMap<String, String>>,
        cancel: &AtomicBool,
        on_event: &mut dyn FnMut(TrainEvent),
    ) -> Result<(TrainState, bool, Option<Net>), TrainError> {
        let (config, crop, stats, device) = (self.config, self.crop, &self.stats, self.device);
        // Batches drawn after a resume differ from an uninterrupted run's: the generator is
        // re-seeded from the iteration rather than restored.
        let mut rng =
            StdRng::seed_from_u64(config.seed ^ (state.iteration as u64).wrapping_mul(0x9E37_79B9));
        let sampler = Sampler::new(&self.sets.train, config.classes.len(), groups);
        let mut optim = AdamConfig::new().init();
        let started = Instant::now();
        let start_iteration = state.iteration;
        let mut since = SinceValidation::default();
        let mut best_net: Option<Net> = None;
        let mut cancelled = false;
        while state.iteration < state.max_iterations {
            if cancel.load(Ordering::Relaxed) {
                cancelled = true;
                break;
            }
            let chosen = sampler.batch(config.batch, config.balance_classes, &mut rng);
            let batch = make_batch(
                &chosen,
                crop,
                stats,
                config.augment.then_some(Augment {
                    rng: &mut rng,
                    window_min: config.random_window_min,
                    feature_dropout: config.feature_dropout,
                }),
            );
            let micro = micro_batch_size(&self.arch, batch.b, batch.t, device);
            let (loss_value, out_logits, grads) =
                batch_gradients(&net, &batch, micro, config.beta, crop, stats.len(), device)?;
            // The first step has drawn the fresh network's weights.
            weights_rng.take();
            let (r, t) = correct(&out_logits, &batch, config.classes.len(), &chosen);
            net = match net {
                Net::Temporal(m) => Net::Temporal(optim.step(config.lr, m, grads)),
                Net::Enhanced(m) => Net::Enhanced(optim.step(config.lr, m, grads)),
            };
            state.iteration += 1;
            since.loss += loss_value as f64;
            since.batches += 1;
            since.right += r;
            since.steps += t;
            on_event(TrainEvent::Step {
                iteration: state.iteration,
                max_iterations: state.max_iterations,
                train_loss: loss_value,
            });

            let last_step =
                state.iteration >= state.max_iterations || cancel.load(Ordering::Relaxed);
            if state.iteration.is_multiple_of(config.validate_every) || last_step {
                let clock = (started, start_iteration);
                if let Some(best) =
                    self.validate(net.valid(), &mut state, &mut since, clock, on_event)?
                {
                    best_net = Some(best);
                }
                write_net(&net, &self.header(None), &self.files.last)?;
                save_json(&state, &self.files.state)?;
                save_history(&state.history, &self.out.join("history.csv"))?;
            }
        }
        if state.iteration > start_iteration
            && !state.iteration.is_multiple_of(config.validate_every)
        {
            // Every step ends with a validation when cancelled, so this is only a safety net.
            write_net(&net, &self.header(None), &self.files.last)?;
            save_json(&state, &self.files.state)?;
        }
        Ok((state, cancelled, best_net))
    }

    /// Validates `valid` (the network without autodiff), records it in the state's history
    /// and reports it; an improvement is written as the best checkpoint and given back.
    /// `clock` is when this session started and at which iteration, for the time left.
    fn validate(
        &self,
        valid: Net,
        state: &mut TrainState,
        since: &mut SinceValidation,
        (started, start_iteration): (Instant, usize),
        on_event: &mut dyn FnMut(TrainEvent),
    ) -> Result<Option<Net>, TrainError> {
        let config = self.config;
        let (val_loss, val_accuracy, confusion) = evaluate(
            &valid,
            &self.sets.val,
            config,
            self.crop,
            &self.stats,
            &self.plain,
        )?;
        let train_loss = since.loss / since.batches.max(1) as f64;
        for (which, loss) in [("training", train_loss), ("validation", val_loss)] {
            if !loss.is_finite() {
                return Err(TrainError::Diverged {
                    iteration: state.iteration,
                    which,
                    loss,
                    lr: config.lr,
                });
            }
        }
        let improved = state.best_val_loss.is_none_or(|b| val_loss < b);
        let mut best = None;
        if improved {
            state.best_val_loss = Some(val_loss);
            state.best_iteration = state.iteration;
            if let Some(extend) = config.extend_on_improvement {
                state.max_iterations = state.max_iterations.max(state.iteration + extend);
            }
            let metrics = serde_json::json!({
                "iteration": state.iteration,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
            });
            write_net(&valid, &self.header(Some(metrics)), &self.files.best)?;
            save_json(&confusion, &self.out.join("best_confusion.json"))?;
            best = Some(valid);
        }
        let elapsed = started.elapsed().as_secs_f64();
        let done = (state.iteration - start_iteration).max(1) as f64;
        let v = Validation {
            iteration: state.iteration,
            max_iterations: state.max_iterations,
            train_loss,
            train_accuracy: since.right as f64 / since.steps.max(1) as f64,
            val_loss,
            val_accuracy,
            best_val_loss: state.best_val_loss.unwrap_or(val_loss),
            improved,
            elapsed_s: elapsed,
            eta_s: elapsed / done * (state.max_iterations - state.iteration) as f64,
            confusion: Some(confusion),
        };
        *since = SinceValidation::default();
        state.history.push(v.clone());
        on_event(TrainEvent::Validation(v));
        Ok(best)
    }

    /// The test split, judged once with the best model of this session, or of the saved
    /// run; its scores go into the best checkpoint's metrics.
    fn judge_test_split(
        &self,
        state: &TrainState,
        best_net: Option<Net>,
    ) -> Result<TestScores, TrainError> {
        let best = match best_net {
            Some(n) => Some(n),
            None if self.files.best.is_file() => Some(read_net(&self.files.best, &self.plain)?.0),
            None => None,
        };
        let test_set = &self.sets.test;
        let (Some(best), false) = (best, test_set.is_empty()) else {
            if self.config.neutralise_after_training && self.files.best.is_file() {
                // Without a test split the best checkpoint was last written while training,
                // reading every feature; it answers with them read as missing all the same.
                let path = &self.files.best;
                let features = &self.config.neutralised_features;
                crate::model::neutralise::neutralise_file(path, features, path)?;
            }
            return Ok(TestScores::default());
        };
        let (l, a, confusion) = evaluate(
            &best,
            test_set,
            self.config,
            self.crop,
            &self.answer_stats,
            &self.plain,
        )?;
        let balanced = confusion.metrics().balanced_accuracy;
        let best_val = state
            .history
            .iter()
            .find(|h| h.iteration == state.best_iteration);
        let metrics = serde_json::json!({
            "iteration": state.best_iteration,
            "val_loss": state.best_val_loss,
            "val_accuracy": best_val.map(|h| h.val_accuracy),
            "test_loss": l,
            "test_accuracy": a,
            "test_balanced_accuracy": balanced,
            "test_objects": test_set.len(),
        });
        let header = self.header_reading(&self.answer_stats, Some(metrics));
        write_net(&best, &header, &self.files.best)?;
        Ok(TestScores {
            loss: Some(l),
            accuracy: Some(a),
            balanced_accuracy: Some(balanced),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: &str, class: usize) -> Object {
        Object::one_step(id, class)
    }

    #[test]
    fn balanced_validation_weighs_each_class_once_and_pooled_keeps_one_group() {
        let objects = [
            object("a", 2),
            object("b", 0),
            object("c", 2),
            object("d", 2),
        ];
        let refs: Vec<&Object> = objects.iter().collect();
        let ids = |groups: Vec<Vec<&Object>>| -> Vec<Vec<String>> {
            groups
                .iter()
                .map(|g| g.iter().map(|o| o.object_id.clone()).collect())
                .collect()
        };
        assert_eq!(
            ids(validation_groups(&refs, 4, false)),
            [["a", "b", "c", "d"]]
        );
        assert_eq!(
            ids(validation_groups(&refs, 4, true)),
            [vec!["b"], vec!["a", "c", "d"]]
        );
        // One AGN step at loss 2 and ten VS steps at loss 3 in all: pooled, the variable
        // stars decide (32 / 11); balanced, each class weighs half.
        assert!((mean_loss(&[(32.0, 11.0)]) - 32.0 / 11.0).abs() < 1e-12);
        assert!((mean_loss(&[(2.0, 1.0), (30.0, 10.0)]) - 2.5).abs() < 1e-12);
        assert!(mean_loss(&[(0.0, 0.0)]).is_nan());
        assert!(mean_loss(&[]).is_nan());
    }
}
