//! `stampseq inspect`: what is in these files.

use super::progress;
use crate::alert::neutral::{Survey, SurveyAlert};
use crate::alert::{collect_inputs, read_inputs_any, AnyAlert, ReadError, ReadOptions};
use crate::sequence::count_nights;
use clap::Args;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
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
    /// Objects whose alerts fall on two or more observing nights.
    pub objects_multi_night: usize,
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
}

#[derive(Default)]
struct Tally {
    schema_versions: BTreeMap<String, usize>,
    stamp_shapes: BTreeMap<String, usize>,
    missing_cutouts: usize,
    surveys: BTreeMap<Survey, SurveyCount>,
    /// (survey, objectId) -> (alert id, jd) of each alert, to count objects and nights
    /// after the read.
    objects: AlertsByObject,
}

/// (survey, objectId) -> (alert id, jd) of each alert.
type AlertsByObject = HashMap<(Survey, String), Vec<(Option<i64>, f64)>>;

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
        self.objects
            .entry((s.survey, s.object_id))
            .or_default()
            .push((s.alert_id, s.mjd + 2_400_000.5));
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
    for (survey, _) in tally.objects.keys() {
        tally.surveys.entry(*survey).or_default().objects += 1;
    }
    let objects_multi_night = tally
        .objects
        .values()
        .filter(|alerts| {
            // The same alert read twice (a file and an archive) is one detection.
            let mut seen = std::collections::HashSet::new();
            let unique = alerts
                .iter()
                .filter(|(id, _)| id.is_none_or(|id| seen.insert(id)))
                .map(|(_, jd)| *jd);
            count_nights(unique) >= 2
        })
        .count();
    let mut errors = walk_errors;
    errors.extend(summary.errors);
    InspectReport {
        files: summary.files,
        alerts: summary.alerts,
        objects: tally.objects.len(),
        surveys: tally.surveys,
        objects_multi_night,
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
            "  {survey:<4}               {} alerts, {} objects, {} solar-system alerts",
            c.alerts, c.objects, c.solar_system_alerts
        );
    }
    println!("objects on >=2 nights {}", r.objects_multi_night);
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
