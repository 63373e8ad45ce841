//! Dense float32 kernels in the SIMD level `interfacegan-simd` chose for the running CPU.

use std::sync::OnceLock;

use interfacegan_simd::Level;

type DotFn = fn(&[f32], &[f32]) -> f64;
type WideDotFn = fn(&[f32], &[f64]) -> f64;

/// Lanes of independent partial sums: enough to hide FMA latency on 512-bit units.
const LANES: usize = 64;

macro_rules! dot_body {
    ($a:expr, $b:expr, $fma:expr) => {{
        let (a, b) = ($a, $b);
        let n = a.len().min(b.len());
        let split = n - n % LANES;
        let mut acc = [0f32; LANES];
        for (ca, cb) in a[..split].chunks_exact(LANES).zip(b[..split].chunks_exact(LANES)) {
            for k in 0..LANES {
                acc[k] = $fma(ca[k], cb[k], acc[k]);
            }
        }
        // Lane sums widened and added eight at a time: a sequential sum of the 64 lanes would
        // cost more than the products themselves.
        let mut wide = [0f64; 8];
        for chunk in acc.chunks_exact(8) {
            for k in 0..8 {
                wide[k] += chunk[k] as f64;
            }
        }
        let mut total = ((wide[0] + wide[4]) + (wide[1] + wide[5])) + ((wide[2] + wide[6]) + (wide[3] + wide[7]));
        for k in split..n {
            total += a[k] as f64 * b[k] as f64;
        }
        total
    }};
}

/// `a . b` with float64 products and sums throughout: for margins that must be accurate to far
/// better than float32's 1e-7 (at a small smoothing width a multiplier is `(1 - m) / delta`).
macro_rules! wide_dot_body {
    ($a:expr, $b:expr, $fma:expr) => {{
        const W: usize = 32;
        let (a, b) = ($a, $b);
        let n = a.len().min(b.len());
        let split = n - n % W;
        let mut acc = [0f64; W];
        for (ca, cb) in a[..split].chunks_exact(W).zip(b[..split].chunks_exact(W)) {
            for k in 0..W {
                acc[k] = $fma(ca[k] as f64, cb[k], acc[k]);
            }
        }
        let mut wide = [0f64; 8];
        for chunk in acc.chunks_exact(8) {
            for k in 0..8 {
                wide[k] += chunk[k];
            }
        }
        let mut total = ((wide[0] + wide[4]) + (wide[1] + wide[5])) + ((wide[2] + wide[6]) + (wide[3] + wide[7]));
        for k in split..n {
            total += a[k] as f64 * b[k];
        }
        total
    }};
}

fn dot_portable(a: &[f32], b: &[f32]) -> f64 {
    dot_body!(a, b, |x: f32, y: f32, z: f32| x * y + z)
}

fn wide_dot_portable(a: &[f32], b: &[f64]) -> f64 {
    wide_dot_body!(a, b, |x: f64, y: f64, z: f64| x * y + z)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::LANES;

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_avx2_impl(a: &[f32], b: &[f32]) -> f64 {
        dot_body!(a, b, f32::mul_add)
    }

    #[target_feature(enable = "avx512f,fma")]
    unsafe fn dot_avx512_impl(a: &[f32], b: &[f32]) -> f64 {
        dot_body!(a, b, f32::mul_add)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn wide_dot_avx2_impl(a: &[f32], b: &[f64]) -> f64 {
        wide_dot_body!(a, b, f64::mul_add)
    }

    #[target_feature(enable = "avx512f,fma")]
    unsafe fn wide_dot_avx512_impl(a: &[f32], b: &[f64]) -> f64 {
        wide_dot_body!(a, b, f64::mul_add)
    }

    pub(super) fn wide_dot_avx2(a: &[f32], b: &[f64]) -> f64 {
        // SAFETY: only selected for `Level::Avx2`, which `interfacegan_simd` names only when the CPU has it.
        unsafe { wide_dot_avx2_impl(a, b) }
    }

    pub(super) fn wide_dot_avx512(a: &[f32], b: &[f64]) -> f64 {
        // SAFETY: only selected for `Level::Avx512`, which `interfacegan_simd` names only when the CPU has it.
        unsafe { wide_dot_avx512_impl(a, b) }
    }

    pub(super) fn dot_avx2(a: &[f32], b: &[f32]) -> f64 {
        // SAFETY: only selected for `Level::Avx2`, which `interfacegan_simd` names only when the CPU has it.
        unsafe { dot_avx2_impl(a, b) }
    }

    pub(super) fn dot_avx512(a: &[f32], b: &[f32]) -> f64 {
        // SAFETY: only selected for `Level::Avx512`, which `interfacegan_simd` names only when the CPU has it.
        unsafe { dot_avx512_impl(a, b) }
    }
}

/// The kernels compiled for one SIMD level.
struct Kernels {
    dot: DotFn,
    wide_dot: WideDotFn,
}

impl Kernels {
    fn for_level(level: Level) -> Self {
        match level {
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => Kernels { dot: x86::dot_avx512, wide_dot: x86::wide_dot_avx512 },
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => Kernels { dot: x86::dot_avx2, wide_dot: x86::wide_dot_avx2 },
            _ => Kernels { dot: dot_portable, wide_dot: wide_dot_portable },
        }
    }
}

/// The kernels of the level [`interfacegan_simd::level`] chose for this process.
fn dispatch() -> &'static Kernels {
    static CHOICE: OnceLock<Kernels> = OnceLock::new();
    CHOICE.get_or_init(|| Kernels::for_level(interfacegan_simd::level()))
}

/// Dot product of two float32 vectors (float32 partial sums in SIMD lanes, combined in float64).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    (dispatch().dot)(a, b)
}

/// `a . b` with float64 products and sums (float32 `a` widened exactly).
#[inline]
pub fn wide_dot(a: &[f32], b: &[f64]) -> f64 {
    (dispatch().wide_dot)(a, b)
}

/// The first non-finite value of row-major `values` (rows of `dim`), as (row, column), on all cores
/// when there is enough to scan. Each row is tested branch-free, which vectorises; the scalar
/// search only runs inside a bad row.
pub fn first_non_finite(values: &[f32], dim: usize) -> Option<(usize, usize)> {
    use rayon::prelude::*;
    let dim = dim.max(1);
    let bad = |r: &[f32]| !r.iter().fold(true, |all, v| all & v.is_finite());
    let row = if values.len() < PARALLEL_WORK {
        values.chunks_exact(dim).position(bad)
    } else {
        values.par_chunks_exact(dim).position_first(bad)
    }?;
    let column = values[row * dim..(row + 1) * dim].iter().position(|v| !v.is_finite()).unwrap_or(0);
    Some((row, column))
}

/// Dot product of two float64 vectors with independent partial sums (vectorisable).
#[inline]
pub fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
    const W: usize = 8;
    let n = a.len().min(b.len());
    let split = n - n % W;
    let mut acc = [0f64; W];
    for (ca, cb) in a[..split].chunks_exact(W).zip(b[..split].chunks_exact(W)) {
        for k in 0..W {
            acc[k] += ca[k] * cb[k];
        }
    }
    let mut total: f64 = acc.iter().sum();
    for k in split..n {
        total += a[k] * b[k];
    }
    total
}

/// `acc += s * row`, the float32 row widened exactly: how `w = sum alpha_i y_i x_i` and the
/// gradients are accumulated.
#[inline]
pub fn add_scaled(acc: &mut [f64], s: f64, row: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(row) {
        *a += s * v as f64;
    }
}

/// The listed rows of a row-major float32 matrix of width `dim`, widened to float64 (exactly)
/// and packed contiguously, ready for a float64 matrix product.
pub fn gather_f64(x: &[f32], dim: usize, rows: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows.len() * dim);
    for &i in rows {
        out.extend(x[i * dim..(i + 1) * dim].iter().map(|&v| v as f64));
    }
    out
}

/// Below this many multiply-adds a product runs on the calling thread: splitting it would cost
/// more than it saves.
const PARALLEL_WORK: usize = 1 << 20;

/// `out[i] = f(rows[i])` for the rows of width `width`, on all cores when there is enough work.
fn map_rows(rows: &[f32], width: usize, out: &mut [f64], f: impl Fn(&[f32]) -> f64 + Sync) {
    const CHUNK: usize = 256;
    let run = |(rows, out): (&[f32], &mut [f64])| {
        for (o, row) in out.iter_mut().zip(rows.chunks_exact(width)) {
            *o = f(row);
        }
    };
    if rows.len() < PARALLEL_WORK || rayon::current_num_threads() == 1 {
        run((rows, out));
    } else {
        use rayon::prelude::*;
        rows.par_chunks(CHUNK * width).zip(out.par_chunks_mut(CHUNK)).for_each(run);
    }
}

/// `out[i] = rows[i] . v` in float64 throughout (about twice the cost of [`gemv`]).
pub fn gemv_wide(rows: &[f32], v: &[f64], out: &mut [f64]) {
    let f = dispatch().wide_dot;
    map_rows(rows, v.len(), out, |row| f(row, v));
}

/// `out[i] = rows[i] . v` for a row-major `rows` of width `v.len()`.
pub fn gemv(rows: &[f32], v: &[f32], out: &mut [f64]) {
    let f = dispatch().dot;
    map_rows(rows, v.len(), out, |row| f(row, v));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_non_finite_names_row_and_column() {
        let mut values = vec![1.0f32; 5 * 7];
        assert_eq!(first_non_finite(&values, 7), None);
        values[3 * 7 + 4] = f32::INFINITY;
        values[4 * 7 + 1] = f32::NAN;
        assert_eq!(first_non_finite(&values, 7), Some((3, 4)));
        // Large enough to be scanned on all cores: still the first bad row.
        let mut many = vec![0.5f32; PARALLEL_WORK * 2];
        assert_eq!(first_non_finite(&many, 512), None);
        many[1500 * 512 + 7] = f32::NEG_INFINITY;
        many[3000 * 512] = f32::NAN;
        assert_eq!(first_non_finite(&many, 512), Some((1500, 7)));
    }

    #[test]
    fn all_paths_agree_with_f64() {
        let a: Vec<f32> = (0..517).map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0).collect();
        let b: Vec<f32> = (0..517).map(|i| ((i * 53 % 97) as f32 - 48.0) / 13.0).collect();
        let exact: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
        for level in interfacegan_simd::available() {
            let k = Kernels::for_level(level);
            assert!(((k.dot)(&a, &b) - exact).abs() < 1e-4 * exact.abs().max(1.0), "{level:?}");
        }
    }

    #[test]
    fn wide_paths_are_exact_to_float64() {
        let a: Vec<f32> = (0..517).map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0).collect();
        // Weights that float32 cannot hold: the wide kernels must not round them.
        let b: Vec<f64> = (0..517).map(|i| ((i * 53 % 97) as f64 - 48.0) / 13.0 + 1e-9 * i as f64).collect();
        let exact: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y).sum();
        for level in interfacegan_simd::available() {
            let k = Kernels::for_level(level);
            assert!(((k.wide_dot)(&a, &b) - exact).abs() < 1e-12 * exact.abs().max(1.0), "{level:?}");
        }
    }
}
