//! The networks' side of the answer path: each detection's stamps and features prepared as
//! the model's feature set asks, batches that end between objects (a temporal model sees
//! each object whole), the forward pass on the model's device or the CPU kernels, and
//! ALeRCE's production rules.

use super::after::{at_priors, priors_for};
use super::{
    item_rules, join_notes, step_number, ClassifyOptions, ClassifyOutput, LoadedModel, Net,
    ObjectAlerts, Prepared, SkippedAlert,
};
use crate::alert::{Alert, AlertRef};
use crate::model::{CpuEncoder, TemporalStampClassifier};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

fn readback<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, crate::model::ModelError> {
    t.try_into_data()
        .ok()
        .and_then(|d| d.try_into_vec_as::<f32>().ok())
        .ok_or_else(|| crate::model::ModelError::Readback("probabilities".into()))
}

impl LoadedModel {
    /// A network's answers to `objects`' first detections: the model's output, ALeRCE's
    /// production rules where asked, the priors, then the physics rules.
    pub(super) fn classify_network(
        &self,
        objects: &[ObjectAlerts],
        options: &ClassifyOptions,
        device: &Device,
        cancel: &AtomicBool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<ClassifyOutput, crate::model::ModelError> {
        let items: Vec<NetItem> = objects
            .iter()
            .flat_map(|o| {
                (0..o.answered).map(move |i| NetItem {
                    object: o,
                    index: i,
                    k: step_number(o.alerts[i], i),
                    alert: o.alerts[i],
                    // A stream passes each object's alerts up to the one that arrived.
                    answer: !options.only_last || i + 1 == o.answered,
                })
            })
            .collect();
        let weights = priors_for(&self.header.classes, options)?;
        let mut out = ClassifyOutput::default();
        self.run_network(
            &items,
            options.batch_size,
            device,
            cancel,
            progress,
            &mut out,
            |item, probs| {
                let production = match item.alert.ztf() {
                    Some(alert) if options.production_rules => {
                        production_rule(alert, &self.header.classes, probs)
                    }
                    _ => None,
                };
                if let Some(w) = &weights {
                    at_priors(probs, None, w);
                }
                let physics = if options.rules {
                    item_rules(
                        item.object,
                        item.index,
                        &self.header.classes,
                        probs,
                        None,
                        options,
                    )
                } else {
                    None
                };
                join_notes(production, physics)
            },
        )?;
        Ok(out)
    }
}

impl LoadedModel {
    /// A network's probabilities for prepared detections, whatever the survey: `stamps`
    /// `[n][crop][crop][3]`, normalised `features` `[n][F]`, and each detection's object and
    /// time (days); a temporal model reads each run of one object's detections as its
    /// sequence and answers after each.
    fn network_probabilities(
        &self,
        stamps: Vec<f32>,
        features: Vec<f32>,
        steps: &[(&str, f64)],
        device: &Device,
    ) -> Result<Vec<Vec<f32>>, crate::model::ModelError> {
        let crop = self.header.crop;
        let stats = &self.header.feature_stats;
        Ok(match &self.net {
            Net::Alerce(net) => net
                .predict_with(&stamps, &features, device, self.cpu.as_ref())?
                .probabilities
                .into_iter()
                .map(|p| p.to_vec())
                .collect(),
            Net::Enhanced(net) => {
                let b = steps.len();
                let f = stats.len();
                let embedding = match &self.cpu {
                    Some(cpu) => host_embedding(cpu, &stamps, device)?,
                    None => net.encoder().forward(Tensor::<4>::from_data(
                        TensorData::new(stamps, [b, crop, crop, 3]),
                        device,
                    )),
                };
                let features = Tensor::<2>::from_data(TensorData::new(features, [b, f]), device);
                let probs = softmax(net.forward_embedded(embedding, features), 1);
                let c = self.header.classes.len();
                readback(probs)?.chunks(c).map(|p| p.to_vec()).collect()
            }
            Net::Trees(_) | Net::Fused(_) => {
                return Err(crate::model::ModelError::Input(
                    "a tree or fused model is not one network".into(),
                ))
            }
            Net::Temporal(net) => {
                let input = TemporalInput {
                    stamps,
                    features,
                    crop,
                    n_features: stats.len(),
                };
                temporal_probabilities(net, self.cpu.as_ref(), steps, input, device)?
            }
        })
    }
}

impl LoadedModel {
    /// Runs the network over `items` (each object's detections consecutive, oldest first)
    /// in chunks of about `batch_size` that end between objects, so that a temporal model
    /// sees each object whole: the stamps and features of each detection prepared as the
    /// model's feature set asks ([`FeatureSet::network_input`]), one row per detection to
    /// answer into `out`
    /// (`rule` may adjust the probabilities and name a rule), one skipped entry per
    /// detection that could not be prepared.
    #[allow(clippy::too_many_arguments)]
    fn run_network(
        &self,
        items: &[NetItem],
        batch_size: usize,
        device: &Device,
        cancel: &AtomicBool,
        progress: &(dyn Fn(usize, usize) + Sync),
        out: &mut ClassifyOutput,
        rule: impl Fn(&NetItem, &mut [f32]) -> Option<String>,
    ) -> Result<(), crate::model::ModelError> {
        let crop = self.header.crop;
        let stats = &self.header.feature_stats;
        let features = self.feature_set();
        let temporal = matches!(self.net, Net::Temporal(_));
        let mut bounds = Vec::new();
        let mut start = 0;
        for i in 1..=items.len() {
            let boundary = i == items.len() || items[i].object.name != items[i - 1].object.name;
            if boundary && (i - start >= batch_size.max(1) || i == items.len()) {
                bounds.push((start, i));
                start = i;
            }
        }
        let mut done = 0;
        for chunk in bounds.iter().map(|&(a, b)| &items[a..b]) {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            let prepared: Vec<Prepared> = chunk
                .par_iter()
                .map(|item| features.network_input(item.alert, crop, stats))
                .collect();
            let (mut stamps, mut features_in, mut kept) = (Vec::new(), Vec::new(), Vec::new());
            // The time of each object's first kept detection, which a temporal model counts
            // from.
            let mut first_time: Option<(&str, f64)> = None;
            for (item, p) in chunk.iter().zip(prepared) {
                let reason = match p {
                    Ok((s, f)) => {
                        let untimed_reason = temporal
                            .then(|| {
                                let time = item.alert.days();
                                match first_time {
                                    Some((name, t0)) if name == item.object.name => {
                                        crate::model::days_after_first(t0, time, false)
                                            .is_none()
                                            .then(|| UNTIMED.to_string())
                                    }
                                    _ => {
                                        first_time = Some((item.object.name, time));
                                        None
                                    }
                                }
                            })
                            .flatten();
                        if untimed_reason.is_none() {
                            stamps.extend(s);
                            features_in.extend(f);
                            kept.push(item);
                        }
                        untimed_reason
                    }
                    Err(e) => Some(e.to_string()),
                };
                if let Some(reason) = reason {
                    out.skipped.push(item.skipped(reason));
                }
            }
            let steps: Vec<(&str, f64)> = kept
                .iter()
                .map(|item| (item.object.name, item.alert.days()))
                .collect();
            let probabilities = self.network_probabilities(stamps, features_in, &steps, device)?;
            for (item, mut probs) in kept.into_iter().zip(probabilities) {
                if !item.answer {
                    continue;
                }
                // A class read off NaNs would be the first class, not an answer.
                if probs.iter().any(|p| !p.is_finite()) {
                    out.skipped.push(item.skipped(format!(
                        "{} gave no finite probabilities for this detection (an input out of range)",
                        self.name()
                    )));
                    continue;
                }
                let rule = rule(item, &mut probs);
                out.rows
                    .push(self.row(item.object.name, item.k, item.alert, probs, None, rule));
            }
            done += chunk.len();
            progress(done, items.len());
        }
        Ok(())
    }
}

/// The preprocessed inputs of a chunk, one alert after the other.
struct TemporalInput {
    stamps: Vec<f32>,
    features: Vec<f32>,
    crop: usize,
    n_features: usize,
}

/// Embeddings of host stamps on the CPU path, as a `[B, width]` tensor on `device`.
fn host_embedding(
    cpu: &CpuEncoder,
    stamps: &[f32],
    device: &Device,
) -> Result<Tensor<2>, crate::model::ModelError> {
    let embedding = cpu
        .embed(stamps)
        .map_err(crate::model::ModelError::CpuInput)?;
    let b = embedding.len() / cpu.width();
    Ok(Tensor::from_data(
        TensorData::new(embedding, [b, cpu.width()]),
        device,
    ))
}

/// One forward pass per object over its kept detections: the causal head gives the
/// probabilities after each detection. Objects are padded to the longest in the chunk, which
/// leaves the earlier steps untouched.
fn temporal_probabilities(
    net: &TemporalStampClassifier,
    cpu: Option<&CpuEncoder>,
    steps: &[(&str, f64)],
    input: TemporalInput,
    device: &Device,
) -> Result<Vec<Vec<f32>>, crate::model::ModelError> {
    let TemporalInput {
        stamps,
        features,
        crop,
        n_features,
    } = input;
    let per = crop * crop * 3;
    // Runs of consecutive items of the same object, in order.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (i, (object, _)) in steps.iter().enumerate() {
        match groups.last_mut() {
            Some((start, len)) if steps[*start].0 == *object => *len += 1,
            _ => groups.push((i, 1)),
        }
    }
    let Some(t) = groups.iter().map(|g| g.1).max() else {
        return Ok(Vec::new());
    };
    let b = groups.len();
    let mut s = vec![0f32; b * t * per];
    let mut f = vec![0f32; b * t * n_features];
    let mut days = vec![0f32; b * t];
    for (g, &(start, len)) in groups.iter().enumerate() {
        let t0 = steps[start].1;
        for k in 0..t {
            let src = start + k.min(len - 1);
            // Later detections without a time were left out before the batch was made.
            days[g * t + k] =
                crate::model::days_after_first(t0, steps[src].1, src == start).unwrap_or(0.0);
            if k < len {
                let slot = g * t + k;
                s[slot * per..(slot + 1) * per]
                    .copy_from_slice(&stamps[src * per..(src + 1) * per]);
                f[slot * n_features..(slot + 1) * n_features]
                    .copy_from_slice(&features[src * n_features..(src + 1) * n_features]);
            }
        }
    }
    let features = Tensor::<3>::from_data(TensorData::new(f, [b, t, n_features]), device);
    let days = Tensor::<2>::from_data(TensorData::new(days, [b, t]), device);
    let probs = match cpu {
        Some(cpu) => {
            let width = net.encoder().width();
            let embedding = host_embedding(cpu, &s, device)?.reshape([b, t, width]);
            softmax(net.forward_embedded(embedding, features, days, None), 2)
        }
        None => net.probabilities(
            Tensor::<5>::from_data(TensorData::new(s, [b, t, crop, crop, 3]), device),
            features,
            days,
            None,
        ),
    };
    let host = readback(probs)?;
    let c = host.len() / (b * t);
    let mut out = Vec::with_capacity(steps.len());
    for (g, &(_, len)) in groups.iter().enumerate() {
        for k in 0..len {
            let o = (g * t + k) * c;
            out.push(host[o..o + c].to_vec());
        }
    }
    Ok(out)
}

/// Why a temporal model leaves out a later detection without a time.
const UNTIMED: &str = "no observation time to place it after the object's first detection (a temporal model reads the days between them)";

/// One detection a network reads: its object, its place among the object's loaded
/// alerts, the detection number reported, and whether its answer is wanted (a stream wants
/// only the last, though the temporal models read all before it).
struct NetItem<'a> {
    object: &'a ObjectAlerts<'a>,
    index: usize,
    /// 1-based.
    k: usize,
    alert: AlertRef<'a>,
    answer: bool,
}

impl NetItem<'_> {
    /// This detection left out of the answers, with the reason.
    fn skipped(&self, reason: String) -> SkippedAlert {
        SkippedAlert {
            object_id: self.object.name.to_string(),
            k: self.k,
            source: self.alert.source(),
            reason,
        }
    }
}

/// ALeRCE's rules around its network, as its stamp classifier step applies them: an alert
/// within `ssdistnr` of a known solar-system object is an asteroid whatever the network
/// says; a supernova answer is dropped when the subtraction is negative or a star sits under
/// the source (`sgscore1 > 0.5` and `distpsnr1 < 1`), and the next most probable class is
/// reported instead. Returns the rule that fired.
pub fn production_rule(alert: &Alert, classes: &[String], probs: &mut [f32]) -> Option<String> {
    let idx = |name: &str| classes.iter().position(|c| c == name);
    let c = &alert.candidate;
    if let (true, Some(ast)) = (c.near_known_asteroid(), idx("asteroid")) {
        probs.iter_mut().for_each(|p| *p = 0.0);
        probs[ast] = 1.0;
        return Some(format!(
            "asteroid: known solar-system object {:.1} arcsec away",
            c.ssdistnr.unwrap_or(f64::NAN)
        ));
    }
    let sn = idx("SN")?;
    if crate::model::probs::argmax(probs) != Some(sn) {
        return None;
    }
    let reason = if c.isdiffpos.is_some_and(|d| !d.is_positive()) {
        "SN dropped: negative subtraction"
    } else if c.sgscore1.is_some_and(|s| s > 0.5)
        && c.distpsnr1.is_some_and(|d| (0.0..1.0).contains(&d))
    {
        "SN dropped: a star under the source"
    } else {
        return None;
    };
    probs[sn] = 0.0;
    Some(reason.to_string())
}
