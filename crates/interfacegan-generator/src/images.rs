//! From raw generator output to 8-bit images: the official post-processing, grids, files.

use std::path::Path;

use image::{ImageFormat, Rgb, RgbImage};

use crate::error::GeneratorError;

/// The official `postprocess`: `uint8(clip((x + 1) * 255 / 2 + 0.5, 0, 255))` in float32, for raw
/// images `[N, C, H, W]` in `[-1, 1]`; returns `[N, H, W, C]` bytes (NaN becomes 0).
pub fn postprocess(raw: &[f32], [n, c, h, w]: [usize; 4]) -> Result<Vec<u8>, GeneratorError> {
    if raw.len() != n * c * h * w {
        return Err(GeneratorError::RawImages { values: raw.len(), shape: [n, c, h, w] });
    }
    let mut out = vec![0u8; raw.len()];
    for img in 0..n {
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let v = raw[((img * c + ch) * h + y) * w + x];
                    let scaled = ((v + 1.0) * 255.0 / 2.0 + 0.5).clamp(0.0, 255.0);
                    // `as u8` truncates like numpy's astype and maps NaN to 0.
                    out[((img * h + y) * w + x) * c + ch] = scaled as u8;
                }
            }
        }
    }
    Ok(out)
}

/// Raw images `[N, 3, H, W]` to RGB images, through [`postprocess`].
pub fn to_rgb_images(raw: &[f32], shape: [usize; 4]) -> Result<Vec<RgbImage>, GeneratorError> {
    let [n, c, h, w] = shape;
    if c != 3 {
        return Err(GeneratorError::RawImages { values: raw.len(), shape });
    }
    let bytes = postprocess(raw, shape)?;
    Ok(bytes
        .chunks_exact(h * w * 3)
        .take(n)
        .map(|b| RgbImage::from_raw(w as u32, h as u32, b.to_vec()).expect("size matches"))
        .collect())
}

/// Lays images out in `rows x columns` cells (row-major), `margin` pixels of `background` between
/// and around them. All images must have the size of the first; empty cells stay background.
pub fn grid(
    images: &[RgbImage],
    rows: usize,
    columns: usize,
    margin: u32,
    background: [u8; 3],
) -> Result<RgbImage, GeneratorError> {
    let grid_error = |sizes| GeneratorError::Grid { images: images.len(), sizes, rows, columns };
    let first = images.first().ok_or_else(|| grid_error(Vec::new()))?;
    if rows == 0 || columns == 0 || images.len() > rows * columns {
        return Err(grid_error(vec![first.dimensions()]));
    }
    let (w, h) = first.dimensions();
    if let Some(i) = images.iter().position(|im| im.dimensions() != (w, h)) {
        return Err(grid_error(vec![(w, h), images[i].dimensions()]));
    }
    let (cols, rows) = (columns as u32, rows as u32);
    let mut out = RgbImage::from_pixel(cols * w + (cols + 1) * margin, rows * h + (rows + 1) * margin, Rgb(background));
    for (i, im) in images.iter().enumerate() {
        let (r, c) = (i as u32 / cols, i as u32 % cols);
        image::imageops::replace(&mut out, im, (margin + c * (w + margin)) as i64, (margin + r * (h + margin)) as i64);
    }
    Ok(out)
}

/// Writes an image as PNG or JPEG (by the extension), atomically; an existing file is kept
/// unless `overwrite`.
pub fn save_image(path: impl AsRef<Path>, image: &RgbImage, overwrite: bool) -> Result<(), GeneratorError> {
    let mut outputs = interfacegan_io::OutputSet::new(overwrite);
    stage_image(&mut outputs, path, image)?;
    Ok(outputs.commit()?)
}

/// Encodes `image` as [`save_image`] does and stages it in `outputs`, to be committed with the
/// command's other outputs.
pub fn stage_image(
    outputs: &mut interfacegan_io::OutputSet,
    path: impl AsRef<Path>,
    image: &RgbImage,
) -> Result<(), GeneratorError> {
    let path = path.as_ref();
    let format = ImageFormat::from_path(path)
        .ok()
        .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg))
        .ok_or_else(|| GeneratorError::ImageWrite {
            path: path.to_path_buf(),
            reason: "the extension must be .png, .jpg or .jpeg".into(),
        })?;
    let mut bytes = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut bytes), format)
        .map_err(|e| GeneratorError::ImageWrite { path: path.to_path_buf(), reason: e.to_string() })?;
    outputs.stage_bytes(path, &bytes)?;
    Ok(())
}
