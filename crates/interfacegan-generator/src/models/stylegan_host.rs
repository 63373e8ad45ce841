//! StyleGAN's synthesis on the CPU without burn, for `synthesize` at the full level of detail:
//! channel-last maps, the convolutions of the PGGAN and DCGAN routes (tiled im2col + product, the
//! fused up-convolution as a transposed one), the blur as a depthwise 3x3 pass, and per layer one
//! pass that adds the noise and bias, applies leaky ReLU, the instance norm and the style. The
//! mapping network and the styles stay on burn: a few small products per image.

use rayon::prelude::*;

use super::dcgan_host::HostLayer;
use super::host::HostMap;
use super::pggan_host::HostConv;

/// How a layer turns its input into the map its epilogue works on.
pub(crate) enum HostUp {
    /// The constant input (the first layer): nothing.
    Input,
    /// A 3x3 convolution, reading the input upsampled 2x (nearest) where it upsamples.
    Conv(HostConv),
    /// The fused up-convolution: a 4x4 stride-2 transposed convolution.
    Fused(HostLayer),
}

/// One synthesis layer.
pub(crate) struct HostStyleLayer {
    pub up: HostUp,
    /// The blur after an up-convolution: `[9, c]`, tap-major.
    pub blur: Option<Vec<f32>>,
    /// The fixed noise `[res, res]`, its per-channel weight and the bias.
    pub noise: Vec<f32>,
    pub noise_weight: Vec<f32>,
    pub bias: Vec<f32>,
    pub channels: usize,
}

impl HostStyleLayer {
    /// `x` `[n, side, side, c_in]` to this layer's output `[n, out, out, c]` in `x` (`spare` is
    /// scratch), styled by `styles` `[n, 2c]` (scale then shift); returns the output side.
    pub fn forward(&self, x: &mut Vec<f32>, spare: &mut Vec<f32>, n: usize, side: usize, styles: &[f32]) -> usize {
        let side = match &self.up {
            HostUp::Input => side,
            HostUp::Conv(conv) => {
                conv.forward(x, n, side, spare);
                std::mem::swap(x, spare);
                conv.out_side(side)
            }
            HostUp::Fused(layer) => {
                layer.forward(x, n, side, spare);
                std::mem::swap(x, spare);
                2 * side
            }
        };
        let (c, pixels) = (self.channels, side * side);
        x.truncate(n * pixels * c);
        if let Some(kernel) = &self.blur {
            blur(x, side, c, kernel, spare);
            std::mem::swap(x, spare);
        }
        x.par_chunks_mut(pixels * c).zip(styles.par_chunks(2 * c)).for_each(|(image, style)| {
            interfacegan_simd::simd!(|| self.epilogue(image, style));
        });
        side
    }

    /// Noise, bias, leaky ReLU, instance norm and the style of one image `[pixels, c]`.
    #[inline(always)]
    fn epilogue(&self, image: &mut [f32], style: &[f32]) {
        let c = self.channels;
        let pixels = (image.len() / c) as f32;
        let (mut sum, mut squares) = (vec![0f32; c], vec![0f32; c]);
        for (position, &noise) in image.chunks_exact_mut(c).zip(&self.noise) {
            for ((v, (w, b)), s) in position.iter_mut().zip(self.noise_weight.iter().zip(&self.bias)).zip(&mut sum) {
                let t = *v + noise * w + b;
                *v = if t < 0.0 { 0.2 * t } else { t };
                *s += *v;
            }
        }
        let mean: Vec<f32> = sum.iter().map(|s| s / pixels).collect();
        for position in image.chunks_exact(c) {
            for ((v, m), q) in position.iter().zip(&mean).zip(&mut squares) {
                *q += (v - m) * (v - m);
            }
        }
        let (scale, shift) = style.split_at(c);
        // x' = (x - mean) / sqrt(var + eps) * (scale + 1) + shift, as one multiply-add per value.
        let factor: Vec<f32> = squares
            .iter()
            .zip(scale)
            .map(|(q, s)| (s + 1.0) / (q / pixels + super::stylegan::EPS as f32).sqrt())
            .collect();
        let offset: Vec<f32> = mean.iter().zip(&factor).zip(shift).map(|((m, f), t)| t - m * f).collect();
        for position in image.chunks_exact_mut(c) {
            for ((v, f), o) in position.iter_mut().zip(&factor).zip(&offset) {
                *v = *v * f + o;
            }
        }
    }
}

/// A depthwise 3x3 convolution (padding 1) of `[n, side, side, c]` with `kernel` `[9, c]`, into `out`.
fn blur(x: &[f32], side: usize, c: usize, kernel: &[f32], out: &mut Vec<f32>) {
    // The taps accumulate: the buffer starts cleared.
    out.clear();
    out.resize(x.len(), 0.0);
    out.par_chunks_mut(side * c).enumerate().for_each(|(row, dst)| {
        let (image, oy) = (row / side, row % side);
        interfacegan_simd::simd!(|| {
            for ky in 0..3 {
                let Some(iy) = (oy + ky).checked_sub(1).filter(|&y| y < side) else { continue };
                let source = &x[(image * side + iy) * side * c..][..side * c];
                for kx in 0..3 {
                    let taps = &kernel[(ky * 3 + kx) * c..][..c];
                    for ox in 0..side {
                        let Some(ix) = (ox + kx).checked_sub(1).filter(|&x| x < side) else { continue };
                        let (d, s) = (&mut dst[ox * c..][..c], &source[ix * c..][..c]);
                        for ((d, s), t) in d.iter_mut().zip(s).zip(taps) {
                            *d += s * t;
                        }
                    }
                }
            }
        });
    });
}

/// The synthesis network: the constant input `[4·4, c]`, the layers, the last block's ToRGB.
pub(crate) struct HostSynthesis {
    pub input: Vec<f32>,
    pub layers: Vec<HostStyleLayer>,
    pub to_rgb: HostConv,
}

impl HostSynthesis {
    /// Images `[n, C, R, R]` (channel-first) from each layer's styles `[n, 2 c_l]`.
    pub fn synthesize(&self, styles: &[Vec<f32>], n: usize) -> Vec<f32> {
        super::host::with_maps(|x, spare| {
            x.clear();
            for _ in 0..n {
                x.extend_from_slice(&self.input);
            }
            let mut side = 4;
            for (layer, style) in self.layers.iter().zip(styles) {
                side = layer.forward(x, spare, n, side, style);
            }
            self.to_rgb.forward(x, n, side, spare);
            let c = self.to_rgb.c_out();
            interfacegan_simd::to_channel_first(&spare[..n * side * side * c], c, side * side)
        })
    }
}
