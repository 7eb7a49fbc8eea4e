//! Cutout decoding: gzip (libdeflate) then FITS (cfitsio through the `fitsio` crate), both
//! from memory. cfitsio opens the decompressed bytes as an in-memory file (`ffomem`), so no
//! temporary file is ever written.

use super::types::Stamp;
use fitsio::hdu::HduInfo;
use fitsio::{FileOpenMode, FitsFile};
use libdeflater::{DecompressionError, Decompressor};
use std::cell::RefCell;
use std::ffi::c_void;

/// Cutouts are about 20 kB; anything claiming more than this is corrupt, and refusing it
/// keeps a flipped size field from allocating gigabytes.
const MAX_FITS_BYTES: usize = 64 << 20;
/// The largest stamp side accepted. ZTF writes 63x63; other surveys' cutouts can be larger.
const MAX_STAMP_SIDE: usize = 1024;

thread_local! {
    static DECOMPRESSOR: RefCell<Decompressor> = RefCell::new(Decompressor::new());
}

/// Gunzips a whole gzip member. Data that already is a FITS file passes through, as some
/// brokers store cutouts uncompressed.
pub fn gunzip(data: &[u8]) -> Result<Vec<u8>, String> {
    if data.starts_with(b"SIMPLE") {
        return Ok(data.to_vec());
    }
    if data.len() < 18 || data[0] != 0x1f || data[1] != 0x8b {
        return Err(format!(
            "not gzip data (starts with {:02x?})",
            &data[..data.len().min(4)]
        ));
    }
    // The gzip trailer's ISIZE is the uncompressed length modulo 2^32.
    let n = data.len();
    let isize = u32::from_le_bytes([data[n - 4], data[n - 3], data[n - 2], data[n - 1]]) as usize;
    if isize == 0 || isize > MAX_FITS_BYTES {
        return Err(format!(
            "gzip trailer gives an implausible size of {isize} bytes (truncated or corrupt)"
        ));
    }
    let mut out = vec![0u8; isize];
    let written = DECOMPRESSOR.with(|d| d.borrow_mut().gzip_decompress(data, &mut out));
    match written {
        Ok(w) if w == isize => Ok(out),
        Ok(w) => Err(format!(
            "gzip: {w} bytes decompressed, trailer says {isize}"
        )),
        Err(DecompressionError::BadData) => Err("gzip: corrupt or truncated stream".into()),
        Err(DecompressionError::InsufficientSpace) => {
            Err("gzip: stream longer than its trailer says (corrupt)".into())
        }
    }
}

/// Decodes a (gzipped) FITS cutout into a 2-D float image.
pub fn decode_cutout(stamp_data: &[u8]) -> Result<Stamp, String> {
    let fits = gunzip(stamp_data)?;
    decode_fits_image(&fits)
}

fn cfitsio_error(status: i32) -> String {
    let mut buf = [0 as std::ffi::c_char; 31];
    // SAFETY: ffgerr writes at most 30 characters plus the terminator.
    unsafe { fitsio::sys::ffgerr(status, buf.as_mut_ptr()) };
    let msg = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    format!("cfitsio status {status}: {}", msg.to_string_lossy())
}

/// Decodes the primary image of a FITS file held in memory.
pub fn decode_fits_image(fits: &[u8]) -> Result<Stamp, String> {
    with_fits_in_memory(fits, read_primary_image)
}

/// Opens a FITS file held in memory with cfitsio and hands it to `read`. The survey readers
/// share this so that the unsafe opening lives in one place.
pub(crate) fn with_fits_in_memory<T>(
    fits: &[u8],
    read: impl FnOnce(&mut FitsFile) -> Result<T, String>,
) -> Result<T, String> {
    if fits.len() < 2880 || !fits.starts_with(b"SIMPLE") {
        return Err(format!(
            "FITS: not a FITS file ({} bytes, a FITS file is at least 2880)",
            fits.len()
        ));
    }
    // cfitsio keeps pointers to these two for as long as the file is open, so they must
    // outlive `file` (dropped explicitly below). Read-only mode never writes through them.
    let mut buffer = fits.as_ptr() as *mut c_void;
    let mut size = fits.len();
    let mut fptr = std::ptr::null_mut();
    let mut status = 0;
    // SAFETY: the buffer is valid for `size` bytes while the file is open; READONLY (0)
    // with no realloc function means cfitsio neither writes nor frees it.
    unsafe {
        fitsio::sys::ffomem(
            &mut fptr,
            c"mem://stamp".as_ptr(),
            0,
            &mut buffer,
            &mut size,
            0,
            None,
            &mut status,
        );
    }
    if status != 0 || fptr.is_null() {
        return Err(format!("FITS: cannot open ({})", cfitsio_error(status)));
    }
    // SAFETY: fptr is an open cfitsio file; FitsFile takes ownership and closes it on drop.
    let mut file = unsafe { FitsFile::from_raw(fptr, FileOpenMode::READONLY) }
        .map_err(|e| format!("FITS: {e}"))?;
    let result = read(&mut file);
    drop(file);
    result
}

fn read_primary_image(file: &mut FitsFile) -> Result<Stamp, String> {
    let hdu = file.primary_hdu().map_err(|e| format!("FITS: {e}"))?;
    read_image_hdu(file, &hdu, "primary HDU")
}

/// Reads one 2-D image HDU as f32 pixels (float64 data, such as a PSF, is narrowed).
pub(crate) fn read_image_hdu(
    file: &mut FitsFile,
    hdu: &fitsio::hdu::FitsHdu,
    what: &str,
) -> Result<Stamp, String> {
    let (height, width) = match &hdu.info {
        HduInfo::ImageInfo { shape, .. } if shape.len() == 2 => (shape[0], shape[1]),
        HduInfo::ImageInfo { shape, .. } => {
            return Err(format!(
                "FITS: {what} has {} axes {:?}, a stamp needs 2",
                shape.len(),
                shape
            ))
        }
        _ => return Err(format!("FITS: {what} is not an image")),
    };
    if width == 0 || height == 0 || width > MAX_STAMP_SIDE || height > MAX_STAMP_SIDE {
        return Err(format!(
            "FITS: image of {width}x{height} pixels is not a cutout stamp"
        ));
    }
    let pixels: Vec<f32> = hdu
        .read_image(file)
        .map_err(|e| format!("FITS: reading pixels: {e}"))?;
    if pixels.len() != width * height {
        return Err(format!(
            "FITS: {} pixels read for a {width}x{height} image",
            pixels.len()
        ));
    }
    Ok(Stamp::new(width, height, pixels))
}
