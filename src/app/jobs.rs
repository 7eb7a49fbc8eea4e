//! Background work: the UI thread never reads a file or runs a model. Each job runs on its
//! own thread, reports [`JobEvent`]s over a channel and asks for a repaint; the UI drains
//! the channel once a frame. Every job can be cancelled.

use super::models::{answers, stands_in, ClassifyRequest};
use crate::alert::lsst::SchemaSources;
use crate::alert::{collect_inputs, read_inputs_any, AnyAlert, ReadOptions, ReadSummary};
use crate::sequence::neutral::{AlertObject, BorrowedObject, ObjectSequence};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub enum JobEvent {
    Progress {
        job: u64,
        fraction: f32,
        message: String,
    },
    Loaded {
        job: u64,
        /// ZTF and LSST alerts, as the files held them.
        alerts: Vec<AnyAlert>,
        summary: ReadSummary,
    },
    Classified {
        job: u64,
        predictions: crate::app::predictions::ModelPredictions,
        backend: String,
        skipped: usize,
    },
    Training {
        job: u64,
        event: crate::train::TrainEvent,
    },
    Trained {
        job: u64,
        /// The run's best model, if it wrote one.
        best: Option<PathBuf>,
        summary: String,
    },
    /// A plot was written.
    Exported {
        job: u64,
        path: PathBuf,
    },
    AllWiseLoaded {
        job: u64,
        path: PathBuf,
        catalogue: Arc<crate::features::allwise::AllWiseCatalogue>,
    },
    /// A fine-tuned model was written beside its base.
    FineTuned {
        job: u64,
        report: Box<crate::experiments::finetune::FinetuneReport>,
    },
    /// A file was read or written for the app.
    FileDone {
        job: u64,
        done: FileDone,
    },
    /// A job found nothing to do (a stand-in with every survey read).
    Idle {
        job: u64,
    },
    Failed {
        job: u64,
        error: String,
    },
}

/// What a file job read or wrote, for the app to apply.
#[derive(Debug)]
pub enum FileDone {
    /// Written; the line says what, for the status bar.
    Written(String),
    /// This session's vetting labels, written for the training form.
    SessionLabels(crate::app::training::SessionTraining),
    /// The AllWISE crossmatch table the command line named.
    Crossmatch(Box<crate::features::allwise::CrossmatchTable>),
    /// A labels CSV for the evaluation view.
    EvaluationLabels(std::collections::HashMap<String, String>),
    /// Another tool's labels CSV, for the import dialog.
    ForeignLabels(Box<crate::labels::ForeignCsv>),
}

impl JobEvent {
    pub fn job(&self) -> u64 {
        match self {
            JobEvent::Progress { job, .. }
            | JobEvent::Loaded { job, .. }
            | JobEvent::Classified { job, .. }
            | JobEvent::Training { job, .. }
            | JobEvent::Trained { job, .. }
            | JobEvent::Exported { job, .. }
            | JobEvent::AllWiseLoaded { job, .. }
            | JobEvent::FineTuned { job, .. }
            | JobEvent::FileDone { job, .. }
            | JobEvent::Idle { job }
            | JobEvent::Failed { job, .. } => *job,
        }
    }
}

/// A job the UI shows in the status bar.
#[derive(Debug, Clone)]
pub struct RunningJob {
    pub id: u64,
    pub title: String,
    pub fraction: f32,
    pub message: String,
    pub cancel: Arc<AtomicBool>,
}

/// Where a worker sends its job's events: each one wakes the UI, which would otherwise
/// sleep until the next input.
struct Reply {
    tx: Sender<JobEvent>,
    ctx: Option<egui::Context>,
}

impl Reply {
    fn send(&self, event: JobEvent) {
        // A closed channel means the app is gone; nobody is left to tell.
        let _ = self.tx.send(event);
        if let Some(c) = &self.ctx {
            c.request_repaint();
        }
    }

    /// Sends a job's result: its event, or its failure with the whole chain of causes.
    fn finish(&self, job: u64, result: anyhow::Result<JobEvent>) {
        self.send(result.unwrap_or_else(|e| JobEvent::Failed {
            job,
            error: crate::errors::error_text(e.as_ref()),
        }));
    }
}

/// An object as the answer path reads it, named as the browser (and the labels) name it.
fn named(o: &ObjectSequence) -> BorrowedObject<'_> {
    BorrowedObject {
        name: super::state::browser_key(&o.key),
        alerts: o.alert_refs(),
    }
}

/// A classify job's side of the channel.
struct ClassifyWork<'a> {
    job: u64,
    cancel: &'a AtomicBool,
    reply: &'a Reply,
}

impl ClassifyWork<'_> {
    /// `model`'s answers for the `chosen` objects of the request, in one pass of the answer
    /// path, as the app keeps them.
    fn answer(
        &self,
        model_path: &std::path::Path,
        model: &crate::classify::LoadedModel,
        resolved: &crate::backend::ResolvedBackend,
        request: &ClassifyRequest,
        chosen: impl Fn(&ObjectSequence) -> bool,
    ) -> anyhow::Result<JobEvent> {
        use crate::app::predictions::{display_name, ModelPredictions, Spread};
        let options = crate::classify::ClassifyOptions {
            max_detections: 0,
            allwise: request.allwise.clone(),
            rules: request.rules,
            ..Default::default()
        };
        let progress = |done: usize, total: usize| {
            self.reply.send(JobEvent::Progress {
                job: self.job,
                fraction: done as f32 / total.max(1) as f32,
                message: format!("{done}/{total} detections"),
            });
        };
        let objects: Vec<BorrowedObject> = request
            .objects
            .iter()
            .filter(|o| chosen(o))
            .map(named)
            .collect();
        let output =
            model.classify(&objects, &options, &resolved.device, self.cancel, &progress)?;
        let mut by_object: std::collections::HashMap<String, Vec<Vec<f32>>> = Default::default();
        let mut spread: std::collections::HashMap<String, Vec<Spread>> = Default::default();
        let mut transferred = std::collections::HashSet::new();
        for row in output.rows {
            if row.transferred {
                transferred.insert(row.object_id.clone());
            }
            if let Some(d) = row.disagreement {
                spread
                    .entry(row.object_id.clone())
                    .or_default()
                    .push(Spread {
                        std: row.std.clone(),
                        disagreement: d,
                    });
            }
            // Rows come in detection order per object; a skipped detection leaves no gap in
            // the evolution.
            by_object
                .entry(row.object_id)
                .or_default()
                .push(row.probabilities);
        }
        Ok(JobEvent::Classified {
            job: self.job,
            predictions: ModelPredictions {
                model: display_name(model_path, model.name()),
                classes: model.classes().to_vec(),
                by_object,
                spread,
                transferred,
                feature_stats: model.alert_feature_stats().cloned().map(Arc::new),
            },
            backend: resolved.description.clone(),
            skipped: output.skipped.len(),
        })
    }
}

pub struct Jobs {
    tx: Sender<JobEvent>,
    rx: Receiver<JobEvent>,
    next_id: u64,
    pub running: Vec<RunningJob>,
    /// Wakes the UI when a job reports; set once the egui context exists.
    repaint: Option<egui::Context>,
    /// Where the writer schemas of LSST Kafka messages (Confluent-framed files) come from.
    pub lsst_schemas: SchemaSources,
}

impl Default for Jobs {
    fn default() -> Self {
        let (tx, rx) = channel();
        Self {
            tx,
            rx,
            next_id: 1,
            running: Vec::new(),
            repaint: None,
            lsst_schemas: SchemaSources::default(),
        }
    }
}

impl Jobs {
    pub fn set_context(&mut self, ctx: egui::Context) {
        self.repaint = Some(ctx);
    }

    /// The egui context, for other workers (the stream) to wake the UI with.
    pub fn context(&self) -> Option<egui::Context> {
        self.repaint.clone()
    }

    fn start(&mut self, title: String) -> (u64, Arc<AtomicBool>, Reply) {
        let id = self.next_id;
        self.next_id += 1;
        let cancel = Arc::new(AtomicBool::new(false));
        self.running.push(RunningJob {
            id,
            title,
            fraction: 0.0,
            message: String::new(),
            cancel: cancel.clone(),
        });
        let reply = Reply {
            tx: self.tx.clone(),
            ctx: self.repaint.clone(),
        };
        (id, cancel, reply)
    }

    /// Runs `work` on a named thread; a thread that cannot start is reported as the job's
    /// failure instead of lost.
    fn spawn(&self, id: u64, kind: &str, work: impl FnOnce() + Send + 'static) {
        let spawned = std::thread::Builder::new()
            .name(format!("stampseq-{kind}-{id}"))
            .spawn(work);
        if let Err(e) = spawned {
            let _ = self.tx.send(JobEvent::Failed {
                job: id,
                error: format!("cannot start a thread: {e}"),
            });
        }
    }

    /// Reads alert files, folders or archives of either survey in the background; a file
    /// that does not read is an error naming it, and the rest still loads.
    pub fn load(&mut self, paths: Vec<PathBuf>) -> u64 {
        let title = match paths.as_slice() {
            [one] => format!("Loading {}", one.display()),
            many => format!("Loading {} inputs", many.len()),
        };
        let (id, cancel, reply) = self.start(title);
        let schemas = self.lsst_schemas.clone();
        self.spawn(id, "load", move || {
            let (inputs, walk_errors) = collect_inputs(&paths);
            let alerts = Mutex::new(Vec::new());
            let options = ReadOptions {
                decode_stamps: true,
                cancel,
                lsst_schemas: schemas.dir,
                schema_registry: schemas.registry,
            };
            let last_report = Mutex::new(std::time::Instant::now());
            let mut summary = read_inputs_any(
                &inputs,
                &options,
                |p| {
                    // A progress event per file would flood the channel on big nights.
                    let mut last = last_report.lock().unwrap_or_else(|e| e.into_inner());
                    if last.elapsed().as_millis() >= 100 {
                        *last = std::time::Instant::now();
                        reply.send(JobEvent::Progress {
                            job: id,
                            fraction: if p.bytes_total > 0 {
                                p.bytes_done as f32 / p.bytes_total as f32
                            } else {
                                0.0
                            },
                            message: format!("{} alerts", p.alerts),
                        });
                    }
                },
                |a| alerts.lock().unwrap_or_else(|e| e.into_inner()).push(a),
            );
            summary.errors.splice(0..0, walk_errors);
            let alerts = alerts.into_inner().unwrap_or_else(|e| e.into_inner());
            reply.send(JobEvent::Loaded {
                job: id,
                alerts,
                summary,
            });
        });
        id
    }

    /// Runs a model file over the loaded objects it answers ([`answers`]) in
    /// the background: every detection of each object, so the class evolution can be drawn.
    pub fn classify(&mut self, model_path: PathBuf, request: ClassifyRequest) -> u64 {
        let title = format!("Classifying with {}", model_path.display());
        let (id, cancel, reply) = self.start(title);
        self.spawn(id, "classify", move || {
            let work = ClassifyWork {
                job: id,
                cancel: &cancel,
                reply: &reply,
            };
            let result = (|| -> anyhow::Result<JobEvent> {
                let resolved = request.backend.resolve();
                let model = crate::classify::LoadedModel::load_for(&model_path, &resolved)?;
                work.answer(&model_path, &model, &resolved, &request, |o| {
                    answers(&model.header, o.key.survey)
                })
            })();
            reply.finish(id, result);
        });
        id
    }

    /// The bundled stand-in model ([`crate::assets::neutral_model`]) answers the loaded
    /// objects of the surveys none of the `loaded` model files reads, where it stands in
    /// for them ([`stands_in`]). The headers are read here, on the worker;
    /// with nothing to answer the job ends with [`JobEvent::Idle`].
    pub fn stand_in(&mut self, loaded: Vec<PathBuf>, request: ClassifyRequest) -> u64 {
        let (id, cancel, reply) = self.start("Answering what no loaded model reads".into());
        self.spawn(id, "stand-in", move || {
            let work = ClassifyWork {
                job: id,
                cancel: &cancel,
                reply: &reply,
            };
            let result = (|| -> anyhow::Result<JobEvent> {
                use crate::model::file::read_header;
                let headers: Vec<_> = loaded.iter().filter_map(|p| read_header(p).ok()).collect();
                let unread = |s| !headers.iter().any(|h| h.reads(s));
                let Some(path) = crate::assets::neutral_model() else {
                    return Ok(JobEvent::Idle { job: id });
                };
                let header = read_header(&path)?;
                let chosen =
                    |o: &ObjectSequence| unread(o.key.survey) && stands_in(&header, o.key.survey);
                if !request.objects.iter().any(chosen) {
                    return Ok(JobEvent::Idle { job: id });
                }
                let resolved = request.backend.resolve();
                let model = crate::classify::LoadedModel::load_for(&path, &resolved)?;
                work.answer(&path, &model, &resolved, &request, chosen)
            })();
            reply.finish(id, result);
        });
        id
    }

    /// Fine-tunes the tree model `base` on `labels` of the loaded objects, with the bundled
    /// training objects (the benchmark split's, when the shared data is found), on a worker.
    /// `choose_base` picks the model to start from on the worker, as it reads model files.
    pub fn finetune(
        &mut self,
        browsers: &std::path::Path,
        choose_base: impl FnOnce() -> PathBuf + Send + 'static,
        labels: std::collections::BTreeMap<String, String>,
        loaded: Arc<Vec<ObjectSequence>>,
        config: crate::experiments::finetune::FinetuneConfig,
    ) -> u64 {
        let title = format!("Fine-tuning {} on your labels", browsers.display());
        let (id, _cancel, reply) = self.start(title);
        self.spawn(id, "finetune", move || {
            let base = choose_base();
            let say = |message: &str| {
                reply.send(JobEvent::Progress {
                    job: id,
                    fraction: 0.5,
                    message: message.to_string(),
                });
            };
            let result = (|| -> anyhow::Result<JobEvent> {
                let (bundled, bundled_labels) =
                    crate::experiments::finetune::bundled_training_data();
                let refs: Vec<&crate::sequence::neutral::ObjectSequence> = bundled.iter().collect();
                // The loaded objects, named as the browser (and the labels) name them.
                let objects: Vec<BorrowedObject> = loaded.iter().map(named).collect();
                let report = crate::experiments::finetune::finetune(
                    &base,
                    &objects,
                    &labels,
                    &refs,
                    &bundled_labels,
                    &config,
                    &say,
                )?;
                // The report beside the model; the model is the result, so a report that
                // cannot be written does not fail the job.
                let report_md = report.new_model.with_extension("md");
                let _ = crate::atomic::write_atomic(
                    &report_md,
                    crate::experiments::finetune::render_report(&report).as_bytes(),
                );
                Ok(JobEvent::FineTuned {
                    job: id,
                    report: Box::new(report),
                })
            })();
            reply.finish(id, result);
        });
        id
    }

    /// Trains a model in the background, reporting every step and validation; cancelling
    /// stops after the current step and keeps the best model in `out`.
    pub fn train(
        &mut self,
        config: crate::train::TrainConfig,
        out: PathBuf,
    ) -> (u64, Arc<AtomicBool>) {
        let title = format!("Training into {}", out.display());
        let (id, cancel, reply) = self.start(title);
        let job_cancel = cancel.clone();
        self.spawn(id, "train", move || {
            let device = burn::tensor::Device::flex().autodiff();
            let mut last_step_sent = std::time::Instant::now();
            let result = crate::train::train(&config, &out, &device, &job_cancel, &mut |event| {
                // Steps come many per second: send a few, and every other event.
                let is_step = matches!(event, crate::train::TrainEvent::Step { .. });
                if !is_step || last_step_sent.elapsed().as_millis() >= 200 {
                    last_step_sent = std::time::Instant::now();
                    reply.send(JobEvent::Training { job: id, event });
                }
            });
            let event = match result {
                Ok(outcome) => JobEvent::Trained {
                    job: id,
                    best: Some(out.join("best.stampseq")).filter(|b| b.is_file()),
                    summary: format!(
                        "training {} at iteration {}: best validation loss {:.4}{}",
                        if outcome.cancelled {
                            "stopped"
                        } else {
                            "finished"
                        },
                        outcome.state.iteration,
                        outcome.state.best_val_loss.unwrap_or(f64::NAN),
                        outcome
                            .test_accuracy
                            .map_or(String::new(), |a| format!(", test accuracy {a:.3}"))
                    ),
                },
                Err(e) => JobEvent::Failed {
                    job: id,
                    error: format!("training failed: {e}"),
                },
            };
            reply.send(event);
        });
        (id, cancel)
    }

    /// Draws a plot into a PNG or SVG file (by its extension) in the background.
    pub fn export_plot(&mut self, plot: crate::eval::plots::PlotData, path: PathBuf) -> u64 {
        let (id, _cancel, reply) = self.start(format!("Writing {}", path.display()));
        self.spawn(id, "export", move || {
            let event = match plot.write(&path) {
                Ok(()) => JobEvent::Exported { job: id, path },
                Err(e) => JobEvent::Failed {
                    job: id,
                    error: format!("plot not written: {e}"),
                },
            };
            reply.send(event);
        });
        id
    }

    /// Reads and indexes an AllWISE catalogue (CSV or Parquet) in the background: a sky
    /// region of millions of rows takes seconds.
    pub fn load_allwise(&mut self, path: PathBuf) -> u64 {
        let (id, _cancel, reply) = self.start(format!("Reading AllWISE {}", path.display()));
        self.spawn(id, "allwise", move || {
            let event = match crate::features::allwise::AllWiseCatalogue::from_path(&path) {
                Ok(c) if c.is_empty() => JobEvent::Failed {
                    job: id,
                    error: format!("{}: no source with a position", path.display()),
                },
                Ok(c) => JobEvent::AllWiseLoaded {
                    job: id,
                    path,
                    catalogue: Arc::new(c),
                },
                Err(e) => JobEvent::Failed {
                    job: id,
                    error: format!("AllWISE catalogue not loaded: {e}"),
                },
            };
            reply.send(event);
        });
        id
    }

    /// Reads or writes a file on a worker, so the window never waits on a disk; the error
    /// is reported as the job's failure.
    pub fn file(
        &mut self,
        title: String,
        work: impl FnOnce() -> Result<FileDone, String> + Send + 'static,
    ) -> u64 {
        let (id, _cancel, reply) = self.start(title);
        self.spawn(id, "file", move || {
            let event = match work() {
                Ok(done) => JobEvent::FileDone { job: id, done },
                Err(error) => JobEvent::Failed { job: id, error },
            };
            reply.send(event);
        });
        id
    }

    /// Events that arrived since the last call; finished jobs leave the running list.
    pub fn poll(&mut self) -> Vec<JobEvent> {
        let events: Vec<JobEvent> = self.rx.try_iter().collect();
        for e in &events {
            match e {
                JobEvent::Progress {
                    job,
                    fraction,
                    message,
                } => {
                    if let Some(r) = self.running.iter_mut().find(|r| r.id == *job) {
                        r.fraction = *fraction;
                        r.message = message.clone();
                    }
                }
                JobEvent::Training { job, event } => {
                    if let (
                        Some(r),
                        crate::train::TrainEvent::Step {
                            iteration,
                            max_iterations,
                            train_loss,
                        },
                    ) = (self.running.iter_mut().find(|r| r.id == *job), event)
                    {
                        r.fraction = *iteration as f32 / (*max_iterations).max(1) as f32;
                        r.message = format!("step {iteration}, loss {train_loss:.3}");
                    }
                }
                JobEvent::Loaded { job, .. }
                | JobEvent::Classified { job, .. }
                | JobEvent::Trained { job, .. }
                | JobEvent::Exported { job, .. }
                | JobEvent::AllWiseLoaded { job, .. }
                | JobEvent::FineTuned { job, .. }
                | JobEvent::FileDone { job, .. }
                | JobEvent::Idle { job }
                | JobEvent::Failed { job, .. } => {
                    self.running.retain(|r| r.id != *job);
                }
            }
        }
        events
    }

    pub fn cancel_all(&self) {
        for r in &self.running {
            r.cancel.store(true, Ordering::Relaxed);
        }
    }

    pub fn is_busy(&self) -> bool {
        !self.running.is_empty()
    }
}
