//! Writer schemas by Confluent schema id, from a local folder laid out like lsst/alert_packet's
//! `schema/` (`<major>/<minor>/lsst.v<M>_<m>.<record>.avsc`).
//!
//! Every framed message must be decoded with the exact schema it was written with: 11.1
//! inserts fields in the middle of `diaSource`, so its messages do not decode with 11.0. The
//! `.avsc` files of one version name each other (`lsst.v10_0.diaSource`), so they are parsed
//! as one set. The schemas are GPL-3.0 and are never bundled; the user points at a copy.

use super::registry::{RegistryError, SchemaRegistry};
use super::types::SchemaVersion;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::ResolvedSchema;
use apache_avro::types::Value;
use apache_avro::Schema;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The environment variable naming the schema folder when no option does.
pub const SCHEMAS_ENV: &str = "STAMPSEQ_LSST_SCHEMAS";

/// Why no writer schema could be had for an id.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "schema id {id} needs the LSST alert schemas: give --lsst-schemas DIR (alert_packet's \
         schema/ folder), set {SCHEMAS_ENV}, or give --schema-registry URL (the stream's \
         Confluent registry)"
    )]
    NoFolder { id: u32 },
    #[error("unknown schema id {id} (v{major}.{minor}): no {dir}/{major}/{minor}/lsst.v{major}_{minor}.alert.avsc")]
    Unknown {
        id: u32,
        major: u32,
        minor: u32,
        dir: String,
    },
    #[error("schema id {id}: {source}")]
    Invalid {
        id: u32,
        source: Arc<apache_avro::Error>,
    },
    #[error("schema id {id}: {}: {source}", path.display())]
    Unreadable {
        id: u32,
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    #[error("schema id {id}: {}: {source}", folder.display())]
    InvalidSet {
        id: u32,
        folder: PathBuf,
        source: Arc<apache_avro::Error>,
    },
    #[error("schema id {id}: no record named {name}")]
    NoAlertRecord { id: u32, name: String },
    #[error("schema id {id}: {source}")]
    Registry { id: u32, source: Arc<RegistryError> },
}

/// Where writer schemas come from: a local folder first, then a registry.
#[derive(Debug, Clone, Default)]
pub struct SchemaSources {
    /// alert_packet's `schema/` folder; `None` falls back to `$STAMPSEQ_LSST_SCHEMAS`.
    pub dir: Option<PathBuf>,
    pub registry: Option<SchemaRegistry>,
}

/// One version's schemas, parsed, ready to decode datums.
pub struct WriterSchema {
    pub version: SchemaVersion,
    reader: GenericDatumReader<'static>,
}

impl WriterSchema {
    /// Decodes one schemaless datum; `data` is advanced past it.
    pub fn read_value(&self, data: &mut &[u8]) -> Result<Value, apache_avro::Error> {
        self.reader.read_value(data)
    }

    /// One self-contained schema, as a registry serves it.
    fn from_text(text: &str, id: u32) -> Result<Self, SchemaError> {
        let invalid = |e| SchemaError::Invalid {
            id,
            source: Arc::new(e),
        };
        let schema = Schema::parse_str(text).map_err(invalid)?;
        // Leaked as in `load`: one per version for the life of the process.
        let schema: &'static Schema = Box::leak(Box::new(schema));
        let reader = GenericDatumReader::builder(schema)
            .build()
            .map_err(invalid)?;
        Ok(Self {
            version: SchemaVersion::from_id(id),
            reader,
        })
    }

    fn load(dir: &Path, id: u32) -> Result<Self, SchemaError> {
        let version = SchemaVersion::from_id(id);
        let folder = dir
            .join(version.major.to_string())
            .join(version.minor.to_string());
        let prefix = format!("{}.", version.namespace());
        let unknown = || SchemaError::Unknown {
            id,
            major: version.major,
            minor: version.minor,
            dir: dir.display().to_string(),
        };
        let entries = std::fs::read_dir(&folder).map_err(|_| unknown())?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".avsc"))
            })
            .collect();
        files.sort();
        let alert_name = format!("{}.alert", version.namespace());
        if !files.iter().any(|p| {
            p.file_stem()
                .is_some_and(|s| s.to_string_lossy() == alert_name)
        }) {
            return Err(unknown());
        }
        let invalid = |e| SchemaError::Invalid {
            id,
            source: Arc::new(e),
        };
        let texts = files
            .iter()
            .map(|p| {
                std::fs::read_to_string(p).map_err(|e| SchemaError::Unreadable {
                    id,
                    path: p.clone(),
                    source: Arc::new(e),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let schemata = Schema::parse_list(&texts).map_err(|e| SchemaError::InvalidSet {
            id,
            folder: folder.clone(),
            source: Arc::new(e),
        })?;
        // Leaked on purpose: the datum reader borrows the schemas, and each version is
        // loaded once for the life of the process (a dozen versions exist).
        let schemata: &'static [Schema] = Box::leak(schemata.into_boxed_slice());
        let alert = schemata
            .iter()
            .find(|s| s.name().is_some_and(|n| n.fullname(None) == alert_name))
            .ok_or_else(|| SchemaError::NoAlertRecord {
                id,
                name: alert_name.clone(),
            })?;
        // apache-avro resolves references in list order, and only to schemas before them:
        // the alert, which names all the others, goes last.
        let mut ordered: Vec<&Schema> = schemata
            .iter()
            .filter(|s| !std::ptr::eq(*s, alert))
            .collect();
        ordered.push(alert);
        let resolved = ResolvedSchema::new_with_schemata(ordered).map_err(invalid)?;
        let reader = GenericDatumReader::builder(alert)
            .resolved_writer_schemata(resolved)
            .build()
            .map_err(invalid)?;
        Ok(Self { version, reader })
    }
}

/// Schemas by (folder or registry URL, id).
type Cache = Mutex<HashMap<(String, u32), Arc<WriterSchema>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The schema folder to use: the one given, else `$STAMPSEQ_LSST_SCHEMAS`.
pub fn schema_dir(given: Option<&Path>) -> Option<PathBuf> {
    given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(SCHEMAS_ENV).map(PathBuf::from))
}

/// The writer schema for a Confluent schema id: from the local folder when it has the
/// version, else from the registry; loaded once per source and id.
pub fn writer_schema(sources: &SchemaSources, id: u32) -> Result<Arc<WriterSchema>, SchemaError> {
    let dir = schema_dir(sources.dir.as_deref());
    let local = match &dir {
        Some(dir) => match cached_or(format!("dir:{}", dir.display()), id, || {
            WriterSchema::load(dir, id)
        }) {
            Ok(schema) => return Ok(schema),
            Err(e) => Some(e),
        },
        None => None,
    };
    match (&sources.registry, local) {
        (Some(registry), _) => cached_or(format!("url:{}", registry.url), id, || {
            let text = registry
                .schema_text(id)
                .map_err(|e| SchemaError::Registry {
                    id,
                    source: Arc::new(e),
                })?;
            WriterSchema::from_text(&text, id)
        }),
        (None, Some(local_error)) => Err(local_error),
        (None, None) => Err(SchemaError::NoFolder { id }),
    }
}

fn cached_or(
    source: String,
    id: u32,
    load: impl FnOnce() -> Result<WriterSchema, SchemaError>,
) -> Result<Arc<WriterSchema>, SchemaError> {
    let key = (source, id);
    if let Some(s) = cache().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(s.clone());
    }
    // Only schemas that load are cached: a source fixed by the user is seen on the next try.
    let loaded = Arc::new(load()?);
    cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, loaded.clone());
    Ok(loaded)
}

/// The shape of a broker's table: each top-level column, with the field names of the
/// records it holds (a struct, or a list of structs), or `None` for a plain column or one
/// whose type the broker lost (a column of nulls).
pub type ColumnShape =
    std::collections::BTreeMap<String, Option<std::collections::BTreeSet<String>>>;

/// One version's alert fields and, for those holding records, the records' field names.
struct VersionShape {
    version: SchemaVersion,
    fields: Vec<(String, Option<std::collections::BTreeSet<String>>)>,
}

/// The schema versions in `dir` whose alert record a broker table matches: every alert
/// field is a column, and every column holding records has exactly that record's fields.
/// Fink's copies of 7.x alerts say no version; their columns tell it (7.0 and 7.1 differ in
/// `diaForcedSource`, 7.1 and 7.2 in `diaSource`).
pub fn versions_matching(dir: &Path, columns: &ColumnShape) -> Vec<SchemaVersion> {
    type ShapeCache = Mutex<HashMap<PathBuf, Arc<Vec<VersionShape>>>>;
    static SHAPES: OnceLock<ShapeCache> = OnceLock::new();
    let shapes = {
        let mut cache = SHAPES
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        cache
            .entry(dir.to_path_buf())
            .or_insert_with(|| Arc::new(version_shapes(dir)))
            .clone()
    };
    shapes
        .iter()
        .filter(|shape| {
            shape
                .fields
                .iter()
                .all(|(name, records)| match columns.get(name) {
                    None => false,
                    Some(Some(have)) => records.as_ref().is_none_or(|want| want == have),
                    Some(None) => true,
                })
        })
        .map(|shape| shape.version)
        .collect()
}

fn version_shapes(dir: &Path) -> Vec<VersionShape> {
    let mut out = Vec::new();
    let numbered = |p: &Path| -> Vec<(u32, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(p) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|p| {
                let n = p.file_name()?.to_str()?.parse().ok()?;
                Some((n, p))
            })
            .collect()
    };
    for (major, major_dir) in numbered(dir) {
        for (minor, folder) in numbered(&major_dir) {
            let version = SchemaVersion { major, minor };
            if let Some(fields) = alert_shape(&folder, version) {
                out.push(VersionShape { version, fields });
            }
        }
    }
    out.sort_by_key(|s| s.version);
    out
}

type RecordFields = Option<std::collections::BTreeSet<String>>;

fn alert_shape(folder: &Path, version: SchemaVersion) -> Option<Vec<(String, RecordFields)>> {
    let ns = version.namespace();
    let read = |record: &str| -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(folder.join(format!("{ns}.{record}.avsc"))).ok()?;
        serde_json::from_str(&text).ok()
    };
    let names = |schema: &serde_json::Value| -> Option<std::collections::BTreeSet<String>> {
        schema["fields"]
            .as_array()?
            .iter()
            .map(|f| f["name"].as_str().map(str::to_string))
            .collect()
    };
    let alert = read("alert")?;
    let mut fields = Vec::new();
    for field in alert["fields"].as_array()? {
        let name = field["name"].as_str()?.to_string();
        let records = referenced_record(&field["type"], &ns)
            .and_then(|record| read(&record))
            .and_then(|schema| names(&schema));
        fields.push((name, records));
    }
    Some(fields)
}

/// The record a field's type names (directly, in a union, or as array items), without its
/// namespace.
fn referenced_record(t: &serde_json::Value, ns: &str) -> Option<String> {
    match t {
        serde_json::Value::String(name) => name
            .strip_prefix(ns)
            .and_then(|rest| rest.strip_prefix('.'))
            .map(str::to_string),
        serde_json::Value::Array(branches) => {
            branches.iter().find_map(|b| referenced_record(b, ns))
        }
        serde_json::Value::Object(o) => o.get("items").and_then(|i| referenced_record(i, ns)),
        _ => None,
    }
}
