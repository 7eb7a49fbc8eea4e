//! The train / validation / test split: stratified by object, drawn once from the seed and
//! saved in the run folder so that a resumed run, and any later evaluation, use the same one.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use super::TrainError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub seed: u64,
    pub train: Vec<String>,
    pub val: Vec<String>,
    pub test: Vec<String>,
    /// How the draw departed from the plain rule (a class drawn outside the holdout set).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Split {
    /// `objects` are (objectId, class index). Each class gives `val` then `test` objects; a
    /// class too small to leave at least one training object is an error, since a model
    /// that never saw a class cannot be judged on it.
    pub fn draw(
        objects: &[(String, usize)],
        classes: &[String],
        val: usize,
        test: usize,
        seed: u64,
    ) -> Result<Self, TrainError> {
        Self::draw_from(objects, classes, val, test, seed, None)
    }

    /// As [`Split::draw`], with validation and test objects taken from `holdout` only (e.g. the
    /// real alerts among real and simulated ones), except for a class with fewer than
    /// `val + test` holdout objects, which is drawn from all its objects and noted.
    pub fn draw_from(
        objects: &[(String, usize)],
        classes: &[String],
        val: usize,
        test: usize,
        seed: u64,
        holdout: Option<&std::collections::HashSet<String>>,
    ) -> Result<Self, TrainError> {
        let mut by_class: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for (id, c) in objects {
            by_class.entry(*c).or_default().push(id);
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let mut split = Split {
            seed,
            train: Vec::new(),
            val: Vec::new(),
            test: Vec::new(),
            notes: Vec::new(),
        };
        for (c, name) in classes.iter().enumerate() {
            let mut ids = by_class.remove(&c).unwrap_or_default();
            if ids.len() <= val + test {
                return Err(TrainError::Data(format!(
                    "class {name} has {} objects: not enough for {val} validation + {test} test + training",
                    ids.len()
                )));
            }
            ids.sort_unstable();
            ids.shuffle(&mut rng);
            if let Some(holdout) = holdout {
                // Holdout objects first, so that validation and test come from them.
                let held = ids.iter().filter(|id| holdout.contains(**id)).count();
                if held >= val + test {
                    ids.sort_by_key(|id| !holdout.contains(*id));
                } else {
                    split.notes.push(format!(
                        "class {name}: {held} holdout objects, fewer than {val} validation + {test} test; drawn from all {} objects",
                        ids.len()
                    ));
                }
            }
            split.val.extend(ids[..val].iter().map(|s| s.to_string()));
            split
                .test
                .extend(ids[val..val + test].iter().map(|s| s.to_string()));
            split
                .train
                .extend(ids[val + test..].iter().map(|s| s.to_string()));
        }
        Ok(split)
    }

    /// The split a CSV fixes (a header with `objectId` and `part` columns, parts `train`,
    /// `val` and `test`: the benchmark's `assets/benchmark/split.csv`), so that networks are
    /// judged on the very test objects the trees and ALeRCE are. Objects of `objects` that
    /// the CSV does not list (simulated ones, say) train; listed objects absent from the data
    /// are left out. The seed still varies the initialisation and the batches.
    pub fn from_parts_csv(
        path: &Path,
        objects: &[(String, usize)],
        seed: u64,
    ) -> Result<Self, TrainError> {
        let bad = |reason: String| TrainError::Data(format!("split {}: {reason}", path.display()));
        let csv_err = |source| TrainError::SplitCsv {
            path: path.into(),
            source,
        };
        let mut reader = csv::Reader::from_path(path).map_err(csv_err)?;
        let headers = reader.headers().map_err(csv_err)?.clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
                .ok_or_else(|| bad(format!("no {name} column")))
        };
        let (id_col, part_col) = (column("objectId")?, column("part")?);
        let mut parts: std::collections::HashMap<String, String> = Default::default();
        for (i, row) in reader.records().enumerate() {
            let row = row.map_err(|source| TrainError::SplitRow {
                path: path.into(),
                row: i + 2,
                source,
            })?;
            let (Some(id), Some(part)) = (row.get(id_col), row.get(part_col)) else {
                return Err(bad(format!("row {}: missing objectId or part", i + 2)));
            };
            if !matches!(part, "train" | "val" | "test") {
                return Err(bad(format!(
                    "row {}: part {part:?} is not train, val or test",
                    i + 2
                )));
            }
            parts.insert(id.to_string(), part.to_string());
        }
        let mut split = Split {
            seed,
            train: Vec::new(),
            val: Vec::new(),
            test: Vec::new(),
            notes: vec![format!("parts fixed by {}", path.display())],
        };
        let mut sorted: Vec<&str> = objects.iter().map(|(id, _)| id.as_str()).collect();
        sorted.sort_unstable();
        for id in sorted {
            match parts.get(id).map(String::as_str) {
                Some("val") => split.val.push(id.to_string()),
                Some("test") => split.test.push(id.to_string()),
                _ => split.train.push(id.to_string()),
            }
        }
        Ok(split)
    }

    /// The split a training configuration asks for: the parts its `split` CSV fixes, else
    /// drawn from its seed (validation and test from `holdout_labels` when given).
    pub fn for_config(
        config: &super::TrainConfig,
        objects: &[(String, usize)],
    ) -> Result<Self, TrainError> {
        if let Some(fixed) = &config.split {
            return Self::from_parts_csv(fixed, objects, config.seed);
        }
        let holdout = match &config.holdout_labels {
            Some(path) => Some(
                super::dataset::read_labels(path)?
                    .into_keys()
                    .collect::<std::collections::HashSet<String>>(),
            ),
            None => None,
        };
        Self::draw_from(
            objects,
            &config.classes,
            config.val_per_class,
            config.test_per_class,
            config.seed,
            holdout.as_ref(),
        )
    }

    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.into(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| TrainError::Json {
            path: path.into(),
            source,
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let json = serde_json::to_string_pretty(self).map_err(|source| TrainError::Json {
            path: path.into(),
            source,
        })?;
        crate::atomic::write_atomic(path, json.as_bytes()).map_err(|source| TrainError::Io {
            path: path.into(),
            source,
        })
    }
}
