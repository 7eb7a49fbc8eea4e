//! One input file, whatever survey and format it holds, told apart by its first bytes:
//! `Obj\x01` an Avro container file (ZTF or LSST, by its records), `PAR1` a broker Parquet
//! file, a zero byte a Confluent-framed LSST message; any of them gzipped (`.avro.gz`, as
//! archives and brokers often keep single alerts) is unzipped first.

use super::any_alert::AnyAlert;
use super::catch_decoder_panic;
use super::container::for_each_record_raw;
use super::lsst::{self, LsstRecordReader, SchemaRegistry, SchemaSources, SchemaVersion};
use super::parquet;
use super::ztf::AlertFileReader;
use super::{AlertOrigin, GzipError, ReadError, ReadErrorKind};
use std::path::PathBuf;
use std::sync::Arc;

/// What one file gave.
#[derive(Debug, Default)]
pub struct DecodedAny {
    pub alerts: Vec<AnyAlert>,
    pub errors: Vec<ReadError>,
}

/// Reads files of any supported survey and format.
#[derive(Debug, Clone)]
pub struct AnyReader {
    pub decode_stamps: bool,
    /// The LSST schema folder for framed messages; `None` falls back to
    /// `$STAMPSEQ_LSST_SCHEMAS`.
    pub lsst_schemas: Option<PathBuf>,
    /// A Confluent schema registry for ids the folder lacks.
    pub schema_registry: Option<SchemaRegistry>,
}

impl Default for AnyReader {
    fn default() -> Self {
        Self {
            decode_stamps: true,
            lsst_schemas: None,
            schema_registry: None,
        }
    }
}

impl AnyReader {
    /// Decodes one file held in memory. Never panics: a panic inside a decoder becomes an
    /// error for that file.
    pub fn decode(&self, bytes: Vec<u8>, file: &Arc<str>) -> DecodedAny {
        self.decode_input(Input::Owned(bytes), file)
    }

    /// [`Self::decode`] of bytes the caller keeps (a Kafka message, kept for its dead
    /// letter): no copy, except of a Parquet file, which its reader must own.
    pub fn decode_slice(&self, bytes: &[u8], file: &Arc<str>) -> DecodedAny {
        self.decode_input(Input::Borrowed(bytes), file)
    }

    fn decode_input(&self, bytes: Input<'_>, file: &Arc<str>) -> DecodedAny {
        match catch_decoder_panic(|| self.decode_inner(bytes, file)) {
            Ok(d) => d,
            Err(panic) => DecodedAny {
                alerts: Vec::new(),
                errors: vec![ReadError::new(&**file, None, panic.into())],
            },
        }
    }

    fn decode_inner(&self, bytes: Input<'_>, file: &Arc<str>) -> DecodedAny {
        let mut out = DecodedAny::default();
        let bytes = if is_gzip(bytes.as_slice()) {
            match gunzip_file(bytes.as_slice()) {
                Ok(inner) if is_gzip(&inner) => {
                    out.errors.push(ReadError::new(
                        &**file,
                        None,
                        ReadErrorKind::Gzip(GzipError::Twice),
                    ));
                    return out;
                }
                Ok(inner) => Input::Owned(inner),
                Err(kind) => {
                    out.errors.push(ReadError::new(&**file, None, kind));
                    return out;
                }
            }
        } else {
            bytes
        };
        let ztf = AlertFileReader {
            decode_stamps: self.decode_stamps,
        };
        let lsst_reader = LsstRecordReader {
            decode_stamps: self.decode_stamps,
        };
        if parquet::is_parquet(bytes.as_slice()) {
            let readers = parquet::ParquetReaders {
                ztf: &ztf,
                lsst: lsst_reader,
                lsst_schemas: self.lsst_schemas.as_deref(),
            };
            parquet::decode_parquet(
                bytes.into_vec(),
                file,
                &readers,
                &mut out.alerts,
                &mut out.errors,
            );
        } else if lsst::is_framed(bytes.as_slice()) {
            let mut alerts = Vec::new();
            let sources = SchemaSources {
                dir: self.lsst_schemas.clone(),
                registry: self.schema_registry.clone(),
            };
            lsst::decode_framed(
                bytes.as_slice(),
                file,
                &sources,
                lsst_reader,
                &mut alerts,
                &mut out.errors,
            );
            out.alerts
                .extend(alerts.into_iter().map(|a| AnyAlert::Lsst(Box::new(a))));
        } else if bytes.as_slice().starts_with(super::container::MAGIC) {
            self.decode_container(bytes.as_slice(), file, &ztf, lsst_reader, &mut out);
        } else {
            let start = bytes.as_slice().iter().take(8).copied().collect();
            out.errors.push(ReadError::new(
                &**file,
                None,
                ReadErrorKind::UnknownFormat { start },
            ));
        }
        out
    }

    fn decode_container(
        &self,
        bytes: &[u8],
        file: &Arc<str>,
        ztf: &AlertFileReader,
        lsst_reader: LsstRecordReader,
        out: &mut DecodedAny,
    ) {
        let result = for_each_record_raw(bytes, |index, data, schema| {
            let origin = AlertOrigin {
                file: file.clone(),
                record: index,
            };
            let decoded = match ztf.read_compiled(data, schema, origin.clone(), &mut out.errors) {
                Some(decoded) => decoded.map(AnyAlert::Ztf),
                None => {
                    let value = schema.read_value(data)?;
                    if lsst::looks_like_lsst(&value) {
                        let version = schema
                            .name
                            .as_deref()
                            .and_then(SchemaVersion::from_namespace);
                        lsst_reader
                            .alert_from_value(value, version, origin, &mut out.errors)
                            .map(|a| AnyAlert::Lsst(Box::new(a)))
                    } else {
                        ztf.alert_from_value(value, origin, &mut out.errors)
                            .map(AnyAlert::Ztf)
                    }
                }
            };
            match decoded {
                Ok(alert) => out.alerts.push(alert),
                Err(kind) => out.errors.push(ReadError::new(&**file, Some(index), kind)),
            }
            Ok(())
        });
        if let Err(e) = result {
            out.errors.push(e.into_read_error(file));
        }
    }
}

/// A file's bytes, owned (read from disk, unzipped) or borrowed from the caller.
enum Input<'a> {
    Owned(Vec<u8>),
    Borrowed(&'a [u8]),
}

impl Input<'_> {
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Owned(v) => v,
            Self::Borrowed(s) => s,
        }
    }

    fn into_vec(self) -> Vec<u8> {
        match self {
            Self::Owned(v) => v,
            Self::Borrowed(s) => s.to_vec(),
        }
    }
}

pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The largest single alert file unzipped: far above any real alert or broker file (a
/// night of ZTF alerts comes as a tar archive, read as a stream), low enough that a
/// corrupt or hostile file cannot take the machine's memory.
pub const MAX_GUNZIPPED_BYTES: u64 = 4 << 30;

/// Unzips a whole gzip file (all members, as `gunzip` does, up to
/// [`MAX_GUNZIPPED_BYTES`]); a cutout's single small member goes through
/// [`super::cutout::gunzip`] instead.
pub(crate) fn gunzip_file(bytes: &[u8]) -> Result<Vec<u8>, ReadErrorKind> {
    use std::io::Read;
    let mut inner = Vec::with_capacity(bytes.len().saturating_mul(2));
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(MAX_GUNZIPPED_BYTES + 1);
    decoder
        .read_to_end(&mut inner)
        .map_err(|e| ReadErrorKind::Gzip(GzipError::Corrupt(Arc::new(e))))?;
    if inner.len() as u64 > MAX_GUNZIPPED_BYTES {
        return Err(ReadErrorKind::Gzip(GzipError::TooLarge {
            gib: MAX_GUNZIPPED_BYTES >> 30,
        }));
    }
    Ok(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_error(bytes: &[u8]) -> String {
        let decoded = AnyReader::default().decode_slice(bytes, &Arc::from("f.parquet"));
        assert!(decoded.alerts.is_empty());
        decoded.errors[0].to_string()
    }

    #[test]
    fn a_file_of_no_known_format_is_named_so_whatever_its_name_says() {
        let e = first_error(b"not a parquet\n");
        assert!(
            e.starts_with("f.parquet: no alert format recognised: it starts with [6e, 6f, 74"),
            "{e}"
        );
        assert!(!e.contains("Avro magic"), "{e}");
        assert_eq!(first_error(b""), "f.parquet: empty: no bytes to read");
        // An Avro container that breaks after its magic keeps the container's own reason.
        let e = first_error(b"Obj\x01\x02");
        assert!(e.contains("not a readable Avro container file"), "{e}");
    }
}
