//! Broker Parquet files: Fink's Spark copies of alerts, ZTF or LSST, many alerts a file.
//!
//! Each row is read with the parquet crate's record API (nested rows, no arrow), turned into
//! the same Avro value tree an Avro file gives, and handed to that survey's record reader,
//! so a Parquet alert is the same [`Alert`] or [`LsstAlert`] as its Avro twin. Columns the
//! broker added (`cdsxmatch`, `brokerIngestMjd`, ...) are kept by name.

use super::any_alert::AnyAlert;
use super::lsst::{
    looks_like_lsst, schema_dir, to_json, versions_matching, ColumnShape, LsstRecordReader,
    SchemaVersion,
};
use super::ztf::AlertFileReader;
use super::{catch_decoder_panic, AlertOrigin, ParquetReadError, ReadError, ReadErrorKind};
use apache_avro::types::Value;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type as ParquetType;
use std::path::Path;
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"PAR1";

/// The top-level fields of a ZTF alert; any other column is the broker's own.
const ZTF_FIELDS: [&str; 10] = [
    "schemavsn",
    "publisher",
    "objectId",
    "candid",
    "candidate",
    "prv_candidates",
    "fp_hists",
    "cutoutScience",
    "cutoutTemplate",
    "cutoutDifference",
];

/// True when the bytes are a Parquet file (`PAR1` at both ends; the start is enough to
/// choose the reader, the end is checked by it).
pub fn is_parquet(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// How to read a broker Parquet file.
pub struct ParquetReaders<'a> {
    pub ztf: &'a AlertFileReader,
    pub lsst: LsstRecordReader,
    /// The LSST schema folder, to tell the version of copies that do not say it.
    pub lsst_schemas: Option<&'a Path>,
}

/// Reads every row of a Parquet file in memory. A row that fails ends the file (the
/// reader's position is lost); the rows before it are kept. Never panics.
pub fn decode_parquet(
    bytes: Vec<u8>,
    file: &Arc<str>,
    readers: &ParquetReaders,
    alerts: &mut Vec<AnyAlert>,
    errors: &mut Vec<ReadError>,
) {
    let mut row_errors = Vec::new();
    let mut rows = Vec::new();
    let mut current = None;
    // The parquet crate panics on some corrupt pages (and on column types it does not
    // implement); that must cost this file, not the whole read.
    let outcome = catch_decoder_panic(|| {
        read_rows(
            bytes,
            file,
            readers,
            &mut rows,
            &mut row_errors,
            &mut current,
        )
    });
    alerts.append(&mut rows);
    errors.append(&mut row_errors);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => errors.push(e),
        Err(panic) => errors.push(ReadError::new(
            &**file,
            current,
            ReadErrorKind::Parquet(ParquetReadError::GaveUp(panic)),
        )),
    }
}

fn read_rows(
    bytes: Vec<u8>,
    file: &Arc<str>,
    readers: &ParquetReaders,
    alerts: &mut Vec<AnyAlert>,
    errors: &mut Vec<ReadError>,
    current: &mut Option<usize>,
) -> Result<(), ReadError> {
    let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).map_err(|e| {
        ReadError::new(
            &**file,
            None,
            ReadErrorKind::Parquet(ParquetReadError::NotParquet(Arc::new(e))),
        )
    })?;
    let version = lsst_version(
        reader.metadata().file_metadata().schema(),
        readers.lsst_schemas,
    );
    let rows = reader.get_row_iter(None).map_err(|e| {
        let kind = ReadErrorKind::Parquet(ParquetReadError::Rows(Arc::new(e)));
        ReadError::new(&**file, None, kind)
    })?;
    for (record, row) in rows.enumerate() {
        *current = Some(record);
        let row = row.map_err(|e| {
            ReadError::new(
                &**file,
                Some(record),
                ReadErrorKind::Parquet(ParquetReadError::CorruptRow(Arc::new(e))),
            )
        })?;
        let value = Value::Record(
            row.into_columns()
                .into_iter()
                .map(|(name, field)| (name, field_value(field)))
                .collect(),
        );
        let origin = AlertOrigin {
            file: file.clone(),
            record,
        };
        let decoded = if looks_like_lsst(&value) {
            readers
                .lsst
                .alert_from_value(value, version, origin, errors)
                .map(|a| AnyAlert::Lsst(Box::new(a)))
        } else {
            let broker_columns = broker_columns(&value);
            readers
                .ztf
                .alert_from_value(value, origin, errors)
                .map(|mut a| {
                    a.broker_columns = broker_columns;
                    AnyAlert::Ztf(a)
                })
        };
        match decoded {
            Ok(alert) => alerts.push(alert),
            Err(kind) => errors.push(ReadError::new(&**file, Some(record), kind)),
        }
    }
    Ok(())
}

/// The LSST schema version of a table that does not say it, told by its columns (needs
/// the schema folder); `None` when it says it (the rows do), or no single version fits.
fn lsst_version(root: &ParquetType, schemas: Option<&Path>) -> Option<SchemaVersion> {
    let columns: ColumnShape = root
        .get_fields()
        .iter()
        .map(|t| (t.name().to_string(), record_fields(t)))
        .collect();
    if !columns.contains_key("diaSource") || columns.contains_key("lsst_schema_version") {
        return None;
    }
    let dir = schema_dir(schemas)?;
    match versions_matching(&dir, &columns)[..] {
        [only] => Some(only),
        _ => None,
    }
}

/// The field names of the records a column holds: a struct's, or a list's element struct's
/// (`list<element: struct>` in the three-level LIST layout, or Spark's legacy two levels).
fn record_fields(t: &ParquetType) -> Option<std::collections::BTreeSet<String>> {
    if !t.is_group() {
        return None;
    }
    let fields = t.get_fields();
    let is_list = t.get_basic_info().converted_type() == parquet::basic::ConvertedType::LIST;
    if is_list {
        let repeated = fields.first()?;
        let element = match repeated.get_fields() {
            [element] if repeated.is_group() => element,
            _ => repeated,
        };
        return record_fields(element);
    }
    Some(fields.iter().map(|f| f.name().to_string()).collect())
}

fn broker_columns(row: &Value) -> std::collections::BTreeMap<String, serde_json::Value> {
    let Value::Record(fields) = row else {
        return Default::default();
    };
    fields
        .iter()
        .filter(|(name, _)| !ZTF_FIELDS.contains(&name.as_str()))
        .map(|(name, v)| (name.clone(), to_json(v.clone())))
        .collect()
}

/// A Parquet field as the Avro value the same alert field has in an Avro file.
fn field_value(field: Field) -> Value {
    match field {
        Field::Group(row) => Value::Record(
            row.into_columns()
                .into_iter()
                .map(|(name, field)| (name, field_value(field)))
                .collect(),
        ),
        Field::Bytes(b) => Value::Bytes(b.data().to_vec()),
        Field::Str(s) => Value::String(s),
        other => field_ref_value(&other),
    }
}

fn field_ref_value(field: &Field) -> Value {
    match field {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Boolean(*b),
        Field::Byte(x) => Value::Int(i32::from(*x)),
        Field::Short(x) => Value::Int(i32::from(*x)),
        Field::Int(x) => Value::Int(*x),
        Field::Long(x) => Value::Long(*x),
        Field::UByte(x) => Value::Int(i32::from(*x)),
        Field::UShort(x) => Value::Int(i32::from(*x)),
        Field::UInt(x) => Value::Long(i64::from(*x)),
        Field::ULong(x) => i64::try_from(*x)
            .map(Value::Long)
            .unwrap_or(Value::Double(*x as f64)),
        Field::Float16(x) => Value::Float(x.to_f32()),
        Field::Float(x) => Value::Float(*x),
        Field::Double(x) => Value::Double(*x),
        Field::Str(s) => Value::String(s.clone()),
        Field::Bytes(b) => Value::Bytes(b.data().to_vec()),
        Field::Date(x) | Field::TimeMillis(x) => Value::Int(*x),
        Field::TimeMicros(x) | Field::TimestampMillis(x) | Field::TimestampMicros(x) => {
            Value::Long(*x)
        }
        Field::Group(row) => Value::Record(
            row.get_column_iter()
                .map(|(name, field)| (name.clone(), field_ref_value(field)))
                .collect(),
        ),
        Field::ListInternal(list) => {
            Value::Array(list.elements().iter().map(field_ref_value).collect())
        }
        Field::MapInternal(map) => Value::Map(
            map.entries()
                .iter()
                .map(|(k, v)| (k.to_string(), field_ref_value(v)))
                .collect(),
        ),
        // Decimals appear in no alert schema; keep their text.
        other => Value::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_and_groups_map_to_avro_values() {
        use parquet::record::Row;
        let inner = Row::new(vec![("x".into(), Field::Float(1.5))]);
        let row = Row::new(vec![
            ("a".into(), Field::Long(7)),
            ("b".into(), Field::Null),
            ("c".into(), Field::Group(inner)),
        ]);
        let v = field_value(Field::Group(row));
        let Value::Record(fields) = v else {
            panic!("not a record: {v:?}")
        };
        assert_eq!(fields[0], ("a".into(), Value::Long(7)));
        assert_eq!(fields[1], ("b".into(), Value::Null));
        assert_eq!(
            fields[2],
            (
                "c".into(),
                Value::Record(vec![("x".into(), Value::Float(1.5))])
            )
        );
    }
}
