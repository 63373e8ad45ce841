//! Image preprocessing exactly as the reference pipeline does it (Pillow 13).
//!
//! Pillow's BILINEAR resize is a separable triangle filter, widened by the scale when shrinking
//! (antialiasing), with fixed-point coefficients (22 fractional bits), the horizontal pass first
//! and a rounding to 8 bits between the passes. A float bilinear differs by one level on about
//! 16 % of the values and moves P(male) by up to 0.037 (fixtures/golden/README.md), hence this copy.

use image::{GrayImage, RgbImage};

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Fixed-point coefficients of one output pixel: the first input index and the weights.
struct Taps {
    start: usize,
    weights: Vec<i32>,
}

/// Pillow's `precompute_coeffs` for the bilinear filter (support 1), resampling `input` pixels to `output`.
fn coefficients(input: usize, output: usize) -> Vec<Taps> {
    let scale = input as f64 / output as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale;
    (0..output)
        .map(|x| {
            let center = (x as f64 + 0.5) * scale;
            let start = ((center - support + 0.5) as i64).max(0) as usize;
            let end = ((center + support + 0.5) as i64).min(input as i64) as usize;
            let raw: Vec<f64> = (start..end)
                .map(|i| {
                    let t = ((i as f64 - center + 0.5) / filter_scale).abs();
                    if t < 1.0 { 1.0 - t } else { 0.0 }
                })
                .collect();
            let total: f64 = raw.iter().sum();
            let weights = raw
                .iter()
                .map(|&w| {
                    let w = if total != 0.0 { w / total } else { w };
                    let fixed = w * (1u32 << PRECISION_BITS) as f64;
                    (if w < 0.0 { fixed - 0.5 } else { fixed + 0.5 }) as i32
                })
                .collect();
            Taps { start, weights }
        })
        .collect()
}

fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// One separable pass: resamples interleaved 8-bit pixels `[h, w, C]` along x (`horizontal`) or
/// y with `taps`, rounding to 8 bits as Pillow does between its passes.
///
/// The sums are Pillow's 32-bit ones: the weights are non-negative and add up to about
/// `2^PRECISION_BITS`, so a sum stays below `255 · 2^22 · 1.01 < 2^31`.
fn pass<const C: usize>(src: &[u8], [h, w]: [usize; 2], taps: &[Taps], horizontal: bool) -> Vec<u8> {
    let (out_h, out_w) = if horizontal { (h, taps.len()) } else { (taps.len(), w) };
    let mut out = vec![0u8; out_h * out_w * C];
    let rounding = 1i32 << (PRECISION_BITS - 1);
    if horizontal {
        for (src_row, out_row) in src.chunks_exact(w * C).zip(out.chunks_exact_mut(out_w * C)) {
            for (tap, pixel) in taps.iter().zip(out_row.chunks_exact_mut(C)) {
                let span = &src_row[tap.start * C..(tap.start + tap.weights.len()) * C];
                let mut sums = [rounding; C];
                for (input, &k) in span.chunks_exact(C).zip(&tap.weights) {
                    sums.iter_mut().zip(input).for_each(|(acc, &v)| *acc += v as i32 * k);
                }
                pixel.iter_mut().zip(sums).for_each(|(value, acc)| *value = clip8(acc));
            }
        }
    } else {
        let mut sums = vec![0i32; w * C];
        for (tap, out_row) in taps.iter().zip(out.chunks_exact_mut(w * C)) {
            sums.fill(rounding);
            for (j, &k) in tap.weights.iter().enumerate() {
                let row = &src[(tap.start + j) * w * C..][..w * C];
                sums.iter_mut().zip(row).for_each(|(acc, &v)| *acc += v as i32 * k);
            }
            out_row.iter_mut().zip(&sums).for_each(|(value, &acc)| *value = clip8(acc));
        }
    }
    out
}

/// Resizes interleaved 8-bit pixels of `C` channels like Pillow: horizontal pass first, each pass
/// only if needed.
fn resize_bytes<const C: usize>(src: &[u8], width: usize, height: usize, new_w: usize, new_h: usize) -> Vec<u8> {
    let mut data = src.to_vec();
    let mut w = width;
    if new_w != width {
        data = pass::<C>(&data, [height, width], &coefficients(width, new_w), true);
        w = new_w;
    }
    if new_h != height {
        data = pass::<C>(&data, [height, w], &coefficients(height, new_h), false);
    }
    data
}

/// Pillow's `Image.resize((w, h), Image.BILINEAR)` for an RGB image, bit for bit.
pub fn resize_bilinear(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    let data = resize_bytes::<3>(image.as_raw(), w as usize, h as usize, width as usize, height as usize);
    RgbImage::from_raw(width, height, data).expect("size matches")
}

/// Pillow's `Image.convert('L')`: `(19595 R + 38470 G + 7471 B + 0x8000) >> 16`.
pub fn to_luma(image: &RgbImage) -> GrayImage {
    let (w, h) = image.dimensions();
    let data = image
        .as_raw()
        .chunks_exact(3)
        .map(|p| ((19595 * p[0] as u32 + 38470 * p[1] as u32 + 7471 * p[2] as u32 + 0x8000) >> 16) as u8)
        .collect();
    GrayImage::from_raw(w, h, data).expect("size matches")
}

/// The square centre crop of an image (the whole image when it is square): the policy for inputs
/// that are not square before they are resized to a scorer's input size.
pub fn center_crop_square(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    let side = w.min(h);
    image::imageops::crop_imm(image, (w - side) / 2, (h - side) / 2, side, side).to_image()
}
