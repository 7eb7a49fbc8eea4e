//! The training loop: Adam on the confidence-penalty loss over the valid steps, validation
//! every K iterations, the best model kept, checkpoints that a later run resumes from.

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::config::{ModelChoice, TrainConfig};
use super::dataset::{feature_stats, Dataset, Object};
use super::events::{TrainEvent, Validation};
use super::split::Split;
use super::TrainError;
use crate::eval::metrics::{argmax, ConfusionMatrix};
use crate::features::FeatureStats;
use crate::model::file::{self, ModelHeader, ModelKind};
use crate::model::{confidence_penalty_loss, EnhancedStampClassifier, TemporalStampClassifier};
use crate::stamp::Dihedral;

/// What `state.json` keeps between sessions of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    pub iteration: usize,
    pub max_iterations: usize,
    pub best_val_loss: Option<f64>,
    pub best_iteration: usize,
    pub seed: u64,
    pub history: Vec<Validation>,
}

#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub state: TrainState,
    pub cancelled: bool,
    pub test_accuracy: Option<f64>,
    pub test_loss: Option<f64>,
}

// One per loaded model: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
enum Net {
    Temporal(TemporalStampClassifier),
    Enhanced(EnhancedStampClassifier),
}

fn init_net(model: &ModelChoice, device: &Device) -> Result<Net, TrainError> {
    Ok(match model {
        ModelChoice::Temporal(c) => Net::Temporal(c.init(device)?),
        ModelChoice::Enhanced(c) => Net::Enhanced(c.init(device)?),
    })
}

/// Host tensors of a batch of objects, padded to the longest.
struct Batch {
    b: usize,
    t: usize,
    stamps: Vec<f32>,
    features: Vec<f32>,
    days: Vec<f32>,
    targets: Vec<i64>,
    mask: Vec<f32>,
}

fn make_batch(
    objects: &[&Object],
    crop: usize,
    stats: &FeatureStats,
    mut augment: Option<&mut StdRng>,
) -> Batch {
    let b = objects.len();
    let t = objects.iter().map(|o| o.steps()).max().unwrap_or(1).max(1);
    let f = stats.len();
    let per = crop * crop * 3;
    let mut batch = Batch {
        b,
        t,
        stamps: vec![0.0; b * t * per],
        features: vec![0.0; b * t * f],
        days: vec![0.0; b * t],
        targets: vec![0; b * t],
        mask: vec![0.0; b * t],
    };
    for (i, o) in objects.iter().enumerate() {
        // One transform for all of an object's stamps: they share the sky orientation.
        let transform = augment.as_deref_mut().map(|rng| {
            let all = Dihedral::all();
            all[rng.random_range(0..all.len())]
        });
        for k in 0..t {
            let slot = i * t + k;
            batch.targets[slot] = o.class as i64;
            // Padding repeats the last time so that the time input stays monotone.
            let src = k.min(o.steps() - 1);
            batch.days[slot] = o.days[src];
            if k >= o.steps() {
                continue;
            }
            batch.mask[slot] = 1.0;
            let stamp = &o.stamps[k * per..(k + 1) * per];
            let dst = &mut batch.stamps[slot * per..(slot + 1) * per];
            match transform {
                Some(tr) if tr != Dihedral::IDENTITY => {
                    dst.copy_from_slice(&tr.apply(stamp, crop, 3))
                }
                _ => dst.copy_from_slice(stamp),
            }
            let norm = stats.normalize(&o.raw[k * f..(k + 1) * f]);
            for (d, v) in batch.features[slot * f..(slot + 1) * f]
                .iter_mut()
                .zip(norm)
            {
                *d = v as f32;
            }
        }
    }
    batch
}

fn logits(net: &Net, batch: &Batch, crop: usize, n_features: usize, device: &Device) -> Tensor<3> {
    let (b, t) = (batch.b, batch.t);
    let stamps = Tensor::<5>::from_data(
        TensorData::new(batch.stamps.clone(), [b, t, crop, crop, 3]),
        device,
    );
    let features = Tensor::<3>::from_data(
        TensorData::new(batch.features.clone(), [b, t, n_features]),
        device,
    );
    match net {
        Net::Temporal(m) => {
            let days = Tensor::<2>::from_data(TensorData::new(batch.days.clone(), [b, t]), device);
            m.forward(stamps, features, days, None)
        }
        Net::Enhanced(m) => {
            let out = m.forward(
                stamps.reshape([b * t, crop, crop, 3]),
                features.reshape([b * t, n_features]),
            );
            let c = out.dims()[1];
            out.reshape([b, t, c])
        }
    }
}

fn loss_of(logits: Tensor<3>, batch: &Batch, beta: f64, device: &Device) -> Tensor<1> {
    let targets = Tensor::<2, Int>::from_data(
        TensorData::new(batch.targets.clone(), [batch.b, batch.t]),
        device,
    );
    let mask = Tensor::<2>::from_data(
        TensorData::new(batch.mask.clone(), [batch.b, batch.t]),
        device,
    );
    confidence_penalty_loss(logits, targets, mask, beta)
}

fn host<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, TrainError> {
    t.try_into_data()
        .map_err(|e| TrainError::Data(format!("reading back from the device: {e:?}")))?
        .try_into_vec_as::<f32>()
        .map_err(|e| TrainError::Data(format!("reading back from the device: {e:?}")))
}

/// Correct predictions over the valid steps (train) or at each object's last step.
fn correct(
    logits: &[f32],
    batch: &Batch,
    classes: usize,
    last_only: bool,
    objects: &[&Object],
) -> (usize, usize) {
    let (mut right, mut total) = (0, 0);
    for (i, o) in objects.iter().enumerate() {
        let steps: Vec<usize> = if last_only {
            vec![o.steps() - 1]
        } else {
            (0..o.steps()).collect()
        };
        for k in steps {
            let slot = i * batch.t + k;
            let row = &logits[slot * classes..(slot + 1) * classes];
            right += usize::from(argmax(row) == Some(o.class));
            total += 1;
        }
    }
    (right, total)
}

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
    let (mut loss_sum, mut steps) = (0.0, 0.0);
    for chunk in objects.chunks(config.batch.max(1)) {
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
    let right: u64 = (0..classes).map(|i| confusion.counts[i][i]).sum();
    Ok((
        if steps > 0.0 {
            loss_sum / steps
        } else {
            f64::NAN
        },
        if objects.is_empty() {
            f64::NAN
        } else {
            right as f64 / objects.len() as f64
        },
        confusion,
    ))
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.into(),
        source,
    }
}

fn save_json<T: Serialize>(value: &T, path: &Path) -> Result<(), TrainError> {
    let json = serde_json::to_string_pretty(value).map_err(|e| TrainError::Data(e.to_string()))?;
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

fn write_net(net: &Net, header: &ModelHeader, path: &Path) -> Result<(), TrainError> {
    match net {
        Net::Temporal(m) => file::write_model(m, header, path)?,
        Net::Enhanced(m) => file::write_model(m, header, path)?,
    }
    Ok(())
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
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let crop = config.model.crop();
    let (data, from_cache) = Dataset::load(config, crop, Some(&out.join("data.cache")))?;
    let pairs: Vec<(String, usize)> = data
        .objects
        .iter()
        .map(|o| (o.object_id.clone(), o.class))
        .collect();
    let split_path = out.join("split.json");
    let split = if split_path.is_file() {
        Split::load(&split_path)?
    } else {
        let s = Split::draw(
            &pairs,
            &config.classes,
            config.val_per_class,
            config.test_per_class,
            config.seed,
        )?;
        s.save(&split_path)?;
        s
    };
    let pick = |ids: &[String]| -> Vec<&Object> {
        let wanted: std::collections::HashSet<&str> = ids.iter().map(|s| s.as_str()).collect();
        data.objects
            .iter()
            .filter(|o| wanted.contains(o.object_id.as_str()))
            .collect()
    };
    let (train_set, val_set, test_set) = (pick(&split.train), pick(&split.val), pick(&split.test));
    if train_set.is_empty() || val_set.is_empty() {
        return Err(TrainError::Data(
            "the split leaves no training or no validation object in this data".into(),
        ));
    }
    on_event(TrainEvent::Loaded {
        train: train_set.len(),
        val: val_set.len(),
        test: test_set.len(),
        from_cache,
    });

    let state_path = out.join("state.json");
    let last_path = out.join("last.stampseq");
    let best_path = out.join("best.stampseq");
    let resumed = state_path.is_file() && last_path.is_file();
    let (mut net, mut state, stats) = if resumed {
        let text = std::fs::read_to_string(&state_path).map_err(io_err(&state_path))?;
        let state: TrainState = serde_json::from_str(&text)
            .map_err(|e| TrainError::Data(format!("{}: {e}", state_path.display())))?;
        let bytes = std::fs::read(&last_path).map_err(io_err(&last_path))?;
        let header = file::header_from_bytes(&bytes, &last_path)?;
        let arch: ModelChoice = serde_json::from_value(header.architecture.clone())
            .map_err(|e| TrainError::Data(format!("{}: architecture: {e}", last_path.display())))?;
        let mut net = init_net(&arch, device)?;
        match &mut net {
            Net::Temporal(m) => file::load_weights(m, bytes, &header, &last_path)?,
            Net::Enhanced(m) => file::load_weights(m, bytes, &header, &last_path)?,
        }
        on_event(TrainEvent::Resumed {
            iteration: state.iteration,
        });
        (net, state, header.feature_stats)
    } else {
        let train_objects: Vec<&Object> = train_set.clone();
        let stats = feature_stats(&config.features, &train_objects);
        device.seed(config.seed);
        let arch = config
            .model
            .settled(&config.classes, stats.len(), config.max_detections);
        let state = TrainState {
            max_iterations: config.max_iterations,
            seed: config.seed,
            ..Default::default()
        };
        (init_net(&arch, device)?, state, stats)
    };
    let arch = config
        .model
        .settled(&config.classes, stats.len(), config.max_detections);
    let architecture = serde_json::to_value(&arch).map_err(|e| TrainError::Data(e.to_string()))?;
    let training_json = serde_json::json!({
        "config": config,
        "data": data.summary,
        "split": {"train": train_set.len(), "val": val_set.len(), "test": test_set.len()},
    });
    let class_refs: Vec<&str> = config.classes.iter().map(|s| s.as_str()).collect();
    let kind = match arch {
        ModelChoice::Temporal(_) => ModelKind::Temporal,
        ModelChoice::Enhanced(_) => ModelKind::Enhanced,
    };
    let make_header = |metrics: Option<serde_json::Value>| {
        let mut h = ModelHeader::new(
            kind,
            &arch.short_name(config.max_detections),
            &class_refs,
            crop,
            stats.clone(),
        );
        h.architecture = architecture.clone();
        h.provenance.source = "trained by stampseq".into();
        h.provenance.training = Some(training_json.clone());
        h.provenance.metrics = metrics;
        h
    };

    // Batches drawn after a resume differ from an uninterrupted run's: the generator is
    // re-seeded from the iteration rather than restored.
    let mut rng =
        StdRng::seed_from_u64(config.seed ^ (state.iteration as u64).wrapping_mul(0x9E37_79B9));
    let mut by_class: Vec<Vec<&Object>> = vec![Vec::new(); config.classes.len()];
    for o in &train_set {
        by_class[o.class].push(o);
    }
    let present: Vec<usize> = (0..by_class.len())
        .filter(|&c| !by_class[c].is_empty())
        .collect();
    let plain = device.clone().inner();
    let mut optim = AdamConfig::new().init();
    let started = Instant::now();
    let start_iteration = state.iteration;
    let (mut loss_acc, mut right_acc, mut steps_acc, mut n_acc) = (0.0f64, 0usize, 0usize, 0usize);
    let mut best_net: Option<Net> = None;
    let mut cancelled = false;
    let n_classes = config.classes.len();

    while state.iteration < state.max_iterations {
        if cancel.load(Ordering::Relaxed) {
            cancelled = true;
            break;
        }
        let chosen: Vec<&Object> = (0..config.batch)
            .map(|_| {
                if config.balance_classes {
                    let c = present[rng.random_range(0..present.len())];
                    by_class[c][rng.random_range(0..by_class[c].len())]
                } else {
                    train_set[rng.random_range(0..train_set.len())]
                }
            })
            .collect();
        let batch = make_batch(&chosen, crop, &stats, config.augment.then_some(&mut rng));
        let out_logits = logits(&net, &batch, crop, stats.len(), device);
        let loss = loss_of(out_logits.clone(), &batch, config.beta, device);
        let loss_value = host(loss.clone())?[0];
        let (r, t) = correct(&host(out_logits)?, &batch, n_classes, false, &chosen);
        let grads = loss.backward();
        net = match net {
            Net::Temporal(m) => {
                let g = GradientsParams::from_grads(grads, &m);
                Net::Temporal(optim.step(config.lr, m, g))
            }
            Net::Enhanced(m) => {
                let g = GradientsParams::from_grads(grads, &m);
                Net::Enhanced(optim.step(config.lr, m, g))
            }
        };
        state.iteration += 1;
        loss_acc += loss_value as f64;
        n_acc += 1;
        right_acc += r;
        steps_acc += t;
        on_event(TrainEvent::Step {
            iteration: state.iteration,
            max_iterations: state.max_iterations,
            train_loss: loss_value,
        });

        let last_step = state.iteration >= state.max_iterations || cancel.load(Ordering::Relaxed);
        if state.iteration.is_multiple_of(config.validate_every) || last_step {
            let valid = net.valid();
            let (val_loss, val_accuracy, confusion) =
                evaluate(&valid, &val_set, config, crop, &stats, &plain)?;
            let improved = state.best_val_loss.is_none_or(|b| val_loss < b);
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
                write_net(&valid, &make_header(Some(metrics)), &best_path)?;
                save_json(&confusion, &out.join("best_confusion.json"))?;
                best_net = Some(valid);
            }
            let elapsed = started.elapsed().as_secs_f64();
            let done = (state.iteration - start_iteration).max(1) as f64;
            let v = Validation {
                iteration: state.iteration,
                max_iterations: state.max_iterations,
                train_loss: loss_acc / n_acc.max(1) as f64,
                train_accuracy: right_acc as f64 / steps_acc.max(1) as f64,
                val_loss,
                val_accuracy,
                best_val_loss: state.best_val_loss.unwrap_or(val_loss),
                improved,
                elapsed_s: elapsed,
                eta_s: elapsed / done * (state.max_iterations - state.iteration) as f64,
                confusion: Some(confusion),
            };
            (loss_acc, right_acc, steps_acc, n_acc) = (0.0, 0, 0, 0);
            state.history.push(v.clone());
            on_event(TrainEvent::Validation(v));
            write_net(&net, &make_header(None), &last_path)?;
            save_json(&state, &state_path)?;
            save_history(&state.history, &out.join("history.csv"))?;
        }
    }
    if state.iteration > start_iteration && !state.iteration.is_multiple_of(config.validate_every) {
        // Every step ends with a validation when cancelled, so this is only a safety net.
        write_net(&net, &make_header(None), &last_path)?;
        save_json(&state, &state_path)?;
    }

    // The test split, judged once with the best model of this session, or of the saved run.
    let best = match best_net {
        Some(n) => Some(n),
        None if best_path.is_file() => {
            let bytes = std::fs::read(&best_path).map_err(io_err(&best_path))?;
            let header = file::header_from_bytes(&bytes, &best_path)?;
            let mut n = init_net(&arch, &plain)?;
            match &mut n {
                Net::Temporal(m) => file::load_weights(m, bytes, &header, &best_path)?,
                Net::Enhanced(m) => file::load_weights(m, bytes, &header, &best_path)?,
            }
            Some(n)
        }
        None => None,
    };
    let (mut test_loss, mut test_accuracy) = (None, None);
    if let (Some(best), false) = (best, test_set.is_empty()) {
        let (l, a, _) = evaluate(&best, &test_set, config, crop, &stats, &plain)?;
        test_loss = Some(l);
        test_accuracy = Some(a);
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
            "test_objects": test_set.len(),
        });
        write_net(&best, &make_header(Some(metrics)), &best_path)?;
    }
    on_event(TrainEvent::Finished {
        iteration: state.iteration,
        cancelled,
        best_val_loss: state.best_val_loss.unwrap_or(f64::NAN),
        best_iteration: state.best_iteration,
        test_accuracy,
    });
    Ok(TrainOutcome {
        state,
        cancelled,
        test_accuracy,
        test_loss,
    })
}
