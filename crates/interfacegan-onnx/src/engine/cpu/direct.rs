//! Direct convolution for narrow outputs (8 or 16 channels): the smile net's first layers and
//! its pointwise products.
//!
//! With so few output channels a GEMM's blocks are mostly packing: the im2col patches and the
//! product's own copies of them cost more than the multiply-adds. Here a few output positions'
//! channels stay in vector registers while the taps stream past, read straight from the (padded)
//! map: per input value one broadcast and `c_out / 8` multiply-adds of 8 lanes. Written with AVX2
//! and FMA intrinsics (x86-64 CPUs since 2013; AVX-512 ones run it too), because the compiler
//! does not keep such register blocks in registers on its own; elsewhere, and from 32 output
//! channels on (where the GEMM's blocks fill and it is as fast), the GEMM runs.

use rayon::prelude::*;

use super::kernels::{Conv, MapShape};
use super::values::Values;

/// Whether the direct kernel runs a dense convolution with `c_out` output channels on this CPU.
pub(super) fn takes(c_out: usize) -> bool {
    matches!(c_out, 8 | 16) && interfacegan_simd::level() >= interfacegan_simd::Level::Avx2
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
            let row = Row { conv: self, source: &source, n, oy, w };
            // 12 accumulators: with the weights and the broadcast value they fit AVX2's 16 vector
            // registers (a spilled accumulator costs a load and a store per step).
            match self.c_out {
                8 => row.run::<1, 12>(dst),
                _ => row.run::<2, 6>(dst),
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

/// One output row of a direct convolution: its source, image, row and weights.
struct Row<'a> {
    conv: &'a Conv,
    source: &'a Source<'a>,
    n: usize,
    oy: usize,
    w: &'a [f32],
}

impl Row<'_> {
    /// The row into `dst`: `P` positions at a time, then one at a time; `G` groups of 8 output
    /// channels (`8·G = c_out`).
    fn run<const G: usize, const P: usize>(&self, dst: &mut [f32]) {
        let width = 8 * G;
        let whole = dst.len() / width / P * P;
        let (blocks, rest) = dst.split_at_mut(whole * width);
        for (b, block) in blocks.chunks_exact_mut(P * width).enumerate() {
            self.block::<G, P>(b * P, block);
        }
        for (i, one) in rest.chunks_exact_mut(width).enumerate() {
            self.block::<G, 1>(whole + i, one);
        }
    }

    /// Positions `ox0..ox0 + P` into `dst` (`P·8·G` values).
    fn block<const G: usize, const P: usize>(&self, ox0: usize, dst: &mut [f32]) {
        let (conv, source) = (self.conv, self.source);
        let win = &conv.window;
        let [kh, kw] = win.kernel;
        let c = source.channels;
        let step = win.stride[1] * c;
        let width = 8 * G;
        // Every tap's inputs for the P positions, checked once here for the kernel.
        let mut taps = Vec::with_capacity(kh * kw);
        for ky in 0..kh {
            let row = (self.n * source.height + self.oy * win.stride[0] + ky * win.dilation[0]) * source.width;
            for kx in 0..kw {
                let first = (row + ox0 * win.stride[1] + kx * win.dilation[1]) * c;
                let weights = &self.w[(ky * kw + kx) * c * width..][..c * width];
                taps.push((&source.values[first..first + (P - 1) * step + c], weights));
            }
        }
        assert!(conv.bias.len() == width && dst.len() == P * width, "direct block shapes");
        // SAFETY: `takes` admitted this kernel only where the CPU has AVX2 and FMA; every input
        // slice holds the P positions' `c` channels at `step` apart and every weight slice
        // `c·8·G` values (sliced above), the bias and `dst` were checked just now.
        unsafe { x86::block::<G, P>(&taps, c, step, &conv.bias, conv.relu, dst) }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `dst[p, :] = bias + Σ_taps Σ_ci input[p·step + ci] · weights[ci, :]` for `P` positions and
    /// `8·G` output channels, with the ReLU when `relu`.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; each tap's input holds at least `(P - 1)·step + c` values and its
    /// weights `c·8·G`; `bias` holds `8·G` values and `dst` `P·8·G`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn block<const G: usize, const P: usize>(
        taps: &[(&[f32], &[f32])],
        c: usize,
        step: usize,
        bias: &[f32],
        relu: bool,
        dst: &mut [f32],
    ) {
        // SAFETY (all loads and stores below): within the lengths the caller guarantees.
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); G]; P];
            for lanes in &mut acc {
                for (g, a) in lanes.iter_mut().enumerate() {
                    *a = _mm256_loadu_ps(bias.as_ptr().add(8 * g));
                }
            }
            for (input, weights) in taps {
                let (input, weights) = (input.as_ptr(), weights.as_ptr());
                for ci in 0..c {
                    let row = weights.add(ci * 8 * G);
                    let w: [__m256; G] = std::array::from_fn(|g| _mm256_loadu_ps(row.add(8 * g)));
                    for (p, lanes) in acc.iter_mut().enumerate() {
                        let v = _mm256_broadcast_ss(&*input.add(p * step + ci));
                        for (a, w) in lanes.iter_mut().zip(&w) {
                            *a = _mm256_fmadd_ps(v, *w, *a);
                        }
                    }
                }
            }
            let zero = _mm256_setzero_ps();
            for (p, lanes) in acc.iter().enumerate() {
                for (g, &a) in lanes.iter().enumerate() {
                    let a = if relu { _mm256_max_ps(a, zero) } else { a };
                    _mm256_storeu_ps(dst.as_mut_ptr().add((p * G + g) * 8), a);
                }
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod x86 {
    /// Never called: [`takes`](super::takes) needs x86-64's AVX2.
    pub(super) unsafe fn block<const G: usize, const P: usize>(
        _: &[(&[f32], &[f32])],
        _: usize,
        _: usize,
        _: &[f32],
        _: bool,
        _: &mut [f32],
    ) {
        unreachable!("the direct kernel runs only where AVX2 is")
    }
}
