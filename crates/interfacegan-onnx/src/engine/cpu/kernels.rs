//! The CPU engine's kernels on channel-last (NHWC) feature maps.
//!
//! In NHWC the channels of one position are contiguous, so a convolution is one matrix product
//! (positions x taps·channels by taps·channels x output channels) over patches gathered a tile at a
//! time (im2col), and depthwise convolutions and pools are loops over whole channel vectors that
//! the compiler vectorises. Tiles run in parallel on rayon's pool (the one burn's CPU backend uses).

use interfacegan_simd::simd;
use rayon::prelude::*;

use super::values::Values;
use crate::graph::{Pool, Window};

/// Most output positions per im2col tile: a [128, K] patch block stays in the L2 cache for the
/// convolutions of our nets (K <= 2,304).
const TILE_ROWS: usize = 128;
/// Fewest positions per tile, for small late layers: below this the GEMM's blocks are mostly empty.
const MIN_TILE_ROWS: usize = 32;

/// Positions per tile for `positions` in all: as many as fit the cache, but small enough that every
/// thread gets about four tiles (a batch of 64 has only 576 positions at the age net's 3x3 maps).
fn tile_rows(positions: usize) -> usize {
    positions.div_ceil(4 * rayon::current_num_threads()).clamp(MIN_TILE_ROWS, TILE_ROWS)
}

/// The shape of an NHWC feature map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MapShape {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
}

impl MapShape {
    pub fn len(&self) -> usize {
        self.n * self.h * self.w * self.c
    }
}

/// A convolution's prepared weights.
pub(super) enum ConvWeights {
    /// Every output channel sees every input channel: `[kh·kw·c_in, c_out]`, the GEMM's right side.
    Dense(Vec<f32>),
    /// One filter per channel (groups = c_in = c_out): `[kh·kw, c]`.
    Depthwise(Vec<f32>),
}

impl ConvWeights {
    /// From ONNX weights `[c_out, c_in / groups, kh, kw]` (`shape` gives `c_in`); `None` for grouped
    /// convolutions other than depthwise.
    pub fn from_onnx(w: &[f32], shape: [usize; 4], groups: usize) -> Option<Self> {
        let [c_out, c_in, kh, kw] = shape;
        let taps = kh * kw;
        if groups == 1 {
            let mut dense = vec![0f32; w.len()];
            for o in 0..c_out {
                for i in 0..c_in {
                    for t in 0..taps {
                        dense[(t * c_in + i) * c_out + o] = w[(o * c_in + i) * taps + t];
                    }
                }
            }
            Some(Self::Dense(dense))
        } else if groups == c_in && groups == c_out {
            let mut depthwise = vec![0f32; w.len()];
            for o in 0..c_out {
                for t in 0..taps {
                    depthwise[t * c_out + o] = w[o * taps + t];
                }
            }
            Some(Self::Depthwise(depthwise))
        } else {
            None
        }
    }
}

/// A convolution with its bias and an optional ReLU applied as the tile is written.
pub(super) struct Conv {
    pub window: Window,
    pub c_in: usize,
    pub c_out: usize,
    pub weights: ConvWeights,
    pub bias: Vec<f32>,
    pub relu: bool,
    /// The filters transformed for F(2x2, 3x3) where [`super::winograd::takes`] the convolution.
    pub winograd: Option<Vec<f32>>,
}

impl Conv {
    pub fn output_shape(&self, x: MapShape) -> Option<MapShape> {
        let [h, w] = self.window.output(x.h, x.w)?;
        Some(MapShape { n: x.n, h, w, c: self.c_out })
    }

    pub fn run(&self, x: &[f32], shape: MapShape, out_shape: MapShape) -> Values {
        let mut out = Values::overwritten(out_shape.len());
        match &self.weights {
            ConvWeights::Dense(w) => self.dense(x, shape, out_shape, w, &mut out),
            ConvWeights::Depthwise(w) => self.depthwise(x, shape, out_shape, w, &mut out),
        }
        out
    }

    fn is_pointwise(&self) -> bool {
        let win = &self.window;
        win.kernel == [1, 1] && win.stride == [1, 1] && win.pads == [0; 4]
    }

    /// Tiled im2col + GEMM; a 1x1 stride-1 convolution multiplies the input rows in place. 3x3
    /// stride-1 layers go to Winograd's F(2x2, 3x3) where it was prepared and pays
    /// ([`super::winograd`]), narrow outputs to the direct kernel ([`super::direct`]).
    fn dense(&self, x: &[f32], shape: MapShape, out_shape: MapShape, w: &[f32], out: &mut [f32]) {
        if let Some(u) = &self.winograd
            && super::winograd::pays(out_shape.h, out_shape.w)
        {
            return self.winograd(x, shape, out_shape, u, out);
        }
        if super::direct::takes(self.c_out) {
            return self.direct(x, shape, out_shape, w, out);
        }
        let [kh, kw] = self.window.kernel;
        let k = kh * kw * self.c_in;
        let pointwise = self.is_pointwise();
        let rows_per_tile = tile_rows(out.len() / self.c_out);
        out.par_chunks_mut(rows_per_tile * self.c_out).enumerate().for_each_init(
            || if pointwise { Vec::new() } else { vec![0f32; rows_per_tile * k] },
            |patches, (tile, dst)| {
                let first = tile * rows_per_tile;
                let rows = dst.len() / self.c_out;
                let lhs = if pointwise {
                    &x[first * k..(first + rows) * k]
                } else {
                    self.gather(x, shape, out_shape, first, rows, &mut patches[..rows * k]);
                    &patches[..rows * k]
                };
                interfacegan_simd::matmul(lhs, k, w, dst, 1);
                simd!(|| dst.chunks_exact_mut(self.c_out).for_each(|row| add_bias(row, &self.bias, self.relu)));
            },
        );
    }

    /// The patches of output positions `first..first + rows` (batch-major), one row of
    /// `kh·kw·c_in` values each, zeros where a tap falls in the padding.
    fn gather(&self, x: &[f32], shape: MapShape, out_shape: MapShape, first: usize, rows: usize, patches: &mut [f32]) {
        let win = &self.window;
        let [kh, kw] = win.kernel;
        let c = self.c_in;
        let k = kh * kw * c;
        let contiguous_row = win.dilation[1] == 1;
        for (r, patch) in patches.chunks_exact_mut(k).enumerate().take(rows) {
            let position = first + r;
            let (n, rest) = (position / (out_shape.h * out_shape.w), position % (out_shape.h * out_shape.w));
            let (oy, ox) = (rest / out_shape.w, rest % out_shape.w);
            let image = n * shape.h * shape.w;
            for ky in 0..kh {
                let taps = &mut patch[ky * kw * c..(ky + 1) * kw * c];
                let Some(iy) = win.source(oy, ky, 0, shape.h) else {
                    taps.fill(0.0);
                    continue;
                };
                let row = (image + iy * shape.w) * c;
                // A kernel row wholly inside the input is one copy.
                let x0 = (ox * win.stride[1]).checked_sub(win.pads[1]);
                if let Some(x0) = x0.filter(|&x0| contiguous_row && x0 + kw <= shape.w) {
                    taps.copy_from_slice(&x[row + x0 * c..row + (x0 + kw) * c]);
                    continue;
                }
                for (kx, tap) in taps.chunks_exact_mut(c).enumerate() {
                    match win.source(ox, kx, 1, shape.w) {
                        Some(ix) => tap.copy_from_slice(&x[row + ix * c..row + (ix + 1) * c]),
                        None => tap.fill(0.0),
                    }
                }
            }
        }
    }

    /// One output row (all its positions and channels) per task. With a unit stride along the
    /// row, each tap is one multiply-add over a contiguous span of the row, the tap's weights
    /// repeated along it.
    fn depthwise(&self, x: &[f32], shape: MapShape, out_shape: MapShape, w: &[f32], out: &mut [f32]) {
        let win = &self.window;
        let [kh, kw] = win.kernel;
        let c = self.c_out;
        let row_len = out_shape.w * c;
        let along_row = |values: &[f32]| -> Vec<f32> { values.iter().copied().cycle().take(row_len).collect() };
        let bias_row = along_row(&self.bias);
        let unit_stride = win.stride[1] == 1;
        let tap_rows: Vec<Vec<f32>> = if unit_stride { w.chunks_exact(c).map(along_row).collect() } else { Vec::new() };
        out.par_chunks_mut(row_len).enumerate().for_each(|(row_index, dst)| {
            simd!(|| {
                let (n, oy) = (row_index / out_shape.h, row_index % out_shape.h);
                dst.copy_from_slice(&bias_row);
                for ky in 0..kh {
                    let Some(iy) = win.source(oy, ky, 0, shape.h) else { continue };
                    let row = (n * shape.h + iy) * shape.w * c;
                    for kx in 0..kw {
                        let tap = ky * kw + kx;
                        if unit_stride {
                            // Output columns whose input column ox + offset - pad lies inside the row.
                            let offset = kx * win.dilation[1];
                            let first = win.pads[1].saturating_sub(offset);
                            let end = (shape.w + win.pads[1]).saturating_sub(offset).min(out_shape.w);
                            if first >= end {
                                continue;
                            }
                            let span = first * c..end * c;
                            let source = row + (first + offset - win.pads[1]) * c;
                            let input = &x[source..source + span.len()];
                            let weights = &tap_rows[tap][span.clone()];
                            for ((a, &v), &q) in dst[span].iter_mut().zip(input).zip(weights) {
                                *a += v * q;
                            }
                        } else {
                            let weights = &w[tap * c..(tap + 1) * c];
                            for (ox, acc) in dst.chunks_exact_mut(c).enumerate() {
                                let Some(ix) = win.source(ox, kx, 1, shape.w) else { continue };
                                let at = row + ix * c;
                                for ((a, &v), &q) in acc.iter_mut().zip(&x[at..at + c]).zip(weights) {
                                    *a += v * q;
                                }
                            }
                        }
                    }
                }
                if self.relu {
                    relu(dst);
                }
            },)
        });
    }
}

#[inline(always)]
fn add_bias(row: &mut [f32], bias: &[f32], relu: bool) {
    for (v, b) in row.iter_mut().zip(bias) {
        *v += b;
        if relu {
            *v = v.max(0.0);
        }
    }
}

#[inline(always)]
pub(super) fn relu(values: &mut [f32]) {
    for v in values {
        *v = v.max(0.0);
    }
}

/// Values a thread takes at a time in [`for_each_block`].
const BLOCK_VALUES: usize = 1 << 15;

/// Runs `f(offset, block)` over `data` in blocks of whole rows of `width` values, in parallel and
/// with [`simd!`]; `offset` is the block's first index in `data`.
pub(super) fn for_each_block(data: &mut [f32], width: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let block = BLOCK_VALUES.div_ceil(width.max(1)) * width.max(1);
    data.par_chunks_mut(block).enumerate().for_each(|(i, values)| simd!(|| f(i * block, values)));
}

/// A pool over `window` of an NHWC map: one output row per task; each tap runs along the row over the
/// output columns it reaches, whole channel vectors at a time.
pub(super) fn pool(kind: Pool, window: &Window, x: &[f32], shape: MapShape, out_shape: MapShape) -> Values {
    let c = shape.c;
    let mut out = Values::overwritten(out_shape.len());
    out.par_chunks_mut(out_shape.w * c).enumerate().for_each(|(row_index, dst)| {
        simd!(|| {
            let (n, oy) = (row_index / out_shape.h, row_index % out_shape.h);
            let image = &x[n * shape.h * shape.w * c..][..shape.h * shape.w * c];
            match kind {
                Pool::Max => {
                    dst.fill(f32::NEG_INFINITY);
                    pool_row(window, image, shape, oy, dst, |a, v| *a = a.max(v));
                }
                Pool::Average { include_pad } => {
                    dst.fill(0.0);
                    pool_row(window, image, shape, oy, dst, |a, v| *a += v);
                    let rows = (0..window.kernel[0]).filter(|&ky| window.source(oy, ky, 0, shape.h).is_some()).count();
                    for (ox, acc) in dst.chunks_exact_mut(c).enumerate() {
                        let count = if include_pad {
                            padded_count(window, oy, ox, shape)
                        } else {
                            rows * (0..window.kernel[1])
                                .filter(|&kx| window.source(ox, kx, 1, shape.w).is_some())
                                .count()
                        };
                        let scale = 1.0 / count.max(1) as f32;
                        acc.iter_mut().for_each(|a| *a *= scale);
                    }
                }
            }
        },)
    });
    out
}

/// Folds every tap of the window inside `image` (`[h, w, c]`) into output row `oy` with `combine`.
#[inline(always)]
fn pool_row(
    window: &Window,
    image: &[f32],
    shape: MapShape,
    oy: usize,
    dst: &mut [f32],
    combine: impl Fn(&mut f32, f32),
) {
    let (c, out_w) = (shape.c, dst.len() / shape.c);
    let (stride, pad) = (window.stride[1], window.pads[1]);
    for ky in 0..window.kernel[0] {
        let Some(iy) = window.source(oy, ky, 0, shape.h) else { continue };
        let row = &image[iy * shape.w * c..][..shape.w * c];
        for kx in 0..window.kernel[1] {
            // Output columns whose input column ox * stride + offset - pad lies inside the row.
            let offset = kx * window.dilation[1];
            let first = pad.saturating_sub(offset).div_ceil(stride);
            let end = (shape.w + pad).saturating_sub(offset).div_ceil(stride).min(out_w);
            for ox in first..end {
                let ix = ox * stride + offset - pad;
                let (acc, v) = (&mut dst[ox * c..][..c], &row[ix * c..][..c]);
                acc.iter_mut().zip(v).for_each(|(a, &v)| combine(a, v));
            }
        }
    }
}

/// Taps of the window at `(oy, ox)` inside the padded input (ceil mode can reach beyond it).
fn padded_count(window: &Window, oy: usize, ox: usize, shape: MapShape) -> usize {
    let along = |o: usize, axis: usize, input: usize| {
        let end = input + window.pads[axis] + window.pads[axis + 2];
        (0..window.kernel[axis]).filter(|&k| o * window.stride[axis] + k * window.dilation[axis] < end).count()
    };
    along(oy, 0, shape.h) * along(ox, 1, shape.w)
}

/// `x [rows, k] · b [k, m]` into a new `[rows, m]`.
pub(super) fn matmul(x: &[f32], rows: usize, k: usize, b: &[f32], m: usize) -> Vec<f32> {
    let mut out = vec![0f32; rows * m];
    interfacegan_simd::matmul(x, k, b, &mut out, 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// A convolution straight from its definition, on NHWC maps and ONNX `[c_out, c_in/groups, kh, kw]` weights.
    fn naive_conv(
        x: &[f32],
        s: MapShape,
        w: &[f32],
        c_out: usize,
        groups: usize,
        win: &Window,
        bias: &[f32],
    ) -> Vec<f32> {
        let [oh, ow] = win.output(s.h, s.w).unwrap();
        let per_group = s.c / groups;
        let outs_per_group = c_out / groups;
        let [kh, kw] = win.kernel;
        let mut out = vec![0f32; s.n * oh * ow * c_out];
        for n in 0..s.n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for o in 0..c_out {
                        let g = o / outs_per_group;
                        let mut acc = bias[o] as f64;
                        for i in 0..per_group {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy =
                                        (oy * win.stride[0] + ky * win.dilation[0]) as isize - win.pads[0] as isize;
                                    let ix =
                                        (ox * win.stride[1] + kx * win.dilation[1]) as isize - win.pads[1] as isize;
                                    if iy < 0 || ix < 0 || iy >= s.h as isize || ix >= s.w as isize {
                                        continue;
                                    }
                                    let xv = x[((n * s.h + iy as usize) * s.w + ix as usize) * s.c + g * per_group + i];
                                    let wv = w[((o * per_group + i) * kh + ky) * kw + kx];
                                    acc += xv as f64 * wv as f64;
                                }
                            }
                        }
                        out[((n * oh + oy) * ow + ox) * c_out + o] = acc as f32;
                    }
                }
            }
        }
        out
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    fn run_conv(
        x: &[f32],
        s: MapShape,
        w: &[f32],
        c_out: usize,
        depthwise: bool,
        window: Window,
        bias: &[f32],
    ) -> Vec<f32> {
        let [kh, kw] = window.kernel;
        let groups = if depthwise { s.c } else { 1 };
        let weights = ConvWeights::from_onnx(w, [c_out, s.c, kh, kw], groups).unwrap();
        let conv = Conv { window, c_in: s.c, c_out, weights, bias: bias.to_vec(), relu: false, winograd: None };
        let out_shape = conv.output_shape(s).unwrap();
        // Recycled storage holds old values: every output must be written over them.
        drop(Values::filled(out_shape.len(), 1e30));
        conv.run(x, s, out_shape).into_vec()
    }

    #[test]
    fn convolutions_match_their_definition() {
        // 3 x 9 x 11 = 297 positions in tiles of at least 32: tile borders fall inside images.
        let s = MapShape { n: 3, h: 17, w: 21, c: 5 };
        let x = values(s.len(), 1);
        let cases = [
            // kernel, stride, dilation, pads [t, l, b, r]
            ([3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
            ([3, 2], [2, 2], [1, 2], [1, 0, 2, 1]),
            ([7, 7], [2, 2], [1, 1], [0, 0, 0, 0]),
            ([1, 1], [1, 1], [1, 1], [0, 0, 0, 0]),
            ([1, 1], [2, 2], [1, 1], [0, 0, 0, 0]),
        ];
        for (kernel, stride, dilation, pads) in cases {
            let window = Window { kernel, stride, dilation, pads, ceil: false };
            // 8 and 16 output channels take the direct kernel (with AVX2), 32 too (with AVX-512), 6 the GEMM.
            for (c_out, depthwise) in [(6, false), (5, true), (8, false), (16, false), (32, false)] {
                let per_group = if depthwise { 1 } else { s.c };
                let w = values(c_out * per_group * kernel[0] * kernel[1], 2);
                let bias = values(c_out, 3);
                let got = run_conv(&x, s, &w, c_out, depthwise, window, &bias);
                let want = naive_conv(&x, s, &w, c_out, if depthwise { s.c } else { 1 }, &window, &bias);
                let diff = max_abs_diff(&got, &want);
                assert!(diff < 1e-4, "{kernel:?} {stride:?} {dilation:?} {pads:?} depthwise {depthwise}: {diff}");
            }
        }
    }

    /// Depthwise convolutions of the nets' channel widths (8 to 128, and 24), with unit and
    /// double strides, dilation, and padding on every side.
    #[test]
    fn depthwise_convolutions_of_many_widths_match_their_definition() {
        for c in [8, 16, 24, 32, 64, 128] {
            let s = MapShape { n: 2, h: 7, w: 6, c };
            let x = values(s.len(), 7);
            let bias = values(c, 9);
            let windows = [
                ([3, 3], [1, 1], [1, 1], [1, 1, 1, 1]),
                ([3, 3], [2, 2], [1, 1], [1, 1, 1, 1]),
                ([3, 2], [2, 1], [1, 2], [1, 0, 2, 1]),
                ([5, 5], [1, 1], [1, 1], [2, 2, 2, 2]),
            ];
            for (kernel, stride, dilation, pads) in windows {
                let window = Window { kernel, stride, dilation, pads, ceil: false };
                let w = values(c * kernel[0] * kernel[1], 8);
                let got = run_conv(&x, s, &w, c, true, window, &bias);
                let want = naive_conv(&x, s, &w, c, c, &window, &bias);
                let diff = max_abs_diff(&got, &want);
                assert!(diff < 1e-5, "{c} channels, {kernel:?} stride {stride:?} dilation {dilation:?}: {diff}");
            }
        }
    }

    /// F(2x2, 3x3) on even and odd maps, every padding, 16 to 64 input and 32 or 64 output
    /// channels, with and without the ReLU, against the definition.
    #[test]
    fn winograd_convolutions_match_their_definition() {
        use super::super::winograd;
        let window = |pads| Window { kernel: [3, 3], stride: [1, 1], dilation: [1, 1], pads, ceil: false };
        if !winograd::takes(&window([1; 4]), 16, 32) {
            return; // no AVX-512: the GEMM runs these, as `convolutions_match_their_definition` checks
        }
        let cases = [
            (MapShape { n: 2, h: 8, w: 8, c: 16 }, [1, 1, 1, 1], 32),
            (MapShape { n: 3, h: 7, w: 9, c: 32 }, [1, 1, 1, 1], 64),
            (MapShape { n: 1, h: 6, w: 5, c: 16 }, [0, 0, 0, 0], 32),
            (MapShape { n: 2, h: 5, w: 6, c: 48 }, [0, 1, 2, 1], 32),
            (MapShape { n: 5, h: 14, w: 14, c: 64 }, [1, 1, 1, 1], 64),
        ];
        for (s, pads, c_out) in cases {
            let x = values(s.len(), 11);
            let w = values(c_out * s.c * 9, 12);
            let bias = values(c_out, 13);
            for relu in [false, true] {
                let weights = ConvWeights::from_onnx(&w, [c_out, s.c, 3, 3], 1).unwrap();
                let ConvWeights::Dense(dense) = &weights else { unreachable!() };
                let u = winograd::transform_filters(dense, s.c, c_out);
                let conv = Conv {
                    window: window(pads),
                    c_in: s.c,
                    c_out,
                    weights,
                    bias: bias.clone(),
                    relu,
                    winograd: Some(u),
                };
                let out_shape = conv.output_shape(s).unwrap();
                assert!(winograd::pays(out_shape.h, out_shape.w), "{out_shape:?} takes the direct paths");
                drop(Values::filled(out_shape.len(), 1e30));
                let got = conv.run(&x, s, out_shape).into_vec();
                let mut want = naive_conv(&x, s, &w, c_out, 1, &window(pads), &bias);
                if relu {
                    want.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                let diff = max_abs_diff(&got, &want);
                // Rounding only: a few ulps of the largest output (the products are f32 sums of 9·c_in terms).
                let largest = want.iter().fold(0f32, |a, v| a.max(v.abs()));
                assert!(diff <= 2e-6 * largest, "{s:?} pads {pads:?} -> {c_out}, relu {relu}: {diff}");
            }
        }
    }

    #[test]
    fn fused_relu_clamps_the_convolution() {
        let s = MapShape { n: 2, h: 5, w: 4, c: 3 };
        let x = values(s.len(), 4);
        let w = values(4 * 3 * 9, 5);
        let window = Window { kernel: [3, 3], stride: [1, 1], dilation: [1, 1], pads: [1; 4], ceil: false };
        let plain = run_conv(&x, s, &w, 4, false, window, &[0.0; 4]);
        let weights = ConvWeights::from_onnx(&w, [4, 3, 3, 3], 1).unwrap();
        let conv = Conv { window, c_in: 3, c_out: 4, weights, bias: vec![0.0; 4], relu: true, winograd: None };
        let fused = conv.run(&x, s, conv.output_shape(s).unwrap()).into_vec();
        assert!(plain.iter().any(|&v| v < 0.0));
        let want: Vec<f32> = plain.iter().map(|v| v.max(0.0)).collect();
        assert_eq!(fused, want);
    }

    fn naive_pool(kind: Pool, win: &Window, x: &[f32], s: MapShape) -> Vec<f32> {
        let [oh, ow] = win.output(s.h, s.w).unwrap();
        let mut out = Vec::new();
        for n in 0..s.n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for c in 0..s.c {
                        let (mut max, mut sum, mut inside, mut padded) = (f32::NEG_INFINITY, 0.0, 0, 0);
                        for ky in 0..win.kernel[0] {
                            for kx in 0..win.kernel[1] {
                                let iy = (oy * win.stride[0] + ky) as isize - win.pads[0] as isize;
                                let ix = (ox * win.stride[1] + kx) as isize - win.pads[1] as isize;
                                if iy < s.h as isize + win.pads[2] as isize && ix < s.w as isize + win.pads[3] as isize
                                {
                                    padded += 1;
                                }
                                if iy < 0 || ix < 0 || iy >= s.h as isize || ix >= s.w as isize {
                                    continue;
                                }
                                let v = x[((n * s.h + iy as usize) * s.w + ix as usize) * s.c + c];
                                max = max.max(v);
                                sum += v;
                                inside += 1;
                            }
                        }
                        out.push(match kind {
                            Pool::Max => max,
                            Pool::Average { include_pad: true } => sum / padded as f32,
                            Pool::Average { include_pad: false } => sum / inside as f32,
                        });
                    }
                }
            }
        }
        out
    }

    #[test]
    fn pools_match_their_definition() {
        let s = MapShape { n: 2, h: 9, w: 8, c: 3 };
        let x = values(s.len(), 6);
        for (kernel, stride, pads, ceil) in [
            ([3, 3], [2, 2], [0, 0, 1, 1], false),
            ([3, 3], [2, 2], [1, 1, 1, 1], false),
            ([2, 2], [2, 2], [0, 0, 0, 0], false),
            ([3, 2], [2, 3], [1, 0, 1, 1], true),
            ([2, 3], [1, 2], [1, 2, 0, 1], false),
        ] {
            let window = Window { kernel, stride, dilation: [1, 1], pads, ceil };
            let [h, w] = window.output(s.h, s.w).unwrap();
            let out_shape = MapShape { h, w, ..s };
            for kind in [Pool::Max, Pool::Average { include_pad: true }, Pool::Average { include_pad: false }] {
                drop(Values::filled(out_shape.len(), 1e30));
                let got = pool(kind, &window, &x, s, out_shape);
                let want = naive_pool(kind, &window, &x, s);
                assert!(max_abs_diff(&got, &want) < 1e-6, "{kind:?} {kernel:?} {stride:?} {pads:?} ceil {ceil}");
            }
        }
    }

    #[test]
    fn output_sizes_follow_onnx() {
        let window = |kernel, stride, pads, ceil| Window { kernel, stride, dilation: [1, 1], pads, ceil };
        // floor((9 + 1 - 3) / 2) + 1 = 4; ceil: 5 (the last window starts inside the input).
        assert_eq!(window([3, 3], [2, 2], [0, 0, 1, 1], false).output(9, 9), Some([4, 4]));
        assert_eq!(window([3, 3], [2, 2], [0, 0, 1, 1], true).output(9, 9), Some([5, 5]));
        // 8 + 1 - 2 = 7, ceil(7 / 2) + 1 = 5, but that window would start at 8, in the end padding: 4.
        assert_eq!(window([2, 2], [2, 2], [0, 0, 1, 1], true).output(8, 8), Some([4, 4]));
        assert_eq!(window([5, 5], [1, 1], [0; 4], false).output(4, 4), None);
    }
}
