//! Winograd's F(2x2, 3x3) for 3x3 stride-1 dense convolutions (Lavin and Gray, "Fast Algorithms
//! for Convolutional Neural Networks", 2016): the gender and age nets' 3x3 layers.
//!
//! Each 4x4 input tile `d` and 3x3 filter `g` are transformed (`Bᵀ d B`, `G g Gᵀ`) so that a 2x2
//! output tile `Aᵀ [Σ_ci (G g Gᵀ) ⊙ (Bᵀ d B)] A` costs 16 multiply-adds per channel pair instead of
//! 36: 2.25x fewer. The 16 products per tile are `[tiles, c_in] x [c_in, 32]` matrix products on
//! the direct kernel's registers ([`super::direct::product_32`]); the transforms, bias and ReLU run
//! on whole channel vectors. The transforms' coefficients are 0, ±1 and ±1/2, so results differ
//! from the direct sum by rounding only.

use std::cell::RefCell;

use interfacegan_simd::simd;
use rayon::prelude::*;

use super::kernels::{Conv, MapShape};
use crate::graph::Window;

/// Output channels per product: the direct kernel's AVX-512 block (two 16-lane vectors).
const WIDTH: usize = 32;
/// Channels the transforms take at a time (one AVX-512 vector).
const LANES: usize = 16;
/// About this many tiles per task: a task's transformed tiles (`16·tiles·c_in` values) and
/// products stay in the L2 cache.
const TILES_PER_TASK: usize = 48;

/// `G`, from a filter's three rows (or columns) to the four of its transform.
const FILTER: [[f64; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];

/// Whether a convolution with `window`, `c_in` and `c_out` runs as F(2x2, 3x3) on this CPU: 3x3,
/// stride 1, no dilation, whole vectors of input channels and whole products of output channels.
pub(super) fn takes(window: &Window, c_in: usize, c_out: usize) -> bool {
    window.kernel == [3, 3]
        && window.stride == [1, 1]
        && window.dilation == [1, 1]
        && c_in.is_multiple_of(LANES)
        && c_out.is_multiple_of(WIDTH)
        && super::direct::takes(WIDTH)
}

/// Whether an `h x w` output gains: whole 2x2 tiles are computed, so on small odd maps (a 3x3 map
/// takes four tiles for nine positions) most of the saving is lost. Asks for 1.5x fewer products.
pub(super) fn pays(h: usize, w: usize) -> bool {
    3 * 16 * h.div_ceil(2) * w.div_ceil(2) <= 2 * 9 * h * w
}

/// `G g Gᵀ` of every filter of `dense` (`[9·c_in, c_out]`, tap `3·ky + kx` major), laid out
/// `[16][c_out / 32][c_in][32]`: one `[c_in, 32]` right side per transform position and block of
/// output channels.
pub(super) fn transform_filters(dense: &[f32], c_in: usize, c_out: usize) -> Vec<f32> {
    let blocks = c_out / WIDTH;
    let mut u = vec![0f32; 16 * c_in * c_out];
    for ci in 0..c_in {
        for co in 0..c_out {
            let g = |ky: usize, kx: usize| f64::from(dense[((3 * ky + kx) * c_in + ci) * c_out + co]);
            for (a, ga) in FILTER.iter().enumerate() {
                for (b, gb) in FILTER.iter().enumerate() {
                    let sum: f64 = (0..9).map(|t| ga[t / 3] * g(t / 3, t % 3) * gb[t % 3]).sum();
                    u[(((4 * a + b) * blocks + co / WIDTH) * c_in + ci) * WIDTH + co % WIDTH] = sum as f32;
                }
            }
        }
    }
    u
}

/// A task's scratch: its tiles transformed (`[16][tiles][c_in]`) and their products
/// (`[16][c_out / 32][tiles][32]`). Kept per thread between tasks and calls: every value a task
/// reads it wrote first, and fresh memory costs page faults.
#[derive(Default)]
struct Scratch {
    tiles: Vec<f32>,
    products: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl Conv {
    /// The convolution of `x` into `out` (every value written) as F(2x2, 3x3), for convolutions
    /// [`takes`] accepts; `u` is [`transform_filters`]' layout.
    pub(super) fn winograd(&self, x: &[f32], shape: MapShape, out_shape: MapShape, u: &[f32], out: &mut [f32]) {
        assert!(takes(&self.window, self.c_in, self.c_out), "F(2x2, 3x3) does not take this convolution");
        let tile_rows = shape.n * out_shape.h.div_ceil(2);
        let per_task = TILES_PER_TASK.div_ceil(out_shape.w.div_ceil(2));
        // Consecutive tile rows write consecutive output rows (NHWC), so each task owns one run.
        let mut tasks = Vec::with_capacity(tile_rows.div_ceil(per_task));
        let mut rest = out;
        for first in (0..tile_rows).step_by(per_task) {
            let rows = first..(first + per_task).min(tile_rows);
            let out_rows: usize = rows.clone().map(|r| tile_height(r, out_shape)).sum();
            let (mine, later) = rest.split_at_mut(out_rows * out_shape.w * self.c_out);
            tasks.push((rows, mine));
            rest = later;
        }
        tasks.into_par_iter().for_each(|(rows, dst)| {
            SCRATCH.with_borrow_mut(|scratch| simd!(|| self.winograd_task(x, shape, out_shape, u, rows, dst, scratch)));
        });
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn winograd_task(
        &self,
        x: &[f32],
        shape: MapShape,
        out_shape: MapShape,
        u: &[f32],
        rows: std::ops::Range<usize>,
        dst: &mut [f32],
        scratch: &mut Scratch,
    ) {
        let tw = out_shape.w.div_ceil(2);
        let tiles = rows.len() * tw;
        let (c_in, blocks) = (self.c_in, self.c_out / WIDTH);
        grow(&mut scratch.tiles, 16 * tiles * c_in);
        grow(&mut scratch.products, 16 * blocks * tiles * WIDTH);
        for (t, (r, tx)) in rows.clone().flat_map(|r| (0..tw).map(move |tx| (r, tx))).enumerate() {
            self.transform_tile(x, shape, out_shape, r, tx, t, tiles, &mut scratch.tiles);
        }
        for position in 0..16 {
            let lhs = &scratch.tiles[position * tiles * c_in..][..tiles * c_in];
            for block in 0..blocks {
                let rhs = &u[(position * blocks + block) * c_in * WIDTH..][..c_in * WIDTH];
                let at = (position * blocks + block) * tiles * WIDTH;
                super::direct::product_32(lhs, c_in, rhs, &mut scratch.products[at..at + tiles * WIDTH]);
            }
        }
        let mut written = 0;
        for (i, r) in rows.enumerate() {
            let height = tile_height(r, out_shape);
            let len = height * out_shape.w * self.c_out;
            self.untransform_row(&scratch.products, tiles, i * tw, height, &mut dst[written..written + len]);
            written += len;
        }
    }

    /// `Bᵀ d B` of the input tile under output tile (`r`, `tx`) into tile `t` of `tiles` (zeros
    /// where the tile reaches into the padding or past the map).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn transform_tile(
        &self,
        x: &[f32],
        s: MapShape,
        out_shape: MapShape,
        r: usize,
        tx: usize,
        t: usize,
        tiles: usize,
        transformed: &mut [f32],
    ) {
        let th = out_shape.h.div_ceil(2);
        let (n, ty) = (r / th, r % th);
        let [top, left, ..] = self.window.pads;
        let source = |i: usize, j: usize| -> Option<&[f32]> {
            let y = (2 * ty + i).checked_sub(top).filter(|&y| y < s.h)?;
            let x_ = (2 * tx + j).checked_sub(left).filter(|&x_| x_ < s.w)?;
            Some(&x[((n * s.h + y) * s.w + x_) * s.c..][..s.c])
        };
        let mut sources = [[None; 4]; 4];
        for (i, row) in sources.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = source(i, j);
            }
        }
        let (mut d, mut along_rows, mut column, mut v) =
            ([[[0f32; LANES]; 4]; 4], [[[0f32; LANES]; 4]; 4], [[0f32; LANES]; 4], [[0f32; LANES]; 4]);
        for c0 in (0..self.c_in).step_by(LANES) {
            for (d, sources) in d.iter_mut().zip(&sources) {
                for (d, source) in d.iter_mut().zip(sources) {
                    match source {
                        Some(values) => d.copy_from_slice(&values[c0..c0 + LANES]),
                        None => *d = [0.0; LANES],
                    }
                }
            }
            // Bᵀ along each row (over the columns), then along each column of the result.
            for (d, e) in d.iter().zip(&mut along_rows) {
                input_transform(d, e);
            }
            for b in 0..4 {
                for (c, e) in column.iter_mut().zip(&along_rows) {
                    *c = e[b];
                }
                input_transform(&column, &mut v);
                for (a, v) in v.iter().enumerate() {
                    let at = ((4 * a + b) * tiles + t) * self.c_in + c0;
                    transformed[at..at + LANES].copy_from_slice(v);
                }
            }
        }
    }

    /// `Aᵀ m A` of the products of one tile row (its first tile `first`), plus the bias and the
    /// ReLU, into `dst`: `height` output rows.
    #[inline(always)]
    fn untransform_row(&self, products: &[f32], tiles: usize, first: usize, height: usize, dst: &mut [f32]) {
        let width = dst.len() / height / self.c_out;
        let blocks = self.c_out / WIDTH;
        let (mut m, mut along_rows) = ([[0f32; LANES]; 4], [[[0f32; LANES]; 2]; 4]);
        let (mut column, mut y) = ([[0f32; LANES]; 4], [[0f32; LANES]; 2]);
        for tx in 0..width.div_ceil(2) {
            let t = first + tx;
            for c0 in (0..self.c_out).step_by(LANES) {
                let (block, lane) = (c0 / WIDTH, c0 % WIDTH);
                // Aᵀ along each row of m, then along each of the two columns of the result.
                for (a, rows) in along_rows.iter_mut().enumerate() {
                    for (b, m) in m.iter_mut().enumerate() {
                        let at = (((4 * a + b) * blocks + block) * tiles + t) * WIDTH + lane;
                        m.copy_from_slice(&products[at..at + LANES]);
                    }
                    output_transform(&m, rows);
                }
                for j in 0..2 {
                    let ox = 2 * tx + j;
                    if ox >= width {
                        continue;
                    }
                    for (c, rows) in column.iter_mut().zip(&along_rows) {
                        *c = rows[j];
                    }
                    output_transform(&column, &mut y);
                    for (i, y) in y.iter().enumerate().take(height) {
                        let at = (i * width + ox) * self.c_out + c0;
                        for ((v, y), b) in dst[at..at + LANES].iter_mut().zip(y).zip(&self.bias[c0..c0 + LANES]) {
                            *v = if self.relu { (y + b).max(0.0) } else { y + b };
                        }
                    }
                }
            }
        }
    }
}

/// Output rows of tile row `r` (image-major): 2, or 1 for the last of an odd height.
fn tile_height(r: usize, out_shape: MapShape) -> usize {
    let th = out_shape.h.div_ceil(2);
    (out_shape.h - 2 * (r % th)).min(2)
}

/// Makes `values` at least `len` long (never shorter: a smaller task after a larger one costs nothing).
fn grow(values: &mut Vec<f32>, len: usize) {
    if values.len() < len {
        values.resize(len, 0.0);
    }
}

/// `out = Bᵀ v` for four vectors `v` of a tile's row or column, lane by lane.
#[inline(always)]
fn input_transform(v: &[[f32; LANES]; 4], out: &mut [[f32; LANES]; 4]) {
    for l in 0..LANES {
        let (a, b, c, d) = (v[0][l], v[1][l], v[2][l], v[3][l]);
        out[0][l] = a - c;
        out[1][l] = b + c;
        out[2][l] = c - b;
        out[3][l] = b - d;
    }
}

/// `out = Aᵀ v` for four vectors `v` of a product tile's row or column, lane by lane.
#[inline(always)]
fn output_transform(v: &[[f32; LANES]; 4], out: &mut [[f32; LANES]; 2]) {
    for l in 0..LANES {
        let (a, b, c, d) = (v[0][l], v[1][l], v[2][l], v[3][l]);
        out[0][l] = a + b + c;
        out[1][l] = b - c - d;
    }
}
