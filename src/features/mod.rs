//! Metadata features of one detection, as the ALeRCE stamp classifier reads them, and their
//! normalisation (clipping, then z-score with statistics that travel with a model).

pub mod allwise;
pub mod coords;
pub mod facts;
pub mod lsst;
pub mod neutral;
pub mod sets;
pub mod tabular;

use crate::alert::{Candidate, DiffSign};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The feature set of models fed ZTF `candidate` fields (their names are in the header's
/// feature statistics).
pub const ZTF_FEATURES: &str = "ztf-candidate";
/// The feature set of models fed LSST `diaSource` fields.
pub const LSST_FEATURES: &str = "lsst-diasource";

/// The standard deviation (population) and the range of a light curve's magnitudes, as the
/// tree features store them; NaN for fewer than two.
pub(crate) fn spread_and_range(mags: &[f64]) -> [f32; 2] {
    if mags.len() < 2 {
        return [f32::NAN, f32::NAN];
    }
    let mean = mags.iter().sum::<f64>() / mags.len() as f64;
    let var = mags.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / mags.len() as f64;
    let (lo, hi) = mags
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &m| {
            (l.min(m), h.max(m))
        });
    [var.sqrt() as f32, (hi - lo) as f32]
}

/// The 26 features of the ALeRCE checkpoint, in its order: the 23 deployed ones plus `rb`,
/// `distnr` and `magnr`.
pub const ALERCE_FEATURES: [&str; 26] = [
    "sgscore1",
    "distpsnr1",
    "sgscore2",
    "distpsnr2",
    "sgscore3",
    "distpsnr3",
    "isdiffpos",
    "fwhm",
    "magpsf",
    "sigmapsf",
    "ra",
    "dec",
    "diffmaglim",
    "rb",
    "distnr",
    "magnr",
    "classtar",
    "ndethist",
    "ncovhist",
    "ecl_lat",
    "ecl_long",
    "gal_lat",
    "gal_long",
    "non_detections",
    "chinr",
    "sharpnr",
];

/// One raw (unclipped, unnormalised) feature of a detection by its name; `None` for a
/// name that is not a known feature. A field the alert does not carry gives NaN.
pub fn raw_feature(c: &Candidate, name: &str) -> Option<f64> {
    let o = |v: Option<f64>| v.unwrap_or(f64::NAN);
    let i = |v: Option<i32>| v.map_or(f64::NAN, f64::from);
    Some(match name {
        "sgscore1" => o(c.sgscore1),
        "distpsnr1" => o(c.distpsnr1),
        "sgscore2" => o(c.sgscore2),
        "distpsnr2" => o(c.distpsnr2),
        "sgscore3" => o(c.sgscore3),
        "distpsnr3" => o(c.distpsnr3),
        // ALeRCE encodes 't' as 0 and 'f' as 1.
        "isdiffpos" => match c.isdiffpos {
            Some(DiffSign::Positive) => 0.0,
            Some(DiffSign::Negative) => 1.0,
            None => f64::NAN,
        },
        "fwhm" => o(c.fwhm),
        "magpsf" => c.magpsf,
        "sigmapsf" => c.sigmapsf,
        "ra" => c.ra,
        "dec" => c.dec,
        "diffmaglim" => o(c.diffmaglim),
        "rb" => o(c.rb),
        "drb" => o(c.drb),
        "distnr" => o(c.distnr),
        "magnr" => o(c.magnr),
        "classtar" => o(c.classtar),
        "ndethist" => i(c.ndethist),
        "ncovhist" => i(c.ncovhist),
        "ecl_lat" => coords::ecliptic(c.ra, c.dec).0,
        "ecl_long" => coords::ecliptic(c.ra, c.dec).1,
        "gal_lat" => coords::galactic(c.ra, c.dec).0,
        "gal_long" => coords::galactic(c.ra, c.dec).1,
        // Taken before clipping, as ALeRCE did.
        "non_detections" => i(c.ncovhist) - i(c.ndethist),
        "chinr" => o(c.chinr),
        "sharpnr" => o(c.sharpnr),
        _ => return None,
    })
}

/// Raw features in the given order (unknown names give NaN).
pub fn raw_features(c: &Candidate, names: &[impl AsRef<str>]) -> Vec<f64> {
    let (ecl_lat, ecl_long) = coords::ecliptic(c.ra, c.dec);
    let (gal_lat, gal_long) = coords::galactic(c.ra, c.dec);
    names
        .iter()
        .map(|n| match n.as_ref() {
            // Computed once above rather than once per coordinate feature.
            "ecl_lat" => ecl_lat,
            "ecl_long" => ecl_long,
            "gal_lat" => gal_lat,
            "gal_long" => gal_long,
            other => raw_feature(c, other).unwrap_or(f64::NAN),
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum FeatureStatsError {
    #[error("{path}: {problem}")]
    File { path: String, problem: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a safetensors file: {source}")]
    NotSafetensors {
        path: String,
        #[source]
        source: safetensors::SafeTensorError,
    },
    #[error("feature statistics: {0}")]
    Invalid(String),
}

/// Clipping bounds and z-score statistics of a model's features. They belong to the model
/// (they are what it was trained with) and are stored in its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "FeatureStatsFile")]
pub struct FeatureStats {
    pub names: Vec<String>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    /// Lower clip bounds; -inf where unbounded (null in JSON, which has no infinity).
    #[serde(with = "unbounded_as_null")]
    pub clip_lo: Vec<f64>,
    /// Upper clip bounds; +inf where unbounded (null in JSON).
    #[serde(with = "unbounded_as_null")]
    pub clip_hi: Vec<f64>,
    /// Features the model reads as missing (normalised to 0, the training mean) whatever the
    /// alert says: those that tell where an alert came from rather than what it is, such as
    /// its position on the sky, which no source seen later shares.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neutralised: Vec<String>,
}

/// The serialised form, before unbounded clips are settled.
#[derive(Deserialize)]
struct FeatureStatsFile {
    names: Vec<String>,
    mean: Vec<f64>,
    std: Vec<f64>,
    #[serde(with = "unbounded_as_null")]
    clip_lo: Vec<f64>,
    #[serde(with = "unbounded_as_null")]
    clip_hi: Vec<f64>,
    #[serde(default)]
    neutralised: Vec<String>,
}

impl From<FeatureStatsFile> for FeatureStats {
    fn from(f: FeatureStatsFile) -> Self {
        let mut s = FeatureStats {
            names: f.names,
            mean: f.mean,
            std: f.std,
            clip_lo: f.clip_lo,
            clip_hi: f.clip_hi,
            neutralised: f.neutralised,
        };
        s.settle_unbounded();
        s
    }
}

/// JSON cannot hold infinities; an unbounded clip is written as null and read back as the
/// infinity of the right sign for its side (a lower bound of null is -inf).
mod unbounded_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let opt: Vec<Option<f64>> = v.iter().map(|x| x.is_finite().then_some(*x)).collect();
        opt.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let opt = Vec::<Option<f64>>::deserialize(d)?;
        // The side is not known here: NaN marks "unbounded" and `clamp_unbounded` maps it.
        Ok(opt.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }
}

impl FeatureStats {
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Turns the NaN placeholders of a deserialised file into the infinities they stand for.
    pub(crate) fn settle_unbounded(&mut self) {
        for v in &mut self.clip_lo {
            if v.is_nan() {
                *v = f64::NEG_INFINITY;
            }
        }
        for v in &mut self.clip_hi {
            if v.is_nan() {
                *v = f64::INFINITY;
            }
        }
    }

    /// [`Self::validate_for`] ZTF `candidate` features.
    pub fn validate(&self) -> Result<(), FeatureStatsError> {
        self.validate_for(ZTF_FEATURES)
    }

    /// Checks the statistics are whole and name features of `feature_set`
    /// (`ztf-candidate` or `lsst-diasource`).
    pub fn validate_for(&self, feature_set: &str) -> Result<(), FeatureStatsError> {
        let n = self.names.len();
        for (what, len) in [
            ("mean", self.mean.len()),
            ("std", self.std.len()),
            ("clip_lo", self.clip_lo.len()),
            ("clip_hi", self.clip_hi.len()),
        ] {
            if len != n {
                return Err(FeatureStatsError::Invalid(format!(
                    "{what} has {len} values for {n} features"
                )));
            }
        }
        if let Some(i) = self.std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(FeatureStatsError::Invalid(format!(
                "std of {} is {}",
                self.names[i], self.std[i]
            )));
        }
        let known = |n: &str| {
            if feature_set == LSST_FEATURES {
                lsst::LSST_TABULAR_FEATURES.contains(&n)
            } else {
                raw_feature(&Candidate::default(), n).is_some()
            }
        };
        if let Some(name) = self.names.iter().find(|n| !known(n)) {
            return Err(FeatureStatsError::Invalid(format!(
                "unknown feature {name:?}"
            )));
        }
        if let Some(name) = self.neutralised.iter().find(|n| !self.names.contains(n)) {
            return Err(FeatureStatsError::Invalid(format!(
                "neutralised feature {name:?} is not one the model reads ({})",
                self.names.join(", ")
            )));
        }
        Ok(())
    }

    /// These statistics with `names` read as missing too (kept in feature order).
    pub fn with_neutralised(mut self, names: &[String]) -> Result<Self, FeatureStatsError> {
        if let Some(name) = names.iter().find(|n| !self.names.contains(n)) {
            return Err(FeatureStatsError::Invalid(format!(
                "cannot neutralise {name:?}: the model reads {}",
                self.names.join(", ")
            )));
        }
        let all: Vec<String> = self
            .names
            .iter()
            .filter(|n| self.neutralised.contains(n) || names.contains(n))
            .cloned()
            .collect();
        self.neutralised = all;
        Ok(self)
    }

    /// Clips then z-scores raw features. A missing value (NaN) and a neutralised feature
    /// become 0, the training mean.
    pub fn normalize(&self, raw: &[f64]) -> Vec<f64> {
        raw.iter()
            .enumerate()
            .map(|(i, &x)| {
                if self.neutralised.iter().any(|n| *n == self.names[i]) {
                    return 0.0;
                }
                let z = (x.clamp(self.clip_lo[i], self.clip_hi[i]) - self.mean[i]) / self.std[i];
                if z.is_nan() {
                    0.0
                } else {
                    z
                }
            })
            .collect()
    }

    /// Raw then normalised features of one detection.
    pub fn features(&self, c: &Candidate) -> (Vec<f64>, Vec<f64>) {
        let raw = raw_features(c, &self.names);
        let norm = self.normalize(&raw);
        (raw, norm)
    }

    /// Reads the statistics from the ALeRCE weights file (`feature_norm.mean/std`,
    /// `feature_clip.lo/hi`, float64, in [`ALERCE_FEATURES`] order).
    pub fn from_alerce_safetensors(path: &Path) -> Result<Self, FeatureStatsError> {
        let err = |problem: String| FeatureStatsError::File {
            path: path.display().to_string(),
            problem,
        };
        let bytes = std::fs::read(path).map_err(|source| FeatureStatsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let tensors = safetensors::SafeTensors::deserialize(&bytes).map_err(|source| {
            FeatureStatsError::NotSafetensors {
                path: path.display().to_string(),
                source,
            }
        })?;
        let get = |name: &str| -> Result<Vec<f64>, FeatureStatsError> {
            let t = tensors
                .tensor(name)
                .map_err(|_| err(format!("no tensor {name}")))?;
            if t.dtype() != safetensors::Dtype::F64 || t.shape() != [ALERCE_FEATURES.len()] {
                return Err(err(format!(
                    "{name} is {:?} {:?}, expected F64 [{}]",
                    t.dtype(),
                    t.shape(),
                    ALERCE_FEATURES.len()
                )));
            }
            Ok(t.data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8")))
                .collect())
        };
        let stats = FeatureStats {
            names: ALERCE_FEATURES.iter().map(|s| s.to_string()).collect(),
            mean: get("feature_norm.mean")?,
            std: get("feature_norm.std")?,
            clip_lo: get("feature_clip.lo")?,
            clip_hi: get("feature_clip.hi")?,
            neutralised: Vec::new(),
        };
        stats.validate()?;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbounded_clips_survive_json() {
        let stats = FeatureStats {
            names: vec!["fwhm".into(), "chinr".into()],
            mean: vec![2.6, 1.2],
            std: vec![1.6, 1.5],
            clip_lo: vec![f64::NEG_INFINITY, -1.0],
            clip_hi: vec![10.0, f64::INFINITY],
            neutralised: Vec::new(),
        };
        let json = serde_json::to_string(&stats).expect("to json");
        assert!(json.contains("null"));
        let back: FeatureStats = serde_json::from_str(&json).expect("from json");
        assert_eq!(back, stats);
    }

    #[test]
    fn a_neutralised_feature_reads_as_missing_and_survives_json() {
        let stats = FeatureStats {
            names: vec!["ra".into(), "fwhm".into(), "dec".into()],
            mean: vec![180.0, 2.6, 10.0],
            std: vec![100.0, 1.6, 30.0],
            clip_lo: vec![f64::NEG_INFINITY; 3],
            clip_hi: vec![f64::INFINITY; 3],
            neutralised: Vec::new(),
        };
        let raw = [280.0, 4.2, 40.0];
        assert_eq!(stats.normalize(&raw), vec![1.0, 1.0, 1.0]);
        let pinned = stats
            .clone()
            .with_neutralised(&["dec".into(), "ra".into()])
            .expect("known features");
        // Kept in feature order, whatever order they were asked in.
        assert_eq!(pinned.neutralised, vec!["ra".to_string(), "dec".into()]);
        assert_eq!(pinned.normalize(&raw), vec![0.0, 1.0, 0.0]);
        let json = serde_json::to_string(&pinned).expect("to json");
        let back: FeatureStats = serde_json::from_str(&json).expect("from json");
        assert_eq!(back, pinned);
        // Files written before the field existed read as neutralising nothing.
        let plain: FeatureStats =
            serde_json::from_str(&serde_json::to_string(&stats).expect("json")).expect("read");
        assert!(plain.neutralised.is_empty());

        let unknown = stats.with_neutralised(&["gal_long".into()]).unwrap_err();
        assert!(unknown.to_string().contains("gal_long"), "{unknown}");
        let mut bad = pinned;
        bad.neutralised.push("magpsf".into());
        let e = bad.validate_for(ZTF_FEATURES).unwrap_err().to_string();
        assert!(e.contains("\"magpsf\" is not one the model reads"), "{e}");
    }
}
