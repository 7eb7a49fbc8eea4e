//! `stampseq bench ...`: throughput measurements. Timings belong here and in BENCHMARKS.md,
//! never in tests.

use crate::alert::{collect_inputs, read_inputs_any, AnyAlert, ReadOptions};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Read and decode alerts (Avro, gzip, FITS) on all cores; last line:
    /// `ingest: N alerts in S s = R alerts/s`.
    Ingest(IngestArgs),
    /// Run a model on batches of real preprocessed alerts; last line:
    /// `infer: R alerts/s (backend, batch N)`.
    Infer(InferArgs),
    /// Time training steps of a configuration; last line: `train: R samples/s (backend)`.
    Train(TrainBenchArgs),
    /// Time the app's frames (layout and tessellation, headless, no GPU) with many
    /// synthetic objects in the browser: steady, while stepping through objects, on a
    /// filter change and on a sort change, with and without the cached row index.
    Browser(BrowserArgs),
    /// Replay vetting on the real labelled alerts: labels added a step at a time in the
    /// informative order or at random, the default model retrained after each step and
    /// scored on the benchmark's real test part; writes table.md, curves.json and the
    /// learning curves as PNG and SVG.
    Active(ActiveArgs),
    /// End to end over Kafka: replay alerts into a topic (a tansu broker started here
    /// unless --brokers), then time `stampseq stream` with 1 and with 2 consumers in a
    /// group reading it to the end; last lines: `stream: N consumer(s): ... alerts/s`.
    Stream(super::bench_stream::StreamBenchArgs),
}

#[derive(Debug, Args)]
pub struct ActiveArgs {
    /// The shared data folder (as for `stampseq benchmark`).
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    #[arg(long, default_value = "assets/benchmark/split.csv")]
    pub split: PathBuf,
    /// Labels added per step.
    #[arg(long, default_value_t = 25)]
    pub step: usize,
    /// Labelled objects to start from.
    #[arg(long, default_value_t = 25)]
    pub initial: usize,
    /// Labels at which to stop (at most the split's training and validation objects).
    #[arg(long, default_value_t = 250)]
    pub budget: usize,
    #[arg(long, default_value_t = 5)]
    pub seeds: usize,
    /// Share of each informative step drawn at random.
    #[arg(long, default_value_t = 0.1)]
    pub random_share: f64,
    /// Tree ensemble members (fewer is faster).
    #[arg(long, default_value_t = 3)]
    pub members: usize,
    #[arg(long, default_value = "out/active")]
    pub out: PathBuf,
    #[command(flatten)]
    pub cross: super::bench_active::CrossSourceArgs,
}

#[derive(Debug, Args)]
pub struct BrowserArgs {
    #[arg(long, default_value_t = 100_000)]
    pub objects: usize,
    /// Frames timed per scenario.
    #[arg(long, default_value_t = 100)]
    pub frames: usize,
}

#[derive(Debug, Args)]
pub struct TrainBenchArgs {
    /// A `stampseq train` TOML configuration (its data is read and preprocessed first).
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub backend: crate::backend::BackendChoice,
    /// Timed steps, after two warm-up steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
}

#[derive(Debug, Args)]
pub struct InferArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, default_value = "auto")]
    pub backend: crate::backend::BackendChoice,
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Timed batches after two warm-up batches.
    #[arg(long, default_value_t = 10)]
    pub iterations: usize,
    /// Alerts to take the inputs from (default: the bundled sample).
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Alert files of either survey (ZTF or LSST Avro, Confluent-framed LSST messages,
    /// broker Parquet), folders or .tar.gz archives.
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub schemas: super::LsstSchemaArgs,
    /// Timed passes; the median is reported (the first also warms the page cache).
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Skip the cutouts (metadata only).
    #[arg(long)]
    pub no_stamps: bool,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Ingest(args) => ingest(args),
        BenchCommand::Infer(args) => infer(args),
        BenchCommand::Train(args) => train_bench(args),
        BenchCommand::Browser(args) => browser(args),
        BenchCommand::Active(args) => active(args),
        BenchCommand::Stream(args) => super::bench_stream::run(args),
    }
}

fn active(args: ActiveArgs) -> anyhow::Result<ExitCode> {
    use crate::experiments::active::{render_markdown, replay, ActiveConfig};
    use crate::experiments::benchmark::read_split;
    use anyhow::Context;
    let rows = read_split(&args.split)
        .with_context(|| format!("the benchmark split {}", args.split.display()))?;
    let folders = crate::experiments::answers::labelled_alert_folders(&args.data);
    anyhow::ensure!(
        !folders.is_empty(),
        "{}: no labelled alert folders (ztf/labeled, ztf/sequences, ztf/extra)",
        args.data.display()
    );
    let wanted: std::collections::HashSet<&str> =
        rows.iter().map(|r| r.object_id.as_str()).collect();
    let started = Instant::now();
    let (sequences, _) =
        crate::experiments::answers::read_labelled_objects(&args.data, &|id| wanted.contains(id));
    let part_of: std::collections::HashMap<&str, &str> = rows
        .iter()
        .map(|r| (r.object_id.as_str(), r.part.as_str()))
        .collect();
    let labels: std::collections::HashMap<String, String> = rows
        .iter()
        .map(|r| (r.object_id.clone(), r.label.clone()))
        .collect();
    let pool: Vec<&crate::sequence::neutral::ObjectSequence> = sequences
        .iter()
        .filter(|s| part_of.get(s.key.id.as_str()) != Some(&"test"))
        .collect();
    let test: Vec<crate::sequence::neutral::ObjectSequence> = sequences
        .iter()
        .filter(|s| part_of.get(s.key.id.as_str()) == Some(&"test"))
        .cloned()
        .collect();
    let truth: Vec<(String, String)> = test
        .iter()
        .map(|s| (s.key.id.clone(), labels[&s.key.id].clone()))
        .collect();
    let config = ActiveConfig {
        initial: args.initial,
        step: args.step,
        budget: args.budget,
        seeds: args.seeds,
        random_share: args.random_share.clamp(0.0, 1.0),
        trees: crate::model::trees::TreeConfig {
            members: args.members.max(1),
            ..Default::default()
        },
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    if !args.cross.no_cross_source {
        let all: Vec<_> = sequences.iter().collect();
        let table = super::bench_active::cross_source(
            &args.cross,
            &config,
            (&args.data, &args.out),
            &all,
            &rows,
            &labels,
        )?;
        println!("{table}");
        if args.cross.cross_source_only {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let backend = crate::backend::BackendChoice::Cpu.resolve();
    let curves = replay(&pool, &labels, &test, &truth, &config, &backend, &|l| {
        eprintln!("{l}")
    })?;
    let table = render_markdown(&curves, config.seeds, truth.len());
    crate::atomic::write_atomic(&args.out.join("table.md"), table.as_bytes())?;
    crate::atomic::write_atomic(
        &args.out.join("curves.json"),
        &serde_json::to_vec_pretty(&curves)?,
    )?;
    crate::eval::plots::learning_curves(
        "What each label buys: informative order against random",
        &curves,
        &args.out.join("learning-curves.png"),
        &args.out.join("learning-curves.svg"),
    )?;
    println!("{table}");
    eprintln!(
        "active: {} steps x {} seeds x 2 orders in {:.1} s; wrote {}",
        curves.first().map_or(0, |c| c.labels.len()),
        config.seeds,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn ingest(args: IngestArgs) -> anyhow::Result<ExitCode> {
    super::require_paths(&args.paths)?;
    let (inputs, walk_errors) = collect_inputs(&args.paths);
    for e in &walk_errors {
        eprintln!("warning: {e}");
    }
    let options = ReadOptions {
        decode_stamps: !args.no_stamps,
        ..args.schemas.read_options()
    };
    let mut runs = Vec::new();
    for pass in 0..args.repeat.max(1) {
        let stamps = AtomicUsize::new(0);
        let start = Instant::now();
        let summary = read_inputs_any(
            &inputs,
            &options,
            |_| {},
            |alert| {
                let n = match &alert {
                    AnyAlert::Ztf(a) => a.cutouts.count(),
                    AnyAlert::Lsst(a) => a.cutouts.count(),
                };
                stamps.fetch_add(n, Ordering::Relaxed);
            },
        );
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "pass {}: {} alerts, {} stamps, {} errors, {:.1} MB in {:.3} s",
            pass + 1,
            summary.alerts,
            stamps.load(Ordering::Relaxed),
            summary.errors.len(),
            summary.bytes as f64 / 1e6,
            secs
        );
        runs.push((secs, summary.alerts, summary.bytes));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (secs, alerts, bytes) = runs[runs.len() / 2];
    anyhow::ensure!(alerts > 0, "no alert could be read");
    println!(
        "ingest: {alerts} alerts in {secs:.3} s = {:.0} alerts/s ({:.1} MB/s, {} threads)",
        alerts as f64 / secs,
        bytes as f64 / 1e6 / secs,
        rayon::current_num_threads()
    );
    Ok(ExitCode::SUCCESS)
}

fn infer(args: InferArgs) -> anyhow::Result<ExitCode> {
    use crate::classify::{ClassifyOptions, LoadedModel};
    use crate::sequence::neutral::BorrowedObject;
    let backend = args.backend.resolve();
    let model = LoadedModel::load_for(&args.model, &backend)?;
    let paths = if args.paths.is_empty() {
        crate::assets::bundled_sample_dir()
            .into_iter()
            .collect::<Vec<_>>()
    } else {
        args.paths.clone()
    };
    anyhow::ensure!(
        !paths.is_empty(),
        "no alerts given and no bundled sample found"
    );
    let (inputs, _) = collect_inputs(&paths);
    let alerts = std::sync::Mutex::new(Vec::new());
    crate::model::read_alerts_for_model(
        &model.header,
        &args.model,
        &inputs,
        &ReadOptions::default(),
        |_| {},
        |a| alerts.lock().unwrap_or_else(|e| e.into_inner()).push(a),
    )?;
    let mut alerts = alerts.into_inner().unwrap_or_else(|e| e.into_inner());
    alerts
        .sort_by(|a, b| (&a.origin.file, a.origin.record).cmp(&(&b.origin.file, b.origin.record)));
    anyhow::ensure!(!alerts.is_empty(), "no alert could be read");
    // Repeat the real alerts until one batch is full, as one object each (in the order of
    // their names, as objects read from files come).
    let batch = args.batch.max(1);
    let mut sequences: Vec<BorrowedObject> = alerts
        .iter()
        .cycle()
        .take(batch)
        .enumerate()
        .map(|(i, a)| BorrowedObject {
            name: format!("bench{i}"),
            alerts: vec![a.into()],
        })
        .collect();
    sequences.sort_by(|a, b| a.name.cmp(&b.name));
    let options = ClassifyOptions {
        max_detections: 1,
        batch_size: args.batch.max(1),
        production_rules: false,
        ..ClassifyOptions::default()
    };
    let cancel = AtomicBool::new(false);
    let mut times = Vec::new();
    for i in 0..args.iterations + 2 {
        let start = Instant::now();
        let out = model.classify(&sequences, &options, &backend.device, &cancel, &|_, _| {})?;
        let secs = start.elapsed().as_secs_f64();
        anyhow::ensure!(
            out.rows.len() == sequences.len(),
            "{} alerts skipped",
            out.skipped.len()
        );
        if i >= 2 {
            times.push(secs);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    eprintln!(
        "{} batches of {}: median {:.4} s, best {:.4} s (preprocessing included)",
        times.len(),
        sequences.len(),
        median,
        times[0]
    );
    println!(
        "infer: {:.0} alerts/s ({}, batch {})",
        sequences.len() as f64 / median,
        backend.description,
        sequences.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn train_bench(args: TrainBenchArgs) -> anyhow::Result<ExitCode> {
    use crate::train::{train, TrainConfig, TrainEvent};
    let mut config = TrainConfig::from_toml_file(&args.config)?;
    let warmup = 2;
    config.max_iterations = warmup + args.steps.max(1);
    // No validation inside the timed window.
    config.validate_every = config.max_iterations;
    let backend = args.backend.resolve();
    let device = backend.device.clone().autodiff();
    if backend.is_gpu {
        let limit = crate::train::trainer::exact_reduction_limit(&backend.device);
        eprintln!(
            "{}: reductions exact up to {limit} elements (batches split past that)",
            backend.description
        );
    }
    let run = tempfile::tempdir()?;
    let mut started: Option<Instant> = None;
    let mut timed = 0usize;
    let mut elapsed = 0.0;
    let cancel = AtomicBool::new(false);
    train(&config, run.path(), &device, &cancel, &mut |e| {
        if let TrainEvent::Step { iteration, .. } = e {
            if iteration == warmup {
                started = Some(Instant::now());
            } else if let Some(t) = started {
                if iteration <= warmup + args.steps {
                    timed = iteration - warmup;
                    elapsed = t.elapsed().as_secs_f64();
                }
            }
        }
    })?;
    anyhow::ensure!(timed > 0 && elapsed > 0.0, "no step was timed");
    let samples = (timed * config.batch) as f64;
    eprintln!(
        "{timed} steps of batch {} in {elapsed:.2} s ({:.3} s per step)",
        config.batch,
        elapsed / timed as f64
    );
    println!(
        "train: {:.1} samples/s ({})",
        samples / elapsed,
        backend.training_description()
    );
    Ok(ExitCode::SUCCESS)
}

/// Synthetic objects for the UI benchmark: ids, 1-3 detections in g and r, no stamps. They
/// measure the app's bookkeeping and drawing, not the science.
fn synthetic_alerts(objects: usize) -> Vec<crate::alert::Alert> {
    use crate::alert::{Alert, AlertOrigin, Candidate, Cutouts};
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let origin = AlertOrigin {
        file: std::sync::Arc::from("synthetic"),
        record: 0,
    };
    let mut alerts = Vec::with_capacity(objects * 2);
    for i in 0..objects {
        let object_id = format!("ZTF24{:07}", i * 7919 % 10_000_000);
        let (ra, dec) = (
            rng.random_range(0.0..360.0),
            rng.random_range(-30.0..90.0f64),
        );
        let first = 2_460_300.0 + rng.random_range(0.0..300.0);
        for d in 0..rng.random_range(1..=3usize) {
            alerts.push(Alert {
                object_id: object_id.clone(),
                candid: Some((i * 3 + d) as i64),
                schema_version: None,
                publisher: None,
                candidate: Candidate {
                    jd: first + d as f64 * rng.random_range(0.5..5.0),
                    fid: 1 + (d % 2) as i32,
                    ra,
                    dec,
                    magpsf: rng.random_range(16.0..20.5),
                    sigmapsf: 0.05,
                    ..Default::default()
                },
                prv_candidates: Vec::new(),
                fp_hists: Vec::new(),
                cutouts: Cutouts::default(),
                label: None,
                broker_columns: Default::default(),
                origin: origin.clone(),
            });
        }
    }
    alerts
}

/// Mean and worst of a scenario's frame times, in milliseconds.
fn frame_stats(name: &str, times: &[f64]) -> (f64, f64) {
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64 * 1e3;
    let worst = times.iter().copied().fold(0.0, f64::max) * 1e3;
    eprintln!(
        "  {name:<42} mean {mean:7.2} ms  worst {worst:7.2} ms  ({} frames)",
        times.len()
    );
    (mean, worst)
}

fn browser(args: BrowserArgs) -> anyhow::Result<ExitCode> {
    use rand::SeedableRng;
    anyhow::ensure!(args.objects > 0 && args.frames > 0, "nothing to time");
    let started = Instant::now();
    let alerts = synthetic_alerts(args.objects);
    let n_alerts = alerts.len();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut ids: Vec<String> = alerts.iter().map(|a| a.object_id.clone()).collect();
    ids.dedup();
    let labels = tempfile::tempdir()?;
    write_vetting_journal(&ids, labels.path(), &mut rng)?;

    let ctx = egui::Context::default();
    let mut app = browser_app(&ctx, labels.path(), alerts, &ids, &mut rng);
    eprintln!(
        "{} objects, {n_alerts} alerts, {} labelled, set up in {:.1} s",
        app.state.catalog.rows.len(),
        app.state.labels.as_ref().map_or(0, |l| l.len()),
        started.elapsed().as_secs_f64()
    );

    let mut frames = BrowserFrames::new(ctx);
    for _ in 0..5 {
        frames.frame(&mut app, Vec::new());
    }
    let n = args.frames;
    let mut report = Vec::new();
    report.extend(time_input(&mut frames, &mut app, n));
    report.push(time_filter_changes(&mut frames, &mut app, n));
    report.push(time_sort_changes(&mut frames, &mut app, n));
    report.extend(time_uncached(&mut frames, &mut app, n));
    report.extend(time_stream_batches(
        &mut frames,
        &mut app,
        args.objects,
        n_alerts,
        n.min(20),
    ));
    let summary: Vec<String> = report
        .iter()
        .map(|(name, (mean, worst))| format!("{name} {mean:.2}/{worst:.2}"))
        .collect();
    println!(
        "browser: {} objects, ms per frame mean/worst: {}",
        app.state.catalog.rows.len(),
        summary.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// One line of the browser benchmark's report: its name, and mean and worst ms per frame.
type FrameReport = (&'static str, (f64, f64));

/// A third of the objects vetted, through the journal the app replays at start.
fn write_vetting_journal(
    ids: &[String],
    dir: &std::path::Path,
    rng: &mut rand::rngs::StdRng,
) -> anyhow::Result<()> {
    use crate::labels::LabelEvent;
    use rand::RngExt;
    let mut journal = String::new();
    for id in ids {
        if rng.random_range(0..3) != 0 {
            continue;
        }
        let event = LabelEvent {
            time: 0.0,
            object_id: id.clone(),
            label: Some(BENCH_CLASSES[rng.random_range(0..BENCH_CLASSES.len())].to_string()),
            previous: None,
            undo: false,
            ..Default::default()
        };
        journal.push_str(&serde_json::to_string(&event)?);
        journal.push('\n');
    }
    std::fs::write(dir.join("labels.log"), journal)?;
    Ok(())
}

/// The classes of the browser benchmark's labels and answers.
const BENCH_CLASSES: [&str; 5] = ["AGN", "SN", "VS", "asteroid", "bogus"];

/// The app over the synthetic alerts, with a model's random answers for every object.
fn browser_app(
    ctx: &egui::Context,
    labels: &std::path::Path,
    alerts: Vec<crate::alert::Alert>,
    ids: &[String],
    rng: &mut rand::rngs::StdRng,
) -> crate::app::StampseqApp {
    use crate::app::predictions::ModelPredictions;
    use crate::app::{AppOptions, StampseqApp};
    use rand::RngExt;
    let cc = eframe::CreationContext::_new_kittest(ctx.clone());
    let mut app = StampseqApp::new(
        &cc,
        AppOptions {
            labels_dir: Some(labels.to_path_buf()),
            fresh_preferences: true,
            ..Default::default()
        },
    );
    app.state
        .catalog
        .add_alerts(alerts.into_iter().map(AnyAlert::Ztf).collect());
    let mut by_object = std::collections::HashMap::new();
    for id in ids {
        let mut p: Vec<f32> = (0..BENCH_CLASSES.len())
            .map(|_| rng.random_range(0.01..1.0))
            .collect();
        let sum: f32 = p.iter().sum();
        p.iter_mut().for_each(|v| *v /= sum);
        by_object.insert(id.clone(), vec![p]);
    }
    app.state.predictions.insert(ModelPredictions {
        model: "synthetic".into(),
        classes: BENCH_CLASSES.iter().map(|c| c.to_string()).collect(),
        by_object,
        ..Default::default()
    });
    app
}

/// Frames as eframe runs them, minus the GPU: input, layout of every panel, tessellation.
struct BrowserFrames {
    ctx: egui::Context,
    eframe_frame: eframe::Frame,
    clock: f64,
}

impl BrowserFrames {
    fn new(ctx: egui::Context) -> Self {
        Self {
            ctx,
            eframe_frame: eframe::Frame::_new_kittest(),
            clock: 0.0,
        }
    }

    /// Runs one frame with `events`; returns its seconds.
    fn frame(&mut self, app: &mut crate::app::StampseqApp, events: Vec<egui::Event>) -> f64 {
        let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1500.0, 950.0));
        self.clock += 1.0 / 60.0;
        let input = egui::RawInput {
            screen_rect: Some(screen),
            time: Some(self.clock),
            events,
            ..Default::default()
        };
        let start = Instant::now();
        let eframe_frame = &mut self.eframe_frame;
        let output = self.ctx.run_ui(input, |ui| {
            eframe::App::ui(app, ui, eframe_frame);
        });
        let primitives = self.ctx.tessellate(output.shapes, output.pixels_per_point);
        std::hint::black_box(primitives);
        start.elapsed().as_secs_f64()
    }
}

/// Frames without input, then with the next object asked for at each.
fn time_input(
    frames: &mut BrowserFrames,
    app: &mut crate::app::StampseqApp,
    n: usize,
) -> [FrameReport; 2] {
    let key = |key: egui::Key| egui::Event::Key {
        key,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: egui::Modifiers::NONE,
    };
    let idle: Vec<f64> = (0..n).map(|_| frames.frame(app, Vec::new())).collect();
    let stepping: Vec<f64> = (0..n)
        .map(|_| frames.frame(app, vec![key(egui::Key::ArrowDown)]))
        .collect();
    [
        ("steady (no input)", frame_stats("steady (no input)", &idle)),
        (
            "next object each frame",
            frame_stats("next object each frame (arrow down)", &stepping),
        ),
    ]
}

/// A filter changed before each frame.
fn time_filter_changes(
    frames: &mut BrowserFrames,
    app: &mut crate::app::StampseqApp,
    n: usize,
) -> FrameReport {
    let mut filter = Vec::new();
    for i in 0..n {
        let f = &mut app.ui.prefs.filter;
        match i % 4 {
            0 => f.only_unvetted = !f.only_unvetted,
            1 => f.search = format!("{}", i % 10),
            2 => f.min_detections = 1 + i % 3,
            _ => f.search.clear(),
        }
        filter.push(frames.frame(app, Vec::new()));
    }
    ("filter change", frame_stats("filter change", &filter))
}

/// The sort column or direction changed before each frame.
fn time_sort_changes(
    frames: &mut BrowserFrames,
    app: &mut crate::app::StampseqApp,
    n: usize,
) -> FrameReport {
    use crate::app::state::SortColumn;
    let columns = [
        SortColumn::Label,
        SortColumn::Probability,
        SortColumn::LastSeen,
        SortColumn::Detections,
        SortColumn::ObjectId,
    ];
    let mut sort = Vec::new();
    for i in 0..n {
        app.ui.prefs.filter.sort = columns[i % columns.len()];
        app.ui.prefs.filter.descending = i % 2 == 1;
        sort.push(frames.frame(app, Vec::new()));
    }
    ("sort change", frame_stats("sort change", &sort))
}

/// The behaviour before the cache: the rows filtered and sorted again at every frame.
fn time_uncached(
    frames: &mut BrowserFrames,
    app: &mut crate::app::StampseqApp,
    n: usize,
) -> Vec<FrameReport> {
    use crate::app::state::SortColumn;
    let mut report = Vec::new();
    for (name, sort, only_unvetted) in [
        (
            "recomputed every frame, by objectId",
            SortColumn::ObjectId,
            false,
        ),
        (
            "recomputed every frame, unvetted by label",
            SortColumn::Label,
            true,
        ),
    ] {
        let f = &mut app.ui.prefs.filter;
        f.search.clear();
        f.min_detections = 1;
        f.sort = sort;
        f.descending = false;
        f.only_unvetted = only_unvetted;
        let uncached: Vec<f64> = (0..n)
            .map(|_| {
                app.state.invalidate_visible();
                frames.frame(app, Vec::new())
            })
            .collect();
        report.push((name, frame_stats(name, &uncached)));
    }
    report
}

/// A stream batch arriving: 50 alerts, half of objects already listed, half new, added to
/// the catalog as the app's stream adds them, then a frame.
fn time_stream_batches(
    frames: &mut BrowserFrames,
    app: &mut crate::app::StampseqApp,
    objects: usize,
    n_alerts: usize,
    batches: usize,
) -> [FrameReport; 2] {
    let extra = synthetic_alerts(objects + batches * 25);
    let mut arrivals = Vec::new();
    let mut adds = Vec::new();
    for b in 0..batches {
        let mut batch: Vec<AnyAlert> = Vec::new();
        for k in 0..25 {
            let mut again = extra[(b * 7919 + k * 104_729) % n_alerts].clone();
            again.candid = again.candid.map(|c| c + 1_000_000_000);
            again.candidate.jd += 30.0;
            batch.push(AnyAlert::Ztf(again));
        }
        batch.extend(
            extra[n_alerts + b * 25..]
                .iter()
                .take(25)
                .cloned()
                .map(AnyAlert::Ztf),
        );
        let start = Instant::now();
        app.state.catalog.add_alerts(batch);
        adds.push(start.elapsed().as_secs_f64());
        app.state.invalidate_visible();
        let framed = frames.frame(app, Vec::new());
        arrivals.push(adds[adds.len() - 1] + framed);
    }
    [
        (
            "stream batch added (catalog only)",
            frame_stats("stream batch of 50 added (catalog only)", &adds),
        ),
        (
            "stream batch added + frame",
            frame_stats("stream batch of 50 added + frame", &arrivals),
        ),
    ]
}
