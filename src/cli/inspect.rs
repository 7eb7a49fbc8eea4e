//! `stampseq inspect`: what is in these files.

use super::progress;
use crate::alert::neutral::{Survey, SurveyAlert};
use crate::alert::{collect_inputs, read_inputs_any, AnyAlert, ReadError, ReadOptions};
use crate::sequence::neutral::{detection_nights_of, ObjectKey};
use clap::Args;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Alert files (ZTF or LSST Avro, Confluent-framed LSST messages, broker Parquet),
    /// folders (searched recursively) or .tar.gz archives.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub schemas: super::LsstSchemaArgs,
    /// Print one JSON object instead of the text summary.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit status 1) on any error, not only when nothing could be read.
    #[arg(long)]
    pub strict: bool,
}

/// The summary `inspect --json` prints.
#[derive(Debug, Default, Serialize)]
pub struct InspectReport {
    pub files: usize,
    pub alerts: usize,
    pub objects: usize,
    /// Alerts and objects of each survey.
    pub surveys: BTreeMap<Survey, SurveyCount>,
    /// Objects whose alerts fall on two or more observing nights (each survey's nights:
    /// ZTF from Palomar's noon, LSST by Rubin's `dayObs`).
    pub objects_multi_night: usize,
    /// Objects whose detections fall on two or more nights, counting the previous
    /// detections the alerts carry (ZTF `prv_candidates`, LSST `prvDiaSources`): an LSST
    /// object seen once in these files may have a long history.
    pub objects_multi_night_history: usize,
    pub schema_versions: BTreeMap<String, usize>,
    /// "WxH" -> number of stamps of that shape.
    pub stamp_shapes: BTreeMap<String, usize>,
    /// Alerts lacking at least one of the three cutouts.
    pub alerts_missing_cutouts: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub errors: Vec<ReadError>,
}

/// One survey's share of the input.
#[derive(Debug, Default, Serialize)]
pub struct SurveyCount {
    pub alerts: usize,
    pub objects: usize,
    /// LSST alerts of solar-system objects; ZTF alerts near a known asteroid.
    pub solar_system_alerts: usize,
    pub objects_multi_night: usize,
    pub objects_multi_night_history: usize,
    /// Alerts naming no object (LSST: `diaObjectId` and `ssObjectId` both 0, as in the
    /// synthetic samples), not counted as objects.
    pub alerts_without_object: usize,
}

#[derive(Default)]
struct Tally {
    schema_versions: BTreeMap<String, usize>,
    stamp_shapes: BTreeMap<String, usize>,
    missing_cutouts: usize,
    surveys: BTreeMap<Survey, SurveyCount>,
    /// The nights of each object's alerts and detections, to count objects and nights
    /// after the read.
    objects: HashMap<ObjectKey, ObjectNights>,
}

#[derive(Default)]
struct ObjectNights {
    alerts: HashSet<i64>,
    detections: HashSet<i64>,
}

impl Tally {
    fn add(&mut self, alert: &AnyAlert) {
        let s = alert.summary();
        let version = s.schema.clone().unwrap_or_else(|| "unknown".into());
        *self.schema_versions.entry(version).or_default() += 1;
        for stamp in &s.stamps {
            *self
                .stamp_shapes
                .entry(format!("{}x{}", stamp.width, stamp.height))
                .or_default() += 1;
        }
        if s.stamps.len() < 3 {
            self.missing_cutouts += 1;
        }
        let count = self.surveys.entry(s.survey).or_default();
        count.alerts += 1;
        count.solar_system_alerts += usize::from(s.solar_system);
        let Some(key) = ObjectKey::of(alert) else {
            count.alerts_without_object += 1;
            return;
        };
        let (own, history) = detection_nights_of(alert);
        let nights = self.objects.entry(key).or_default();
        nights.alerts.insert(own);
        nights.detections.insert(own);
        nights.detections.extend(history);
    }
}

pub fn inspect(paths: &[PathBuf], options: &ReadOptions, show_progress: bool) -> InspectReport {
    let start = std::time::Instant::now();
    let (inputs, walk_errors) = collect_inputs(paths);
    let tally = Mutex::new(Tally::default());
    let bar = progress::read_bar(0);
    if !show_progress {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let summary = read_inputs_any(
        &inputs,
        options,
        |p| {
            bar.set_length(p.bytes_total);
            progress::update(&bar, p);
        },
        |alert| tally.lock().unwrap_or_else(|p| p.into_inner()).add(&alert),
    );
    bar.finish_and_clear();
    let mut tally = tally.into_inner().unwrap_or_else(|p| p.into_inner());
    let (mut objects_multi_night, mut objects_multi_night_history) = (0, 0);
    for (key, nights) in &tally.objects {
        let count = tally.surveys.entry(key.survey).or_default();
        count.objects += 1;
        if nights.alerts.len() >= 2 {
            count.objects_multi_night += 1;
            objects_multi_night += 1;
        }
        if nights.detections.len() >= 2 {
            count.objects_multi_night_history += 1;
            objects_multi_night_history += 1;
        }
    }
    let mut errors = walk_errors;
    errors.extend(summary.errors);
    InspectReport {
        files: summary.files,
        alerts: summary.alerts,
        objects: tally.objects.len(),
        surveys: tally.surveys,
        objects_multi_night,
        objects_multi_night_history,
        schema_versions: tally.schema_versions,
        stamp_shapes: tally.stamp_shapes,
        alerts_missing_cutouts: tally.missing_cutouts,
        bytes: summary.bytes,
        seconds: start.elapsed().as_secs_f64(),
        errors,
    }
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    super::require_paths(&args.paths)?;
    let options = args.schemas.read_options();
    let report = inspect(&args.paths, &options, true);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    let failed = report.alerts == 0 || (args.strict && !report.errors.is_empty());
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_text(r: &InspectReport) {
    println!("files                {}", r.files);
    println!("alerts               {}", r.alerts);
    println!("objects              {}", r.objects);
    for (survey, c) in &r.surveys {
        println!(
            "  {survey:<4}               {} alerts, {} objects ({} on >=2 nights, {} with history), \
             {} solar-system alerts, {} alerts naming no object",
            c.alerts,
            c.objects,
            c.objects_multi_night,
            c.objects_multi_night_history,
            c.solar_system_alerts,
            c.alerts_without_object
        );
    }
    println!("objects on >=2 nights {}", r.objects_multi_night);
    println!(
        "  with history         {} (their alerts' previous detections counted)",
        r.objects_multi_night_history
    );
    let versions: Vec<String> = r
        .schema_versions
        .iter()
        .map(|(v, n)| format!("{v}: {n}"))
        .collect();
    println!("schema versions      {}", versions.join(", "));
    let shapes: Vec<String> = r
        .stamp_shapes
        .iter()
        .map(|(s, n)| format!("{s}: {n}"))
        .collect();
    println!("stamp shapes         {}", shapes.join(", "));
    println!("alerts missing cutouts {}", r.alerts_missing_cutouts);
    println!(
        "read                 {:.1} MB in {:.2} s",
        r.bytes as f64 / 1e6,
        r.seconds
    );
    println!("errors               {}", r.errors.len());
    for e in &r.errors {
        println!("  {e}");
    }
}
