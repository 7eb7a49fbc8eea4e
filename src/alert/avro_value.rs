//! Reading Avro values whatever the writer: unions stripped, numbers widened, strings from
//! strings, enums or bytes. Shared by the ZTF and LSST record decoders.

use apache_avro::types::Value;

pub(crate) fn strip_union(v: Value) -> Value {
    match v {
        Value::Union(_, inner) => strip_union(*inner),
        other => other,
    }
}

pub(crate) fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "a boolean",
        Value::Int(_) | Value::Long(_) => "an integer",
        Value::Float(_) | Value::Double(_) => "a float",
        Value::Bytes(_) | Value::Fixed(..) => "bytes",
        Value::String(_) | Value::Enum(..) => "a string",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        Value::Record(_) => "a record",
        _ => "another type",
    }
}

pub(crate) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Double(x) => Some(*x),
        Value::Float(x) => Some(*x as f64),
        Value::Long(x) => Some(*x as f64),
        Value::Int(x) => Some(*x as f64),
        Value::Union(_, inner) => as_f64(inner),
        _ => None,
    }
}

pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Long(x) => Some(*x),
        Value::Int(x) => Some(*x as i64),
        // Some writers store integer columns as doubles (e.g. ndethist in labelled tables).
        Value::Double(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(*x as i64),
        Value::Float(x) if x.fract() == 0.0 => Some(*x as i64),
        Value::Union(_, inner) => as_i64(inner),
        _ => None,
    }
}

pub(crate) fn as_i32(v: &Value) -> Option<i32> {
    as_i64(v).and_then(|x| i32::try_from(x).ok())
}

pub(crate) fn as_string(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Enum(_, s) => Some(s),
        Value::Bytes(b) => String::from_utf8(b).ok(),
        Value::Union(_, inner) => as_string(*inner),
        _ => None,
    }
}

pub(crate) fn as_str(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Enum(_, s) => Some(s),
        Value::Union(_, inner) => as_str(inner),
        _ => None,
    }
}
