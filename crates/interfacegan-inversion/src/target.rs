//! Target images: any file the `image` crate reads, centre-cropped to a square and resized to the
//! generator's resolution with the scorers' (Pillow-exact) bilinear filter.

use std::path::Path;

use image::{DynamicImage, RgbImage};
use interfacegan_io::{IoError, center_crop_square, open_image, resize_bilinear};

use crate::error::InversionError;

/// Reads an image file (upright by its EXIF orientation) and prepares it as a target of
/// `resolution x resolution` pixels.
pub fn load_target(path: impl AsRef<Path>, resolution: u32) -> Result<RgbImage, InversionError> {
    let path = path.as_ref();
    // Phone photos are often stored sideways with an EXIF orientation: this uprights them.
    let decoded = open_image(path).map_err(|e| match e {
        IoError::Image { path, reason } => InversionError::UnreadableImage { path, reason },
        other => InversionError::UnreadableImage { path: path.to_path_buf(), reason: other.to_string() },
    })?;
    prepare_target(&decoded, resolution, &path.display().to_string())
}

/// Prepares a decoded image as a target: the square centre crop, resized to `resolution`.
///
/// Refused: grayscale images (the generators draw colour faces, and a gray target would pull the
/// code towards desaturated faces: convert it to RGB first if that is what you want) and images
/// whose shorter side is below `resolution` (upscaling invents the detail the code would be fitted
/// to). An alpha channel is dropped.
pub fn prepare_target(image: &DynamicImage, resolution: u32, source_name: &str) -> Result<RgbImage, InversionError> {
    let invalid = |reason: String| InversionError::InvalidTarget { source_name: source_name.to_string(), reason };
    if resolution == 0 {
        return Err(InversionError::Resolution { resolution: 0 });
    }
    if !image.color().has_color() {
        return Err(invalid(format!(
            "a grayscale image ({:?}); the generator draws RGB faces: convert it to RGB first to invert it anyway",
            image.color()
        )));
    }
    let (w, h) = (image.width(), image.height());
    if w.min(h) < resolution {
        return Err(invalid(format!(
            "{w}x{h} pixels is smaller than the generator's {resolution}x{resolution}; use a larger photo"
        )));
    }
    let square = center_crop_square(&image.to_rgb8());
    Ok(if square.width() == resolution { square } else { resize_bilinear(&square, resolution, resolution) })
}

/// Targets as the generator's raw range `[-1, 1]`, `[N, 3, H, W]` row-major: the inverse of the
/// official post-processing `(x + 1) * 127.5`.
pub(crate) fn to_raw(targets: &[RgbImage]) -> Vec<f32> {
    let mut raw = Vec::new();
    for image in targets {
        let (w, h) = image.dimensions();
        let pixels = image.as_raw();
        for c in 0..3 {
            for i in 0..(w * h) as usize {
                raw.push(f32::from(pixels[i * 3 + c]) / 127.5 - 1.0);
            }
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Rgb, RgbaImage};

    #[test]
    fn crops_the_centre_and_resizes() {
        let mut wide = RgbImage::from_pixel(300, 200, Rgb([0, 0, 0]));
        for y in 0..200 {
            for x in 50..250 {
                wide.put_pixel(x, y, Rgb([200, 100, 50]));
            }
        }
        let target = prepare_target(&DynamicImage::ImageRgb8(wide), 64, "wide").unwrap();
        assert_eq!(target.dimensions(), (64, 64));
        // The black side bands fall outside the centre crop.
        assert!(target.pixels().all(|p| *p == Rgb([200, 100, 50])));
    }

    #[test]
    fn keeps_a_target_of_the_right_size_as_is() {
        let img = RgbImage::from_fn(64, 64, |x, y| Rgb([x as u8, y as u8, 7]));
        assert_eq!(prepare_target(&DynamicImage::ImageRgb8(img.clone()), 64, "same").unwrap(), img);
    }

    #[test]
    fn drops_alpha() {
        let img = RgbaImage::from_pixel(80, 80, image::Rgba([10, 20, 30, 0]));
        let target = prepare_target(&DynamicImage::ImageRgba8(img), 64, "rgba").unwrap();
        assert_eq!(*target.get_pixel(3, 3), Rgb([10, 20, 30]));
    }

    #[test]
    fn refuses_gray_and_tiny_images() {
        let gray = DynamicImage::ImageLuma8(GrayImage::new(128, 128));
        let err = prepare_target(&gray, 64, "gray.png").unwrap_err().to_string();
        assert!(err.contains("gray.png") && err.contains("grayscale"), "{err}");
        let tiny = DynamicImage::ImageRgb8(RgbImage::new(40, 90));
        let err = prepare_target(&tiny, 64, "tiny.png").unwrap_err().to_string();
        assert!(err.contains("tiny.png") && err.contains("40x90") && err.contains("64x64"), "{err}");
    }

    #[test]
    fn unreadable_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.png");
        std::fs::write(&path, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let err = load_target(&path, 64).unwrap_err().to_string();
        assert!(err.contains("broken.png"), "{err}");
        let err = load_target(dir.path().join("missing.jpg"), 64).unwrap_err().to_string();
        assert!(err.contains("missing.jpg"), "{err}");
    }

    #[test]
    fn exif_orientation_is_applied() {
        use image::ImageEncoder;
        // 80 wide, 64 high, the top half red; stored with orientation 6 (display rotated 90 degrees clockwise).
        let img = RgbImage::from_fn(80, 64, |_, y| if y < 32 { Rgb([255, 0, 0]) } else { Rgb([0, 0, 255]) });
        // A little-endian TIFF block with one IFD entry: Orientation (0x0112), SHORT, 1 value, 6.
        let exif = vec![
            0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sideways.jpg");
        let mut bytes = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95);
        encoder.set_exif_metadata(exif).unwrap();
        encoder.write_image(img.as_raw(), 80, 64, image::ExtendedColorType::Rgb8).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let target = load_target(&path, 64).unwrap();
        // Upright, the red half is on the right.
        let (left, right) = (target.get_pixel(2, 32), target.get_pixel(61, 32));
        assert!(left[2] > 200 && left[0] < 60, "left {left:?}");
        assert!(right[0] > 200 && right[2] < 60, "right {right:?}");
    }

    #[test]
    fn raw_values_invert_the_postprocessing() {
        let img = RgbImage::from_fn(2, 1, |x, _| if x == 0 { Rgb([0, 255, 128]) } else { Rgb([255, 0, 0]) });
        let raw = to_raw(&[img]);
        assert_eq!(raw.len(), 6);
        assert_eq!(raw[0], -1.0); // R of pixel 0
        assert_eq!(raw[1], 1.0); // R of pixel 1
        assert_eq!(raw[2], 1.0); // G of pixel 0
        assert!((raw[4] - (128.0 / 127.5 - 1.0)).abs() < 1e-7); // B of pixel 0
    }
}
