//! `stampseq inspect`: what is in these files.

use super::progress;
use crate::alert::{collect_inputs, read_inputs, Alert, CutoutKind, ReadError, ReadOptions};
use crate::sequence::count_nights;
use clap::Args;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Avro files, folders (searched recursively) or .tar.gz archives.
    pub paths: Vec<PathBuf>,
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

#[derive(Default)]
struct Tally {
    schema_versions: BTreeMap<String, usize>,
    stamp_shapes: BTreeMap<String, usize>,
    missing_cutouts: usize,
    /// objectId -> (candid, jd) of each alert, to count objects and nights after the read.
    objects: HashMap<String, Vec<(Option<i64>, f64)>>,
}

impl Tally {
    fn add(&mut self, alert: &Alert) {
        let version = alert
            .schema_version
            .clone()
            .unwrap_or_else(|| "unknown".into());
        *self.schema_versions.entry(version).or_default() += 1;
        for kind in CutoutKind::ALL {
            if let Some(s) = alert.cutouts.get(kind) {
                *self.stamp_shapes.entry(s.shape_label()).or_default() += 1;
            }
        }
        if !alert.cutouts.is_complete() {
            self.missing_cutouts += 1;
        }
        self.objects
            .entry(alert.object_id.clone())
            .or_default()
            .push((alert.candid, alert.candidate.jd));
    }
}

pub fn inspect(paths: &[PathBuf], show_progress: bool) -> InspectReport {
    let start = std::time::Instant::now();
    let (inputs, walk_errors) = collect_inputs(paths);
    let tally = Mutex::new(Tally::default());
    let bar = progress::read_bar(0);
    if !show_progress {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let summary = read_inputs(
        &inputs,
        &ReadOptions::default(),
        |p| {
            bar.set_length(p.bytes_total);
            progress::update(&bar, p);
        },
        |alert| tally.lock().unwrap_or_else(|p| p.into_inner()).add(&alert),
    );
    bar.finish_and_clear();
    let tally = tally.into_inner().unwrap_or_else(|p| p.into_inner());
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
    let report = inspect(&args.paths, true);
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
