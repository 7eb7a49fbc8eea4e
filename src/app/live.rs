//! The app's live connection to a Kafka alert stream: [`crate::stream::run`] on a worker
//! thread, answering every alert with the browser's model, its [`StreamEvent`]s sent over a
//! channel and applied once a frame, so that new objects appear in the browser classified
//! while the window stays live. Answers, dead letters and the partition states go to
//! folders under the app's data folder, as `stampseq stream --out` writes them.

use super::predictions::{display_name, ModelPredictions, Spread};
use super::StampseqApp;
use crate::alert::neutral::Survey;
use crate::backend::BackendChoice;
use crate::stream::answer::Answerer;
use crate::stream::status::StreamStatus;
use crate::stream::{KafkaOptions, SecurityProtocol, StreamConfig, StreamEvent, StreamSummary};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

/// The "Connect to a stream" dialog's fields.
#[derive(Debug, Clone)]
pub struct ConnectForm {
    pub brokers: String,
    /// One topic, or several separated by commas.
    pub topic: String,
    pub group: String,
    pub from_beginning: bool,
    pub security: SecurityProtocol,
    pub username: String,
    /// Why the last Connect was refused.
    pub error: Option<String>,
}

impl Default for ConnectForm {
    fn default() -> Self {
        Self {
            brokers: String::new(),
            topic: String::new(),
            group: "stampseq-app".into(),
            from_beginning: false,
            security: SecurityProtocol::Plaintext,
            username: String::new(),
            error: None,
        }
    }
}

/// A group name as a folder name: what a user types is not always a safe path.
fn folder_name(group: &str) -> String {
    group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl ConnectForm {
    /// The stream's settings, with its folders under `dir`; or why the form cannot connect.
    pub fn config(&self, dir: &Path) -> Result<StreamConfig, String> {
        let brokers = self.brokers.trim();
        if brokers.is_empty() {
            return Err("Give the brokers (host:port).".into());
        }
        let topics: Vec<String> = self
            .topic
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect();
        if topics.is_empty() {
            return Err("Give a topic.".into());
        }
        let group = self.group.trim();
        let folder = folder_name(group);
        if group.is_empty() {
            return Err("Give a consumer group.".into());
        }
        let mut kafka = KafkaOptions::new(brokers);
        kafka.security = self.security;
        kafka.username = Some(self.username.trim().to_string()).filter(|u| !u.is_empty());
        let kafka = kafka.with_password_from_env();
        // Missing credentials are said in the dialog, not after the worker has started.
        kafka.client_config().map_err(|e| e.to_string())?;
        let base = dir.join(folder);
        let mut c = StreamConfig::new(kafka, topics, group);
        c.from_beginning = self.from_beginning;
        c.out_dir = Some(base.join("answers"));
        c.dead_letter_dir = Some(base.join("dead-letters"));
        c.state_dir = Some(base.join("state"));
        c.decode_stamps = true;
        // Small batches: each reaches the browser as soon as it is answered.
        c.batch_size = 100;
        Ok(c)
    }
}

/// The first model file of each survey among `candidates`, in their order, a file given
/// twice kept once; a file whose header cannot be read is kept, so that the stream says
/// why. Reads the files' headers: on the stream's worker.
fn one_per_survey(candidates: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut chosen: Vec<(Option<Survey>, PathBuf)> = Vec::new();
    for path in candidates {
        let survey = crate::model::file::read_header(&path)
            .ok()
            .map(|h| h.trained_on.survey);
        let taken = chosen
            .iter()
            .any(|(s, p)| *p == path || (survey.is_some() && *s == survey));
        if !taken {
            chosen.push((survey, path));
        }
    }
    chosen.into_iter().map(|(_, p)| p).collect()
}

/// A model a stream answers with, named as the app names models.
#[derive(Debug, Clone)]
pub struct LiveModel {
    pub survey: Survey,
    pub name: String,
    pub classes: Vec<String>,
}

/// What the worker reports.
#[derive(Debug)]
pub enum LiveEvent {
    /// The models are loaded (one per survey); the worker is connecting.
    Ready(Vec<LiveModel>),
    Stream(StreamEvent),
    /// The worker ended: after a disconnect, or on an error the stream cannot survive.
    Finished(Result<StreamSummary, String>),
}

/// A running (or finished) stream connection and what it said last.
pub struct LiveStream {
    pub brokers: String,
    pub topics: Vec<String>,
    pub group: String,
    /// The models' names, once loaded.
    pub model: Option<String>,
    pub models: Vec<LiveModel>,
    pub status: Option<StreamStatus>,
    /// Alerts that reached the app.
    pub alerts: u64,
    pub dead_letters: u64,
    pub last_warning: Option<String>,
    pub finished: Option<Result<StreamSummary, String>>,
    stop: Arc<AtomicBool>,
    rx: Receiver<LiveEvent>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveStream {
    /// Loads the models (the first of `model_paths` for each survey, [`one_per_survey`])
    /// and runs the stream on a worker thread.
    pub fn start(
        config: StreamConfig,
        model_paths: Vec<PathBuf>,
        backend: BackendChoice,
        ctx: Option<egui::Context>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let worker_stop = stop.clone();
        let (brokers, topics, group) = (
            config.kafka.brokers.clone(),
            config.topics.clone(),
            config.group.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("stampseq-stream".into())
            .spawn(move || {
                let send = |e: LiveEvent| {
                    let _ = tx.send(e);
                    if let Some(c) = &ctx {
                        c.request_repaint();
                    }
                };
                let model_paths = one_per_survey(model_paths);
                let answerer = match Answerer::load(&model_paths, backend) {
                    Ok(a) => a,
                    Err(e) => {
                        send(LiveEvent::Finished(Err(format!(
                            "model: {}",
                            crate::errors::error_text(&e)
                        ))));
                        return;
                    }
                };
                send(LiveEvent::Ready(
                    answerer
                        .models
                        .iter()
                        .map(|m| LiveModel {
                            survey: m.survey(),
                            name: display_name(&m.path, m.model.name()),
                            classes: m.model.classes().to_vec(),
                        })
                        .collect(),
                ));
                let result =
                    crate::stream::run(&config, &answerer, &worker_stop, &mut |e: StreamEvent| {
                        send(LiveEvent::Stream(e))
                    });
                send(LiveEvent::Finished(result.map_err(|e| e.to_string())));
            })?;
        Ok(Self {
            brokers,
            topics,
            group,
            model: None,
            models: Vec::new(),
            status: None,
            alerts: 0,
            dead_letters: 0,
            last_warning: None,
            finished: None,
            stop,
            rx,
            thread: Some(thread),
        })
    }

    /// Asks the worker to finish the batch in hand, commit it and leave the group.
    pub fn disconnect(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    pub fn is_stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// True until the worker has reported its end.
    pub fn is_running(&self) -> bool {
        self.finished.is_none()
    }

    /// Whether the worker thread has exited (after its last report).
    pub fn thread_exited(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// What arrived since the last call; the connection's own counters are updated, the
    /// answered alerts are left to the caller.
    fn poll(&mut self) -> Vec<LiveEvent> {
        let events: Vec<LiveEvent> = self.rx.try_iter().collect();
        for e in &events {
            match e {
                LiveEvent::Ready(models) => {
                    let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
                    self.model = Some(names.join(", "));
                    self.models = models.clone();
                }
                LiveEvent::Stream(StreamEvent::Status(s)) => self.status = Some(s.clone()),
                LiveEvent::Stream(StreamEvent::Warning(w)) => self.last_warning = Some(w.clone()),
                LiveEvent::Stream(StreamEvent::DeadLetters(d)) => {
                    self.dead_letters += d.len() as u64;
                    if let Some(last) = d.last() {
                        self.last_warning = Some(format!(
                            "dead letter {}[{}]@{}: {}",
                            last.topic, last.partition, last.offset, last.error
                        ));
                    }
                }
                LiveEvent::Stream(StreamEvent::Answered { alerts, .. }) => {
                    self.alerts += alerts.len() as u64
                }
                LiveEvent::Stream(_) => {}
                LiveEvent::Finished(r) => {
                    self.finished = Some(r.clone());
                    if let Some(t) = self.thread.take() {
                        // It has sent its last event: the join returns at once.
                        let _ = t.join();
                    }
                }
            }
        }
        events
    }

    /// The status bar's line.
    pub fn status_line(&self) -> String {
        let topics = self.topics.join(",");
        let warning = self
            .last_warning
            .as_deref()
            .map(|w| format!(", last warning: {w}"))
            .unwrap_or_default();
        match &self.finished {
            Some(Ok(s)) => format!(
                "Stream {topics}: disconnected after {} alerts, {} dead letters",
                s.alerts, s.dead_letters
            ),
            Some(Err(e)) => format!("Stream {topics}: stopped: {e}"),
            None if self.model.is_none() => format!("Stream {topics}: loading the model"),
            None => {
                let (state, rate, lag) = match &self.status {
                    Some(s) => (
                        s.state.as_str(),
                        s.alerts_per_s,
                        s.total_lag().map_or("?".into(), |l| l.to_string()),
                    ),
                    None => ("connecting", 0.0, "?".into()),
                };
                let state = if self.is_stopping() {
                    "disconnecting"
                } else {
                    state
                };
                format!(
                    "Stream {topics} at {}: {state}, {} alerts ({rate:.0}/s), lag {lag}, {} dead letters{warning}",
                    self.brokers, self.alerts, self.dead_letters
                )
            }
        }
    }
}

impl Drop for LiveStream {
    /// A window closed while connected: the worker still commits its batch and leaves.
    fn drop(&mut self) {
        self.disconnect();
    }
}

impl StampseqApp {
    /// The model files the stream may answer with, in order of preference: the browser's
    /// (the first model's file) first, then the other loaded files, then the bundled
    /// default answer. The stream's worker keeps one per survey ([`one_per_survey`]), as
    /// it reads their headers.
    fn stream_models(&self) -> Vec<PathBuf> {
        let first = self
            .state
            .predictions
            .models
            .first()
            .map(|m| m.model.as_str());
        let browsers = first.and_then(|name| {
            self.state
                .models
                .paths
                .iter()
                .find(|p| display_name(p, "") == name)
                .cloned()
        });
        browsers
            .into_iter()
            .chain(self.state.models.paths.iter().cloned())
            .chain(crate::assets::default_model())
            .collect()
    }

    /// Connect pressed in the dialog: starts the worker, or says in the dialog why not.
    pub fn connect_stream(&mut self) {
        let Some(form) = &self.ui.connect_form else {
            return;
        };
        let started = if self.state.live.as_ref().is_some_and(LiveStream::is_running) {
            Err("Disconnect from the current stream first.".to_string())
        } else {
            form.config(&self.state.stream_dir).and_then(|mut config| {
                // The schemas the app reads LSST files with decode the topic's messages.
                config.lsst_schemas = self.state.jobs.lsst_schemas.dir.clone();
                config.schema_registry = self.state.jobs.lsst_schemas.registry.clone();
                let models = self.stream_models();
                if models.is_empty() {
                    return Err("No model to answer with: load one first.".to_string());
                }
                LiveStream::start(
                    config,
                    models,
                    self.state.models.backend,
                    self.state.jobs.context(),
                )
                .map_err(|e| format!("cannot start the stream's thread: {e}"))
            })
        };
        match started {
            Ok(live) => {
                self.state.messages.push(format!(
                    "Connecting to {} at {} as group {}.",
                    live.topics.join(", "),
                    live.brokers,
                    live.group
                ));
                self.state.live = Some(live);
                self.ui.connect_form = None;
            }
            Err(e) => {
                if let Some(form) = self.ui.connect_form.as_mut() {
                    form.error = Some(e);
                }
            }
        }
    }

    pub fn disconnect_stream(&mut self) {
        match &self.state.live {
            Some(live) if live.is_running() => live.disconnect(),
            _ => self
                .state
                .messages
                .push("Not connected to a stream.".into()),
        }
    }

    /// Applies what the stream reported: new alerts join the catalogue with their answers.
    pub fn poll_stream(&mut self) {
        let Some(live) = self.state.live.as_mut() else {
            return;
        };
        let events = live.poll();
        let models = live.models.clone();
        for e in events {
            match e {
                LiveEvent::Stream(StreamEvent::Answered {
                    alerts,
                    mut results,
                }) => {
                    // Answers are filed under the browser's keys (a solar-system object's
                    // is not its bare ssObjectId).
                    for (r, a) in results.iter_mut().zip(&alerts) {
                        if let Some(key) = crate::sequence::neutral::ObjectKey::of(a) {
                            r.object_id = super::state::browser_key(&key);
                        }
                    }
                    let keep = self.state.selected_object_id();
                    self.state.catalog.add_alerts(alerts);
                    if let Some(id) = keep {
                        self.state.selection.object = self.state.catalog.index_of(&id);
                    }
                    // Each survey's alerts are answered by that survey's model.
                    for m in &models {
                        let of_survey: Vec<_> = results
                            .iter()
                            .filter(|r| r.survey == m.survey)
                            .cloned()
                            .collect();
                        self.add_stream_answers(&m.name, &m.classes, &of_survey);
                    }
                }
                LiveEvent::Finished(r) => self.state.messages.push(match r {
                    Ok(s) => format!(
                        "Disconnected from the stream: {} alerts, {} answered, {} dead letters.",
                        s.alerts, s.answered, s.dead_letters
                    ),
                    Err(e) => format!("The stream stopped: {e}"),
                }),
                _ => {}
            }
        }
    }

    /// Each answer is the model's after that detection, as the class evolution keeps them;
    /// a model the app already runs gains them, else it is added.
    fn add_stream_answers(
        &mut self,
        model: &str,
        classes: &[String],
        results: &[crate::stream::StreamResult],
    ) {
        let answered: Vec<_> = results
            .iter()
            .filter(|r| r.skipped.is_none() && !r.probabilities.is_empty())
            .collect();
        if answered.is_empty() {
            return;
        }
        let models = &mut self.state.predictions.models;
        let m = match models.iter().position(|m| m.model == model) {
            Some(i) => &mut models[i],
            None => {
                models.push(ModelPredictions {
                    model: model.to_string(),
                    classes: classes.to_vec(),
                    ..Default::default()
                });
                models.last_mut().expect("just pushed")
            }
        };
        for r in answered {
            if r.transferred {
                m.transferred.insert(r.object_id.clone());
            }
            let steps = m.by_object.entry(r.object_id.clone()).or_default();
            place(steps, r.k, r.probabilities.clone());
            if let Some(d) = r.disagreement {
                let spread = m.spread.entry(r.object_id.clone()).or_default();
                let s = Spread {
                    std: r.std.clone(),
                    disagreement: d,
                };
                place(spread, r.k, s);
            }
        }
        self.state.predictions.revision += 1;
    }
}

/// Puts the answer to an object's `k`-th alert (1-based, counted as the stream saw them) in
/// its place: an alert answered again (after a restart) replaces its answer, a new one
/// follows the last.
fn place<T>(steps: &mut Vec<T>, k: usize, value: T) {
    match k.checked_sub(1) {
        Some(i) if i < steps.len() => steps[i] = value,
        _ => steps.push(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_says_what_is_missing_and_keeps_folders_inside() {
        let dir = Path::new("/data/stream");
        let mut f = ConnectForm::default();
        assert!(f.config(dir).unwrap_err().contains("brokers"));
        f.brokers = " localhost:9092 ".into();
        assert!(f.config(dir).unwrap_err().contains("topic"));
        f.topic = "ztf, lsst ,".into();
        f.group = "../../etc".into();
        let c = f.config(dir).expect("config");
        assert_eq!(c.topics, vec!["ztf", "lsst"]);
        assert_eq!(c.kafka.brokers, "localhost:9092");
        let out = c.out_dir.expect("answers folder");
        assert!(out.starts_with(dir) && !out.to_string_lossy().contains(".."));
        assert!(c.dead_letter_dir.is_some() && c.state_dir.is_some());
        f.security = SecurityProtocol::SaslSsl;
        assert!(f.config(dir).is_err(), "SASL without a user name");
    }
}
