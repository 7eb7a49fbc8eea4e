//! A ZTF record's fields read into an [`Alert`], whoever decoded them: apache-avro's `Value`
//! tree (`avro.rs`) or the compiled decoder (`compiled.rs`). One setter per record kind, so
//! both read every field alike.

use super::types::*;
use crate::alert::avro_value::*;
use crate::alert::cutout::decode_cutout;
use crate::alert::error::{CutoutError, ReadError, ReadErrorKind};
use crate::alert::{AlertOrigin, CutoutKind};
use apache_avro::types::Value;
use std::borrow::Cow;

/// The alert of a record's fields, taken in the writer's order (the first bad candidate
/// stops the record; cutouts before it have been decoded and their errors kept).
pub(super) fn assemble<'a>(
    decode_stamps: bool,
    fields: impl Iterator<Item = Field<'a>>,
    origin: AlertOrigin,
    errors: &mut Vec<ReadError>,
) -> Result<Alert, ReadErrorKind> {
    let mut object_id = None;
    let mut candid = None;
    let mut schema_version = None;
    let mut publisher = None;
    let mut candidate = None;
    let mut flat = new_candidate();
    let mut prv_candidates = Vec::new();
    let mut fp_hists = Vec::new();
    let mut cutouts = Cutouts::default();
    let mut label = None;
    let mut has_cutout_fields = false;
    let mut broker_columns = std::collections::BTreeMap::new();

    for field in fields {
        match field {
            Field::ObjectId(v) => object_id = v,
            Field::Candid(v) => candid = v,
            Field::SchemaVersion(v) => schema_version = v,
            Field::Publisher(v) => publisher = v,
            Field::Label(v) => label = v,
            Field::Candidate(c) => candidate = Some(*c?),
            Field::Prv(v) => prv_candidates = v,
            Field::Fp(v) => fp_hists = v,
            Field::Cutout(kind, bytes) => {
                has_cutout_fields = true;
                if decode_stamps {
                    let stamp = bytes.and_then(|b| b.map(|b| decode_cutout(&b)).transpose());
                    match stamp {
                        Ok(stamp) => *cutouts.slot(kind) = stamp,
                        Err(problem) => errors.push(ReadError::new(
                            &*origin.file,
                            Some(origin.record),
                            ReadErrorKind::Cutout {
                                cutout: kind.field(),
                                problem,
                            },
                        )),
                    }
                }
            }
            Field::Other(name, value) => {
                if let Some(value) = set_candidate_field(&mut flat, &name, value) {
                    // Neither an alert field nor a candidate field of a flat stamp set:
                    // a column the broker added (Fink: `cdsxmatch`, `topic`, ...).
                    broker_columns.insert(name, crate::alert::lsst::to_json(value));
                }
            }
        }
    }

    let object_id =
        object_id.ok_or_else(|| ReadErrorKind::NotAnAlert("no objectId field".into()))?;
    let candidate = match candidate {
        Some(c) => c,
        // Labelled stamp sets: stamps with whatever metadata the record has.
        None if has_cutout_fields || (flat.ra.is_finite() && flat.dec.is_finite()) => flat,
        None => {
            return Err(ReadErrorKind::NotAnAlert(
                "no candidate record, no top-level ra/dec and no cutouts".into(),
            ))
        }
    };
    Ok(Alert {
        object_id,
        candid: candid.or(candidate.candid),
        schema_version,
        publisher,
        candidate,
        prv_candidates,
        fp_hists,
        cutouts,
        label,
        broker_columns,
        origin,
    })
}

/// One top-level field of a ZTF record, read into what the alert keeps: from apache-avro's
/// `Value` ([`Field::from_value`]) or straight from the bytes (`compiled.rs`).
pub(super) enum Field<'a> {
    ObjectId(Option<String>),
    Candid(Option<i64>),
    SchemaVersion(Option<String>),
    Publisher(Option<String>),
    Label(Option<String>),
    Candidate(Result<Box<Candidate>, ReadErrorKind>),
    Prv(Vec<PrvCandidate>),
    Fp(Vec<ForcedPhotometry>),
    /// A cutout's gzipped (or plain) FITS bytes, not yet decoded.
    Cutout(CutoutKind, Result<Option<Cow<'a, [u8]>>, CutoutError>),
    /// Any other field: a candidate field of a flat stamp set, or a broker's column.
    Other(String, Value),
}

/// The role of a top-level field, by its name.
pub(super) enum TopName {
    ObjectId,
    Candid,
    SchemaVersion,
    Publisher,
    Label,
    Candidate,
    Prv,
    Fp,
    Cutout(CutoutKind),
}

impl TopName {
    pub(super) fn of(name: &str) -> Option<Self> {
        Some(match name {
            "objectId" | "oid" => Self::ObjectId,
            "candid" => Self::Candid,
            "schemavsn" => Self::SchemaVersion,
            "publisher" => Self::Publisher,
            "label" => Self::Label,
            "candidate" => Self::Candidate,
            "prv_candidates" => Self::Prv,
            "fp_hists" => Self::Fp,
            _ => Self::Cutout(CutoutKind::from_field(name)?),
        })
    }
}

impl Field<'static> {
    /// The field `name` of a decoded record (its value already out of its union).
    pub(super) fn from_value(name: String, value: Value) -> Self {
        let Some(role) = TopName::of(&name) else {
            return Field::Other(name, value);
        };
        match role {
            TopName::ObjectId => Field::ObjectId(as_string(value)),
            TopName::Candid => Field::Candid(as_i64(&value)),
            TopName::SchemaVersion => Field::SchemaVersion(as_string(value)),
            TopName::Publisher => Field::Publisher(as_string(value)),
            TopName::Label => Field::Label(as_string(value)),
            TopName::Candidate => Field::Candidate(candidate_from_value(value).map(Box::new)),
            TopName::Prv => Field::Prv(match value {
                Value::Array(items) => items
                    .into_iter()
                    .filter_map(|v| prv_from_value(strip_union(v)))
                    .collect(),
                _ => Vec::new(),
            }),
            TopName::Fp => Field::Fp(match value {
                Value::Array(items) => items
                    .into_iter()
                    .filter_map(|v| fp_from_value(strip_union(v)))
                    .collect(),
                _ => Vec::new(),
            }),
            TopName::Cutout(kind) => {
                Field::Cutout(kind, cutout_bytes(value).map(|b| b.map(Cow::Owned)))
            }
        }
    }
}

fn diff_sign(v: &Value) -> Option<DiffSign> {
    match v {
        Value::Boolean(b) => Some(if *b {
            DiffSign::Positive
        } else {
            DiffSign::Negative
        }),
        Value::Int(_) | Value::Long(_) => as_i64(v).map(|x| {
            if x > 0 {
                DiffSign::Positive
            } else {
                DiffSign::Negative
            }
        }),
        _ => as_str(v).and_then(DiffSign::parse),
    }
}

/// Sets one candidate field by its schema name; unknown names are ignored.
/// Sets the candidate field `name`; gives the value back when no such field exists.
pub(super) fn set_candidate_field(c: &mut Candidate, name: &str, v: Value) -> Option<Value> {
    let f = || as_f64(&v);
    match name {
        "jd" => c.jd = f().unwrap_or(f64::NAN),
        "fid" => c.fid = as_i32(&v).unwrap_or(0),
        "pid" => c.pid = as_i64(&v),
        "candid" => c.candid = as_i64(&v),
        "diffmaglim" => c.diffmaglim = f(),
        "programid" => c.programid = as_i32(&v),
        "isdiffpos" => c.isdiffpos = diff_sign(&v),
        "nid" => c.nid = as_i32(&v),
        "rcid" => c.rcid = as_i32(&v),
        "field" => c.field = as_i32(&v),
        "xpos" => c.xpos = f(),
        "ypos" => c.ypos = f(),
        "ra" => c.ra = f().unwrap_or(f64::NAN),
        "dec" => c.dec = f().unwrap_or(f64::NAN),
        "magpsf" => c.magpsf = f().unwrap_or(f64::NAN),
        "sigmapsf" => c.sigmapsf = f().unwrap_or(f64::NAN),
        "chipsf" => c.chipsf = f(),
        "magap" => c.magap = f(),
        "sigmagap" => c.sigmagap = f(),
        "distnr" => c.distnr = f(),
        "magnr" => c.magnr = f(),
        "sigmagnr" => c.sigmagnr = f(),
        "chinr" => c.chinr = f(),
        "sharpnr" => c.sharpnr = f(),
        "sky" => c.sky = f(),
        "magdiff" => c.magdiff = f(),
        "fwhm" => c.fwhm = f(),
        "classtar" => c.classtar = f(),
        "mindtoedge" => c.mindtoedge = f(),
        "elong" => c.elong = f(),
        "nbad" => c.nbad = as_i32(&v),
        "rb" => c.rb = f(),
        "drb" => c.drb = f(),
        "ssdistnr" => c.ssdistnr = f(),
        "ssmagnr" => c.ssmagnr = f(),
        "ssnamenr" => c.ssnamenr = as_string(v),
        "ranr" => c.ranr = f(),
        "decnr" => c.decnr = f(),
        "sgmag1" => c.sgmag1 = f(),
        "srmag1" => c.srmag1 = f(),
        "simag1" => c.simag1 = f(),
        "szmag1" => c.szmag1 = f(),
        "sgscore1" => c.sgscore1 = f(),
        "distpsnr1" => c.distpsnr1 = f(),
        "sgscore2" => c.sgscore2 = f(),
        "distpsnr2" => c.distpsnr2 = f(),
        "sgscore3" => c.sgscore3 = f(),
        "distpsnr3" => c.distpsnr3 = f(),
        "ndethist" => c.ndethist = as_i32(&v),
        "ncovhist" => c.ncovhist = as_i32(&v),
        "jdstarthist" => c.jdstarthist = f(),
        "jdendhist" => c.jdendhist = f(),
        "scorr" => c.scorr = f(),
        "magzpsci" => c.magzpsci = f(),
        "neargaia" => c.neargaia = f(),
        "maggaia" => c.maggaia = f(),
        "exptime" => c.exptime = f(),
        _ => return Some(v),
    }
    None
}

/// A candidate with nothing read yet: the fields every alert must have are NaN.
pub(super) fn new_candidate() -> Candidate {
    Candidate {
        jd: f64::NAN,
        ra: f64::NAN,
        dec: f64::NAN,
        magpsf: f64::NAN,
        sigmapsf: f64::NAN,
        ..Default::default()
    }
}

/// The candidate record's fields read; it must have said when and where.
pub(super) fn checked_candidate(c: Candidate) -> Result<Candidate, ReadErrorKind> {
    let coordinates = [("jd", c.jd), ("ra", c.ra), ("dec", c.dec)];
    if let Some((name, x)) = coordinates.iter().find(|(_, x)| !x.is_finite()) {
        // A field the record lacks reads as NaN.
        let what = if x.is_nan() {
            "missing or NaN"
        } else {
            "infinite"
        };
        return Err(ReadErrorKind::NotAnAlert(format!(
            "candidate {name} is {what}: the alert cannot be placed in time or on the sky"
        )));
    }
    Ok(c)
}

/// Whether [`set_candidate_field`] reads a field of this name.
pub(super) fn is_candidate_field(name: &str) -> bool {
    set_candidate_field(&mut Candidate::default(), name, Value::Null).is_none()
}

fn candidate_from_value(v: Value) -> Result<Candidate, ReadErrorKind> {
    let Value::Record(fields) = v else {
        return Err(candidate_not_a_record(value_kind(&v)));
    };
    let mut c = new_candidate();
    for (name, value) in fields {
        set_candidate_field(&mut c, &name, strip_union(value));
    }
    checked_candidate(c)
}

pub(super) fn candidate_not_a_record(kind: &str) -> ReadErrorKind {
    ReadErrorKind::NotAnAlert(format!("candidate is {kind}, not a record"))
}

fn prv_from_value(v: Value) -> Option<PrvCandidate> {
    let Value::Record(fields) = v else {
        return None;
    };
    let mut p = new_prv();
    for (name, value) in &fields {
        let in_union = matches!(value, Value::Union(..));
        set_prv_field(&mut p, name, strip_union_ref(value), in_union);
    }
    p.jd.is_finite().then_some(p)
}

pub(super) fn new_prv() -> PrvCandidate {
    PrvCandidate {
        jd: f64::NAN,
        ..Default::default()
    }
}

fn strip_union_ref(v: &Value) -> &Value {
    match v {
        Value::Union(_, inner) => strip_union_ref(inner),
        other => other,
    }
}

/// Sets the `prv_candidates` entry's field `name` from its value out of any union
/// (`in_union`: it was in one); false when no such field is read.
pub(super) fn set_prv_field(
    p: &mut PrvCandidate,
    name: &str,
    value: &Value,
    in_union: bool,
) -> bool {
    match name {
        "jd" => p.jd = as_f64(value).unwrap_or(f64::NAN),
        "fid" => p.fid = as_i32(value).unwrap_or(0),
        "candid" => p.candid = as_i64(value),
        "magpsf" => p.magpsf = as_f64(value),
        "sigmapsf" => p.sigmapsf = as_f64(value),
        "diffmaglim" => p.diffmaglim = as_f64(value),
        // A sign inside a union is read from a string only (a boolean or integer one has
        // always been dropped there).
        "isdiffpos" if in_union => p.isdiffpos = as_str(value).and_then(DiffSign::parse),
        "isdiffpos" => p.isdiffpos = diff_sign(value),
        "ra" => p.ra = as_f64(value),
        "dec" => p.dec = as_f64(value),
        "rb" => p.rb = as_f64(value),
        "programid" => p.programid = as_i32(value),
        _ => return false,
    }
    true
}

fn fp_from_value(v: Value) -> Option<ForcedPhotometry> {
    let Value::Record(fields) = v else {
        return None;
    };
    let mut p = new_fp();
    for (name, value) in fields {
        set_fp_field(&mut p, &name, value);
    }
    p.jd.is_finite().then_some(p)
}

pub(super) fn new_fp() -> ForcedPhotometry {
    ForcedPhotometry {
        jd: f64::NAN,
        ..Default::default()
    }
}

/// Sets the `fp_hists` entry's field `name`; false when no such field is read.
pub(super) fn set_fp_field(p: &mut ForcedPhotometry, name: &str, value: Value) -> bool {
    match name {
        "jd" => p.jd = as_f64(&value).unwrap_or(f64::NAN),
        "fid" => p.fid = as_i32(&value).unwrap_or(0),
        "forcediffimflux" => p.forcediffimflux = as_f64(&value),
        "forcediffimfluxunc" => p.forcediffimfluxunc = as_f64(&value),
        "diffmaglim" => p.diffmaglim = as_f64(&value),
        "magzpsci" => p.magzpsci = as_f64(&value),
        "procstatus" => p.procstatus = as_string(value),
        _ => return false,
    }
    true
}

pub(super) fn cutout_not_bytes(field: &'static str, found: &'static str) -> CutoutError {
    CutoutError::NotBytes { field, found }
}

/// A cutout is `{fileName, stampData}`, raw bytes (flat stamp sets), or null: its bytes.
fn cutout_bytes(v: Value) -> Result<Option<Vec<u8>>, CutoutError> {
    match v {
        Value::Null => Ok(None),
        Value::Bytes(b) => Ok(Some(b)),
        Value::Record(fields) => match fields.into_iter().find(|(n, _)| n == "stampData") {
            Some((_, value)) => match strip_union(value) {
                Value::Bytes(b) => Ok(Some(b)),
                Value::Null => Ok(None),
                other => Err(cutout_not_bytes("stampData", value_kind(&other))),
            },
            None => Err(CutoutError::NoStampData),
        },
        other => Err(cutout_not_bytes("cutout", value_kind(&other))),
    }
}
