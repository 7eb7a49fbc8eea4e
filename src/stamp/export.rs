//! Stamps out of the app: FITS (the raw float pixels, through cfitsio, for other tools) and
//! PNG (as displayed, North up, at a chosen integer scale, with a 10 arcsec scale bar).

use crate::alert::Stamp;
use crate::stamp::display::{render_rgba, DisplaySettings};
use std::path::Path;

/// ZTF's pixel scale.
pub const ARCSEC_PER_PIXEL: f64 = 1.01;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {problem}")]
    Write { path: String, problem: String },
}

fn err(path: &Path, problem: impl ToString) -> ExportError {
    ExportError::Write {
        path: path.display().to_string(),
        problem: problem.to_string(),
    }
}

/// A header card's value: numbers stay numbers, so that other tools read a WCS from them.
#[derive(Debug, Clone, PartialEq)]
pub enum Card {
    Text(String),
    Real(f64),
    Int(i64),
}

impl From<String> for Card {
    fn from(v: String) -> Self {
        Card::Text(v)
    }
}

impl From<&str> for Card {
    fn from(v: &str) -> Self {
        Card::Text(v.to_string())
    }
}

impl From<f64> for Card {
    fn from(v: f64) -> Self {
        Card::Real(v)
    }
}

impl From<i64> for Card {
    fn from(v: i64) -> Self {
        Card::Int(v)
    }
}

/// Writes the stamp's pixels as a FITS image (FITS row order, as the alert had them), with
/// the given header cards (key, value, comment). Written beside the target, then renamed.
pub fn write_fits(
    stamp: &Stamp,
    path: &Path,
    cards: &[(&str, Card, &str)],
) -> Result<(), ExportError> {
    use fitsio::images::{ImageDescription, ImageType};
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".stampseq-")
        .suffix(".fits")
        .tempfile_in(dir)
        .map_err(|e| err(path, e))?;
    let tmp_path = tmp.path().to_path_buf();
    // cfitsio creates the file itself: free the name first.
    drop(tmp);
    if tmp_path.to_str().is_none() {
        return Err(err(
            path,
            "the folder name is not valid UTF-8, which cfitsio needs",
        ));
    }
    let description = ImageDescription {
        data_type: ImageType::Float,
        dimensions: &[stamp.height, stamp.width],
    };
    let result = (|| -> Result<(), fitsio::errors::Error> {
        let mut file = fitsio::FitsFile::create(&tmp_path)
            .with_custom_primary(&description)
            .open()?;
        let hdu = file.primary_hdu()?;
        hdu.write_image(&mut file, &stamp.pixels)?;
        for (key, value, comment) in cards {
            match value {
                Card::Text(v) => hdu.write_key(&mut file, key, (v.as_str(), *comment))?,
                Card::Real(v) => hdu.write_key(&mut file, key, (*v, *comment))?,
                Card::Int(v) => hdu.write_key(&mut file, key, (*v, *comment))?,
            }
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(err(path, format!("FITS: {e}")));
    }
    std::fs::rename(&tmp_path, path).map_err(|e| err(path, e))
}

/// Renders the stamp as displayed (North up) at `scale` screen pixels per stamp pixel, with a
/// 10 arcsec scale bar in the lower left, and writes it as PNG.
pub fn write_png(
    stamp: &Stamp,
    settings: &DisplaySettings,
    scale: u32,
    path: &Path,
) -> Result<(), ExportError> {
    write_png_at(stamp, settings, scale, ARCSEC_PER_PIXEL, path)
}

/// [`write_png`] for a stamp of `arcsec_per_pixel` (LSST: 0.2), whose scale bar is the
/// longest of 10, 5, 2 or 1 arcsec that fits in half the stamp.
pub fn write_png_at(
    stamp: &Stamp,
    settings: &DisplaySettings,
    scale: u32,
    arcsec_per_pixel: f64,
    path: &Path,
) -> Result<(), ExportError> {
    let scale = scale.clamp(1, 32);
    let rgba = render_rgba(stamp, settings);
    let (w, h) = (stamp.width as u32, stamp.height as u32);
    let mut image = image::RgbaImage::new(w * scale, h * scale);
    for (x, y, px) in image.enumerate_pixels_mut() {
        let i = (((y / scale) * w + x / scale) * 4) as usize;
        *px = image::Rgba([rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]]);
    }
    let arcsec = [10.0, 5.0, 2.0, 1.0]
        .into_iter()
        .find(|a| a / arcsec_per_pixel <= stamp.width as f64 / 2.0)
        .unwrap_or(1.0);
    let bar = ((arcsec / arcsec_per_pixel) * scale as f64).round() as u32;
    let margin = 2 * scale;
    let thickness = scale.max(2);
    let y0 = (h * scale).saturating_sub(margin + thickness);
    for x in margin..(margin + bar).min(w * scale) {
        for y in y0..(y0 + thickness).min(h * scale) {
            image.put_pixel(x, y, image::Rgba([255, 210, 80, 255]));
        }
    }
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| err(path, e))?;
    crate::atomic::write_atomic(path, &bytes).map_err(|e| err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_round_trips_through_cfitsio_and_png_has_the_scaled_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pixels: Vec<f32> = (0..63 * 48).map(|v| v as f32 * 0.5).chain([]).collect();
        let mut stamp = Stamp::new(63, 48, pixels);
        stamp.pixels[5] = f32::NAN;
        let fits = dir.path().join("s.fits");
        write_fits(
            &stamp,
            &fits,
            &[("OBJECT", "ZTF21abiuvdk".into(), "objectId")],
        )
        .expect("fits");
        let back =
            crate::alert::decode_fits_image(&std::fs::read(&fits).expect("read")).expect("decode");
        assert_eq!((back.width, back.height), (63, 48));
        assert!(back.pixels[5].is_nan());
        assert_eq!(back.pixels[6..], stamp.pixels[6..]);

        let png = dir.path().join("s.png");
        write_png(&stamp, &DisplaySettings::science(), 4, &png).expect("png");
        let img = image::open(&png).expect("decodes").to_rgba8();
        assert_eq!(img.dimensions(), (252, 192));
    }
}
