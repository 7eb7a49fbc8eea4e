//! The alert simulator: labelled ZTF alerts made by injecting synthetic sources into real
//! template stamps, written as `ztf.alert` Avro files in the real writer schema.
//!
//! - [`physics`]: PSF, fluxes and magnitudes, noise, photometry (the conventions live there).
//! - [`lightcurves`]: supernova (Bazin), AGN (damped random walk), variable-star curves.
//! - [`artefacts`]: bogus detections (dipoles, cosmic rays, bad columns, saturated stars).
//! - [`objects`]: one object's scene on a real template and its epochs.
//! - [`alerts`]: the alert packets of an object's detections.
//! - [`writer`]: FITS cutouts and Avro files.
//!
//! Output: `OUT/<objectId>/<objectId>_<candid>.avro`, one alert per file, and
//! `OUT/labels.csv` (`objectId,label`). Classes are balanced (object `i` is class
//! `i mod 5`). Everything depends only on the seed: each object draws from its own
//! generator seeded from `(seed, index)`, and the Avro sync markers come from it too.

pub mod alerts;
pub mod artefacts;
pub mod lightcurves;
pub mod objects;
pub mod physics;
pub mod templates;
pub mod writer;

pub use objects::{simulate_object, Epoch, SimObject, Truth};
pub use templates::{Field, Template, TemplateBank};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimClass {
    Agn,
    Sn,
    Vs,
    Asteroid,
    Bogus,
}

impl SimClass {
    pub const ALL: [SimClass; 5] = [Self::Agn, Self::Sn, Self::Vs, Self::Asteroid, Self::Bogus];

    /// The label as the ALeRCE stamp classifier names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Agn => "AGN",
            Self::Sn => "SN",
            Self::Vs => "VS",
            Self::Asteroid => "asteroid",
            Self::Bogus => "bogus",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("no usable template stamps in {0}; give --templates a folder of ZTF alert files")]
    NoTemplates(String),
    #[error("cannot take the ztf.alert writer schema: {0}")]
    Schema(String),
    #[error("cannot take the ztf.alert writer schema: {path}: {source}")]
    TemplateFile {
        path: PathBuf,
        source: Box<apache_avro::Error>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the alert of {object_id}: {source}")]
    Write {
        object_id: String,
        source: writer::WriteError,
    },
    #[error("invalid settings: {0}")]
    Config(String),
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub out: PathBuf,
    pub objects: usize,
    pub seed: u64,
    /// Alert files or folders whose template cutouts serve as backgrounds.
    pub templates: Vec<PathBuf>,
    /// Objects whose templates must never be used: those of the sample and of any
    /// evaluation or test set, so that no simulated training alert shows their sky.
    pub exclude_objects: std::collections::BTreeSet<String>,
    pub min_detections: usize,
    pub max_detections: usize,
}

impl SimConfig {
    fn check(&self) -> Result<(), SimError> {
        if self.min_detections == 0 || self.min_detections > self.max_detections {
            return Err(SimError::Config(format!(
                "need 1 <= --min-detections <= --max-detections, got {} and {}",
                self.min_detections, self.max_detections
            )));
        }
        if self.max_detections > 30 {
            return Err(SimError::Config(
                "--max-detections above 30 would outrun prv_candidates' 30-day window".into(),
            ));
        }
        if self.objects == 0 || self.objects >= 1_000_000 {
            return Err(SimError::Config(format!(
                "--objects must be 1..999999 (the candid holds a 6-digit object serial), got {}",
                self.objects
            )));
        }
        Ok(())
    }
}

/// What a run wrote.
#[derive(Debug, Clone, Default)]
pub struct SimSummary {
    pub objects: usize,
    pub alerts: usize,
    pub per_class: Vec<(&'static str, usize)>,
}

/// The generator of object `index`: independent streams per object, so objects can be made
/// in any order (or in parallel) with the same result.
pub fn object_rng(seed: u64, index: usize) -> StdRng {
    let mut z = seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64 finaliser: neighbouring (seed, index) pairs get unrelated seeds.
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

/// `ZTFsim` and six letters: 12 characters like a real ZTF id, unique within a run.
pub fn object_id(seed: u64, index: usize) -> String {
    const SPAN: u64 = 26u64.pow(6);
    let mut n = (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) % SPAN + index as u64) % SPAN;
    let mut letters = [b'a'; 6];
    for l in letters.iter_mut().rev() {
        *l = b'a' + (n % 26) as u8;
        n /= 26;
    }
    format!("ZTFsim{}", String::from_utf8_lossy(&letters))
}

/// Simulates object `index` of a run: its class, template and detections.
pub fn simulate_index(
    bank: &TemplateBank,
    config: &SimConfig,
    index: usize,
) -> (SimObject, StdRng) {
    let mut rng = object_rng(config.seed, index);
    let class = SimClass::ALL[index % SimClass::ALL.len()];
    let field = &bank.fields[rng.random_range(0..bank.fields.len())];
    let wanted = match class {
        SimClass::Asteroid => 1,
        SimClass::Bogus => rng.random_range(1..=config.max_detections.min(2)),
        _ => rng.random_range(config.min_detections..=config.max_detections),
    };
    let obj = simulate_object(
        object_id(config.seed, index),
        class,
        field,
        wanted,
        &mut rng,
    );
    (obj, rng)
}

/// Writes `config.objects` objects under `config.out`.
pub fn run(config: &SimConfig) -> Result<SimSummary, SimError> {
    config.check()?;
    let bank = TemplateBank::load_excluding(&config.templates, &config.exclude_objects)?;
    let writer = writer::AlertWriter::new(bank.schema.clone());
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SimError::Io { path, source }
    };
    std::fs::create_dir_all(&config.out).map_err(io(&config.out))?;
    let mut labels = String::from("objectId,label\n");
    let mut summary = SimSummary {
        per_class: SimClass::ALL.iter().map(|c| (c.label(), 0)).collect(),
        ..Default::default()
    };
    for index in 0..config.objects {
        let (obj, mut rng) = simulate_index(&bank, config, index);
        let records = alerts::alert_records(&obj, index as u64, &bank.schema_version, &mut rng);
        let dir = config.out.join(&obj.object_id);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        for (candid, record) in &records {
            let mut marker = [0u8; 16];
            rng.fill(&mut marker);
            let bytes = writer
                .write(record, marker)
                .map_err(|source| SimError::Write {
                    object_id: obj.object_id.clone(),
                    source,
                })?;
            let path = dir.join(format!("{}_{candid}.avro", obj.object_id));
            std::fs::write(&path, bytes).map_err(io(&path))?;
        }
        labels.push_str(&format!("{},{}\n", obj.object_id, obj.class.label()));
        summary.objects += 1;
        summary.alerts += records.len();
        if let Some(slot) = summary
            .per_class
            .iter_mut()
            .find(|(l, _)| *l == obj.class.label())
        {
            slot.1 += 1;
        }
    }
    let labels_path = config.out.join("labels.csv");
    std::fs::write(&labels_path, labels).map_err(io(&labels_path))?;
    Ok(summary)
}
