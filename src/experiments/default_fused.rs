//! The fused default answer as the benchmark makes it: the trees it trains fused with a
//! bundled network (`--fuse-with`) at the trees' weight the grouped validation chose for
//! that network, scored as a model file and saved with `--save-fused`.

use super::benchmark::BenchmarkError;
use crate::assets::DEFAULT_TREES_NAME;
use crate::model::trees::tree_model_header;
use std::path::{Path, PathBuf};

/// The trees' weight in the fused default: the one the grouped validation chose for the
/// `fuse_with` network (retrained per fold under the same name), else the plain mean.
pub fn fused_trees_weight(
    fuse_with: Option<&Path>,
    weights: &[crate::experiments::fusion_weight::FusionWeightScore],
) -> f32 {
    fuse_with
        .and_then(|p| p.file_stem())
        .and_then(|stem| {
            crate::experiments::fusion_weight::chosen_trees_weight(weights, &stem.to_string_lossy())
        })
        .unwrap_or(0.5)
}

/// The trees trained here fused with `--fuse-with` at `trees_weight` (written into
/// `scratch`), to be scored as a model file.
pub fn fused_model_file(
    fuse_with: Option<&Path>,
    trees: &crate::model::trees::TreeEnsemble,
    scratch: &Path,
    trees_weight: f32,
) -> Result<Option<PathBuf>, BenchmarkError> {
    let Some(net) = fuse_with else {
        return Ok(None);
    };
    let trees_path = scratch.join(format!("{DEFAULT_TREES_NAME}.stampseq"));
    Ok(Some(fuse_trees_with(
        scratch,
        trees,
        &trees_path,
        net,
        trees_weight,
    )?))
}

/// The trees trained here (written to `trees_path`) fused with the network `net` into
/// `DIR/default-fused.stampseq`, to be scored as a model file.
fn fuse_trees_with(
    dir: &Path,
    trees: &crate::model::trees::TreeEnsemble,
    trees_path: &Path,
    net: &Path,
    trees_weight: f32,
) -> Result<PathBuf, BenchmarkError> {
    std::fs::create_dir_all(dir).map_err(|e| BenchmarkError::File {
        path: dir.into(),
        source: Box::new(e),
    })?;
    let header = tree_model_header(trees, DEFAULT_TREES_NAME);
    crate::model::trees::write_tree_model(trees, &header, trees_path)?;
    let fused = dir.join(format!("{}.stampseq", crate::assets::DEFAULT_MODEL_NAME));
    fuse_files_with_split(trees_path, net, &fused, trees_weight)?;
    Ok(fused)
}

/// `trees` and `net` fused into `out`, with the network's split beside it: the trees train
/// on the split's training and validation objects, the network on its training objects and
/// was selected on its validation ones, so the fused model has seen what the network has.
/// The trees weigh `trees_weight` in the mean, the network the rest.
pub fn fuse_files_with_split(
    trees: &Path,
    net: &Path,
    out: &Path,
    trees_weight: f32,
) -> Result<(), BenchmarkError> {
    let weights = crate::experiments::fusion_weight::member_weights(trees_weight);
    crate::model::fused::fuse_files(
        &[trees.to_path_buf(), net.to_path_buf()],
        crate::assets::DEFAULT_MODEL_NAME,
        weights.as_ref().map(|w| &w[..]),
        out,
    )?;
    let (from, to) = (
        net.with_extension("split.json"),
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
/// with the network into `out` at `trees_weight`; then `scratch` is removed, since the
/// models kept are where `--save-model` and `--save-fused` say.
pub fn save_and_clean(
    out: Option<&Path>,
    net: Option<&Path>,
    saved_trees: Option<&Path>,
    scratch: &Path,
    trees_weight: f32,
    say: &dyn Fn(&str),
) -> Result<(), BenchmarkError> {
    if let (Some(out), Some(net)) = (out, net) {
        let trees_path = match saved_trees {
            Some(p) => p.to_path_buf(),
            None => scratch.join(format!("{DEFAULT_TREES_NAME}.stampseq")),
        };
        fuse_files_with_split(&trees_path, net, out, trees_weight)?;
        say(&format!("wrote {}", out.display()));
    }
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}
