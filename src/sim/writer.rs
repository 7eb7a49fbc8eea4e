//! Writing: gzipped FITS cutouts and `ztf.alert` Avro files in the real writer schema.
//!
//! Values are given as [`Datum`] maps and fitted to whatever schema the templates carried
//! (3.x or 4.x): a field the schema lacks is dropped, a field the simulation does not know
//! is null where the schema allows null, and only otherwise a neutral value (-999 for
//! numbers, ZTF's own sentinel; empty for strings).

use super::physics::SIDE;
use apache_avro::schema::Name;
use apache_avro::types::Value;
use apache_avro::Schema;
use flate2::write::GzEncoder;
use std::collections::HashMap;
use std::io::Write;

/// A value to write, before it meets the schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Null,
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Record(Fields),
    Array(Vec<Datum>),
}

pub type Fields = HashMap<&'static str, Datum>;

impl From<f64> for Datum {
    fn from(v: f64) -> Self {
        Datum::Float(v)
    }
}
impl From<i64> for Datum {
    fn from(v: i64) -> Self {
        Datum::Int(v)
    }
}
impl From<i32> for Datum {
    fn from(v: i32) -> Self {
        Datum::Int(v as i64)
    }
}
impl From<&str> for Datum {
    fn from(v: &str) -> Self {
        Datum::Str(v.to_string())
    }
}
impl From<String> for Datum {
    fn from(v: String) -> Self {
        Datum::Str(v)
    }
}

/// A minimal valid FITS file: one primary image of 63x63 big-endian float32, the header
/// and the data each padded to 2880-byte blocks, then gzipped (gzip's timestamp stays 0, so
/// the same pixels always give the same bytes).
pub fn fits_gz(pixels: &[f32]) -> Vec<u8> {
    let mut header = String::new();
    let mut card = |key: &str, value: &str, comment: &str| {
        let c = format!("{key:<8}= {value:>20} / {comment}");
        header.push_str(&format!("{c:<80.80}"));
    };
    card("SIMPLE", "T", "conforms to FITS standard");
    card("BITPIX", "-32", "32-bit IEEE float");
    card("NAXIS", "2", "a 2-D image");
    card("NAXIS1", &SIDE.to_string(), "columns");
    card("NAXIS2", &SIDE.to_string(), "rows");
    card("ORIGIN", "'stampseq'", "simulated by stampseq simulate");
    header.push_str(&format!("{:<80}", "END"));
    let mut bytes = header.into_bytes();
    bytes.resize(bytes.len().div_ceil(2880) * 2880, b' ');
    for v in pixels {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.resize(bytes.len().div_ceil(2880) * 2880, 0);
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(&bytes);
    gz.finish().unwrap_or_default()
}

/// Named types of a schema, so `Ref`s (e.g. `cutoutTemplate: ["null", "ztf.alert.cutout"]`)
/// can be followed.
fn named_types(schema: &Schema, out: &mut HashMap<Name, Schema>) {
    match schema {
        Schema::Record(r) => {
            out.insert(r.name.clone(), schema.clone());
            for f in &r.fields {
                named_types(&f.schema, out);
            }
        }
        Schema::Array(a) => named_types(&a.items, out),
        Schema::Map(m) => named_types(&m.types, out),
        Schema::Union(u) => u.variants().iter().for_each(|v| named_types(v, out)),
        Schema::Enum(e) => {
            out.insert(e.name.clone(), schema.clone());
        }
        Schema::Fixed(f) => {
            out.insert(f.name.clone(), schema.clone());
        }
        _ => {}
    }
}

/// Why a simulated alert could not be written as Avro.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Avro(#[from] Box<apache_avro::Error>),
    #[error("a union of null only")]
    UnionOfNullOnly,
    #[error("unknown named type {0}")]
    UnknownName(Name),
    #[error("schema type {0} is not used by ztf.alert")]
    Unused(String),
    /// A field of a record, by `record.field`, with what went wrong inside it.
    #[error("{field}: {source}")]
    Field {
        field: String,
        source: Box<WriteError>,
    },
}

pub struct AlertWriter {
    schema: Schema,
    names: HashMap<Name, Schema>,
}

impl AlertWriter {
    pub fn new(schema: Schema) -> Self {
        let mut names = HashMap::new();
        named_types(&schema, &mut names);
        Self { schema, names }
    }

    /// One Avro container file holding one alert. The sync marker is given, not random, so
    /// a seed always gives the same bytes.
    pub fn write(&self, alert: &Fields, marker: [u8; 16]) -> Result<Vec<u8>, WriteError> {
        let value = self.fit(&self.schema, Some(&Datum::Record(alert.clone())))?;
        let mut w = apache_avro::Writer::builder()
            .schema(&self.schema)
            .writer(Vec::new())
            .marker(marker)
            .build()
            .map_err(Box::new)?;
        w.append_value(value).map_err(Box::new)?;
        Ok(w.into_inner().map_err(Box::new)?)
    }

    fn fit(&self, schema: &Schema, d: Option<&Datum>) -> Result<Value, WriteError> {
        let d = d.filter(|d| **d != Datum::Null);
        Ok(match schema {
            Schema::Union(u) => {
                let variants = u.variants();
                let null = variants.iter().position(|v| matches!(v, Schema::Null));
                match (d, null) {
                    (None, Some(i)) => Value::Union(i as u32, Box::new(Value::Null)),
                    _ => {
                        let (i, v) = variants
                            .iter()
                            .enumerate()
                            .find(|(_, v)| !matches!(v, Schema::Null))
                            .ok_or(WriteError::UnionOfNullOnly)?;
                        Value::Union(i as u32, Box::new(self.fit(v, d)?))
                    }
                }
            }
            Schema::Null => Value::Null,
            Schema::Boolean => Value::Boolean(matches!(d, Some(Datum::Int(v)) if *v != 0)),
            Schema::Int => Value::Int(number(d).map_or(-999, |v| v.round() as i32)),
            Schema::Long => Value::Long(match d {
                Some(Datum::Int(v)) => *v,
                other => number(other).map_or(-999, |v| v.round() as i64),
            }),
            Schema::Float => Value::Float(number(d).unwrap_or(-999.0) as f32),
            Schema::Double => Value::Double(number(d).unwrap_or(-999.0)),
            Schema::String => Value::String(match d {
                Some(Datum::Str(s)) => s.clone(),
                Some(Datum::Int(v)) => v.to_string(),
                Some(Datum::Float(v)) => v.to_string(),
                _ => String::new(),
            }),
            Schema::Bytes => Value::Bytes(match d {
                Some(Datum::Bytes(b)) => b.clone(),
                _ => Vec::new(),
            }),
            Schema::Record(r) => {
                let empty = Fields::new();
                let given = match d {
                    Some(Datum::Record(f)) => f,
                    _ => &empty,
                };
                let mut fields = Vec::with_capacity(r.fields.len());
                for f in &r.fields {
                    let v = self
                        .fit(&f.schema, given.get(f.name.as_str()))
                        .map_err(|e| WriteError::Field {
                            field: format!("{}.{}", r.name.name(), f.name),
                            source: Box::new(e),
                        })?;
                    fields.push((f.name.clone(), v));
                }
                Value::Record(fields)
            }
            Schema::Array(a) => Value::Array(match d {
                Some(Datum::Array(items)) => items
                    .iter()
                    .map(|i| self.fit(&a.items, Some(i)))
                    .collect::<Result<_, _>>()?,
                _ => Vec::new(),
            }),
            Schema::Ref { name } => {
                let target = self
                    .names
                    .get(name)
                    .ok_or_else(|| WriteError::UnknownName(name.clone()))?;
                self.fit(target, d)?
            }
            other => return Err(WriteError::Unused(format!("{other:?}"))),
        })
    }
}

fn number(d: Option<&Datum>) -> Option<f64> {
    match d {
        Some(Datum::Int(v)) => Some(*v as f64),
        Some(Datum::Float(v)) if v.is_finite() => Some(*v),
        _ => None,
    }
}
