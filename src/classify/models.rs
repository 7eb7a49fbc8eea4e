//! One run over alerts of any survey: each object answered by the first of the run's
//! models that reads its survey (a model given for its own survey, the defaults for the
//! others), so that no run is refused because some files are of the other survey.

use super::{ClassifyOptions, ClassifyOutput, LoadedModel, SkippedAlert};
use crate::sequence::neutral::AlertObject;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

/// Answers `objects` with `models`, each object by the first model that reads its survey,
/// on that model's own device. An object no model reads is skipped with the reason. Rows
/// come in the objects' order, each object's by detection.
pub fn classify_with<O: AlertObject>(
    models: &[&LoadedModel],
    objects: &[O],
    options: &ClassifyOptions,
    cancel: &AtomicBool,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ClassifyOutput, crate::model::ModelError> {
    let mut out = ClassifyOutput::default();
    let mut by_model: Vec<Vec<&O>> = vec![Vec::new(); models.len()];
    for o in objects {
        let Some(survey) = o.survey() else {
            continue;
        };
        match models.iter().position(|m| m.reads(survey)) {
            Some(i) => by_model[i].push(o),
            None => {
                let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
                for (i, a) in o.alert_refs().iter().enumerate() {
                    out.skipped.push(SkippedAlert {
                        object_id: o.name().to_string(),
                        k: a.carried_detection_count().unwrap_or(i + 1),
                        source: a.source(),
                        reason: format!(
                            "no model of this run reads {survey} alerts ({})",
                            names.join(", ")
                        ),
                    });
                }
            }
        }
    }
    let total: usize = objects.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    for (model, group) in models.iter().zip(&by_model) {
        if group.is_empty() {
            continue;
        }
        let before = done.load(std::sync::atomic::Ordering::Relaxed);
        let part = model.classify(group, options, model.device(), cancel, &|d, t| {
            // Progress over all objects, whichever model answers them.
            let scaled = before + d * group.len() / t.max(1);
            progress(scaled.min(total), total);
        })?;
        done.fetch_add(group.len(), std::sync::atomic::Ordering::Relaxed);
        out.rows.extend(part.rows);
        out.skipped.extend(part.skipped);
    }
    let order: HashMap<&str, usize> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.name(), i))
        .collect();
    let place = |id: &str| order.get(id).copied().unwrap_or(usize::MAX);
    // Stable: each object's rows keep their detection order.
    out.rows.sort_by_key(|r| place(&r.object_id));
    out.skipped.sort_by_key(|s| place(&s.object_id));
    Ok(out)
}
