//! The fused default answer as the benchmark makes it: the trees it trains fused with the
//! bundled network or networks (`--fuse-with`, repeated for an ensemble) at the trees'
//! weight the grouped validation chose for them, scored as a model file and saved with
//! `--save-fused`.

use super::benchmark::BenchmarkError;
use crate::assets::DEFAULT_TREES_NAME;
use crate::model::trees::tree_model_header;
use std::path::{Path, PathBuf};

/// The name the grouped validation gives `nets` together: one network's file stem, or the
/// stems of an ensemble joined by " + ".
pub fn networks_name(nets: &[PathBuf]) -> String {
    nets.iter()
        .map(|p| {
            p.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The names of `nets` when they are an ensemble (two or more), each its file stem.
pub fn ensemble_names(nets: &[PathBuf]) -> Option<Vec<String>> {
    (nets.len() >= 2).then(|| {
        nets.iter()
            .map(|p| networks_name(std::slice::from_ref(p)))
            .collect()
    })
}

/// The trees' weight in the fused default: the one the grouped validation chose for
/// `nets` (retrained per fold under the same name); without one (no `--retrain-grouped`),
/// the bundled default's own where `nets` are its networks, so that the row scores the
/// default as it ships; else the plain mean.
pub fn fused_trees_weight(
    nets: &[PathBuf],
    weights: &[crate::experiments::fusion_weight::FusionWeightScore],
) -> f32 {
    if nets.is_empty() {
        return 0.5;
    }
    crate::experiments::fusion_weight::chosen_trees_weight(weights, &networks_name(nets))
        .or_else(|| {
            let bundled = crate::assets::default_model()?;
            bundled_trees_weight(&bundled, nets)
        })
        .unwrap_or(0.5)
}

/// The trees' weight in the fused model file `bundled` when its other members are `nets`
/// (by name, in any order); None otherwise or where the file does not read.
pub fn bundled_trees_weight(bundled: &Path, nets: &[PathBuf]) -> Option<f32> {
    let header = crate::model::file::read_header(bundled).ok()?;
    let names = crate::model::fused::member_names(&header);
    let weights = crate::model::fused::member_weights(&header, bundled).ok()?;
    let trees_at = names.iter().position(|n| n == DEFAULT_TREES_NAME)?;
    let mut theirs: Vec<&str> = names
        .iter()
        .filter(|n| *n != DEFAULT_TREES_NAME)
        .map(String::as_str)
        .collect();
    let mut ours: Vec<String> = nets
        .iter()
        .map(|p| networks_name(std::slice::from_ref(p)))
        .collect();
    theirs.sort_unstable();
    ours.sort_unstable();
    (theirs == ours).then(|| weights.get(trees_at).copied())?
}

/// The trees trained here fused with `nets` at `trees_weight` (written into `scratch`), to
/// be scored as a model file.
pub fn fused_model_file(
    nets: &[PathBuf],
    trees: &crate::model::trees::TreeEnsemble,
    scratch: &Path,
    trees_weight: f32,
) -> Result<Option<PathBuf>, BenchmarkError> {
    if nets.is_empty() {
        return Ok(None);
    }
    std::fs::create_dir_all(scratch).map_err(|e| BenchmarkError::File {
        path: scratch.into(),
        source: Box::new(e),
    })?;
    let trees_path = scratch.join(format!("{DEFAULT_TREES_NAME}.stampseq"));
    let header = tree_model_header(trees, DEFAULT_TREES_NAME);
    crate::model::trees::write_tree_model(trees, &header, &trees_path)?;
    let fused = scratch.join(format!("{}.stampseq", crate::assets::DEFAULT_MODEL_NAME));
    fuse_files_with_split(&trees_path, nets, &fused, trees_weight)?;
    Ok(Some(fused))
}

/// The members' weights of trees + `networks` networks with the trees at `trees_weight`
/// and the networks sharing the rest equally; None for the plain mean of one network and
/// the trees, written as an unweighted fusion.
pub fn ensemble_weights(trees_weight: f32, networks: usize) -> Option<Vec<f32>> {
    if networks == 1 {
        return crate::experiments::fusion_weight::member_weights(trees_weight).map(|w| w.to_vec());
    }
    let share = (1.0 - trees_weight) / networks.max(1) as f32;
    Some(
        std::iter::once(trees_weight)
            .chain(std::iter::repeat_n(share, networks))
            .collect(),
    )
}

/// `trees` and `nets` fused into `out`, with the first network's split beside it: the trees
/// train on the split's training and validation objects, the networks on its training
/// objects and were selected on its validation ones (an ensemble's networks share one
/// split), so the fused model has seen what the networks have. The trees weigh
/// `trees_weight` in the mean, the networks the rest, equally.
pub fn fuse_files_with_split(
    trees: &Path,
    nets: &[PathBuf],
    out: &Path,
    trees_weight: f32,
) -> Result<(), BenchmarkError> {
    let Some(first) = nets.first() else {
        return Err(BenchmarkError::Invalid(
            "a fused default needs a network to fuse with".into(),
        ));
    };
    // The parts, not the seed each run drew with (a split from a labels file is the same
    // whatever the seed).
    let splits: Vec<Option<[Vec<String>; 3]>> = nets
        .iter()
        .map(|n| {
            crate::train::Split::load(&n.with_extension("split.json"))
                .ok()
                .map(|s| {
                    [s.train, s.val, s.test].map(|mut v| {
                        v.sort();
                        v
                    })
                })
        })
        .collect();
    if splits.iter().any(|s| s != &splits[0]) {
        return Err(BenchmarkError::Invalid(format!(
            "the networks fused with the trees ({}) did not train on one split: their \
             split.json files differ",
            networks_name(nets)
        )));
    }
    let weights = ensemble_weights(trees_weight, nets.len());
    let members: Vec<PathBuf> = std::iter::once(trees.to_path_buf())
        .chain(nets.iter().cloned())
        .collect();
    crate::model::fused::fuse_files(
        &members,
        crate::assets::DEFAULT_MODEL_NAME,
        weights.as_deref(),
        out,
    )?;
    let (from, to) = (
        first.with_extension("split.json"),
        out.with_extension("split.json"),
    );
    if from.is_file() {
        std::fs::copy(&from, &to).map_err(|e| BenchmarkError::File {
            path: to.clone(),
            source: Box::new(e),
        })?;
    }
    Ok(())
}

/// `--save-fused`: the saved trees (`--save-model`, else those scored from `scratch`) fused
/// with the networks into `out` at `trees_weight`; then `scratch` is removed, since the
/// models kept are where `--save-model` and `--save-fused` say.
pub fn save_and_clean(
    out: Option<&Path>,
    nets: &[PathBuf],
    saved_trees: Option<&Path>,
    scratch: &Path,
    trees_weight: f32,
    say: &dyn Fn(&str),
) -> Result<(), BenchmarkError> {
    if let (Some(out), false) = (out, nets.is_empty()) {
        let trees_path = match saved_trees {
            Some(p) => p.to_path_buf(),
            None => scratch.join(format!("{DEFAULT_TREES_NAME}.stampseq")),
        };
        fuse_files_with_split(&trees_path, nets, out, trees_weight)?;
        say(&format!("wrote {}", out.display()));
    }
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ensemble_shares_what_the_trees_leave_equally() {
        assert_eq!(ensemble_weights(0.5, 1), None);
        assert_eq!(ensemble_weights(0.25, 1), Some(vec![0.25, 0.75]));
        assert_eq!(
            ensemble_weights(0.25, 3),
            Some(vec![0.25, 0.25, 0.25, 0.25])
        );
        assert_eq!(ensemble_weights(0.0, 2), Some(vec![0.0, 0.5, 0.5]));
        let nets = [
            PathBuf::from("m/a.stampseq"),
            PathBuf::from("m/a-s13.stampseq"),
        ];
        assert_eq!(networks_name(&nets), "a + a-s13");
        assert_eq!(networks_name(&nets[..1]), "a");
    }

    /// Without a weight chosen on the grouped validation, the default's networks are fused
    /// at the bundled default's trees weight (0), not the plain mean; other networks are.
    #[test]
    fn without_a_chosen_weight_the_default_is_scored_as_it_ships() {
        let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models");
        let nets: Vec<PathBuf> = crate::assets::DEFAULT_FUSED_NETWORKS
            .iter()
            .rev()
            .map(|n| models.join(format!("{n}.stampseq")))
            .collect();
        let bundled = models.join("default-fused.stampseq");
        assert_eq!(bundled_trees_weight(&bundled, &nets), Some(0.0));
        assert_eq!(bundled_trees_weight(&bundled, &nets[1..]), None);
        assert_eq!(fused_trees_weight(&nets, &[]), 0.0);
        assert_eq!(fused_trees_weight(&nets[1..], &[]), 0.5);
    }
}
