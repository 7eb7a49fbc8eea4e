//! Display maths for stamps, as astronomers' tools draw them: an interval (min-max,
//! astropy's zscale, percentiles) maps pixel values to [0, 1], a stretch (linear, log,
//! sqrt, asinh) shapes them, a colormap colours them; NaN gets a colour of its own.
//!
//! The app applies interval limits, stretch and colormap on the GPU (shaders/stamp.wgsl);
//! these CPU versions compute the limits, render exports and are the reference the shader
//! is tested against.

use crate::alert::Stamp;
use serde::{Deserialize, Serialize};

/// astropy's `ZScaleInterval` parameters; `Default` is astropy's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZScale {
    pub n_samples: usize,
    pub contrast: f64,
    pub max_reject: f64,
    pub min_npixels: usize,
    pub krej: f64,
    pub max_iterations: usize,
}

impl Default for ZScale {
    fn default() -> Self {
        Self {
            n_samples: 1000,
            contrast: 0.25,
            max_reject: 0.5,
            min_npixels: 5,
            krej: 2.5,
            max_iterations: 5,
        }
    }
}

/// How pixel values are mapped to [0, 1] before the stretch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Interval {
    MinMax,
    ZScale(ZScale),
    /// Lower and upper percentiles, e.g. 0.5 and 99.5.
    Percentile {
        lower: f64,
        upper: f64,
    },
    Manual {
        vmin: f64,
        vmax: f64,
    },
}

impl Default for Interval {
    fn default() -> Self {
        Interval::ZScale(ZScale::default())
    }
}

fn finite_values(values: &[f32]) -> Vec<f32> {
    values.iter().copied().filter(|v| v.is_finite()).collect()
}

impl Interval {
    /// The (vmin, vmax) limits for these pixels; `None` when no pixel is finite.
    pub fn limits(&self, values: &[f32]) -> Option<(f64, f64)> {
        match *self {
            Interval::MinMax => {
                let finite = finite_values(values);
                let lo = finite.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = finite.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                (!finite.is_empty()).then_some((lo as f64, hi as f64))
            }
            Interval::ZScale(z) => zscale_limits(values, &z),
            Interval::Percentile { lower, upper } => percentile_limits(values, lower, upper),
            Interval::Manual { vmin, vmax } => Some((vmin, vmax)),
        }
    }
}

/// `np.percentile` with linear interpolation over the finite values.
pub fn percentile_limits(values: &[f32], lower: f64, upper: f64) -> Option<(f64, f64)> {
    let mut v: Vec<f64> = finite_values(values).into_iter().map(f64::from).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let pos = (p.clamp(0.0, 100.0) / 100.0) * (v.len() - 1) as f64;
        let i = pos.floor() as usize;
        let frac = pos - i as f64;
        if i + 1 < v.len() {
            v[i] + (v[i + 1] - v[i]) * frac
        } else {
            v[i]
        }
    };
    Some((at(lower), at(upper)))
}

/// astropy's `ZScaleInterval.get_limits`, step for step: sample, sort, fit a line to the
/// sorted samples with iterative k-sigma rejection (rejections dilated by 1 % of the
/// samples), and widen the line's slope by 1 / contrast around the median.
pub fn zscale_limits(values: &[f32], p: &ZScale) -> Option<(f64, f64)> {
    let finite = finite_values(values);
    if finite.is_empty() {
        return None;
    }
    let stride = ((finite.len() as f64 / p.n_samples as f64).max(1.0)) as usize;
    let mut samples: Vec<f32> = finite
        .iter()
        .step_by(stride)
        .take(p.n_samples)
        .copied()
        .collect();
    samples.sort_by(f32::total_cmp);
    let npix = samples.len();
    let mut vmin = samples[0] as f64;
    let mut vmax = samples[npix - 1] as f64;

    let minpix = p.min_npixels.max((npix as f64 * p.max_reject) as usize);
    let mut ngoodpix = npix;
    let mut last_ngoodpix = npix + 1;
    let mut badpix = vec![false; npix];
    let ngrow = 1.max((npix as f64 * 0.01) as usize);
    let mut fit: Option<(f64, f64)> = None;

    for _ in 0..p.max_iterations {
        if ngoodpix >= last_ngoodpix || ngoodpix < minpix {
            break;
        }
        let (slope, intercept) = weighted_line_fit(&samples, &badpix)?;
        fit = Some((slope, intercept));
        let flat: Vec<f64> = samples
            .iter()
            .enumerate()
            .map(|(i, &s)| s as f64 - (slope * i as f64 + intercept))
            .collect();
        let good: Vec<f64> = flat
            .iter()
            .zip(&badpix)
            .filter(|(_, b)| !**b)
            .map(|(f, _)| *f)
            .collect();
        let mean = good.iter().sum::<f64>() / good.len() as f64;
        let std = (good.iter().map(|f| (f - mean).powi(2)).sum::<f64>() / good.len() as f64).sqrt();
        let threshold = p.krej * std;
        for (b, f) in badpix.iter_mut().zip(&flat) {
            if *f < -threshold || *f > threshold {
                *b = true;
            }
        }
        // np.convolve(badpix, ones(ngrow), mode="same"): output i covers inputs
        // i + off - (ngrow - 1) ..= i + off, with off = (ngrow - 1) / 2.
        let off = (ngrow - 1) / 2;
        let grown: Vec<bool> = (0..npix)
            .map(|i| {
                let hi = i + off;
                let lo = hi.saturating_sub(ngrow - 1);
                (lo..=hi.min(npix - 1)).any(|j| badpix[j])
            })
            .collect();
        badpix = grown;
        last_ngoodpix = ngoodpix;
        ngoodpix = badpix.iter().filter(|b| !**b).count();
    }

    if let (true, Some((mut slope, _))) = (ngoodpix >= minpix, fit) {
        if p.contrast > 0.0 {
            slope /= p.contrast;
        }
        let center = (npix - 1) / 2;
        let median = median_f32(&samples);
        vmin = vmin.max(median - (center as f64 - 1.0) * slope);
        vmax = vmax.min(median + (npix - center) as f64 * slope);
    }
    Some((vmin, vmax))
}

/// Median of sorted float32 samples as numpy computes it (in float32).
fn median_f32(sorted: &[f32]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2] as f64
    } else {
        ((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0) as f64
    }
}

/// Least-squares line through (i, samples[i]) over the pixels not marked bad.
fn weighted_line_fit(samples: &[f32], bad: &[bool]) -> Option<(f64, f64)> {
    let (mut n, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for (i, (&s, &b)) in samples.iter().zip(bad).enumerate() {
        if !b {
            n += 1.0;
            sx += i as f64;
            sy += s as f64;
        }
    }
    if n < 2.0 {
        return None;
    }
    let (mx, my) = (sx / n, sy / n);
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (i, (&s, &b)) in samples.iter().zip(bad).enumerate() {
        if !b {
            let dx = i as f64 - mx;
            sxx += dx * dx;
            sxy += dx * (s as f64 - my);
        }
    }
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

/// How normalised values in [0, 1] are shaped, as astropy's stretches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Stretch {
    Linear,
    /// y = log(a x + 1) / log(a + 1); a = 1000 by default.
    Log {
        a: f64,
    },
    Sqrt,
    /// y = asinh(x / a) / asinh(1 / a); a = 0.1 by default.
    Asinh {
        a: f64,
    },
}

impl Stretch {
    pub const LOG: Stretch = Stretch::Log { a: 1000.0 };
    pub const ASINH: Stretch = Stretch::Asinh { a: 0.1 };

    pub fn apply(&self, x: f64) -> f64 {
        let x = x.clamp(0.0, 1.0);
        match *self {
            Stretch::Linear => x,
            Stretch::Log { a } => (a * x + 1.0).ln() / (a + 1.0).ln(),
            Stretch::Sqrt => x.sqrt(),
            Stretch::Asinh { a } => (x / a).asinh() / (1.0 / a).asinh(),
        }
    }

    /// The shader's code for this stretch.
    pub fn shader_id(&self) -> u32 {
        match self {
            Stretch::Linear => 0,
            Stretch::Log { .. } => 1,
            Stretch::Sqrt => 2,
            Stretch::Asinh { .. } => 3,
        }
    }

    pub fn parameter(&self) -> f64 {
        match *self {
            Stretch::Log { a } | Stretch::Asinh { a } => a,
            _ => 0.0,
        }
    }
}

/// Colour maps offered for stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Colormap {
    Grey,
    InvertedGrey,
    Viridis,
    Inferno,
    Magma,
    Plasma,
    Cividis,
    Turbo,
}

impl Colormap {
    pub const ALL: [Colormap; 8] = [
        Colormap::Grey,
        Colormap::InvertedGrey,
        Colormap::Viridis,
        Colormap::Inferno,
        Colormap::Magma,
        Colormap::Plasma,
        Colormap::Cividis,
        Colormap::Turbo,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Colormap::Grey => "grey",
            Colormap::InvertedGrey => "inverted grey",
            Colormap::Viridis => "viridis",
            Colormap::Inferno => "inferno",
            Colormap::Magma => "magma",
            Colormap::Plasma => "plasma",
            Colormap::Cividis => "cividis",
            Colormap::Turbo => "turbo",
        }
    }

    /// Colour of a value in [0, 1].
    pub fn rgb(&self, t: f64) -> [u8; 3] {
        let t = t.clamp(0.0, 1.0);
        let grey = |v: f64| {
            let g = (v * 255.0).round() as u8;
            [g, g, g]
        };
        let gradient = match self {
            Colormap::Grey => return grey(t),
            Colormap::InvertedGrey => return grey(1.0 - t),
            Colormap::Viridis => colorous::VIRIDIS,
            Colormap::Inferno => colorous::INFERNO,
            Colormap::Magma => colorous::MAGMA,
            Colormap::Plasma => colorous::PLASMA,
            Colormap::Cividis => colorous::CIVIDIS,
            Colormap::Turbo => colorous::TURBO,
        };
        let c = gradient.eval_continuous(t);
        [c.r, c.g, c.b]
    }

    /// A 256-entry RGBA lookup table, as uploaded to the GPU.
    pub fn lut(&self) -> Vec<[u8; 4]> {
        (0..256)
            .map(|i| {
                let [r, g, b] = self.rgb(i as f64 / 255.0);
                [r, g, b, 255]
            })
            .collect()
    }
}

/// Everything that decides how one stamp looks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DisplaySettings {
    pub interval: Interval,
    pub stretch: Stretch,
    pub colormap: Colormap,
    /// Limits made symmetric around zero (for difference images, which go negative).
    pub symmetric: bool,
    pub nan_rgb: [u8; 3],
}

impl DisplaySettings {
    /// Science and reference: zscale and asinh, as the brokers' portals show them.
    pub fn science() -> Self {
        Self {
            interval: Interval::default(),
            stretch: Stretch::ASINH,
            colormap: Colormap::Grey,
            symmetric: false,
            nan_rgb: [200, 40, 160],
        }
    }

    /// Difference: linear, symmetric around zero.
    pub fn difference() -> Self {
        Self {
            interval: Interval::Percentile {
                lower: 0.5,
                upper: 99.5,
            },
            stretch: Stretch::Linear,
            symmetric: true,
            ..Self::science()
        }
    }

    /// The limits this display uses for these pixels.
    pub fn limits(&self, values: &[f32]) -> Option<(f64, f64)> {
        let (lo, hi) = self.interval.limits(values)?;
        Some(if self.symmetric {
            let m = lo.abs().max(hi.abs());
            (-m, m)
        } else {
            (lo, hi)
        })
    }
}

/// Renders a stamp to RGBA, North up (FITS row 0 is South, so rows are flipped).
pub fn render_rgba(stamp: &Stamp, settings: &DisplaySettings) -> Vec<u8> {
    let (lo, hi) = settings.limits(&stamp.pixels).unwrap_or((0.0, 1.0));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let mut out = Vec::with_capacity(stamp.pixels.len() * 4);
    for row in (0..stamp.height).rev() {
        for col in 0..stamp.width {
            let v = stamp.get(row, col);
            let [r, g, b] = if v.is_finite() {
                let t = settings.stretch.apply((v as f64 - lo) / span);
                settings.colormap.rgb(t)
            } else {
                settings.nan_rgb
            };
            out.extend_from_slice(&[r, g, b, 255]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretches_match_astropy_formulas_and_keep_the_ends() {
        for s in [Stretch::Linear, Stretch::LOG, Stretch::Sqrt, Stretch::ASINH] {
            assert!(s.apply(0.0).abs() < 1e-12);
            assert!((s.apply(1.0) - 1.0).abs() < 1e-12);
            assert!(
                s.apply(0.25) >= 0.25 - 1e-12,
                "{s:?} brightens faint pixels"
            );
        }
        assert!((Stretch::LOG.apply(0.5) - (501f64).ln() / (1001f64).ln()).abs() < 1e-12);
        assert!((Stretch::ASINH.apply(0.5) - 5f64.asinh() / 10f64.asinh()).abs() < 1e-12);
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v: Vec<f32> = vec![4.0, f32::NAN, 1.0, 3.0, 2.0];
        // np.percentile([1,2,3,4], [25, 50]) == [1.75, 2.5]
        assert_eq!(percentile_limits(&v, 25.0, 50.0), Some((1.75, 2.5)));
        assert_eq!(percentile_limits(&[f32::NAN], 1.0, 99.0), None);
    }

    #[test]
    fn zscale_of_a_ramp_with_outliers_ignores_the_outliers() {
        let mut v: Vec<f32> = (0..2000).map(|i| i as f32 * 0.01).collect();
        v[10] = 1e6;
        v[20] = -1e6;
        let (lo, hi) = zscale_limits(&v, &ZScale::default()).expect("limits");
        // astropy 8.0: ZScaleInterval().get_limits(v) == (-29.83, 50.09): the fitted slope
        // of the sorted samples widened by 1 / contrast, not the +-1e6 extremes.
        assert!(
            (lo - -29.83).abs() < 1e-4 && (hi - 50.09).abs() < 1e-4,
            "{lo} {hi}"
        );
    }

    #[test]
    fn rendering_flips_north_up_and_paints_nan() {
        let stamp = Stamp::new(2, 2, vec![0.0, f32::NAN, 1.0, 2.0]);
        let s = DisplaySettings {
            interval: Interval::Manual {
                vmin: 0.0,
                vmax: 2.0,
            },
            stretch: Stretch::Linear,
            colormap: Colormap::Grey,
            symmetric: false,
            nan_rgb: [1, 2, 3],
        };
        let rgba = render_rgba(&stamp, &s);
        // Top row of the image is the last FITS row: values 1.0, 2.0.
        assert_eq!(&rgba[0..4], &[128, 128, 128, 255]);
        assert_eq!(&rgba[4..8], &[255, 255, 255, 255]);
        assert_eq!(&rgba[8..12], &[0, 0, 0, 255]);
        assert_eq!(&rgba[12..16], &[1, 2, 3, 255]);
    }

    #[test]
    fn colormaps_run_dark_to_bright_except_inverted() {
        let luma = |c: [u8; 3]| 0.3 * c[0] as f64 + 0.59 * c[1] as f64 + 0.11 * c[2] as f64;
        for cmap in Colormap::ALL {
            let (a, b) = (luma(cmap.rgb(0.0)), luma(cmap.rgb(1.0)));
            if cmap == Colormap::InvertedGrey {
                assert!(a > b);
            } else {
                assert!(b > a, "{cmap:?}");
            }
            assert_eq!(cmap.lut().len(), 256);
        }
    }
}
