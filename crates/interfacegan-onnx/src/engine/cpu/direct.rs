//! Direct convolution for narrow outputs (8, 16 or 32 channels): the smile net's first layers and
//! pointwise products, the gender net's first layer; and the same registers as a plain
//! `[rows, k] x [k, 32]` product ([`product_32`]) for the Winograd convolution.
//!
//! With so few output channels a GEMM's blocks are mostly packing: the im2col patches and the
//! product's own copies of them cost more than the multiply-adds. Here a few output positions'
//! channels stay in vector registers while the taps stream past, read straight from the (padded)
//! map: per input value one broadcast and `c_out / lanes` multiply-adds. Written with intrinsics
//! (AVX2 and FMA for 8 and 16 channels; AVX-512, whose 32 registers hold six positions' worth, for
//! 32), because the compiler does not keep such register blocks in registers on its own; without
//! those instruction sets, and for other widths, the GEMM runs.

use rayon::prelude::*;

use super::kernels::{Conv, MapShape};
use super::values::Values;

/// Whether the direct kernel runs a dense convolution with `c_out` output channels on this CPU:
/// 8 or 16 with AVX2, 32 with AVX-512 (whose 32 registers hold the accumulators of six positions).
pub(super) fn takes(c_out: usize) -> bool {
    use interfacegan_simd::{Level, level};
    match c_out {
        8 | 16 => level() >= Level::Avx2,
        32 => level() >= Level::Avx512,
        _ => false,
    }
}

/// A map laid out for the kernel: padded so that every tap of every output position is inside.
struct Source<'a> {
    values: &'a [f32],
    height: usize,
    width: usize,
    channels: usize,
}

impl Conv {
    /// The convolution of `x` into `out` (every value written), for output channels [`takes`]
    /// accepts; `w` is the dense `[kh·kw·c_in, c_out]` weight.
    pub(super) fn direct(&self, x: &[f32], shape: MapShape, out_shape: MapShape, w: &[f32], out: &mut [f32]) {
        // The kernels' instruction sets are safe to run only where `takes` found them.
        assert!(takes(self.c_out), "the direct kernel does not take {} output channels on this CPU", self.c_out);
        let padded;
        let source = if self.window.pads == [0; 4] {
            Source { values: x, height: shape.h, width: shape.w, channels: shape.c }
        } else {
            padded = self.padded(x, shape);
            let [top, left, bottom, right] = self.window.pads;
            Source { values: &padded, height: shape.h + top + bottom, width: shape.w + left + right, channels: shape.c }
        };
        out.par_chunks_mut(out_shape.w * self.c_out).enumerate().for_each(|(row_index, dst)| {
            let (n, oy) = (row_index / out_shape.h, row_index % out_shape.h);
            let row = Row::new(self, &source, n, oy, w);
            // 12 accumulators: with the weights and the broadcast value they fit AVX2's 16 vector
            // registers (a spilled accumulator costs a load and a store per step).
            match self.c_out {
                8 => row.run::<8, 1, 12>(dst),
                16 => row.run::<8, 2, 6>(dst),
                _ => row.run::<16, 2, 6>(dst),
            }
        });
    }

    /// `x` with the window's zero padding around every image.
    fn padded(&self, x: &[f32], s: MapShape) -> Values {
        let [top, left, bottom, right] = self.window.pads;
        let (height, width) = (s.h + top + bottom, s.w + left + right);
        let mut padded = Values::filled(s.n * height * width * s.c, 0.0);
        let image = height * width * s.c;
        padded.par_chunks_mut(image).zip(x.par_chunks(s.h * s.w * s.c)).for_each(|(dst, src)| {
            for (y, row) in src.chunks_exact(s.w * s.c).enumerate() {
                let at = ((y + top) * width + left) * s.c;
                dst[at..at + row.len()].copy_from_slice(row);
            }
        });
        padded
    }
}

/// `dst = x · w` for `x` `[rows, k]` and `w` `[k, 32]` (`dst` `[rows, 32]`, every value written),
/// on the kernel's AVX-512 registers: the Winograd convolution's products, too small and too many
/// for the GEMM's packing to pay.
pub(super) fn product_32(x: &[f32], k: usize, w: &[f32], dst: &mut [f32]) {
    // The AVX-512 kernel is safe to run only where `takes` found it.
    assert!(takes(32), "the direct kernel does not take 32 output channels on this CPU");
    assert!(k > 0 && w.len() == k * 32 && x.len().is_multiple_of(k) && dst.len() == x.len() / k * 32, "product shapes");
    const NO_BIAS: [f32; 32] = [0.0; 32];
    let taps = [(0, w)];
    let rows = x.len() / k;
    let whole = rows / 6 * 6;
    let args = |row: usize| (x, &taps[..], row * k, k, k, &NO_BIAS[..], false);
    for (block, dst) in dst[..whole * 32].chunks_exact_mut(6 * 32).enumerate() {
        // SAFETY: AVX-512 is there (asserted); rows `6·block..6·block + 6` of `x` are inside it,
        // `w` holds `k·32` values, the bias 32 and `dst` `6·32`.
        unsafe { x86::block_avx512::<2, 6>(args(6 * block), dst) }
    }
    for (i, dst) in dst[whole * 32..].chunks_exact_mut(32).enumerate() {
        // SAFETY: as above, for the one row `whole + i`.
        unsafe { x86::block_avx512::<2, 1>(args(whole + i), dst) }
    }
}

/// One output row of a direct convolution: its source, every tap's offset in it (for the row's
/// first position) with the tap's weights, and the convolution.
struct Row<'a> {
    conv: &'a Conv,
    source: &'a Source<'a>,
    taps: Vec<(usize, &'a [f32])>,
}

impl<'a> Row<'a> {
    fn new(conv: &'a Conv, source: &'a Source<'a>, n: usize, oy: usize, w: &'a [f32]) -> Self {
        let win = &conv.window;
        let [kh, kw] = win.kernel;
        let c = source.channels;
        let mut taps = Vec::with_capacity(kh * kw);
        for ky in 0..kh {
            let row = (n * source.height + oy * win.stride[0] + ky * win.dilation[0]) * source.width;
            for kx in 0..kw {
                let weights = &w[(ky * kw + kx) * c * conv.c_out..][..c * conv.c_out];
                taps.push(((row + kx * win.dilation[1]) * c, weights));
            }
        }
        Self { conv, source, taps }
    }

    /// The row into `dst`: `P` positions at a time, then one at a time; `G` vectors of `LANES`
    /// output channels each (`LANES·G = c_out`; 8 lanes are AVX2's, 16 AVX-512's).
    fn run<const LANES: usize, const G: usize, const P: usize>(&self, dst: &mut [f32]) {
        let width = LANES * G;
        let whole = dst.len() / width / P * P;
        let (blocks, rest) = dst.split_at_mut(whole * width);
        for (b, block) in blocks.chunks_exact_mut(P * width).enumerate() {
            self.block::<LANES, G, P>(b * P, block);
        }
        for (i, one) in rest.chunks_exact_mut(width).enumerate() {
            self.block::<LANES, G, 1>(whole + i, one);
        }
    }

    /// Positions `ox0..ox0 + P` into `dst` (`P·LANES·G` values).
    fn block<const LANES: usize, const G: usize, const P: usize>(&self, ox0: usize, dst: &mut [f32]) {
        let conv = self.conv;
        let c = self.source.channels;
        let step = conv.window.stride[1] * c;
        let shift = ox0 * step;
        // The taps' offsets grow with the tap, so the last one reaches furthest.
        let reach = self.taps.last().map_or(0, |&(base, _)| base + shift + (P - 1) * step + c);
        assert!(
            reach <= self.source.values.len()
                && conv.bias.len() == LANES * G
                && dst.len() == P * LANES * G
                && self.taps.iter().all(|(_, w)| w.len() == c * LANES * G),
            "direct block shapes"
        );
        let args = (self.source.values, self.taps.as_slice(), shift, c, step, conv.bias.as_slice(), conv.relu);
        // SAFETY: `takes` admitted 8 lanes only where the CPU has AVX2 and FMA and 16 only where it
        // has AVX-512; every tap's P positions lie inside the source (`reach`, checked above, is
        // the furthest), every weight slice holds `c·LANES·G` values, the bias `LANES·G` and `dst`
        // `P·LANES·G`.
        unsafe { if LANES == 8 { x86::block_avx2::<G, P>(args, dst) } else { x86::block_avx512::<G, P>(args, dst) } }
    }
}

/// A block's source values, taps (offset of the row's first position, weights), the block's shift
/// from the row's first position, input channels, step between positions, bias and ReLU.
type BlockArgs<'a> = (&'a [f32], &'a [(usize, &'a [f32])], usize, usize, usize, &'a [f32], bool);

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::BlockArgs;

    /// Defines `$name::<G, P>`: `dst[p, :] = bias + Σ_taps Σ_ci source[base + shift + p·step + ci] ·
    /// weights[ci, :]` for `P` positions and `G` vectors of `$lanes` output channels, with the
    /// ReLU when asked, on the instruction set `$features` and its vector type and intrinsics.
    macro_rules! block_kernel {
        ($name:ident, $features:literal, $lanes:literal, $vector:ty, $zero:ident, $load:ident, $splat:ident,
         $fmadd:ident, $max:ident, $store:ident) => {
            /// # Safety
            /// The CPU has the instruction sets this is compiled for; every tap's P positions lie
            /// inside the source, its weights hold `c·LANES·G` values, the bias `LANES·G` and
            /// `dst` `P·LANES·G`.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn $name<const G: usize, const P: usize>(args: BlockArgs<'_>, dst: &mut [f32]) {
                let (source, taps, shift, c, step, bias, relu) = args;
                // SAFETY (every load and store below): within the lengths the caller guarantees.
                unsafe {
                    let mut acc: [[$vector; G]; P] = [[$zero(); G]; P];
                    for vectors in &mut acc {
                        for (g, a) in vectors.iter_mut().enumerate() {
                            *a = $load(bias.as_ptr().add($lanes * g));
                        }
                    }
                    for &(base, weights) in taps {
                        let (input, weights) = (source.as_ptr().add(base + shift), weights.as_ptr());
                        for ci in 0..c {
                            let row = weights.add(ci * $lanes * G);
                            let w: [$vector; G] = std::array::from_fn(|g| $load(row.add($lanes * g)));
                            for (p, vectors) in acc.iter_mut().enumerate() {
                                let v = $splat(*input.add(p * step + ci));
                                for (a, w) in vectors.iter_mut().zip(&w) {
                                    *a = $fmadd(v, *w, *a);
                                }
                            }
                        }
                    }
                    for (p, vectors) in acc.iter().enumerate() {
                        for (g, &a) in vectors.iter().enumerate() {
                            let a = if relu { $max(a, $zero()) } else { a };
                            $store(dst.as_mut_ptr().add((p * G + g) * $lanes), a);
                        }
                    }
                }
            }
        };
    }

    block_kernel!(
        block_avx2,
        "avx2,fma",
        8,
        __m256,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_max_ps,
        _mm256_storeu_ps
    );
    block_kernel!(
        block_avx512,
        "avx512f",
        16,
        __m512,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_max_ps,
        _mm512_storeu_ps
    );
}

#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    use super::BlockArgs;

    /// Never called: [`takes`](super::takes) needs x86-64's AVX2.
    pub(super) unsafe fn block_avx2<const G: usize, const P: usize>(_: BlockArgs<'_>, _: &mut [f32]) {
        unreachable!("the direct kernel runs only where AVX2 is")
    }

    /// Never called: [`takes`](super::takes) needs x86-64's AVX-512.
    pub(super) unsafe fn block_avx512<const G: usize, const P: usize>(_: BlockArgs<'_>, _: &mut [f32]) {
        unreachable!("the direct kernel runs only where AVX-512 is")
    }
}
