//! The training configuration, read from TOML.

use crate::model::{EnhancedStampClassifierConfig, TemporalStampClassifierConfig};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::TrainError;

/// Which network is trained, with its architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelChoice {
    /// The Temporal Stamp Classifier; `classes` and `n_features` are filled in from the
    /// training configuration, whatever the file says.
    Temporal(TemporalStampClassifierConfig),
    /// The single-alert enhanced classifier, trained on every detection of the first N.
    Enhanced(EnhancedStampClassifierConfig),
    /// Gradient-boosted trees on each alert's metadata and the history it carries, no
    /// stamps: the kind that trains on either survey (ZTF `candidate` or LSST `diaSource`
    /// features, chosen by the alerts given). See [`crate::train::trees`].
    Trees(crate::model::trees::TreeConfig),
}

impl Default for ModelChoice {
    fn default() -> Self {
        ModelChoice::Temporal(TemporalStampClassifierConfig {
            wise: false,
            ..TemporalStampClassifierConfig::default()
        })
    }
}

impl ModelChoice {
    pub fn crop(&self) -> usize {
        match self {
            ModelChoice::Temporal(c) => c.encoder.crop,
            ModelChoice::Enhanced(c) => c.encoder.crop,
            // Trees read no stamps.
            ModelChoice::Trees(_) => 0,
        }
    }

    /// A short name for tables and plots.
    pub fn short_name(&self, n: usize) -> String {
        match self {
            ModelChoice::Temporal(c) => format!("tsc-{}-n{n}", c.head.name()),
            ModelChoice::Enhanced(_) => format!("enhanced-n{n}"),
            ModelChoice::Trees(_) => "trees".into(),
        }
    }

    /// The architecture with the fields the training configuration owns set from it.
    pub fn settled(&self, classes: &[String], n_features: usize, n: usize) -> Self {
        match self {
            ModelChoice::Temporal(c) => {
                let mut c = c.clone();
                c.classes = classes.to_vec();
                c.n_features = n_features;
                c.max_steps = c.max_steps.max(n);
                ModelChoice::Temporal(c)
            }
            ModelChoice::Enhanced(c) => {
                let mut c = c.clone();
                c.classes = classes.to_vec();
                c.n_features = n_features;
                ModelChoice::Enhanced(c)
            }
            ModelChoice::Trees(c) => ModelChoice::Trees(c.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub model: ModelChoice,
    /// Detections per object used: the first N (2..=5 in the paper).
    pub max_detections: usize,
    /// Classes in logit order; objects labelled otherwise are reported and skipped.
    pub classes: Vec<String>,
    pub lr: f64,
    pub batch: usize,
    pub max_iterations: usize,
    /// Validation loss every this many iterations.
    pub validate_every: usize,
    /// When validation improves at iteration i, train at least to i + this (ALeRCE: 10,000).
    pub extend_on_improvement: Option<usize>,
    /// Weight of the entropy bonus in the confidence-penalty loss.
    pub beta: f64,
    /// Draw classes uniformly for the training batches (oversamples the minority classes).
    pub balance_classes: bool,
    /// Select the best checkpoint on the validation loss averaged class by class, each
    /// class weighing the same, as the answers are made at equal priors; `false` averages
    /// over the validation samples, where the frequent classes decide which checkpoint
    /// is kept. The test split's loss is averaged the same way.
    pub balanced_validation: bool,
    /// With `balance_classes`, draw each class's objects one source group at a time (the
    /// group uniformly, then an object of it), the groups read from `source_groups`: where
    /// one source holds most of a class, the network sees the class's other sources as
    /// often, and a source's look stops telling the class. `stampseq benchmark
    /// --retrain-grouped` writes each fold's groups itself.
    pub balance_sources: bool,
    /// `objectId,group` rows naming each training object's source group, for
    /// `balance_sources`; objects it does not list form one group.
    pub source_groups: Option<PathBuf>,
    pub seed: u64,
    /// Objects per class held out for validation, and again for test.
    pub val_per_class: usize,
    pub test_per_class: usize,
    /// Random 90-degree rotations and flips of the stamps (one per object per draw).
    pub augment: bool,
    /// Varying stamp sizes (the enhanced classifier's augmentation): with augmentation on,
    /// each object's stamps keep only a centred window of a side drawn in
    /// `[random_window_min, crop]`, the rest set to 0 as the missing part of an edge or
    /// smaller stamp arrives; `None` keeps whole stamps.
    pub random_window_min: Option<usize>,
    /// With augmentation on, the chance that each of an object's features is read as
    /// missing (normalised to 0, the training mean, for all its detections), drawn for every
    /// object of every batch. A source whose alerts lack a field, or carry it with other
    /// values, then finds a network that does not lean on that field alone; and the
    /// features read as missing once trained (`neutralise_after_training`) are not new to
    /// it. 0 draws nothing.
    pub feature_dropout: f64,
    /// Alert files, folders or archives.
    pub data: Vec<PathBuf>,
    /// `objectId,label` CSV.
    pub labels: PathBuf,
    /// An `objectId,label` CSV of the objects that validation and test are drawn from (their
    /// labels join `labels`; other objects only train). With real and simulated data, list
    /// the real alerts here so that the test metrics are about real data. A class with too
    /// few of these objects is drawn from all its objects, and the split says so.
    pub holdout_labels: Option<PathBuf>,
    /// A CSV with `objectId` and `part` (train, val, test) columns that fixes the split
    /// instead of drawing it, e.g. the benchmark's `assets/benchmark/split.csv`; objects it
    /// does not list train. `val_per_class`, `test_per_class` and `holdout_labels` are then
    /// unused.
    pub split: Option<PathBuf>,
    /// Feature names (default: the 26 of the ALeRCE checkpoint). Tree models compute their
    /// own survey's features and ignore this.
    pub features: Vec<String>,
    /// Of `features`, those a network reads as missing (normalised to 0) in training and in
    /// every answer, recorded in its file: what tells the source, not the class (for the
    /// bundled networks the sky position and latitudes and `ndethist`). Tree models
    /// have their own list (`[model] neutralised`).
    pub neutralised_features: Vec<String>,
    /// When `neutralised_features` start being read as missing: `false`, from the first
    /// step; `true`, once trained: the network trains and is selected reading them, and
    /// its best checkpoint (the model it answers with) reads them as missing. The second
    /// is how the bundled networks were made; across sources it scored higher (grouped
    /// validation, README Known limits).
    pub neutralise_after_training: bool,
    /// The LSST schema folder for Confluent-framed messages among `data` (else
    /// `$STAMPSEQ_LSST_SCHEMAS`).
    pub lsst_schemas: Option<PathBuf>,
    /// A network's preprocessed data (a run's `data.cache`) to train on instead of reading
    /// `data`, which then need not be present: on a GPU machine the raw alerts are far
    /// larger than their crops. It must have been made with the same labels, split,
    /// classes, features, N and crop (`stampseq train --data-cache` sets it).
    pub data_cache: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: ModelChoice::default(),
            max_detections: 5,
            classes: crate::model::DEFAULT_CLASSES
                .iter()
                .map(|c| c.to_string())
                .collect(),
            lr: 1e-4,
            batch: 128,
            max_iterations: 30_000,
            validate_every: 10,
            extend_on_improvement: None,
            beta: 0.5,
            balance_classes: true,
            balance_sources: false,
            source_groups: None,
            balanced_validation: false,
            seed: 0,
            val_per_class: 200,
            test_per_class: 200,
            augment: true,
            random_window_min: None,
            feature_dropout: 0.0,
            data: Vec::new(),
            labels: PathBuf::new(),
            holdout_labels: None,
            split: None,
            features: crate::features::ALERCE_FEATURES
                .iter()
                .map(|f| f.to_string())
                .collect(),
            neutralised_features: Vec::new(),
            neutralise_after_training: false,
            lsst_schemas: None,
            data_cache: None,
        }
    }
}

impl TrainConfig {
    /// Reads a TOML file; relative data and label paths are taken from the file's folder.
    pub fn from_toml_file(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.into(),
            source,
        })?;
        let mut config: TrainConfig =
            toml::from_str(&text).map_err(|source| TrainError::ConfigToml {
                path: path.into(),
                source,
            })?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        config.check()?;
        Ok(config)
    }

    /// Makes relative data and label paths relative to `base` (the configuration's folder).
    pub fn resolve_paths(&mut self, base: &Path) {
        for p in self.data.iter_mut() {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if self.labels.is_relative() && !self.labels.as_os_str().is_empty() {
            self.labels = base.join(&self.labels);
        }
        if let Some(h) = self.holdout_labels.as_mut().filter(|h| h.is_relative()) {
            *h = base.join(&*h);
        }
        if let Some(s) = self.split.as_mut().filter(|s| s.is_relative()) {
            *s = base.join(&*s);
        }
        if let Some(s) = self.lsst_schemas.as_mut().filter(|s| s.is_relative()) {
            *s = base.join(&*s);
        }
        if let Some(s) = self.source_groups.as_mut().filter(|s| s.is_relative()) {
            *s = base.join(&*s);
        }
        if let Some(s) = self.data_cache.as_mut().filter(|s| s.is_relative()) {
            *s = base.join(&*s);
        }
    }

    pub fn check(&self) -> Result<(), TrainError> {
        let bad = |reason: String| Err(TrainError::Config { reason });
        if let (Some(_), ModelChoice::Trees(_)) = (&self.data_cache, &self.model) {
            return bad(
                "data_cache holds a network's preprocessed stamps: tree models read the alerts"
                    .into(),
            );
        }
        if self.classes.len() < 2 {
            return bad("at least two classes are needed".into());
        }
        if self.max_detections == 0 {
            return bad("max_detections must be at least 1".into());
        }
        if self.batch == 0 || self.validate_every == 0 {
            return bad("batch and validate_every must be positive".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!("lr {} must be positive", self.lr));
        }
        if !self.beta.is_finite() {
            return bad("beta must be finite".into());
        }
        if self.data.is_empty() {
            return bad("no data paths".into());
        }
        if self.labels.as_os_str().is_empty() {
            return bad("no labels CSV".into());
        }
        if let (Some(_), ModelChoice::Trees(_)) = (self.random_window_min, &self.model) {
            return bad("random_window_min is for stamps: tree models read none".into());
        }
        if let Some(w) = self.random_window_min {
            if w == 0 || w > self.model.crop() {
                return bad(format!(
                    "random_window_min {w} must be in 1..={} (the crop)",
                    self.model.crop()
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.feature_dropout) {
            return bad(format!(
                "feature_dropout {} must be a chance, in 0..=1",
                self.feature_dropout
            ));
        }
        if let (true, ModelChoice::Trees(_)) = (self.feature_dropout > 0.0, &self.model) {
            return bad(
                "feature_dropout is for networks: tree models train without batches".into(),
            );
        }
        if self.features.is_empty() {
            return bad("no features".into());
        }
        if let Some(f) = self
            .neutralised_features
            .iter()
            .find(|f| !self.features.contains(f))
        {
            return bad(format!(
                "neutralised feature {f:?} is not among the features ({})",
                self.features.join(", ")
            ));
        }
        if let (false, ModelChoice::Trees(_)) = (self.neutralised_features.is_empty(), &self.model)
        {
            return bad(
                "neutralised_features is for networks: tree models take [model] neutralised".into(),
            );
        }
        if self.neutralise_after_training && self.neutralised_features.is_empty() {
            return bad("neutralise_after_training without neutralised_features".into());
        }
        if let (true, ModelChoice::Trees(_)) = (self.balance_sources, &self.model) {
            return bad(
                "balance_sources is for networks: tree models train without batches".into(),
            );
        }
        if self.balance_sources && !self.balance_classes {
            return bad("balance_sources draws within a class: it needs balance_classes".into());
        }
        Ok(())
    }

    /// The source group of each object when batches are drawn by group
    /// (`balance_sources`), else `None`. Asked for when a run starts, not when the
    /// configuration is read: the benchmark gives each fold its own groups.
    pub fn sampling_groups(&self) -> Result<Option<HashMap<String, String>>, TrainError> {
        match (&self.source_groups, self.balance_sources) {
            (Some(path), true) => Ok(Some(
                crate::labels::read_labels_csv(path)?.into_iter().collect(),
            )),
            (None, true) => Err(TrainError::Config {
                reason: "balance_sources needs source_groups, a CSV of objectId,group rows".into(),
            }),
            (_, false) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network_config(feature_dropout: f64) -> TrainConfig {
        TrainConfig {
            feature_dropout,
            data: vec![PathBuf::from("alerts")],
            labels: PathBuf::from("labels.csv"),
            ..TrainConfig::default()
        }
    }

    /// Why `check` refuses `config`.
    fn refusal(config: &TrainConfig) -> String {
        config.check().expect_err("refused").to_string()
    }

    fn trees_with(config: TrainConfig) -> TrainConfig {
        TrainConfig {
            model: ModelChoice::Trees(crate::model::trees::TreeConfig::default()),
            ..config
        }
    }

    #[test]
    fn feature_dropout_is_a_chance_and_only_for_networks() {
        assert!(network_config(0.0).check().is_ok());
        assert!(network_config(0.2).check().is_ok());
        for bad in [-0.1, 1.5, f64::NAN] {
            let err = refusal(&network_config(bad));
            assert!(err.contains("feature_dropout"), "{err}");
        }
        let err = refusal(&trees_with(network_config(0.2)));
        assert!(err.contains("feature_dropout is for networks"), "{err}");
    }

    #[test]
    fn balance_sources_needs_its_groups_class_balance_and_a_network() {
        let with = |classes: bool, groups: Option<&str>| TrainConfig {
            balance_sources: true,
            balance_classes: classes,
            source_groups: groups.map(PathBuf::from),
            ..network_config(0.0)
        };
        assert!(with(true, Some("groups.csv")).check().is_ok());
        // The benchmark gives each fold its groups after reading the configuration.
        assert!(with(true, None).check().is_ok());
        let err = with(true, None)
            .sampling_groups()
            .expect_err("refused")
            .to_string();
        assert!(err.contains("needs source_groups"), "{err}");
        let err = refusal(&with(false, Some("groups.csv")));
        assert!(err.contains("needs balance_classes"), "{err}");
        let err = refusal(&trees_with(with(true, Some("groups.csv"))));
        assert!(err.contains("balance_sources is for networks"), "{err}");
    }
}
