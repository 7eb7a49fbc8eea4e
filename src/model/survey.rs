//! What a model was trained on (survey, stamp size, pixel scale, feature set), and the
//! refusal to run it on another survey's alerts: a ZTF model reading LSST stamps (0.2"/px,
//! nJy) and `diaSource` fields would answer, and every answer would be wrong.

use super::file::ModelHeader;
use crate::alert::neutral::{Survey, SurveyAlert};
use crate::alert::{
    read_inputs_any, Alert, AnyAlert, Input, ReadError, ReadErrorKind, ReadOptions, ReadProgress,
    ReadSummary,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The feature set of models fed ZTF `candidate` fields (their names are in the header's
/// feature statistics).
pub const ZTF_FEATURES: &str = "ztf-candidate";
/// The feature set of models fed LSST `diaSource` fields.
pub const LSST_FEATURES: &str = "lsst-diasource";

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
        Self::survey_default(Survey::Ztf)
    }
}

impl TrainedOn {
    /// The usual stamps and features of a survey.
    pub fn survey_default(survey: Survey) -> Self {
        match survey {
            Survey::Ztf => Self {
                survey,
                stamp_size: 63,
                pixel_scale_arcsec: survey.pixel_scale_arcsec(),
                feature_set: ZTF_FEATURES.into(),
            },
            Survey::Lsst => Self {
                survey,
                stamp_size: 30,
                pixel_scale_arcsec: survey.pixel_scale_arcsec(),
                feature_set: LSST_FEATURES.into(),
            },
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

impl ModelHeader {
    /// Refuses alerts of a survey other than the one this model was trained on.
    pub fn check_survey(
        &self,
        model_path: &Path,
        found: Survey,
        input: &str,
    ) -> Result<(), Box<SurveyMismatch>> {
        if found == self.trained_on.survey {
            return Ok(());
        }
        Err(Box::new(SurveyMismatch {
            model: self.name.clone(),
            path: model_path.into(),
            trained_on: self.trained_on.clone(),
            input: input.into(),
            found,
        }))
    }
}

/// Reads the alerts a model is to run on, as [`crate::alert::read_inputs`] does, but
/// refuses the whole input at the first alert of a survey the model was not trained on:
/// the read is cancelled (through `options.cancel`) and the error names the model and the
/// file. LSST alerts given to an LSST model are left out with one error per file, as
/// sequences and classification still take ZTF alerts only.
pub fn read_alerts_for_model<F, P>(
    header: &ModelHeader,
    model_path: &Path,
    inputs: &[Input],
    options: &ReadOptions,
    on_progress: P,
    on_alert: F,
) -> Result<ReadSummary, Box<SurveyMismatch>>
where
    F: Fn(Alert) + Sync,
    P: Fn(ReadProgress) + Sync,
{
    let refused: Mutex<Option<Box<SurveyMismatch>>> = Mutex::default();
    let unused: Mutex<BTreeMap<Arc<str>, usize>> = Mutex::default();
    let mut summary = read_inputs_any(inputs, options, on_progress, |alert| {
        if let Err(e) = header.check_survey(model_path, alert.survey(), &alert.origin().file) {
            options.cancel.store(true, Ordering::Relaxed);
            refused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
            return;
        }
        match alert {
            AnyAlert::Ztf(a) => on_alert(a),
            AnyAlert::Lsst(a) => {
                *unused
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(a.origin.file.clone())
                    .or_default() += 1
            }
        }
    });
    if let Some(e) = refused.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    for (file, n) in unused.into_inner().unwrap_or_else(|p| p.into_inner()) {
        summary.alerts -= n;
        summary.errors.push(ReadError::new(
            &*file,
            None,
            ReadErrorKind::OtherSurvey(format!(
                "{n} LSST alert(s) left out: models run on ZTF alerts only so far"
            )),
        ));
    }
    Ok(summary)
}

/// [`read_alerts_for_model`] for a model trained on LSST alerts: its LSST alerts, with a
/// ZTF alert refusing the whole input (read cancelled, the error naming model and file).
pub fn read_lsst_alerts_for_model<P>(
    header: &ModelHeader,
    model_path: &Path,
    inputs: &[Input],
    options: &ReadOptions,
    on_progress: P,
) -> Result<(Vec<crate::alert::lsst::LsstAlert>, ReadSummary), Box<SurveyMismatch>>
where
    P: Fn(ReadProgress) + Sync,
{
    let refused: Mutex<Option<Box<SurveyMismatch>>> = Mutex::default();
    let alerts = Mutex::new(Vec::new());
    let summary = read_inputs_any(inputs, options, on_progress, |alert| {
        if let Err(e) = header.check_survey(model_path, alert.survey(), &alert.origin().file) {
            options.cancel.store(true, Ordering::Relaxed);
            refused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
            return;
        }
        if let AnyAlert::Lsst(a) = alert {
            alerts.lock().unwrap_or_else(|p| p.into_inner()).push(*a);
        }
    });
    if let Some(e) = refused.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut alerts = alerts.into_inner().unwrap_or_else(|p| p.into_inner());
    // Decoding order depends on thread timing.
    alerts.sort_by(|a, b| {
        (&*a.origin.file, a.origin.record).cmp(&(&*b.origin.file, b.origin.record))
    });
    Ok((alerts, summary))
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
