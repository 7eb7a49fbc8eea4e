//! The benchmark's report and its Markdown: the grouped-by-source headline, the random
//! split's tables, the simulated-data ablation. Above the runs whose results it names.

use super::benchmark::*;
use super::grouped_render::render_grouped;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The simulated-data ablation: balanced accuracy on the real validation objects of trees
/// trained on the real training objects alone and with the simulated ones added.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SimulationAblation {
    pub simulated_objects: usize,
    pub validation_objects: usize,
    pub without_simulated: f64,
    pub with_simulated: f64,
    pub used_in_default: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchmarkReport {
    pub split: PathBuf,
    pub counts: BTreeMap<String, BTreeMap<String, usize>>,
    pub test_objects_without_alerts: Vec<String>,
    pub multi_detection_test_objects: usize,
    pub repeats: usize,
    pub models: Vec<ModelReport>,
    pub simulation_ablation: Option<SimulationAblation>,
    /// The headline: every source group held out in turn (see `experiments::grouped`).
    pub grouped: Option<super::grouped::GroupedReport>,
    /// Every model on a source outside the grouping (see `experiments::external`).
    pub external: Option<super::external::ExternalReport>,
    pub notes: Vec<String>,
}

fn pct(v: f64) -> String {
    format!("{:.1}", 100.0 * v)
}

/// The report as Markdown tables, for the README and the models' reports.
pub fn render_markdown(report: &BenchmarkReport) -> String {
    let mut s = String::new();
    if let Some(g) = &report.grouped {
        s.push_str(&render_grouped(g, &report.models));
        if let Some(e) = &report.external {
            s.push_str(&super::external::render_external(e));
        }
        s.push_str(
            "\n**Random object-level split** (the committed split: objects of one source on \
             both sides, so features that identify a source can stand in for the class; \
             kept for comparison, it overstates what holds on an unseen source):\n\n",
        );
    }
    s.push_str("Objects per class and part of the split:\n\n| part |");
    for c in REAL_CLASSES {
        s.push_str(&format!(" {c} |"));
    }
    s.push_str(" total |\n|---|");
    s.push_str(&"---|".repeat(REAL_CLASSES.len() + 1));
    s.push('\n');
    for part in ["train", "val", "test"] {
        let row = report.counts.get(part);
        let get = |c: &str| row.and_then(|r| r.get(c)).copied().unwrap_or(0);
        let total: usize = REAL_CLASSES.iter().map(|c| get(c)).sum();
        s.push_str(&format!("| {part} |"));
        for c in REAL_CLASSES {
            s.push_str(&format!(" {} |", get(c)));
        }
        s.push_str(&format!(" {total} |\n"));
    }
    for (title, pick, classes) in [
        (
            "Five classes (AGN, SN, VS, asteroid, bogus answers; test objects of the four real classes)",
            true,
            &FIVE_CLASSES[..4],
        ),
        (
            "AGN / SN / VS (test objects of those classes; every answer counts, an asteroid or bogus answer is wrong)",
            false,
            &THREE_CLASSES[..],
        ),
    ] {
        s.push_str(&format!(
            "\n**{title}**, at each object's last detection (up to {MAX_DETECTIONS}), in %, ± standard error:\n\n"
        ));
        s.push_str("| model | objects | balanced accuracy | accuracy | macro F1 | ECE |");
        for c in classes {
            s.push_str(&format!(" recall {c} |"));
        }
        s.push_str(&format!(
            " balanced accuracy over {} repeats (mean ± std) |\n|---|",
            report.repeats
        ));
        s.push_str(&"---|".repeat(5 + classes.len() + 1));
        s.push('\n');
        for m in &report.models {
            let (score, rep) = if pick {
                (&m.five_classes, &m.repeated_five)
            } else {
                (&m.three_classes, &m.repeated_three)
            };
            let Some(t) = score else { continue };
            s.push_str(&format!(
                "| {} | {} | **{} ± {}** | {} ± {} | {} | {:.3} |",
                m.model,
                t.objects,
                pct(t.metrics.balanced_accuracy),
                pct(t.balanced_accuracy_se),
                pct(t.metrics.accuracy),
                pct(t.accuracy_se),
                pct(t.metrics.macro_f1),
                t.ece
            ));
            for c in classes.iter() {
                let i = t.metrics.per_class.iter().position(|k| k.class == *c);
                match i {
                    Some(i) => s.push_str(&format!(
                        " {} ± {} |",
                        pct(t.metrics.per_class[i].recall),
                        pct(t.recall_se[i])
                    )),
                    None => s.push_str(" – |"),
                }
            }
            match rep {
                Some(r) => s.push_str(&format!(
                    " {} ± {} |\n",
                    pct(r.balanced_accuracy_mean),
                    pct(r.balanced_accuracy_std)
                )),
                None => s.push_str(" – |\n"),
            }
        }
    }
    s.push_str(&format!(
        "\n**After exactly N detections** (five classes; balanced accuracy %, objects in brackets; {} test objects have two or more detections):\n\n| model |",
        report.multi_detection_test_objects
    ));
    for n in 1..=MAX_DETECTIONS {
        s.push_str(&format!(" N={n} |"));
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(MAX_DETECTIONS));
    s.push('\n');
    for m in &report.models {
        s.push_str(&format!("| {} |", m.model));
        for n in 1..=MAX_DETECTIONS {
            match m.per_n_five.iter().find(|r| r.n == n) {
                Some(r) => s.push_str(&format!(" {} ({}) |", pct(r.balanced_accuracy), r.objects)),
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    if !report.notes.is_empty() {
        s.push('\n');
        for n in &report.notes {
            s.push_str(&format!("- {n}\n"));
        }
    }
    s
}

/// A file-name-safe form of a model's name.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect::<String>()
        .trim_matches('-')
        .to_string()
}

pub fn write_outputs(report: &BenchmarkReport, out: &Path) -> Result<(), BenchmarkError> {
    let err = |source: Box<dyn std::error::Error + Send + Sync>| BenchmarkError::File {
        path: out.into(),
        source,
    };
    std::fs::create_dir_all(out).map_err(|e| err(e.into()))?;
    let json = serde_json::to_vec_pretty(report).map_err(|e| err(e.into()))?;
    crate::atomic::write_atomic(&out.join("metrics.json"), &json).map_err(|e| err(e.into()))?;
    crate::atomic::write_atomic(&out.join("table.md"), render_markdown(report).as_bytes())
        .map_err(|e| err(e.into()))?;
    let mut curves = Vec::new();
    for m in &report.models {
        let Some(t) = &m.five_classes else { continue };
        let name = slug(&m.model);
        crate::eval::plots::confusion_matrix(
            &t.metrics.confusion,
            &format!("{} — real test objects", m.model),
            &out.join(format!("confusion-{name}.png")),
            &out.join(format!("confusion-{name}.svg")),
        )
        .map_err(|e| err(e.into()))?;
        if !m.model.starts_with("majority") {
            curves.push((
                m.model.clone(),
                t.reliability
                    .iter()
                    .map(|b| (b.confidence, b.accuracy, b.count))
                    .collect(),
            ));
        }
    }
    crate::eval::plots::reliability_diagram(
        "Reliability on real test objects (five classes)",
        &curves,
        &out.join("reliability.png"),
        &out.join("reliability.svg"),
    )
    .map_err(|e| err(e.into()))?;
    Ok(())
}
