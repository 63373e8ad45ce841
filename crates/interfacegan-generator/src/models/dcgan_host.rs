//! The DCGAN on the CPU without burn, for [`Generator::synthesize`](crate::Generator::synthesize):
//! channel-last maps, and each transposed convolution as one matrix product per tile of images
//! (positions x c_in by c_in x taps·c_out) followed by a gather of the 4x4 taps into every output
//! position, with the BatchNorm shift and the activation applied as it is written. burn's
//! transposed convolution multiplies image by image, where the first layers' tiny maps (1x1, 4x4)
//! leave the product's blocks mostly empty (docs/benchmarks.md).

use rayon::prelude::*;

use super::host::HostMap;

/// Taps of the 4x4 kernels.
const TAPS: usize = 16;
/// Most values of the product one tile writes: 4 MiB, so that the gather reads it from the cache.
const TILE_VALUES: usize = 1 << 20;

thread_local! {
    /// Each thread's product buffer, kept between tiles and calls: a fresh one per tile costs
    /// page faults and clearing on every call.
    static COLS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One transposed convolution with its folded BatchNorm and activation.
pub(crate) struct HostLayer {
    /// `[c_in, TAPS·c_out]`: column `(ky·4 + kx)·c_out + o`.
    weight: Vec<f32>,
    bias: Vec<f32>,
    c_in: usize,
    c_out: usize,
    stride: usize,
    padding: usize,
    activation: Activation,
    /// `weight` transposed, `[TAPS·c_out, c_in]`, made on the first backward pass: the product
    /// packs a row-major right side far faster than a transposed view.
    weight_transposed: std::sync::OnceLock<Vec<f32>>,
}

/// What a transposed convolution's output goes through.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Activation {
    Relu,
    /// The DCGAN's image layer.
    Tanh,
    /// StyleGAN's up-convolution, whose epilogue comes later.
    Linear,
}

impl HostLayer {
    /// From a PyTorch transposed convolution weight `[c_in, c_out, 4, 4]` (BatchNorm folded in).
    pub fn new(
        weight: &[f32],
        bias: Vec<f32>,
        (c_in, c_out): (usize, usize),
        stride: usize,
        activation: Activation,
    ) -> Self {
        let mut packed = vec![0f32; weight.len()];
        for i in 0..c_in {
            for o in 0..c_out {
                for t in 0..TAPS {
                    packed[i * TAPS * c_out + t * c_out + o] = weight[(i * c_out + o) * TAPS + t];
                }
            }
        }
        let padding = if stride == 1 { 0 } else { 1 };
        Self { weight: packed, bias, c_in, c_out, stride, padding, activation, weight_transposed: Default::default() }
    }

    /// One image: every output position sums the taps that reach it, then bias and activation.
    #[inline(always)]
    fn gather(&self, cols: &[f32], side: usize, out: &mut [f32]) {
        let (c, s, p) = (self.c_out, self.stride, self.padding);
        let out_side = self.out_side(side);
        // The input positions and kernel taps that reach output coordinate `o` along one axis.
        let sources = |o: usize| {
            (0..4).filter_map(move |k| {
                let t = (o + p).checked_sub(k)?;
                (t % s == 0 && t / s < side).then_some((t / s, k))
            })
        };
        for oy in 0..out_side {
            for ox in 0..out_side {
                let dst = &mut out[(oy * out_side + ox) * c..][..c];
                dst.copy_from_slice(&self.bias);
                for (iy, ky) in sources(oy) {
                    for (ix, kx) in sources(ox) {
                        let at = (iy * side + ix) * TAPS * c + (ky * 4 + kx) * c;
                        for (d, v) in dst.iter_mut().zip(&cols[at..at + c]) {
                            *d += v;
                        }
                    }
                }
                match self.activation {
                    Activation::Relu => dst.iter_mut().for_each(|v| *v = v.max(0.0)),
                    Activation::Tanh => dst.iter_mut().for_each(|v| *v = tanh(*v)),
                    Activation::Linear => {}
                }
            }
        }
    }

    /// Pulls back through this layer: `dy` is the gradient with respect to the output `y`
    /// `[n, out, out, c_out]` (both as [`HostMap::forward`] wrote them; `dy` is overwritten), `dx`
    /// receives the gradient with respect to the input `[n, side, side, c_in]`. The input gradient
    /// of a transposed convolution is the product of the taps each input position reached with the
    /// weight transposed: the forward pass's gather undone, then one product per tile of images.
    pub fn backward(&self, y: &[f32], dy: &mut [f32], n: usize, side: usize, dx: &mut Vec<f32>) {
        match self.activation {
            Activation::Relu => dy.iter_mut().zip(y).for_each(|(d, &v)| *d = if v > 0.0 { *d } else { 0.0 }),
            Activation::Tanh => dy.iter_mut().zip(y).for_each(|(d, &v)| *d *= 1.0 - v * v),
            Activation::Linear => {}
        }
        let out_side = self.out_side(side);
        let per_image_in = side * side * self.c_in;
        let per_image_out = out_side * out_side * self.c_out;
        let cols_per_image = side * side * TAPS * self.c_out;
        let (images, inner) = self.tiling(n, cols_per_image);
        let weight_transposed = self
            .weight_transposed
            .get_or_init(|| interfacegan_simd::transpose(&self.weight, self.c_in, TAPS * self.c_out));
        dx.resize(n * per_image_in, 0.0);
        dx.par_chunks_mut(images * per_image_in).zip(dy.par_chunks(images * per_image_out)).for_each(|(dst, src)| {
            COLS.with_borrow_mut(|cols| {
                cols.resize(src.len() / per_image_out * cols_per_image, 0.0);
                for (image_cols, image_dy) in cols.chunks_exact_mut(cols_per_image).zip(src.chunks_exact(per_image_out))
                {
                    interfacegan_simd::simd!(|| self.spread(image_dy, side, image_cols));
                }
                interfacegan_simd::matmul(cols, TAPS * self.c_out, weight_transposed, dst, inner);
            })
        });
    }

    /// Images per tile (as many as fit the cache, but at least two tiles per thread when
    /// possible) and the threads each tile's product runs on (all of them when there are fewer
    /// tiles than threads: a batch of one or two).
    fn tiling(&self, n: usize, cols_per_image: usize) -> (usize, usize) {
        let threads = rayon::current_num_threads();
        let fit = (TILE_VALUES / cols_per_image).max(1);
        let images = fit.min(n.div_ceil(2 * threads).max(1));
        let inner = if n.div_ceil(images) < threads { threads } else { 1 };
        (images, inner)
    }

    /// The inverse of [`gather`](Self::gather) for one image: for every input position and tap,
    /// the output gradient at the position the tap reached (zero where it fell outside).
    #[inline(always)]
    fn spread(&self, dy: &[f32], side: usize, cols: &mut [f32]) {
        let (c, s, p) = (self.c_out, self.stride, self.padding);
        let out_side = self.out_side(side);
        let target = |i: usize, k: usize| (i * s + k).checked_sub(p).filter(|&o| o < out_side);
        for iy in 0..side {
            for ix in 0..side {
                for ky in 0..4 {
                    for kx in 0..4 {
                        let dst = &mut cols[((iy * side + ix) * TAPS + ky * 4 + kx) * c..][..c];
                        match (target(iy, ky), target(ix, kx)) {
                            (Some(oy), Some(ox)) => dst.copy_from_slice(&dy[(oy * out_side + ox) * c..][..c]),
                            _ => dst.fill(0.0),
                        }
                    }
                }
            }
        }
    }
}

impl HostMap for HostLayer {
    /// `x` `[n, side, side, c_in]` to `[n, out, out, c_out]` into `out` (resized; every value written).
    fn forward(&self, x: &[f32], n: usize, side: usize, out: &mut Vec<f32>) {
        let out_side = self.out_side(side);
        let per_image_in = side * side * self.c_in;
        let per_image_out = out_side * out_side * self.c_out;
        let cols_per_image = side * side * TAPS * self.c_out;
        let (images, inner) = self.tiling(n, cols_per_image);
        out.resize(n * per_image_out, 0.0);
        out.par_chunks_mut(images * per_image_out).zip(x.par_chunks(images * per_image_in)).for_each(|(dst, src)| {
            COLS.with_borrow_mut(|cols| {
                // Every value is written by the product before it is read: no need to clear it.
                cols.resize(src.len() / per_image_in * cols_per_image, 0.0);
                interfacegan_simd::matmul(src, self.c_in, &self.weight, cols, inner);
                for (image_cols, image_out) in
                    cols.chunks_exact(cols_per_image).zip(dst.chunks_exact_mut(per_image_out))
                {
                    interfacegan_simd::simd!(|| self.gather(image_cols, side, image_out));
                }
            })
        });
    }

    /// The output side for an input side `side`.
    fn out_side(&self, side: usize) -> usize {
        (side - 1) * self.stride + 4 - 2 * self.padding
    }

    fn c_out(&self) -> usize {
        self.c_out
    }
}

/// The whole generator on the host.
pub(crate) struct HostDcgan {
    pub layers: Vec<HostLayer>,
}

impl HostDcgan {
    /// Images `[n, C, R, R]` (channel-first, as burn's) of the `n` codes `z` `[n, latent]`.
    pub fn synthesize(&self, z: &[f32], n: usize) -> Vec<f32> {
        super::host::run_layers(&self.layers, z, n, |_| {})
    }

    /// Images `[n, C, R, R]` of the codes `z` `[n, latent]` and every layer's output (channel-last),
    /// which [`pullback`](Self::pullback) needs.
    pub fn trace(&self, z: &[f32], n: usize) -> (Vec<f32>, Vec<Vec<f32>>) {
        let mut maps: Vec<Vec<f32>> = Vec::with_capacity(self.layers.len());
        let mut side = 1;
        for layer in &self.layers {
            let mut out = Vec::new();
            layer.forward(maps.last().map_or(z, Vec::as_slice), n, side, &mut out);
            maps.push(out);
            side = layer.out_side(side);
        }
        let c = self.layers.last().map_or(0, HostMap::c_out);
        (interfacegan_simd::to_channel_first(maps.last().map_or(&[], Vec::as_slice), c, side * side), maps)
    }

    /// The gradient with respect to the codes of a loss whose gradient with respect to the images
    /// `[n, C, R, R]` is `image_grad`, given the maps [`trace`](Self::trace) returned for them.
    pub fn pullback(&self, maps: &[Vec<f32>], n: usize, image_grad: &[f32]) -> Vec<f32> {
        // The input side of each layer.
        let sides: Vec<usize> =
            self.layers.iter().scan(1, |side, l| Some(std::mem::replace(side, l.out_side(*side)))).collect();
        let c = self.layers.last().map_or(1, HostMap::c_out);
        let mut dy = interfacegan_simd::to_channel_last(image_grad, c, image_grad.len() / (n * c).max(1));
        let mut dx = Vec::new();
        for ((layer, y), &side) in self.layers.iter().zip(maps).zip(&sides).rev() {
            layer.backward(y, &mut dy, n, side, &mut dx);
            std::mem::swap(&mut dy, &mut dx);
        }
        dy
    }
}

/// tanh as a rational function on [-9, 9] (Eigen's `ptanh_float`, a few ulp from the exact value;
/// beyond 9 tanh is ±1 in f32): plain arithmetic, so a loop over it vectorises, where libm's tanhf
/// is a call per value.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297_1e-8,
        -8.604_672e-11,
        2.000_187_8e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    let x = x.clamp(-9.0, 9.0);
    let x2 = x * x;
    let mut p = ALPHA[6];
    for a in ALPHA[..6].iter().rev() {
        p = p * x2 + a;
    }
    let mut q = BETA[3];
    for b in BETA[..3].iter().rev() {
        q = q * x2 + b;
    }
    // The rational function overshoots 1 by an ulp near the clamp; tanh never does.
    (x * p / q).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tanh_is_within_a_few_ulp_of_libm() {
        let mut worst = 0f32;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            let (ours, exact) = (super::tanh(x), (x as f64).tanh() as f32);
            worst = worst.max((ours - exact).abs() / exact.abs().max(f32::MIN_POSITIVE));
        }
        assert!(worst < 4.0 * f32::EPSILON, "worst relative error {worst}");
        assert_eq!((super::tanh(30.0), super::tanh(-30.0)), (1.0, -1.0));
    }
}
