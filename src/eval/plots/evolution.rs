//! The class-evolution figure: each class's probability after each detection, per model.

use super::{class_rgb, rgb, selected_line, write_one, DrawError, Figure, PlotError, LIGHT_GRID};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One model's answers for one object.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEvolution {
    pub model: String,
    /// The model's line style, an index into [`LINE_DASHES`]: its place among the app's
    /// loaded models, so a figure draws it as the app does.
    pub style: usize,
    pub classes: Vec<String>,
    /// Class probabilities after detection 1, 2, ...
    pub steps: Vec<Vec<f32>>,
}

/// Each class's probability after each detection, per model, as lines (colour for the
/// class, dashes for the model) or stacked bars, with the selected detection (0-based)
/// marked and a key of the models and classes beside the plot; to one file: PNG or SVG by
/// its extension.
pub fn write_class_evolution(
    title: &str,
    models: &[ModelEvolution],
    stacked: bool,
    selected: Option<usize>,
    path: &Path,
) -> Result<(), PlotError> {
    let figure = EvolutionFigure {
        title,
        models,
        stacked,
        selected,
    };
    write_one(path, (900, 560), &figure)
}

struct EvolutionFigure<'a> {
    title: &'a str,
    models: &'a [ModelEvolution],
    stacked: bool,
    selected: Option<usize>,
}

/// Dash and gap lengths of each model style (solid, dashed, dotted, short dashes), the
/// sequence of `app::views::evolution::line_style`.
pub const LINE_DASHES: [Option<(u32, u32)>; 4] = [None, Some((8, 5)), Some((2, 4)), Some((4, 3))];

fn dashes(style: usize) -> Option<(u32, u32)> {
    LINE_DASHES[style % LINE_DASHES.len()]
}

impl Figure for EvolutionFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError>
    where
        DB::ErrorType: 'static,
    {
        let n = self
            .models
            .iter()
            .map(|m| m.steps.len())
            .max()
            .unwrap_or(0)
            .max(1);
        let root = root.titled(self.title, ("sans-serif", 22))?;
        // The key goes beside the plot, never over the curves, however many models.
        let key_font: TextStyle = ("sans-serif", 13).into_font().into();
        let widest = self
            .models
            .iter()
            .map(|m| m.model.as_str())
            .chain(
                self.models
                    .iter()
                    .flat_map(|m| m.classes.iter().map(String::as_str)),
            )
            .filter_map(|t| root.estimate_text_size(t, &key_font).ok())
            .map(|(w, _)| w as i32)
            .max()
            .unwrap_or(0);
        let width = root.dim_in_pixel().0 as i32;
        let key_width = (widest + 56).clamp(110, width / 3);
        let (plot_area, key_area) = root.split_horizontally(width - key_width);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0.5..n as f64 + 0.5, 0.0..1.02)?;
        // Detections are whole numbers: ticks between them stay unlabelled.
        let x_label = |v: &f64| {
            if (v - v.round()).abs() < 1e-6 {
                format!("{}", v.round())
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc("detection")
            .y_desc("probability")
            .x_labels(n.min(20) + 1)
            .x_label_formatter(&x_label)
            .light_line_style(LIGHT_GRID)
            .label_style(("sans-serif", 13))
            .draw()?;
        if let Some(k) = self.selected {
            let x = k as f64 + 1.0;
            chart.draw_series(selected_line([(x, 0.0), (x, 1.02)]))?;
        }
        let count = self.models.len().max(1) as f64;
        for (mi, model) in self.models.iter().enumerate() {
            for (ci, class) in model.classes.iter().enumerate() {
                let colour = rgb(class_rgb(class));
                let p = |probs: &Vec<f32>| probs.get(ci).copied().unwrap_or(0.0) as f64;
                if self.stacked {
                    // One stack per model, side by side at each detection, as in the app.
                    let width = 0.8 / count;
                    let offset = (mi as f64 - (count - 1.0) / 2.0) * width;
                    chart.draw_series(model.steps.iter().enumerate().map(|(k, probs)| {
                        let base: f64 = probs.iter().take(ci).map(|&v| v as f64).sum();
                        let x = k as f64 + 1.0 + offset;
                        // A little narrower than the slot, so neighbouring models' stacks
                        // stay apart.
                        let half = 0.45 * width;
                        Rectangle::new(
                            [(x - half, base), (x + half, base + p(probs))],
                            colour.filled(),
                        )
                    }))?;
                } else {
                    let points: Vec<(f64, f64)> = model
                        .steps
                        .iter()
                        .enumerate()
                        .map(|(k, probs)| (k as f64 + 1.0, p(probs)))
                        .collect();
                    chart.draw_series(
                        points.iter().map(|&xy| Circle::new(xy, 3, colour.filled())),
                    )?;
                    match dashes(model.style) {
                        None => chart
                            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                            .map(|_| ()),
                        Some((dash, gap)) => chart
                            .draw_series(DashedLineSeries::new(
                                points,
                                dash,
                                gap,
                                colour.stroke_width(2),
                            ))
                            .map(|_| ()),
                    }?;
                }
            }
        }
        draw_evolution_key(&key_area, self.models, self.stacked).map_err(DrawError::from)
    }
}

/// The key of the class evolution: each model once with its line (or its place in a group
/// of bars), then each class once with its colour.
fn draw_evolution_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    models: &[ModelEvolution],
    stacked: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let text = ("sans-serif", 13).into_font().color(&BLACK);
    let heading = ("sans-serif", 13).into_font().color(&RGBColor(90, 90, 90));
    let row = 20;
    let (x0, x1, label_x) = (4, 30, 38);
    let mut y = 24;
    area.draw_text("models", &heading, (x0, y - 7))?;
    y += row;
    for (mi, m) in models.iter().enumerate() {
        let black = BLACK.stroke_width(2);
        if stacked {
            let slot = (x1 - x0) / models.len().max(1) as i32;
            for i in 0..models.len() as i32 {
                let bar = [(x0 + i * slot + 1, y - 6), (x0 + (i + 1) * slot - 1, y + 6)];
                let style = if i as usize == mi {
                    BLACK.filled()
                } else {
                    RGBColor(160, 160, 160).stroke_width(1)
                };
                area.draw(&Rectangle::new(bar, style))?;
            }
        } else {
            match dashes(m.style) {
                None => area.draw(&PathElement::new([(x0, y), (x1, y)], black))?,
                Some((dash, gap)) => {
                    let mut x = x0;
                    while x < x1 {
                        let end = (x + dash as i32).min(x1);
                        area.draw(&PathElement::new([(x, y), (end, y)], black))?;
                        x = end + gap as i32;
                    }
                }
            }
        }
        area.draw_text(&m.model, &text, (label_x, y - 7))?;
        y += row;
    }
    y += row / 2;
    area.draw_text("classes", &heading, (x0, y - 7))?;
    y += row;
    let mut classes: Vec<&str> = Vec::new();
    for c in models.iter().flat_map(|m| &m.classes) {
        if !classes.contains(&c.as_str()) {
            classes.push(c);
        }
    }
    for class in classes {
        let colour = rgb(class_rgb(class));
        area.draw(&Rectangle::new(
            [(x0 + 6, y - 6), (x0 + 18, y + 6)],
            colour.filled(),
        ))?;
        area.draw_text(class, &text, (label_x, y - 7))?;
        y += row;
    }
    Ok(())
}
