//! Real ZTF template stamps to inject into, and the real `ztf.alert` writer schema.

use super::physics::{median, SIDE};
use super::SimError;
use crate::alert::{read_all, Alert, ReadOptions};
use apache_avro::Schema;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One real template cutout and what its alert says about the sky it shows.
#[derive(Debug, Clone)]
pub struct Template {
    /// The real alert it came from, for provenance.
    pub source: String,
    pub fid: i32,
    pub pixels: Vec<f32>,
    /// The sky position of the stamp's centre pixel.
    pub ra: f64,
    pub dec: f64,
    /// Photometric zero point of the science image this template was matched to.
    pub zp: f64,
    pub field: i32,
    pub rcid: i32,
    /// PS1 star/galaxy score and distance of the nearest PS1 source: `sgscore1 > 0.5`
    /// within 1.5 arcsec means a star sits at the centre.
    pub star_at_centre: bool,
}

/// Templates grouped by the real object they show, one per band, so an object's g and r
/// epochs use the same patch of sky.
#[derive(Debug, Clone)]
pub struct Field {
    pub bands: BTreeMap<i32, Template>,
}

impl Field {
    pub fn star_at_centre(&self) -> bool {
        self.bands.values().any(|t| t.star_at_centre)
    }
}

pub struct TemplateBank {
    pub fields: Vec<Field>,
    pub schema: Schema,
    pub schema_version: String,
}

impl TemplateBank {
    /// Reads every alert under `paths`, keeps each complete 63x63 template (NaN pixels
    /// replaced by the stamp's median, as they are masked CCD defects) and takes the writer
    /// schema of the newest `ztf.alert` version among the files.
    pub fn load(paths: &[PathBuf]) -> Result<Self, SimError> {
        Self::load_excluding(paths, &std::collections::BTreeSet::new())
    }

    /// [`Self::load`], leaving out every alert of the `excluded` objects.
    pub fn load_excluding(
        paths: &[PathBuf],
        excluded: &std::collections::BTreeSet<String>,
    ) -> Result<Self, SimError> {
        let (mut alerts, summary) = read_all(paths, &ReadOptions::default());
        let before = alerts.len();
        alerts.retain(|a| !excluded.contains(&a.object_id));
        if alerts.is_empty() && before > 0 {
            return Err(SimError::NoTemplates(format!(
                "{}: every alert there belongs to an excluded object (the sample, or an evaluation or test object)",
                display_paths(paths)
            )));
        }
        if alerts.is_empty() {
            let why = summary
                .errors
                .first()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "no alert files found".into());
            return Err(SimError::NoTemplates(format!(
                "{}: {why}",
                display_paths(paths)
            )));
        }
        let mut by_object: BTreeMap<String, BTreeMap<i32, Template>> = BTreeMap::new();
        let mut newest: Option<(String, String)> = None;
        for alert in &alerts {
            if let Some(v) = &alert.schema_version {
                if newest
                    .as_ref()
                    .is_none_or(|(best, _)| version_key(v) > version_key(best))
                {
                    newest = Some((v.clone(), alert.origin.file.to_string()));
                }
            }
            if let Some(t) = template_of(alert) {
                // The first template per band wins: later alerts of an object reuse the same
                // reference image.
                by_object
                    .entry(alert.object_id.clone())
                    .or_default()
                    .entry(t.fid)
                    .or_insert(t);
            }
        }
        let fields: Vec<Field> = by_object
            .into_values()
            .map(|bands| Field { bands })
            .collect();
        if fields.is_empty() {
            return Err(SimError::NoTemplates(format!(
                "{}: no alert there has a complete 63x63 template cutout",
                display_paths(paths)
            )));
        }
        let (schema_version, file) = newest.ok_or_else(|| {
            SimError::Schema(format!(
                "{}: no alert names its schema version",
                display_paths(paths)
            ))
        })?;
        // Spark-written files (a broker's nightly dumps) carry a `topLevelRecord` schema; the
        // writer schema (no image) is then taken from the bundled sample's alerts.
        let schema = match writer_schema(Path::new(&file)) {
            Ok(schema) => schema,
            Err(first) => sample_schema().ok_or(first)?,
        };
        Ok(Self {
            fields,
            schema,
            schema_version,
        })
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// "4.02" > "3.3" compares as numbers, not as text.
fn version_key(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

fn template_of(alert: &Alert) -> Option<Template> {
    let stamp = alert.cutouts.template.as_ref()?;
    if stamp.width != SIDE || stamp.height != SIDE || !matches!(alert.candidate.fid, 1 | 2) {
        return None;
    }
    let fill = median(&stamp.pixels) as f32;
    let pixels = stamp
        .pixels
        .iter()
        .map(|v| if v.is_finite() { *v } else { fill })
        .collect();
    let c = &alert.candidate;
    Some(Template {
        source: alert.object_id.clone(),
        fid: c.fid,
        pixels,
        ra: c.ra,
        dec: c.dec,
        zp: c
            .magzpsci
            .filter(|z| (20.0..30.0).contains(z))
            .unwrap_or(26.2),
        field: c.field.unwrap_or(600),
        rcid: c.rcid.unwrap_or(30),
        star_at_centre: matches!((c.sgscore1, c.distpsnr1), (Some(s), Some(d)) if s > 0.5 && (0.0..1.5).contains(&d)),
    })
}

/// The `ztf.alert` writer schema of the bundled sample's first alert file.
fn sample_schema() -> Option<Schema> {
    let dir = crate::assets::bundled_sample_dir()?;
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "avro") {
                if let Ok(schema) = writer_schema(&p) {
                    return Some(schema);
                }
            }
        }
    }
    None
}

/// The writer schema of an Avro container file. Archive members (`a.tar.gz!b.avro`) are
/// not opened here: give the schema through a plain file.
fn writer_schema(file: &Path) -> Result<Schema, SimError> {
    let f = std::fs::File::open(file).map_err(|e| SimError::Io {
        path: file.to_path_buf(),
        source: e,
    })?;
    let reader = apache_avro::Reader::new(std::io::BufReader::new(f)).map_err(|e| {
        SimError::TemplateFile {
            path: file.to_path_buf(),
            source: Box::new(e),
        }
    })?;
    let schema = reader.writer_schema().clone();
    match &schema {
        Schema::Record(r) if r.name.name() == "alert" || r.name.fullname(None) == "ztf.alert" => {
            Ok(schema)
        }
        _ => Err(SimError::Schema(format!(
            "{}: its writer schema is not a ztf.alert record",
            file.display()
        ))),
    }
}
