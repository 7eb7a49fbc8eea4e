//! Decoded Avro values (or Parquet rows turned into them) -> [`LsstAlert`], for every
//! schema from 7.0 to 11.1 and for broker copies: fields are matched by name, integers
//! stored as doubles are accepted when integral, unknown fields are kept in the maps.

use super::cutout::decode_lsst_cutout;
use super::types::*;
use crate::alert::avro_value::{as_f64, as_i64, as_string, strip_union, value_kind};
use crate::alert::{AlertOrigin, CutoutError, CutoutKind, ReadError, ReadErrorKind};
use apache_avro::types::Value;

/// True when a decoded top-level record is an LSST alert rather than a ZTF one.
pub fn looks_like_lsst(value: &Value) -> bool {
    match value {
        Value::Record(fields) => fields.iter().any(|(n, _)| n == "diaSource"),
        Value::Union(_, inner) => looks_like_lsst(inner),
        _ => false,
    }
}

/// Turns records into alerts; cutouts are decoded unless told not to.
#[derive(Debug, Clone, Copy)]
pub struct LsstRecordReader {
    pub decode_stamps: bool,
}

impl LsstRecordReader {
    /// One alert from one record. Cutout problems go to `errors` (the alert is kept); a
    /// record that is not an alert at all is the `Err`.
    pub fn alert_from_value(
        &self,
        value: Value,
        schema: Option<SchemaVersion>,
        origin: AlertOrigin,
        errors: &mut Vec<ReadError>,
    ) -> Result<LsstAlert, ReadErrorKind> {
        let fields = match strip_union(value) {
            Value::Record(fields) => fields,
            other => {
                return Err(ReadErrorKind::NotAnAlert(format!(
                    "top level is {}, not a record",
                    value_kind(&other)
                )))
            }
        };
        let mut alert_id = None;
        let mut dia_source = None;
        let mut prv_dia_sources = Vec::new();
        let mut prv_dia_forced_sources = Vec::new();
        let mut dia_object = None;
        let mut ss_source = None;
        let mut ss_object = None;
        let mut mpc_orbits = None;
        let mut extra = FieldMap::new();
        let mut cutouts = LsstCutouts::default();
        for (name, value) in fields {
            let value = strip_union(value);
            match name.as_str() {
                "diaSourceId" | "alertId" => alert_id = as_i64(&value),
                "diaSource" => {
                    let source = dia_source_from(value)?;
                    check_placed(&source)?;
                    dia_source = Some(source)
                }
                "prvDiaSources" => {
                    let sources: Vec<DiaSource> = records(value)
                        .map(dia_source_from)
                        .collect::<Result<_, _>>()
                        .map_err(|e| in_field("prvDiaSources", e))?;
                    // An earlier detection with no finite time or position is left out of
                    // the history, as a ZTF `prv_candidates` entry without `jd` is.
                    prv_dia_sources = sources
                        .into_iter()
                        .filter(|s| check_placed(s).is_ok())
                        .collect()
                }
                "prvDiaForcedSources" => {
                    prv_dia_forced_sources = records(value)
                        .filter_map(forced_from)
                        .filter(|f| f.midpoint_mjd_tai.is_finite())
                        .collect()
                }
                "diaObject" => dia_object = record_map(value),
                "ssSource" => ss_source = record_map(value),
                "ssObject" => ss_object = record_map(value),
                "mpc_orbits" | "MPCORB" => mpc_orbits = record_map(value),
                _ => {
                    if let Some(kind) = CutoutKind::from_field(&name) {
                        if self.decode_stamps {
                            *cutouts.slot(kind) = cutout(value, kind, &origin, errors);
                        }
                    } else if !matches!(value, Value::Null) {
                        extra.insert(name, to_json(value));
                    }
                }
            }
        }
        let dia_source =
            dia_source.ok_or_else(|| ReadErrorKind::NotAnAlert("no diaSource record".into()))?;
        // The Fink v10 copies say their version in a column of their own.
        let schema = schema.or_else(|| {
            extra
                .get("lsst_schema_version")
                .and_then(|v| v.as_str())
                .and_then(SchemaVersion::from_namespace)
        });
        Ok(LsstAlert {
            alert_id: alert_id.unwrap_or(dia_source.dia_source_id),
            schema,
            dia_source,
            prv_dia_sources,
            prv_dia_forced_sources,
            dia_object,
            ss_source,
            ss_object,
            mpc_orbits,
            extra,
            cutouts,
            origin,
        })
    }
}

fn in_field(field: &str, e: ReadErrorKind) -> ReadErrorKind {
    match e {
        ReadErrorKind::NotAnAlert(p) => ReadErrorKind::NotAnAlert(format!("{field}: {p}")),
        other => other,
    }
}

fn cutout(
    value: Value,
    kind: CutoutKind,
    origin: &AlertOrigin,
    errors: &mut Vec<ReadError>,
) -> Option<LsstCutout> {
    let report = |errors: &mut Vec<ReadError>, problem: CutoutError| {
        errors.push(ReadError::new(
            &*origin.file,
            Some(origin.record),
            ReadErrorKind::Cutout {
                cutout: kind.field(),
                problem,
            },
        ))
    };
    let bytes = match value {
        Value::Null => return None,
        Value::Bytes(b) | Value::Fixed(_, b) => b,
        other => {
            report(
                errors,
                CutoutError::NotBytes {
                    field: "cutout",
                    found: value_kind(&other),
                },
            );
            return None;
        }
    };
    match decode_lsst_cutout(&bytes) {
        Ok(decoded) => {
            for problem in decoded.problems {
                report(errors, problem);
            }
            Some(decoded.cutout)
        }
        Err(problem) => {
            report(errors, problem);
            None
        }
    }
}

/// The records of an array field; null (a first detection) is no records.
fn records(value: Value) -> impl Iterator<Item = Value> {
    let items = match value {
        Value::Array(items) => items,
        _ => Vec::new(),
    };
    items.into_iter().map(strip_union)
}

fn record_map(value: Value) -> Option<FieldMap> {
    match value {
        Value::Record(fields) => Some(
            fields
                .into_iter()
                .map(|(n, v)| (n, to_json(strip_union(v))))
                .collect(),
        ),
        _ => None,
    }
}

/// A value as JSON, for the maps that keep every field. Bytes are not kept (only cutouts
/// hold bytes, and they are decoded apart); their size is.
pub(crate) fn to_json(value: Value) -> serde_json::Value {
    use serde_json::Value as J;
    match strip_union(value) {
        Value::Null => J::Null,
        Value::Boolean(b) => J::Bool(b),
        Value::Int(x) => J::from(x),
        Value::Long(x) => J::from(x),
        Value::Float(x) => J::from(x as f64),
        Value::Double(x) => J::from(x),
        Value::String(s) | Value::Enum(_, s) => J::String(s),
        Value::Bytes(b) | Value::Fixed(_, b) => J::String(format!("<{} bytes>", b.len())),
        Value::Array(items) => J::Array(items.into_iter().map(to_json).collect()),
        Value::Map(map) => J::Object(map.into_iter().map(|(k, v)| (k, to_json(v))).collect()),
        Value::Record(fields) => {
            J::Object(fields.into_iter().map(|(k, v)| (k, to_json(v))).collect())
        }
        other => J::String(format!("{other:?}")),
    }
}

/// 0 is how Rubin writes "no id".
fn id(v: Option<&Value>) -> Option<i64> {
    v.and_then(as_i64).filter(|&x| x != 0)
}

fn field<'a>(fields: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .map(|v| match v {
            Value::Union(_, inner) => inner.as_ref(),
            v => v,
        })
}

fn dia_source_from(value: Value) -> Result<DiaSource, ReadErrorKind> {
    let Value::Record(fields) = value else {
        return Err(ReadErrorKind::NotAnAlert(format!(
            "diaSource is {}, not a record",
            value_kind(&value)
        )));
    };
    let f = |name: &str| field(&fields, name).and_then(as_f64);
    let missing = |name: &str| ReadErrorKind::NotAnAlert(format!("diaSource lacks {name}"));
    let dia_source_id = field(&fields, "diaSourceId")
        .and_then(as_i64)
        .ok_or_else(|| missing("diaSourceId"))?;
    let midpoint_mjd_tai = f("midpointMjdTai").ok_or_else(|| missing("midpointMjdTai"))?;
    let ra = f("ra").ok_or_else(|| missing("ra"))?;
    let dec = f("dec").ok_or_else(|| missing("dec"))?;
    let source = DiaSource {
        dia_source_id,
        visit: field(&fields, "visit").and_then(as_i64),
        detector: field(&fields, "detector")
            .and_then(as_i64)
            .and_then(|x| i32::try_from(x).ok()),
        dia_object_id: id(field(&fields, "diaObjectId")),
        ss_object_id: id(field(&fields, "ssObjectId")),
        midpoint_mjd_tai,
        band: field(&fields, "band")
            .and_then(|v| as_string(v.clone()))
            .unwrap_or_default(),
        ra,
        dec,
        psf_flux: f("psfFlux"),
        psf_flux_err: f("psfFluxErr"),
        snr: f("snr"),
        reliability: f("reliability"),
        is_negative: match field(&fields, "isNegative") {
            Some(Value::Boolean(b)) => Some(*b),
            _ => None,
        },
        fields: FieldMap::new(),
    };
    Ok(DiaSource {
        fields: fields.into_iter().map(|(n, v)| (n, to_json(v))).collect(),
        ..source
    })
}

/// A detection needs a finite time and position: without them it cannot be placed in its
/// object's sequence, nor on the sky.
fn check_placed(source: &DiaSource) -> Result<(), ReadErrorKind> {
    let coordinates = [
        ("midpointMjdTai", source.midpoint_mjd_tai),
        ("ra", source.ra),
        ("dec", source.dec),
    ];
    match coordinates.iter().find(|(_, x)| !x.is_finite()) {
        Some((name, x)) => Err(ReadErrorKind::NotAnAlert(format!(
            "diaSource {name} is {x}, not a finite number"
        ))),
        None => Ok(()),
    }
}

fn forced_from(value: Value) -> Option<DiaForcedSource> {
    let Value::Record(fields) = value else {
        return None;
    };
    let f = |name: &str| field(&fields, name).and_then(as_f64);
    let source = DiaForcedSource {
        dia_forced_source_id: field(&fields, "diaForcedSourceId").and_then(as_i64),
        dia_object_id: id(field(&fields, "diaObjectId")),
        visit: field(&fields, "visit").and_then(as_i64),
        midpoint_mjd_tai: f("midpointMjdTai")?,
        band: field(&fields, "band")
            .and_then(|v| as_string(v.clone()))
            .unwrap_or_default(),
        ra: f("ra"),
        dec: f("dec"),
        psf_flux: f("psfFlux"),
        psf_flux_err: f("psfFluxErr"),
        fields: FieldMap::new(),
    };
    Some(DiaForcedSource {
        fields: fields.into_iter().map(|(n, v)| (n, to_json(v))).collect(),
        ..source
    })
}
