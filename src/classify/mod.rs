//! Classification of loaded sequences with a model file: preprocessing on all cores,
//! batches to the model's device, one row per object and detection step.

pub mod after;
mod fused;
pub mod models;
mod network;

pub use network::production_rule;

use crate::alert::neutral::Survey;
use crate::alert::AlertRef;
use crate::backend::ResolvedBackend;
use crate::features::sets::{FeatureSet, InputError};
use crate::features::FeatureStats;
use crate::model::file::{self, ModelFileError, ModelHeader, ModelKind};
use crate::model::trees::{read_tree_model, TreeEnsemble};
use crate::model::{
    AlerceStampClassifier, CpuEncoder, EnhancedStampClassifier, EnhancedStampClassifierConfig,
    TemporalStampClassifier, TemporalStampClassifierConfig,
};
use crate::sequence::neutral::AlertObject;
use after::{at_priors, physics_rules, priors_for};
use burn::tensor::Device;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// One alert's model input: stamps (crop x crop x 3) and normalised features, or why not.
type Prepared = Result<(Vec<f32>, Vec<f32>), InputError>;

/// A model ready to run.
pub struct LoadedModel {
    pub header: ModelHeader,
    pub path: PathBuf,
    /// What tables, legends and the browser call it: the file name without its extension,
    /// so that two files of one architecture are told apart.
    display_name: String,
    net: Net,
    /// The stamp encoder on the CPU inference path, when the backend asks for it.
    cpu: Option<CpuEncoder>,
    /// Where the network's weights live (LSST alerts are answered on it).
    device: Device,
}

// One per loaded model: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Net {
    Alerce(AlerceStampClassifier),
    Enhanced(EnhancedStampClassifier),
    Temporal(TemporalStampClassifier),
    Trees(TreeEnsemble),
    /// Members whose probabilities are averaged (see [`crate::model::fused`]).
    Fused(Vec<LoadedModel>),
}

/// The architecture of a trained model: the header's JSON, with or without the `kind` tag
/// that the training configuration adds.
fn architecture<T: serde::de::DeserializeOwned>(
    header: &ModelHeader,
    path: &Path,
) -> Result<T, ModelFileError> {
    let mut value = header.architecture.clone();
    if let Some(map) = value.as_object_mut() {
        map.remove("kind");
    }
    serde_json::from_value(value).map_err(|source| ModelFileError::Architecture {
        path: path.into(),
        source,
    })
}

/// How to classify.
#[derive(Debug, Clone)]
pub struct ClassifyOptions {
    /// Detections per object to classify (the first N); 0 for all.
    pub max_detections: usize,
    pub batch_size: usize,
    /// Apply ALeRCE's production rules after the network (see [`production_rule`]).
    pub production_rules: bool,
    /// Let the stationary rule of the tree models see the object's later alerts too (see
    /// [`rules::apply_knowing`]); off where answers after N detections are scored.
    pub look_ahead_for_stationary: bool,
    /// Answer only each sequence's last detection (a stream, answering the alert that just
    /// arrived, passes each object's alerts up to it).
    pub only_last: bool,
    /// Apply the physics rules ([`crate::model::rules`]) after every model, networks and
    /// imported ALeRCE included; off (`--no-rules`) to see a model's raw output.
    pub rules: bool,
    /// Class priors of the stream (see [`crate::model::priors`]); None answers at equal
    /// priors, as the models are trained to.
    pub priors: Option<std::collections::BTreeMap<String, f64>>,
    /// An AllWISE catalogue and cone radius (arcsec) for the mid-infrared colour rule
    /// ([`rules::apply_wise`]).
    pub allwise: Option<(
        std::sync::Arc<crate::features::allwise::AllWiseCatalogue>,
        f64,
    )>,
}

impl Default for ClassifyOptions {
    fn default() -> Self {
        Self {
            max_detections: 5,
            batch_size: 256,
            production_rules: false,
            look_ahead_for_stationary: true,
            only_last: false,
            rules: true,
            priors: None,
            allwise: None,
        }
    }
}

/// One detection step of one object.
#[derive(Debug, Clone, Serialize)]
pub struct ClassRow {
    pub object_id: String,
    /// 1-based detection number within the object.
    pub k: usize,
    pub candid: Option<i64>,
    pub jd: f64,
    pub model: String,
    pub probabilities: Vec<f32>,
    pub top_class: String,
    /// Standard deviation of each class probability over the model's ensemble members;
    /// empty for a model without an uncertainty estimate.
    pub std: Vec<f32>,
    /// Fraction of ensemble members whose top class differs from the answer's.
    pub disagreement: Option<f32>,
    /// A production rule that overrode the network, if any.
    pub rule: Option<String>,
    /// `file#record` the alert came from.
    pub source: String,
    /// The survey of the alert answered.
    pub survey: Survey,
    /// The answer comes from a model trained on another survey's labelled alerts (a ZTF
    /// model of survey-neutral features answering an LSST alert): transferred, not
    /// validated on this survey's labels.
    pub transferred: bool,
}

/// The uncertainty of an answer as one number: the ensemble's standard deviation of the top
/// class's probability (None for a model without an ensemble); and whether the answer
/// deserves a second look: the top class is weak (below 0.6), the ensemble members
/// disagree on it, or their spread on it is wide (above 0.15).
pub fn answer_uncertainty(
    probs: &[f32],
    std: &[f32],
    disagreement: Option<f32>,
) -> (Option<f32>, bool) {
    let top = crate::model::probs::argmax(probs);
    let spread = top.and_then(|i| std.get(i).copied());
    let p_top = top.map_or(0.0, |i| probs[i]);
    let uncertain =
        p_top < 0.6 || disagreement.is_some_and(|d| d > 0.0) || spread.is_some_and(|u| u > 0.15);
    (spread, uncertain)
}

impl ClassRow {
    /// See [`answer_uncertainty`].
    pub fn uncertainty(&self) -> Option<f32> {
        answer_uncertainty(&self.probabilities, &self.std, self.disagreement).0
    }

    /// See [`answer_uncertainty`].
    pub fn is_uncertain(&self) -> bool {
        answer_uncertainty(&self.probabilities, &self.std, self.disagreement).1
    }
}

/// An alert that could not be classified, and why: a line of the run's report (printed,
/// serialised), so the reason is the words the user reads, not an error to handle.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedAlert {
    pub object_id: String,
    pub k: usize,
    pub source: String,
    pub reason: String,
}

#[derive(Debug, Default, Serialize)]
pub struct ClassifyOutput {
    pub rows: Vec<ClassRow>,
    pub skipped: Vec<SkippedAlert>,
}

impl LoadedModel {
    /// The statistics this model normalises an alert's ALeRCE features with, naming those it
    /// reads as missing: a network's own, a fused model's first network's; `None` for a
    /// model that reads other features (trees).
    pub fn alert_feature_stats(&self) -> Option<&FeatureStats> {
        match &self.net {
            Net::Fused(members) => members.iter().find_map(LoadedModel::alert_feature_stats),
            Net::Trees(_) => None,
            Net::Alerce(_) | Net::Enhanced(_) | Net::Temporal(_) => {
                let stats = &self.header.feature_stats;
                stats
                    .names
                    .iter()
                    .map(String::as_str)
                    .eq(crate::features::ALERCE_FEATURES)
                    .then_some(stats)
            }
        }
    }

    /// Loads a stampseq model file onto a device; wrong, truncated or incompatible files are
    /// refused with a message that says what is wrong.
    pub fn load(path: &Path, device: &Device) -> Result<Self, ModelFileError> {
        let bytes = std::fs::read(path).map_err(|source| ModelFileError::Io {
            path: path.into(),
            source,
        })?;
        Self::from_bytes(bytes, path, device)
    }

    /// [`Self::load`] of a model file's bytes read from `path` (or held in a fused file).
    pub fn from_bytes(
        bytes: Vec<u8>,
        path: &Path,
        device: &Device,
    ) -> Result<Self, ModelFileError> {
        let header = file::header_from_bytes(&bytes, path)?;
        let net = match header.kind {
            ModelKind::Alerce => {
                let mut net = AlerceStampClassifier::new(device);
                file::load_weights(&mut net, bytes, &header, path)?;
                Net::Alerce(net)
            }
            ModelKind::Enhanced => {
                let config: EnhancedStampClassifierConfig = architecture(&header, path)?;
                let mut net = config
                    .init(device)
                    .map_err(|e| ModelFileError::header(path, e))?;
                file::load_weights(&mut net, bytes, &header, path)?;
                Net::Enhanced(net)
            }
            ModelKind::Temporal => {
                let config: TemporalStampClassifierConfig = architecture(&header, path)?;
                let mut net = config
                    .init(device)
                    .map_err(|e| ModelFileError::header(path, e))?;
                file::load_weights(&mut net, bytes, &header, path)?;
                Net::Temporal(net)
            }
            ModelKind::Trees => Net::Trees(read_tree_model(&bytes, &header, path)?),
            ModelKind::Fused => Net::Fused(fused::load_members(&bytes, &header, path, device)?),
        };
        let display_name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| header.name.clone());
        Ok(Self {
            header,
            path: path.into(),
            display_name,
            net,
            cpu: None,
            device: device.clone(),
        })
    }

    /// [`Self::load`] onto a resolved backend: with [`ResolvedBackend::cpu_kernels`] the stamp
    /// encoder runs on stampseq's CPU inference path ([`crate::model::cpu_infer`]) and the
    /// rest of the network on the backend's device.
    pub fn load_for(path: &Path, backend: &ResolvedBackend) -> Result<Self, ModelFileError> {
        let mut model = Self::load(path, &backend.device)?;
        if backend.cpu_kernels {
            model.use_cpu_kernels()?;
        }
        Ok(model)
    }

    /// Puts the stamp encoder (every member's, for a fused model) on the CPU kernels.
    fn use_cpu_kernels(&mut self) -> Result<(), ModelFileError> {
        let cpu = match &mut self.net {
            Net::Alerce(net) => net.cpu_encoder(),
            Net::Enhanced(net) => net.encoder().cpu_encoder(),
            Net::Temporal(net) => net.encoder().cpu_encoder(),
            // No stamps: nothing to put on the CPU kernels.
            Net::Trees(_) => return Ok(()),
            Net::Fused(members) => {
                return members.iter_mut().try_for_each(|m| m.use_cpu_kernels());
            }
        };
        self.cpu = Some(cpu.map_err(|e| ModelFileError::header(&self.path, e))?);
        Ok(())
    }

    /// The backend to load the model at `path` on: a tree model runs on the CPU whatever
    /// is asked, and no GPU is looked for (which would start a graphics stack for nothing);
    /// a fused model (the default answer: trees and a small network) on the CPU kernels
    /// unless a backend is named, since a GPU gives it nothing at the sizes it answers and
    /// looking for one costs a second and an error line on a headless machine; a network
    /// on `choice`.
    pub fn backend_for(path: &Path, choice: crate::backend::BackendChoice) -> ResolvedBackend {
        use crate::backend::BackendChoice;
        let kind = crate::model::file::read_header(path).ok().map(|h| h.kind);
        match kind {
            Some(ModelKind::Trees) => {
                let mut cpu = BackendChoice::Cpu.resolve();
                cpu.description = "CPU (trees)".into();
                cpu
            }
            Some(ModelKind::Fused) if choice == BackendChoice::Auto => {
                let mut cpu = BackendChoice::Cpu.resolve();
                cpu.description =
                    "CPU (stampseq conv kernels + burn flex; auto for a fused model)".into();
                cpu
            }
            _ => choice.resolve(),
        }
    }

    /// A tree model trained in this process (the benchmark's), as if read from `path`.
    pub fn from_trees(ensemble: TreeEnsemble, header: ModelHeader, path: &Path) -> Self {
        let display_name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| header.name.clone());
        Self {
            header,
            path: path.into(),
            display_name,
            net: Net::Trees(ensemble),
            cpu: None,
            device: Device::default(),
        }
    }

    /// Whether the stamp encoder runs on the CPU inference path.
    pub fn uses_cpu_kernels(&self) -> bool {
        match &self.net {
            Net::Fused(members) => members.iter().any(|m| m.uses_cpu_kernels()),
            _ => self.cpu.is_some(),
        }
    }

    /// Whether the model reads the stamps of an object's earlier alerts too (a temporal
    /// network, or a fusion holding one): a stream must then keep them across a restart.
    pub fn reads_earlier_stamps(&self) -> bool {
        match &self.net {
            Net::Temporal(_) => true,
            Net::Fused(members) => members.iter().any(|m| m.reads_earlier_stamps()),
            _ => false,
        }
    }

    /// Whether the model reads the stamps (a network, or a fusion holding one): where it
    /// does not, readers may skip decoding them.
    pub fn reads_stamps(&self) -> bool {
        match &self.net {
            Net::Trees(_) => false,
            Net::Fused(members) => members.iter().any(|m| m.reads_stamps()),
            _ => true,
        }
    }

    /// The model's file name without extension (see `display_name`).
    pub fn name(&self) -> &str {
        &self.display_name
    }

    /// Whether the answers carry an uncertainty (ensemble spread).
    pub fn has_uncertainty(&self) -> bool {
        match &self.net {
            Net::Trees(_) => true,
            // A member's spread counts only where the member carries weight; two or more
            // weighted networks, which have none of their own, give one together.
            Net::Fused(members) => {
                let weights = crate::model::fused::member_weights(&self.header, &self.path)
                    .unwrap_or_default();
                fused::has_spread(
                    members
                        .iter()
                        .zip(weights)
                        .filter(|(_, w)| *w > 0.0)
                        .map(|(m, _)| m.has_uncertainty()),
                )
            }
            _ => false,
        }
    }

    pub fn classes(&self) -> &[String] {
        &self.header.classes
    }

    pub fn feature_stats(&self) -> &FeatureStats {
        &self.header.feature_stats
    }

    /// The feature set the model reads (see [`FeatureSet`]).
    pub fn feature_set(&self) -> FeatureSet {
        self.header
            .trained_on
            .features()
            .unwrap_or(FeatureSet::ZtfCandidate)
    }

    /// The longest run of detections the model reads (a transformer head's positions);
    /// None for no limit.
    pub fn max_steps(&self) -> Option<usize> {
        match &self.net {
            Net::Temporal(net) => net.head().max_steps(),
            Net::Fused(members) => members.iter().filter_map(|m| m.max_steps()).min(),
            _ => None,
        }
    }

    /// The device the model's weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Whether the model reads alerts of `survey`.
    pub fn reads(&self, survey: Survey) -> bool {
        self.header.reads(survey)
    }

    /// The objects' alerts this model answers (the first N of each, of its survey), and a
    /// skipped line for each alert it does not.
    fn readable<'a, O: AlertObject>(
        &self,
        objects: &'a [O],
        options: &ClassifyOptions,
    ) -> (Vec<ObjectAlerts<'a>>, ClassifyOutput) {
        let mut out = ClassifyOutput::default();
        let mut readable: Vec<ObjectAlerts> = Vec::new();
        for o in objects {
            let alerts = o.alert_refs();
            let Some(first) = alerts.first() else {
                continue;
            };
            let mut n = n_max(options, alerts.len()).min(alerts.len());
            if let Some(limit) = self.max_steps().filter(|l| *l < n) {
                for (i, a) in alerts[limit..n].iter().enumerate() {
                    out.skipped.push(SkippedAlert {
                        object_id: o.name().to_string(),
                        k: step_number(*a, limit + i),
                        source: a.source(),
                        reason: format!(
                            "model {} reads at most {limit} detections per object",
                            self.name()
                        ),
                    });
                }
                n = limit;
            }
            if let Err(e) =
                self.header
                    .check_survey(&self.path, first.survey(), &first.origin().file)
            {
                let reason = e.to_string();
                for (i, a) in alerts[..n].iter().enumerate() {
                    out.skipped.push(SkippedAlert {
                        object_id: o.name().to_string(),
                        k: step_number(*a, i),
                        source: a.source(),
                        reason: reason.clone(),
                    });
                }
                continue;
            }
            readable.push(ObjectAlerts {
                name: o.name(),
                alerts,
                answered: n,
            });
        }
        (readable, out)
    }

    /// A fused model's answers at each of `weight_sets` (one weight per member, in the
    /// file's order), its members run once; None for a model that is not fused. The rules
    /// and priors of `options` apply to each.
    pub fn classify_at_weights<O: AlertObject>(
        &self,
        objects: &[O],
        options: &ClassifyOptions,
        weight_sets: &[Vec<f32>],
        cancel: &AtomicBool,
    ) -> Result<Option<Vec<ClassifyOutput>>, crate::model::ModelError> {
        let Net::Fused(members) = &self.net else {
            return Ok(None);
        };
        let (readable, skipped) = self.readable(objects, options);
        let mut outs = self.classify_fused_at(members, &readable, options, weight_sets, cancel)?;
        for out in &mut outs {
            out.skipped.extend(skipped.skipped.iter().cloned());
        }
        Ok(Some(outs))
    }

    /// Classifies every object's first detections: the one answer path, for objects of any
    /// survey ([`AlertObject`]: a survey-neutral [`crate::sequence::neutral::ObjectSequence`],
    /// or an object's alerts borrowed from where they are held). Objects of a survey the model does
    /// not read are skipped with the reason, not refused; `k` is the object's detection
    /// count at the alert (its place among those loaded, or the count an LSST alert
    /// carries). `progress` gets (done, total) detection counts; setting `cancel` stops
    /// between batches.
    pub fn classify<O: AlertObject>(
        &self,
        objects: &[O],
        options: &ClassifyOptions,
        device: &Device,
        cancel: &AtomicBool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<ClassifyOutput, crate::model::ModelError> {
        let (readable, mut out) = self.readable(objects, options);
        let answered = match &self.net {
            Net::Trees(trees) => {
                self.classify_tabular(trees, &readable, options, cancel, progress)?
            }
            Net::Fused(members) => {
                self.classify_fused(members, &readable, options, cancel, progress)?
            }
            _ => self.classify_network(&readable, options, device, cancel, progress)?,
        };
        out.rows = answered.rows;
        out.skipped.extend(answered.skipped);
        Ok(out)
    }
}

/// One object's alerts as the answer path holds them, and how many of the first are
/// answered.
struct ObjectAlerts<'a> {
    name: &'a str,
    alerts: Vec<AlertRef<'a>>,
    answered: usize,
}

/// The detection number reported for the `index`-th loaded alert of an object: the count
/// the alert carries where it carries its whole history, else its place among those loaded.
fn step_number(alert: AlertRef, index: usize) -> usize {
    alert.carried_detection_count().unwrap_or(index + 1)
}

/// Two rule notes as one.
fn join_notes(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}

/// The physics rules for the `index`-th alert of `object` (see [`physics_rules`]), with the
/// object's later alerts where the options allow looking ahead.
fn item_rules(
    object: &ObjectAlerts,
    index: usize,
    classes: &[String],
    probs: &mut [f32],
    std: Option<&mut [f32]>,
    options: &ClassifyOptions,
) -> Option<String> {
    let earlier = &object.alerts[..index];
    let later: &[AlertRef] = if options.look_ahead_for_stationary {
        &object.alerts[index + 1..]
    } else {
        &[]
    };
    physics_rules(
        object.alerts[index],
        earlier,
        later,
        classes,
        probs,
        std,
        options,
    )
}

/// How many of a sequence's detections are answered.
fn n_max(options: &ClassifyOptions, len: usize) -> usize {
    match options.max_detections {
        0 => len,
        n => n,
    }
}

impl LoadedModel {
    /// Where each class a tree ensemble was trained on sits among the model's classes.
    fn trained_slots(&self, trees: &TreeEnsemble) -> Vec<usize> {
        trees
            .classes
            .iter()
            .map(|c| self.header.classes.iter().position(|h| h == c).unwrap_or(0))
            .collect()
    }

    /// A tree model's answers: features from each alert and the object's alerts before it
    /// (no stamps), the ensemble's mean and spread, the priors, then the physics rules
    /// ([`crate::model::rules`]), which are part of this model.
    fn classify_tabular(
        &self,
        trees: &TreeEnsemble,
        objects: &[ObjectAlerts],
        options: &ClassifyOptions,
        cancel: &AtomicBool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<ClassifyOutput, crate::model::ModelError> {
        let mut out = ClassifyOutput::default();
        let first_answered = |o: &ObjectAlerts| {
            if options.only_last {
                o.answered.saturating_sub(1)
            } else {
                0
            }
        };
        let total: usize = objects.iter().map(|o| o.answered - first_answered(o)).sum();
        let classes = &self.header.classes;
        let slots = self.trained_slots(trees);
        let weights = priors_for(classes, options)?;
        let features = self.feature_set();
        let mut done = 0;
        for chunk in objects.chunks(options.batch_size.max(1)) {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            let items: Vec<(&ObjectAlerts, usize)> = chunk
                .iter()
                .flat_map(|o| (first_answered(o)..o.answered).map(move |i| (o, i)))
                .collect();
            let rows: Vec<_> = items
                .par_iter()
                .map(|(o, i)| features.tree_row(o.alerts[*i], &o.alerts[..*i]))
                .collect();
            let mut kept = Vec::with_capacity(items.len());
            let mut kept_rows = Vec::with_capacity(items.len());
            for ((o, i), row) in items.into_iter().zip(rows) {
                match row {
                    Ok(r) => {
                        kept.push((o, i));
                        kept_rows.push(r);
                    }
                    Err(reason) => out.skipped.push(SkippedAlert {
                        object_id: o.name.to_string(),
                        k: step_number(o.alerts[i], i),
                        source: o.alerts[i].source(),
                        reason: reason.to_string(),
                    }),
                }
            }
            let answers = trees
                .predict(&kept_rows)
                .map_err(|e| crate::model::ModelError::TreeInput(e.into()))?;
            for ((o, i), answer) in kept.into_iter().zip(answers) {
                let mut probs = vec![0f32; classes.len()];
                let mut std = vec![0f32; classes.len()];
                for (j, &slot) in slots.iter().enumerate() {
                    probs[slot] = answer.mean[j];
                    std[slot] = answer.std[j];
                }
                if let Some(w) = &weights {
                    at_priors(&mut probs, Some(&mut std), w);
                }
                let rule = if options.rules {
                    item_rules(o, i, classes, &mut probs, Some(&mut std), options)
                } else {
                    None
                };
                let alert = o.alerts[i];
                let mut row =
                    self.row(o.name, step_number(alert, i), alert, probs, Some(std), rule);
                row.disagreement = Some(answer.disagreement);
                out.rows.push(row);
                done += 1;
            }
            progress(done, total);
        }
        Ok(out)
    }

    /// One answer row: the top class read after the rules.
    fn row(
        &self,
        object: &str,
        k: usize,
        alert: AlertRef,
        probabilities: Vec<f32>,
        std: Option<Vec<f32>>,
        rule: Option<String>,
    ) -> ClassRow {
        let top = crate::model::probs::argmax(&probabilities).unwrap_or(0);
        ClassRow {
            object_id: object.to_string(),
            k,
            candid: alert.alert_id(),
            jd: alert.jd(),
            model: self.display_name.clone(),
            top_class: self.header.classes.get(top).cloned().unwrap_or_default(),
            probabilities,
            std: std.unwrap_or_default(),
            disagreement: None,
            rule,
            source: alert.source(),
            survey: alert.survey(),
            transferred: self.header.transferred_to(alert.survey()),
        }
    }
}
