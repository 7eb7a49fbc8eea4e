//! Class priors of an answer. The models answer at **equal class priors**: the trees train
//! with class-balanced weights, so their probabilities are what each class would get were
//! the classes equally common, which is what a balanced accuracy rewards and what a user
//! who does not know the stream's make-up should see. A user whose stream has other
//! proportions (mostly variable stars, say) gives them (`--priors VS=0.7,AGN=0.1,...`):
//! each probability is multiplied by its class's prior and the answer renormalised (Bayes'
//! rule with the likelihood ratio the model gives at equal priors).
//!
//! The bundled networks trained on the classes as the data had them; their answers are
//! treated the same way (taken as at equal priors), which is an approximation for them.

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PriorsError {
    #[error("--priors {0:?}: write CLASS=WEIGHT pairs separated by commas, e.g. AGN=0.1,VS=0.6")]
    Syntax(String),
    #[error("--priors: the prior of {class} must be a positive number, not {value:?}")]
    Value { class: String, value: String },
    #[error("--priors names {0:?}, which the model does not answer (it answers {1:?})")]
    UnknownClass(String, Vec<String>),
}

/// Parses `AGN=0.1,SN=0.2,VS=0.6,asteroid=0.1`. Weights need not sum to one: only their
/// ratios matter.
pub fn parse_priors(text: &str) -> Result<BTreeMap<String, f64>, PriorsError> {
    let mut out = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (class, value) = pair
            .split_once('=')
            .ok_or_else(|| PriorsError::Syntax(text.to_string()))?;
        let (class, value) = (class.trim(), value.trim());
        if class.is_empty() {
            return Err(PriorsError::Syntax(text.to_string()));
        }
        let v: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v > 0.0)
            .ok_or_else(|| PriorsError::Value {
                class: class.to_string(),
                value: value.to_string(),
            })?;
        out.insert(class.to_string(), v);
    }
    if out.is_empty() {
        return Err(PriorsError::Syntax(text.to_string()));
    }
    Ok(out)
}

/// The weight of each of `classes` under `priors`: a class the priors do not name gets the
/// mean of the named ones (neither favoured nor penalised: `bogus`, whose share the
/// real/bogus rule sets, usually). Every named class must be one of the model's.
pub fn prior_weights(
    classes: &[String],
    priors: &BTreeMap<String, f64>,
) -> Result<Vec<f32>, PriorsError> {
    if let Some(unknown) = priors.keys().find(|k| !classes.contains(k)) {
        return Err(PriorsError::UnknownClass(unknown.clone(), classes.to_vec()));
    }
    let mean = priors.values().sum::<f64>() / priors.len().max(1) as f64;
    Ok(classes
        .iter()
        .map(|c| priors.get(c).copied().unwrap_or(mean) as f32)
        .collect())
}

/// `probs` at the priors whose `weights` [`prior_weights`] gave, renormalised; an answer
/// with no mass left keeps its old values.
pub fn apply_priors(probs: &mut [f32], weights: &[f32]) {
    let scaled: Vec<f32> = probs.iter().zip(weights).map(|(p, w)| p * w).collect();
    let sum: f32 = scaled.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        for (p, s) in probs.iter_mut().zip(scaled) {
            *p = s / sum;
        }
    }
}

/// The class frequencies of `labels` over `classes` as priors (each class seen at least
/// once gets its share; an unseen one the smallest share seen, not zero).
pub fn frequency_priors<'a>(
    classes: &[&str],
    labels: impl Iterator<Item = &'a str>,
) -> BTreeMap<String, f64> {
    let mut counts: BTreeMap<String, f64> = classes.iter().map(|c| (c.to_string(), 0.0)).collect();
    for l in labels {
        if let Some(n) = counts.get_mut(l) {
            *n += 1.0;
        }
    }
    let total: f64 = counts.values().sum();
    let floor = counts
        .values()
        .copied()
        .filter(|n| *n > 0.0)
        .fold(f64::INFINITY, f64::min);
    counts
        .into_iter()
        .map(|(c, n)| {
            let n = if n > 0.0 { n } else { floor.min(1.0) };
            (c, n / total.max(1.0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<String> {
        ["AGN", "SN", "VS", "asteroid", "bogus"]
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn parses_and_refuses() {
        let p = parse_priors("AGN=0.1, VS=0.6,SN=0.3").expect("priors");
        assert_eq!(p.len(), 3);
        assert_eq!(p["VS"], 0.6);
        assert!(matches!(parse_priors("AGN"), Err(PriorsError::Syntax(_))));
        assert!(matches!(parse_priors(""), Err(PriorsError::Syntax(_))));
        assert!(matches!(
            parse_priors("AGN=-1"),
            Err(PriorsError::Value { .. })
        ));
        assert!(matches!(
            parse_priors("AGN=x"),
            Err(PriorsError::Value { .. })
        ));
        let bad = parse_priors("QSO=1").expect("parses");
        assert!(matches!(
            prior_weights(&classes(), &bad),
            Err(PriorsError::UnknownClass(..))
        ));
    }

    #[test]
    fn priors_move_the_answer_as_bayes_rule_says() {
        let p = parse_priors("AGN=0.1,SN=0.1,VS=0.7,asteroid=0.1").expect("priors");
        let w = prior_weights(&classes(), &p).expect("weights");
        // bogus, unnamed, gets the mean of the named (0.25).
        assert!((w[4] - 0.25).abs() < 1e-6);
        // At equal priors AGN and VS tie; with VS seven times as common VS wins 7 to 1.
        let mut probs = vec![0.4, 0.1, 0.4, 0.1, 0.0];
        apply_priors(&mut probs, &w);
        assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((probs[2] / probs[0] - 7.0).abs() < 1e-4);
        // Equal priors change nothing.
        let mut same = vec![0.4, 0.1, 0.4, 0.1, 0.0];
        let equal = parse_priors("AGN=1,SN=1,VS=1,asteroid=1,bogus=1").expect("priors");
        apply_priors(&mut same, &prior_weights(&classes(), &equal).expect("w"));
        assert_eq!(same, vec![0.4, 0.1, 0.4, 0.1, 0.0]);
    }

    #[test]
    fn frequencies_become_priors() {
        let f = frequency_priors(&["AGN", "VS", "SN"], ["VS", "VS", "AGN", "VS"].into_iter());
        assert_eq!(f["VS"], 0.75);
        assert_eq!(f["AGN"], 0.25);
        assert!(f["SN"] > 0.0);
    }
}
