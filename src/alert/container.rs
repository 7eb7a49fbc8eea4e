//! Avro object-container framing (header, blocks, sync markers, codecs) over bytes in
//! memory, with a cache of parsed writer schemas.
//!
//! apache-avro's `Reader` parses and validates the writer schema of every file it opens.
//! A ZTF night is hundreds of thousands of one-record files that all carry the same 40 kB
//! schema, and that parse cost 10x the record decoding. So the framing is read here (it is
//! a few dozen lines of the Avro spec), each distinct schema is parsed once by apache-avro,
//! and records are decoded by apache-avro's datum reader.

use super::error::AvroError;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::{Codec, Schema};
use std::any::Any;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

pub(crate) const MAGIC: &[u8; 4] = b"Obj\x01";
/// Distinct schemas kept parsed. Real inputs have a handful; the cap bounds what a stream
/// of adversarial files could pin in memory.
const SCHEMA_CACHE_CAP: usize = 256;

/// A parsed writer schema with its resolved names, ready to decode records.
pub struct CachedSchema {
    reader: GenericDatumReader<'static>,
    schema: &'static Schema,
    /// Full name of the top-level record (`ztf.alert`, `lsst.v10_0.alert`), which says
    /// which survey and version wrote the file.
    pub name: Option<String>,
    /// What a reader compiled from this schema (the ZTF decoder), made on first use; `None`
    /// inside when the schema is not one it reads.
    compiled: OnceLock<Option<Box<dyn Any + Send + Sync>>>,
}

impl CachedSchema {
    fn parse(json: &str) -> Result<Self, AvroError> {
        let writer_schema = |e| AvroError::WriterSchema(Arc::new(e));
        let schema = Schema::parse_str(json).map_err(writer_schema)?;
        // Leaked on purpose: the datum reader borrows the schema, and the cache keeps both
        // for the life of the process (at most SCHEMA_CACHE_CAP of them).
        let name = schema.name().map(|n| n.fullname(None));
        let schema: &'static Schema = Box::leak(Box::new(schema));
        let reader = GenericDatumReader::builder(schema)
            .build()
            .map_err(writer_schema)?;
        Ok(Self {
            reader,
            schema,
            name,
            compiled: OnceLock::new(),
        })
    }

    /// What `compile` makes of this schema, compiled once (the first caller's `T` is kept:
    /// one reader compiles schemas).
    pub(crate) fn compiled<T: Any + Send + Sync>(
        &self,
        compile: impl FnOnce(&Schema) -> Option<T>,
    ) -> Option<&T> {
        self.compiled
            .get_or_init(|| compile(self.schema).map(|t| Box::new(t) as Box<dyn Any + Send + Sync>))
            .as_ref()
            .and_then(|b| b.downcast_ref())
    }

    /// Decodes the record at the front of `data` into apache-avro's generic value.
    pub(crate) fn read_value(&self, data: &mut &[u8]) -> Result<Value, AvroError> {
        self.reader
            .read_value(data)
            .map_err(|e| AvroError::Record(Arc::new(e)))
    }
}

/// Parsed schemas by the length of their text, then the text itself: a ZTF night is one
/// 40 kB schema in every file, and hashing it whole for each file cost more than comparing
/// it with the one schema of its length.
type SchemaCache = HashMap<usize, Vec<(String, Arc<CachedSchema>)>>;

fn schema_cache() -> &'static Mutex<SchemaCache> {
    static CACHE: OnceLock<Mutex<SchemaCache>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The parsed schema of these `avro.schema` bytes, if it is in the cache.
fn cached_schema(bytes: &[u8]) -> Option<Arc<CachedSchema>> {
    schema_cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&bytes.len())
        .and_then(|same_length| {
            same_length
                .iter()
                .find(|(text, _)| text.as_bytes() == bytes)
        })
        .map(|(_, s)| s.clone())
}

/// Parses a schema not in the cache and puts it there.
fn parse_schema(json: &str) -> Result<Arc<CachedSchema>, AvroError> {
    let parsed = Arc::new(CachedSchema::parse(json)?);
    let mut cache = schema_cache().lock().unwrap_or_else(|p| p.into_inner());
    if cache.values().map(Vec::len).sum::<usize>() < SCHEMA_CACHE_CAP {
        cache
            .entry(json.len())
            .or_default()
            .push((json.to_string(), parsed.clone()));
    }
    Ok(parsed)
}

/// Why a container could not be read. `record` is the index of the first record lost.
#[derive(Debug)]
pub enum ContainerError {
    Header(AvroError),
    Body { record: usize, problem: AvroError },
}

impl ContainerError {
    /// The read error of `file` this stands for: a bad header is not Avro at all; a bad
    /// block puts the stream out of step, so the rest of the file is lost from `record` on.
    pub fn into_read_error(self, file: &str) -> super::ReadError {
        use super::ReadErrorKind;
        match self {
            ContainerError::Header(problem) => {
                super::ReadError::new(file, None, ReadErrorKind::NotAvro(problem))
            }
            ContainerError::Body { record, problem } => {
                super::ReadError::new(file, Some(record), ReadErrorKind::CorruptAvro(problem))
            }
        }
    }
}

fn read_long(buf: &mut &[u8]) -> Result<i64, AvroError> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = buf.split_first().ok_or(AvroError::Truncated)?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    Err(AvroError::MalformedInteger)
}

fn read_len(buf: &mut &[u8], what: &'static str) -> Result<usize, AvroError> {
    let n = read_long(buf)?;
    let n = usize::try_from(n).map_err(|_| AvroError::NegativeLength { what, length: n })?;
    if n > buf.len() {
        return Err(AvroError::PastTheEnd {
            what,
            length: n,
            left: buf.len(),
        });
    }
    Ok(n)
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    head
}

/// Decodes every record of an Avro container in memory, calling `on_record` for each. On a
/// corrupt block it stops and returns the error; records before it have been delivered.
#[cfg(test)]
pub fn for_each_record(
    bytes: &[u8],
    mut on_record: impl FnMut(usize, Value),
) -> Result<usize, ContainerError> {
    for_each_record_raw(bytes, |index, data, schema| {
        on_record(index, schema.read_value(data)?);
        Ok(())
    })
}

/// Hands each record's bytes to `on_record`, which must consume exactly that record from
/// the front of `data` (with [`CachedSchema::read_value`] or a decoder of its own): the
/// records of a block follow each other with nothing between them. The bytes are borrowed
/// from `bytes` (or from the inflated block), so nothing is copied that is not kept.
pub(crate) fn for_each_record_raw(
    bytes: &[u8],
    mut on_record: impl FnMut(usize, &mut &[u8], &CachedSchema) -> Result<(), AvroError>,
) -> Result<usize, ContainerError> {
    let header = ContainerError::Header;
    if bytes.len() < 4 || &bytes[..4] != MAGIC {
        return Err(header(AvroError::NoMagic));
    }
    let mut buf = &bytes[4..];
    let mut schema_json: Option<&str> = None;
    // A schema found in the cache was UTF-8 when it was put there: the same bytes are not
    // checked again (40 kB per ZTF file).
    let mut schema_found = None;
    let mut codec_name = "null";
    loop {
        let mut count = read_long(&mut buf).map_err(header)?;
        if count == 0 {
            break;
        }
        if count < 0 {
            count = -count;
            read_long(&mut buf).map_err(header)?; // block size in bytes, not needed
        }
        for _ in 0..count {
            let klen = read_len(&mut buf, "metadata key").map_err(header)?;
            let key = take(&mut buf, klen);
            let vlen = read_len(&mut buf, "metadata value").map_err(header)?;
            let value = take(&mut buf, vlen);
            match key {
                b"avro.schema" => {
                    schema_found = cached_schema(value);
                    if schema_found.is_none() {
                        schema_json = Some(std::str::from_utf8(value).map_err(|source| {
                            header(AvroError::NotUtf8 {
                                what: "schema",
                                source,
                            })
                        })?);
                    }
                }
                b"avro.codec" => {
                    codec_name = std::str::from_utf8(value).map_err(|source| {
                        header(AvroError::NotUtf8 {
                            what: "codec name",
                            source,
                        })
                    })?
                }
                _ => {}
            }
        }
    }
    let schema = match (schema_found, schema_json) {
        (Some(schema), _) => schema,
        (None, Some(json)) => parse_schema(json).map_err(header)?,
        (None, None) => return Err(header(AvroError::NoSchema)),
    };
    let codec = Codec::from_str(codec_name).map_err(|_| {
        header(AvroError::UnsupportedCodec {
            codec: codec_name.to_string(),
        })
    })?;
    if buf.len() < 16 {
        return Err(header(AvroError::NoSyncMarker));
    }
    let sync = take(&mut buf, 16);

    let mut record = 0usize;
    while !buf.is_empty() {
        let body = |problem: AvroError| ContainerError::Body { record, problem };
        let count = read_long(&mut buf).map_err(body)?;
        let size = read_len(&mut buf, "block").map_err(body)?;
        let block = take(&mut buf, size);
        if buf.len() < 16 || &buf[..16] != sync {
            return Err(body(AvroError::SyncMismatch));
        }
        buf = &buf[16..];
        if count < 0 {
            return Err(body(AvroError::NegativeCount(count)));
        }
        let owned;
        let mut data: &[u8] = if matches!(codec, Codec::Null) {
            block
        } else {
            let mut v = block.to_vec();
            codec.decompress(&mut v).map_err(|e| {
                body(AvroError::Block {
                    codec: codec_name.to_string(),
                    source: Arc::new(e),
                })
            })?;
            owned = v;
            &owned
        };
        for _ in 0..count {
            on_record(record, &mut data, &schema)
                .map_err(|p| ContainerError::Body { record, problem: p })?;
            record += 1;
        }
    }
    Ok(record)
}
