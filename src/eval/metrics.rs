//! Classification metrics over a fixed list of classes.

use serde::{Deserialize, Serialize};

// The benchmark and the integration tests name it here; it lives with the models.
pub use crate::model::probs::argmax;

/// Counts of (true class, predicted class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    pub classes: Vec<String>,
    /// `counts[true][predicted]`.
    pub counts: Vec<Vec<u64>>,
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMetrics {
    pub class: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Number of true members of the class.
    pub support: u64,
}

/// The summary a report prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Mean of the per-class recalls: the accuracy on a balanced set.
    pub balanced_accuracy: f64,
    pub per_class: Vec<ClassMetrics>,
    pub confusion: ConfusionMatrix,
    pub samples: u64,
}

impl ConfusionMatrix {
    pub fn new(classes: &[impl AsRef<str>]) -> Self {
        let n = classes.len();
        Self {
            classes: classes.iter().map(|c| c.as_ref().to_string()).collect(),
            counts: vec![vec![0; n]; n],
        }
    }

    /// Adds one sample by class indices. Indices out of range are a caller bug.
    pub fn add(&mut self, truth: usize, predicted: usize) {
        self.counts[truth][predicted] += 1;
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Row-normalised: each true class's row sums to 1 (rows without samples stay 0).
    pub fn row_normalised(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let sum: u64 = row.iter().sum();
                row.iter()
                    .map(|&c| if sum == 0 { 0.0 } else { c as f64 / sum as f64 })
                    .collect()
            })
            .collect()
    }

    pub fn metrics(&self) -> Metrics {
        let n = self.classes.len();
        let total = self.total();
        let correct: u64 = (0..n).map(|i| self.counts[i][i]).sum();
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let per_class: Vec<ClassMetrics> = (0..n)
            .map(|i| {
                let tp = self.counts[i][i];
                let predicted: u64 = (0..n).map(|t| self.counts[t][i]).sum();
                let support: u64 = self.counts[i].iter().sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall == 0.0 {
                    0.0
                } else {
                    2.0 * precision * recall / (precision + recall)
                };
                ClassMetrics {
                    class: self.classes[i].clone(),
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let present: Vec<&ClassMetrics> = per_class.iter().filter(|c| c.support > 0).collect();
        let mean = |f: &dyn Fn(&ClassMetrics) -> f64| {
            if present.is_empty() {
                0.0
            } else {
                present.iter().map(|c| f(c)).sum::<f64>() / present.len() as f64
            }
        };
        Metrics {
            accuracy: ratio(correct, total),
            macro_f1: mean(&|c| c.f1),
            balanced_accuracy: mean(&|c| c.recall),
            per_class,
            confusion: self.clone(),
            samples: total,
        }
    }
}

/// One bin of a reliability diagram: answers whose top probability fell in `[lo, hi)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReliabilityBin {
    pub lo: f64,
    pub hi: f64,
    /// Mean top probability of the answers in the bin.
    pub confidence: f64,
    /// Fraction of them that were right.
    pub accuracy: f64,
    pub count: u64,
}

/// Expected calibration error over `bins` equal-width bins of the top probability, and the
/// bins themselves. `answers` are (top probability, right or not).
pub fn calibration(answers: &[(f64, bool)], bins: usize) -> (f64, Vec<ReliabilityBin>) {
    let bins = bins.max(1);
    let mut sum_conf = vec![0.0; bins];
    let mut right = vec![0u64; bins];
    let mut count = vec![0u64; bins];
    for &(p, ok) in answers {
        let b = ((p.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        sum_conf[b] += p;
        count[b] += 1;
        right[b] += u64::from(ok);
    }
    let n = answers.len().max(1) as f64;
    let mut ece = 0.0;
    let out = (0..bins)
        .map(|b| {
            let c = count[b].max(1) as f64;
            let confidence = sum_conf[b] / c;
            let accuracy = right[b] as f64 / c;
            ece += (accuracy - confidence).abs() * count[b] as f64 / n;
            ReliabilityBin {
                lo: b as f64 / bins as f64,
                hi: (b + 1) as f64 / bins as f64,
                confidence,
                accuracy,
                count: count[b],
            }
        })
        .collect();
    (ece, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_of_a_small_known_matrix() {
        // sklearn on y_true=[0,0,0,1,1,2], y_pred=[0,0,1,1,2,2]:
        // precision [1, .5, .5], recall [2/3, .5, 1], accuracy 4/6.
        let mut m = ConfusionMatrix::new(&["AGN", "SN", "VS"]);
        for (t, p) in [(0, 0), (0, 0), (0, 1), (1, 1), (1, 2), (2, 2)] {
            m.add(t, p);
        }
        let r = m.metrics();
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
        let p: Vec<f64> = r.per_class.iter().map(|c| c.precision).collect();
        let rec: Vec<f64> = r.per_class.iter().map(|c| c.recall).collect();
        assert_eq!(p, vec![1.0, 0.5, 0.5]);
        assert!((rec[0] - 2.0 / 3.0).abs() < 1e-12 && rec[1] == 0.5 && rec[2] == 1.0);
        // f1 = [0.8, 0.5, 2/3]; macro = 0.6556
        assert!((r.macro_f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(m.row_normalised()[1], vec![0.0, 0.5, 0.5]);
    }

    #[test]
    fn calibration_of_known_answers() {
        // Two bins: 0.9 right, 0.9 wrong (conf 0.9, acc 0.5); 0.2 wrong (conf 0.2, acc 0).
        let (ece, bins) = calibration(&[(0.9, true), (0.9, false), (0.2, false)], 2);
        assert!((ece - (0.4 * 2.0 / 3.0 + 0.2 / 3.0)).abs() < 1e-12, "{ece}");
        assert_eq!(bins[1].count, 2);
        assert!((bins[1].accuracy - 0.5).abs() < 1e-12);
        let (perfect, _) = calibration(&[(1.0, true), (1.0, true)], 10);
        assert_eq!(perfect, 0.0);
    }
}
