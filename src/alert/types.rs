//! What every survey's alerts share: a cutout image, the three cutout kinds, and where an
//! alert was read from.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// The survey an alert comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Survey {
    #[serde(rename = "ZTF")]
    Ztf,
    #[serde(rename = "LSST")]
    Lsst,
}

impl Survey {
    /// Every survey stampseq reads, in the order answers and headers list them.
    pub const ALL: [Survey; 2] = [Self::Ztf, Self::Lsst];

    /// Arcseconds per stamp pixel: ZTF 1.0 (1.01 exactly), LSST 0.2.
    pub fn pixel_scale_arcsec(self) -> f64 {
        match self {
            Self::Ztf => 1.0,
            Self::Lsst => 0.2,
        }
    }
}

impl Survey {
    /// The observing night of an MJD, as an integer MJD: nights do not split at midnight
    /// UT. ZTF: from Palomar's local noon (20:00 UT), as `sequence::night_of` counts them.
    /// LSST: Rubin's `dayObs`, which rolls over at 12:00 in UTC-12 (MJD + 0.5), hours after
    /// Cerro Pachón's dawn. LSST times are TAI, 37 s from UTC: nothing for a night
    /// boundary at noon.
    pub fn night_of_mjd(self, mjd: f64) -> i64 {
        let start = match self {
            Self::Ztf => 20.0 / 24.0,
            Self::Lsst => 0.5,
        };
        (mjd - start).floor() as i64
    }

    /// Side of the square stamps a model of the survey usually reads, pixels: ZTF's 63;
    /// LSST's cutouts vary (30 to 102) and are cropped to 30.
    pub fn usual_stamp_size(self) -> usize {
        match self {
            Self::Ztf => 63,
            Self::Lsst => 30,
        }
    }
}

/// ZTF: the survey of a model header or dataset written before stampseq recorded one (it
/// read ZTF alerts only then), and the one assumed where nothing says which.
impl Default for Survey {
    fn default() -> Self {
        Self::Ztf
    }
}

impl fmt::Display for Survey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ztf => "ZTF",
            Self::Lsst => "LSST",
        })
    }
}

/// A cutout image as stored in the FITS file: `pixels[row * width + col]`, row 0 is the
/// first row of the FITS array (the South side: FITS puts the origin bottom-left). Views
/// flip it to show North up; the models read it unflipped, as ALeRCE trained them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stamp {
    pub width: usize,
    pub height: usize,
    #[serde(skip)]
    pub pixels: Vec<f32>,
}

impl Stamp {
    pub fn new(width: usize, height: usize, pixels: Vec<f32>) -> Self {
        debug_assert_eq!(width * height, pixels.len());
        Self {
            width,
            height,
            pixels,
        }
    }

    pub fn get(&self, row: usize, col: usize) -> f32 {
        self.pixels[row * self.width + col]
    }

    /// "63x63": width x height, as astronomers quote image sizes.
    pub fn shape_label(&self) -> String {
        format!("{}x{}", self.width, self.height)
    }

    pub fn nan_count(&self) -> usize {
        self.pixels.iter().filter(|v| v.is_nan()).count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CutoutKind {
    Science,
    Template,
    Difference,
}

impl CutoutKind {
    pub const ALL: [CutoutKind; 3] = [Self::Science, Self::Template, Self::Difference];

    /// The field name in the ZTF schema.
    pub fn field(self) -> &'static str {
        match self {
            Self::Science => "cutoutScience",
            Self::Template => "cutoutTemplate",
            Self::Difference => "cutoutDifference",
        }
    }

    pub fn from_field(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.field() == name)
    }
}

/// Where an alert was read from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertOrigin {
    /// File path, or `archive.tar.gz!member.avro` for an archive member.
    pub file: Arc<str>,
    /// Index of the record inside the Avro file.
    pub record: usize,
}
