//! What a model was trained on (survey, stamp size, pixel scale, feature set), and the
//! refusal to run it on another survey's alerts: a ZTF model reading LSST stamps (0.2"/px,
//! nJy) and `diaSource` fields would answer, and every answer would be wrong.

use crate::alert::neutral::Survey;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The data a model was trained on. Files written before stampseq recorded it hold ZTF
/// models (63 px stamps at 1"/px, ZTF candidate features): that is the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainedOn {
    pub survey: Survey,
    /// Side of the survey's square stamps the training alerts had, pixels (ZTF 63; LSST
    /// 30 to 102, cropped to the model's `crop`).
    pub stamp_size: usize,
    /// Arcseconds per stamp pixel.
    pub pixel_scale_arcsec: f64,
    /// Which survey's fields the features were computed from (`ztf-candidate`,
    /// `lsst-diasource`).
    pub feature_set: String,
}

impl Default for TrainedOn {
    fn default() -> Self {
        Self::survey_default(Survey::default())
    }
}

impl TrainedOn {
    /// The feature set, as `features/` knows it (None for a name this build does not).
    pub fn features(&self) -> Option<crate::features::sets::FeatureSet> {
        crate::features::sets::FeatureSet::of_name(&self.feature_set)
    }

    /// A tree model of survey-neutral features learnt on `survey`'s alerts.
    pub fn neutral(survey: Survey) -> Self {
        Self {
            feature_set: crate::features::neutral::NEUTRAL_FEATURES.into(),
            ..Self::survey_default(survey)
        }
    }

    /// The usual stamps and features of a survey.
    pub fn survey_default(survey: Survey) -> Self {
        Self {
            survey,
            stamp_size: survey.usual_stamp_size(),
            pixel_scale_arcsec: survey.pixel_scale_arcsec(),
            feature_set: crate::features::sets::FeatureSet::of_survey(survey)
                .name()
                .into(),
        }
    }
}

/// A model given alerts of a survey it was not trained on.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "model {model} ({path}) was trained on {trained} alerts ({size}x{size} stamps at \
     {scale}\"/px, {features} features) but {input} holds {found} alerts ({found_scale}\"/px \
     stamps): refused, as the model would read them as {trained} alerts and answer wrongly. \
     Give it {trained} alerts only, or use a model trained on {found} alerts",
    path = path.display(),
    trained = trained_on.survey,
    size = trained_on.stamp_size,
    scale = trained_on.pixel_scale_arcsec,
    features = trained_on.feature_set,
    found_scale = found.pixel_scale_arcsec()
)]
pub struct SurveyMismatch {
    /// The model's name in its header.
    pub model: String,
    pub path: PathBuf,
    pub trained_on: TrainedOn,
    /// The input file (or archive member) holding the other survey's alerts.
    pub input: String,
    pub found: Survey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_without_a_survey_are_ztf_and_lsst_round_trips() {
        let old: TrainedOn = serde_json::from_str("{}").expect("empty object");
        assert_eq!(old, TrainedOn::survey_default(Survey::Ztf));
        assert_eq!(old.pixel_scale_arcsec, 1.0);
        let lsst = TrainedOn::survey_default(Survey::Lsst);
        let json = serde_json::to_string(&lsst).expect("json");
        assert!(json.contains("\"LSST\""), "{json}");
        let back: TrainedOn = serde_json::from_str(&json).expect("back");
        assert_eq!(back, lsst);
        assert_eq!(back.pixel_scale_arcsec, 0.2);
    }
}
