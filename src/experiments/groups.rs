//! Source groups: where each labelled object's alerts came from, so that a validation can
//! hold out whole origins and predict how a model does on alerts from a source it never saw.
//!
//! Classes and origins are confounded in the shared data (supernovae almost only from
//! Fink's filter and science test files, asteroids from the alert simulator and the broker's
//! history...), and the same alerts recur in several repositories (fink-client and
//! skyportal hold alerts of one Fink test file; fink-broker's `datasim` night is in the
//! main manifest and again in its git history). A random object-level split puts alerts of
//! one file on both sides; features that identify the file then stand in for the class.
//!
//! Every manifest row (one alert of one file) is a node of a union-find with its objectId,
//! its candid, its file and the programme (repository) that selected it: rows sharing any
//! of these end in one component, and the component is the source group. The programme is
//! the repository's name with its folder (`git history`, `datasim`) dropped, because one
//! repository's test alerts were chosen by one team for one purpose.

use super::benchmark::{BenchmarkError, SplitRow};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One alert of a manifest: which object, which alert, which file, who selected it.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestRow {
    pub object_id: String,
    pub candid: String,
    pub file: String,
    pub source: String,
}

fn err(
    path: &Path,
    problem: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> BenchmarkError {
    BenchmarkError::File {
        path: PathBuf::from(path),
        source: problem.into(),
    }
}

/// Every row of `ztf/manifest.csv` and `ztf/extra/manifest.csv`, labelled or not and
/// whatever their licence: an unlabelled alert can still join two labelled files.
pub fn manifest_rows(data: &Path) -> Result<Vec<ManifestRow>, BenchmarkError> {
    let mut rows = Vec::new();
    for (name, source_col) in [
        ("ztf/manifest.csv", "source"),
        ("ztf/extra/manifest.csv", "source_repo"),
    ] {
        let columns = ["objectId", "candid", "file", source_col];
        for [id, candid, file, source] in manifest_columns(&data.join(name), columns)? {
            rows.push(ManifestRow {
                object_id: id,
                candid,
                // Files are named relative to their own manifest's folder.
                file: format!("{name}:{file}"),
                source,
            });
        }
    }
    Ok(rows)
}

/// The `columns` of every row of a manifest, trimmed; a missing column or a broken row is an
/// error naming the file.
fn manifest_columns<const N: usize>(
    path: &Path,
    columns: [&str; N],
) -> Result<Vec<[String; N]>, BenchmarkError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| err(path, e))?;
    let headers = reader.headers().map_err(|e| err(path, e))?.clone();
    let mut at = [0; N];
    for (slot, c) in at.iter_mut().zip(columns) {
        *slot = headers
            .iter()
            .position(|h| h == c)
            .ok_or_else(|| err(path, format!("no {c} column")))?;
    }
    let mut rows = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| err(path, format!("row {}: {e}", line + 2)))?;
        rows.push(at.map(|i| record.get(i).unwrap_or("").trim().to_string()));
    }
    Ok(rows)
}

/// The programme that selected a source's alerts: the repository's name, without its
/// owner, a `(git history)` note or a `-history` / `-datasim` folder suffix, so that one
/// repository's current files and its history are one programme.
pub fn programme_of(source: &str) -> String {
    let s = source.trim().to_ascii_lowercase();
    let s = s.split(" (").next().unwrap_or(&s).to_string();
    let s = s.rsplit('/').next().unwrap_or(&s).to_string();
    let mut s = s.as_str();
    for suffix in ["-history", "-datasim"] {
        s = s.strip_suffix(suffix).unwrap_or(s);
    }
    s.to_string()
}

struct UnionFind {
    parent: Vec<usize>,
    index: HashMap<String, usize>,
}

impl UnionFind {
    fn new() -> Self {
        Self {
            parent: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn node(&mut self, key: String) -> usize {
        let next = self.parent.len();
        let i = *self.index.entry(key).or_insert(next);
        if i == next {
            self.parent.push(next);
        }
        i
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller index wins, so that the result does not depend on hashing.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

/// The source group of every object of `rows`: objects joined through a shared candid,
/// file or programme, named by the programmes they hold (sorted, joined by `+`).
pub fn source_groups(rows: &[ManifestRow]) -> BTreeMap<String, String> {
    let mut uf = UnionFind::new();
    for r in rows {
        if r.object_id.is_empty() {
            continue;
        }
        let o = uf.node(format!("o:{}", r.object_id));
        let p = uf.node(format!("p:{}", programme_of(&r.source)));
        uf.union(o, p);
        // A missing candid or file joins nothing.
        if !r.candid.is_empty() {
            let c = uf.node(format!("c:{}", r.candid));
            uf.union(o, c);
        }
        if !r.file.ends_with(':') {
            let f = uf.node(format!("f:{}", r.file));
            uf.union(o, f);
        }
    }
    let mut programmes: HashMap<usize, BTreeSet<String>> = HashMap::new();
    for r in rows.iter().filter(|r| !r.object_id.is_empty()) {
        let o = uf.node(format!("o:{}", r.object_id));
        let root = uf.find(o);
        programmes
            .entry(root)
            .or_default()
            .insert(programme_of(&r.source));
    }
    let mut out = BTreeMap::new();
    for r in rows.iter().filter(|r| !r.object_id.is_empty()) {
        let o = uf.node(format!("o:{}", r.object_id));
        let root = uf.find(o);
        let name = programmes[&root]
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("+");
        out.insert(r.object_id.clone(), name);
    }
    out
}

/// An object of the grouped validation.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedObject {
    pub object_id: String,
    pub label: String,
    pub group: String,
}

/// One fold: the objects scored and the objects trained on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fold {
    /// The group held out, or `GROUP (within, k/K)` for the within-group folds.
    pub name: String,
    pub test: Vec<String>,
    pub train: Vec<String>,
    /// True when no object of the test objects' group is among the training ones.
    pub cross_source: bool,
}

/// Folds over `objects`: each group held out in turn (leave-one-group-out) for the classes
/// that live in two or more groups; a class found in one group only cannot be judged on
/// an unseen source, so its objects are scored by `within` object-level folds inside that
/// group (marked, not cross-source). Training always excludes the scored objects.
pub fn grouped_folds(objects: &[GroupedObject], within: usize, seed: u64) -> Vec<Fold> {
    let mut groups_of_class: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for o in objects {
        groups_of_class
            .entry(o.label.as_str())
            .or_default()
            .insert(o.group.as_str());
    }
    let spans = |label: &str| groups_of_class.get(label).is_some_and(|g| g.len() > 1);
    let groups: BTreeSet<&str> = objects.iter().map(|o| o.group.as_str()).collect();
    let mut folds = Vec::new();
    for g in &groups {
        let test: Vec<String> = objects
            .iter()
            .filter(|o| o.group == *g && spans(&o.label))
            .map(|o| o.object_id.clone())
            .collect();
        if test.is_empty() {
            continue;
        }
        let train = objects
            .iter()
            .filter(|o| o.group != *g)
            .map(|o| o.object_id.clone())
            .collect();
        folds.push(Fold {
            name: g.to_string(),
            test,
            train,
            cross_source: true,
        });
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let k = within.max(2);
    for g in &groups {
        let mut alone: Vec<&GroupedObject> = objects
            .iter()
            .filter(|o| o.group == *g && !spans(&o.label))
            .collect();
        if alone.is_empty() {
            continue;
        }
        alone.shuffle(&mut rng);
        for f in 0..k.min(alone.len()) {
            let test: BTreeSet<&str> = alone
                .iter()
                .enumerate()
                .filter(|(i, _)| i % k == f)
                .map(|(_, o)| o.object_id.as_str())
                .collect();
            folds.push(Fold {
                name: format!("{g} (within, {}/{k})", f + 1),
                test: test.iter().map(|s| s.to_string()).collect(),
                train: objects
                    .iter()
                    .filter(|o| !test.contains(o.object_id.as_str()))
                    .map(|o| o.object_id.clone())
                    .collect(),
                cross_source: false,
            });
        }
    }
    folds
}

/// What kind of AGN the catalogue that labelled an object says it is, from the manifests'
/// cross-match columns (`cdsxmatch` of `ztf/manifest.csv`, `label_source` of
/// `ztf/extra/manifest.csv`): `blazar` (BL Lac, blazar, 4LAC/3HSP), `quasar`, `Seyfert`
/// (Seyfert 1 and 2, LINER, AGN), `unnamed` where the label names no kind. Weak, as the
/// labels are.
pub fn agn_subtypes(data: &Path) -> Result<HashMap<String, String>, BenchmarkError> {
    let mut out = HashMap::new();
    for (name, col_name) in [
        ("ztf/manifest.csv", "cdsxmatch"),
        ("ztf/extra/manifest.csv", "label_source"),
    ] {
        for [id, label, kind] in
            manifest_columns(&data.join(name), ["objectId", "label", col_name])?
        {
            if label != "AGN" {
                continue;
            }
            let text = kind.to_ascii_lowercase();
            let subtype = if text.contains("bllac") || text.contains("blazar") {
                "blazar"
            } else if text.contains("qso") || text.contains("quasar") {
                "quasar"
            } else if text.contains("seyfert") || text.contains("liner") || text.contains("agn") {
                "Seyfert"
            } else {
                "unnamed"
            };
            // The first named kind wins over an unnamed one of another row.
            let slot = out.entry(id).or_insert_with(|| subtype.to_string());
            if slot == "unnamed" {
                *slot = subtype.to_string();
            }
        }
    }
    Ok(out)
}

/// The split's objects that have alerts here (`loaded`), each with its source group from the
/// shared data's manifests (an object the manifests lack keeps its split row's programme).
pub fn grouped_objects(
    data: &Path,
    rows: &[SplitRow],
    loaded: &HashSet<&str>,
) -> Result<Vec<GroupedObject>, BenchmarkError> {
    let groups = source_groups(&manifest_rows(data)?);
    Ok(rows
        .iter()
        .filter(|r| loaded.contains(r.object_id.as_str()))
        .map(|r| GroupedObject {
            object_id: r.object_id.clone(),
            label: r.label.clone(),
            group: groups
                .get(&r.object_id)
                .cloned()
                .unwrap_or_else(|| programme_of(&r.source)),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifests_name_the_kind_of_most_agn() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        let kinds = agn_subtypes(&data).expect("manifests");
        let count = |k: &str| kinds.values().filter(|v| *v == k).count();
        // ztf/extra's 26 AGN are 4LAC/3HSP blazars; ztf/manifest.csv names quasars,
        // Seyferts, LINERs and BL Lacs in its cdsxmatch column.
        assert!(count("blazar") >= 26, "{kinds:?}");
        assert!(count("quasar") >= 5, "{kinds:?}");
        assert!(count("Seyfert") >= 8, "{kinds:?}");
        assert!(count("unnamed") >= 1, "{kinds:?}");
        assert_eq!(kinds.len(), 68, "every AGN of the two manifests");
    }

    fn row(id: &str, candid: &str, file: &str, source: &str) -> ManifestRow {
        ManifestRow {
            object_id: id.into(),
            candid: candid.into(),
            file: format!("m:{file}"),
            source: source.into(),
        }
    }

    #[test]
    fn programmes_drop_owners_and_history_folders() {
        assert_eq!(
            programme_of("astrolabsoftware/fink-broker (git history)"),
            "fink-broker"
        );
        assert_eq!(programme_of("fink-broker-datasim"), "fink-broker");
        assert_eq!(programme_of("fink-broker-history"), "fink-broker");
        assert_eq!(
            programme_of("skyportal/skyportal (git history)"),
            "skyportal"
        );
        assert_eq!(programme_of("fink-filters"), "fink-filters");
    }

    #[test]
    fn rows_sharing_a_candid_or_object_join_their_programmes() {
        let rows = vec![
            row("A", "1", "a.avro", "alpha"),
            row("B", "2", "b.avro", "beta"),
            // The same alert (candid 2) found again in gamma's files: beta and gamma join.
            row("C", "2", "c.avro", "gamma"),
            // The same object in delta: alpha and delta join.
            row("A", "9", "d.avro", "delta"),
            row("E", "5", "e.avro", "epsilon"),
            // Two objects of one file: zeta and eta join.
            row("F", "6", "f.avro", "zeta"),
            row("G", "7", "f.avro", "eta"),
        ];
        let g = source_groups(&rows);
        assert_eq!(g["A"], "alpha+delta");
        assert_eq!(g["B"], "beta+gamma");
        assert_eq!(g["C"], "beta+gamma");
        assert_eq!(g["E"], "epsilon");
        assert_eq!(g["F"], "eta+zeta");
        assert_eq!(g["G"], g["F"]);
    }

    fn obj(id: &str, label: &str, group: &str) -> GroupedObject {
        GroupedObject {
            object_id: id.into(),
            label: label.into(),
            group: group.into(),
        }
    }

    #[test]
    fn folds_hold_out_whole_groups_and_fall_back_within_a_lone_group() {
        let mut objects = Vec::new();
        for i in 0..6 {
            objects.push(obj(&format!("v{i}"), "VS", ["g1", "g2", "g3"][i % 3]));
        }
        // SN only in g1: cannot be judged on an unseen source.
        for i in 0..4 {
            objects.push(obj(&format!("s{i}"), "SN", "g1"));
        }
        let folds = grouped_folds(&objects, 2, 1);
        let group: HashMap<&str, &str> = objects
            .iter()
            .map(|o| (o.object_id.as_str(), o.group.as_str()))
            .collect();
        let cross: Vec<&Fold> = folds.iter().filter(|f| f.cross_source).collect();
        assert_eq!(cross.len(), 3);
        for f in &cross {
            let test_groups: BTreeSet<&str> = f.test.iter().map(|t| group[t.as_str()]).collect();
            assert_eq!(test_groups.len(), 1);
            assert!(f
                .train
                .iter()
                .all(|t| !test_groups.contains(group[t.as_str()])));
            assert!(f.test.iter().all(|t| t.starts_with('v')));
        }
        let within: Vec<&Fold> = folds.iter().filter(|f| !f.cross_source).collect();
        assert_eq!(within.len(), 2);
        let scored: BTreeSet<&String> = within.iter().flat_map(|f| f.test.iter()).collect();
        assert_eq!(scored.len(), 4);
        for f in within {
            assert!(f.test.iter().all(|t| !f.train.contains(t)));
        }
        // Every object is scored exactly once.
        let all: Vec<&String> = folds.iter().flat_map(|f| f.test.iter()).collect();
        assert_eq!(all.len(), objects.len());
    }
}
