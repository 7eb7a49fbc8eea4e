//! The vetting labels' writer: one worker thread that writes the label store's changes
//! ([`UnwrittenLabels`]) in the order they were made, so that a keypress never waits on a
//! disk. The store changes in memory at once (the browser moves on); the journal and the
//! CSV follow. A write that fails comes back as an error for the UI; the app waits for the
//! writer before it exits ([`LabelWriter::flush`], and on drop), so no label is left behind.

use crate::labels::UnwrittenLabels;
use std::sync::mpsc::{channel, Receiver, Sender};

enum Message {
    Write(UnwrittenLabels),
    /// Answered once everything sent before it is written.
    Flush(Sender<()>),
}

pub struct LabelWriter {
    /// `None` when the thread could not start: the changes are then written on the
    /// caller's thread, as they were before the writer.
    tx: Option<Sender<Message>>,
    errors: Receiver<String>,
    error_tx: Sender<String>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LabelWriter {
    /// Starts the worker; `ctx` is woken when a write fails, so that the error is shown.
    pub fn start(ctx: Option<egui::Context>) -> Self {
        let (tx, rx) = channel::<Message>();
        let (error_tx, errors) = channel();
        let worker_errors = error_tx.clone();
        let spawned = std::thread::Builder::new()
            .name("stampseq-labels".into())
            .spawn(move || {
                for message in rx {
                    match message {
                        Message::Write(labels) => {
                            if let Err(e) = labels.write() {
                                let _ = worker_errors.send(e.to_string());
                                if let Some(c) = &ctx {
                                    c.request_repaint();
                                }
                            }
                        }
                        Message::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            });
        let (tx, thread) = match spawned {
            Ok(thread) => (Some(tx), Some(thread)),
            Err(_) => (None, None),
        };
        Self {
            tx,
            errors,
            error_tx,
            thread,
        }
    }

    /// Queues the changes behind those sent before.
    pub fn send(&self, labels: UnwrittenLabels) {
        let labels = match &self.tx {
            Some(tx) => match tx.send(Message::Write(labels)) {
                Ok(()) => return,
                // The worker is gone: written here, rather than lost.
                Err(std::sync::mpsc::SendError(Message::Write(labels))) => labels,
                Err(_) => return,
            },
            None => labels,
        };
        if let Err(e) = labels.write() {
            let _ = self.error_tx.send(e.to_string());
        }
    }

    /// Waits until everything sent so far is written (tests, and the app's exit).
    pub fn flush(&self) {
        let Some(tx) = &self.tx else {
            return;
        };
        let (done, wait) = channel();
        if tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    /// Writes that failed since the last call, each as its error.
    pub fn errors(&self) -> Vec<String> {
        self.errors.try_iter().collect()
    }
}

impl Drop for LabelWriter {
    /// The queue is closed and the worker finishes what it holds before the app goes.
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::LabelStore;

    #[test]
    fn deferred_labels_land_in_order_and_a_failed_write_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = LabelStore::open(dir.path()).expect("store");
        store.defer_writes();
        let writer = LabelWriter::start(None);
        store.set("ZTF1", Some("SN")).expect("in memory");
        store.set("ZTF2", Some("AGN")).expect("in memory");
        assert!(
            !store.log_path().exists(),
            "nothing written by the store itself"
        );
        writer.send(store.take_unwritten().expect("two entries"));
        store.undo().expect("in memory");
        writer.send(store.take_unwritten().expect("the undo"));
        assert!(store.take_unwritten().is_none(), "all taken");
        writer.flush();
        let csv = std::fs::read_to_string(store.csv_path()).expect("csv");
        assert_eq!(csv, "objectId,label\nZTF1,SN\n");
        let log = std::fs::read_to_string(store.log_path()).expect("journal");
        assert_eq!(log.lines().count(), 3);
        assert_eq!(
            LabelStore::open(dir.path()).expect("reopen").all(),
            store.all()
        );
        assert!(writer.errors().is_empty());

        // A journal that cannot be appended to: the error comes back, nothing panics.
        std::fs::remove_file(store.log_path()).expect("rm");
        std::fs::create_dir(store.log_path()).expect("a folder in its place");
        store.set("ZTF3", Some("VS")).expect("in memory");
        writer.send(store.take_unwritten().expect("one entry"));
        writer.flush();
        let errors = writer.errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("labels.log"), "{errors:?}");
    }
}
