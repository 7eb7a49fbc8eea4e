//! A fused model's answers (see [`crate::model::fused`]): every member answers at equal
//! priors without the rules, the probabilities are averaged class by class (weighted where
//! the file records weights), then the priors and the physics rules are applied once, as
//! for any other model.

use super::after::{at_priors, priors_for};
use super::{
    item_rules, step_number, ClassRow, ClassifyOptions, ClassifyOutput, LoadedModel, ObjectAlerts,
    SkippedAlert,
};
use crate::model::file::{ModelFileError, ModelHeader};
use burn::tensor::Device;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// The members of a fused model file, each loaded as from its own file (named
/// `FILE#member`).
pub(super) fn load_members(
    bytes: &[u8],
    header: &ModelHeader,
    path: &Path,
    device: &Device,
) -> Result<Vec<LoadedModel>, ModelFileError> {
    let members = crate::model::fused::read_fused_members(bytes, header, path)?;
    // A weight list that does not fit the members is refused when the file is loaded.
    crate::model::fused::member_weights(header, path)?;
    let names = crate::model::fused::member_names(header);
    members
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let name = match names.get(i).filter(|n| !n.is_empty()) {
                Some(n) => n.clone(),
                None => crate::model::file::header_from_bytes(&b, path)?.name,
            };
            let member_path = std::path::PathBuf::from(format!("{}#{name}", path.display()));
            let mut m = LoadedModel::from_bytes(b, &member_path, device)?;
            m.display_name = name;
            Ok(m)
        })
        .collect()
}

impl LoadedModel {
    /// Models loaded in this process fused into one (the benchmark's, per fold), as if read
    /// from `path`; with `weights` (one per member) their weighted mean, else the plain one.
    pub fn fuse(
        members: Vec<LoadedModel>,
        name: &str,
        weights: Option<&[f32]>,
        path: &Path,
    ) -> Result<Self, ModelFileError> {
        let headers: Vec<ModelHeader> = members.iter().map(|m| m.header.clone()).collect();
        let names: Vec<String> = members.iter().map(|m| m.name().to_string()).collect();
        let mut header = crate::model::fused::fused_header(name, &headers, &names, path)?;
        if let Some(w) = weights {
            crate::model::fused::set_weights(&mut header, w, path)?;
        }
        let device = members[0].device.clone();
        Ok(Self {
            header,
            path: path.into(),
            display_name: name.into(),
            net: super::Net::Fused(members),
            cpu: None,
            device,
        })
    }
}

/// One member's answer to one alert, over the fused model's classes.
struct MemberAnswer {
    probabilities: Vec<f32>,
    std: Vec<f32>,
    /// The member's place among the fused model's members.
    member: usize,
    /// The member's weight in the mean.
    weight: f32,
    /// Whether the member gave a spread (a tree ensemble does, a network does not).
    has_spread: bool,
}

/// The members' raw answers to every alert (keyed by object and step), and why a member
/// gave none where it did not.
struct MemberAnswers<'a> {
    answers: HashMap<(&'a str, usize), Vec<MemberAnswer>>,
    reasons: HashMap<(&'a str, usize), Vec<String>>,
    members: usize,
}

impl LoadedModel {
    pub(super) fn classify_fused(
        &self,
        members: &[LoadedModel],
        objects: &[ObjectAlerts],
        options: &ClassifyOptions,
        cancel: &AtomicBool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<ClassifyOutput, crate::model::ModelError> {
        // Checked when the file was loaded or the fusion made: an empty list (equal shares)
        // cannot happen here.
        let weights =
            crate::model::fused::member_weights(&self.header, &self.path).unwrap_or_default();
        let given = self.member_answers(members, objects, options, cancel, progress)?;
        self.combine(objects, options, &given, &weights)
    }

    /// [`Self::classify_fused`] at each of `weight_sets` (one weight per member), the
    /// members run once: what a fine-tune needs to judge several weights.
    pub(super) fn classify_fused_at(
        &self,
        members: &[LoadedModel],
        objects: &[ObjectAlerts],
        options: &ClassifyOptions,
        weight_sets: &[Vec<f32>],
        cancel: &AtomicBool,
    ) -> Result<Vec<ClassifyOutput>, crate::model::ModelError> {
        let given = self.member_answers(members, objects, options, cancel, &|_, _| {})?;
        weight_sets
            .iter()
            .map(|w| self.combine(objects, options, &given, w))
            .collect()
    }

    /// Every member's answer at equal priors, without the rules.
    fn member_answers<'a>(
        &self,
        members: &[LoadedModel],
        objects: &[ObjectAlerts<'a>],
        options: &ClassifyOptions,
        cancel: &AtomicBool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<MemberAnswers<'a>, crate::model::ModelError> {
        let raw = ClassifyOptions {
            rules: false,
            priors: None,
            production_rules: false,
            allwise: None,
            ..options.clone()
        };
        let classes = &self.header.classes;
        let mut answers: HashMap<(&str, usize), Vec<MemberAnswer>> = HashMap::new();
        let mut reasons: HashMap<(&str, usize), Vec<String>> = HashMap::new();
        let n = members.len();
        // The objects' names as the answer path holds them, to key the members' rows.
        let names: HashMap<&str, &str> = objects.iter().map(|o| (o.name, o.name)).collect();
        for (m_index, member) in members.iter().enumerate() {
            let member_progress =
                |done: usize, total: usize| progress(m_index * total + done, n * total);
            let out = match &member.net {
                super::Net::Trees(trees) => {
                    member.classify_tabular(trees, objects, &raw, cancel, &member_progress)?
                }
                _ => member.classify_network(
                    objects,
                    &raw,
                    member.device(),
                    cancel,
                    &member_progress,
                )?,
            };
            for row in out.rows {
                let Some(&name) = names.get(row.object_id.as_str()) else {
                    continue;
                };
                let mut probabilities = vec![0f32; classes.len()];
                let mut std = vec![0f32; classes.len()];
                for (j, c) in member.classes().iter().enumerate() {
                    if let Some(slot) = classes.iter().position(|k| k == c) {
                        probabilities[slot] = row.probabilities[j];
                        std[slot] = row.std.get(j).copied().unwrap_or(0.0);
                    }
                }
                answers
                    .entry((name, row.k))
                    .or_default()
                    .push(MemberAnswer {
                        probabilities,
                        std,
                        member: m_index,
                        weight: 0.0,
                        has_spread: !row.std.is_empty(),
                    });
            }
            for s in out.skipped {
                if let Some(&name) = names.get(s.object_id.as_str()) {
                    reasons.entry((name, s.k)).or_default().push(format!(
                        "{}: {}",
                        member.name(),
                        s.reason
                    ));
                }
            }
        }
        Ok(MemberAnswers {
            answers,
            reasons,
            members: n,
        })
    }

    /// The members' answers combined at `weights` (one per member), then the priors and
    /// the rules once.
    fn combine(
        &self,
        objects: &[ObjectAlerts],
        options: &ClassifyOptions,
        given: &MemberAnswers,
        weights: &[f32],
    ) -> Result<ClassifyOutput, crate::model::ModelError> {
        let classes = &self.header.classes;
        let n = given.members;
        let priors = priors_for(classes, options)?;
        let mut out = ClassifyOutput::default();
        for o in objects {
            for i in 0..o.answered {
                let alert = o.alerts[i];
                let k = step_number(alert, i);
                let Some(answered) = given.answers.get(&(o.name, k)) else {
                    if let Some(r) = given.reasons.get(&(o.name, k)) {
                        out.skipped.push(SkippedAlert {
                            object_id: o.name.to_string(),
                            k,
                            source: alert.source(),
                            reason: r.join("; "),
                        });
                    }
                    continue;
                };
                let weighted: Vec<MemberAnswer> = answered
                    .iter()
                    .map(|a| MemberAnswer {
                        weight: weights.get(a.member).copied().unwrap_or(0.0),
                        probabilities: a.probabilities.clone(),
                        std: a.std.clone(),
                        ..*a
                    })
                    .collect();
                let (mut probs, mut std) = mean_answer(&weighted, classes.len());
                // Members without a spread of their own (networks) give one together, two or
                // more of them: how far apart their answers are, times their share of the
                // weight, added to the others' (a tree ensemble's carried through the mean).
                // One network alone gives none, and zeros would read as certainty.
                let networks: Vec<&MemberAnswer> = weighted
                    .iter()
                    .filter(|a| !a.has_spread && a.weight > 0.0)
                    .collect();
                if networks.len() >= MEMBERS_FOR_A_SPREAD {
                    let total: f32 = weighted.iter().map(|a| a.weight).sum();
                    let share = networks.iter().map(|a| a.weight).sum::<f32>() / total;
                    let between = between_members(&networks, classes.len());
                    for (s, b) in std.iter_mut().zip(between) {
                        *s = (s.powi(2) + (share * b).powi(2)).sqrt();
                    }
                }
                let spread_known = has_spread(
                    weighted
                        .iter()
                        .filter(|a| a.weight > 0.0)
                        .map(|a| a.has_spread),
                );
                let top = crate::model::probs::argmax(&probs);
                let differing = weighted
                    .iter()
                    .filter(|a| crate::model::probs::argmax(&a.probabilities) != top)
                    .count();
                if let Some(w) = &priors {
                    at_priors(&mut probs, Some(&mut std), w);
                }
                let mut rule = if options.rules {
                    item_rules(o, i, classes, &mut probs, Some(&mut std), options)
                } else {
                    None
                };
                if answered.len() < n {
                    let note = format!(
                        "answered by {} of the {n} members ({})",
                        answered.len(),
                        given
                            .reasons
                            .get(&(o.name, k))
                            .map(|r| r.join("; "))
                            .unwrap_or_default()
                    );
                    rule = super::join_notes(rule, Some(note));
                }
                let std = spread_known.then_some(std);
                let mut row: ClassRow = self.row(o.name, k, alert, probs, std, rule);
                row.disagreement = Some(differing as f32 / answered.len() as f32);
                out.rows.push(row);
            }
        }
        Ok(out)
    }
}

/// How many weighted members without a spread of their own (networks) give one together.
const MEMBERS_FOR_A_SPREAD: usize = 2;

/// Whether a fused answer carries a spread, from whether each weighted member has one of
/// its own: one that does, or two or more that do not (their disagreement).
pub(super) fn has_spread(weighted_members_spread: impl Iterator<Item = bool>) -> bool {
    let (mut own, mut without) = (false, 0);
    for spread in weighted_members_spread {
        own |= spread;
        without += usize::from(!spread);
    }
    own || without >= MEMBERS_FOR_A_SPREAD
}

/// The members' weighted mean probability of each class (the weights of the members that
/// answered, renormalised), and its spread: the members' own spreads (a tree ensemble's)
/// carried through the mean, sd = sqrt(sum (w_m sd_m)^2); a member without one adds none.
fn mean_answer(given: &[MemberAnswer], classes: usize) -> (Vec<f32>, Vec<f32>) {
    let total: f32 = given.iter().map(|a| a.weight).sum();
    let share = |a: &MemberAnswer| {
        if total > 0.0 {
            a.weight / total
        } else {
            1.0 / given.len() as f32
        }
    };
    let mut probs = vec![0f32; classes];
    let mut var = vec![0f32; classes];
    for a in given {
        let w = share(a);
        for c in 0..classes {
            probs[c] += w * a.probabilities[c];
            var[c] += (w * a.std[c]).powi(2);
        }
    }
    let std = var.into_iter().map(f32::sqrt).collect();
    (probs, std)
}

/// The weighted standard deviation of `given` members' probabilities around their own
/// weighted mean, class by class: how far a network ensemble's members disagree.
fn between_members(given: &[&MemberAnswer], classes: usize) -> Vec<f32> {
    let total: f32 = given.iter().map(|a| a.weight).sum();
    if total <= 0.0 {
        return vec![0.0; classes];
    }
    (0..classes)
        .map(|c| {
            let mean: f32 = given
                .iter()
                .map(|a| a.weight / total * a.probabilities[c])
                .sum();
            given
                .iter()
                .map(|a| a.weight / total * (a.probabilities[c] - mean).powi(2))
                .sum::<f32>()
                .sqrt()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fusion_has_a_spread_from_one_member_with_its_own_or_two_without() {
        assert!(has_spread([true].into_iter()));
        assert!(has_spread([false, false].into_iter()));
        assert!(has_spread([true, false].into_iter()));
        assert!(!has_spread([false].into_iter()));
        assert!(!has_spread(std::iter::empty()));
    }

    #[test]
    fn an_ensemble_without_spreads_of_its_own_has_the_spread_of_its_members() {
        let answer = |p: f32, weight: f32| MemberAnswer {
            probabilities: vec![p, 1.0 - p],
            std: vec![0.0, 0.0],
            weight,
            member: 0,
            has_spread: false,
        };
        let given = [answer(0.9, 0.5), answer(0.5, 0.5)];
        let (p, _) = mean_answer(&given, 2);
        assert!((p[0] - 0.7).abs() < 1e-6, "{p:?}");
        let s = between_members(&[&given[0], &given[1]], 2);
        assert!(
            (s[0] - 0.2).abs() < 1e-6 && (s[1] - 0.2).abs() < 1e-6,
            "{s:?}"
        );
    }

    #[test]
    fn the_mean_carries_the_members_spread() {
        let given = [
            MemberAnswer {
                probabilities: vec![0.8, 0.2],
                std: vec![0.1, 0.1],
                weight: 0.5,
                member: 0,
                has_spread: true,
            },
            MemberAnswer {
                probabilities: vec![0.2, 0.8],
                std: vec![0.0, 0.0],
                weight: 0.5,
                member: 0,
                has_spread: true,
            },
        ];
        let (p, s) = mean_answer(&given, 2);
        assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6);
        assert!((s[0] - 0.05).abs() < 1e-6);
    }

    #[test]
    fn a_weighted_mean_leans_to_the_heavier_member_and_renormalises_over_those_present() {
        let answer = |p: f32, sd: f32, weight: f32| MemberAnswer {
            probabilities: vec![p, 1.0 - p],
            std: vec![sd, sd],
            weight,
            member: 0,
            has_spread: true,
        };
        let (p, s) = mean_answer(&[answer(0.8, 0.1, 0.2), answer(0.2, 0.0, 0.8)], 2);
        assert!((p[0] - 0.32).abs() < 1e-6, "{p:?}");
        assert!((s[0] - 0.02).abs() < 1e-6, "{s:?}");
        // One member of three missing: the two present share its weight pro rata.
        let (p, _) = mean_answer(&[answer(1.0, 0.0, 0.1), answer(0.0, 0.0, 0.3)], 2);
        assert!((p[0] - 0.25).abs() < 1e-6, "{p:?}");
    }
}
