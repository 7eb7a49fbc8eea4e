//! The grouped-by-source validation as Markdown (see [`super::grouped`]): the groups, each
//! model's scores with its random-split figure beside, per group, AGN kinds, the fusion
//! weights, the shortcut audit and the notes.

use super::benchmark::*;
use super::grouped::GroupedReport;
use std::collections::BTreeSet;

fn pct(v: f64) -> String {
    format!("{:.1}", 100.0 * v)
}

fn random_split_ba(random: &[ModelReport], name: &str, five: bool) -> Option<f64> {
    let m = random.iter().find(|m| {
        m.model == name || (name.starts_with("majority") && m.model.starts_with("majority"))
    })?;
    let t = if five {
        m.five_classes.as_ref()
    } else {
        m.three_classes.as_ref()
    }?;
    Some(t.metrics.balanced_accuracy)
}

/// AGN recall by the kind the labels name, per model: answered AGN / scored, with the
/// binomial standard error.
fn render_agn_kinds(g: &GroupedReport) -> String {
    let kinds: BTreeSet<&str> = g
        .models
        .iter()
        .flat_map(|m| m.agn_by_subtype.iter().map(|(k, _, _)| k.as_str()))
        .collect();
    if kinds.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\n**AGN recall by kind** (the kind the labelling catalogue names: blazar = BL Lac, \
         blazar, 4LAC/3HSP; quasar; Seyfert = Seyfert 1/2, LINER; unnamed), grouped by \
         source, % ± standard error (answered AGN / scored):\n\n| model |",
    );
    for k in &kinds {
        s.push_str(&format!(" {k} |"));
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(kinds.len()));
    s.push('\n');
    for m in &g.models {
        s.push_str(&format!("| {} |", m.model));
        for k in &kinds {
            match m.agn_by_subtype.iter().find(|(kind, _, _)| kind == k) {
                Some((_, n, r)) if *n > 0 => {
                    let p = *r as f64 / *n as f64;
                    let se = (p * (1.0 - p) / *n as f64).sqrt();
                    s.push_str(&format!(" {} ± {} ({r}/{n}) |", pct(p), pct(se)));
                }
                _ => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s
}

/// The grouped validation as Markdown, each model's random-split figure beside.
pub fn render_grouped(g: &GroupedReport, random: &[ModelReport]) -> String {
    let mut s = String::from(
        "**Grouped by source** (the headline: each source group held out in turn, never \
         trained on; weak labels):\n\n| source group | AGN | SN | VS | asteroid | total |\n|---|---|---|---|---|---|\n",
    );
    for c in &g.groups {
        s.push_str(&format!("| {} |", c.group));
        for k in REAL_CLASSES {
            s.push_str(&format!(" {} |", c.counts.get(k).copied().unwrap_or(0)));
        }
        s.push_str(&format!(" {} |\n", c.total));
    }
    for (title, five, classes) in [
        ("Five classes", true, &FIVE_CLASSES[..4]),
        ("AGN / SN / VS", false, &THREE_CLASSES[..]),
    ] {
        s.push_str(&format!(
            "\n**{title}, grouped by source**, at each object's last detection (up to {MAX_DETECTIONS}), in %, ± standard error; the random split's figure beside:\n\n| model | cross-source | objects | balanced accuracy | random split | accuracy | ECE |"
        ));
        for c in classes.iter() {
            s.push_str(&format!(" recall {c} |"));
        }
        s.push_str("\n|---|---|---|---|---|---|---|");
        s.push_str(&"---|".repeat(classes.len()));
        s.push('\n');
        for m in &g.models {
            let Some(t) = (if five {
                &m.five_classes
            } else {
                &m.three_classes
            }) else {
                continue;
            };
            s.push_str(&format!(
                "| {} | {} | {} | **{} ± {}** | {} | {} ± {} | {:.3} |",
                m.model,
                if m.retrained { "yes" } else { "no" },
                t.objects,
                pct(t.metrics.balanced_accuracy),
                pct(t.balanced_accuracy_se),
                random_split_ba(random, &m.model, five).map_or("–".into(), pct),
                pct(t.metrics.accuracy),
                pct(t.accuracy_se),
                t.ece
            ));
            for c in classes.iter() {
                match t.metrics.per_class.iter().position(|k| k.class == *c) {
                    Some(i) if t.metrics.per_class[i].support > 0 => s.push_str(&format!(
                        " {} ± {} ({}) |",
                        pct(t.metrics.per_class[i].recall),
                        pct(t.recall_se[i]),
                        t.metrics.per_class[i].support
                    )),
                    _ => s.push_str(" – |"),
                }
            }
            s.push('\n');
        }
    }
    s.push_str("\n**Accuracy on each held-out source group** (five classes, %, objects in brackets):\n\n| model |");
    for c in &g.groups {
        s.push_str(&format!(" {} |", c.group));
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(g.groups.len()));
    s.push('\n');
    for m in &g.models {
        s.push_str(&format!("| {} |", m.model));
        for c in &g.groups {
            match m.per_group.iter().find(|p| p.group == c.group) {
                Some(p) => s.push_str(&format!(" {} ({}) |", pct(p.accuracy), p.objects)),
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s.push_str(&render_agn_by_group(g));
    s.push_str(&render_agn_kinds(g));
    s.push_str(&crate::experiments::fusion_weight::render(
        &g.fusion_weights,
        &g.fusion_weights_elsewhere,
    ));
    if let Some(a) = &g.audit {
        s.push_str(&crate::experiments::shortcut::render_audit(a));
    }
    s.push('\n');
    for n in &g.notes {
        s.push_str(&format!("- {n}\n"));
    }
    s
}

/// AGN found on each held-out group that has any, with how many AGN the fold's models
/// trained on: the grouped AGN figure is a few such experiments, each its own regime.
fn render_agn_by_group(g: &GroupedReport) -> String {
    let agn_of =
        |c: &crate::experiments::grouped::GroupCounts| c.counts.get("AGN").copied().unwrap_or(0);
    let total: usize = g.groups.iter().map(agn_of).sum();
    let with_agn: Vec<_> = g.groups.iter().filter(|c| agn_of(c) > 0).collect();
    if with_agn.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "\n**AGN found on each held-out source group** (answered AGN / AGN of the group \
         scored; the retrained models of that fold learnt AGN from the other groups' AGN \
         alone):\n\n| model |",
    );
    for c in &with_agn {
        s.push_str(&format!(
            " {} (trained on {} AGN) |",
            c.group,
            total - agn_of(c)
        ));
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(with_agn.len()));
    s.push('\n');
    for m in &g.models {
        s.push_str(&format!("| {} |", m.model));
        for c in &with_agn {
            match m.per_group.iter().find(|p| p.group == c.group) {
                Some(p) if p.agn_scored > 0 => {
                    s.push_str(&format!(" {}/{} |", p.agn_found, p.agn_scored))
                }
                _ => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    s
}
