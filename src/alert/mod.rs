//! ZTF alerts: the types, the Avro decoding, the cutout decoding and the input walker.
//!
//! Data flows one way: bytes (a file, a folder, a `.tar.gz` night archive) -> Avro records
//! -> [`Alert`]s. Everything that can go wrong with one record is reported as a
//! [`ReadError`] naming the file and the record, and the rest of the input is still read.

mod avro;
mod container;
mod cutout;
mod error;
mod source;
mod types;

pub use avro::{decode_avro_bytes, AlertFileReader, DecodedFile};
pub use cutout::{decode_cutout, decode_fits_image, gunzip};
pub use error::{ReadError, ReadErrorKind};
pub use source::{
    collect_inputs, read_all, read_inputs, Input, ReadOptions, ReadProgress, ReadSummary,
};
pub use types::{
    band_name, Alert, AlertOrigin, Candidate, CutoutKind, Cutouts, DiffSign, ForcedPhotometry,
    PrvCandidate, Stamp,
};
