//! Avro records -> [`Alert`]s, tolerant of every ZTF schema version (3.0 .. 4.02) and of
//! broker re-serialisations: fields are matched by name, unknown fields are ignored, missing
//! optional fields stay `None`. Flat records without a `candidate` sub-record (labelled
//! stamp sets) take their candidate fields from the top level.

use super::types::*;
use crate::alert::avro_value::*;
use crate::alert::catch_decoder_panic;
use crate::alert::container::for_each_record;
use crate::alert::cutout::decode_cutout;
use crate::alert::error::{CutoutError, ReadError, ReadErrorKind};
use crate::alert::{AlertOrigin, CutoutKind, Stamp};
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
        let result = for_each_record(bytes, |index, value| {
            let origin = AlertOrigin {
                file: file.clone(),
                record: index,
            };
            match self.alert_from_value(value, origin, &mut out.errors) {
                Ok(alert) => out.alerts.push(alert),
                Err(kind) => out.errors.push(ReadError::new(&**file, Some(index), kind)),
            }
        });
        if let Err(e) = result {
            out.errors.push(e.into_read_error(file));
        }
        out
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
        let mut object_id = None;
        let mut candid = None;
        let mut schema_version = None;
        let mut publisher = None;
        let mut candidate = None;
        let mut flat = Candidate {
            jd: f64::NAN,
            ra: f64::NAN,
            dec: f64::NAN,
            magpsf: f64::NAN,
            sigmapsf: f64::NAN,
            ..Default::default()
        };
        let mut prv_candidates = Vec::new();
        let mut fp_hists = Vec::new();
        let mut cutouts = Cutouts::default();
        let mut label = None;
        let mut has_cutout_fields = false;
        let mut broker_columns = std::collections::BTreeMap::new();

        for (name, value) in fields {
            let value = strip_union(value);
            match name.as_str() {
                "objectId" | "oid" => object_id = as_string(value),
                "candid" => candid = as_i64(&value),
                "schemavsn" => schema_version = as_string(value),
                "publisher" => publisher = as_string(value),
                "label" => label = as_string(value),
                "candidate" => candidate = Some(candidate_from_value(value)?),
                "prv_candidates" => {
                    if let Value::Array(items) = value {
                        prv_candidates = items
                            .into_iter()
                            .filter_map(|v| prv_from_value(strip_union(v)))
                            .collect();
                    }
                }
                "fp_hists" => {
                    if let Value::Array(items) = value {
                        fp_hists = items
                            .into_iter()
                            .filter_map(|v| fp_from_value(strip_union(v)))
                            .collect();
                    }
                }
                _ => {
                    if let Some(kind) = CutoutKind::from_field(&name) {
                        has_cutout_fields = true;
                        if self.decode_stamps {
                            match cutout_from_value(value) {
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
                    } else if let Some(value) = set_candidate_field(&mut flat, &name, value) {
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
}

/// Decodes alerts from Avro bytes with stamps, the common case.
pub fn decode_avro_bytes(bytes: &[u8], file: &str) -> DecodedFile {
    AlertFileReader::default().decode(bytes, &Arc::from(file))
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
fn set_candidate_field(c: &mut Candidate, name: &str, v: Value) -> Option<Value> {
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

fn candidate_from_value(v: Value) -> Result<Candidate, ReadErrorKind> {
    let Value::Record(fields) = v else {
        return Err(ReadErrorKind::NotAnAlert(format!(
            "candidate is {}, not a record",
            value_kind(&v)
        )));
    };
    let mut c = Candidate {
        jd: f64::NAN,
        ra: f64::NAN,
        dec: f64::NAN,
        magpsf: f64::NAN,
        sigmapsf: f64::NAN,
        ..Default::default()
    };
    for (name, value) in fields {
        set_candidate_field(&mut c, &name, strip_union(value));
    }
    if !c.jd.is_finite() || !c.ra.is_finite() || !c.dec.is_finite() {
        return Err(ReadErrorKind::NotAnAlert(
            "candidate lacks jd, ra or dec".into(),
        ));
    }
    Ok(c)
}

fn prv_from_value(v: Value) -> Option<PrvCandidate> {
    let Value::Record(fields) = v else {
        return None;
    };
    let mut p = PrvCandidate {
        jd: f64::NAN,
        ..Default::default()
    };
    for (name, value) in &fields {
        match name.as_str() {
            "jd" => p.jd = as_f64(value).unwrap_or(f64::NAN),
            "fid" => p.fid = as_i32(value).unwrap_or(0),
            "candid" => p.candid = as_i64(value),
            "magpsf" => p.magpsf = as_f64(value),
            "sigmapsf" => p.sigmapsf = as_f64(value),
            "diffmaglim" => p.diffmaglim = as_f64(value),
            "isdiffpos" => p.isdiffpos = diff_sign(value),
            "ra" => p.ra = as_f64(value),
            "dec" => p.dec = as_f64(value),
            "rb" => p.rb = as_f64(value),
            "programid" => p.programid = as_i32(value),
            _ => {}
        }
    }
    p.jd.is_finite().then_some(p)
}

fn fp_from_value(v: Value) -> Option<ForcedPhotometry> {
    let Value::Record(fields) = v else {
        return None;
    };
    let mut p = ForcedPhotometry {
        jd: f64::NAN,
        ..Default::default()
    };
    for (name, value) in fields {
        match name.as_str() {
            "jd" => p.jd = as_f64(&value).unwrap_or(f64::NAN),
            "fid" => p.fid = as_i32(&value).unwrap_or(0),
            "forcediffimflux" => p.forcediffimflux = as_f64(&value),
            "forcediffimfluxunc" => p.forcediffimfluxunc = as_f64(&value),
            "diffmaglim" => p.diffmaglim = as_f64(&value),
            "magzpsci" => p.magzpsci = as_f64(&value),
            "procstatus" => p.procstatus = as_string(value),
            _ => {}
        }
    }
    p.jd.is_finite().then_some(p)
}

/// A cutout is `{fileName, stampData}`, raw bytes (flat stamp sets), or null.
fn cutout_from_value(v: Value) -> Result<Option<Stamp>, CutoutError> {
    let not_bytes = |field, other: &Value| CutoutError::NotBytes {
        field,
        found: value_kind(other),
    };
    let bytes = match v {
        Value::Null => return Ok(None),
        Value::Bytes(b) => b,
        Value::Record(fields) => match fields.into_iter().find(|(n, _)| n == "stampData") {
            Some((_, value)) => match strip_union(value) {
                Value::Bytes(b) => b,
                Value::Null => return Ok(None),
                other => return Err(not_bytes("stampData", &other)),
            },
            None => return Err(CutoutError::NoStampData),
        },
        other => return Err(not_bytes("cutout", &other)),
    };
    decode_cutout(&bytes).map(Some)
}
