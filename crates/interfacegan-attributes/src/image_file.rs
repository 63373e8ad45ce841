//! Image files from strangers: decoded only after their declared size passed the limits.

use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::ScorerError;

/// The most pixels an input image may declare: 50 megapixels, above any phone camera's photo.
/// A larger header is a decompression bomb or a scan; downscale it first.
pub const MAX_IMAGE_PIXELS: u64 = 50_000_000;

/// The most bytes the decoder may allocate for one image (50 megapixels of 16-bit RGBA).
pub const MAX_IMAGE_BYTES: u64 = MAX_IMAGE_PIXELS * 8;

/// Reads an image file, upright by its EXIF orientation, refusing images whose header declares
/// more than [`MAX_IMAGE_PIXELS`] before anything is decoded.
pub fn open_image(path: impl AsRef<Path>) -> Result<DynamicImage, ScorerError> {
    let path = path.as_ref();
    let unreadable = |reason: String| ScorerError::Image { path: path.to_path_buf(), reason };
    let mut decoder = ImageReader::open(path)
        .map_err(|e| unreadable(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| unreadable(e.to_string()))?
        .into_decoder()
        .map_err(|e| unreadable(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(unreadable(format!(
            "{width}x{height} pixels is over the limit of {} megapixels",
            MAX_IMAGE_PIXELS / 1_000_000
        )));
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_IMAGE_BYTES);
    decoder.set_limits(limits).map_err(|e| unreadable(e.to_string()))?;
    let orientation = decoder.orientation().map_err(|e| unreadable(e.to_string()))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| unreadable(e.to_string()))?;
    image.apply_orientation(orientation);
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG whose header claims `width x height` RGB pixels, with one row of zeros as data
    /// (one stored deflate block; `width` below 21845).
    fn claimed_png(width: u32, height: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = out.len();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let crc = crc32(&out[start..]);
            out.extend_from_slice(&crc.to_be_bytes());
        }
        let mut header = Vec::new();
        header.extend_from_slice(&width.to_be_bytes());
        header.extend_from_slice(&height.to_be_bytes());
        header.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &header);
        let row = vec![0u8; 1 + 3 * width as usize];
        let mut zlib = vec![0x78, 0x01, 0x01];
        zlib.extend_from_slice(&(row.len() as u16).to_le_bytes());
        zlib.extend_from_slice(&(!(row.len() as u16)).to_le_bytes());
        zlib.extend_from_slice(&row);
        let adler = (row.len() as u32 % 65521) << 16 | 1;
        zlib.extend_from_slice(&adler.to_be_bytes());
        chunk(&mut out, b"IDAT", &zlib);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn oversized_headers_are_refused_before_decoding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.png");
        std::fs::write(&path, claimed_png(20_000, 20_000)).unwrap();
        let err = open_image(&path).unwrap_err().to_string();
        assert!(err.contains("bomb.png") && err.contains("20000x20000") && err.contains("50 megapixels"), "{err}");
        std::fs::write(&path, claimed_png(64, 64)).unwrap();
        let err = open_image(&path).unwrap_err().to_string();
        assert!(err.contains("bomb.png") && !err.contains("megapixels"), "a small truncated PNG: {err}");
    }
}
