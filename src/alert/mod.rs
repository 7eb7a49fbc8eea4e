//! Alerts: each survey's record and decoding in its own module ([`ztf`], [`lsst`]); what
//! they share (cutout images, FITS and Avro container decoding); broker Parquet copies of
//! either ([`parquet`]); the survey-neutral view ([`neutral`]); and the input walker.
//!
//! Data flows one way: bytes (a file, a folder, a `.tar.gz` night archive) -> Avro records
//! (or Parquet rows) -> [`Alert`]s and [`lsst::LsstAlert`]s. Everything that can go wrong
//! with one record is reported as a [`ReadError`] naming the file and the record, and the
//! rest of the input is still read.

mod any;
mod any_alert;
pub(crate) use any::{gunzip_file, is_gzip};
mod avro_value;
mod container;
mod cutout;
mod display;
mod error;
pub mod lsst;
pub mod neutral;
pub mod parquet;
pub mod points;
mod source;
mod types;
pub mod ztf;

pub use any::{AnyReader, DecodedAny};
pub use any_alert::{kept_record, AlertRef, AnyAlert};
pub use cutout::{decode_cutout, decode_fits_image, gunzip};
pub(crate) use error::catch_decoder_panic;
pub use error::{
    ArchiveError, AvroError, CutoutError, DecoderPanic, FrameError, GzipError, ParquetReadError,
    ReadError, ReadErrorKind,
};
pub use source::{
    collect_inputs, read_all, read_all_any, read_inputs, read_inputs_any, Input, ReadOptions,
    ReadProgress, ReadSummary,
};
pub use types::{AlertOrigin, CutoutKind, Stamp};
pub use ztf::{band_name, Alert, Candidate, Cutouts, DiffSign, ForcedPhotometry, PrvCandidate};
pub use ztf::{decode_avro_bytes, AlertFileReader, DecodedFile};
