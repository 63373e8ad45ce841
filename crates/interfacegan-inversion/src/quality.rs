//! Reconstruction quality of 8-bit RGB images: PSNR and SSIM.

use image::RgbImage;

use crate::error::InversionError;

/// Peak signal-to-noise ratio in dB over all channels, data range 255 (`skimage`'s
/// `peak_signal_noise_ratio`); infinite for identical images.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> Result<f64, InversionError> {
    same_size(a, b)?;
    let sum: f64 = a.as_raw().iter().zip(b.as_raw()).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum();
    let mse = sum / a.as_raw().len() as f64;
    Ok(if mse == 0.0 { f64::INFINITY } else { 10.0 * (255.0f64 * 255.0 / mse).log10() })
}

/// The window of Wang et al. (2004): a Gaussian of sigma 1.5 truncated at 3.5 sigma (11 taps).
const SIGMA: f64 = 1.5;
const RADIUS: usize = 5;

/// Structural similarity (Wang, Bovik, Sheikh and Simoncelli, 2004) averaged over the three
/// channels: Gaussian-weighted local statistics (sigma 1.5, 11 taps), population covariances,
/// `K1 = 0.01`, `K2 = 0.03`, data range 255, mean over the pixels whose window lies inside the image.
/// Equals `skimage.metrics.structural_similarity(a, b, channel_axis=-1, gaussian_weights=True,
/// sigma=1.5, use_sample_covariance=False, data_range=255)`. Images need at least 11x11 pixels.
pub fn ssim(a: &RgbImage, b: &RgbImage) -> Result<f64, InversionError> {
    same_size(a, b)?;
    let (w, h) = (a.width() as usize, a.height() as usize);
    if w <= 2 * RADIUS || h <= 2 * RADIUS {
        return Err(InversionError::InvalidTarget {
            source_name: format!("{w}x{h} image"),
            reason: format!("SSIM needs at least {0}x{0} pixels", 2 * RADIUS + 1),
        });
    }
    let taps = gaussian_taps();
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let mut total = 0.0;
    for channel in 0..3 {
        let plane = |img: &RgbImage| -> Vec<f64> {
            img.as_raw().iter().skip(channel).step_by(3).map(|&v| f64::from(v)).collect()
        };
        let (x, y) = (plane(a), plane(b));
        let xx: Vec<f64> = x.iter().map(|v| v * v).collect();
        let yy: Vec<f64> = y.iter().map(|v| v * v).collect();
        let xy: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p * q).collect();
        let [mx, my, mxx, myy, mxy] = [&x, &y, &xx, &yy, &xy].map(|p| filter_valid(p, w, h, &taps));
        let count = mx.len() as f64;
        let mut sum = 0.0;
        for i in 0..mx.len() {
            let (vx, vy, cov) = (mxx[i] - mx[i] * mx[i], myy[i] - my[i] * my[i], mxy[i] - mx[i] * my[i]);
            sum += ((2.0 * mx[i] * my[i] + c1) * (2.0 * cov + c2))
                / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
        }
        total += sum / count;
    }
    Ok(total / 3.0)
}

fn gaussian_taps() -> [f64; 2 * RADIUS + 1] {
    let mut taps = [0.0; 2 * RADIUS + 1];
    for (i, t) in taps.iter_mut().enumerate() {
        let x = i as f64 - RADIUS as f64;
        *t = (-0.5 * x * x / (SIGMA * SIGMA)).exp();
    }
    let sum: f64 = taps.iter().sum();
    taps.map(|t| t / sum)
}

/// Separable filtering of a `w x h` plane, only where the whole window lies inside it (the pixels
/// SSIM averages over, so no border rule is needed).
fn filter_valid(plane: &[f64], w: usize, h: usize, taps: &[f64]) -> Vec<f64> {
    let (ow, oh) = (w - 2 * RADIUS, h - 2 * RADIUS);
    let mut rows = vec![0.0; h * ow];
    for y in 0..h {
        for x in 0..ow {
            rows[y * ow + x] = taps.iter().enumerate().map(|(k, t)| t * plane[y * w + x + k]).sum();
        }
    }
    let mut out = vec![0.0; oh * ow];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = taps.iter().enumerate().map(|(k, t)| t * rows[(y + k) * ow + x]).sum();
        }
    }
    out
}

fn same_size(a: &RgbImage, b: &RgbImage) -> Result<(), InversionError> {
    if a.dimensions() != b.dimensions() {
        return Err(InversionError::InvalidTarget {
            source_name: "image pair".into(),
            reason: format!("sizes differ: {:?} and {:?}", a.dimensions(), b.dimensions()),
        });
    }
    Ok(())
}
