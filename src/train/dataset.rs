//! Training data in memory: every labelled object's first N detections preprocessed once
//! (stamp crop, raw features, days since the first detection), with an on-disk cache.

use crate::alert::neutral::{Survey, SurveyAlert};
use crate::alert::{read_all_any, AnyAlert, ReadOptions};
use crate::features::sets::{own_raw_network_input, FeatureSet};
use crate::features::FeatureStats;
use crate::stamp::StampError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::config::TrainConfig;
use super::TrainError;

/// One object, preprocessed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Object {
    pub object_id: String,
    pub class: usize,
    /// Days since the first kept detection, one per step.
    pub days: Vec<f32>,
    /// Raw (unnormalised) features, `steps x F`; NaN where missing.
    pub raw: Vec<f64>,
    /// `steps x crop x crop x 3`, not stored in the JSON part of the cache.
    #[serde(skip)]
    pub stamps: Vec<f32>,
}

impl Object {
    pub fn steps(&self) -> usize {
        self.days.len()
    }

    /// An object of one detection without features or stamps, for the tests of sampling
    /// and selection.
    #[cfg(test)]
    pub fn one_step(object_id: &str, class: usize) -> Self {
        Self {
            object_id: object_id.into(),
            class,
            days: vec![0.0],
            raw: Vec::new(),
            stamps: Vec::new(),
        }
    }
}

/// What the data held, for reports and the model's provenance.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DataSummary {
    pub alerts: usize,
    pub objects: usize,
    pub read_errors: usize,
    pub unlabelled_objects: usize,
    /// Objects skipped for a label outside the configured classes, by label.
    pub other_labels: BTreeMap<String, usize>,
    /// Detections left out: stamps that could not be preprocessed, no time to place them,
    /// a feature value no alert carries.
    pub bad_detections: usize,
    /// Why the first of them was left out, naming its object.
    #[serde(default)]
    pub first_left_out: Option<String>,
    pub per_class: BTreeMap<String, usize>,
    pub cache_key: String,
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub objects: Vec<Object>,
    pub crop: usize,
    pub summary: DataSummary,
    /// The survey of every alert (one per dataset: stamps and features differ).
    pub survey: Survey,
    /// The raw features' names, in order: the configured ones for ZTF, the `diaSource`
    /// ones ([`crate::features::lsst::LSST_TABULAR_FEATURES`]) for LSST.
    pub feature_names: Vec<String>,
    /// The side of the stamps read (the most common one).
    pub stamp_size: usize,
}

/// `objectId,label` rows (see [`crate::labels::read_labels_csv`]).
pub fn read_labels(path: &Path) -> Result<BTreeMap<String, String>, TrainError> {
    Ok(crate::labels::read_labels_csv(path)?)
}

/// Why a dataset cache file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a stampseq dataset cache")]
    NotACache,
    #[error("truncated")]
    Truncated,
    #[error("{0}")]
    Head(#[from] serde_json::Error),
    #[error(
        "made with other labels, classes, features, N or crop than this configuration (or \
         before caches were portable): train once from the alerts with this configuration to \
         make it"
    )]
    OtherConfiguration,
}

/// Every file under the inputs, sorted, with its size and mtime: what the cache key hashes.
fn input_files(paths: &[PathBuf]) -> Vec<(PathBuf, u64, u128)> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if let Ok(meta) = std::fs::metadata(&p) {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            out.push((p, meta.len(), mtime));
        }
    }
    out.sort();
    out
}

/// FNV-1a: stable across Rust versions, unlike `DefaultHasher`, so a cache survives an
/// upgrade of the toolchain.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What the preprocessing depends on apart from where the files are: labels, classes,
/// features, N and crop. A cache with this key is the same dataset on any machine.
fn portable_key(config: &TrainConfig, crop: usize) -> String {
    let read = |p: &Path| fnv1a(&std::fs::read(p).unwrap_or_default());
    let described = serde_json::json!({
        "labels": read(&config.labels),
        "holdout": config.holdout_labels.as_deref().map(read),
        "classes": config.classes,
        "features": config.features,
        "n": config.max_detections,
        "crop": crop,
        // Not raised when detections with a feature beyond RAW_FEATURE_LIMIT were first left
        // out: no cache of real alerts holds one, and one that does stops a run as diverged.
        "version": 2,
    });
    format!("{:016x}", fnv1a(described.to_string().as_bytes()))
}

fn cache_key(config: &TrainConfig, crop: usize) -> String {
    let files = input_files(&config.data);
    let labels = std::fs::read(&config.labels).unwrap_or_default();
    let holdout = config
        .holdout_labels
        .as_ref()
        .map(|p| fnv1a(&std::fs::read(p).unwrap_or_default()));
    let described = serde_json::json!({
        "files": files.iter().map(|(p, s, m)| (p.display().to_string(), s, m.to_string())).collect::<Vec<_>>(),
        "labels": fnv1a(&labels),
        "holdout": holdout,
        "classes": config.classes,
        "features": config.features,
        "n": config.max_detections,
        "crop": crop,
        "version": 2,
    });
    format!("{:016x}", fnv1a(described.to_string().as_bytes()))
}

const CACHE_MAGIC: &[u8; 8] = b"SSQDATA1";

#[derive(Serialize, Deserialize)]
struct CacheHead {
    key: String,
    /// [`portable_key`]: what `data_cache` checks (absent in caches made before it).
    #[serde(default)]
    portable_key: String,
    crop: usize,
    summary: DataSummary,
    objects: Vec<Object>,
    #[serde(default)]
    survey: Survey,
    #[serde(default)]
    feature_names: Vec<String>,
    #[serde(default)]
    stamp_size: usize,
}

fn write_cache(path: &Path, data: &Dataset, portable_key: String) -> Result<(), TrainError> {
    let head = CacheHead {
        key: data.summary.cache_key.clone(),
        portable_key,
        crop: data.crop,
        summary: data.summary.clone(),
        objects: data.objects.clone(),
        survey: data.survey,
        feature_names: data.feature_names.clone(),
        stamp_size: data.stamp_size,
    };
    let json = serde_json::to_vec(&head).map_err(|e| TrainError::Cache {
        path: path.into(),
        source: e.into(),
    })?;
    let stamps: usize = data.objects.iter().map(|o| o.stamps.len()).sum();
    let mut bytes = Vec::with_capacity(16 + json.len() + 4 * stamps);
    bytes.extend_from_slice(CACHE_MAGIC);
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    for o in &data.objects {
        for v in &o.stamps {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    crate::atomic::write_atomic(path, &bytes).map_err(|source| TrainError::Io {
        path: path.into(),
        source,
    })
}

/// The cached dataset if the file exists, is whole and has this key.
fn read_cache(path: &Path, key: &str) -> Option<Dataset> {
    let (head_key, _, data) = read_cache_file(path).ok()?;
    (head_key == key).then_some(data)
}

/// A cache file's key, portable key and dataset, or why it is not one.
fn read_cache_file(path: &Path) -> Result<(String, String, Dataset), CacheError> {
    let bytes = std::fs::read(path)?;
    if bytes.len() < 16 || &bytes[..8] != CACHE_MAGIC {
        return Err(CacheError::NotACache);
    }
    let len =
        u64::from_le_bytes(bytes[8..16].try_into().map_err(|_| CacheError::Truncated)?) as usize;
    let json = bytes.get(16..16 + len).ok_or(CacheError::Truncated)?;
    let head: CacheHead = serde_json::from_slice(json)?;
    let mut floats = bytes[16 + len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let per_step = head.crop * head.crop * 3;
    let mut objects = head.objects;
    for o in objects.iter_mut() {
        o.stamps = floats.by_ref().take(o.steps() * per_step).collect();
        if o.stamps.len() != o.steps() * per_step {
            return Err(CacheError::Truncated);
        }
    }
    let data = Dataset {
        objects,
        crop: head.crop,
        summary: head.summary,
        survey: head.survey,
        feature_names: head.feature_names,
        stamp_size: head.stamp_size,
    };
    Ok((head.key, head.portable_key, data))
}

impl Dataset {
    /// Reads and preprocesses the data, or takes it from `cache` when the inputs and the
    /// preprocessing are unchanged. Returns whether the cache was used.
    pub fn load(
        config: &TrainConfig,
        crop: usize,
        cache: Option<&Path>,
    ) -> Result<(Self, bool), TrainError> {
        if let Some(path) = &config.data_cache {
            let bad = |source: CacheError| TrainError::Cache {
                path: path.clone(),
                source,
            };
            let (_, portable, data) = read_cache_file(path).map_err(bad)?;
            if portable != portable_key(config, crop) {
                return Err(bad(CacheError::OtherConfiguration));
            }
            return Ok((data, true));
        }
        let key = cache_key(config, crop);
        if let Some(data) = cache.and_then(|p| read_cache(p, &key)) {
            return Ok((data, true));
        }
        let mut labels = read_labels(&config.labels)?;
        if let Some(path) = &config.holdout_labels {
            labels.extend(read_labels(path)?);
        }
        let options = ReadOptions {
            lsst_schemas: config.lsst_schemas.clone(),
            ..Default::default()
        };
        let (alerts, read) = read_all_any(&config.data, &options);
        let mut by_survey: BTreeMap<Survey, Vec<AnyAlert>> = BTreeMap::new();
        for a in alerts {
            by_survey.entry(a.survey()).or_default().push(a);
        }
        if by_survey.len() > 1 {
            let held: Vec<String> = by_survey
                .iter()
                .map(|(survey, alerts)| format!("{} {survey}", alerts.len()))
                .collect();
            return Err(TrainError::Data(format!(
                "the data holds {} alerts: a network is trained on one survey's alerts (their stamps and features differ); give one survey's folders",
                held.join(" and ")
            )));
        }
        // No alerts at all make an empty dataset of the default survey.
        let (survey, alerts) = by_survey.into_iter().next().unwrap_or_default();
        let mut summary = DataSummary {
            alerts: alerts.len(),
            read_errors: read.errors.len(),
            cache_key: key,
            ..Default::default()
        };
        let mut builder = Builder {
            labels: &labels,
            config,
            summary: &mut summary,
            objects: Vec::new(),
            sides: BTreeMap::new(),
            feature_names: FeatureSet::of_survey(survey).raw_network_features(&config.features),
        };
        let by_object = AnyAlert::by_object_in_time(alerts);
        builder.summary.objects = by_object.len();
        for (id, alerts) in by_object {
            builder.add(
                &id,
                alerts.iter().map(|alert| {
                    let alert = alert.as_ref();
                    let (stamps, raw) = own_raw_network_input(alert, crop, &config.features)?;
                    Ok(Step {
                        time: alert.days(),
                        raw,
                        stamps,
                        side: alert.science_side(),
                    })
                }),
            );
        }
        let Builder {
            objects,
            sides,
            feature_names,
            ..
        } = builder;
        if objects.is_empty() {
            if let Some(first) = &summary.first_left_out {
                return Err(TrainError::Data(format!(
                    "no labelled detection could be preprocessed for the model ({} left out; the first, {first})",
                    summary.bad_detections
                )));
            }
        }
        // The most common side (the smallest of equals).
        let stamp_size = sides
            .iter()
            .max_by_key(|(side, n)| (**n, std::cmp::Reverse(**side)))
            .map_or(0, |(side, _)| *side);
        let data = Dataset {
            objects,
            crop,
            summary,
            survey,
            feature_names,
            stamp_size,
        };
        if let Some(path) = cache {
            write_cache(path, &data, portable_key(config, crop))?;
        }
        Ok((data, false))
    }
}

/// One detection, preprocessed.
struct Step {
    /// Days on the survey's own clock (ZTF jd, LSST midpointMjdTai): only differences
    /// are used.
    time: f64,
    raw: Vec<f64>,
    stamps: Vec<f32>,
    /// The science cutout's side, pixels.
    side: usize,
}

/// Gathers the labelled objects of the configured classes, first N detections each.
struct Builder<'a> {
    labels: &'a BTreeMap<String, String>,
    config: &'a TrainConfig,
    summary: &'a mut DataSummary,
    objects: Vec<Object>,
    /// Stamps read, by science cutout side.
    sides: BTreeMap<usize, usize>,
    /// The raw features' names, to say which one is out of range.
    feature_names: Vec<String>,
}

/// The largest magnitude a raw feature may have. No feature of either survey comes near it
/// (magnitudes, scores, counts, ratios of fluxes); a value beyond it is a corrupt alert, whose
/// square would swamp or overflow the features' statistics that every object is normalised
/// with.
const RAW_FEATURE_LIMIT: f64 = 1e15;

/// The first raw feature beyond [`RAW_FEATURE_LIMIT`] or infinite (a double too large for
/// the alert's float field), with its value. NaN is a missing value, read as such.
fn out_of_range<'a>(names: &'a [String], raw: &[f64]) -> Option<(&'a str, f64)> {
    raw.iter()
        .zip(names)
        .find(|(x, _)| !x.is_nan() && x.abs() > RAW_FEATURE_LIMIT)
        .map(|(&x, name)| (name.as_str(), x))
}

impl Builder<'_> {
    /// One object's detections, oldest first; stamps that cannot be preprocessed are
    /// counted and left out.
    fn add(&mut self, object_id: &str, steps: impl Iterator<Item = Result<Step, StampError>>) {
        let Some(label) = self.labels.get(object_id) else {
            self.summary.unlabelled_objects += 1;
            return;
        };
        let Some(class) = self.config.classes.iter().position(|c| c == label) else {
            *self.summary.other_labels.entry(label.clone()).or_default() += 1;
            return;
        };
        let mut object = Object {
            object_id: object_id.to_string(),
            class,
            days: Vec::new(),
            raw: Vec::new(),
            stamps: Vec::new(),
        };
        let mut first = None;
        for step in steps {
            if object.steps() == self.config.max_detections {
                break;
            }
            match step {
                Ok(s) => {
                    if let Some((name, x)) = out_of_range(&self.feature_names, &s.raw) {
                        self.summary.bad_detections += 1;
                        self.summary.first_left_out.get_or_insert_with(|| {
                            format!("{object_id}: its {name} is {x:e}, beyond any value an alert carries ({RAW_FEATURE_LIMIT:e})")
                        });
                        continue;
                    }
                    let t0 = *first.get_or_insert(s.time);
                    let Some(day) = crate::model::days_after_first(t0, s.time, object.steps() == 0)
                    else {
                        self.summary.bad_detections += 1;
                        self.summary.first_left_out.get_or_insert_with(|| {
                            format!("{object_id}: no observation time to place it after the first detection")
                        });
                        continue;
                    };
                    object.days.push(day);
                    object.raw.extend(s.raw);
                    object.stamps.extend(s.stamps);
                    *self.sides.entry(s.side).or_default() += 1;
                }
                Err(e) => {
                    self.summary.bad_detections += 1;
                    self.summary
                        .first_left_out
                        .get_or_insert_with(|| format!("{object_id}: {e}"));
                }
            }
        }
        if object.steps() > 0 {
            *self.summary.per_class.entry(label.clone()).or_default() += 1;
            self.objects.push(object);
        }
    }
}

/// ALeRCE's clipping (SPEC section 3) where it names the feature; unbounded otherwise.
fn alerce_clip(name: &str) -> (f64, f64) {
    let inf = f64::INFINITY;
    match name {
        "sgscore1" | "sgscore2" | "sgscore3" | "distpsnr1" | "distpsnr2" | "distpsnr3" => {
            (-1.0, inf)
        }
        "fwhm" => (-inf, 10.0),
        "ndethist" => (-inf, 20.0),
        "ncovhist" => (-inf, 3000.0),
        "chinr" => (-1.0, 15.0),
        "sharpnr" => (-1.0, 1.5),
        "non_detections" => (-inf, 2000.0),
        _ => (-inf, inf),
    }
}

/// Mean and standard deviation of the clipped training features, ignoring missing values; a
/// constant or absent feature gets std 1 so that it normalises to 0 rather than to NaN.
pub fn feature_stats(names: &[String], objects: &[&Object]) -> FeatureStats {
    let f = names.len();
    let (clip_lo, clip_hi): (Vec<f64>, Vec<f64>) = names.iter().map(|n| alerce_clip(n)).unzip();
    let mut sum = vec![0.0; f];
    let mut sum2 = vec![0.0; f];
    let mut count = vec![0usize; f];
    for o in objects {
        for row in o.raw.chunks_exact(f) {
            for (i, &x) in row.iter().enumerate() {
                let x = x.clamp(clip_lo[i], clip_hi[i]);
                if x.is_finite() {
                    sum[i] += x;
                    sum2[i] += x * x;
                    count[i] += 1;
                }
            }
        }
    }
    let mut mean = vec![0.0; f];
    let mut std = vec![1.0; f];
    for i in 0..f {
        if count[i] > 0 {
            let n = count[i] as f64;
            mean[i] = sum[i] / n;
            let var = (sum2[i] / n - mean[i] * mean[i]).max(0.0);
            if var.sqrt() > 1e-9 {
                std[i] = var.sqrt();
            }
        }
    }
    FeatureStats {
        names: names.to_vec(),
        mean,
        std,
        clip_lo,
        clip_hi,
        neutralised: Vec::new(),
    }
}
