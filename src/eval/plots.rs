//! Figures for reports and papers, each written as PNG (for a look) and SVG (vector, for
//! publication): the confusion matrix (counts and row fractions) and training curves.
//! Text uses the Ubuntu font that egui ships, so no system font is needed.

use super::metrics::ConfusionMatrix;
use crate::train::Validation;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct PlotError {
    pub path: String,
    pub problem: String,
}

fn fail(path: &Path, problem: impl ToString) -> PlotError {
    PlotError {
        path: path.display().to_string(),
        problem: problem.to_string(),
    }
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Registration only fails for bytes that are not a font; these are egui's own.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// A figure that can be drawn on any plotters backend.
trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

struct Confusion<'a> {
    cm: &'a ConfusionMatrix,
    title: &'a str,
}

impl Figure for Confusion<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.confusion(self.cm, self.title)
    }
}

struct Curves<'a> {
    history: &'a [Validation],
}

impl Figure for Curves<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.curves(self.history)
    }
}

/// Draws with the same code into a PNG and an SVG of `size` pixels.
fn both<F: Figure>(png: &Path, svg: &Path, size: (u32, u32), figure: &F) -> Result<(), PlotError> {
    register_font();
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(png, e))?;
        figure.draw(&root).map_err(|e| fail(png, e))?;
        root.present().map_err(|e| fail(png, e))?;
    }
    let image =
        image::RgbImage::from_raw(size.0, size.1, rgb).ok_or_else(|| fail(png, "buffer size"))?;
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| fail(png, e))?;
    crate::atomic::write_atomic(png, &bytes).map_err(|e| fail(png, e))?;

    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(svg, e))?;
        figure.draw(&root).map_err(|e| fail(svg, e))?;
        root.present().map_err(|e| fail(svg, e))?;
    }
    crate::atomic::write_atomic(svg, text.as_bytes()).map_err(|e| fail(svg, e))
}

trait Draw {
    fn confusion(&self, cm: &ConfusionMatrix, title: &str) -> Result<(), String>;
    fn curves(&self, history: &[Validation]) -> Result<(), String>;
}

impl<DB: DrawingBackend> Draw for DrawingArea<DB, Shift> {
    fn confusion(&self, cm: &ConfusionMatrix, title: &str) -> Result<(), String> {
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
            )
            .map_err(|e| e.to_string())?;
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
            .draw()
            .map_err(|e| e.to_string())?;
        for (t, row) in fractions.iter().enumerate() {
            for (p, &f) in row.iter().enumerate() {
                let y = n - 1 - t;
                let shade = (255.0 * (1.0 - 0.85 * f)) as u8;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [
                            (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                            (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
                        ],
                        RGBColor(shade, shade, 255).filled(),
                    )))
                    .map_err(|e| e.to_string())?;
                let colour = if f > 0.55 { WHITE } else { BLACK };
                let centre = (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y));
                chart
                    .draw_series(std::iter::once(
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
                    ))
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    fn curves(&self, history: &[Validation]) -> Result<(), String> {
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
            .build_cartesian_2d(0..max_iter, 0.0..max_loss * 1.05)
            .map_err(|e| e.to_string())?;
        loss.configure_mesh()
            .x_desc("iteration")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| e.to_string())?;
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
            ))
            .map_err(|e| e.to_string())?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
        }
        loss.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(|e| e.to_string())?;
        let mut acc = ChartBuilder::on(&bottom)
            .caption("accuracy", ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(0..max_iter, 0.0..1.0)
            .map_err(|e| e.to_string())?;
        acc.configure_mesh()
            .x_desc("iteration")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| e.to_string())?;
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
            ))
            .map_err(|e| e.to_string())?;
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
