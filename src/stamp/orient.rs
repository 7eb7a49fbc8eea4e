//! North up, East left, for cutouts whose pixels are not: LSST cutouts come in the
//! detector's frame (any rotation; LSSTCam's `ROTPA` of 189° puts North near the bottom),
//! where ZTF's are already North up. A display resamples them through the cutout's WCS.
//!
//! Conventions: pixel offsets are in FITS order (x right, y up: row 0 is South once shown
//! North up); a `cd` matrix maps a pixel offset to the offset on the tangent plane in
//! degrees, `[East, North]` (FITS intermediate world coordinates of a TAN projection, where
//! the first axis grows with right ascension). Over a cutout of at most 102 x 0.2" the
//! projection is linear to far below a pixel, so one matrix serves the whole stamp.

use crate::alert::lsst::LsstCutout;
use crate::alert::Stamp;

/// Degrees per pixel offset: `[[dEast/dx, dEast/dy], [dNorth/dx, dNorth/dy]]`.
pub type Cd = [[f64; 2]; 2];

/// Why a cutout cannot be turned North up.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum OrientError {
    #[error("the WCS matrix is not finite")]
    NotFinite,
    #[error("the WCS matrix is singular (determinant {0:e})")]
    Singular(f64),
}

/// Where a cutout's sky frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSource {
    /// The CD (PC x CDELT) matrix of the cutout's header.
    Wcs,
    /// `ROTPA` and the survey's pixel scale, for a cutout whose header has no WCS.
    Rotpa,
}

/// The CD matrix of a detector image whose focal-plane +Y points `rotpa_deg` East of North,
/// with the parity of an unflipped camera (det < 0: East is left of North, as on the sky).
/// This is how Rubin's `ROTPA` relates to the WCS it writes beside it: the LSSTCam cutouts
/// in the shared data agree with it to 0.03°.
pub fn cd_from_rotpa(rotpa_deg: f64, arcsec_per_pixel: f64) -> Cd {
    let s = arcsec_per_pixel / 3600.0;
    let (sin, cos) = rotpa_deg.to_radians().sin_cos();
    // +Y on the sky: (sin, cos) in (East, North); +X is +Y turned 90° toward the West.
    [[-cos * s, sin * s], [sin * s, cos * s]]
}

/// The sky frame of an LSST cutout: its WCS, else its `ROTPA` at LSST's 0.2"/px.
pub fn lsst_frame(cutout: &LsstCutout) -> Option<(Cd, FrameSource)> {
    if let Some(w) = &cutout.wcs {
        return Some((w.cd, FrameSource::Wcs));
    }
    cutout.rotpa.filter(|r| r.is_finite()).map(|r| {
        (
            cd_from_rotpa(r, LsstCutout::nominal_pixel_scale_arcsec()),
            FrameSource::Rotpa,
        )
    })
}

fn det(m: &Cd) -> f64 {
    m[0][0] * m[1][1] - m[0][1] * m[1][0]
}

fn inverse(m: &Cd) -> Result<Cd, OrientError> {
    if m.iter().flatten().any(|v| !v.is_finite()) {
        return Err(OrientError::NotFinite);
    }
    let d = det(m);
    // A real pixel is at least milliarcseconds wide: anything near zero is a broken header.
    if d.abs() < 1e-24 || !d.is_finite() {
        return Err(OrientError::Singular(d));
    }
    Ok([[m[1][1] / d, -m[0][1] / d], [-m[1][0] / d, m[0][0] / d]])
}

fn mul(a: &Cd, b: &Cd) -> Cd {
    [
        [
            a[0][0] * b[0][0] + a[0][1] * b[1][0],
            a[0][0] * b[0][1] + a[0][1] * b[1][1],
        ],
        [
            a[1][0] * b[0][0] + a[1][1] * b[1][0],
            a[1][0] * b[0][1] + a[1][1] * b[1][1],
        ],
    ]
}

fn apply(m: &Cd, v: [f64; 2]) -> [f64; 2] {
    [
        m[0][0] * v[0] + m[0][1] * v[1],
        m[1][0] * v[0] + m[1][1] * v[1],
    ]
}

/// Arcseconds per pixel of a frame (the square root of the pixel's area on the sky).
pub fn arcsec_per_pixel(cd: &Cd) -> f64 {
    det(cd).abs().sqrt() * 3600.0
}

/// The directions of North and East on a displayed image of this frame, as unit vectors
/// in pixel offsets (x right, y up).
pub fn sky_directions(cd: &Cd) -> Result<([f64; 2], [f64; 2]), OrientError> {
    let inv = inverse(cd)?;
    let unit = |v: [f64; 2]| {
        let n = v[0].hypot(v[1]);
        [v[0] / n, v[1] / n]
    };
    Ok((unit(apply(&inv, [0.0, 1.0])), unit(apply(&inv, [1.0, 0.0]))))
}

/// How a cutout's pixels map to a North-up, East-left grid of the same size and pixel
/// area, turned about the stamp's centre (where the source is).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orientation {
    /// Output pixel offset -> input pixel offset.
    to_source: Cd,
    /// The frame of the output: `[[-s, 0], [0, s]]`.
    displayed: Cd,
}

impl Orientation {
    pub fn north_up(cd: &Cd) -> Result<Self, OrientError> {
        let inv = inverse(cd)?;
        let s = det(cd).abs().sqrt();
        // One output pixel right is s degrees West, one up s degrees North.
        let displayed = [[-s, 0.0], [0.0, s]];
        Ok(Self {
            to_source: mul(&inv, &displayed),
            displayed,
        })
    }

    /// The sky frame of the oriented image: the input frame composed with the resampling,
    /// so the compass drawn from it follows what was actually done to the pixels.
    pub fn displayed_frame(&self, input: &Cd) -> Cd {
        let composed = mul(input, &self.to_source);
        // Keep the exact frame where the composition agrees with it (it does, up to
        // rounding): a compass a hair off North looks like a bug.
        if composed
            .iter()
            .flatten()
            .zip(self.displayed.iter().flatten())
            .all(|(a, b)| (a - b).abs() <= 1e-9 * self.displayed[1][1].abs())
        {
            self.displayed
        } else {
            composed
        }
    }

    /// Resamples `stamp` (bilinear, ignoring NaN neighbours) onto the North-up grid.
    /// Output pixels outside the cutout are NaN and flagged in `outside`.
    pub fn apply(&self, stamp: &Stamp) -> OrientedStamp {
        let (w, h) = (stamp.width, stamp.height);
        let centre = [(w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0];
        let mut pixels = Vec::with_capacity(w * h);
        let mut outside = Vec::with_capacity(w * h);
        for row in 0..h {
            for col in 0..w {
                let d = apply(
                    &self.to_source,
                    [col as f64 - centre[0], row as f64 - centre[1]],
                );
                let p = [centre[0] + d[0], centre[1] + d[1]];
                let inside = p[0] >= -0.5
                    && p[1] >= -0.5
                    && p[0] <= w as f64 - 0.5
                    && p[1] <= h as f64 - 0.5;
                outside.push(!inside);
                pixels.push(if inside { bilinear(stamp, p) } else { f32::NAN });
            }
        }
        OrientedStamp {
            stamp: Stamp::new(w, h, pixels),
            outside,
            to_source: self.to_source,
            centre,
        }
    }
}

fn bilinear(stamp: &Stamp, p: [f64; 2]) -> f32 {
    let (w, h) = (stamp.width as isize, stamp.height as isize);
    let x0 = p[0].floor();
    let y0 = p[1].floor();
    let (fx, fy) = (p[0] - x0, p[1] - y0);
    let (x0, y0) = (x0 as isize, y0 as isize);
    let mut sum = 0.0;
    let mut weight = 0.0;
    for (dx, dy, wgt) in [
        (0, 0, (1.0 - fx) * (1.0 - fy)),
        (1, 0, fx * (1.0 - fy)),
        (0, 1, (1.0 - fx) * fy),
        (1, 1, fx * fy),
    ] {
        let (x, y) = ((x0 + dx).clamp(0, w - 1), (y0 + dy).clamp(0, h - 1));
        let v = stamp.get(y as usize, x as usize);
        if v.is_finite() && wgt > 0.0 {
            sum += wgt * v as f64;
            weight += wgt;
        }
    }
    if weight > 0.0 {
        (sum / weight) as f32
    } else {
        f32::NAN
    }
}

/// A cutout turned North up, and the way back to its own pixels.
#[derive(Debug, Clone)]
pub struct OrientedStamp {
    pub stamp: Stamp,
    /// Output pixels the cutout does not cover (the corners a rotation brings in).
    pub outside: Vec<bool>,
    to_source: Cd,
    centre: [f64; 2],
}

impl OrientedStamp {
    /// The input pixel (row, col) nearest to output pixel (row, col), if inside: what a
    /// readout shows, so a value read is a value the producer wrote, not an interpolation.
    pub fn source_pixel(&self, row: usize, col: usize) -> Option<(usize, usize)> {
        let (w, h) = (self.stamp.width, self.stamp.height);
        if row >= h || col >= w || self.outside[row * w + col] {
            return None;
        }
        let d = apply(
            &self.to_source,
            [col as f64 - self.centre[0], row as f64 - self.centre[1]],
        );
        let x = (self.centre[0] + d[0]).round().clamp(0.0, w as f64 - 1.0) as usize;
        let y = (self.centre[1] + d[1]).round().clamp(0.0, h as f64 - 1.0) as usize;
        Some((y, x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spike(w: usize, at: (usize, usize)) -> Stamp {
        let mut px = vec![0.0; w * w];
        px[at.0 * w + at.1] = 100.0;
        Stamp::new(w, w, px)
    }

    fn argmax(s: &Stamp) -> (usize, usize) {
        let i = s
            .pixels
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        (i / s.width, i % s.width)
    }

    #[test]
    fn an_image_already_north_up_is_left_as_it_is() {
        let cd = [[-0.2 / 3600.0, 0.0], [0.0, 0.2 / 3600.0]];
        let o = Orientation::north_up(&cd).expect("orientation");
        let s = spike(31, (20, 7));
        let out = o.apply(&s);
        assert_eq!(argmax(&out.stamp), (20, 7));
        assert!(out.outside.iter().all(|o| !o));
        assert_eq!(out.source_pixel(20, 7), Some((20, 7)));
    }

    #[test]
    fn a_flipped_image_is_flipped_back() {
        // East right (RA grows with x): the output mirrors left-right.
        let cd = [[0.2 / 3600.0, 0.0], [0.0, 0.2 / 3600.0]];
        let out = Orientation::north_up(&cd)
            .expect("orientation")
            .apply(&spike(31, (15, 25)));
        assert_eq!(argmax(&out.stamp), (15, 5));
    }

    #[test]
    fn rotpa_gives_the_frame_rubin_writes() {
        // The LSSTCam cutout of diaSource 169813006395375676: ROTPA and its PC matrix.
        let cd = cd_from_rotpa(188.810889746172, 0.2);
        let wcs = [
            [5.4919164617292e-05, -8.5445859603622e-06],
            [-8.5396495879659e-06, -5.4883420410238e-05],
        ];
        // Within 0.1% of a pixel's side: the header's ROTPA is rounded from the same pointing.
        let pixel = 0.2 / 3600.0;
        for (a, b) in cd.iter().flatten().zip(wcs.iter().flatten()) {
            assert!((a - b).abs() < 1e-3 * pixel, "{cd:?} vs {wcs:?}");
        }
        let (north, east) = sky_directions(&wcs).expect("directions");
        // North points down and a little left on the raw cutout; East right.
        assert!(north[1] < -0.98 && north[0] < 0.0, "{north:?}");
        assert!(east[0] > 0.98, "{east:?}");
        assert!((arcsec_per_pixel(&wcs) - 0.2).abs() < 0.002);
    }

    #[test]
    fn broken_frames_are_refused() {
        assert_eq!(
            Orientation::north_up(&[[0.0, 0.0], [0.0, 0.0]]),
            Err(OrientError::Singular(0.0))
        );
        assert_eq!(
            Orientation::north_up(&[[f64::NAN, 0.0], [0.0, 1.0]]),
            Err(OrientError::NotFinite)
        );
    }
}
