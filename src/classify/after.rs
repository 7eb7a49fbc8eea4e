//! What passes every model's answer after the model itself, whatever the model: the class
//! priors of the stream ([`crate::model::priors`]) and the physics rules
//! ([`crate::model::rules`]), so that a network or an imported classifier answers under the
//! same physics as the trees.

use crate::alert::AlertRef;
use crate::classify::ClassifyOptions;
use crate::features::facts::RuleFacts;
use crate::model::rules;

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
        .map_err(crate::model::ModelError::Priors)
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

/// The physics rules for one answer, whatever the survey: those of
/// [`rules::apply_facts`] on what the survey says of the detection ([`RuleFacts`]), then
/// the mid-infrared colour rule where a catalogue is given. Returns the rules that fired.
pub(crate) fn physics_rules(
    alert: AlertRef,
    earlier: &[AlertRef],
    later: &[AlertRef],
    classes: &[String],
    probs: &mut [f32],
    mut std: Option<&mut [f32]>,
    options: &ClassifyOptions,
) -> Option<String> {
    let facts = RuleFacts::of(alert, earlier, later);
    let mut rule = rules::apply_facts(&facts, classes, probs, std.as_deref_mut());
    if let Some((catalogue, radius)) = &options.allwise {
        let (ra, dec) = alert.ra_dec();
        let colour = catalogue
            .nearest(ra, dec, *radius)
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
