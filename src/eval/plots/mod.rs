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

mod evolution;
mod light_curve;
mod scores;

pub use evolution::{write_class_evolution, ModelEvolution, LINE_DASHES};
use light_curve::FluxCurveFigure;
pub use scores::{
    confusion_matrix, learning_curves, reliability_diagram, training_curves,
    write_confusion_matrix, write_training_curves, ActiveCurve, ReliabilityCurve,
};

/// A figure that could not be written: the file, and what went wrong (a drawing call, the
/// image encoder, the write) as its source.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct PlotError {
    pub path: String,
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

fn fail(path: &Path, problem: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> PlotError {
    PlotError {
        path: path.display().to_string(),
        source: problem.into(),
    }
}

/// A drawing call that failed, the backend's error kept as it is.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DrawError(Box<dyn std::error::Error + Send + Sync>);

impl<E: std::error::Error + Send + Sync + 'static> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(Box::new(e))
    }
}

/// A figure that can be drawn on any plotters backend.
trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError>
    where
        DB::ErrorType: 'static;
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

/// The legend every figure uses: white, framed, 13 px labels.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawError>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(DrawError::from)
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
