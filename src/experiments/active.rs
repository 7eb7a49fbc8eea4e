//! `stampseq bench active`: replays vetting on the real labelled alerts to measure what
//! each label buys. From a small stratified start, labels are added `step` at a time, chosen
//! (a) by the informative order (highest predictive uncertainty, with a share of random
//! picks so that the estimate stays honest) or (b) at random; the default model is retrained
//! after each step and scored on the fixed real test part, over several seeds.

use super::benchmark::{score, Answers, BenchmarkError, FIVE_CLASSES, REAL_CLASSES};
// Defined with the figure that draws it, below the replay.
use super::benchmark::train_trees;
use crate::backend::ResolvedBackend;
use crate::classify::{ClassifyOptions, LoadedModel};
pub use crate::eval::plots::ActiveCurve;
use crate::eval::stats::mean_std;
use crate::features::sets::FeatureSet;
use crate::model::trees::{tree_model_header, TreeConfig, TreeEnsemble};
use crate::sequence::neutral::{AlertObject, ObjectSequence};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Clone)]
pub struct ActiveConfig {
    /// Labelled objects to start from (at least one per class).
    pub initial: usize,
    /// Labels added per step.
    pub step: usize,
    /// Labels at which to stop.
    pub budget: usize,
    pub seeds: usize,
    /// Share of each informative step drawn at random.
    pub random_share: f64,
    pub trees: TreeConfig,
}

/// How unsure the trees are of an object at its last detection (up to the benchmark's
/// [`super::benchmark::MAX_DETECTIONS`]), in the features of `set`: the top class's
/// shortfall from certainty plus the members' spread on it (none for an object without a
/// row). Both replays (here and [`super::active_cross`]) rank by it.
pub(super) fn informativeness<O: AlertObject>(
    trees: &TreeEnsemble,
    object: &O,
    set: FeatureSet,
) -> f64 {
    let refs = object.alert_refs();
    let k = refs
        .len()
        .min(super::benchmark::MAX_DETECTIONS)
        .saturating_sub(1);
    let Some(row) = refs.get(k).and_then(|a| set.tree_row(*a, &refs[..k]).ok()) else {
        return 0.0;
    };
    match trees.predict(&[row]) {
        Ok(a) => {
            let top = crate::model::probs::argmax(&a[0].mean).unwrap_or(0);
            f64::from(1.0 - a[0].mean[top] + a[0].std[top])
        }
        Err(_) => 0.0,
    }
}

fn test_ba(
    trees: TreeEnsemble,
    test: &[ObjectSequence],
    truth: &[(String, String)],
    backend: &ResolvedBackend,
) -> Result<f64, BenchmarkError> {
    let header = tree_model_header(&trees, "active");
    let model = LoadedModel::from_trees(trees, header, Path::new("active.stampseq"));
    let options = ClassifyOptions {
        max_detections: super::benchmark::MAX_DETECTIONS,
        look_ahead_for_stationary: false,
        ..Default::default()
    };
    let out = model.classify(
        test,
        &options,
        &backend.device,
        &AtomicBool::new(false),
        &|_, _| {},
    )?;
    let answers = Answers::from_rows(model.classes(), &out.rows);
    Ok(score(&answers, truth, &FIVE_CLASSES, None, 1)
        .map_or(f64::NAN, |s| s.metrics.balanced_accuracy))
}

/// Replays vetting of `pool` (objects with their labels) against the fixed `test` part.
pub fn replay(
    pool: &[&ObjectSequence],
    labels: &HashMap<String, String>,
    test: &[ObjectSequence],
    truth: &[(String, String)],
    config: &ActiveConfig,
    backend: &ResolvedBackend,
    say: &dyn Fn(&str),
) -> Result<Vec<ActiveCurve>, BenchmarkError> {
    let usable: Vec<&ObjectSequence> = pool
        .iter()
        .copied()
        .filter(|s| labels.contains_key(&s.key.id))
        .collect();
    let budget = config.budget.min(usable.len());
    let mut steps = vec![config.initial.max(REAL_CLASSES.len())];
    while *steps.last().unwrap_or(&budget) + config.step.max(1) <= budget {
        let next = steps.last().copied().unwrap_or(0) + config.step.max(1);
        steps.push(next);
    }
    let mut curves = Vec::new();
    for order in ["informative", "random"] {
        // scores[step][seed]
        let mut scores = vec![Vec::new(); steps.len()];
        for seed in 0..config.seeds.max(1) {
            say(&format!("{order} order, seed {}", seed + 1));
            let mut rng = StdRng::seed_from_u64(100 + seed as u64);
            let mut order_of: Vec<&ObjectSequence> = usable.clone();
            order_of.shuffle(&mut rng);
            // A stratified start: one object of each class, then the first of the shuffle.
            let mut chosen: Vec<&ObjectSequence> = Vec::new();
            for class in REAL_CLASSES {
                if let Some(pos) = order_of.iter().position(|s| labels[&s.key.id] == class) {
                    chosen.push(order_of.remove(pos));
                }
            }
            while chosen.len() < steps[0] && !order_of.is_empty() {
                chosen.push(order_of.remove(0));
            }
            for (i, &target) in steps.iter().enumerate() {
                if i > 0 {
                    let want = target - chosen.len();
                    if order == "informative" {
                        let current = train_trees(&chosen, labels, &config.trees)?;
                        let mut ranked: Vec<(f64, usize)> = order_of
                            .iter()
                            .enumerate()
                            .map(|(j, s)| {
                                (
                                    informativeness(&current, *s, super::benchmark::TREES_FEATURES),
                                    j,
                                )
                            })
                            .collect();
                        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
                        let random = ((want as f64) * config.random_share).round() as usize;
                        let mut take: Vec<usize> =
                            ranked.iter().take(want - random).map(|r| r.1).collect();
                        // The random share comes from the rest, in the shuffled order.
                        for j in 0..order_of.len() {
                            if take.len() >= want {
                                break;
                            }
                            if !take.contains(&j) {
                                take.push(j);
                            }
                        }
                        take.sort_unstable_by(|a, b| b.cmp(a));
                        for j in take {
                            chosen.push(order_of.remove(j));
                        }
                    } else {
                        for _ in 0..want.min(order_of.len()) {
                            chosen.push(order_of.remove(0));
                        }
                    }
                }
                let trees = train_trees(&chosen, labels, &config.trees)?;
                scores[i].push(test_ba(trees, test, truth, backend)?);
            }
        }
        let (mean, std): (Vec<f64>, Vec<f64>) = scores.iter().map(|s| mean_std(s)).unzip();
        curves.push(ActiveCurve {
            order: order.into(),
            labels: steps.clone(),
            mean,
            std,
        });
    }
    Ok(curves)
}

pub fn render_markdown(curves: &[ActiveCurve], seeds: usize, test_objects: usize) -> String {
    let mut s = format!(
        "Balanced accuracy (five classes, %) on {test_objects} real test objects against labels used, mean ± std over {seeds} seeds:\n\n| labels |"
    );
    for c in curves {
        s.push_str(&format!(" {} |", c.order));
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(curves.len()));
    s.push('\n');
    if let Some(first) = curves.first() {
        for (i, n) in first.labels.iter().enumerate() {
            s.push_str(&format!("| {n} |"));
            for c in curves {
                s.push_str(&format!(
                    " {:.1} ± {:.1} |",
                    100.0 * c.mean[i],
                    100.0 * c.std[i]
                ));
            }
            s.push('\n');
        }
    }
    s
}
