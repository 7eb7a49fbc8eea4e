//! What the app knows, apart from how it is drawn: the loaded objects, the browser's
//! filter and sort, the selection. Plain data, so it is tested without a window.

use crate::alert::Alert;
use crate::sequence::{group_into_sequences, Sequence};
use std::cmp::Ordering;
use std::sync::Arc;

/// One line of the object browser.
#[derive(Debug, Clone)]
pub struct ObjectRow {
    pub object_id: String,
    pub detections: usize,
    pub nights: usize,
    pub first_jd: f64,
    pub last_jd: f64,
}

impl ObjectRow {
    fn of(s: &Sequence) -> Self {
        Self {
            object_id: s.object_id.clone(),
            detections: s.len(),
            nights: s.nights(),
            first_jd: s.first_jd().unwrap_or(f64::NAN),
            last_jd: s.last_jd().unwrap_or(f64::NAN),
        }
    }
}

/// Every loaded object, in object-id order (the browser relies on it for ties). The
/// sequences are shared (not copied) with the jobs that classify them.
#[derive(Debug, Default)]
pub struct Catalog {
    pub sequences: Arc<Vec<Sequence>>,
    pub rows: Vec<ObjectRow>,
    pub alerts: usize,
    /// Counts the changes, so that what is derived from the rows knows when to redo it.
    pub revision: u64,
}

impl Catalog {
    /// Adds alerts (a new file, a drop, a second folder): objects seen before gain the new
    /// detections, repeated alerts are dropped.
    pub fn add_alerts(&mut self, alerts: Vec<Alert>) {
        let old = std::mem::take(&mut self.sequences);
        let old = Arc::try_unwrap(old).unwrap_or_else(|shared| (*shared).clone());
        let mut all: Vec<Alert> = old.into_iter().flat_map(|s| s.detections).collect();
        all.extend(alerts);
        self.sequences = Arc::new(group_into_sequences(all));
        self.rows = self.sequences.iter().map(ObjectRow::of).collect();
        self.alerts = self.sequences.iter().map(Sequence::len).sum();
        self.revision += 1;
    }

    pub fn index_of(&self, object_id: &str) -> Option<usize> {
        self.sequences
            .binary_search_by(|s| s.object_id.as_str().cmp(object_id))
            .ok()
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
    /// Index into `Catalog::sequences`.
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
            let n = catalog.sequences[o].len();
            if n > 0 {
                self.detection = (self.detection as isize + step).clamp(0, n as isize - 1) as usize;
            }
        }
    }
}

/// Turns a Julian date into a calendar date and time (UTC), as "2021-06-29 07:12".
pub fn jd_to_calendar(jd: f64) -> String {
    if !jd.is_finite() {
        return "-".into();
    }
    // Fliegel & Van Flandern's algorithm on the civil day, then the fraction.
    let z = (jd + 0.5).floor() as i64;
    let frac = jd + 0.5 - z as f64;
    let a = z + 32044;
    let b = (4 * a + 3) / 146097;
    let c = a - 146097 * b / 4;
    let d = (4 * c + 3) / 1461;
    let e = c - 1461 * d / 4;
    let m = (5 * e + 2) / 153;
    let day = e - (153 * m + 2) / 5 + 1;
    let month = m + 3 - 12 * (m / 10);
    let year = 100 * b + d - 4800 + m / 10;
    let minutes = (frac * 1440.0).round() as i64;
    let (minutes, day_carry) = if minutes >= 1440 {
        (0, 1)
    } else {
        (minutes, 0)
    };
    // A carry past midnight is rare enough to show as 24:00 rather than redo the calendar.
    if day_carry == 1 {
        return format!("{year:04}-{month:02}-{day:02} 24:00");
    }
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        minutes / 60,
        minutes % 60
    )
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
            detections: n,
            nights: n,
            first_jd: jd,
            last_jd: jd + 1.0,
        };
        Catalog {
            sequences: Arc::new(Vec::new()),
            rows: vec![row("A", 1, 3.0), row("B", 3, 1.0), row("C", 2, 2.0)],
            alerts: 6,
            revision: 1,
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

    #[test]
    fn julian_dates_read_as_calendar_dates() {
        assert_eq!(jd_to_calendar(2_451_545.0), "2000-01-01 12:00");
        // astropy: Time(2459394.8, format="jd").iso == "2021-06-29 07:12:00.000"
        assert_eq!(jd_to_calendar(2_459_394.8), "2021-06-29 07:12");
    }
}
