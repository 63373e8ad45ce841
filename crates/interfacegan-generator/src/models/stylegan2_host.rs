//! StyleGAN2's synthesis on the CPU without burn, for `synthesize` with constant or no noise:
//! channel-last maps; each modulated convolution scales the input channels by the image's styles
//! as it gathers its patches (the tiled im2col + product of `pggan_host::HostConv`) and applies
//! the demodulation, noise, bias, leaky ReLU and clamp as it writes each position. The up-sampling
//! layer's stride-2 transposed convolution runs as four stride-1 products, one per parity of the
//! output position (each with the 3x3 kernel's taps of that parity), before its low-pass filter.
//! The mapping network, the styles and the demodulation coefficients stay on burn: a few small
//! products per image.

use std::cell::RefCell;

use rayon::prelude::*;

use super::pggan_host::{Epilogue, HostConv};

/// Most values of one tile's gathered patches: 2 MiB, so the product reads them from the cache.
const PATCH_VALUES: usize = 1 << 19;

thread_local! {
    /// Each thread's patch and product buffers for the up-sampling layers' tiles.
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    /// The calling thread's buffer for the transposed convolutions' outputs, kept between calls.
    static TRANSPOSED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// What follows a modulated convolution at each position, in NVIDIA's order: demodulation, noise,
/// bias, activation (leaky ReLU times sqrt 2, or none), clamp.
pub(crate) struct HostFinish {
    bias: Vec<f32>,
    /// The constant noise times its strength, `[R·R]`.
    noise: Option<Vec<f32>>,
    lrelu: bool,
    clamp: Option<f32>,
}

impl HostFinish {
    pub fn new(bias: Vec<f32>, noise: Option<Vec<f32>>, lrelu: bool, clamp: Option<f64>) -> Self {
        Self { bias, noise, lrelu, clamp: clamp.map(|c| c as f32) }
    }

    /// One position's channels `v` at `pixel` of its image.
    #[inline(always)]
    fn apply(&self, v: &mut [f32], pixel: usize, dcoefs: Option<&[f32]>, noise: bool) {
        if let Some(d) = dcoefs {
            v.iter_mut().zip(d).for_each(|(v, d)| *v *= d);
        }
        let noise = self.noise.as_ref().filter(|_| noise).map_or(0.0, |m| m[pixel]);
        let (lo, hi) = self.clamp.map_or((f32::NEG_INFINITY, f32::INFINITY), |c| (-c, c));
        for (v, b) in v.iter_mut().zip(&self.bias) {
            let t = *v + noise + b;
            let t = if self.lrelu { (if t < 0.0 { 0.2 * t } else { t }) * std::f32::consts::SQRT_2 } else { t };
            *v = t.max(lo).min(hi);
        }
    }
}

/// One parity class `(qy, qx)` of the transposed convolution's output positions `(2j + qy, 2k + qx)`:
/// they read the inputs `(j - ey, k - ex)` through the kernel taps `(qy + 2ey, qx + 2ex)`.
struct Phase {
    parity: (usize, usize),
    /// The input offsets `(ey, ex)` back from `(j, k)`.
    taps: Vec<(usize, usize)>,
    /// `[taps·c_in, c_out]`: row `t·c_in + i`.
    weight: Vec<f32>,
}

/// NVIDIA's up-sampling convolution (`conv2d_resample` with `up=2` and a 3x3 kernel): the stride-2
/// transposed convolution, `[n, h, h, c_in]` to `[n, 2h+1, 2h+1, c_out]`, then the 4x4 filter with
/// padding 1 to `[n, 2h, 2h, c_out]`.
pub(crate) struct HostUpConv {
    phases: Vec<Phase>,
    /// The filter as a cross-correlation kernel on the transposed convolution's output, `[a·4 + b]`,
    /// its gain folded in.
    filter: [f32; 16],
    c_in: usize,
    c_out: usize,
}

impl HostUpConv {
    /// From the layer's `[c_out, c_in, 3, 3]` weight and the cross-correlation kernel `filter`.
    pub fn new(weight: &[f32], (c_out, c_in): (usize, usize), filter: [f32; 16]) -> Self {
        let phases = [(0, 0), (0, 1), (1, 0), (1, 1)]
            .into_iter()
            .map(|(qy, qx)| {
                let offsets = |q: usize| if q == 0 { 0..2 } else { 0..1 };
                let taps: Vec<(usize, usize)> =
                    offsets(qy).flat_map(|ey| offsets(qx).map(move |ex| (ey, ex))).collect();
                let mut packed = vec![0f32; taps.len() * c_in * c_out];
                for (t, &(ey, ex)) in taps.iter().enumerate() {
                    let tap = (qy + 2 * ey) * 3 + qx + 2 * ex;
                    for i in 0..c_in {
                        for o in 0..c_out {
                            packed[(t * c_in + i) * c_out + o] = weight[(o * c_in + i) * 9 + tap];
                        }
                    }
                }
                Phase { parity: (qy, qx), taps, weight: packed }
            })
            .collect();
        Self { phases, filter, c_in, c_out }
    }

    /// `x` `[n, h, h, c_in]` scaled by `styles` `[n, c_in]` to `[n, 2h, 2h, c_out]` in `out`
    /// (`t` holds the transposed convolution's output); `finish` gets each output row with its
    /// image and row index.
    fn forward(
        &self,
        (x, n, h): (&[f32], usize, usize),
        styles: &[f32],
        t: &mut Vec<f32>,
        out: &mut Vec<f32>,
        finish: impl Fn(usize, usize, &mut [f32]) + Sync,
    ) {
        let (c, wt) = (self.c_out, 2 * h + 1);
        let threads = rayon::current_num_threads();
        // Pairs of output rows per tile: the largest phase's patches fit PATCH_VALUES, and at least
        // two tiles per thread where the batch allows.
        let pairs = (PATCH_VALUES / ((h + 1) * 4 * self.c_in)).clamp(1, h + 1).min(((h + 1) * n).div_ceil(2 * threads));
        t.resize(n * wt * wt * c, 0.0);
        t.par_chunks_mut(wt * wt * c).enumerate().for_each(|(image, t_image)| {
            let x_image = &x[image * h * h * self.c_in..][..h * h * self.c_in];
            let style = &styles[image * self.c_in..][..self.c_in];
            t_image.par_chunks_mut(2 * pairs * wt * c).enumerate().for_each(|(tile, rows)| {
                SCRATCH.with_borrow_mut(|(patches, product)| {
                    for phase in &self.phases {
                        let j0 = tile * pairs;
                        let (qy, qx) = phase.parity;
                        let (j1, width) = ((j0 + pairs).min(h + 1 - qy), h + 1 - qx);
                        let positions = j1.saturating_sub(j0) * width;
                        let row = phase.taps.len() * self.c_in;
                        patches.resize(positions * row, 0.0);
                        product.resize(positions * c, 0.0);
                        interfacegan_simd::simd!(|| self.gather(phase, (x_image, h), style, (j0, width), patches));
                        interfacegan_simd::matmul(patches, row, &phase.weight, product, 1);
                        for (p, values) in product.chunks_exact(c).enumerate() {
                            let (j, k) = (j0 + p / width, p % width);
                            let at = ((2 * (j - j0) + qy) * wt + 2 * k + qx) * c;
                            rows[at..at + c].copy_from_slice(values);
                        }
                    }
                })
            })
        });
        let side = 2 * h;
        out.resize(n * side * side * c, 0.0);
        out.par_chunks_mut(side * c).enumerate().for_each(|(row, dst)| {
            let (image, m) = (row / side, row % side);
            interfacegan_simd::simd!(|| self.filter_row(&t[image * wt * wt * c..][..wt * wt * c], wt, m, dst));
            finish(image, m, dst);
        });
    }

    /// The patches of `phase`'s positions `(j, k)`, `j` from `j0`, `k` below `width`: the taps'
    /// inputs scaled by `style`, zero outside the map.
    #[inline(always)]
    fn gather(
        &self,
        phase: &Phase,
        (x, h): (&[f32], usize),
        style: &[f32],
        (j0, width): (usize, usize),
        patches: &mut [f32],
    ) {
        let (c, taps) = (self.c_in, phase.taps.len());
        for (p, patch) in patches.chunks_exact_mut(taps * c).enumerate() {
            let (j, k) = (j0 + p / width, p % width);
            for (&(ey, ex), dst) in phase.taps.iter().zip(patch.chunks_exact_mut(c)) {
                match (j.checked_sub(ey).filter(|&y| y < h), k.checked_sub(ex).filter(|&x| x < h)) {
                    (Some(y), Some(xx)) => {
                        let src = &x[(y * h + xx) * c..][..c];
                        dst.iter_mut().zip(src).zip(style).for_each(|((d, v), s)| *d = v * s);
                    }
                    _ => dst.fill(0.0),
                }
            }
        }
    }

    /// Output row `m` of the filter over one image's transposed-convolution output `t`
    /// (`[wt, wt, c]`, zero outside): each of the 16 taps adds one contiguous run of the row.
    #[inline(always)]
    fn filter_row(&self, t: &[f32], wt: usize, m: usize, dst: &mut [f32]) {
        let (c, side) = (self.c_out, wt - 1);
        dst.fill(0.0);
        for a in 0..4 {
            let Some(r) = (m + a).checked_sub(1).filter(|&r| r < wt) else { continue };
            let source = &t[r * wt * c..][..wt * c];
            for b in 0..4 {
                // Output columns mx read input column mx + b - 1, inside [0, wt).
                let (first, last) = (1usize.saturating_sub(b), side.min(wt + 1 - b));
                let tap = self.filter[a * 4 + b];
                let src = &source[(first + b - 1) * c..(last + b - 1) * c];
                dst[first * c..last * c].iter_mut().zip(src).for_each(|(d, s)| *d += tap * s);
            }
        }
    }
}

/// A modulated convolution's product.
enum Product {
    /// Stride 1 (the 3x3 layers and ToRGB).
    Same(HostConv),
    Up(HostUpConv),
}

/// A modulated convolution (`SynthesisLayer`, `ToRGBLayer`) on the host.
pub(crate) struct HostModLayer {
    product: Product,
    finish: HostFinish,
    c_out: usize,
}

impl HostModLayer {
    /// A stride-1 layer with weight `[c_out, c_in, k, k]` (k odd, padding k / 2).
    pub fn same(weight: &[f32], [c_out, c_in, k]: [usize; 3], finish: HostFinish) -> Self {
        let conv = HostConv::new(weight, vec![0.0; c_out], [c_out, c_in, k, k], k / 2, false, Epilogue::Linear);
        Self { product: Product::Same(conv), finish, c_out }
    }

    /// The up-sampling layer: weight `[c_out, c_in, 3, 3]`, `filter` as for [`HostUpConv::new`].
    pub fn up(weight: &[f32], (c_out, c_in): (usize, usize), filter: [f32; 16], finish: HostFinish) -> Self {
        Self { product: Product::Up(HostUpConv::new(weight, (c_out, c_in), filter)), finish, c_out }
    }

    /// `x` `[n, side, side, c_in]` to the layer's output in `out`; returns the output side.
    /// `styles` `[n, c_in]`, `dcoefs` `[n, c_out]` (None: not demodulated), `noise`: whether the
    /// constant noise is added.
    fn forward(
        &self,
        (x, n, side): (&[f32], usize, usize),
        codes: &LayerCodes,
        noise: bool,
        out: &mut Vec<f32>,
    ) -> usize {
        let c = self.c_out;
        let dcoefs = |image: usize| codes.dcoefs.as_ref().map(|d| &d[image * c..][..c]);
        match &self.product {
            Product::Same(conv) => {
                let pixels = side * side;
                conv.forward_styled((x, n, side), Some(&codes.styles), out, |first, dst| {
                    interfacegan_simd::simd!(|| for (r, v) in dst.chunks_exact_mut(c).enumerate() {
                        let p = first + r;
                        self.finish.apply(v, p % pixels, dcoefs(p / pixels), noise);
                    });
                });
                side
            }
            Product::Up(up) => {
                let wide = 2 * side;
                TRANSPOSED.with_borrow_mut(|t| {
                    up.forward((x, n, side), &codes.styles, t, out, |image, m, dst| {
                        interfacegan_simd::simd!(|| for (mx, v) in dst.chunks_exact_mut(c).enumerate() {
                            self.finish.apply(v, m * wide + mx, dcoefs(image), noise);
                        });
                    })
                });
                wide
            }
        }
    }
}

/// One layer's codes for a batch: the styles `[n, c_in]` (gains folded in) and the demodulation
/// coefficients `[n, c_out]`.
pub(crate) struct LayerCodes {
    pub styles: Vec<f32>,
    pub dcoefs: Option<Vec<f32>>,
}

/// A step of the synthesis network.
pub(crate) enum HostStep<'a> {
    /// A synthesis layer on the features.
    Features(&'a HostModLayer),
    /// A ToRGB layer, its output added to the image so far up-sampled with this filter (NVIDIA's
    /// `upfirdn2d.upsample2d`, as the transposed-convolution kernel `[a·4 + b]`, gain folded in).
    Image(&'a HostModLayer, [f32; 16]),
}

/// Images `[n, channels, R, R]` (channel-first) from the constant input (`[4·4, c]`) through
/// `steps`, each with its codes.
pub(crate) fn synthesize(konst: &[f32], steps: &[(HostStep, LayerCodes)], n: usize, noise: bool) -> Vec<f32> {
    super::host::with_maps(|x, spare| {
        x.clear();
        (0..n).for_each(|_| x.extend_from_slice(konst));
        let (mut side, mut image, mut image_side, mut up) = (4, Vec::new(), 0, Vec::new());
        let mut channels = 0;
        for (step, codes) in steps {
            match step {
                HostStep::Features(layer) => {
                    side = layer.forward((x, n, side), codes, noise, spare);
                    std::mem::swap(x, spare);
                }
                HostStep::Image(layer, filter) => {
                    let mut rgb = Vec::new();
                    layer.forward((x, n, side), codes, noise, &mut rgb);
                    channels = layer.c_out;
                    if image_side != 0 {
                        upsample_image((&image, n, image_side, channels), filter, &mut up);
                        rgb.iter_mut().zip(&up).for_each(|(v, u)| *v += u);
                    }
                    (image, image_side) = (rgb, side);
                }
            }
        }
        interfacegan_simd::to_channel_first(&image, channels, image_side * image_side)
    })
}

/// `[n, h, h, c]` up-sampled to `[n, 2h, 2h, c]` in `out`: a depthwise transposed convolution of
/// stride 2 and padding 1 with `kernel` `[a·4 + b]` (input `(y, x)` reaches `(2y + a - 1, 2x + b - 1)`).
fn upsample_image((image, n, h, c): (&[f32], usize, usize, usize), kernel: &[f32; 16], out: &mut Vec<f32>) {
    let side = 2 * h;
    out.clear();
    out.resize(n * side * side * c, 0.0);
    out.par_chunks_mut(side * c).enumerate().for_each(|(row, dst)| {
        let (index, oy) = (row / side, row % side);
        for a in 0..4 {
            // Rows y with 2y + a - 1 = oy.
            let Some(t) = (oy + 1).checked_sub(a).filter(|t| t % 2 == 0 && t / 2 < h) else { continue };
            let source = &image[(index * h + t / 2) * h * c..][..h * c];
            for b in 0..4 {
                let tap = kernel[a * 4 + b];
                for (x, v) in source.chunks_exact(c).enumerate() {
                    let Some(ox) = (2 * x + b).checked_sub(1).filter(|&o| o < side) else { continue };
                    dst[ox * c..][..c].iter_mut().zip(v).for_each(|(d, v)| *d += tap * v);
                }
            }
        }
    });
}
