//! The imaging physics: point-spread function, magnitudes and fluxes, noise, photometry.
//!
//! Conventions. Images are 63x63 `f32` arrays in FITS row order (`pixels[row * 63 + col]`);
//! a position `(x, y)` is `(col, row)` with the centre of pixel `(c, r)` at `(c, r)`, so the
//! stamp centre is `(31, 31)`. Pixel values are data numbers (DN) on the scale of the real
//! ZTF templates, which the ZTF pipeline already matched to the science photometric zero
//! point: a source of magnitude `m` has a total flux of `10^(-0.4 (m - ZP))` DN.
//!
//! PSF: a circular Gaussian, `FWHM = 2 sqrt(2 ln 2) sigma`, with ZTF's typical seeing of about
//! 2 arcsec (drawn 1.6..3.0 arcsec per epoch) at 1.01 arcsec per pixel. It is integrated over
//! each pixel by 4x4 sub-sampling, because ZTF's seeing is barely two pixels wide and a
//! value taken at the pixel centre alone would overstate the peak by ~10%.
//!
//! Noise: photon (Poisson) noise of the electrons in every pixel, at a gain of 6.2 e-/DN
//! (ZTF's camera), plus 10 e- of read noise. The templates are deep co-adds whose own noise
//! is small (about 2 DN); the night sky of a single 30 s exposure is usually brighter than
//! the template's matched level, so an extra sky level is drawn per epoch: it adds photon
//! noise and is then subtracted, as the pipeline's background matching does.

use rand::RngExt;
use rand_distr::{Distribution, Normal, Poisson};

pub const SIDE: usize = 63;
pub const CENTRE: f64 = 31.0;
/// ZTF's plate scale.
pub const ARCSEC_PER_PIXEL: f64 = 1.01;
/// ZTF camera gain.
pub const GAIN_E_PER_DN: f64 = 6.2;
pub const READ_NOISE_E: f64 = 10.0;
/// Noise of the co-added templates, which survives into the difference image.
pub const TEMPLATE_NOISE_DN: f64 = 1.5;
/// A detection needs this signal-to-noise ratio in PSF photometry (ZTF's 5 sigma).
pub const DETECTION_SNR: f64 = 5.0;
const FWHM_PER_SIGMA: f64 = 2.354_820_045;

pub fn mag_to_flux(mag: f64, zp: f64) -> f64 {
    10f64.powf(-0.4 * (mag - zp))
}

pub fn flux_to_mag(flux: f64, zp: f64) -> f64 {
    zp - 2.5 * flux.abs().max(1e-30).log10()
}

pub fn sigma_from_fwhm_arcsec(fwhm_arcsec: f64) -> f64 {
    fwhm_arcsec / ARCSEC_PER_PIXEL / FWHM_PER_SIGMA
}

/// A pixel-integrated Gaussian PSF of unit total flux, centred at `(x, y)`, on a 63x63 grid.
/// Light falling outside the stamp is lost, as it is in a real cutout.
pub fn gaussian_psf(x: f64, y: f64, sigma: f64) -> Vec<f64> {
    let mut out = vec![0.0; SIDE * SIDE];
    let reach = (5.0 * sigma).ceil() as i64 + 1;
    let (cx, cy) = (x.round() as i64, y.round() as i64);
    const SUB: usize = 4;
    let norm = 1.0 / (2.0 * std::f64::consts::PI * sigma * sigma) / (SUB * SUB) as f64;
    for r in (cy - reach).max(0)..=(cy + reach).min(SIDE as i64 - 1) {
        for c in (cx - reach).max(0)..=(cx + reach).min(SIDE as i64 - 1) {
            let mut sum = 0.0;
            for i in 0..SUB {
                for j in 0..SUB {
                    let dy = r as f64 - 0.5 + (i as f64 + 0.5) / SUB as f64 - y;
                    let dx = c as f64 - 0.5 + (j as f64 + 0.5) / SUB as f64 - x;
                    sum += (-(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp();
                }
            }
            out[r as usize * SIDE + c as usize] = sum * norm;
        }
    }
    out
}

/// Adds `flux` times a unit-flux profile to an image.
pub fn add_scaled(image: &mut [f64], profile: &[f64], flux: f64) {
    for (p, v) in image.iter_mut().zip(profile) {
        *p += flux * v;
    }
}

/// An exponential disc galaxy of total flux `flux`: scale length `h` pixels, axis ratio
/// `q`, position angle `theta`. Rather than a convolution, the PSF is folded in by
/// broadening the scale length in quadrature, which keeps the centre smooth as a real seeing-
/// limited galaxy is and is exact enough at the stamp classifier's resolution.
pub fn exponential_galaxy(x: f64, y: f64, h: f64, q: f64, theta: f64, psf_sigma: f64) -> Vec<f64> {
    let h = (h * h + psf_sigma * psf_sigma).sqrt();
    let (s, c) = theta.sin_cos();
    let mut out = vec![0.0; SIDE * SIDE];
    let mut total = 0.0;
    for r in 0..SIDE {
        for col in 0..SIDE {
            let (dx, dy) = (col as f64 - x, r as f64 - y);
            let u = dx * c + dy * s;
            let v = (-dx * s + dy * c) / q;
            let v = (-(u * u + v * v).sqrt() / h).exp();
            out[r * SIDE + col] = v;
            total += v;
        }
    }
    // Normalised on the stamp, so `flux` is what the stamp holds.
    out.iter_mut().for_each(|v| *v /= total);
    out
}

/// Photon noise plus read noise for one exposure. `extra_sky` (DN) is sky light beyond the
/// template's matched background: it adds noise and is subtracted again.
pub fn observe<R: rand::Rng + ?Sized>(expected: &[f64], extra_sky: f64, rng: &mut R) -> Vec<f64> {
    let read = Normal::new(0.0, READ_NOISE_E / GAIN_E_PER_DN).expect("positive sigma");
    expected
        .iter()
        .map(|&v| {
            let electrons = (v + extra_sky).max(0.0) * GAIN_E_PER_DN;
            let counted = if electrons > 0.0 {
                Poisson::new(electrons)
                    .map(|p| p.sample(rng))
                    .unwrap_or(electrons)
            } else {
                0.0
            };
            counted / GAIN_E_PER_DN - extra_sky + read.sample(rng)
        })
        .collect()
}

/// Per-pixel variance (DN^2) of a science exposure, as [`observe`] makes it, plus the
/// template's own noise, which the difference image carries too.
pub fn difference_variance(expected_science: &[f64], extra_sky: f64) -> Vec<f64> {
    expected_science
        .iter()
        .map(|&v| {
            (v + extra_sky).max(0.0) / GAIN_E_PER_DN
                + (READ_NOISE_E / GAIN_E_PER_DN).powi(2)
                + TEMPLATE_NOISE_DN.powi(2)
        })
        .collect()
}

/// PSF-fit photometry at a known position, the way ZTF measures `magpsf`: the
/// least-squares amplitude `sum(P D / var) / sum(P^2 / var)` and its 1-sigma error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PsfPhotometry {
    pub flux: f64,
    pub sigma: f64,
}

impl PsfPhotometry {
    pub fn snr(&self) -> f64 {
        self.flux / self.sigma
    }
}

pub fn psf_photometry(image: &[f64], psf: &[f64], variance: &[f64]) -> PsfPhotometry {
    let (mut num, mut den) = (0.0, 0.0);
    for ((d, p), v) in image.iter().zip(psf).zip(variance) {
        num += p * d / v;
        den += p * p / v;
    }
    PsfPhotometry {
        flux: num / den,
        sigma: 1.0 / den.sqrt(),
    }
}

/// Sum of the pixels whose centres lie within `radius` pixels of `(x, y)`.
pub fn aperture_sum(image: &[f32], x: f64, y: f64, radius: f64) -> (f64, usize) {
    let (mut sum, mut n) = (0.0, 0);
    for r in 0..SIDE {
        for c in 0..SIDE {
            let (dx, dy) = (c as f64 - x, r as f64 - y);
            if dx * dx + dy * dy <= radius * radius {
                sum += image[r * SIDE + c] as f64;
                n += 1;
            }
        }
    }
    (sum, n)
}

pub fn median(values: &[f32]) -> f64 {
    let mut v: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2] as f64
}

/// Robust noise estimate: 1.4826 times the median absolute deviation.
pub fn robust_sigma(values: &[f32]) -> f64 {
    let m = median(values);
    let dev: Vec<f32> = values
        .iter()
        .map(|v| (*v as f64 - m).abs() as f32)
        .collect();
    1.4826 * median(&dev)
}

/// Intensity-weighted centroid of the brightest (3x3-smoothed) feature within `search`
/// pixels of `(x0, y0)`, measured above the stamp's median in a window of radius 3 pixels
/// around that peak. Returns the centroid and the smoothed peak's height in units of the
/// smoothed noise, or `None` for an empty stamp.
pub fn brightest_centroid(image: &[f32], x0: f64, y0: f64, search: f64) -> Option<(f64, f64, f64)> {
    let bkg = median(image);
    let noise = robust_sigma(image).max(1e-6) / 3.0;
    let at = |r: i64, c: i64| -> f64 {
        let r = r.clamp(0, SIDE as i64 - 1) as usize;
        let c = c.clamp(0, SIDE as i64 - 1) as usize;
        let v = image[r * SIDE + c];
        if v.is_finite() {
            v as f64 - bkg
        } else {
            0.0
        }
    };
    let mut best: Option<(i64, i64, f64)> = None;
    for r in 0..SIDE as i64 {
        for c in 0..SIDE as i64 {
            let (dx, dy) = (c as f64 - x0, r as f64 - y0);
            if dx * dx + dy * dy > search * search {
                continue;
            }
            let mut s = 0.0;
            for i in -1..=1 {
                for j in -1..=1 {
                    s += at(r + i, c + j);
                }
            }
            s /= 9.0;
            if best.is_none_or(|b| s > b.2) {
                best = Some((r, c, s));
            }
        }
    }
    let (pr, pc, peak) = best?;
    let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
    for i in -3..=3i64 {
        for j in -3..=3i64 {
            if i * i + j * j > 9 {
                continue;
            }
            let w = at(pr + i, pc + j).max(0.0);
            sx += w * (pc + j) as f64;
            sy += w * (pr + i) as f64;
            sw += w;
        }
    }
    if sw <= 0.0 {
        return None;
    }
    Some((sx / sw, sy / sw, peak / noise))
}

/// The stamp moved so that its new pixel `(c, r)` shows the old pixel `(c + dx, r + dy)`;
/// pixels brought in from beyond the edge are mirrored, so the new border keeps the real
/// sky texture instead of a flat fill.
pub fn shift(image: &[f32], dx: i64, dy: i64) -> Vec<f32> {
    let n = SIDE as i64;
    let reflect = |i: i64| -> usize {
        let period = 2 * (n - 1);
        let m = i.rem_euclid(period);
        (if m < n { m } else { period - m }) as usize
    };
    let mut out = vec![0.0; SIDE * SIDE];
    for r in 0..n {
        for c in 0..n {
            out[(r * n + c) as usize] = image[reflect(r + dy) * SIDE + reflect(c + dx)];
        }
    }
    out
}

/// Draws a uniform number in `[lo, hi)`.
pub fn uniform<R: rand::Rng + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psf_holds_unit_flux_and_peaks_where_placed() {
        let p = gaussian_psf(30.3, 32.0, sigma_from_fwhm_arcsec(2.0));
        let total: f64 = p.iter().sum();
        assert!((total - 1.0).abs() < 1e-3, "{total}");
        let img: Vec<f32> = p.iter().map(|v| *v as f32).collect();
        let (x, y, _) = brightest_centroid(&img, 31.0, 31.0, 5.0).unwrap();
        assert!((x - 30.3).abs() < 0.1 && (y - 32.0).abs() < 0.1, "{x} {y}");
    }

    #[test]
    fn magnitudes_round_trip() {
        let f = mag_to_flux(18.0, 26.2);
        assert!((flux_to_mag(f, 26.2) - 18.0).abs() < 1e-9);
    }

    #[test]
    fn shift_moves_content() {
        let mut img = vec![0.0f32; SIDE * SIDE];
        img[33 * SIDE + 35] = 1.0;
        let s = shift(&img, 4, 2);
        assert_eq!(s[31 * SIDE + 31], 1.0);
    }
}
