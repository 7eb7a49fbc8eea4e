//! LSST cutouts: plain FITS (no gzip, no `{fileName, stampData}` wrapper) with three HDUs,
//! the image in nJy (`PRIMARY`), its variance (`UNCERT`) and the PSF kernel (`PSFIMAGE`).

use super::types::{CutoutWcs, LsstCutout};
use crate::alert::cutout::{read_image_hdu, with_fits_in_memory};
use crate::alert::gunzip;
use crate::alert::CutoutError;
use fitsio::hdu::FitsHdu;
use fitsio::FitsFile;
use std::sync::Arc;

/// The HDU names Rubin writes (lsst/ap_association `packageAlerts.py`).
pub const VARIANCE_HDU: &str = "UNCERT";
pub const PSF_HDU: &str = "PSFIMAGE";

/// A cutout read, and what was missing from it: a cutout whose image reads is kept even
/// when its variance or PSF HDU is absent or unreadable, and each such gap is reported.
#[derive(Debug)]
pub struct DecodedCutout {
    pub cutout: LsstCutout,
    pub problems: Vec<CutoutError>,
}

/// Decodes one cutout field. Gzipped data is accepted too, in case a producer compresses.
pub fn decode_lsst_cutout(data: &[u8]) -> Result<DecodedCutout, CutoutError> {
    if data.starts_with(&[0x1f, 0x8b]) {
        let fits = gunzip(data)?;
        return with_fits_in_memory(&fits, read_cutout);
    }
    with_fits_in_memory(data, read_cutout)
}

fn read_cutout(file: &mut FitsFile) -> Result<DecodedCutout, CutoutError> {
    let primary = file
        .primary_hdu()
        .map_err(|e| CutoutError::Fits(Arc::new(e)))?;
    let image = read_image_hdu(file, &primary, "PRIMARY HDU")?;
    let unit = primary
        .read_key::<String>(file, "BUNIT")
        .ok()
        .map(|u| u.trim().to_string());
    let rotpa = primary.read_key::<f64>(file, "ROTPA").ok();
    let wcs = read_wcs(file, &primary);
    let corner = match (
        primary.read_key::<i64>(file, "CUTMINX"),
        primary.read_key::<i64>(file, "CUTMINY"),
    ) {
        (Ok(x), Ok(y)) => Some([x, y]),
        _ => None,
    };
    let mut problems = Vec::new();
    let mut extension = |hdu: &'static str, what: &'static str| match file.hdu(hdu) {
        Ok(found) => match read_image_hdu(&mut *file, &found, hdu) {
            Ok(stamp) => Some(stamp),
            Err(e) => {
                problems.push(CutoutError::Extension {
                    what,
                    hdu,
                    problem: Box::new(e),
                });
                None
            }
        },
        Err(e) => {
            problems.push(CutoutError::MissingExtension {
                what,
                hdu,
                source: Arc::new(e),
            });
            None
        }
    };
    let variance = extension(VARIANCE_HDU, "variance");
    let psf = extension(PSF_HDU, "PSF");
    if let Some(v) = &variance {
        if (v.width, v.height) != (image.width, image.height) {
            problems.push(CutoutError::VarianceShape {
                variance: v.shape_label(),
                image: image.shape_label(),
            });
        }
    }
    Ok(DecodedCutout {
        cutout: LsstCutout {
            image,
            variance,
            psf,
            unit,
            rotpa,
            wcs,
            corner,
        },
        problems,
    })
}

fn read_wcs(file: &mut FitsFile, hdu: &FitsHdu) -> Option<CutoutWcs> {
    let mut key = |name: &str| hdu.read_key::<f64>(&mut *file, name).ok();
    let crpix = [key("CRPIX1")?, key("CRPIX2")?];
    let crval = [key("CRVAL1")?, key("CRVAL2")?];
    // PC is in degrees per pixel with CDELT = 1 in Rubin's cutouts; honour CDELT anyway.
    let cdelt = [key("CDELT1").unwrap_or(1.0), key("CDELT2").unwrap_or(1.0)];
    let pc = [
        [key("PC1_1")?, key("PC1_2").unwrap_or(0.0)],
        [key("PC2_1").unwrap_or(0.0), key("PC2_2")?],
    ];
    Some(CutoutWcs {
        crpix,
        crval,
        cd: [
            [pc[0][0] * cdelt[0], pc[0][1] * cdelt[0]],
            [pc[1][0] * cdelt[1], pc[1][1] * cdelt[1]],
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_cutout(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/lsst/cutouts")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn real_cutout_has_image_variance_psf_and_wcs() {
        let bytes = shared_cutout("fink-v10_0-LSSTCam_169813006395375676_cutoutScience.fits");
        let decoded = decode_lsst_cutout(&bytes).expect("cutout");
        assert!(decoded.problems.is_empty(), "{:?}", decoded.problems);
        let c = decoded.cutout;
        assert_eq!((c.image.width, c.image.height), (30, 30));
        let v = c.variance.expect("variance");
        assert_eq!((v.width, v.height), (30, 30));
        assert!(v.pixels.iter().all(|x| *x >= 0.0 || x.is_nan()));
        let psf = c.psf.expect("psf");
        assert_eq!((psf.width, psf.height), (41, 41));
        let sum: f64 = psf.pixels.iter().map(|x| *x as f64).sum();
        assert!((sum - 1.0).abs() < 0.05, "PSF sums to {sum}");
        assert_eq!(c.unit.as_deref(), Some("nJy"));
        assert!((c.rotpa.expect("ROTPA") - 188.810889746172).abs() < 1e-9);
        let wcs = c.wcs.expect("wcs");
        assert!((wcs.crval[0] - 149.93624565231).abs() < 1e-9);
        assert!((wcs.cd[0][0] - 5.4919164617292e-05).abs() < 1e-15);
        assert_eq!(c.corner, Some([473, 2611]));
    }

    #[test]
    fn cutout_without_psf_hdu_keeps_image_and_says_what_is_missing() {
        let bytes = shared_cutout("boom-v7_1-HSC_25409136044802067_cutoutDifference.fits");
        // PRIMARY and UNCERT of a 30x30 float32 cutout are 8640 bytes each.
        let decoded = decode_lsst_cutout(&bytes[..17280]).expect("image still reads");
        assert!(decoded.cutout.variance.is_some());
        assert!(decoded.cutout.psf.is_none());
        assert_eq!(decoded.problems.len(), 1, "{:?}", decoded.problems);
        assert!(
            decoded.problems[0].to_string().contains("PSFIMAGE"),
            "{:?}",
            decoded.problems
        );
    }
}
