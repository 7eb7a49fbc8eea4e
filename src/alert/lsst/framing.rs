//! Kafka message bodies in the Confluent wire format: byte 0 is `0x00`, bytes 1-4 the
//! schema id (big-endian u32), then one schemaless Avro datum. A file holds one message, or
//! several written back to back (each datum's length follows from its schema).

use super::record::LsstRecordReader;
use super::schemas::{writer_schema, SchemaSources};
use super::types::LsstAlert;
use crate::alert::{AlertOrigin, AvroError, FrameError, ReadError, ReadErrorKind};
use std::sync::Arc;

const MAGIC_BYTE: u8 = 0;
const HEADER_LEN: usize = 5;

/// True when the bytes start like a framed message (a container file starts with `Obj`,
/// Parquet with `PAR1`, a ZTF file never with a zero byte).
pub fn is_framed(bytes: &[u8]) -> bool {
    bytes.first() == Some(&MAGIC_BYTE)
}

/// Reads the schema id of a framed message, or says why the header is not one.
pub fn frame_header(bytes: &[u8]) -> Result<u32, FrameError> {
    if bytes.len() < HEADER_LEN {
        return Err(FrameError::Truncated {
            length: bytes.len(),
        });
    }
    if bytes[0] != MAGIC_BYTE {
        return Err(FrameError::NoMagicByte { first: bytes[0] });
    }
    Ok(u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]))
}

/// Decodes every message of a file of framed messages. A message that cannot be decoded
/// ends the file (the next one's start is unknown); the alerts before it are kept.
pub fn decode_framed(
    bytes: &[u8],
    file: &Arc<str>,
    schemas: &SchemaSources,
    reader: LsstRecordReader,
    alerts: &mut Vec<LsstAlert>,
    errors: &mut Vec<ReadError>,
) {
    let mut rest = bytes;
    let mut record = 0usize;
    while !rest.is_empty() {
        let fail = |kind| ReadError::new(&**file, Some(record), kind);
        let id = match frame_header(rest) {
            Ok(id) => id,
            Err(problem) => {
                errors.push(fail(ReadErrorKind::Framing(problem)));
                return;
            }
        };
        let schema = match writer_schema(schemas, id) {
            Ok(s) => s,
            Err(e) => {
                errors.push(fail(ReadErrorKind::Schema(e)));
                return;
            }
        };
        let mut body = &rest[HEADER_LEN..];
        let value = match schema.read_value(&mut body) {
            Ok(v) => v,
            Err(e) => {
                errors.push(fail(ReadErrorKind::CorruptAvro(AvroError::Message {
                    version: schema.version,
                    source: Arc::new(e),
                })));
                return;
            }
        };
        let origin = AlertOrigin {
            file: file.clone(),
            record,
        };
        match reader.alert_from_value(value, Some(schema.version), origin, errors) {
            Ok(alert) => alerts.push(alert),
            Err(kind) => errors.push(fail(kind)),
        }
        rest = body;
        record += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_gives_the_big_endian_schema_id_or_says_what_is_wrong() {
        assert_eq!(frame_header(&[0, 0, 0, 0x03, 0xe8, 1]), Ok(1000));
        assert_eq!(frame_header(&[0, 0, 0, 0x04, 0x4d]), Ok(1101));
        assert!(frame_header(&[0, 0, 0]).is_err_and(|e| e.to_string().contains("truncated")));
        assert!(frame_header(b"Obj\x01\x02").is_err_and(|e| e.to_string().contains("0x4f")));
    }

    #[test]
    fn a_message_whose_schema_is_not_in_the_folder_is_an_error_naming_file_and_id() {
        let mut alerts = Vec::new();
        let mut errors = Vec::new();
        let missing = SchemaSources {
            dir: Some("/nonexistent/schemas".into()),
            registry: None,
        };
        decode_framed(
            &[0, 0, 0, 0x03, 0xe8, 2, 4],
            &Arc::from("message.avro"),
            &missing,
            LsstRecordReader {
                decode_stamps: false,
            },
            &mut alerts,
            &mut errors,
        );
        assert!(alerts.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].record, Some(0));
        let text = errors[0].to_string();
        assert!(
            text.contains("message.avro") && text.contains("1000"),
            "{text}"
        );
    }
}
