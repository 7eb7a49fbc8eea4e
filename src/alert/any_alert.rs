//! An alert of either survey. Apart from the readers so that each reader (Avro, Parquet)
//! can hand one back without the readers importing each other.

use super::lsst::LsstAlert;
use super::types::AlertOrigin;
use super::ztf::Alert;

/// An alert of either survey, with its own record.
// The ZTF variant stays unboxed: it is the common case on the hot path of a night's read,
// and boxing it would cost an allocation per alert to save stack space no one lacks.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum AnyAlert {
    Ztf(Alert),
    Lsst(Box<LsstAlert>),
}

impl AnyAlert {
    pub fn origin(&self) -> &AlertOrigin {
        match self {
            Self::Ztf(a) => &a.origin,
            Self::Lsst(a) => &a.origin,
        }
    }
}
