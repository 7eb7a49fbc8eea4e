//! Cutout decoding: gzip (libdeflate) then FITS (cfitsio through the `fitsio` crate), both
//! from memory. cfitsio opens the decompressed bytes as an in-memory file (`ffomem`), so no
//! temporary file is ever written. The plainest image (ZTF's: one 2-D HDU of unscaled
//! 32-bit floats) is read here without cfitsio, bit for bit what cfitsio gives.

use super::error::CutoutError;
use super::types::Stamp;
use fitsio::hdu::HduInfo;
use fitsio::{FileOpenMode, FitsFile};
use libdeflater::{DecompressionError, Decompressor};
use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::Arc;

/// Cutouts are about 20 kB; anything claiming more than this is corrupt, and refusing it
/// keeps a flipped size field from allocating gigabytes.
const MAX_FITS_BYTES: usize = 64 << 20;
/// The largest stamp side accepted. ZTF writes 63x63; other surveys' cutouts can be larger.
const MAX_STAMP_SIDE: usize = 1024;

/// cfitsio's error, as a cutout's.
fn fits_error(e: fitsio::errors::Error) -> CutoutError {
    CutoutError::Fits(Arc::new(e))
}

thread_local! {
    static DECOMPRESSOR: RefCell<Decompressor> = RefCell::new(Decompressor::new());
    /// Each thread's inflated cutout, reused: a new zeroed buffer per cutout cost more
    /// than a tenth of reading a ZTF alert.
    static INFLATED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Gunzips a whole gzip member. Data that already is a FITS file passes through, as some
/// brokers store cutouts uncompressed.
pub fn gunzip(data: &[u8]) -> Result<Vec<u8>, CutoutError> {
    if data.starts_with(b"SIMPLE") {
        return Ok(data.to_vec());
    }
    let mut out = Vec::new();
    gunzip_into(data, &mut out)?;
    Ok(out)
}

/// Gunzips `data` into `out` (grown as needed, never shrunk), leaving the member's bytes
/// in `out[..n]`; returns `n`.
fn gunzip_into(data: &[u8], out: &mut Vec<u8>) -> Result<usize, CutoutError> {
    let isize = gzip_size(data)?;
    if out.len() < isize {
        out.resize(isize, 0);
    }
    let written = DECOMPRESSOR.with(|d| d.borrow_mut().gzip_decompress(data, &mut out[..isize]));
    match written {
        Ok(w) if w == isize => Ok(isize),
        Ok(written) => Err(CutoutError::ShortStream {
            written,
            size: isize,
        }),
        Err(DecompressionError::BadData) => Err(CutoutError::CorruptStream),
        Err(DecompressionError::InsufficientSpace) => Err(CutoutError::LongStream),
    }
}

/// The size a gzip member says it inflates to, if it is a gzip member of a plausible size.
fn gzip_size(data: &[u8]) -> Result<usize, CutoutError> {
    if data.len() < 18 || data[0] != 0x1f || data[1] != 0x8b {
        return Err(CutoutError::NotGzip {
            start: data[..data.len().min(4)].to_vec(),
        });
    }
    // The gzip trailer's ISIZE is the uncompressed length modulo 2^32.
    let n = data.len();
    let size = u32::from_le_bytes([data[n - 4], data[n - 3], data[n - 2], data[n - 1]]) as usize;
    if size == 0 || size > MAX_FITS_BYTES {
        return Err(CutoutError::ImplausibleSize { size });
    }
    Ok(size)
}

/// Decodes a (gzipped) FITS cutout into a 2-D float image.
pub fn decode_cutout(stamp_data: &[u8]) -> Result<Stamp, CutoutError> {
    if stamp_data.starts_with(b"SIMPLE") {
        return decode_fits_image(stamp_data);
    }
    INFLATED.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        let n = gunzip_into(stamp_data, &mut buffer)?;
        decode_fits_image(&buffer[..n])
    })
}

fn cfitsio_error(status: i32) -> CutoutError {
    let mut buf = [0 as std::ffi::c_char; 31];
    // SAFETY: ffgerr writes at most 30 characters plus the terminator.
    unsafe { fitsio::sys::ffgerr(status, buf.as_mut_ptr()) };
    let msg = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    CutoutError::Open {
        status,
        message: msg.to_string_lossy().into_owned(),
    }
}

/// Decodes the primary image of a FITS file held in memory.
pub fn decode_fits_image(fits: &[u8]) -> Result<Stamp, CutoutError> {
    if let Some(stamp) = plain_float_image(fits) {
        return Ok(stamp);
    }
    with_fits_in_memory(fits, read_primary_image)
}

/// The primary image of the plainest FITS file, read without cfitsio: a 2-D image of
/// 32-bit floats (`BITPIX = -32`, what ZTF writes), unscaled, all of its data present.
/// Anything else (another type, scaling, a third axis, a card that does not parse, data
/// cut short) is `None`, for cfitsio to read or to say what is wrong. The pixels are those
/// cfitsio gives (`fits_read_img` without null checking): big-endian floats, bit for bit.
fn plain_float_image(fits: &[u8]) -> Option<Stamp> {
    const BLOCK: usize = 2880;
    const CARD: usize = 80;
    /// Headers longer than this are left to cfitsio.
    const MAX_HEADER_BLOCKS: usize = 32;
    let (mut simple, mut bitpix, mut naxis) = (false, None, None);
    let (mut width, mut height) = (None, None);
    let mut header_end = None;
    for (i, card) in fits
        .chunks_exact(CARD)
        .take(MAX_HEADER_BLOCKS * BLOCK / CARD)
        .enumerate()
    {
        let key = &card[..8];
        if key == b"END     " {
            header_end = Some((i + 1) * CARD);
            break;
        }
        if &card[8..10] != b"= " {
            continue; // COMMENT, HISTORY, blank cards
        }
        let value = || {
            let text = std::str::from_utf8(&card[10..]).ok()?;
            Some(text.split('/').next()?.trim())
        };
        let integer = || value()?.parse::<i64>().ok();
        // The mandatory keywords, in the order the standard fixes.
        let mandatory: [&[u8]; 5] = [
            b"SIMPLE  ",
            b"BITPIX  ",
            b"NAXIS   ",
            b"NAXIS1  ",
            b"NAXIS2  ",
        ];
        if mandatory.get(i).is_some_and(|m| key != *m) {
            return None;
        }
        match key {
            b"SIMPLE  " => simple = value()? == "T",
            b"BITPIX  " => bitpix = Some(integer()?),
            b"NAXIS   " => naxis = Some(integer()?),
            b"NAXIS1  " => width = Some(usize::try_from(integer()?).ok()?),
            b"NAXIS2  " => height = Some(usize::try_from(integer()?).ok()?),
            b"BSCALE  " if value()?.parse::<f64>().ok()? != 1.0 => return None,
            b"BZERO   " if value()?.parse::<f64>().ok()? != 0.0 => return None,
            b"XTENSION" | b"GROUPS  " | b"PCOUNT  " | b"GCOUNT  " => return None,
            _ => {}
        }
    }
    let (width, height) = (width?, height?);
    if !simple || bitpix? != -32 || naxis? != 2 {
        return None;
    }
    if width == 0 || height == 0 || width > MAX_STAMP_SIDE || height > MAX_STAMP_SIDE {
        return None;
    }
    let start = header_end?.div_ceil(BLOCK) * BLOCK;
    let data = fits.get(start..start + width * height * 4)?;
    // Whole 4-byte arrays, which the compiler turns into vector byte swaps (`chunks_exact`
    // was not vectorised: 3 % of reading an alert with its stamps).
    let (words, _) = data.as_chunks::<4>();
    let pixels = words.iter().map(|w| f32::from_be_bytes(*w)).collect();
    Some(Stamp::new(width, height, pixels))
}

/// Opens a FITS file held in memory with cfitsio and hands it to `read`. The survey readers
/// share this so that the unsafe opening lives in one place.
pub(crate) fn with_fits_in_memory<T>(
    fits: &[u8],
    read: impl FnOnce(&mut FitsFile) -> Result<T, CutoutError>,
) -> Result<T, CutoutError> {
    if fits.len() < 2880 || !fits.starts_with(b"SIMPLE") {
        return Err(CutoutError::NotFits { length: fits.len() });
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
        return Err(cfitsio_error(status));
    }
    // SAFETY: fptr is an open cfitsio file; FitsFile takes ownership and closes it on drop.
    let mut file =
        unsafe { FitsFile::from_raw(fptr, FileOpenMode::READONLY) }.map_err(fits_error)?;
    let result = read(&mut file);
    drop(file);
    result
}

fn read_primary_image(file: &mut FitsFile) -> Result<Stamp, CutoutError> {
    let hdu = file.primary_hdu().map_err(fits_error)?;
    read_image_hdu(file, &hdu, "primary HDU")
}

/// Reads one 2-D image HDU as f32 pixels (float64 data, such as a PSF, is narrowed).
pub(crate) fn read_image_hdu(
    file: &mut FitsFile,
    hdu: &fitsio::hdu::FitsHdu,
    what: &str,
) -> Result<Stamp, CutoutError> {
    let (height, width) = match &hdu.info {
        HduInfo::ImageInfo { shape, .. } if shape.len() == 2 => (shape[0], shape[1]),
        HduInfo::ImageInfo { shape, .. } => {
            return Err(CutoutError::NotTwoAxes {
                hdu: what.to_string(),
                shape: shape.clone(),
            })
        }
        _ => {
            return Err(CutoutError::NotAnImage {
                hdu: what.to_string(),
            })
        }
    };
    if width == 0 || height == 0 || width > MAX_STAMP_SIDE || height > MAX_STAMP_SIDE {
        return Err(CutoutError::NotAStamp { width, height });
    }
    let pixels: Vec<f32> = hdu
        .read_image(file)
        .map_err(|e| CutoutError::Pixels(Arc::new(e)))?;
    if pixels.len() != width * height {
        return Err(CutoutError::PixelCount {
            read: pixels.len(),
            width,
            height,
        });
    }
    Ok(Stamp::new(width, height, pixels))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::container::for_each_record;
    use apache_avro::types::Value;

    /// The FITS bytes of every cutout of the first alert files of a shared ZTF folder.
    fn shared_fits(folder: &str, files: usize) -> Vec<Vec<u8>> {
        shared_stamp_data(folder, files)
            .iter()
            .map(|gz| gunzip(gz).expect("gunzip"))
            .collect()
    }

    /// The gzipped `stampData` of every cutout of the first alert files of a shared ZTF
    /// folder.
    fn shared_stamp_data(folder: &str, files: usize) -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/ztf")
            .join(folder);
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "avro"))
            .collect();
        paths.sort();
        let mut out = Vec::new();
        for path in paths.iter().take(files) {
            let bytes = std::fs::read(path).expect("read");
            for_each_record(&bytes, |_, value| {
                let Value::Record(fields) = value else { return };
                for (name, v) in fields {
                    if CutoutKind::from_field(&name).is_none() {
                        continue;
                    }
                    let v = crate::alert::avro_value::strip_union(v);
                    if let Value::Record(c) = v {
                        for (n, d) in c {
                            if let (true, Value::Bytes(b)) =
                                (n == "stampData", crate::alert::avro_value::strip_union(d))
                            {
                                out.push(b);
                            }
                        }
                    }
                }
            })
            .expect("avro");
        }
        out
    }

    use crate::alert::CutoutKind;

    #[test]
    fn plain_images_read_without_cfitsio_are_bit_for_bit_cfitsio_s() {
        let all = shared_fits("night-20231018", 40);
        assert!(all.len() >= 100, "{} cutouts", all.len());
        for fits in &all {
            let fast = plain_float_image(fits).expect("a plain float image");
            let slow = with_fits_in_memory(fits, read_primary_image).expect("cfitsio");
            assert_eq!((fast.width, fast.height), (slow.width, slow.height));
            let bits = |s: &Stamp| s.pixels.iter().map(|p| p.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&slow));
        }
    }

    #[test]
    fn anything_but_a_plain_float_image_is_left_to_cfitsio() {
        let fits = shared_fits("night-20231018", 1).remove(0);
        let header_end = 2880;
        let with_card = |at: usize, card: &str| {
            let mut f = fits.clone();
            f[at * 80..at * 80 + 80].copy_from_slice(format!("{card:<80}").as_bytes());
            f
        };
        // Cut short: whatever cfitsio makes of it, as before.
        assert!(plain_float_image(&fits[..header_end + 100]).is_none());
        // Scaled, another type, keywords out of their order.
        assert!(plain_float_image(&with_card(5, "BSCALE  =                  2.0")).is_none());
        assert!(plain_float_image(&with_card(5, "BZERO   =                32768")).is_none());
        assert!(plain_float_image(&with_card(1, "BITPIX  =                  -64")).is_none());
        assert!(plain_float_image(&with_card(1, "NAXIS   =                    2")).is_none());
        // A comment card is no keyword.
        let commented = with_card(5, "COMMENT BSCALE = 2");
        assert!(plain_float_image(&commented).is_some());
        // Stored uncompressed, a cutout is read the same.
        let a = decode_cutout(&fits).expect("plain");
        assert_eq!(a, decode_fits_image(&fits).expect("plain"));
    }

    /// Issue #22: libdeflate (what `gunzip_into` uses) against zlib-rs through flate2 (a
    /// dependency already), inflating every cutout of the night on one thread: the fastest
    /// and the median of 40 passes, after one that warms up. A measurement, not a check of
    /// speed, so left out of the suite: `cargo test --release --lib inflate_backends --
    /// --ignored --nocapture`. Both must give the same bytes.
    #[test]
    #[ignore]
    fn inflate_backends() {
        let members = shared_stamp_data("night-20231018", usize::MAX);
        let size = |m: &[u8]| gzip_size(m).expect("a gzip member");
        let zlib_rs = |m: &[u8], out: &mut [u8]| {
            let mut z = flate2::Decompress::new_gzip(15);
            let status = z.decompress(m, out, flate2::FlushDecompress::Finish);
            assert!(
                matches!(status, Ok(flate2::Status::StreamEnd)),
                "{status:?}"
            );
            z.total_out() as usize
        };
        let mut libdeflate = Decompressor::new();
        for m in &members {
            let (mut a, mut b) = (vec![0u8; size(m)], vec![0u8; size(m)]);
            assert_eq!(libdeflate.gzip_decompress(m, &mut a).ok(), Some(a.len()));
            assert_eq!(zlib_rs(m, &mut b), b.len());
            assert!(a == b, "the backends inflate a cutout differently");
        }
        let mut out = vec![0u8; members.iter().map(|m| size(m)).max().expect("cutouts")];
        let mut time = |name: &str, inflate: &mut dyn FnMut(&[u8], &mut [u8]) -> usize| {
            let mut passes: Vec<f64> = (0..41)
                .map(|_| {
                    let started = std::time::Instant::now();
                    for m in &members {
                        assert_eq!(inflate(m, &mut out[..size(m)]), size(m));
                    }
                    started.elapsed().as_secs_f64() * 1e3
                })
                .skip(1)
                .collect();
            passes.sort_by(f64::total_cmp);
            println!(
                "{name}: {} cutouts, fastest {:.1} ms, median {:.1} ms",
                members.len(),
                passes[0],
                passes[passes.len() / 2]
            );
        };
        time("libdeflate", &mut |m, o| {
            libdeflate.gzip_decompress(m, o).expect("libdeflate")
        });
        time("zlib-rs (flate2)", &mut |m, o| zlib_rs(m, o));
    }
}
