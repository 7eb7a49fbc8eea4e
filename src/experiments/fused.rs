//! A fused answer, measured by the grouped validation: the trees read the alert's metadata
//! and history **and** a stamp classifier's raw probabilities at the same detection
//! (stacking), then the physics rules pass the answer. Only a stamp model that never
//! trained on any of the labelled objects may feed it (the imported ALeRCE classifier):
//! its answer on an object is then as out-of-fold as the stacker's own test, and no
//! object's stamp answer was fit to that object. The stacker itself trains on each fold's
//! training groups only.

use super::benchmark::*;
use crate::alert::AnyAlert;
use crate::classify::ClassifyOptions;
use crate::experiments::groups::Fold;
use crate::model::trees::{TreeConfig, TreeEnsemble};
use crate::sequence::neutral::ObjectSequence;
use std::collections::HashMap;

/// The stamp model's probability of each of the five classes at detection `k` (0-based) of
/// `object`, NaN where it gave none (the trees route a missing value).
fn stamp_columns(stamp: &Answers, object: &str, k: usize) -> Vec<f32> {
    let steps = stamp.by_object.get(object);
    FIVE_CLASSES
        .iter()
        .map(|c| {
            let i = stamp.classes.iter().position(|s| s == c);
            match (steps.and_then(|s| s.get(k)), i) {
                (Some(p), Some(i)) => p[i],
                _ => f32::NAN,
            }
        })
        .collect()
}

/// The stacker's feature row for detection `k` of `s`; None where the trees' features do
/// not read it.
fn row(s: &ObjectSequence, k: usize, stamp: &Answers) -> Option<Vec<f32>> {
    let mut r = tree_row_at(s, k)?;
    r.extend(stamp_columns(stamp, &s.key.id, k));
    Some(r)
}

/// The stacker's feature names: the trees' own, then the stamp model's five probabilities.
pub fn fused_features() -> Vec<String> {
    TREES_FEATURES
        .tree_features()
        .iter()
        .map(|s| s.to_string())
        .chain(FIVE_CLASSES.iter().map(|c| format!("stamp_p_{c}")))
        .collect()
}

fn fit(
    train: &[&ObjectSequence],
    labels: &HashMap<String, String>,
    stamp: &Answers,
    config: &TreeConfig,
) -> Result<TreeEnsemble, BenchmarkError> {
    // The classes present, in the real classes' order, as the plain trees do: a held-out
    // group can take a class's every object with it.
    let classes: Vec<String> = REAL_CLASSES
        .iter()
        .filter(|c| {
            train
                .iter()
                .any(|s| labels.get(&s.key.id).map(String::as_str) == Some(**c))
        })
        .map(|c| c.to_string())
        .collect();
    let (mut rows, mut ys) = (Vec::new(), Vec::new());
    for s in train {
        let Some(y) = labels
            .get(&s.key.id)
            .and_then(|l| classes.iter().position(|c| c == l))
        else {
            continue;
        };
        for k in 0..s.alerts.len().min(MAX_DETECTIONS) {
            if let Some(r) = row(s, k, stamp) {
                rows.push(r);
                ys.push(y);
            }
        }
    }
    Ok(TreeEnsemble::fit(
        &rows,
        &ys,
        &classes,
        &fused_features(),
        config,
        &|_, _| {},
    )?)
}

/// The fused answers of every fold's held-out objects (five classes), after the physics
/// rules when `rules` (no rule looks at later alerts: answers after N detections are
/// scored).
pub fn fused_answers(
    folds: &[Fold],
    labels: &HashMap<&str, &str>,
    by_id: &HashMap<&str, &ObjectSequence>,
    stamp: &Answers,
    config: &TreeConfig,
    rules: bool,
) -> Result<Answers, BenchmarkError> {
    let five: Vec<String> = FIVE_CLASSES.iter().map(|c| c.to_string()).collect();
    let options = ClassifyOptions {
        look_ahead_for_stationary: false,
        rules,
        ..Default::default()
    };
    let mut out = Answers {
        classes: five.clone(),
        by_object: HashMap::new(),
    };
    for fold in folds {
        let train: Vec<&ObjectSequence> = fold
            .train
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).copied())
            .collect();
        let train_labels: HashMap<String, String> = fold
            .train
            .iter()
            .filter_map(|id| labels.get(id.as_str()).map(|l| (id.clone(), l.to_string())))
            .collect();
        let trees = fit(&train, &train_labels, stamp, config)?;
        let slots: Vec<usize> = trees
            .classes
            .iter()
            .filter_map(|c| five.iter().position(|f| f == c))
            .collect();
        for id in &fold.test {
            let Some(s) = by_id.get(id.as_str()) else {
                continue;
            };
            let n = s.alerts.len().min(MAX_DETECTIONS);
            let Some(rows) = (0..n).map(|k| row(s, k, stamp)).collect::<Option<Vec<_>>>() else {
                continue;
            };
            let mut steps = Vec::with_capacity(n);
            for (k, answer) in trees.predict(&rows)?.into_iter().enumerate() {
                let mut probs = vec![0f32; five.len()];
                for (i, &slot) in slots.iter().enumerate() {
                    probs[slot] = answer.mean[i];
                }
                if options.rules {
                    let earlier: Vec<crate::alert::AlertRef> =
                        s.alerts[..k].iter().map(AnyAlert::as_ref).collect();
                    crate::classify::after::physics_rules(
                        s.alerts[k].as_ref(),
                        &earlier,
                        &[],
                        &five,
                        &mut probs,
                        None,
                        &options,
                    );
                }
                steps.push(probs);
            }
            out.by_object.insert(id.clone(), steps);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::answers::shared_grouped_objects;
    use crate::experiments::groups::grouped_folds;
    use std::collections::HashSet;

    /// The stacker reads no held-out object's label, and its stamp input is the given raw
    /// answers only: answers with the held-out labels hidden from it are the same as with
    /// them known, and only held-out objects are answered.
    #[test]
    fn the_stacker_never_reads_a_held_out_label() {
        let (sequences, objects) = shared_grouped_objects(&|_| true);
        let by_id: HashMap<&str, &ObjectSequence> =
            sequences.iter().map(|s| (s.key.id.as_str(), s)).collect();
        let labels: HashMap<&str, &str> = objects
            .iter()
            .map(|o| (o.object_id.as_str(), o.label.as_str()))
            .collect();
        let fold = grouped_folds(&objects, 5, 11)
            .into_iter()
            .find(|f| f.name == "fink-science")
            .expect("the fink-science fold");
        let held: HashSet<&str> = fold.test.iter().map(String::as_str).collect();
        let hidden: HashMap<&str, &str> = labels
            .iter()
            .filter(|(id, _)| !held.contains(*id))
            .map(|(id, l)| (*id, *l))
            .collect();
        // A stamp answer that names the truth of every object, held-out ones included.
        let classes: Vec<String> = FIVE_CLASSES.iter().map(|c| c.to_string()).collect();
        let mut stamp = Answers {
            classes,
            by_object: HashMap::new(),
        };
        for (id, l) in &labels {
            let p: Vec<f32> = FIVE_CLASSES.iter().map(|c| f32::from(c == l)).collect();
            stamp
                .by_object
                .insert(id.to_string(), vec![p; MAX_DETECTIONS]);
        }
        let config = TreeConfig {
            members: 1,
            iterations: 20,
            ..Default::default()
        };
        let run = |labels: &HashMap<&str, &str>| {
            fused_answers(
                std::slice::from_ref(&fold),
                labels,
                &by_id,
                &stamp,
                &config,
                false,
            )
            .expect("fused")
        };
        let (known, unknown) = (run(&labels), run(&hidden));
        assert_eq!(known.by_object.len(), fold.test.len());
        assert!(known.by_object.keys().all(|id| held.contains(id.as_str())));
        assert_eq!(known.by_object, unknown.by_object);
        // The stamp column does reach the answer: it names the truth, and the stacker,
        // trained on other groups where it also named the truth, follows it.
        let right = fold
            .test
            .iter()
            .filter(|id| {
                let p = known.by_object[id.as_str()].last().expect("answer");
                let truth = FIVE_CLASSES
                    .iter()
                    .position(|c| Some(c) == labels.get(id.as_str()));
                crate::model::probs::argmax(p) == truth
            })
            .count();
        assert!(
            right * 10 >= fold.test.len() * 9,
            "{right} of {}",
            fold.test.len()
        );
    }
}
