//! ZTF: the alert record ([`Alert`]: `candidate`, `prv_candidates`, `fp_hists`, three
//! gzipped FITS cutouts) and its Avro decoding, tolerant of every schema version (3.0 to
//! 4.02) and of brokers' re-serialisations.

mod avro;
mod compiled;
mod fields;
mod types;

pub use avro::{decode_avro_bytes, AlertFileReader, DecodedFile};
pub use types::{band_name, Alert, Candidate, Cutouts, DiffSign, ForcedPhotometry, PrvCandidate};
