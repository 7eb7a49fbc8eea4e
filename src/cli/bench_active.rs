//! `stampseq bench active`'s cross-source curve (see
//! [`crate::experiments::active_cross`]): written beside today's curve in the same folder.

use crate::experiments::active::ActiveConfig;
use crate::experiments::active_cross::{
    render_cross_source, replay_cross_source, CrossSourceConfig, CrossSourceInput,
};
use crate::experiments::benchmark::SplitRow;
use crate::sequence::neutral::AlertObject;
use anyhow::Context;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The cross-source curve's options of `stampseq bench active`.
#[derive(Debug, clap::Args)]
pub struct CrossSourceArgs {
    /// Skip the cross-source curve (the loop replayed on each source group held out of
    /// training, scored on that group's objects not yet vetted).
    #[arg(long)]
    pub no_cross_source: bool,
    /// Only the cross-source curve.
    #[arg(long, conflicts_with = "no_cross_source")]
    pub cross_source_only: bool,
    /// Labels of the held-out source added per step of the cross-source curve.
    #[arg(long, default_value_t = 20)]
    pub cross_step: usize,
    /// Labels of the held-out source at which the cross-source curve stops.
    #[arg(long, default_value_t = 120)]
    pub cross_budget: usize,
}

/// Replays the vetting loop on each source group held out of training and writes
/// `cross-source.md`, `cross-source.json` and `cross-source-curves.{png,svg}` to `out`, with
/// today's curve's seeds, trees and random share. Returns the Markdown.
pub fn cross_source<O: AlertObject>(
    args: &CrossSourceArgs,
    active: &ActiveConfig,
    (data, out): (&Path, &Path),
    objects: &[&O],
    rows: &[SplitRow],
    labels: &HashMap<String, String>,
) -> anyhow::Result<String> {
    let loaded: HashSet<&str> = objects.iter().map(|o| o.name()).collect();
    let group_of: HashMap<String, String> =
        crate::experiments::groups::grouped_objects(data, rows, &loaded)
            .context("the source groups of the shared data's manifests")?
            .into_iter()
            .map(|o| (o.object_id, o.group))
            .collect();
    let config = CrossSourceConfig {
        step: args.cross_step.max(1),
        budget: args.cross_budget,
        seeds: active.seeds,
        random_share: active.random_share,
        trees: active.trees.clone(),
        ..Default::default()
    };
    let input = CrossSourceInput {
        objects,
        labels,
        group_of: &group_of,
        set: crate::features::sets::FeatureSet::ZtfCandidate,
    };
    let backend = crate::backend::BackendChoice::Cpu.resolve();
    let replays = replay_cross_source(&input, &config, &backend, &|l| eprintln!("{l}"))?;
    anyhow::ensure!(
        !replays.is_empty(),
        "no source group holds {} labelled objects of two classes or more",
        config.min_objects
    );
    let table = render_cross_source(&replays, &config);
    crate::atomic::write_atomic(&out.join("cross-source.md"), table.as_bytes())?;
    crate::atomic::write_atomic(
        &out.join("cross-source.json"),
        &serde_json::to_vec_pretty(&replays)?,
    )?;
    let curves: Vec<_> = replays.iter().flat_map(|r| r.curves()).collect();
    crate::eval::plots::learning_curves(
        "The vetting loop on a source the model never saw: labels of that source against its other objects",
        &curves,
        &out.join("cross-source-curves.png"),
        &out.join("cross-source-curves.svg"),
    )?;
    Ok(table)
}
