//! Rubin/LSST alerts: Avro container files (schema inside), Kafka message bodies in the
//! Confluent wire format (schema found by id in a local alert_packet schema folder, or
//! fetched from a schema registry and cached on disk), and the
//! survey's own record ([`LsstAlert`]) with cutouts carrying variance and PSF.
//!
//! Facts this follows (framing, ids of 0, units, time scale): `shared/data/lsst/README.md`.

mod cutout;
mod framing;
mod record;
mod registry;
mod schemas;
mod types;

pub use cutout::{decode_lsst_cutout, DecodedCutout, PSF_HDU, VARIANCE_HDU};
pub use framing::{decode_framed, frame_header, is_framed};
pub(crate) use record::to_json;
pub use record::{looks_like_lsst, LsstRecordReader};
pub use registry::{RegistryError, ReplyError, SchemaRegistry};
pub use schemas::{
    schema_dir, versions_matching, writer_schema, ColumnShape, SchemaError, SchemaSources,
    WriterSchema, SCHEMAS_ENV,
};
pub use types::{
    by_object_in_time, CutoutWcs, DiaForcedSource, DiaSource, FieldMap, LsstAlert, LsstCutout,
    LsstCutouts, LsstObject, SchemaVersion,
};
