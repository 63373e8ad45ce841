//! Image files from strangers: decoded only after their declared size passed the limits.

use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::IoError;

/// The most pixels an input image may declare: 50 megapixels, above any phone camera's photo.
/// A larger header is a decompression bomb or a scan; downscale it first.
pub const MAX_IMAGE_PIXELS: u64 = 50_000_000;

/// The most bytes the decoder may allocate for one image (50 megapixels of 16-bit RGBA).
pub const MAX_IMAGE_BYTES: u64 = MAX_IMAGE_PIXELS * 8;

/// Reads an image file, upright by its EXIF orientation, refusing images whose header declares
/// more than [`MAX_IMAGE_PIXELS`] before anything is decoded.
pub fn open_image(path: impl AsRef<Path>) -> Result<DynamicImage, IoError> {
    let path = path.as_ref();
    let unreadable = |reason: String| IoError::Image { path: path.to_path_buf(), reason };
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
    use interfacegan_testkit::claimed_png;

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
