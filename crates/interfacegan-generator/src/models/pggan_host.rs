//! PGGAN on the CPU without burn, for [`Generator::synthesize`](crate::Generator::synthesize) at the
//! full level of detail: channel-last maps, each convolution a tiled im2col + matrix product with
//! the nearest upsampling folded into the gather and the bias, leaky ReLU and the next pixel norm
//! applied as each position is written. burn's convolution allocates and clears a fresh tensor per
//! operation, which at 1024 px is most of its time (docs/benchmarks.md).

use rayon::prelude::*;

use super::host::HostMap;

/// Most values of one tile's gathered patches: 2 MiB, so the product reads them from the cache.
const PATCH_VALUES: usize = 1 << 19;

thread_local! {
    /// Each thread's patch buffer, kept between tiles and calls.
    static PATCHES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What follows a convolution at each position.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Epilogue {
    /// Leaky ReLU (slope 0.2), then the pixel norm the next layer reads.
    LreluPixelNorm,
    /// Nothing: the ToRGB layer.
    Linear,
}

/// A square convolution (stride 1) with its weight scale folded in.
pub(crate) struct HostConv {
    /// `[k·k·c_in, c_out]`: row `(ky·k + kx)·c_in + i`.
    weight: Vec<f32>,
    bias: Vec<f32>,
    k: usize,
    padding: usize,
    c_in: usize,
    c_out: usize,
    /// Reads the input upsampled 2x (nearest) first.
    upsample: bool,
    epilogue: Epilogue,
}

impl HostConv {
    /// From PyTorch's `[c_out, c_in, k, k]` (scaled) weight.
    pub fn new(
        weight: &[f32],
        bias: Vec<f32>,
        shape: [usize; 4],
        padding: usize,
        upsample: bool,
        epilogue: Epilogue,
    ) -> Self {
        let [c_out, c_in, k, _] = shape;
        let mut packed = vec![0f32; weight.len()];
        for o in 0..c_out {
            for i in 0..c_in {
                for t in 0..k * k {
                    packed[(t * c_in + i) * c_out + o] = weight[(o * c_in + i) * k * k + t];
                }
            }
        }
        Self { weight: packed, bias, k, padding, c_in, c_out, upsample, epilogue }
    }

    /// The patches of output positions `first..` (as many as `patches` holds), zero outside the map;
    /// with `styles` (`[n, c_in]`), each image's input channels scaled by its row.
    #[inline(always)]
    fn gather(
        &self,
        x: &[f32],
        side: usize,
        out_side: usize,
        first: usize,
        styles: Option<&[f32]>,
        patches: &mut [f32],
    ) {
        let (k, c) = (self.k, self.c_in);
        let read_side = if self.upsample { 2 * side } else { side };
        for (r, patch) in patches.chunks_exact_mut(k * k * c).enumerate() {
            let p = first + r;
            let (image, oy, ox) = (p / (out_side * out_side), p / out_side % out_side, p % out_side);
            let style = styles.map(|s| &s[image * c..][..c]);
            for ky in 0..k {
                for kx in 0..k {
                    let dst = &mut patch[(ky * k + kx) * c..][..c];
                    let (y, x_) = ((oy + ky).checked_sub(self.padding), (ox + kx).checked_sub(self.padding));
                    match (y, x_) {
                        (Some(y), Some(xx)) if y < read_side && xx < read_side => {
                            let (sy, sx) = if self.upsample { (y / 2, xx / 2) } else { (y, xx) };
                            let src = &x[((image * side + sy) * side + sx) * c..][..c];
                            match style {
                                Some(s) => dst.iter_mut().zip(src).zip(s).for_each(|((d, v), s)| *d = v * s),
                                None => dst.copy_from_slice(src),
                            }
                        }
                        _ => dst.fill(0.0),
                    }
                }
            }
        }
    }

    /// Bias and the epilogue over every output position of the tile.
    #[inline(always)]
    fn finish(&self, dst: &mut [f32]) {
        for position in dst.chunks_exact_mut(self.c_out) {
            for (v, b) in position.iter_mut().zip(&self.bias) {
                *v += b;
            }
            if self.epilogue == Epilogue::LreluPixelNorm {
                position.iter_mut().for_each(|v| *v = if *v < 0.0 { 0.2 * *v } else { *v });
                pixel_norm(position);
            }
        }
    }
}

impl HostConv {
    /// `x` `[n, side, side, c_in]` to `[n, out, out, c_out]` into `out` (resized), each image's
    /// input channels scaled by its row of `styles` (`[n, c_in]`) when given; `finish` gets each
    /// tile's products with the index of its first output position (tiles may span images).
    pub fn forward_styled(
        &self,
        (x, n, side): (&[f32], usize, usize),
        styles: Option<&[f32]>,
        out: &mut Vec<f32>,
        finish: impl Fn(usize, &mut [f32]) + Sync,
    ) {
        let out_side = self.out_side(side);
        let positions = n * out_side * out_side;
        let row = self.k * self.k * self.c_in;
        let threads = rayon::current_num_threads();
        let rows = (PATCH_VALUES / row).clamp(16, 1024).min(positions.div_ceil(2 * threads).max(1));
        out.resize(positions * self.c_out, 0.0);
        out.par_chunks_mut(rows * self.c_out).enumerate().for_each(|(tile, dst)| {
            PATCHES.with_borrow_mut(|patches| {
                let first = tile * rows;
                let count = dst.len() / self.c_out;
                patches.resize(count * row, 0.0);
                interfacegan_simd::simd!(|| self.gather(x, side, out_side, first, styles, patches));
                interfacegan_simd::matmul(patches, row, &self.weight, dst, 1);
                finish(first, dst);
            })
        });
    }
}

impl HostMap for HostConv {
    /// `x` `[n, side, side, c_in]` to `[n, out, out, c_out]` into `out` (resized).
    fn forward(&self, x: &[f32], n: usize, side: usize, out: &mut Vec<f32>) {
        self.forward_styled((x, n, side), None, out, |_, dst| interfacegan_simd::simd!(|| self.finish(dst)));
    }

    /// The output side for an input side `side`.
    fn out_side(&self, side: usize) -> usize {
        let read = if self.upsample { 2 * side } else { side };
        read + 2 * self.padding + 1 - self.k
    }

    fn c_out(&self) -> usize {
        self.c_out
    }
}

/// `x / sqrt(mean(x²) + 1e-8)` over one position's channels.
#[inline(always)]
pub(crate) fn pixel_norm(channels: &mut [f32]) {
    let mean = channels.iter().map(|v| v * v).sum::<f32>() / channels.len() as f32;
    let scale = 1.0 / (mean + super::pggan::PIXEL_NORM_EPS as f32).sqrt();
    channels.iter_mut().for_each(|v| *v *= scale);
}

/// Every block's convolutions in order, ToRGB last (the full level of detail).
pub(crate) struct HostPggan {
    pub convs: Vec<HostConv>,
}

impl HostPggan {
    /// Images `[n, C, R, R]` (channel-first, as burn's) of the `n` codes `z`.
    pub fn synthesize(&self, z: &[f32], n: usize) -> Vec<f32> {
        super::host::run_layers(&self.convs, z, n, pixel_norm)
    }
}
