//! Model preprocessing, exactly as the ALeRCE stamp classifier was trained: the three
//! cutouts stacked as channels (science, reference, difference), a centre crop, per-channel
//! min-max to [0, 1] over the non-NaN pixels, NaN -> 0; and the rotations and dihedral
//! transforms that the rotation-invariant encoder pools over.
//!
//! Images are kept in FITS row order (row 0 = South), unflipped, because that is what the
//! trained weights saw. Layout of a model input: `[height][width][channel]` (HWC).

use crate::alert::{Candidate, CutoutKind, Cutouts, Stamp};
use serde::Serialize;

/// ZTF's cutout side in pixels.
pub const FULL_STAMP: usize = 63;
/// ALeRCE's crop side.
pub const ALERCE_CROP: usize = 21;
/// Science, reference (template), difference.
pub const CHANNELS: usize = 3;
/// A ZTF CCD quadrant is 3072 x 3080 pixels; a cutout shorter than 63 px lies at its edge.
const QUADRANT_WIDTH: f64 = 3072.0;
const QUADRANT_HEIGHT: f64 = 3080.0;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StampError {
    #[error("{0} cutout missing")]
    Missing(&'static str),
    #[error("{cutout} cutout is {width}x{height}, larger than {full}x{full}")]
    TooLarge {
        cutout: &'static str,
        width: usize,
        height: usize,
        full: usize,
    },
    #[error("crop of {crop} px does not fit a {full} px stamp")]
    BadCrop { crop: usize, full: usize },
    #[error("{cutout} cutout is {width}x{height}, not square")]
    NotSquare {
        cutout: &'static str,
        width: usize,
        height: usize,
    },
}

/// Where NaN rows or columns were added to bring an edge stamp to full size. "Start" is
/// the row-0 / column-0 side of the FITS array (South / the low-x side of the CCD).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EdgePadding {
    pub rows_at_start: usize,
    pub rows_at_end: usize,
    pub cols_at_start: usize,
    pub cols_at_end: usize,
}

impl EdgePadding {
    pub fn is_none(&self) -> bool {
        *self == Self::default()
    }
}

/// Splits `missing` pixels between the two sides: a cutout is cut short on the side where
/// the source sits near the CCD edge. The FITS header of a ZTF cutout carries no WCS, so the
/// side comes from the candidate's CCD position (`xpos`/`ypos`); without it, the padding
/// is split evenly.
fn split_missing(missing: usize, pos: Option<f64>, extent: f64) -> (usize, usize) {
    match pos {
        Some(p) if p.is_finite() && p < extent / 2.0 => (missing, 0),
        Some(p) if p.is_finite() => (0, missing),
        _ => (missing / 2, missing - missing / 2),
    }
}

/// Pads a stamp smaller than `full` x `full` with NaN on its missing sides, so that the
/// source stays at the centre pixel. Full-size stamps come back unchanged.
pub fn pad_to_full(
    stamp: &Stamp,
    candidate: Option<&Candidate>,
    full: usize,
    cutout: &'static str,
) -> Result<(Stamp, EdgePadding), StampError> {
    if stamp.width > full || stamp.height > full {
        return Err(StampError::TooLarge {
            cutout,
            width: stamp.width,
            height: stamp.height,
            full,
        });
    }
    if stamp.width == full && stamp.height == full {
        return Ok((stamp.clone(), EdgePadding::default()));
    }
    let (rows_at_start, rows_at_end) = split_missing(
        full - stamp.height,
        candidate.and_then(|c| c.ypos),
        QUADRANT_HEIGHT,
    );
    let (cols_at_start, cols_at_end) = split_missing(
        full - stamp.width,
        candidate.and_then(|c| c.xpos),
        QUADRANT_WIDTH,
    );
    let mut pixels = vec![f32::NAN; full * full];
    for r in 0..stamp.height {
        let dst = (r + rows_at_start) * full + cols_at_start;
        pixels[dst..dst + stamp.width]
            .copy_from_slice(&stamp.pixels[r * stamp.width..(r + 1) * stamp.width]);
    }
    Ok((
        Stamp::new(full, full, pixels),
        EdgePadding {
            rows_at_start,
            rows_at_end,
            cols_at_start,
            cols_at_end,
        },
    ))
}

/// The centre `crop` x `crop` of a square `full` x `full` image (rows and columns
/// `(full - crop) / 2 ..`; for ZTF and ALeRCE, 21..42).
pub fn crop_center(pixels: &[f32], full: usize, crop: usize) -> Vec<f32> {
    let start = (full - crop) / 2;
    let mut out = Vec::with_capacity(crop * crop);
    for r in start..start + crop {
        out.extend_from_slice(&pixels[r * full + start..r * full + start + crop]);
    }
    out
}

/// In place: `x -= nanmin(x); x /= nanmax(x); NaN -> 0`, in f32 like numpy on float32 data.
/// A constant channel gives 0/0 = NaN and so becomes all zeros, as in the original.
pub fn minmax_normalize(values: &mut [f32]) {
    let min = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold(f32::INFINITY, |m, &v| m.min(v));
    if min.is_infinite() && min > 0.0 {
        values.fill(0.0);
        return;
    }
    let mut max = f32::NEG_INFINITY;
    for v in values.iter_mut() {
        *v -= min;
        if !v.is_nan() {
            max = max.max(*v);
        }
    }
    for v in values.iter_mut() {
        *v /= max;
        if v.is_nan() {
            *v = 0.0;
        }
    }
}

/// The model's view of one alert: `[crop][crop][3]` floats in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelStamps {
    pub size: usize,
    pub pixels: Vec<f32>,
    pub padding: EdgePadding,
}

/// Stacks and preprocesses an alert's cutouts for the models: edge stamps padded with NaN,
/// centre crop, per-channel min-max, NaN -> 0.
pub fn model_stamps(
    cutouts: &Cutouts,
    candidate: Option<&Candidate>,
    crop: usize,
) -> Result<ModelStamps, StampError> {
    if crop == 0 || crop > FULL_STAMP {
        return Err(StampError::BadCrop {
            crop,
            full: FULL_STAMP,
        });
    }
    let mut pixels = vec![0f32; crop * crop * CHANNELS];
    let mut padding = EdgePadding::default();
    for (ch, kind) in CutoutKind::ALL.into_iter().enumerate() {
        let stamp = cutouts.get(kind).ok_or(StampError::Missing(kind.field()))?;
        let (full, pad) = pad_to_full(stamp, candidate, FULL_STAMP, kind.field())?;
        if !pad.is_none() {
            padding = pad;
        }
        let mut channel = crop_center(&full.pixels, FULL_STAMP, crop);
        minmax_normalize(&mut channel);
        for (i, v) in channel.into_iter().enumerate() {
            pixels[i * CHANNELS + ch] = v;
        }
    }
    Ok(ModelStamps {
        size: crop,
        pixels,
        padding,
    })
}

/// An LSST alert's cutouts for the models: the image planes (nJy) of science, template
/// and difference stacked as channels, the centre `crop` of each, per-channel min-max,
/// NaN -> 0, as for ZTF. The cutouts are read as the producer wrote them (Rubin's are not
/// North up; the encoder pools over rotations and training draws flips), at Rubin's
/// 0.2"/px: a model trained on them reads LSST stamps only (its header says so).
pub fn lsst_model_stamps(
    cutouts: &crate::alert::lsst::LsstCutouts,
    crop: usize,
) -> Result<ModelStamps, StampError> {
    let mut pixels = vec![0f32; crop * crop * CHANNELS];
    for (ch, kind) in CutoutKind::ALL.into_iter().enumerate() {
        let image = &cutouts
            .get(kind)
            .ok_or(StampError::Missing(kind.field()))?
            .image;
        if image.width != image.height || image.pixels.len() != image.width * image.height {
            return Err(StampError::NotSquare {
                cutout: kind.field(),
                width: image.width,
                height: image.height,
            });
        }
        if crop == 0 || crop > image.width {
            return Err(StampError::BadCrop {
                crop,
                full: image.width,
            });
        }
        let mut channel = crop_center(&image.pixels, image.width, crop);
        minmax_normalize(&mut channel);
        for (i, v) in channel.into_iter().enumerate() {
            pixels[i * CHANNELS + ch] = v;
        }
    }
    Ok(ModelStamps {
        size: crop,
        pixels,
        padding: EdgePadding::default(),
    })
}

/// One of the 8 symmetries of the square: an optional left-right flip, then `rot90`
/// quarter turns counter-clockwise (`np.rot90` / `tf.image.rot90` on the image axes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Dihedral {
    pub flip: bool,
    pub rot90: u8,
}

impl Dihedral {
    pub const IDENTITY: Dihedral = Dihedral {
        flip: false,
        rot90: 0,
    };

    /// The 4 rotations, in ALeRCE's order k = 0, 1, 2, 3.
    pub fn rotations() -> [Dihedral; 4] {
        [0, 1, 2, 3].map(|k| Dihedral {
            flip: false,
            rot90: k,
        })
    }

    /// All 8 transforms: the 4 rotations, then the 4 rotations of the flipped image.
    pub fn all() -> [Dihedral; 8] {
        let mut out = [Self::IDENTITY; 8];
        for (i, t) in out.iter_mut().enumerate() {
            *t = Dihedral {
                flip: i >= 4,
                rot90: (i % 4) as u8,
            };
        }
        out
    }

    pub fn label(&self) -> String {
        let deg = self.rot90 as u32 * 90;
        if self.flip {
            format!("flip + {deg}°")
        } else {
            format!("{deg}°")
        }
    }

    /// Applies the transform to a square `[n][n][channels]` image.
    pub fn apply(&self, image: &[f32], n: usize, channels: usize) -> Vec<f32> {
        let mut out = vec![0f32; image.len()];
        let last = n - 1;
        for i in 0..n {
            for j in 0..n {
                // Source pixel of output (i, j) under rot90^k (counter-clockwise).
                let (r, c) = match self.rot90 % 4 {
                    0 => (i, j),
                    1 => (j, last - i),
                    2 => (last - i, last - j),
                    _ => (last - j, i),
                };
                let c = if self.flip { last - c } else { c };
                let src = (r * n + c) * channels;
                let dst = (i * n + j) * channels;
                out[dst..dst + channels].copy_from_slice(&image[src..src + channels]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3x3 single-channel image whose pixel values are their own indices.
    fn ramp() -> Vec<f32> {
        (0..9).map(|v| v as f32).collect()
    }

    #[test]
    fn rot90_turns_counter_clockwise_like_numpy() {
        // np.rot90([[0,1,2],[3,4,5],[6,7,8]]) == [[2,5,8],[1,4,7],[0,3,6]]
        let r = Dihedral {
            flip: false,
            rot90: 1,
        }
        .apply(&ramp(), 3, 1);
        assert_eq!(r, vec![2., 5., 8., 1., 4., 7., 0., 3., 6.]);
        let r2 = Dihedral {
            flip: false,
            rot90: 2,
        }
        .apply(&ramp(), 3, 1);
        assert_eq!(r2, vec![8., 7., 6., 5., 4., 3., 2., 1., 0.]);
        let r3 = Dihedral {
            flip: false,
            rot90: 3,
        }
        .apply(&ramp(), 3, 1);
        assert_eq!(r3, vec![6., 3., 0., 7., 4., 1., 8., 5., 2.]);
    }

    #[test]
    fn the_eight_dihedral_transforms_are_distinct_and_keep_channels_together() {
        let mut image = Vec::new();
        for v in 0..9 {
            image.extend([v as f32, 100.0 + v as f32]);
        }
        let outs: Vec<Vec<f32>> = Dihedral::all()
            .iter()
            .map(|t| t.apply(&image, 3, 2))
            .collect();
        for (i, a) in outs.iter().enumerate() {
            for b in &outs[i + 1..] {
                assert_ne!(a, b);
            }
            for px in a.chunks(2) {
                assert_eq!(px[1], px[0] + 100.0);
            }
        }
        // Flip then rotate by 2 is a vertical flip.
        let vflip = Dihedral {
            flip: true,
            rot90: 2,
        }
        .apply(&ramp(), 3, 1);
        assert_eq!(vflip, vec![6., 7., 8., 3., 4., 5., 0., 1., 2.]);
    }

    #[test]
    fn minmax_maps_to_unit_range_and_nan_to_zero() {
        let mut v = vec![2.0, f32::NAN, 4.0, 6.0];
        minmax_normalize(&mut v);
        assert_eq!(v, vec![0.0, 0.0, 0.5, 1.0]);
        let mut constant = vec![3.0; 4];
        minmax_normalize(&mut constant);
        assert_eq!(constant, vec![0.0; 4], "0/0 becomes 0 as in the original");
        let mut all_nan = vec![f32::NAN; 4];
        minmax_normalize(&mut all_nan);
        assert_eq!(all_nan, vec![0.0; 4]);
    }

    #[test]
    fn crop_takes_the_centre() {
        let full: Vec<f32> = (0..63 * 63).map(|v| v as f32).collect();
        let c = crop_center(&full, 63, 21);
        assert_eq!(c.len(), 441);
        assert_eq!(c[0], (21 * 63 + 21) as f32);
        assert_eq!(c[440], (41 * 63 + 41) as f32);
    }

    #[test]
    fn edge_stamps_are_padded_on_the_side_of_the_ccd_edge() {
        let stamp = Stamp::new(63, 48, vec![1.0; 63 * 48]);
        let near_top = Candidate {
            ypos: Some(3070.0),
            xpos: Some(1000.0),
            ..Default::default()
        };
        let (full, pad) = pad_to_full(&stamp, Some(&near_top), 63, "test").expect("pads");
        assert_eq!((pad.rows_at_start, pad.rows_at_end), (0, 15));
        assert!(full.pixels[..48 * 63].iter().all(|v| *v == 1.0));
        assert!(full.pixels[48 * 63..].iter().all(|v| v.is_nan()));
        let unknown = pad_to_full(&stamp, None, 63, "test").expect("pads").1;
        assert_eq!((unknown.rows_at_start, unknown.rows_at_end), (7, 8));
        let big = Stamp::new(64, 64, vec![0.0; 64 * 64]);
        assert!(pad_to_full(&big, None, 63, "test").is_err());
    }
}
