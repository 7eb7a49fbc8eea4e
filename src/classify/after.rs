//! What passes every model's answer after the model itself, whatever the model: the class
//! priors of the stream ([`crate::model::priors`]) and the physics rules
//! ([`crate::model::rules`]), so that a network or an imported classifier answers under the
//! same physics as the trees.

use crate::alert::Alert;
use crate::classify::{ClassRow, ClassifyOptions};
use crate::model::rules;
use crate::sequence::Sequence;

/// The weights of `options.priors` over `classes`, or None at equal priors.
pub(crate) fn priors_for(
    classes: &[String],
    options: &ClassifyOptions,
) -> Result<Option<Vec<f32>>, crate::model::ModelError> {
    options
        .priors
        .as_ref()
        .map(|p| crate::model::priors::prior_weights(classes, p))
        .transpose()
        .map_err(|e| crate::model::ModelError::Input(e.to_string()))
}

/// `probs` at the priors' `weights`, the spread `std` scaled alongside.
pub(crate) fn at_priors(probs: &mut [f32], std: Option<&mut [f32]>, weights: &[f32]) {
    let before = probs.to_vec();
    crate::model::priors::apply_priors(probs, weights);
    if let Some(std) = std {
        for ((s, b), a) in std.iter_mut().zip(&before).zip(probs.iter()) {
            if *b > 0.0 {
                *s *= a / b;
            }
        }
    }
}

/// The physics rules for one ZTF answer: those of [`rules::apply_knowing`], then the
/// mid-infrared colour rule where a catalogue is given. Returns the rules that fired.
pub(crate) fn physics_rules(
    alert: &Alert,
    earlier: &[&Alert],
    later: &[&Alert],
    classes: &[String],
    probs: &mut [f32],
    mut std: Option<&mut [f32]>,
    options: &ClassifyOptions,
) -> Option<String> {
    let mut rule = rules::apply_knowing(alert, earlier, later, classes, probs, std.as_deref_mut());
    if let Some((catalogue, radius)) = &options.allwise {
        let c = &alert.candidate;
        let colour = catalogue
            .nearest(c.ra, c.dec, *radius)
            .and_then(|(s, _)| Some(s.mags.w1? - s.mags.w2?));
        if let Some(note) = colour.and_then(|w1_w2| rules::apply_wise(w1_w2, classes, probs, std)) {
            rule = Some(match rule {
                Some(r) => format!("{r}; {note}"),
                None => note,
            });
        }
    }
    rule
}

/// The physics rules on a network's rows: a network learns from a few hundred objects what
/// a sentence of physics says for certain (a source seen on two nights does not move), so
/// its answers pass the same rules as the tree models'.
pub(crate) fn rules_on_rows(
    rows: &mut [ClassRow],
    sequences: &[Sequence],
    classes: &[String],
    options: &ClassifyOptions,
) {
    let by_id: std::collections::HashMap<&str, &Sequence> = sequences
        .iter()
        .map(|s| (s.object_id.as_str(), s))
        .collect();
    for row in rows {
        let Some(seq) = by_id.get(row.object_id.as_str()) else {
            continue;
        };
        let Some(k) = row.k.checked_sub(1).filter(|k| *k < seq.len()) else {
            continue;
        };
        let earlier: Vec<&Alert> = seq.detections[..k].iter().collect();
        let later: Vec<&Alert> = if options.look_ahead_for_stationary {
            seq.detections[k + 1..].iter().collect()
        } else {
            Vec::new()
        };
        let alert = &seq.detections[k];
        let note = physics_rules(
            alert,
            &earlier,
            &later,
            classes,
            &mut row.probabilities,
            None,
            options,
        );
        if let Some(note) = note {
            row.rule = Some(match row.rule.take() {
                Some(r) => format!("{r}; {note}"),
                None => note,
            });
        }
        let top = crate::model::probs::argmax(&row.probabilities).unwrap_or(0);
        row.top_class = classes.get(top).cloned().unwrap_or_default();
    }
}
