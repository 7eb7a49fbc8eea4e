//! Avro records -> [`Alert`]s, tolerant of every ZTF schema version (3.0 .. 4.02) and of
//! broker re-serialisations: fields are matched by name, unknown fields are ignored, missing
//! optional fields stay `None`. Flat records without a `candidate` sub-record (labelled
//! stamp sets) take their candidate fields from the top level.

use super::compiled::RecordPlan;
use super::fields::{assemble, Field};
use super::types::*;
use crate::alert::avro_value::*;
use crate::alert::catch_decoder_panic;
use crate::alert::container::{for_each_record_raw, CachedSchema};
use crate::alert::error::{ReadError, ReadErrorKind};
use crate::alert::AlertOrigin;
use apache_avro::types::Value;
use std::sync::Arc;

/// The result of decoding one Avro container file.
#[derive(Debug, Default)]
pub struct DecodedFile {
    pub alerts: Vec<Alert>,
    pub errors: Vec<ReadError>,
}

/// Reads alerts from Avro container bytes in memory.
pub struct AlertFileReader {
    pub decode_stamps: bool,
}

impl Default for AlertFileReader {
    fn default() -> Self {
        Self {
            decode_stamps: true,
        }
    }
}

impl AlertFileReader {
    /// Decodes every record of one container file. Never panics: a panic inside a decoder
    /// becomes an error for that file.
    pub fn decode(&self, bytes: &[u8], file: &Arc<str>) -> DecodedFile {
        match catch_decoder_panic(|| self.decode_inner(bytes, file)) {
            Ok(d) => d,
            Err(panic) => DecodedFile {
                alerts: Vec::new(),
                errors: vec![ReadError::new(&**file, None, panic.into())],
            },
        }
    }

    fn decode_inner(&self, bytes: &[u8], file: &Arc<str>) -> DecodedFile {
        let mut out = DecodedFile::default();
        let result = for_each_record_raw(bytes, |index, data, schema| {
            let origin = AlertOrigin {
                file: file.clone(),
                record: index,
            };
            let decoded = match self.read_compiled(data, schema, origin.clone(), &mut out.errors) {
                Some(decoded) => decoded,
                None => self.alert_from_value(schema.read_value(data)?, origin, &mut out.errors),
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
        out
    }

    /// The record at the front of `data` read by the decoder compiled from its writer
    /// schema, moving `data` past it. `None`, with `data` untouched, when the schema is not
    /// a ZTF alert's that it reads or the bytes do not decode: apache-avro reads them then.
    pub(crate) fn read_compiled(
        &self,
        data: &mut &[u8],
        schema: &CachedSchema,
        origin: AlertOrigin,
        errors: &mut Vec<ReadError>,
    ) -> Option<Result<Alert, ReadErrorKind>> {
        schema
            .compiled(RecordPlan::compile)?
            .read_alert(self.decode_stamps, data, origin, errors)
    }

    /// Turns one decoded record into an alert. Cutouts that fail to decode are reported in
    /// `errors` and left out; the alert itself is kept for its metadata.
    pub fn alert_from_value(
        &self,
        value: Value,
        origin: AlertOrigin,
        errors: &mut Vec<ReadError>,
    ) -> Result<Alert, ReadErrorKind> {
        let fields = match strip_union(value) {
            Value::Record(fields) => fields,
            other => {
                return Err(ReadErrorKind::NotAnAlert(format!(
                    "top level is {}, not a record",
                    value_kind(&other)
                )))
            }
        };
        let fields = fields
            .into_iter()
            .map(|(name, value)| Field::from_value(name, strip_union(value)));
        assemble(self.decode_stamps, fields, origin, errors)
    }
}

/// Decodes alerts from Avro bytes with stamps, the common case.
pub fn decode_avro_bytes(bytes: &[u8], file: &str) -> DecodedFile {
    AlertFileReader::default().decode(bytes, &Arc::from(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::container::{for_each_record, for_each_record_raw};
    use std::sync::Arc;

    fn shared_avro_files() -> Vec<std::path::PathBuf> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ztf");
        let mut out = Vec::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("shared data").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "avro") {
                    out.push(path);
                }
            }
        }
        out.sort();
        out
    }

    /// What the reader made of a file through apache-avro's `Value` alone, as text.
    fn by_values(reader: &AlertFileReader, bytes: &[u8], file: &Arc<str>) -> String {
        let mut out = DecodedFile::default();
        let result = for_each_record(bytes, |record, value| {
            let origin = AlertOrigin {
                file: file.clone(),
                record,
            };
            match reader.alert_from_value(value, origin, &mut out.errors) {
                Ok(alert) => out.alerts.push(alert),
                Err(kind) => out.errors.push(ReadError::new(&**file, Some(record), kind)),
            }
        });
        if let Err(e) = result {
            out.errors.push(e.into_read_error(file));
        }
        format!("{out:?}")
    }

    #[test]
    fn every_shared_ztf_record_reads_as_through_values() {
        let mut compiled = 0;
        for path in shared_avro_files() {
            let bytes = std::fs::read(&path).expect("read");
            let file: Arc<str> = Arc::from(path.display().to_string());
            for decode_stamps in [true, false] {
                let reader = AlertFileReader { decode_stamps };
                let _ = for_each_record_raw(&bytes, |_, data, schema| {
                    if schema.compiled(RecordPlan::compile).is_some() {
                        let origin = AlertOrigin {
                            file: file.clone(),
                            record: 0,
                        };
                        let mut fast_data = *data;
                        let mut fast_errors = Vec::new();
                        let fast = reader.read_compiled(
                            &mut fast_data,
                            schema,
                            origin.clone(),
                            &mut fast_errors,
                        );
                        let mut errors = Vec::new();
                        let slow =
                            reader.alert_from_value(schema.read_value(data)?, origin, &mut errors);
                        let fast =
                            fast.unwrap_or_else(|| panic!("{}: not compiled", path.display()));
                        assert_eq!(
                            format!("{fast:?} {fast_errors:?}"),
                            format!("{slow:?} {errors:?}")
                        );
                        assert_eq!(fast_data.len(), data.len());
                        compiled += 1;
                    } else {
                        schema.read_value(data)?;
                    }
                    Ok(())
                });
            }
        }
        assert!(compiled > 2 * 1500, "{compiled} records compiled");
    }

    #[test]
    fn corrupt_records_give_apache_avro_s_errors() {
        let path = &shared_avro_files()
            .into_iter()
            .find(|p| p.to_string_lossy().contains("night-20231018"))
            .expect("a night file");
        let bytes = std::fs::read(path).expect("read");
        let file: Arc<str> = Arc::from("corrupt.avro");
        let reader = AlertFileReader::default();
        // The block starts after the header, which ends with the sync marker that also
        // ends the file; flip and cut bytes all through the block.
        let sync = &bytes[bytes.len() - 16..];
        let header_end = bytes.windows(16).position(|w| w == sync).expect("sync") + 16;
        let body = header_end;
        for step in 0..400 {
            let at = body + step * 149 % (bytes.len() - body);
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[at] ^= flip;
                let fast = format!("{:?}", reader.decode(&bad, &file));
                assert_eq!(
                    fast,
                    by_values(&reader, &bad, &file),
                    "byte {at} ^ {flip:#x}"
                );
            }
            let cut = &bytes[..at];
            let fast = format!("{:?}", reader.decode(cut, &file));
            assert_eq!(fast, by_values(&reader, cut, &file), "cut at {at}");
        }
    }
}
