//! Plot export: each plot of the app, drawn again by `eval::plots` (plotters, egui's font)
//! into a PNG or SVG file the user names. The data is copied out of the app state, so the
//! drawing runs on a worker thread.

// Defined with the commands that ask for each export; the tests name it here.
pub use crate::app::commands::PlotKind;
use crate::app::StampseqApp;
use crate::eval::plots::{Format, ModelEvolution, PlotData};
use std::path::PathBuf;

impl StampseqApp {
    /// What `kind` shows now, with a file name to suggest; an error says why there is
    /// nothing to export.
    pub fn plot_data(&self, kind: PlotKind) -> Result<(PlotData, String), String> {
        match kind {
            // What the view shows, either survey: flux or magnitude as the view is set.
            PlotKind::LightCurve => {
                let row = self
                    .state
                    .selection
                    .object
                    .ok_or_else(|| "no object selected".to_string())?;
                let (Some(curve), Some(survey), Some(name)) = (
                    self.state.catalog.light_curve(row),
                    self.state.catalog.survey(row),
                    self.state
                        .catalog
                        .rows
                        .get(row)
                        .map(|r| r.object_id.clone()),
                ) else {
                    return Err("no object selected".to_string());
                };
                let magnitudes = !self.ui.prefs.light_curve_flux;
                Ok((
                    PlotData::FluxCurve {
                        title: format!("{name} ({survey})"),
                        curve: curve.clone(),
                        selected_mjd: self
                            .state
                            .catalog
                            .alert_mjd(row, self.state.selection.detection),
                        survey,
                        magnitudes,
                    },
                    format!(
                        "{}_light_curve_{}",
                        name.replace(' ', "_"),
                        if magnitudes { "mag" } else { "flux" }
                    ),
                ))
            }
            PlotKind::ClassEvolution => {
                // Either survey's object, by the browser's key (what the answers are
                // filed under).
                let id = self
                    .state
                    .selection
                    .object
                    .and_then(|o| self.state.catalog.rows.get(o))
                    .map(|r| r.object_id.clone())
                    .ok_or_else(|| "no object selected".to_string())?;
                // What the plot shows: the shown models and classes, with their styles.
                let models: Vec<ModelEvolution> =
                    super::views::evolution::drawn(&self.state.predictions, &self.ui.prefs, &id)
                        .into_iter()
                        .map(|d| ModelEvolution {
                            model: d.model.model.clone(),
                            style: d.style,
                            classes: d
                                .classes
                                .iter()
                                .map(|&c| d.model.classes[c].clone())
                                .collect(),
                            steps: d
                                .steps
                                .iter()
                                .map(|p| {
                                    d.classes
                                        .iter()
                                        .map(|&c| p.get(c).copied().unwrap_or(0.0))
                                        .collect()
                                })
                                .collect(),
                        })
                        .collect();
                if models.is_empty() {
                    return Err(format!("no shown model has answered for {id}"));
                }
                Ok((
                    PlotData::ClassEvolution {
                        title: id.clone(),
                        models,
                        stacked: self.ui.prefs.evolution_bars,
                        selected: Some(self.state.selection.detection),
                    },
                    format!("{}_class_evolution", id.replace(' ', "_")),
                ))
            }
            PlotKind::TrainingCurves => {
                if self.state.training.validations.is_empty() {
                    return Err("no validation yet: the curves are empty".into());
                }
                Ok((
                    PlotData::TrainingCurves(self.state.training.validations.clone()),
                    "training_curves".into(),
                ))
            }
            PlotKind::TrainingConfusion => {
                let (iteration, cm) = self
                    .state
                    .training
                    .validations
                    .iter()
                    .rev()
                    .find_map(|v| v.confusion.clone().map(|cm| (v.iteration, cm)))
                    .ok_or_else(|| "no validation confusion matrix yet".to_string())?;
                Ok((
                    PlotData::Confusion {
                        cm,
                        title: format!("validation at step {iteration}"),
                    },
                    format!("validation_confusion_step{iteration}"),
                ))
            }
            PlotKind::EvaluationConfusion => {
                let (cm, title) =
                    super::views::evaluation::current_confusion(&self.state, &self.ui.evaluation)
                        .ok_or_else(|| "no evaluation yet: load a model and labels".to_string())?;
                Ok((PlotData::Confusion { cm, title }, "confusion_matrix".into()))
            }
        }
    }

    /// Writes `kind` to `path` (PNG or SVG by its extension; none means PNG) on a worker
    /// thread; the status bar reports the outcome.
    pub fn export_plot_to(&mut self, kind: PlotKind, mut path: PathBuf) {
        if path.extension().is_none() {
            path.set_extension("png");
        }
        if Format::of(&path).is_none() {
            self.state.messages.push(format!(
                "plot not written: {} should end in .png or .svg",
                path.display()
            ));
            return;
        }
        match self.plot_data(kind) {
            Ok((data, _)) => {
                self.state.jobs.export_plot(data, path);
            }
            Err(e) => self.state.messages.push(format!("nothing to export: {e}")),
        }
    }

    /// Asks where to write `kind`, then writes it.
    pub fn export_plot(&mut self, kind: PlotKind) {
        let name = match self.plot_data(kind) {
            Ok((_, name)) => name,
            Err(e) => {
                self.state.messages.push(format!("nothing to export: {e}"));
                return;
            }
        };
        let mut dialog = rfd::FileDialog::new()
            .add_filter("PNG image", &["png"])
            .add_filter("SVG (vector)", &["svg"])
            .set_file_name(format!("{name}.png"));
        if let Some(dir) = &self.ui.prefs.last_folder {
            dialog = dialog.set_directory(dir);
        }
        if let Some(path) = dialog.save_file() {
            self.export_plot_to(kind, path);
        }
    }
}
