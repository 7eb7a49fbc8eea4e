//! The cross-source curve of `stampseq bench active`: the vetting loop replayed on a source
//! the model never saw, which is where it matters (issue #18). The model starts from the
//! objects of every other source group; the user then vets objects of the held-out group in
//! the order they come (random) or most uncertain first (informative), the trees are
//! fine-tuned on them as `stampseq finetune` does (each user label counted `user_weight`
//! times beside the others), and the answer is scored on the group's objects not yet vetted.
//! The first point (no label of the new source) is what a new user meets.

use super::benchmark::{score, tree_rows_for, Answers, BenchmarkError, FIVE_CLASSES, REAL_CLASSES};
use crate::backend::ResolvedBackend;
use crate::classify::{ClassifyOptions, LoadedModel};
pub use crate::eval::plots::ActiveCurve;
use crate::eval::stats::mean_std;
use crate::features::sets::FeatureSet;
use crate::model::trees::{tree_model_header, TreeConfig, TreeEnsemble};
use crate::sequence::neutral::{AlertObject, BorrowedObject};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Clone)]
pub struct CrossSourceConfig {
    /// Labels of the new source added per step.
    pub step: usize,
    /// Labels of the new source at which to stop.
    pub budget: usize,
    pub seeds: usize,
    /// Each of the user's labels counts this many times against one of the other sources'
    /// (as `stampseq finetune`).
    pub user_weight: usize,
    /// Share of each informative step drawn at random.
    pub random_share: f64,
    /// A group is replayed when it holds this many labelled objects in two classes or more.
    pub min_objects: usize,
    /// Objects of the group always kept back for scoring, whatever the budget.
    pub min_scored: usize,
    /// A class of the group is scored when the group holds this many of its objects: the
    /// recall of a class of one or two objects swings the balanced accuracy by whole
    /// points of 1/classes as that object is vetted or not. Its objects are still vetted.
    pub min_class: usize,
    pub trees: TreeConfig,
}

impl Default for CrossSourceConfig {
    fn default() -> Self {
        Self {
            step: 20,
            budget: 120,
            seeds: 3,
            user_weight: 3,
            random_share: 0.1,
            min_objects: 40,
            min_scored: 20,
            min_class: 5,
            trees: TreeConfig::default(),
        }
    }
}

/// One point of a cross-source curve, over the seeds.
#[derive(Debug, Clone, Serialize)]
pub struct CrossSourceStep {
    /// Labels of the new source used.
    pub labels: usize,
    /// Objects of the new source scored (those not vetted), the mean over seeds.
    pub scored: f64,
    pub balanced_accuracy: (f64, f64),
    /// Recall of each class present in the group, mean and std over seeds.
    pub recall: BTreeMap<String, (f64, f64)>,
}

/// The curves of one held-out group.
#[derive(Debug, Clone, Serialize)]
pub struct CrossSourceReplay {
    pub group: String,
    /// The group's labelled objects per class.
    pub counts: BTreeMap<String, usize>,
    /// The classes scored (see [`CrossSourceConfig::min_class`]).
    pub scored_classes: Vec<String>,
    /// Labelled objects of the other groups the model starts from.
    pub other_objects: usize,
    /// By order ("random", "informative"): the steps.
    pub orders: Vec<(String, Vec<CrossSourceStep>)>,
}

impl CrossSourceReplay {
    /// The balanced-accuracy curves, for the learning-curve figure.
    pub fn curves(&self) -> Vec<ActiveCurve> {
        self.orders
            .iter()
            .map(|(order, steps)| ActiveCurve {
                order: format!("{}: {order}", self.group),
                labels: steps.iter().map(|s| s.labels).collect(),
                mean: steps.iter().map(|s| s.balanced_accuracy.0).collect(),
                std: steps.iter().map(|s| s.balanced_accuracy.1).collect(),
            })
            .collect()
    }
}

/// What the replay reads: the labelled objects, each with its source group.
pub struct CrossSourceInput<'a, O: AlertObject> {
    pub objects: &'a [&'a O],
    pub labels: &'a HashMap<String, String>,
    pub group_of: &'a HashMap<String, String>,
    pub set: FeatureSet,
}

/// The groups worth a replay: `min_objects` labelled objects or more, with two scored
/// classes or more.
fn replayable_groups<O: AlertObject>(
    input: &CrossSourceInput<O>,
    config: &CrossSourceConfig,
) -> Vec<(String, BTreeMap<String, usize>)> {
    let mut counts: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for o in input.objects {
        let (Some(label), Some(group)) = (input.labels.get(o.name()), input.group_of.get(o.name()))
        else {
            continue;
        };
        if REAL_CLASSES.contains(&label.as_str()) {
            *counts
                .entry(group.clone())
                .or_default()
                .entry(label.clone())
                .or_default() += 1;
        }
    }
    counts
        .into_iter()
        .filter(|(_, c)| {
            c.values().filter(|n| **n >= config.min_class).count() >= 2
                && c.values().sum::<usize>() >= config.min_objects
        })
        .collect()
}

/// Replays vetting on each replayable group held out of training.
pub fn replay_cross_source<O: AlertObject>(
    input: &CrossSourceInput<O>,
    config: &CrossSourceConfig,
    backend: &ResolvedBackend,
    say: &dyn Fn(&str),
) -> Result<Vec<CrossSourceReplay>, BenchmarkError> {
    let mut replays = Vec::new();
    for (group, counts) in replayable_groups(input, config) {
        let in_group = |o: &&O| input.group_of.get(o.name()) == Some(&group);
        let labelled = |o: &&O| {
            input
                .labels
                .get(o.name())
                .is_some_and(|l| REAL_CLASSES.contains(&l.as_str()))
        };
        let pool: Vec<&O> = input
            .objects
            .iter()
            .copied()
            .filter(labelled)
            .filter(in_group)
            .collect();
        let others: Vec<&O> = input
            .objects
            .iter()
            .copied()
            .filter(labelled)
            .filter(|o| !in_group(o))
            .collect();
        let scored_classes: Vec<String> = counts
            .iter()
            .filter(|(_, n)| **n >= config.min_class)
            .map(|(c, _)| c.clone())
            .collect();
        let group_replay =
            GroupReplay::new(input, config, &pool, &others, &scored_classes, backend);
        let mut orders = Vec::new();
        for order in [Order::Random, Order::Informative] {
            say(&format!("cross-source: {group}, {} order", order.name()));
            orders.push((order.name().to_string(), group_replay.curve(order)?));
        }
        replays.push(CrossSourceReplay {
            group,
            counts,
            scored_classes,
            other_objects: others.len(),
            orders,
        });
    }
    Ok(replays)
}

/// One seed's score at one step: balanced accuracy, recall per class, objects scored.
type Run = (f64, BTreeMap<String, f64>, usize);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Order {
    Random,
    Informative,
}

impl Order {
    fn name(self) -> &'static str {
        match self {
            Order::Random => "random",
            Order::Informative => "informative",
        }
    }
}

/// One held-out group's replay: the other groups' rows are made once.
struct GroupReplay<'a, O: AlertObject> {
    input: &'a CrossSourceInput<'a, O>,
    config: &'a CrossSourceConfig,
    pool: &'a [&'a O],
    scored_classes: &'a [String],
    other_rows: (Vec<Vec<f32>>, Vec<usize>),
    steps: Vec<usize>,
    backend: &'a ResolvedBackend,
}

impl<'a, O: AlertObject> GroupReplay<'a, O> {
    fn new(
        input: &'a CrossSourceInput<'a, O>,
        config: &'a CrossSourceConfig,
        pool: &'a [&'a O],
        others: &[&O],
        scored_classes: &'a [String],
        backend: &'a ResolvedBackend,
    ) -> Self {
        let most = config
            .budget
            .min(pool.len().saturating_sub(config.min_scored.max(1)));
        let step = config.step.max(1);
        let steps: Vec<usize> = (0..=most / step).map(|i| i * step).collect();
        Self {
            input,
            config,
            pool,
            scored_classes,
            other_rows: tree_rows_for(others, &class_index(input.labels), input.set),
            steps,
            backend,
        }
    }

    /// Trees on the other groups and the vetted objects, each vetted row `user_weight` times.
    fn fit(&self, vetted: &[&O]) -> Result<TreeEnsemble, BenchmarkError> {
        let (mut rows, mut ys) = self.other_rows.clone();
        let (user_rows, user_ys) =
            tree_rows_for(vetted, &class_index(self.input.labels), self.input.set);
        for _ in 0..self.config.user_weight.max(1) {
            rows.extend(user_rows.iter().cloned());
            ys.extend(user_ys.iter().copied());
        }
        let classes: Vec<String> = REAL_CLASSES.iter().map(|c| c.to_string()).collect();
        let features: Vec<String> = self
            .input
            .set
            .tree_features()
            .iter()
            .map(|f| f.to_string())
            .collect();
        Ok(TreeEnsemble::fit(
            &rows,
            &ys,
            &classes,
            &features,
            &self.config.trees,
            &|_, _| {},
        )?)
    }

    fn curve(&self, order: Order) -> Result<Vec<CrossSourceStep>, BenchmarkError> {
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); self.steps.len()];
        for seed in 0..self.config.seeds.max(1) {
            let mut rng = StdRng::seed_from_u64(200 + seed as u64);
            let mut waiting: Vec<&O> = self.pool.to_vec();
            waiting.shuffle(&mut rng);
            let mut vetted: Vec<&O> = Vec::new();
            for (i, &target) in self.steps.iter().enumerate() {
                let want = target.saturating_sub(vetted.len());
                if want > 0 {
                    let picked = match order {
                        Order::Random => (0..want.min(waiting.len())).collect(),
                        Order::Informative => {
                            let current = self.fit(&vetted)?;
                            self.most_uncertain(&current, &waiting, want)
                        }
                    };
                    let mut picked: Vec<usize> = picked;
                    picked.sort_unstable_by(|a, b| b.cmp(a));
                    for j in picked {
                        vetted.push(waiting.remove(j));
                    }
                }
                let trees = self.fit(&vetted)?;
                runs[i].push(self.score(trees, &waiting)?);
            }
        }
        Ok(self
            .steps
            .iter()
            .zip(runs)
            .map(|(&labels, seeds)| summarise(labels, &seeds))
            .collect())
    }

    /// The `want` waiting objects the trees are least sure of, a `random_share` of them taken
    /// in the waiting (shuffled) order instead, so that the estimate stays honest.
    fn most_uncertain(&self, trees: &TreeEnsemble, waiting: &[&O], want: usize) -> Vec<usize> {
        let mut ranked: Vec<(f64, usize)> = waiting
            .iter()
            .enumerate()
            .map(|(j, o)| (super::active::informativeness(trees, *o, self.input.set), j))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let random = ((want as f64) * self.config.random_share.clamp(0.0, 1.0)).round() as usize;
        let mut take: Vec<usize> = ranked
            .iter()
            .take(want.saturating_sub(random))
            .map(|r| r.1)
            .collect();
        for j in 0..waiting.len() {
            if take.len() >= want {
                break;
            }
            if !take.contains(&j) {
                take.push(j);
            }
        }
        take
    }

    /// Balanced accuracy and recall per class of `trees` (with the physics rules, as the
    /// answer a user sees) on the objects not vetted, of the scored classes.
    fn score(&self, trees: TreeEnsemble, scored: &[&O]) -> Result<Run, BenchmarkError> {
        let header = tree_model_header(&trees, "cross-source");
        let model = LoadedModel::from_trees(trees, header, Path::new("cross-source.stampseq"));
        let options = ClassifyOptions {
            max_detections: super::benchmark::MAX_DETECTIONS,
            look_ahead_for_stationary: false,
            ..Default::default()
        };
        let objects: Vec<BorrowedObject> = scored
            .iter()
            .map(|o| BorrowedObject {
                name: o.name().to_string(),
                alerts: o.alert_refs(),
            })
            .collect();
        let out = model.classify(
            &objects,
            &options,
            &self.backend.device,
            &AtomicBool::new(false),
            &|_, _| {},
        )?;
        let answers = Answers::from_rows(model.classes(), &out.rows);
        let truth: Vec<(String, String)> = scored
            .iter()
            .filter_map(|o| {
                let label = self.input.labels.get(o.name())?;
                self.scored_classes
                    .contains(label)
                    .then(|| (o.name().to_string(), label.clone()))
            })
            .collect();
        let Some(s) = score(&answers, &truth, &FIVE_CLASSES, None, 1) else {
            return Ok((f64::NAN, BTreeMap::new(), 0));
        };
        let recall = s
            .metrics
            .per_class
            .iter()
            .filter(|c| c.support > 0)
            .map(|c| (c.class.clone(), c.recall))
            .collect();
        Ok((s.metrics.balanced_accuracy, recall, truth.len()))
    }
}

fn class_index(labels: &HashMap<String, String>) -> HashMap<String, usize> {
    labels
        .iter()
        .filter_map(|(id, l)| {
            REAL_CLASSES
                .iter()
                .position(|c| c == l)
                .map(|i| (id.clone(), i))
        })
        .collect()
}

fn summarise(labels: usize, seeds: &[Run]) -> CrossSourceStep {
    let ba: Vec<f64> = seeds.iter().map(|s| s.0).collect();
    let mut classes: Vec<&String> = seeds.iter().flat_map(|s| s.1.keys()).collect();
    classes.sort();
    classes.dedup();
    let recall = classes
        .into_iter()
        .map(|c| {
            let v: Vec<f64> = seeds.iter().filter_map(|s| s.1.get(c).copied()).collect();
            (c.clone(), mean_std(&v))
        })
        .collect();
    CrossSourceStep {
        labels,
        scored: seeds.iter().map(|s| s.2 as f64).sum::<f64>() / seeds.len().max(1) as f64,
        balanced_accuracy: mean_std(&ba),
        recall,
    }
}

/// The cross-source curves as Markdown: one table per held-out group.
pub fn render_cross_source(replays: &[CrossSourceReplay], config: &CrossSourceConfig) -> String {
    let mut s = format!(
        "**Cross-source vetting loop**: each source group below held out of training; the trees \
         start from the other groups, the user vets objects of the held-out group (random: in \
         the order they come; informative: most uncertain first, {:.0} % of each step at \
         random), the trees are fine-tuned on them as `stampseq finetune` does (each label \
         counted {} times), and the answer (with the physics rules) is scored on the group's \
         objects not yet vetted, of its classes with {} objects or more. Balanced accuracy \
         and recall in %, mean ± std over {} seeds (the spread of vetting orders; objects are \
         not resampled); labels are weak (catalogue cross-matches), none spectroscopic.\n",
        100.0 * config.random_share,
        config.user_weight.max(1),
        config.min_class,
        config.seeds.max(1)
    );
    for r in replays {
        let counts: Vec<String> = r.counts.iter().map(|(c, n)| format!("{c} {n}")).collect();
        s.push_str(&format!(
            "\nHeld out: **{}** ({}; scored: {}); the model starts from {} objects of the other groups.\n\n",
            r.group,
            counts.join(", "),
            r.scored_classes.join(", "),
            r.other_objects
        ));
        let classes: Vec<&String> = r.scored_classes.iter().collect();
        s.push_str("| order | labels of this source | objects scored | balanced accuracy |");
        for c in &classes {
            s.push_str(&format!(" recall {c} |"));
        }
        s.push_str("\n|---|---|---|---|");
        s.push_str(&"---|".repeat(classes.len()));
        s.push('\n');
        for (order, steps) in &r.orders {
            for step in steps {
                s.push_str(&format!(
                    "| {order} | {} | {:.0} | {:.1} ± {:.1} |",
                    step.labels,
                    step.scored,
                    100.0 * step.balanced_accuracy.0,
                    100.0 * step.balanced_accuracy.1
                ));
                for c in &classes {
                    match step.recall.get(*c) {
                        Some((m, sd)) => {
                            s.push_str(&format!(" {:.1} ± {:.1} |", 100.0 * m, 100.0 * sd))
                        }
                        None => s.push_str(" – |"),
                    }
                }
                s.push('\n');
            }
        }
    }
    s
}
