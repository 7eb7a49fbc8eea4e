//! The trees' weight in a fusion with a network, chosen on the grouped-by-source
//! validation. Across sources the trees lose more than the networks do (they learn what
//! identifies a source), so the plain mean lets their confident mistakes on AGN outvote the
//! stamps. One number is tried at a handful of values on the folds the benchmark already
//! has; the row chosen is optimistic by that choice, and the report says so. So a second
//! row chooses each source group's weight on the other groups alone
//! ([`choose_on_other_groups`]): no held-out answer picks its own weight.

use super::benchmark::{Answers, TaskScore};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// The trees' weights tried (the network's is one minus it); 0.5 is the plain mean, first,
/// so that it wins a tie. At 0 the answer is the network's alone, with the trees kept in
/// the file for the fine-tune, which weighs them again on the user's labels.
pub const TREES_WEIGHTS: [f32; 7] = [0.5, 0.35, 0.25, 0.15, 0.1, 0.05, 0.0];

/// The member weights of a trees + network fusion at `trees_weight`; None for the plain
/// mean, which is written as an unweighted fusion.
pub fn member_weights(trees_weight: f32) -> Option<[f32; 2]> {
    (trees_weight != 0.5).then_some([trees_weight, 1.0 - trees_weight])
}

/// A fold-by-fold fusion of the trees with a network at one weight, pooled.
pub struct WeightedFusion {
    /// The network's name (its configuration's file stem).
    pub network: String,
    pub trees_weight: f32,
    pub answers: Answers,
}

/// One network's fusion at one weight, scored on five classes.
#[derive(Debug, Clone, Serialize)]
pub struct FusionWeightScore {
    pub network: String,
    pub trees_weight: f32,
    pub balanced_accuracy: f64,
    pub balanced_accuracy_se: f64,
    pub agn_recall: Option<f64>,
    pub ece: f64,
    /// The best balanced accuracy of its network's weights (the first tried wins a tie).
    pub chosen: bool,
}

/// Each (network, weight, five-class score), with each network's best weight marked.
pub fn choose(scored: Vec<(String, f32, TaskScore)>) -> Vec<FusionWeightScore> {
    let mut out: Vec<FusionWeightScore> = scored
        .into_iter()
        .map(|(network, trees_weight, t)| FusionWeightScore {
            network,
            trees_weight,
            balanced_accuracy: t.metrics.balanced_accuracy,
            balanced_accuracy_se: t.balanced_accuracy_se,
            agn_recall: t
                .metrics
                .per_class
                .iter()
                .find(|c| c.class == "AGN" && c.support > 0)
                .map(|c| c.recall),
            ece: t.ece,
            chosen: false,
        })
        .collect();
    let networks: Vec<String> = out.iter().map(|s| s.network.clone()).collect();
    for network in networks {
        let mut best: Option<usize> = None;
        for (i, s) in out.iter().enumerate() {
            if s.network == network
                && best.is_none_or(|b| s.balanced_accuracy > out[b].balanced_accuracy)
            {
                best = Some(i);
            }
        }
        if let Some(b) = best {
            out[b].chosen = true;
        }
    }
    out
}

/// The trees' weight chosen for `network`'s fusion, if it was tried.
pub fn chosen_trees_weight(scores: &[FusionWeightScore], network: &str) -> Option<f32> {
    scores
        .iter()
        .find(|s| s.chosen && s.network == network)
        .map(|s| s.trees_weight)
}

/// One network's fusion in which each source group is answered at the trees' weight that
/// scored best on the other groups' objects.
#[derive(Debug, Clone, Serialize)]
pub struct ChosenElsewhere {
    pub network: String,
    /// (held-out group, the trees' weight chosen without it), by group name.
    pub weights: Vec<(String, f32)>,
    #[serde(skip)]
    pub answers: Answers,
}

/// A balanced accuracy of answers against (object, label) pairs; None where it has none.
pub type Scorer<'a> = &'a dyn Fn(&Answers, &[(String, String)]) -> Option<f64>;

/// For every network of `weighted` and every source group of `truth`: the weight whose
/// pooled answers score best (`score`, a balanced accuracy) on the objects of the other
/// groups, the first tried winning a tie; the group's own answers at that weight are kept.
/// Pooled over the groups, this is the fusion's figure with the choice made out of group.
pub fn choose_on_other_groups(
    weighted: &[WeightedFusion],
    truth: &[(String, String)],
    group_of: &HashMap<&str, &str>,
    score: Scorer,
) -> Vec<ChosenElsewhere> {
    let group = |id: &str| group_of.get(id).copied().unwrap_or("");
    let groups: BTreeSet<&str> = truth.iter().map(|(id, _)| group(id)).collect();
    let mut networks: Vec<&str> = Vec::new();
    for f in weighted {
        if !networks.contains(&f.network.as_str()) {
            networks.push(&f.network);
        }
    }
    let mut out = Vec::new();
    for network in networks {
        let tried: Vec<&WeightedFusion> =
            weighted.iter().filter(|f| f.network == network).collect();
        let mut chosen = ChosenElsewhere {
            network: network.to_string(),
            weights: Vec::new(),
            answers: Answers::default(),
        };
        for g in &groups {
            let others: Vec<(String, String)> = truth
                .iter()
                .filter(|(id, _)| group(id) != *g)
                .cloned()
                .collect();
            let mut best: Option<(&WeightedFusion, f64)> = None;
            for f in &tried {
                let Some(ba) = score(&f.answers, &others) else {
                    continue;
                };
                if best.is_none_or(|(_, b)| ba > b) {
                    best = Some((f, ba));
                }
            }
            let Some((f, _)) = best else {
                continue;
            };
            chosen.weights.push((g.to_string(), f.trees_weight));
            chosen.answers.classes = f.answers.classes.clone();
            for (id, _) in truth.iter().filter(|(id, _)| group(id) == *g) {
                if let Some(a) = f.answers.by_object.get(id) {
                    chosen.answers.by_object.insert(id.clone(), a.clone());
                }
            }
        }
        out.push(chosen);
    }
    out
}

/// The weights tried, as Markdown.
pub fn render(scores: &[FusionWeightScore], elsewhere: &[ChosenElsewhere]) -> String {
    if scores.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\n**The trees' weight in each fusion** (five classes, grouped by source, %; the \
         network's weight is one minus it; the best of each network, in bold, is the one \
         chosen, so its figure is optimistic by a choice among seven):\n\n\
         | network | trees' weight | balanced accuracy | recall AGN | ECE |\n|---|---|---|---|---|\n",
    );
    for w in scores {
        let ba = format!(
            "{:.1} ± {:.1}",
            100.0 * w.balanced_accuracy,
            100.0 * w.balanced_accuracy_se
        );
        s.push_str(&format!(
            "| {} | {:.2} | {} | {} | {:.3} |\n",
            w.network,
            w.trees_weight,
            if w.chosen { format!("**{ba}**") } else { ba },
            w.agn_recall
                .map_or("–".into(), |r| format!("{:.1}", 100.0 * r)),
            w.ece
        ));
    }
    if !elsewhere.is_empty() {
        s.push_str(
            "\nThe same choice made without the held-out group (each group's weight is the \
             best on the other groups' objects; its pooled figure is the row \"weight chosen \
             on the other groups\" above):\n\n",
        );
        for c in elsewhere {
            let weights: Vec<String> = c
                .weights
                .iter()
                .map(|(g, w)| format!("{g} {w:.2}"))
                .collect();
            s.push_str(&format!("- {}: {}\n", c.network, weights.join("; ")));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::{ClassMetrics, ConfusionMatrix, Metrics};

    fn score(ba: f64) -> TaskScore {
        let metrics = Metrics {
            accuracy: ba,
            macro_f1: 0.0,
            balanced_accuracy: ba,
            per_class: vec![ClassMetrics {
                class: "AGN".into(),
                precision: 0.0,
                recall: ba / 2.0,
                f1: 0.0,
                support: 3,
            }],
            confusion: ConfusionMatrix::new(&["AGN"]),
            samples: 10,
        };
        TaskScore {
            objects: 10,
            metrics,
            accuracy_se: 0.0,
            balanced_accuracy_se: 0.01,
            recall_se: vec![0.0],
            ece: 0.0,
            reliability: Vec::new(),
        }
    }

    #[test]
    fn each_network_gets_its_best_weight_and_the_plain_mean_wins_a_tie() {
        let scores = choose(vec![
            ("a".into(), 0.5, score(0.70)),
            ("a".into(), 0.25, score(0.74)),
            ("a".into(), 0.1, score(0.72)),
            ("b".into(), 0.5, score(0.60)),
            ("b".into(), 0.25, score(0.60)),
        ]);
        assert_eq!(chosen_trees_weight(&scores, "a"), Some(0.25));
        assert_eq!(chosen_trees_weight(&scores, "b"), Some(0.5));
        assert_eq!(chosen_trees_weight(&scores, "c"), None);
        assert_eq!(scores.iter().filter(|s| s.chosen).count(), 2);
        assert!(render(&scores, &[]).contains("| a | 0.25 | **74.0 ± 1.0** | 37.0 |"));
        assert_eq!(member_weights(0.5), None);
        assert_eq!(member_weights(0.25), Some([0.25, 0.75]));
    }

    fn answers(by: &[(&str, [f32; 2])]) -> Answers {
        Answers {
            classes: vec!["AGN".into(), "VS".into()],
            by_object: by
                .iter()
                .map(|(id, p)| (id.to_string(), vec![p.to_vec()]))
                .collect(),
        }
    }

    #[test]
    fn each_group_gets_the_weight_that_scores_best_on_the_other_groups() {
        // Group x's objects are right only at weight 0.5, group y's only at 0: the weight
        // each is answered at must be the one its neighbour prefers, never its own best.
        let truth: Vec<(String, String)> = [("x1", "AGN"), ("y1", "AGN")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let group_of: HashMap<&str, &str> = [("x1", "x"), ("y1", "y")].into_iter().collect();
        let weighted = vec![
            WeightedFusion {
                network: "n".into(),
                trees_weight: 0.5,
                answers: answers(&[("x1", [0.9, 0.1]), ("y1", [0.1, 0.9])]),
            },
            WeightedFusion {
                network: "n".into(),
                trees_weight: 0.0,
                answers: answers(&[("x1", [0.2, 0.8]), ("y1", [0.8, 0.2])]),
            },
        ];
        let right = |a: &Answers, t: &[(String, String)]| {
            let hits = t
                .iter()
                .filter(|(id, label)| {
                    let p = &a.by_object[id][0];
                    let top = if p[0] >= p[1] { "AGN" } else { "VS" };
                    top == label
                })
                .count();
            Some(hits as f64 / t.len() as f64)
        };
        let chosen = choose_on_other_groups(&weighted, &truth, &group_of, &right);
        assert_eq!(chosen.len(), 1);
        assert_eq!(
            chosen[0].weights,
            vec![("x".to_string(), 0.0), ("y".to_string(), 0.5)]
        );
        // So both are answered wrong: the out-of-group choice does not flatter.
        assert_eq!(chosen[0].answers.by_object["x1"][0], vec![0.2, 0.8]);
        assert_eq!(chosen[0].answers.by_object["y1"][0], vec![0.1, 0.9]);
        assert!(render(&[], &chosen).is_empty());
        let scores = choose(vec![("n".into(), 0.5, score(0.7))]);
        assert!(render(&scores, &chosen).contains("- n: x 0.00; y 0.50"));
    }
}
