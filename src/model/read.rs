//! Reading the alerts a model is to run on, refusing another survey's alerts (see
//! [`super::file::ModelHeader::check_survey`]).

use super::file::ModelHeader;
use super::survey::SurveyMismatch;
use crate::alert::neutral::{Survey, SurveyAlert};
use crate::alert::{
    read_inputs_any, Alert, Input, ReadError, ReadErrorKind, ReadOptions, ReadProgress, ReadSummary,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

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
    let unused: Mutex<BTreeMap<(Arc<str>, Survey), usize>> = Mutex::default();
    let mut summary = read_inputs_any(inputs, options, on_progress, |alert| {
        if let Err(e) = header.check_survey(model_path, alert.survey(), &alert.origin().file) {
            options.cancel.store(true, Ordering::Relaxed);
            refused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
            return;
        }
        if alert.as_ref().ztf().is_none() {
            *unused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry((alert.origin().file.clone(), alert.survey()))
                .or_default() += 1;
        } else if let Some(a) = alert.into_ztf() {
            on_alert(a);
        }
    });
    if let Some(e) = refused.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    for ((file, survey), n) in unused.into_inner().unwrap_or_else(|p| p.into_inner()) {
        summary.alerts -= n;
        summary.errors.push(ReadError::new(
            &*file,
            None,
            ReadErrorKind::OtherSurvey(format!(
                "{n} {survey} alert(s) left out: models run on ZTF alerts only so far"
            )),
        ));
    }
    Ok(summary)
}
