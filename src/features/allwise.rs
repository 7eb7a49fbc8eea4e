//! AllWISE mid-infrared crossmatch: W1, W2, W3 and the colours the Temporal Stamp
//! Classifier reads (W1-W2, W2-W3, g-W2, g-W3, r-W2, r-W3).
//!
//! The magnitudes come either from a crossmatch table (objectId -> W1..W3, as brokers
//! publish them) or from a cone search in a local AllWISE catalogue indexed with HEALPix
//! (`cdshealpix`). A missing crossmatch is a masked input, never a zero: a zero magnitude
//! is a very bright star.

use crate::alert::{catch_decoder_panic, DecoderPanic};
use parquet::errors::ParquetError;
use std::collections::HashMap;
use std::path::Path;

mod parquet_reader;
pub use parquet_reader::ColumnError;

/// Names of the AllWISE features, in model order.
pub const WISE_FEATURES: [&str; 9] = [
    "W1", "W2", "W3", "W1-W2", "W2-W3", "g-W2", "g-W3", "r-W2", "r-W3",
];

/// Default cone-search radius: AllWISE's astrometry is good to ~0.1 arcsec and ZTF's to
/// ~0.1-0.2 arcsec, so 1 arcsec keeps true matches and few chance ones.
pub const DEFAULT_RADIUS_ARCSEC: f64 = 1.0;

/// HEALPix depth of the index: cells of ~13 arcsec, much larger than the search radius, so
/// a cone touches few cells and each holds few sources even in crowded fields.
const INDEX_DEPTH: u8 = 14;

#[derive(Debug, thiserror::Error)]
pub enum AllWiseError {
    /// A catalogue or crossmatch table that cannot be read, and why.
    #[error("{path}: {problem}")]
    File {
        path: String,
        #[source]
        problem: CatalogueError,
    },
}

/// What is wrong with a catalogue or a crossmatch table.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{0}")]
    Csv(#[source] csv::Error),
    #[error("row {row}: {source}")]
    CsvRow { row: usize, source: csv::Error },
    #[error("no ra column (ra or RAJ2000)")]
    NoRa,
    #[error("no dec column (dec or DEJ2000)")]
    NoDec,
    #[error("no objectId column")]
    NoObjectId,
    #[error("no W1/W2/W3 magnitude columns")]
    NoMagnitudes,
    #[error("{0}")]
    Io(#[source] std::io::Error),
    #[error("not a readable Parquet file: {0}")]
    NotParquet(#[source] ParquetError),
    #[error("column {column} is a list, not one value per row")]
    ListColumn { column: String },
    #[error("column {column} is {kind}, not a number")]
    NotNumeric {
        column: String,
        kind: parquet::basic::Type,
    },
    #[error("row group {group}: {source}")]
    RowGroup { group: usize, source: ParquetError },
    #[error("row group {group}, column {column}: {problem}")]
    Column {
        group: usize,
        column: String,
        #[source]
        problem: ColumnError,
    },
    /// The Parquet reader panicked on the file's bytes.
    #[error("corrupt Parquet data ({0})")]
    Corrupt(#[source] DecoderPanic),
}

/// W1, W2, W3 Vega magnitudes of one source; `None` where AllWISE has no measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct WiseMagnitudes {
    pub w1: Option<f64>,
    pub w2: Option<f64>,
    pub w3: Option<f64>,
}

/// The 9 features and which of them are present.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct WiseFeatures {
    /// Values in [`WISE_FEATURES`] order; 0 where masked.
    pub values: [f64; 9],
    /// True where the value is real.
    pub present: [bool; 9],
}

impl WiseFeatures {
    /// All masked: the object has no AllWISE counterpart (or none was looked up).
    pub fn missing() -> Self {
        Self {
            values: [0.0; 9],
            present: [false; 9],
        }
    }

    /// Builds the features from the magnitudes and the object's mean g and r magnitudes.
    pub fn new(m: Option<WiseMagnitudes>, g: Option<f64>, r: Option<f64>) -> Self {
        let Some(m) = m else {
            return Self::missing();
        };
        let diff = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if a.is_finite() && b.is_finite() => Some(a - b),
            _ => None,
        };
        let all = [
            m.w1,
            m.w2,
            m.w3,
            diff(m.w1, m.w2),
            diff(m.w2, m.w3),
            diff(g, m.w2),
            diff(g, m.w3),
            diff(r, m.w2),
            diff(r, m.w3),
        ];
        let mut out = Self::missing();
        for (i, v) in all.into_iter().enumerate() {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                out.values[i] = v;
                out.present[i] = true;
            }
        }
        out
    }
}

/// One AllWISE source.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AllWiseSource {
    /// AllWISE designation (e.g. `J124131.46+260233.6`), or the row number when the
    /// catalogue file has no identifier column.
    pub id: String,
    pub ra: f64,
    pub dec: f64,
    pub mags: WiseMagnitudes,
}

/// Angular distance between two positions, degrees in, arcseconds out (haversine, exact
/// at the sub-milliarcsecond level for small separations).
pub fn angular_distance_arcsec(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (d1, d2) = (dec1.to_radians(), dec2.to_radians());
    let dra = (ra2 - ra1).to_radians();
    let h = ((d2 - d1) / 2.0).sin().powi(2) + d1.cos() * d2.cos() * (dra / 2.0).sin().powi(2);
    2.0 * h.sqrt().min(1.0).asin().to_degrees() * 3600.0
}

/// A local AllWISE catalogue with a HEALPix index for cone searches.
#[derive(Debug, Clone, Default)]
pub struct AllWiseCatalogue {
    sources: Vec<AllWiseSource>,
    /// (HEALPix nested hash at INDEX_DEPTH, source index), sorted.
    index: Vec<(u64, u32)>,
}

/// A CSV catalogue opened, with its header row read.
fn open_csv(
    path: &Path,
) -> Result<(csv::Reader<std::fs::File>, csv::StringRecord), CatalogueError> {
    let mut reader = csv::Reader::from_path(path).map_err(CatalogueError::Csv)?;
    let headers = reader.headers().map_err(CatalogueError::Csv)?.clone();
    Ok((reader, headers))
}

fn find_column(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    headers
        .iter()
        .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
}

fn parse_optional(field: Option<&str>) -> Option<f64> {
    field
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

const RA_NAMES: &[&str] = &["ra", "RAJ2000", "RA_ICRS"];
const DEC_NAMES: &[&str] = &["dec", "DEJ2000", "DE_ICRS"];
const ID_NAMES: &[&str] = &["AllWISE", "designation", "source_id"];
const W1_NAMES: &[&str] = &["w1mpro", "W1mag", "W1"];
const W2_NAMES: &[&str] = &["w2mpro", "W2mag", "W2"];
const W3_NAMES: &[&str] = &["w3mpro", "W3mag", "W3"];

impl AllWiseCatalogue {
    pub fn new(sources: Vec<AllWiseSource>) -> Self {
        let mut index: Vec<(u64, u32)> = sources
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let hash =
                    cdshealpix::nested::hash(INDEX_DEPTH, s.ra.to_radians(), s.dec.to_radians());
                (hash, i as u32)
            })
            .collect();
        index.sort_unstable();
        Self { sources, index }
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    pub fn sources(&self) -> &[AllWiseSource] {
        &self.sources
    }

    /// Reads a catalogue in Parquet (`.parquet`, `.parq`) or otherwise CSV, with the
    /// columns [`Self::from_csv`] describes.
    pub fn from_path(path: &Path) -> Result<Self, AllWiseError> {
        let is_parquet = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("parq"));
        if is_parquet {
            Self::from_parquet(path)
        } else {
            Self::from_csv(path)
        }
    }

    /// Reads a Parquet catalogue: the same column names as [`Self::from_csv`] (any case),
    /// float32, float64 or integer, nullable or not; only those columns are decoded. Nulls
    /// and NaNs are missing magnitudes; rows without a position are skipped.
    pub fn from_parquet(path: &Path) -> Result<Self, AllWiseError> {
        let err = |problem: CatalogueError| AllWiseError::File {
            path: path.display().to_string(),
            problem,
        };
        // The decoder is third-party code fed with arbitrary bytes: a corrupt page must
        // become an error message in the app, not take its worker thread down.
        let read = catch_decoder_panic(|| parquet_reader::read_sources(path))
            .map_err(|p| err(CatalogueError::Corrupt(p)))?;
        Ok(Self::new(read.map_err(err)?))
    }

    /// Reads a CSV catalogue with columns `ra, dec, w1mpro, w2mpro, w3mpro` (AllWISE's
    /// names) or VizieR's `RAJ2000, DEJ2000, W1mag, W2mag, W3mag`, and an optional
    /// identifier column (`AllWISE`, `designation`, `source_id`). Rows whose position does
    /// not parse are skipped and counted in the error if none is left.
    pub fn from_csv(path: &Path) -> Result<Self, AllWiseError> {
        let err = |problem: CatalogueError| AllWiseError::File {
            path: path.display().to_string(),
            problem,
        };
        let (mut reader, headers) = open_csv(path).map_err(err)?;
        let ra_col = find_column(&headers, RA_NAMES).ok_or_else(|| err(CatalogueError::NoRa))?;
        let dec_col = find_column(&headers, DEC_NAMES).ok_or_else(|| err(CatalogueError::NoDec))?;
        let id_col = find_column(&headers, ID_NAMES);
        let cols = [W1_NAMES, W2_NAMES, W3_NAMES].map(|n| find_column(&headers, n));
        if cols.iter().all(Option::is_none) {
            return Err(err(CatalogueError::NoMagnitudes));
        }
        let mut sources = Vec::new();
        for (row, record) in reader.records().enumerate() {
            let record = record.map_err(|source| {
                err(CatalogueError::CsvRow {
                    row: row + 1,
                    source,
                })
            })?;
            let (Some(ra), Some(dec)) = (
                parse_optional(record.get(ra_col)),
                parse_optional(record.get(dec_col)),
            ) else {
                continue;
            };
            let mag = |c: Option<usize>| c.and_then(|c| parse_optional(record.get(c)));
            sources.push(AllWiseSource {
                id: id_col
                    .and_then(|c| record.get(c))
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| (row + 1).to_string()),
                ra,
                dec,
                mags: WiseMagnitudes {
                    w1: mag(cols[0]),
                    w2: mag(cols[1]),
                    w3: mag(cols[2]),
                },
            });
        }
        Ok(Self::new(sources))
    }

    /// The nearest source within `radius_arcsec` of (ra, dec), with its distance in arcsec.
    pub fn nearest(&self, ra: f64, dec: f64, radius_arcsec: f64) -> Option<(&AllWiseSource, f64)> {
        if !(ra.is_finite() && dec.is_finite() && radius_arcsec > 0.0) || self.is_empty() {
            return None;
        }
        let radius = (radius_arcsec / 3600.0).to_radians();
        let cells = cdshealpix::nested::cone_coverage_approx(
            INDEX_DEPTH,
            ra.to_radians(),
            dec.to_radians(),
            radius,
        );
        let mut best: Option<(&AllWiseSource, f64)> = None;
        for cell in cells.flat_iter() {
            let start = self.index.partition_point(|(h, _)| *h < cell);
            for &(h, i) in &self.index[start..] {
                if h != cell {
                    break;
                }
                let s = &self.sources[i as usize];
                let d = angular_distance_arcsec(ra, dec, s.ra, s.dec);
                if d <= radius_arcsec && best.is_none_or(|(_, bd)| d < bd) {
                    best = Some((s, d));
                }
            }
        }
        best
    }
}

/// A published crossmatch: objectId -> W1, W2, W3.
#[derive(Debug, Clone, Default)]
pub struct CrossmatchTable {
    by_object: HashMap<String, WiseMagnitudes>,
}

impl CrossmatchTable {
    /// Reads a CSV with an object column (`objectId`, `oid` or `oid_in`) and W1..W3 columns
    /// (`W1`, `W1mag` or `w1mpro`, ...). When an object has several rows, the nearest
    /// (smallest `angDist`, if present) wins.
    pub fn from_csv(path: &Path) -> Result<Self, AllWiseError> {
        let err = |problem: CatalogueError| AllWiseError::File {
            path: path.display().to_string(),
            problem,
        };
        let (mut reader, headers) = open_csv(path).map_err(err)?;
        let obj = find_column(&headers, &["objectId", "oid", "oid_in"])
            .ok_or_else(|| err(CatalogueError::NoObjectId))?;
        let dist_col = find_column(&headers, &["angDist"]);
        let cols = [W1_NAMES, W2_NAMES, W3_NAMES].map(|n| find_column(&headers, n));
        if cols.iter().all(Option::is_none) {
            return Err(err(CatalogueError::NoMagnitudes));
        }
        let mut best: HashMap<String, (f64, WiseMagnitudes)> = HashMap::new();
        for (row, record) in reader.records().enumerate() {
            let record = record.map_err(|source| {
                err(CatalogueError::CsvRow {
                    row: row + 1,
                    source,
                })
            })?;
            let Some(id) = record.get(obj).map(str::trim).filter(|s| !s.is_empty()) else {
                continue;
            };
            let mag = |c: Option<usize>| c.and_then(|c| parse_optional(record.get(c)));
            let mags = WiseMagnitudes {
                w1: mag(cols[0]),
                w2: mag(cols[1]),
                w3: mag(cols[2]),
            };
            let dist = dist_col
                .and_then(|c| parse_optional(record.get(c)))
                .unwrap_or(f64::INFINITY);
            match best.get(id) {
                Some((d, _)) if *d <= dist => {}
                _ => {
                    best.insert(id.to_string(), (dist, mags));
                }
            }
        }
        Ok(Self {
            by_object: best.into_iter().map(|(k, (_, m))| (k, m)).collect(),
        })
    }

    pub fn get(&self, object_id: &str) -> Option<WiseMagnitudes> {
        self.by_object.get(object_id).copied()
    }

    pub fn len(&self) -> usize {
        self.by_object.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_object.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_magnitudes_are_masked_not_zero() {
        let f = WiseFeatures::new(
            Some(WiseMagnitudes {
                w1: Some(14.0),
                w2: Some(13.5),
                w3: None,
            }),
            Some(18.0),
            None,
        );
        assert_eq!(
            f.present,
            [true, true, false, true, false, true, false, false, false]
        );
        assert!((f.values[3] - 0.5).abs() < 1e-12);
        assert!((f.values[5] - 4.5).abs() < 1e-12);
        assert_eq!(
            WiseFeatures::new(None, Some(18.0), Some(17.0)).present,
            [false; 9]
        );
    }

    #[test]
    fn angular_distance_of_one_arcsecond() {
        let d = angular_distance_arcsec(10.0, 20.0, 10.0, 20.0 + 1.0 / 3600.0);
        assert!((d - 1.0).abs() < 1e-9);
        // Along RA the separation shrinks by cos(dec).
        let d = angular_distance_arcsec(10.0, 60.0, 10.0 + 2.0 / 3600.0, 60.0);
        assert!((d - 1.0).abs() < 1e-6, "{d}");
    }
}
