//! An object's light curve as a figure, either survey, in flux or in magnitude.

use super::{draw_legend, padded, rgb, selected_line, DrawError, Figure, LIGHT_GRID};
use crate::sequence::neutral::{Point, PointKind as Kind};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Difference flux (or AB magnitude) against days since the first point, per band, with
/// error bars: detections filled (ringed where their alert is loaded); forced photometry open
/// circles in flux, and with upper limits open triangles at their 5-sigma limit in magnitude.
pub(super) struct FluxCurveFigure<'a> {
    pub(super) title: &'a str,
    pub(super) curve: &'a crate::sequence::neutral::NeutralLightCurve,
    pub(super) selected_mjd: Option<f64>,
    pub(super) survey: crate::alert::neutral::Survey,
    pub(super) magnitudes: bool,
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
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError>
    where
        DB::ErrorType: 'static,
    {
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
            .build_cartesian_2d(x0..x1, y0..y1)?;
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
                self.survey.time_scale()
            ))
            .y_desc(if self.magnitudes {
                "AB magnitude"
            } else {
                "difference flux (nJy)"
            })
            .y_label_formatter(&y_label)
            .light_line_style(LIGHT_GRID)
            .label_style(("sans-serif", 13))
            .draw()?;
        if !self.magnitudes {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x0, 0.0), (x1, 0.0)],
                RGBColor(160, 160, 160),
            )))?;
        }
        if let Some(mjd) = self.selected_mjd {
            let x = mjd - t0;
            chart.draw_series(selected_line([(x, y0), (x, y1)]))?;
        }
        let mut labelled = false;
        for band in self.curve.bands() {
            // Printed on white: each band's colour for a light background.
            let colour = rgb(self.survey.band_rgb(band, false));
            let of_band: Vec<_> = points.iter().filter(|(p, _)| p.band == band).collect();
            labelled |= draw_band(&mut chart, band, colour, &of_band, t0)?;
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

/// One band's points: error bars, detections (ringed where their alert is loaded), forced
/// photometry and limits, each kind in the legend. Whether it put anything in the legend.
fn draw_band<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    band: &str,
    colour: RGBColor,
    of_band: &[&(&Point, Mark)],
    t0: f64,
) -> Result<bool, DrawError>
where
    DB::ErrorType: 'static,
{
    let mut labelled = false;
    chart.draw_series(of_band.iter().filter_map(|(p, m)| {
        let Mark::Value { y, err: Some(e) } = *m else {
            return None;
        };
        let x = p.mjd - t0;
        Some(PathElement::new(
            vec![(x, y - e), (x, y + e)],
            colour.mix(0.7),
        ))
    }))?;
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
            )?
            .label(format!("{band} detections"))
            .legend(move |(x, y)| Circle::new((x + 8, y), 3, colour.filled()));
        chart.draw_series(
            detections
                .iter()
                .filter(|d| d.2)
                .map(|&(x, y, _)| Circle::new((x, y), 6, colour.stroke_width(1))),
        )?;
    }
    if !forced.is_empty() {
        labelled = true;
        chart
            .draw_series(
                forced
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, colour.stroke_width(1))),
            )?
            .label(format!("{band} forced"))
            .legend(move |(x, y)| Circle::new((x + 8, y), 3, colour.stroke_width(1)));
    }
    if !limits.is_empty() {
        labelled = true;
        // Open and pointing down: the source is fainter than this.
        let faded = colour.mix(0.6);
        let triangle = move || PathElement::new(vec![(-4, -3), (4, -3), (0, 4), (-4, -3)], faded);
        chart
            .draw_series(
                limits
                    .iter()
                    .map(|&(x, y)| EmptyElement::at((x, y)) + triangle()),
            )?
            .label(format!("{band} limits (5 sigma)"))
            .legend(move |(x, y)| EmptyElement::at((x + 8, y)) + triangle());
    }
    Ok(labelled)
}
