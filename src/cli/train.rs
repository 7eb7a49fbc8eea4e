//! `stampseq train`: train a temporal or enhanced classifier from a TOML configuration.

use crate::backend::BackendChoice;
use crate::train::{train, TrainConfig, TrainEvent};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training configuration (TOML; see `stampseq::train::TrainConfig`).
    #[arg(long)]
    pub config: PathBuf,
    /// Run folder: checkpoints, split, history. A folder with `state.json` is resumed.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub backend: BackendChoice,
    /// Train a network on this preprocessed data (another run's `data.cache`, made with the
    /// same configuration) instead of reading the configuration's alerts, which then need
    /// not be here: e.g. on a GPU machine the raw alerts are not copied to.
    #[arg(long, value_name = "FILE")]
    pub data_cache: Option<PathBuf>,
}

pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let mut config = TrainConfig::from_toml_file(&args.config)?;
    if let Some(cache) = &args.data_cache {
        config.data_cache = Some(cache.clone());
        config.check()?;
    }
    let backend = args.backend.resolve();
    eprintln!("backend: {}", backend.training_description());
    let device = backend.device.autodiff();
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        // A second Ctrl-C while the step finishes is ignored; the handler only sets the flag.
        if let Err(e) = ctrlc::set_handler(move || cancel.store(true, Ordering::Relaxed)) {
            eprintln!("warning: Ctrl-C will not stop training cleanly: {e}");
        }
    }
    let bar = ProgressBar::new(config.max_iterations as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} training [{bar:30}] {pos}/{len} {msg} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut last_val = String::new();
    // Not `bar.println`: a hidden bar (output not to a terminal, a log) prints nothing.
    let say = |line: String| bar.suspend(|| eprintln!("{line}"));
    let outcome = train(&config, &args.out, &device, &cancel, &mut |e| match e {
        TrainEvent::Loaded {
            train,
            val,
            test,
            from_cache,
            left_out,
            first_left_out,
        } => {
            say(format!(
                "objects: {train} train, {val} validation, {test} test{}",
                if from_cache { " (from the cache)" } else { "" }
            ));
            if let Some(first) = first_left_out {
                say(format!(
                    "{left_out} detection(s) left out of the data; the first, {first}"
                ));
            }
        }
        TrainEvent::Resumed { iteration } => {
            say(format!(
                "resuming at iteration {iteration} (Adam's moments restart from zero)"
            ));
            bar.set_position(iteration as u64);
        }
        TrainEvent::Step {
            iteration,
            max_iterations,
            train_loss,
        } => {
            bar.set_length(max_iterations as u64);
            bar.set_position(iteration as u64);
            bar.set_message(format!("loss {train_loss:.3}{last_val}"));
        }
        TrainEvent::Validation(v) => {
            last_val = format!(
                " | val loss {:.3} acc {:.3} (best {:.3})",
                v.val_loss, v.val_accuracy, v.best_val_loss
            );
        }
        TrainEvent::Finished { .. } => {}
    })?;
    bar.finish_and_clear();
    eprintln!(
        "{} at iteration {}: best validation loss {:.4} at iteration {}{}",
        if outcome.cancelled { "stopped" } else { "done" },
        outcome.state.iteration,
        outcome.state.best_val_loss.unwrap_or(f64::NAN),
        outcome.state.best_iteration,
        outcome
            .test_accuracy
            .map_or(String::new(), |a| format!(", test accuracy {a:.3}"))
    );
    eprintln!("model: {}", args.out.join("best.stampseq").display());
    if !outcome.state.history.is_empty() {
        crate::eval::plots::training_curves(
            &outcome.state.history,
            &args.out.join("curves.png"),
            &args.out.join("curves.svg"),
        )?;
        eprintln!("curves: {}", args.out.join("curves.png").display());
    }
    Ok(ExitCode::SUCCESS)
}
