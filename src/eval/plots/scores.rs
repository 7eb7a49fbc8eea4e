//! Scores as figures: the confusion matrix, the training curves, the reliability diagram
//! and the active-learning replay's learning curves.

use super::{both, draw_legend, write_one, DrawError, Figure, PlotError, LIGHT_GRID};
use crate::eval::metrics::ConfusionMatrix;
use crate::eval::validation::Validation;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

struct Confusion<'a> {
    cm: &'a ConfusionMatrix,
    title: &'a str,
}

impl Figure for Confusion<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError>
    where
        DB::ErrorType: 'static,
    {
        root.confusion(self.cm, self.title)
    }
}

struct Curves<'a> {
    history: &'a [Validation],
}

impl Figure for Curves<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError>
    where
        DB::ErrorType: 'static,
    {
        root.curves(self.history)
    }
}

trait Draw {
    fn confusion(&self, cm: &ConfusionMatrix, title: &str) -> Result<(), DrawError>;
    fn curves(&self, history: &[Validation]) -> Result<(), DrawError>;
}

impl<DB: DrawingBackend> Draw for DrawingArea<DB, Shift>
where
    DB::ErrorType: 'static,
{
    fn confusion(&self, cm: &ConfusionMatrix, title: &str) -> Result<(), DrawError> {
        use plotters::coord::ranged1d::SegmentValue;
        let n = cm.classes.len();
        let fractions = cm.row_normalised();
        // Categorical axes: one segment per class, labels at the segment centres.
        let mut chart = ChartBuilder::on(self)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(90)
            // A segmented 0..k range has k + 1 segments.
            .build_cartesian_2d(
                (0..n.saturating_sub(1)).into_segmented(),
                (0..n.saturating_sub(1)).into_segmented(),
            )?;
        let x_names = cm.classes.clone();
        let y_names = cm.classes.clone();
        let x_label = move |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) => x_names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        // True classes run top to bottom, as confusion matrices are read.
        let y_label = move |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < n => y_names[n - 1 - *i].clone(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("predicted")
            .y_desc("true")
            .x_labels(n)
            .y_labels(n)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style(("sans-serif", 14))
            .draw()?;
        for (t, row) in fractions.iter().enumerate() {
            for (p, &f) in row.iter().enumerate() {
                let y = n - 1 - t;
                let shade = (255.0 * (1.0 - 0.85 * f)) as u8;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
                    ],
                    RGBColor(shade, shade, 255).filled(),
                )))?;
                let colour = if f > 0.55 { WHITE } else { BLACK };
                let centre = (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y));
                chart.draw_series(std::iter::once(
                    EmptyElement::at(centre)
                        + Text::new(
                            format!("{}", cm.counts[t][p]),
                            (-12, -14),
                            ("sans-serif", 16).into_font().color(&colour),
                        )
                        + Text::new(
                            format!("{:.2}", f),
                            (-12, 4),
                            ("sans-serif", 13).into_font().color(&colour),
                        ),
                ))?;
            }
        }
        Ok(())
    }

    fn curves(&self, history: &[Validation]) -> Result<(), DrawError> {
        let (top, bottom) = self.split_vertically(self.dim_in_pixel().1 / 2);
        let max_iter = history
            .iter()
            .map(|v| v.iteration)
            .max()
            .unwrap_or(1)
            .max(1);
        let max_loss = history
            .iter()
            .flat_map(|v| [v.train_loss, v.val_loss])
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-3);
        let mut loss = ChartBuilder::on(&top)
            .caption("loss", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(0..max_iter, 0.0..max_loss * 1.05)?;
        loss.configure_mesh()
            .x_desc("iteration")
            .label_style(("sans-serif", 13))
            .draw()?;
        for (name, colour, f) in [
            (
                "training",
                RED,
                (|v: &Validation| v.train_loss) as fn(&Validation) -> f64,
            ),
            ("validation", BLUE, |v: &Validation| v.val_loss),
        ] {
            loss.draw_series(LineSeries::new(
                history.iter().map(|v| (v.iteration, f(v))),
                colour.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
        }
        draw_legend(&mut loss, SeriesLabelPosition::MiddleRight)?;
        let mut acc = ChartBuilder::on(&bottom)
            .caption("accuracy", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(0..max_iter, 0.0..1.0)?;
        acc.configure_mesh()
            .x_desc("iteration")
            .label_style(("sans-serif", 13))
            .draw()?;
        for (colour, f) in [
            (
                RED,
                (|v: &Validation| v.train_accuracy) as fn(&Validation) -> f64,
            ),
            (BLUE, |v: &Validation| v.val_accuracy),
        ] {
            acc.draw_series(LineSeries::new(
                history.iter().map(|v| (v.iteration, f(v))),
                colour.stroke_width(2),
            ))?;
        }
        Ok(())
    }
}

/// The confusion matrix with counts and row fractions.
pub fn confusion_matrix(
    cm: &ConfusionMatrix,
    title: &str,
    png: &Path,
    svg: &Path,
) -> Result<(), PlotError> {
    both(png, svg, (720, 640), &Confusion { cm, title })
}

/// Training and validation loss and accuracy against iteration.
pub fn training_curves(history: &[Validation], png: &Path, svg: &Path) -> Result<(), PlotError> {
    both(png, svg, (800, 640), &Curves { history })
}

/// The confusion matrix, to one file: PNG or SVG by its extension.
pub fn write_confusion_matrix(
    cm: &ConfusionMatrix,
    title: &str,
    path: &Path,
) -> Result<(), PlotError> {
    write_one(path, (720, 640), &Confusion { cm, title })
}

/// The training curves, to one file: PNG or SVG by its extension.
pub fn write_training_curves(history: &[Validation], path: &Path) -> Result<(), PlotError> {
    write_one(path, (800, 640), &Curves { history })
}

/// One model's reliability curve: its name and its bins as (mean confidence, accuracy,
/// answers).
pub type ReliabilityCurve = (String, Vec<(f64, f64, u64)>);

/// A reliability diagram: per model, the accuracy of its answers against their top
/// probability in bins, the diagonal being perfect calibration.
struct Reliability<'a> {
    title: &'a str,
    /// (model, bins as (mean confidence, accuracy, count)).
    models: &'a [ReliabilityCurve],
}

/// Colours told apart in print, for one line per model.
const MODEL_COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

impl Figure for Reliability<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError>
    where
        DB::ErrorType: 'static,
    {
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("top probability (confidence)")
            .y_desc("fraction right")
            .label_style(("sans-serif", 13))
            .light_line_style(LIGHT_GRID)
            .draw()?;
        chart.draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            6,
            4,
            RGBColor(120, 120, 120).stroke_width(1),
        ))?;
        for (i, (name, bins)) in self.models.iter().enumerate() {
            let colour = MODEL_COLOURS[i % MODEL_COLOURS.len()];
            let points: Vec<(f64, f64)> = bins
                .iter()
                .filter(|b| b.2 > 0)
                .map(|b| (b.0, b.1))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
            // Marker area grows with the number of answers in the bin.
            chart.draw_series(bins.iter().filter(|b| b.2 > 0).map(|b| {
                let r = (2.0 + (b.2 as f64).sqrt()).min(12.0) as i32;
                Circle::new((b.0, b.1), r, colour.filled())
            }))?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }
}

/// The reliability diagram of several models, as PNG and SVG.
pub fn reliability_diagram(
    title: &str,
    models: &[ReliabilityCurve],
    png: &Path,
    svg: &Path,
) -> Result<(), PlotError> {
    both(png, svg, (720, 640), &Reliability { title, models })
}

/// Balanced accuracy (five classes) against labels used, mean and std over the seeds: one
/// order of the active-learning replay (`experiments::active`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActiveCurve {
    pub order: String,
    pub labels: Vec<usize>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// Score against labels used, one line per order with its ±1 std band.
struct LearningCurves<'a> {
    title: &'a str,
    curves: &'a [ActiveCurve],
}

impl Figure for LearningCurves<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError>
    where
        DB::ErrorType: 'static,
    {
        let max_x = self
            .curves
            .iter()
            .flat_map(|c| c.labels.iter().copied())
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..max_x * 1.02, 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("labelled objects")
            .y_desc("balanced accuracy on real test objects")
            .label_style(("sans-serif", 13))
            .light_line_style(LIGHT_GRID)
            .draw()?;
        for (i, c) in self.curves.iter().enumerate() {
            let colour = MODEL_COLOURS[i % MODEL_COLOURS.len()];
            let band: Vec<(f64, f64)> = c
                .labels
                .iter()
                .zip(c.mean.iter().zip(&c.std))
                .map(|(&n, (m, s))| (n as f64, (m + s).min(1.0)))
                .chain(
                    c.labels
                        .iter()
                        .zip(c.mean.iter().zip(&c.std))
                        .rev()
                        .map(|(&n, (m, s))| (n as f64, (m - s).max(0.0))),
                )
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                colour.mix(0.15).filled(),
            )))?;
            let points: Vec<(f64, f64)> = c
                .labels
                .iter()
                .zip(&c.mean)
                .map(|(&n, &m)| (n as f64, m))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(c.order.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

/// `stampseq bench active`'s learning curves, as PNG and SVG.
pub fn learning_curves(
    title: &str,
    curves: &[ActiveCurve],
    png: &Path,
    svg: &Path,
) -> Result<(), PlotError> {
    both(png, svg, (760, 560), &LearningCurves { title, curves })
}
