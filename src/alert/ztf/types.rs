//! ZTF's alert record: the `candidate`, its history (`prv_candidates`, `fp_hists`) and
//! its three cutouts.

use crate::alert::{AlertOrigin, CutoutKind, Stamp};
use serde::{Deserialize, Serialize};

/// Sign of the image subtraction: a positive subtraction means the source got brighter than
/// in the reference image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiffSign {
    Positive,
    Negative,
}

impl DiffSign {
    /// ZTF writes 't' or '1' for positive and 'f' or '0' for negative; newer ALeRCE messages
    /// use '+1' / '-1'.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "t" | "T" | "1" | "+1" | "true" => Some(Self::Positive),
            "f" | "F" | "0" | "-1" | "false" => Some(Self::Negative),
            _ => None,
        }
    }

    pub fn is_positive(self) -> bool {
        self == Self::Positive
    }
}

/// The detection an alert was issued for (`candidate` in the ZTF schema). Numbers that the
/// schema allows to be null are `Option`s; ZTF's own -999 sentinels are kept as they are,
/// as the models were trained with them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Candidate {
    pub jd: f64,
    /// 1 = g, 2 = r, 3 = i.
    pub fid: i32,
    pub pid: Option<i64>,
    pub candid: Option<i64>,
    pub diffmaglim: Option<f64>,
    pub programid: Option<i32>,
    pub isdiffpos: Option<DiffSign>,
    pub nid: Option<i32>,
    pub rcid: Option<i32>,
    pub field: Option<i32>,
    pub xpos: Option<f64>,
    pub ypos: Option<f64>,
    pub ra: f64,
    pub dec: f64,
    pub magpsf: f64,
    pub sigmapsf: f64,
    pub chipsf: Option<f64>,
    pub magap: Option<f64>,
    pub sigmagap: Option<f64>,
    pub distnr: Option<f64>,
    pub magnr: Option<f64>,
    pub sigmagnr: Option<f64>,
    pub chinr: Option<f64>,
    pub sharpnr: Option<f64>,
    pub sky: Option<f64>,
    pub magdiff: Option<f64>,
    pub fwhm: Option<f64>,
    pub classtar: Option<f64>,
    pub mindtoedge: Option<f64>,
    pub elong: Option<f64>,
    pub nbad: Option<i32>,
    pub rb: Option<f64>,
    pub drb: Option<f64>,
    pub ssdistnr: Option<f64>,
    pub ssmagnr: Option<f64>,
    pub ssnamenr: Option<String>,
    pub ranr: Option<f64>,
    pub decnr: Option<f64>,
    pub sgmag1: Option<f64>,
    pub srmag1: Option<f64>,
    pub simag1: Option<f64>,
    pub szmag1: Option<f64>,
    pub sgscore1: Option<f64>,
    pub distpsnr1: Option<f64>,
    pub sgscore2: Option<f64>,
    pub distpsnr2: Option<f64>,
    pub sgscore3: Option<f64>,
    pub distpsnr3: Option<f64>,
    pub ndethist: Option<i32>,
    pub ncovhist: Option<i32>,
    pub jdstarthist: Option<f64>,
    pub jdendhist: Option<f64>,
    pub scorr: Option<f64>,
    pub magzpsci: Option<f64>,
    pub neargaia: Option<f64>,
    pub maggaia: Option<f64>,
    pub exptime: Option<f64>,
}

impl Candidate {
    /// Filter letter as astronomers write it.
    pub fn band(&self) -> &'static str {
        band_name(self.fid)
    }

    /// True when a known solar-system object lies near the detection (`ssdistnr` is -999
    /// when there is none).
    pub fn near_known_asteroid(&self) -> bool {
        matches!(self.ssdistnr, Some(d) if d >= 0.0 && d != -999.0)
    }
}

pub fn band_name(fid: i32) -> &'static str {
    match fid {
        1 => "g",
        2 => "r",
        3 => "i",
        _ => "?",
    }
}

/// An entry of `prv_candidates`: a detection of the last 30 days (it has a `candid`) or an
/// upper limit (no `candid`, only `diffmaglim`). These carry no images.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PrvCandidate {
    pub jd: f64,
    pub fid: i32,
    pub candid: Option<i64>,
    pub magpsf: Option<f64>,
    pub sigmapsf: Option<f64>,
    pub diffmaglim: Option<f64>,
    pub isdiffpos: Option<DiffSign>,
    pub ra: Option<f64>,
    pub dec: Option<f64>,
    pub rb: Option<f64>,
    pub programid: Option<i32>,
}

impl PrvCandidate {
    pub fn is_detection(&self) -> bool {
        self.candid.is_some() && self.magpsf.is_some()
    }
}

/// An entry of `fp_hists` (schema 4.x): forced photometry at the alert position.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ForcedPhotometry {
    pub jd: f64,
    pub fid: i32,
    pub forcediffimflux: Option<f64>,
    pub forcediffimfluxunc: Option<f64>,
    pub diffmaglim: Option<f64>,
    pub magzpsci: Option<f64>,
    pub procstatus: Option<String>,
}

/// The three image cutouts; any of them may be absent (stripped by a broker, or undecodable).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cutouts {
    pub science: Option<Stamp>,
    pub template: Option<Stamp>,
    pub difference: Option<Stamp>,
}

impl Cutouts {
    pub fn get(&self, kind: CutoutKind) -> Option<&Stamp> {
        match kind {
            CutoutKind::Science => self.science.as_ref(),
            CutoutKind::Template => self.template.as_ref(),
            CutoutKind::Difference => self.difference.as_ref(),
        }
    }

    pub fn slot(&mut self, kind: CutoutKind) -> &mut Option<Stamp> {
        match kind {
            CutoutKind::Science => &mut self.science,
            CutoutKind::Template => &mut self.template,
            CutoutKind::Difference => &mut self.difference,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.science.is_some() && self.template.is_some() && self.difference.is_some()
    }

    pub fn count(&self) -> usize {
        CutoutKind::ALL
            .into_iter()
            .filter(|k| self.get(*k).is_some())
            .count()
    }
}

/// One ZTF alert.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alert {
    pub object_id: String,
    /// The alert's candidate id; absent only in flat labelled stamp sets.
    pub candid: Option<i64>,
    /// `schemavsn`, when the record carries it.
    pub schema_version: Option<String>,
    pub publisher: Option<String>,
    pub candidate: Candidate,
    pub prv_candidates: Vec<PrvCandidate>,
    pub fp_hists: Vec<ForcedPhotometry>,
    #[serde(skip)]
    pub cutouts: Cutouts,
    /// A class label carried by the record itself (labelled stamp sets), if any.
    pub label: Option<String>,
    /// Columns a broker added to its copy (Fink Parquet: `cdsxmatch`, `timestamp`, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub broker_columns: std::collections::BTreeMap<String, serde_json::Value>,
    pub origin: AlertOrigin,
}
