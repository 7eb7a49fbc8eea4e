//! ZTF records decoded straight from their Avro bytes by a plan compiled once per writer
//! schema, without apache-avro's generic `Value` tree: fields the alert does not keep are
//! skipped (but checked as apache-avro checks them), and cutouts are borrowed from the
//! record's bytes until they are inflated. Building and freeing that tree was about a
//! quarter of reading a ZTF alert with its stamps.
//!
//! The plan reads what `avro.rs` reads from a `Value`, through the same setters (`fields.rs`), so
//! the two give the same alert. A schema it does not cover (a field other than the alert's
//! own at the top, logical types, no `candidate`) has no plan, and a record it cannot read
//! (corrupt bytes) is handed to apache-avro from its start: every error is apache-avro's.

use super::fields::*;
use super::types::*;
use crate::alert::avro_value::value_kind;
use crate::alert::error::{CutoutError, ReadError, ReadErrorKind};
use crate::alert::AlertOrigin;
use apache_avro::schema::{NamespaceRef, ResolvedSchema};
use apache_avro::types::Value;
use apache_avro::Schema;
use std::borrow::Cow;
use std::collections::HashMap;

/// Nested named types deeper than this (a recursive schema) are not compiled.
const MAX_DEPTH: usize = 32;

/// How a ZTF top-level record is laid out by one writer schema.
pub(super) struct RecordPlan {
    fields: Vec<(TopName, Node)>,
}

/// One value's writer type. Records carry, per field, the name the alert reads it by, or
/// `None` for a field that is skipped.
enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Enum(Vec<String>),
    Fixed(usize),
    Array(Box<Node>),
    Map(Box<Node>),
    Union(Vec<Node>),
    Record(Vec<(Option<Box<str>>, Node)>),
}

/// Which record a record field belongs to, so which of its fields are read.
#[derive(Clone, Copy)]
enum Context {
    Skipped,
    Candidate,
    Prv,
    Fp,
    Cutout,
}

type Names<'s> = HashMap<apache_avro::schema::Name, &'s Schema>;

impl RecordPlan {
    /// The plan for a ZTF alert schema, or `None` for any other.
    pub fn compile(schema: &Schema) -> Option<Self> {
        let resolved = ResolvedSchema::try_from(schema).ok()?;
        let names = resolved.get_names();
        let Schema::Record(record) = schema else {
            return None;
        };
        let name = record.name.fully_qualified_name(None);
        let namespace = name.namespace();
        let mut fields = Vec::with_capacity(record.fields.len());
        let mut has_candidate = false;
        for field in &record.fields {
            let role = TopName::of(&field.name)?;
            let context = match role {
                TopName::Candidate => {
                    has_candidate = true;
                    Context::Candidate
                }
                TopName::Prv => Context::Prv,
                TopName::Fp => Context::Fp,
                TopName::Cutout(_) => Context::Cutout,
                _ => Context::Skipped,
            };
            let node = compile(&field.schema, names, namespace, context, 0)?;
            fields.push((role, node));
        }
        has_candidate.then_some(Self { fields })
    }

    /// Decodes the record at the front of `data` into an alert, moving `data` past it.
    /// `None` (with `data` untouched) when the bytes do not decode: the caller hands them
    /// to apache-avro, which says what is wrong.
    pub(crate) fn read_alert(
        &self,
        decode_stamps: bool,
        data: &mut &[u8],
        origin: AlertOrigin,
        errors: &mut Vec<ReadError>,
    ) -> Option<Result<Alert, ReadErrorKind>> {
        let mut buf = *data;
        let mut fields = Vec::with_capacity(self.fields.len());
        for (role, node) in &self.fields {
            fields.push(read_field(role, node, &mut buf).ok()?);
        }
        *data = buf;
        Some(assemble(decode_stamps, fields.into_iter(), origin, errors))
    }
}

fn compile(
    schema: &Schema,
    names: &Names<'_>,
    namespace: NamespaceRef,
    context: Context,
    depth: usize,
) -> Option<Node> {
    if depth > MAX_DEPTH {
        return None;
    }
    let inner = |s: &Schema, c| compile(s, names, namespace, c, depth + 1);
    Some(match schema {
        Schema::Null => Node::Null,
        Schema::Boolean => Node::Boolean,
        Schema::Int => Node::Int,
        Schema::Long => Node::Long,
        Schema::Float => Node::Float,
        Schema::Double => Node::Double,
        Schema::Bytes => Node::Bytes,
        Schema::String => Node::String,
        Schema::Enum(e) => Node::Enum(e.symbols.clone()),
        Schema::Fixed(f) => Node::Fixed(f.size),
        Schema::Array(a) => Node::Array(Box::new(inner(&a.items, context)?)),
        Schema::Map(m) => Node::Map(Box::new(inner(&m.types, Context::Skipped)?)),
        Schema::Union(u) => Node::Union(
            u.variants()
                .iter()
                .map(|v| inner(v, context))
                .collect::<Option<_>>()?,
        ),
        Schema::Record(r) => {
            let name = r.name.fully_qualified_name(namespace);
            let mut stamp_data_seen = false;
            let mut fields = Vec::with_capacity(r.fields.len());
            for f in &r.fields {
                let read = match context {
                    Context::Skipped => false,
                    Context::Candidate => is_candidate_field(&f.name),
                    Context::Prv => set_prv_field(&mut new_prv(), &f.name, &Value::Null, false),
                    Context::Fp => set_fp_field(&mut new_fp(), &f.name, Value::Null),
                    // The first `stampData` is the one read.
                    Context::Cutout => {
                        f.name == "stampData" && !std::mem::replace(&mut stamp_data_seen, true)
                    }
                };
                let node = compile(
                    &f.schema,
                    names,
                    name.namespace(),
                    Context::Skipped,
                    depth + 1,
                )?;
                fields.push((read.then(|| f.name.as_str().into()), node));
            }
            Node::Record(fields)
        }
        Schema::Ref { name } => {
            let name = name.fully_qualified_name(namespace);
            let resolved = names.get(&*name)?;
            compile(resolved, names, name.namespace(), context, depth + 1)?
        }
        // Logical types: never in a ZTF alert; such a schema is left to apache-avro.
        _ => return None,
    })
}

/// The bytes do not decode as the schema says (apache-avro will say why).
struct Bad;

type Read<T> = Result<T, Bad>;

fn read_field<'a>(role: &TopName, node: &Node, buf: &mut &'a [u8]) -> Read<Field<'a>> {
    let (node, _) = resolve(node, buf)?;
    Ok(match role {
        TopName::ObjectId => {
            Field::ObjectId(crate::alert::avro_value::as_string(plain(node, buf)?))
        }
        TopName::Candid => Field::Candid(crate::alert::avro_value::as_i64(&plain(node, buf)?)),
        TopName::SchemaVersion => {
            Field::SchemaVersion(crate::alert::avro_value::as_string(plain(node, buf)?))
        }
        TopName::Publisher => {
            Field::Publisher(crate::alert::avro_value::as_string(plain(node, buf)?))
        }
        TopName::Label => Field::Label(crate::alert::avro_value::as_string(plain(node, buf)?)),
        TopName::Candidate => Field::Candidate(match node {
            Node::Record(fields) => {
                let mut c = new_candidate();
                for (name, node) in fields {
                    match name {
                        Some(name) => {
                            set_candidate_field(&mut c, name, value(node, buf)?.0);
                        }
                        None => skip(node, buf)?,
                    }
                }
                checked_candidate(c).map(Box::new)
            }
            other => Err(candidate_not_a_record(value_kind(&plain(other, buf)?))),
        }),
        TopName::Prv => Field::Prv(entries(node, buf, |fields, buf| {
            let mut p = new_prv();
            for (name, node) in fields {
                match name {
                    Some(name) => {
                        let (v, in_union) = value(node, buf)?;
                        set_prv_field(&mut p, name, &v, in_union);
                    }
                    None => skip(node, buf)?,
                }
            }
            Ok(p.jd.is_finite().then_some(p))
        })?),
        TopName::Fp => Field::Fp(entries(node, buf, |fields, buf| {
            let mut p = new_fp();
            for (name, node) in fields {
                match name {
                    Some(name) => {
                        set_fp_field(&mut p, name, value(node, buf)?.0);
                    }
                    None => skip(node, buf)?,
                }
            }
            Ok(p.jd.is_finite().then_some(p))
        })?),
        TopName::Cutout(kind) => Field::Cutout(*kind, cutout(node, buf)?),
    })
}

/// The records of an array (`prv_candidates`, `fp_hists`) that `entry` keeps; anything
/// but an array gives none, and so does an item that is not a record.
fn entries<T>(
    node: &Node,
    buf: &mut &[u8],
    entry: impl Fn(&[(Option<Box<str>>, Node)], &mut &[u8]) -> Read<Option<T>>,
) -> Read<Vec<T>> {
    let Node::Array(items) = node else {
        skip(node, buf)?;
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    blocks::<Value>(buf, |buf| {
        let (item, _) = resolve(items, buf)?;
        match item {
            Node::Record(fields) => out.extend(entry(fields, buf)?),
            other => skip(other, buf)?,
        }
        Ok(())
    })?;
    Ok(out)
}

/// A cutout's bytes, borrowed: `{fileName, stampData}`, raw bytes, or null.
fn cutout<'a>(node: &Node, buf: &mut &'a [u8]) -> Read<Result<Option<Cow<'a, [u8]>>, CutoutError>> {
    Ok(match node {
        Node::Null => Ok(None),
        Node::Bytes => Ok(Some(Cow::Borrowed(bytes(buf)?))),
        Node::Record(fields) => {
            let mut found = Err(CutoutError::NoStampData);
            for (name, node) in fields {
                if name.is_none() {
                    skip(node, buf)?;
                    continue;
                }
                let (node, _) = resolve(node, buf)?;
                found = match node {
                    Node::Bytes => Ok(Some(Cow::Borrowed(bytes(buf)?))),
                    Node::Null => Ok(None),
                    other => Err(cutout_not_bytes(
                        "stampData",
                        value_kind(&plain(other, buf)?),
                    )),
                };
            }
            found
        }
        other => Err(cutout_not_bytes("cutout", value_kind(&plain(other, buf)?))),
    })
}

/// The branch a union's index picks (the node itself when it is no union), and whether
/// it was in a union.
fn resolve<'n>(node: &'n Node, buf: &mut &[u8]) -> Read<(&'n Node, bool)> {
    match node {
        Node::Union(branches) => {
            let index = long(buf)?;
            let branch = usize::try_from(index).ok().and_then(|i| branches.get(i));
            Ok((branch.ok_or(Bad)?, true))
        }
        other => Ok((other, false)),
    }
}

/// A value out of any union, and whether it was in one.
fn value(node: &Node, buf: &mut &[u8]) -> Read<(Value, bool)> {
    let (node, in_union) = resolve(node, buf)?;
    Ok((plain(node, buf)?, in_union))
}

/// A value that is no union, as apache-avro's `Value` of it; arrays, maps and records
/// (never read here as such) are skipped and stand as empty ones, for their kind.
fn plain(node: &Node, buf: &mut &[u8]) -> Read<Value> {
    Ok(match node {
        Node::Null => Value::Null,
        Node::Boolean => Value::Boolean(boolean(buf)?),
        Node::Int => Value::Int(int(buf)?),
        Node::Long => Value::Long(long(buf)?),
        Node::Float => Value::Float(f32::from_le_bytes(fixed(buf)?)),
        Node::Double => Value::Double(f64::from_le_bytes(fixed(buf)?)),
        Node::Bytes => Value::Bytes(bytes(buf)?.to_vec()),
        Node::String => Value::String(string(buf)?.to_string()),
        Node::Enum(symbols) => {
            let index = enum_index(symbols, buf)?;
            Value::Enum(index as u32, symbols[index].clone())
        }
        Node::Fixed(n) => {
            take(buf, *n)?;
            Value::Fixed(*n, Vec::new())
        }
        Node::Array(_) => {
            skip(node, buf)?;
            Value::Array(Vec::new())
        }
        Node::Map(_) => {
            skip(node, buf)?;
            Value::Map(HashMap::new())
        }
        Node::Record(_) => {
            skip(node, buf)?;
            Value::Record(Vec::new())
        }
        Node::Union(_) => value(node, buf)?.0,
    })
}

/// Moves past a value, checking it as apache-avro would decode it.
fn skip(node: &Node, buf: &mut &[u8]) -> Read<()> {
    match node {
        Node::Null => {}
        Node::Boolean => {
            boolean(buf)?;
        }
        Node::Int => {
            int(buf)?;
        }
        Node::Long => {
            long(buf)?;
        }
        Node::Float => {
            take(buf, 4)?;
        }
        Node::Double => {
            take(buf, 8)?;
        }
        Node::Bytes => {
            bytes(buf)?;
        }
        Node::String => {
            string(buf)?;
        }
        Node::Enum(symbols) => {
            enum_index(symbols, buf)?;
        }
        Node::Fixed(n) => {
            take(buf, *n)?;
        }
        Node::Array(items) => blocks::<Value>(buf, |buf| skip(items, buf))?,
        Node::Map(values) => blocks::<(String, Value)>(buf, |buf| {
            string(buf)?;
            skip(values, buf)
        })?,
        Node::Union(_) => {
            let (branch, _) = resolve(node, buf)?;
            skip(branch, buf)?;
        }
        Node::Record(fields) => {
            for (_, node) in fields {
                skip(node, buf)?;
            }
        }
    }
    Ok(())
}

/// apache-avro's limit on what one value may allocate.
fn max_allocation() -> usize {
    apache_avro::util::max_allocation_bytes(apache_avro::util::DEFAULT_MAX_ALLOCATION_BYTES)
}

/// The items of an array or map, block by block; `T` is what apache-avro would hold per
/// item, for its limit on a collection's size.
fn blocks<T>(buf: &mut &[u8], mut item: impl FnMut(&mut &[u8]) -> Read<()>) -> Read<()> {
    let mut total = 0usize;
    loop {
        let raw = long(buf)?;
        let count = match raw {
            0 => return Ok(()),
            n if n < 0 => {
                long(buf)?; // the block's size in bytes
                n.checked_neg().ok_or(Bad)?
            }
            n => n,
        };
        let count = usize::try_from(count).map_err(|_| Bad)?;
        total = total.checked_add(count).ok_or(Bad)?;
        let size = total.checked_mul(std::mem::size_of::<T>()).ok_or(Bad)?;
        if count > max_allocation() || size > max_allocation() {
            return Err(Bad);
        }
        for _ in 0..count {
            item(buf)?;
        }
    }
}

fn take<'a>(buf: &mut &'a [u8], n: usize) -> Read<&'a [u8]> {
    if n > buf.len() {
        return Err(Bad);
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

fn fixed<const N: usize>(buf: &mut &[u8]) -> Read<[u8; N]> {
    Ok(take(buf, N)?.try_into().expect("N bytes taken"))
}

/// A zig-zag varint of at most ten bytes.
fn long(buf: &mut &[u8]) -> Read<i64> {
    let mut value: u64 = 0;
    for shift in (0..70).step_by(7) {
        let (&byte, rest) = buf.split_first().ok_or(Bad)?;
        *buf = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    Err(Bad)
}

fn int(buf: &mut &[u8]) -> Read<i32> {
    i32::try_from(long(buf)?).map_err(|_| Bad)
}

fn boolean(buf: &mut &[u8]) -> Read<bool> {
    match take(buf, 1)?[0] {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Bad),
    }
}

fn bytes<'a>(buf: &mut &'a [u8]) -> Read<&'a [u8]> {
    let n = usize::try_from(long(buf)?).map_err(|_| Bad)?;
    if n > max_allocation() {
        return Err(Bad);
    }
    take(buf, n)
}

fn string<'a>(buf: &mut &'a [u8]) -> Read<&'a str> {
    std::str::from_utf8(bytes(buf)?).map_err(|_| Bad)
}

fn enum_index(symbols: &[String], buf: &mut &[u8]) -> Read<usize> {
    let index = usize::try_from(int(buf)?).map_err(|_| Bad)?;
    (index < symbols.len()).then_some(index).ok_or(Bad)
}
