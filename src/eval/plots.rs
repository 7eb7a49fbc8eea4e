//! Figures for reports and papers, each written as PNG (for a look) and SVG (vector, for
//! publication): the confusion matrix (counts and row fractions), training curves, an
//! object's light curve and its class evolution. Each takes plain data, so the app and the
//! CLI draw the same figure. Text uses the Ubuntu font that egui ships, so no system font
//! is needed.

use super::metrics::ConfusionMatrix;
use super::typeset::{register_plotters_font, Typeset};
use super::validation::Validation;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

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

/// The image formats a figure is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    /// The format a file name asks for by its extension (any case).
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "png" => Some(Format::Png),
            "svg" => Some(Format::Svg),
            _ => None,
        }
    }
}

fn write_png<F: Figure>(path: &Path, size: (u32, u32), figure: &F) -> Result<(), PlotError> {
    register_plotters_font();
    let mut rgb = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = Typeset::raster(BitMapBackend::with_buffer(&mut rgb, size)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(path, e))?;
        figure.draw(&root).map_err(|e| fail(path, e))?;
        root.present().map_err(|e| fail(path, e))?;
    }
    let image =
        image::RgbImage::from_raw(size.0, size.1, rgb).ok_or_else(|| fail(path, "buffer size"))?;
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| fail(path, e))?;
    crate::atomic::write_atomic(path, &bytes).map_err(|e| fail(path, e))
}

fn write_svg<F: Figure>(path: &Path, size: (u32, u32), figure: &F) -> Result<(), PlotError> {
    register_plotters_font();
    let mut text = String::new();
    {
        let root = Typeset::vector(SVGBackend::with_string(&mut text, size)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(path, e))?;
        figure.draw(&root).map_err(|e| fail(path, e))?;
        root.present().map_err(|e| fail(path, e))?;
    }
    crate::atomic::write_atomic(path, text.as_bytes()).map_err(|e| fail(path, e))
}

/// Writes one file, PNG or SVG as its extension says.
fn write_one<F: Figure>(path: &Path, size: (u32, u32), figure: &F) -> Result<(), PlotError> {
    match Format::of(path) {
        Some(Format::Png) => write_png(path, size, figure),
        Some(Format::Svg) => write_svg(path, size, figure),
        None => Err(fail(path, "the file name should end in .png or .svg")),
    }
}

/// Draws with the same code into a PNG and an SVG of `size` pixels.
fn both<F: Figure>(png: &Path, svg: &Path, size: (u32, u32), figure: &F) -> Result<(), PlotError> {
    write_png(png, size, figure)?;
    write_svg(svg, size, figure)
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
        draw_legend(&mut loss, SeriesLabelPosition::MiddleRight)?;
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

/// A figure's data, owned, so that it can be drawn on another thread.
#[derive(Debug, Clone)]
pub enum PlotData {
    Confusion {
        cm: ConfusionMatrix,
        title: String,
    },
    TrainingCurves(Vec<Validation>),
    /// An object's light curve per band, either survey (time and colours in the survey's
    /// conventions), as the app's view draws it: difference flux (nJy), or with
    /// `magnitudes` AB magnitude with forced photometry and upper limits as 5-sigma limits.
    FluxCurve {
        title: String,
        curve: crate::sequence::neutral::NeutralLightCurve,
        selected_mjd: Option<f64>,
        survey: crate::alert::neutral::Survey,
        magnitudes: bool,
    },
    ClassEvolution {
        title: String,
        models: Vec<ModelEvolution>,
        stacked: bool,
        selected: Option<usize>,
    },
}

impl PlotData {
    /// Writes the figure: PNG or SVG by the file's extension.
    pub fn write(&self, path: &Path) -> Result<(), PlotError> {
        match self {
            PlotData::Confusion { cm, title } => write_confusion_matrix(cm, title, path),
            PlotData::TrainingCurves(history) => write_training_curves(history, path),
            PlotData::FluxCurve {
                title,
                curve,
                selected_mjd,
                survey,
                magnitudes,
            } => write_one(
                path,
                (900, 560),
                &FluxCurveFigure {
                    title,
                    curve,
                    selected_mjd: *selected_mjd,
                    survey: *survey,
                    magnitudes: *magnitudes,
                },
            ),
            PlotData::ClassEvolution {
                title,
                models,
                stacked,
                selected,
            } => write_class_evolution(title, models, *stacked, *selected, path),
        }
    }
}

/// The colour of a class in every figure and in the app.
pub fn class_rgb(class: &str) -> (u8, u8, u8) {
    match class {
        "AGN" => (230, 160, 40),
        "SN" => (220, 60, 60),
        "VS" => (70, 140, 230),
        "asteroid" => (150, 150, 150),
        "bogus" => (170, 90, 200),
        _ => (80, 190, 120),
    }
}

/// The colour of a ZTF filter (fid 1 g, 2 r, 3 i) in every figure and in the app.
pub fn band_rgb(fid: i32) -> (u8, u8, u8) {
    match fid {
        1 => (60, 170, 90),
        2 => (220, 70, 60),
        3 => (150, 100, 200),
        _ => (128, 128, 128),
    }
}

/// Rubin's band colours for a light background (RTN-045, as `lsst.utils.plotting` and the
/// app draw them).
pub fn lsst_band_rgb(band: &str) -> (u8, u8, u8) {
    let hex: u32 = match band {
        "u" => 0x0c71ff,
        "g" => 0x49be61,
        "r" => 0xc61c00,
        "i" => 0xffc200,
        "z" => 0xf341a2,
        "y" => 0x5d0000,
        _ => 0x808080,
    };
    ((hex >> 16) as u8, (hex >> 8) as u8, hex as u8)
}

/// The fine grid, faint enough that the marker of the selected detection stands out.
const LIGHT_GRID: RGBColor = RGBColor(242, 242, 242);

/// The dashed vertical marker of the selected detection.
fn selected_line(
    ends: [(f64, f64); 2],
) -> DashedLineSeries<std::array::IntoIter<(f64, f64), 2>, u32> {
    DashedLineSeries::new(ends, 6, 4, RGBColor(90, 90, 90).stroke_width(1))
}

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// `lo..hi` widened by `pad` of its span, or `fallback` when there is nothing to span.
fn padded(values: impl Iterator<Item = f64>, pad: f64, fallback: (f64, f64)) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return fallback;
    }
    let span = (hi - lo).max(fallback.1 - fallback.0);
    (lo - pad * span, hi + pad * span)
}

/// Difference flux (or AB magnitude) against days since the first point, per band, with
/// error bars: detections filled (ringed where their alert is loaded); forced photometry open
/// circles in flux, and with upper limits open triangles at their 5-sigma limit in magnitude.
struct FluxCurveFigure<'a> {
    title: &'a str,
    curve: &'a crate::sequence::neutral::NeutralLightCurve,
    selected_mjd: Option<f64>,
    survey: crate::alert::neutral::Survey,
    magnitudes: bool,
}

/// Where a light-curve point is drawn: its y (flux, or minus the magnitude so that brighter
/// is up) with its error, or a limit.
enum Mark {
    Value { y: f64, err: Option<f64> },
    Limit { y: f64 },
}

impl FluxCurveFigure<'_> {
    fn mark(&self, p: &crate::sequence::neutral::Point) -> Option<Mark> {
        let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
        if !self.magnitudes {
            return finite(p.flux).map(|y| Mark::Value {
                y,
                err: finite(p.flux_err),
            });
        }
        if p.is_detection() {
            finite(p.mag).map(|m| Mark::Value {
                y: -m,
                err: finite(p.mag_err),
            })
        } else {
            finite(p.mag_limit).map(|m| Mark::Limit { y: -m })
        }
    }
}

impl Figure for FluxCurveFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        use crate::sequence::neutral::PointKind as Kind;
        let points: Vec<_> = self
            .curve
            .points
            .iter()
            .filter(|p| p.mjd.is_finite())
            .filter_map(|p| Some((p, self.mark(p)?)))
            .collect();
        let t0 = points
            .iter()
            .map(|(p, _)| p.mjd)
            .fold(f64::INFINITY, f64::min);
        let t0 = if t0.is_finite() { t0 } else { 0.0 };
        let ys = points.iter().flat_map(|(_, m)| match *m {
            Mark::Value { y, err } => {
                let e = err.unwrap_or(0.0);
                vec![y - e, y + e]
            }
            Mark::Limit { y } => vec![y],
        });
        let (x0, x1) = padded(points.iter().map(|(p, _)| p.mjd - t0), 0.04, (0.0, 1.0));
        let (y0, y1) = if self.magnitudes {
            padded(ys, 0.06, (-19.0, -18.0))
        } else {
            padded(ys.chain([0.0]), 0.06, (-1.0, 1.0))
        };
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        let magnitude_label = |v: &f64| format!("{:.1}", -v);
        let flux_label = |v: &f64| format!("{v}");
        let y_label: &dyn Fn(&f64) -> String = if self.magnitudes {
            &magnitude_label
        } else {
            &flux_label
        };
        chart
            .configure_mesh()
            .x_desc(format!(
                "days since MJD {t0:.3} ({})",
                match self.survey {
                    crate::alert::neutral::Survey::Ztf => "UTC",
                    crate::alert::neutral::Survey::Lsst => "TAI",
                }
            ))
            .y_desc(if self.magnitudes {
                "AB magnitude"
            } else {
                "difference flux (nJy)"
            })
            .y_label_formatter(&y_label)
            .light_line_style(LIGHT_GRID)
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(|e| e.to_string())?;
        if !self.magnitudes {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x0, 0.0), (x1, 0.0)],
                    RGBColor(160, 160, 160),
                )))
                .map_err(|e| e.to_string())?;
        }
        if let Some(mjd) = self.selected_mjd {
            let x = mjd - t0;
            chart
                .draw_series(selected_line([(x, y0), (x, y1)]))
                .map_err(|e| e.to_string())?;
        }
        let mut labelled = false;
        for band in self.curve.bands() {
            let colour = rgb(match self.survey {
                crate::alert::neutral::Survey::Ztf => band_rgb(match band {
                    "g" => 1,
                    "r" => 2,
                    "i" => 3,
                    _ => 0,
                }),
                crate::alert::neutral::Survey::Lsst => lsst_band_rgb(band),
            });
            let of_band: Vec<_> = points.iter().filter(|(p, _)| p.band == band).collect();
            chart
                .draw_series(of_band.iter().filter_map(|(p, m)| {
                    let Mark::Value { y, err: Some(e) } = *m else {
                        return None;
                    };
                    let x = p.mjd - t0;
                    Some(PathElement::new(
                        vec![(x, y - e), (x, y + e)],
                        colour.mix(0.7),
                    ))
                }))
                .map_err(|e| e.to_string())?;
            let detections: Vec<(f64, f64, bool)> = of_band
                .iter()
                .filter_map(|(p, m)| match (&p.kind, m) {
                    (Kind::Detection { has_alert, .. }, Mark::Value { y, .. }) => {
                        Some((p.mjd - t0, *y, *has_alert))
                    }
                    _ => None,
                })
                .collect();
            let forced: Vec<(f64, f64)> = of_band
                .iter()
                .filter_map(|(p, m)| match (&p.kind, m) {
                    (Kind::Forced, Mark::Value { y, .. }) => Some((p.mjd - t0, *y)),
                    _ => None,
                })
                .collect();
            let limits: Vec<(f64, f64)> = of_band
                .iter()
                .filter_map(|(p, m)| match m {
                    Mark::Limit { y } => Some((p.mjd - t0, *y)),
                    Mark::Value { .. } => None,
                })
                .collect();
            if !detections.is_empty() {
                labelled = true;
                chart
                    .draw_series(
                        detections
                            .iter()
                            .map(|&(x, y, _)| Circle::new((x, y), 3, colour.filled())),
                    )
                    .map_err(|e| e.to_string())?
                    .label(format!("{band} detections"))
                    .legend(move |(x, y)| Circle::new((x + 8, y), 3, colour.filled()));
                chart
                    .draw_series(
                        detections
                            .iter()
                            .filter(|d| d.2)
                            .map(|&(x, y, _)| Circle::new((x, y), 6, colour.stroke_width(1))),
                    )
                    .map_err(|e| e.to_string())?;
            }
            if !forced.is_empty() {
                labelled = true;
                chart
                    .draw_series(
                        forced
                            .iter()
                            .map(|&(x, y)| Circle::new((x, y), 3, colour.stroke_width(1))),
                    )
                    .map_err(|e| e.to_string())?
                    .label(format!("{band} forced"))
                    .legend(move |(x, y)| Circle::new((x + 8, y), 3, colour.stroke_width(1)));
            }
            if !limits.is_empty() {
                labelled = true;
                // Open and pointing down: the source is fainter than this.
                let faded = colour.mix(0.6);
                let triangle =
                    move || PathElement::new(vec![(-4, -3), (4, -3), (0, 4), (-4, -3)], faded);
                chart
                    .draw_series(
                        limits
                            .iter()
                            .map(|&(x, y)| EmptyElement::at((x, y)) + triangle()),
                    )
                    .map_err(|e| e.to_string())?
                    .label(format!("{band} limits (5 sigma)"))
                    .legend(move |(x, y)| EmptyElement::at((x + 8, y)) + triangle());
            }
        }
        if labelled {
            // Away from the rise: a transient brightens up and to the right in magnitude,
            // and its flux climbs from the zero line.
            let corner = if self.magnitudes {
                SeriesLabelPosition::LowerRight
            } else {
                SeriesLabelPosition::UpperLeft
            };
            draw_legend(&mut chart, corner)?;
        }
        Ok(())
    }
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
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let n = self
            .models
            .iter()
            .map(|m| m.steps.len())
            .max()
            .unwrap_or(0)
            .max(1);
        let root = root
            .titled(self.title, ("sans-serif", 22))
            .map_err(|e| e.to_string())?;
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
            .build_cartesian_2d(0.5..n as f64 + 0.5, 0.0..1.02)
            .map_err(|e| e.to_string())?;
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
            .draw()
            .map_err(|e| e.to_string())?;
        if let Some(k) = self.selected {
            let x = k as f64 + 1.0;
            chart
                .draw_series(selected_line([(x, 0.0), (x, 1.02)]))
                .map_err(|e| e.to_string())?;
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
                    chart
                        .draw_series(model.steps.iter().enumerate().map(|(k, probs)| {
                            let base: f64 = probs.iter().take(ci).map(|&v| v as f64).sum();
                            let x = k as f64 + 1.0 + offset;
                            // A little narrower than the slot, so neighbouring models' stacks
                            // stay apart.
                            let half = 0.45 * width;
                            Rectangle::new(
                                [(x - half, base), (x + half, base + p(probs))],
                                colour.filled(),
                            )
                        }))
                        .map_err(|e| e.to_string())?;
                } else {
                    let points: Vec<(f64, f64)> = model
                        .steps
                        .iter()
                        .enumerate()
                        .map(|(k, probs)| (k as f64 + 1.0, p(probs)))
                        .collect();
                    chart
                        .draw_series(points.iter().map(|&xy| Circle::new(xy, 3, colour.filled())))
                        .map_err(|e| e.to_string())?;
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
                    }
                    .map_err(|e| e.to_string())?;
                }
            }
        }
        draw_evolution_key(&key_area, self.models, self.stacked).map_err(|e| e.to_string())
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

/// The legend every figure uses: white, framed, 13 px labels.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(|e| e.to_string())
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
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("top probability (confidence)")
            .y_desc("fraction right")
            .label_style(("sans-serif", 13))
            .light_line_style(LIGHT_GRID)
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                6,
                4,
                RGBColor(120, 120, 120).stroke_width(1),
            ))
            .map_err(|e| e.to_string())?;
        for (i, (name, bins)) in self.models.iter().enumerate() {
            let colour = MODEL_COLOURS[i % MODEL_COLOURS.len()];
            let points: Vec<(f64, f64)> = bins
                .iter()
                .filter(|b| b.2 > 0)
                .map(|b| (b.0, b.1))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
            // Marker area grows with the number of answers in the bin.
            chart
                .draw_series(bins.iter().filter(|b| b.2 > 0).map(|b| {
                    let r = (2.0 + (b.2 as f64).sqrt()).min(12.0) as i32;
                    Circle::new((b.0, b.1), r, colour.filled())
                }))
                .map_err(|e| e.to_string())?;
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
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
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
            .build_cartesian_2d(0.0..max_x * 1.02, 0.0..1.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("labelled objects")
            .y_desc("balanced accuracy on real test objects")
            .label_style(("sans-serif", 13))
            .light_line_style(LIGHT_GRID)
            .draw()
            .map_err(|e| e.to_string())?;
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
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band,
                    colour.mix(0.15).filled(),
                )))
                .map_err(|e| e.to_string())?;
            let points: Vec<(f64, f64)> = c
                .labels
                .iter()
                .zip(&c.mean)
                .map(|(&n, &m)| (n as f64, m))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(c.order.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(|e| e.to_string())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `data` as PNG and SVG; the PNG must decode and the SVG parse and hold `labels`.
    fn check(data: &PlotData, labels: &[&str]) {
        let dir = tempfile::tempdir().expect("tempdir");
        let png = dir.path().join("figure.png");
        let svg = dir.path().join("figure.SVG");
        data.write(&png).expect("PNG written");
        data.write(&svg).expect("SVG written");
        let image = image::open(&png).expect("PNG decodes");
        assert!(image.width() > 100 && image.height() > 100);
        let text = std::fs::read_to_string(&svg).expect("SVG read");
        let doc = roxmltree::Document::parse(&text).expect("SVG parses");
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        for label in labels {
            assert!(
                texts.iter().any(|t| t.contains(label)),
                "{label:?} missing from {texts:?}"
            );
        }
        let err = data
            .write(&dir.path().join("figure.jpg"))
            .expect_err("not PNG or SVG");
        assert!(err.to_string().contains(".png or .svg"), "{err}");
    }

    fn classes() -> Vec<String> {
        ["AGN", "SN", "VS"].iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn the_confusion_matrix_exports() {
        let mut cm = ConfusionMatrix::new(&classes());
        cm.add(0, 0);
        cm.add(1, 1);
        cm.add(1, 2);
        check(
            &PlotData::Confusion {
                cm,
                title: "validation at step 40".into(),
            },
            &[
                "validation at step 40",
                "AGN",
                "SN",
                "VS",
                "predicted",
                "true",
                "0.50",
            ],
        );
    }

    #[test]
    fn the_training_curves_export() {
        let history: Vec<Validation> = (1..=3)
            .map(|i| Validation {
                iteration: i * 10,
                max_iterations: 30,
                train_loss: 1.0 / i as f64,
                train_accuracy: 0.3 * i as f64,
                val_loss: 1.2 / i as f64,
                val_accuracy: 0.25 * i as f64,
                best_val_loss: 1.2 / i as f64,
                improved: true,
                elapsed_s: i as f64,
                eta_s: 0.0,
                confusion: None,
            })
            .collect();
        check(
            &PlotData::TrainingCurves(history),
            &["loss", "accuracy", "iteration", "training", "validation"],
        );
    }

    #[test]
    fn the_light_curve_exports_in_flux_and_in_magnitude() {
        use crate::alert::neutral::Survey;
        use crate::sequence::neutral::{NeutralLightCurve, Point, PointKind as Kind};
        let point = |mjd: f64, band: &str, kind: Kind, flux: Option<f64>, mag: Option<f64>| Point {
            mjd,
            band: band.into(),
            kind,
            flux,
            flux_err: flux.map(|_| 300.0),
            mag,
            mag_err: mag.map(|_| 0.1),
            mag_limit: None,
        };
        let detection = |has_alert| Kind::Detection {
            source_id: None,
            has_alert,
        };
        let mut limit = point(59000.0, "g", Kind::UpperLimit, None, None);
        limit.mag_limit = Some(20.5);
        let curve = NeutralLightCurve {
            points: vec![
                limit,
                point(59001.0, "g", detection(true), Some(75_900.0), Some(19.2)),
                point(59002.0, "r", detection(false), Some(100_000.0), Some(18.9)),
                point(59004.0, "r", detection(true), Some(120_200.0), Some(18.7)),
            ],
        };
        let figure = |magnitudes| PlotData::FluxCurve {
            title: "ZTF21abiuvdk (ZTF)".into(),
            curve: curve.clone(),
            selected_mjd: Some(59002.0),
            survey: Survey::Ztf,
            magnitudes,
        };
        check(
            &figure(true),
            &[
                "ZTF21abiuvdk (ZTF)",
                "g detections",
                "r detections",
                "g limits (5 sigma)",
                "AB magnitude",
                "days since MJD 59000.000 (UTC)",
            ],
        );
        // The upper limit has no flux: the flux figure starts at the first detection.
        check(
            &figure(false),
            &["difference flux (nJy)", "days since MJD 59001.000 (UTC)"],
        );
        // An object without photometry still gives a (blank) figure, not an error.
        check(
            &PlotData::FluxCurve {
                title: "empty".into(),
                curve: NeutralLightCurve::default(),
                selected_mjd: None,
                survey: Survey::Lsst,
                magnitudes: true,
            },
            &["empty", "AB magnitude", "TAI"],
        );
    }

    #[test]
    fn the_class_evolution_exports_as_lines_and_stacked_bars() {
        let models = vec![
            ModelEvolution {
                model: "alerce".into(),
                style: 0,
                classes: classes(),
                steps: vec![vec![0.2, 0.5, 0.3], vec![0.1, 0.8, 0.1]],
            },
            ModelEvolution {
                model: "tsc".into(),
                style: 2,
                classes: classes(),
                steps: vec![
                    vec![0.6, 0.2, 0.2],
                    vec![0.3, 0.6, 0.1],
                    vec![0.1, 0.9, 0.0],
                ],
            },
        ];
        for stacked in [false, true] {
            check(
                &PlotData::ClassEvolution {
                    title: "ZTF19abegmle".into(),
                    models: models.clone(),
                    stacked,
                    selected: Some(1),
                },
                &[
                    "ZTF19abegmle",
                    "alerce",
                    "tsc",
                    "SN",
                    "VS",
                    "models",
                    "classes",
                    "detection",
                    "probability",
                ],
            );
        }
        // The key names each model and each class once, not every pair of them.
        let dir = tempfile::tempdir().expect("tempdir");
        let svg = dir.path().join("evolution.svg");
        write_class_evolution("ZTF19abegmle", &models, false, None, &svg).expect("written");
        let text = std::fs::read_to_string(&svg).expect("SVG read");
        let doc = roxmltree::Document::parse(&text).expect("SVG parses");
        let count = |label: &str| {
            doc.descendants()
                .filter(|n| n.is_text() && n.text().map(str::trim) == Some(label))
                .count()
        };
        for label in ["alerce", "tsc", "AGN", "SN", "VS"] {
            assert_eq!(count(label), 1, "{label:?} in the key");
        }
    }
}
