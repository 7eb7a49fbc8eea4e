//! The catalogue of loaded objects, the browser's filter and sort, and the selection, as
//! the app's state holds them. Plain data, so it is tested without a window.

use crate::alert::neutral::Survey;
use crate::alert::AnyAlert;
use crate::sequence::neutral::{
    count_nights_mjd, group_objects, NeutralLightCurve, ObjectKey, ObjectSequence,
};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Adds `new` objects (sorted by key, as [`group_objects`] gives them) to `objects` (sorted
/// by key): one already there absorbs the new one's alerts, the others are merged in at
/// their place. Costs the new objects plus one pass of moves when any is new; returns the
/// keys of the new ones.
fn merge_objects(objects: &mut Vec<ObjectSequence>, new: Vec<ObjectSequence>) -> Vec<ObjectKey> {
    let mut fresh = Vec::new();
    for object in new {
        match objects.binary_search_by(|o| o.key.cmp(&object.key)) {
            Ok(i) => objects[i].absorb(object),
            Err(_) => fresh.push(object),
        }
    }
    let added = fresh.iter().map(|o| o.key.clone()).collect();
    if fresh.is_empty() {
        return added;
    }
    let old = std::mem::take(objects);
    objects.reserve(old.len() + fresh.len());
    let mut old = old.into_iter().peekable();
    let mut fresh = fresh.into_iter().peekable();
    loop {
        let take_old = match (old.peek(), fresh.peek()) {
            (Some(a), Some(b)) => a.key < b.key,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_old { old.next() } else { fresh.next() };
        objects.extend(next);
    }
    added
}

/// The rows of `objects` (in catalogue order) given the rows they had before (`old`, in
/// the same order, a subsequence: objects are never removed): an old row is kept unless
/// its object is in `touched`; a new or touched object's row is made by `row`.
fn refreshed_rows(
    old: Vec<ObjectRow>,
    objects: &[ObjectSequence],
    touched: &HashSet<String>,
    row: impl Fn(&ObjectSequence) -> ObjectRow,
) -> Vec<ObjectRow> {
    let mut old = old.into_iter().peekable();
    objects
        .iter()
        .map(|o| match old.next_if(|r| r.is(&o.key)) {
            Some(r) if !touched.contains(&r.object_id) => r,
            _ => row(o),
        })
        .collect()
}

/// One line of the object browser.
#[derive(Debug, Clone)]
pub struct ObjectRow {
    /// The object's key as the browser shows it ([`browser_key`]): ZTF `objectId`; LSST
    /// `diaObjectId`, or `SSO <ssObjectId>` for a solar-system object.
    pub object_id: String,
    pub survey: Survey,
    /// An LSST solar-system object (alerts with `ssObjectId` and no diaObject).
    pub solar_system: bool,
    pub detections: usize,
    pub nights: usize,
    /// Julian dates; for LSST `midpointMjdTai` + 2400000.5, TAI (37 s from UTC: nothing for
    /// a date in a list).
    pub first_jd: f64,
    pub last_jd: f64,
    /// When an alert of the object last arrived (a load, a stream batch): larger is newer.
    pub arrival: u64,
}

impl ObjectRow {
    /// The row of an object: its alerts' own detections, not the history they carry.
    fn of(o: &ObjectSequence) -> Self {
        let jds = || o.alerts.iter().map(|a| a.as_ref().jd());
        Self {
            object_id: browser_key(&o.key),
            survey: o.key.survey,
            solar_system: o.key.solar_system,
            detections: o.alerts.len(),
            nights: count_nights_mjd(o.key.survey, o.alerts.iter().map(|a| a.as_ref().mjd())),
            first_jd: jds().fold(f64::NAN, f64::min),
            last_jd: jds().fold(f64::NAN, f64::max),
            arrival: 0,
        }
    }

    /// Whether this is the row of the object `key`, without making its browser key.
    fn is(&self, key: &ObjectKey) -> bool {
        self.survey == key.survey
            && self.solar_system == key.solar_system
            && survey_id(&self.object_id) == key.id
    }
}

/// What the browser puts before a solar-system object's ssObjectId.
const SOLAR_SYSTEM_PREFIX: &str = "SSO ";

/// The browser's key of an object, which is also its display name and the name its labels
/// and answers are filed under: solar-system objects apart, as their ids are numbered
/// apart from diaObjectIds. The one place an object's name is made.
pub fn browser_key(key: &ObjectKey) -> String {
    if key.solar_system {
        format!("{SOLAR_SYSTEM_PREFIX}{}", key.id)
    } else {
        key.id.clone()
    }
}

/// The id behind a browser key, as the alerts (and the trainer's labels) name the object.
pub fn survey_id(browser_key: &str) -> &str {
    browser_key
        .strip_prefix(SOLAR_SYSTEM_PREFIX)
        .unwrap_or(browser_key)
}

/// Every loaded object, of either survey, in [`ObjectKey`] order: by survey (ZTF first),
/// then by id, which is the browser's order for ties. A row index is an index into both
/// `objects` and `rows`. Views read the rows, the survey, the light curve and the alert
/// times of a row here, whatever the survey; what differs by survey (the details, the
/// stamps) they ask of the row's alerts ([`Catalog::object`]). The objects are shared
/// (not copied) with the jobs.
#[derive(Debug, Default)]
pub struct Catalog {
    pub objects: Arc<Vec<ObjectSequence>>,
    pub rows: Vec<ObjectRow>,
    pub alerts: usize,
    /// LSST alerts naming no object (ids of 0, as synthetic samples have): not listed.
    pub unassociated: usize,
    /// Counts the changes, so that what is derived from the rows knows when to redo it.
    pub revision: u64,
    /// Browser key -> object key, for [`Catalog::index_of`].
    keys: HashMap<String, ObjectKey>,
    /// Browser key -> the arrival count of its newest alert (see [`ObjectRow::arrival`]).
    arrivals: HashMap<String, u64>,
    arrived: u64,
}

impl Catalog {
    /// Adds alerts (a new file, a drop, a stream batch): objects seen before gain the new
    /// detections, repeated alerts are dropped. Returns how many of the new alerts name no
    /// object.
    pub fn add_alerts(&mut self, alerts: Vec<AnyAlert>) -> usize {
        // Counted per alert, in the order given, so that within one stream batch the last
        // alert read is the newest.
        let mut touched = HashSet::new();
        for a in &alerts {
            if let Some(key) = ObjectKey::of(a) {
                self.arrived += 1;
                let key = browser_key(&key);
                self.arrivals.insert(key.clone(), self.arrived);
                touched.insert(key);
            }
        }
        let (grouped, none) = group_objects(alerts);
        let unassociated = none.len();
        self.unassociated += unassociated;
        // Only the objects the new alerts name are regrouped: a stream batch costs its own
        // size, not the catalogue's (a copy only while a job still reads the old list).
        if !grouped.is_empty() {
            let added = merge_objects(Arc::make_mut(&mut self.objects), grouped);
            self.keys
                .extend(added.into_iter().map(|k| (browser_key(&k), k)));
        }
        // The rows of objects no new alert names are kept as they were: a row costs a
        // pass over the object's alerts, and a catalogue holds many more than a batch names.
        let arrivals = &self.arrivals;
        self.rows = refreshed_rows(
            std::mem::take(&mut self.rows),
            &self.objects,
            &touched,
            |o| {
                let mut r = ObjectRow::of(o);
                r.arrival = arrivals.get(&r.object_id).copied().unwrap_or(0);
                r
            },
        );
        self.alerts = self.objects.iter().map(|o| o.alerts.len()).sum();
        self.revision += 1;
        unassociated
    }

    /// The row of a browser key.
    pub fn index_of(&self, object_id: &str) -> Option<usize> {
        let key = self.keys.get(object_id)?;
        self.objects.binary_search_by(|o| o.key.cmp(key)).ok()
    }

    /// The object of a row.
    pub fn object(&self, row: usize) -> Option<&ObjectSequence> {
        self.objects.get(row)
    }

    /// The `detection`-th alert of a row's object.
    pub fn alert(&self, row: usize, detection: usize) -> Option<&AnyAlert> {
        self.object(row)?.alerts.get(detection)
    }

    /// The survey of a row's object.
    pub fn survey(&self, row: usize) -> Option<Survey> {
        self.rows.get(row).map(|r| r.survey)
    }

    /// A row's light curve in survey-neutral units (MJD, nJy, AB magnitude), either survey.
    pub fn light_curve(&self, row: usize) -> Option<&NeutralLightCurve> {
        self.object(row).map(|o| &o.light_curve)
    }

    /// The time (MJD) of a row's `detection`-th alert.
    pub fn alert_mjd(&self, row: usize, detection: usize) -> Option<f64> {
        self.alert(row, detection).map(|a| a.as_ref().mjd())
    }

    /// Alerts (detections with stamps) of a row's object.
    pub fn detections(&self, row: usize) -> usize {
        self.rows.get(row).map_or(0, |r| r.detections)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SortColumn {
    ObjectId,
    Detections,
    Nights,
    FirstSeen,
    LastSeen,
    Label,
    /// Top-class probability of the first model.
    Probability,
    /// The first model's uncertainty on its top class (ensemble spread).
    Uncertainty,
    /// The first model's probability of `BrowserFilter::sort_class` at the last detection.
    ClassProbability,
    /// When an alert of the object last arrived; descending is newest first.
    Arrival,
    /// Most informative to vet (see `Predictions::informativeness`), with one object in ten
    /// placed at random so that what vetting buys is not judged on hard cases alone.
    Informative,
}

/// The browser's filter, sort and search.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct BrowserFilter {
    pub search: String,
    pub min_detections: usize,
    pub only_unvetted: bool,
    /// Show only objects whose top class (first model) is this.
    pub class: Option<String>,
    pub min_probability: f32,
    /// Show only objects whose first model's answer is uncertain or unusual (weak top
    /// class, members disagreeing, or a wide spread): the objects worth a vetter's eye.
    pub only_uncertain: bool,
    /// The class whose probability `SortColumn::ClassProbability` orders by.
    pub sort_class: String,
    pub sort: SortColumn,
    pub descending: bool,
}

impl Default for BrowserFilter {
    fn default() -> Self {
        Self {
            search: String::new(),
            min_detections: 1,
            only_unvetted: false,
            class: None,
            min_probability: 0.0,
            only_uncertain: false,
            sort_class: "SN".into(),
            sort: SortColumn::ObjectId,
            descending: false,
        }
    }
}

/// What the browser needs to know about an object beyond its row.
pub trait RowFacts {
    fn label(&self, object_id: &str) -> Option<&str>;
    /// Top class and its probability from the first loaded model, at the last detection.
    fn top_class(&self, object_id: &str) -> Option<(&str, f32)>;
    /// The first model's uncertainty on its top class and whether the answer is uncertain
    /// or unusual; None without an answer.
    fn uncertainty(&self, _object_id: &str) -> Option<(f32, bool)> {
        None
    }
    /// See `Predictions::informativeness`; None without an answer.
    fn informativeness(&self, _object_id: &str) -> Option<f32> {
        None
    }
    /// The first model's probability of `class` after the last detection.
    fn class_probability(&self, _object_id: &str, _class: &str) -> Option<f32> {
        None
    }
}

/// A stable pseudo-random number in [0, 1) per object (FNV-1a of its id): the random share
/// of the informative order, the same at every frame.
pub fn object_hash01(object_id: &str) -> f32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in object_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h >> 40) as f32 / (1u64 << 24) as f32
}

impl BrowserFilter {
    /// Indices into `catalog.rows` that pass the filter, in display order.
    pub fn visible_rows(&self, catalog: &Catalog, facts: &dyn RowFacts) -> Vec<usize> {
        let search = self.search.trim().as_bytes();
        let mut rows: Vec<usize> = catalog
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                // No lowercase copy of each id: this runs on every row at each keystroke.
                if !search.is_empty()
                    && !r
                        .object_id
                        .as_bytes()
                        .windows(search.len())
                        .any(|w| w.eq_ignore_ascii_case(search))
                {
                    return false;
                }
                if r.detections < self.min_detections {
                    return false;
                }
                if self.only_unvetted && facts.label(&r.object_id).is_some() {
                    return false;
                }
                if self.only_uncertain && !facts.uncertainty(&r.object_id).is_some_and(|(_, u)| u) {
                    return false;
                }
                if let Some(class) = &self.class {
                    match facts.top_class(&r.object_id) {
                        Some((c, p)) if c == class && p >= self.min_probability => {}
                        _ => return false,
                    }
                } else if self.min_probability > 0.0
                    && facts
                        .top_class(&r.object_id)
                        .is_none_or(|(_, p)| p < self.min_probability)
                {
                    return false;
                }
                true
            })
            .map(|(i, _)| i)
            .collect();
        // Rows are in object-id order already; the other keys are looked up once per row,
        // not once per comparison (a label or a model's answer is a map lookup).
        let ids = |i: usize| catalog.rows[i].object_id.as_str();
        match self.sort {
            SortColumn::ObjectId => {}
            SortColumn::Detections => {
                sort_by_key(&mut rows, |i| catalog.rows[i].detections, Ord::cmp)
            }
            SortColumn::Nights => sort_by_key(&mut rows, |i| catalog.rows[i].nights, Ord::cmp),
            SortColumn::FirstSeen => {
                sort_by_key(&mut rows, |i| catalog.rows[i].first_jd, f64::total_cmp)
            }
            SortColumn::LastSeen => {
                sort_by_key(&mut rows, |i| catalog.rows[i].last_jd, f64::total_cmp)
            }
            SortColumn::Arrival => sort_by_key(&mut rows, |i| catalog.rows[i].arrival, Ord::cmp),
            SortColumn::Label => sort_by_key(&mut rows, |i| facts.label(ids(i)), Ord::cmp),
            SortColumn::Probability => sort_by_key(
                &mut rows,
                |i| facts.top_class(ids(i)).map_or(-1.0, |(_, p)| p),
                f32::total_cmp,
            ),
            SortColumn::ClassProbability => sort_by_key(
                &mut rows,
                |i| {
                    facts
                        .class_probability(ids(i), &self.sort_class)
                        .unwrap_or(-1.0)
                },
                f32::total_cmp,
            ),
            SortColumn::Informative => sort_by_key(
                &mut rows,
                |i| {
                    let id = ids(i);
                    let r = object_hash01(id);
                    // One in ten: a random rank among the informative scores (0..2).
                    if r < 0.1 {
                        20.0 * r
                    } else {
                        facts.informativeness(id).unwrap_or(-1.0)
                    }
                },
                f32::total_cmp,
            ),
            SortColumn::Uncertainty => sort_by_key(
                &mut rows,
                |i| {
                    facts
                        .uncertainty(ids(i))
                        .map_or(-1.0, |(u, _)| if u.is_nan() { -1.0 } else { u })
                },
                f32::total_cmp,
            ),
        }
        if self.descending {
            rows.reverse();
        }
        rows
    }
}

/// What the browser's rows were computed from. The rows are recomputed only when this
/// changes: filtering and sorting 100,000 objects every frame would cost the whole frame.
#[derive(Debug, Clone, PartialEq)]
pub struct RowsKey {
    pub filter: BrowserFilter,
    pub catalog: u64,
    pub labels: u64,
    pub predictions: u64,
}

/// Sorts row indices by a key computed once per row, ties in index (object-id) order.
fn sort_by_key<K>(
    rows: &mut Vec<usize>,
    key: impl Fn(usize) -> K,
    cmp: impl Fn(&K, &K) -> Ordering,
) {
    let mut keyed: Vec<(K, usize)> = rows.iter().map(|&i| (key(i), i)).collect();
    keyed.sort_unstable_by(|a, b| cmp(&a.0, &b.0).then(a.1.cmp(&b.1)));
    *rows = keyed.into_iter().map(|(_, i)| i).collect();
}

/// The object and detection in view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selection {
    /// Index into `Catalog::rows` (see [`Catalog::object`]).
    pub object: Option<usize>,
    /// Index of the detection within the object.
    pub detection: usize,
}

impl Selection {
    /// Moves to the neighbouring visible object (`step` = +1 / -1), keeping within the list.
    pub fn step_object(&mut self, visible: &[usize], step: isize) {
        if visible.is_empty() {
            self.object = None;
            return;
        }
        let pos = self
            .object
            .and_then(|o| visible.iter().position(|&v| v == o));
        let next = match pos {
            None => 0,
            Some(p) => (p as isize + step).clamp(0, visible.len() as isize - 1) as usize,
        };
        if self.object != Some(visible[next]) {
            self.object = Some(visible[next]);
            self.detection = 0;
        }
    }

    pub fn step_detection(&mut self, catalog: &Catalog, step: isize) {
        if let Some(o) = self.object {
            let n = catalog.detections(o);
            if n > 0 {
                self.detection = (self.detection as isize + step).clamp(0, n as isize - 1) as usize;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoFacts;
    impl RowFacts for NoFacts {
        fn label(&self, id: &str) -> Option<&str> {
            (id == "B").then_some("SN")
        }
        fn top_class(&self, _: &str) -> Option<(&str, f32)> {
            None
        }
    }

    fn catalog() -> Catalog {
        let row = |id: &str, n: usize, jd: f64| ObjectRow {
            object_id: id.into(),
            survey: Survey::Ztf,
            solar_system: false,
            detections: n,
            nights: n,
            first_jd: jd,
            last_jd: jd + 1.0,
            arrival: n as u64,
        };
        Catalog {
            rows: vec![row("A", 1, 3.0), row("B", 3, 1.0), row("C", 2, 2.0)],
            alerts: 6,
            revision: 1,
            ..Default::default()
        }
    }

    #[test]
    fn filter_search_and_sort() {
        let c = catalog();
        let mut f = BrowserFilter::default();
        assert_eq!(f.visible_rows(&c, &NoFacts), vec![0, 1, 2]);
        f.sort = SortColumn::Detections;
        f.descending = true;
        assert_eq!(f.visible_rows(&c, &NoFacts), vec![1, 2, 0]);
        f.only_unvetted = true;
        assert_eq!(f.visible_rows(&c, &NoFacts), vec![2, 0]);
        f.min_detections = 2;
        assert_eq!(f.visible_rows(&c, &NoFacts), vec![2]);
        f = BrowserFilter {
            search: "c".into(),
            ..Default::default()
        };
        assert_eq!(f.visible_rows(&c, &NoFacts), vec![2]);
        // Unlabelled first, ties in object-id order; descending reverses both.
        f = BrowserFilter {
            sort: SortColumn::Label,
            ..Default::default()
        };
        assert_eq!(f.visible_rows(&c, &NoFacts), vec![0, 2, 1]);
        f.descending = true;
        assert_eq!(f.visible_rows(&c, &NoFacts), vec![1, 2, 0]);
        f.sort = SortColumn::LastSeen;
        assert_eq!(f.visible_rows(&c, &NoFacts), vec![0, 2, 1]);
        f.sort = SortColumn::Arrival;
        assert_eq!(f.visible_rows(&c, &NoFacts), vec![1, 2, 0]);
    }

    #[test]
    fn selection_steps_within_the_visible_list() {
        let mut s = Selection::default();
        s.step_object(&[2, 0], 1);
        assert_eq!(s.object, Some(2));
        s.step_object(&[2, 0], 1);
        assert_eq!(s.object, Some(0));
        s.step_object(&[2, 0], 1);
        assert_eq!(s.object, Some(0));
        s.step_object(&[2, 0], -5);
        assert_eq!(s.object, Some(2));
    }
}
