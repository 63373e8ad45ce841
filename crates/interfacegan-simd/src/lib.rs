//! Run-time SIMD dispatch: the widest instruction set the running CPU has, chosen once per process.
//!
//! A portable x86-64 build may only assume SSE2, and `-C target-cpu=native` makes binaries that
//! crash on older CPUs. Hot loops are therefore written as plain Rust, compiled once per [`Level`]
//! (each a `#[target_feature]` function) and run in the widest level [`available`] on this CPU.
//!
//! ```
//! use interfacegan_simd::{Level, available, level, simd, with_level};
//! let squares = |n: u32| (0..n).map(|i| (i * i) as f32).sum::<f32>();
//! let sum = simd!(|| squares(100));
//! assert_eq!(sum, 328_350.0);
//! // Every level this CPU runs gives the same answer here (integers, exact in f32).
//! for level in available() {
//!     assert_eq!(with_level(level, #[inline(always)] || squares(100)), sum);
//! }
//! assert!(available().contains(&level()) && available()[0] == Level::Portable);
//! ```
#![warn(missing_docs)]

use std::sync::OnceLock;

/// An instruction set the dispatched code is compiled for, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The baseline of the target (SSE2 on x86-64); the only level on other architectures.
    Portable,
    /// AVX2 with FMA (x86-64, since 2013).
    Avx2,
    /// AVX-512 F and VL, with AVX2 and FMA (x86-64 servers since 2017).
    Avx512,
}

impl Level {
    /// `"portable"`, `"avx2"` or `"avx512"`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }
}

/// The widest level this CPU can run, whatever the environment says.
fn widest_supported() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        if avx2 && is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vl") {
            return Level::Avx512;
        }
        if avx2 {
            return Level::Avx2;
        }
    }
    Level::Portable
}

/// Every level this CPU can run, narrowest first (always starting with [`Level::Portable`]).
pub fn available() -> Vec<Level> {
    let widest = widest_supported();
    [Level::Portable, Level::Avx2, Level::Avx512].into_iter().filter(|&l| l <= widest).collect()
}

/// The level dispatched code runs in: the widest [`available`] one, or [`Level::Portable`] when
/// the environment variable `INTERFACEGAN_NO_SIMD` is set. Chosen on first use, then fixed.
pub fn level() -> Level {
    static CHOSEN: OnceLock<Level> = OnceLock::new();
    *CHOSEN.get_or_init(|| match std::env::var_os("INTERFACEGAN_NO_SIMD") {
        Some(_) => Level::Portable,
        None => widest_supported(),
    })
}

/// Runs `f` compiled for [`level`]. Only code inlined into the level's function is compiled for
/// the level, so pass the closure as `#[inline(always)] || ...` (what [`simd!`] does) and mark what
/// it calls `#[inline(always)]`: the compiler inlines an unmarked closure only when it finds it
/// small, and a larger one stays baseline (SSE2) code, silently.
#[inline(always)]
pub fn with_simd<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: `level` never names a level the CPU lacks.
    unsafe { run_at(level(), f) }
}

/// `simd!(|| body)`: [`with_simd`] with the closure marked `#[inline(always)]`, so that the body is
/// compiled for the level however large it is.
///
/// ```
/// let values = [1.0f32, 2.0, 3.0];
/// let sum = interfacegan_simd::simd!(|| values.iter().map(|v| v * v).sum::<f32>());
/// assert_eq!(sum, 14.0);
/// ```
#[macro_export]
macro_rules! simd {
    ($($closure:tt)*) => {
        $crate::with_simd(#[inline(always)] $($closure)*)
    };
}

/// Runs `f` compiled for `level`, or for the widest available level below it when this CPU
/// cannot run `level`: for tests and benchmarks that compare the levels.
pub fn with_level<R>(level: Level, f: impl FnOnce() -> R) -> R {
    // SAFETY: clamped to what the CPU runs.
    unsafe { run_at(level.min(widest_supported()), f) }
}

/// # Safety
/// The CPU must support `level`.
#[inline(always)]
unsafe fn run_at<R>(level: Level, f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        match level {
            // SAFETY: the caller guarantees the CPU has the level's features.
            Level::Avx512 => return unsafe { avx512(f) },
            // SAFETY: as above.
            Level::Avx2 => return unsafe { avx2(f) },
            Level::Portable => {}
        }
    }
    let _ = level;
    f()
}

/// Defines `fn $name` whose body is compiled for every [`Level`] and runs in [`level`]'s: plain
/// loops (over `f64` factor updates, say) then vectorise for AVX-512 or AVX2 rather than the
/// baseline. Unlike [`with_simd`], the body is a function of its own, so nothing depends on the
/// inliner.
///
/// ```
/// interfacegan_simd::simd_fn! {
///     /// `a . b`.
///     pub fn dot(a: &[f64], b: &[f64]) -> f64 {
///         a.iter().zip(b).map(|(x, y)| x * y).sum()
///     }
/// }
/// assert_eq!(dot(&[1.0, 2.0], &[3.0, 4.0]), 11.0);
/// ```
#[macro_export]
macro_rules! simd_fn {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[inline(always)]
            fn body($($arg: $ty),*) -> $ret $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) -> $ret {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) -> $ret {
                    body($($arg),*)
                }
                match $crate::level() {
                    // SAFETY: `level` names an instruction set only when the CPU has it.
                    $crate::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    $crate::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::Level::Portable => {}
                }
            }
            body($($arg),*)
        }
    };
}

/// `dst [rows, n] = lhs [rows, k] · rhs [k, n]`, all row-major `f32`, with the `gemm` crate's
/// kernels for the running CPU, on `threads` threads of rayon's pool (1: the calling thread alone,
/// for engines that run their tiles in parallel themselves). `rows` and `n` follow from the lengths.
///
/// ```
/// let mut dst = [0f32; 2];
/// interfacegan_simd::matmul(&[1.0, 2.0, 3.0, 4.0], 2, &[1.0, 1.0], &mut dst, 1);
/// assert_eq!(dst, [3.0, 7.0]);
/// ```
///
/// # Panics
/// When the lengths do not make `[rows, k]`, `[k, n]` and `[rows, n]`.
pub fn matmul(lhs: &[f32], k: usize, rhs: &[f32], dst: &mut [f32], threads: usize) {
    assert!(k > 0 && rhs.len().is_multiple_of(k), "the right side is not [k, n]");
    let n = rhs.len() / k;
    let rows = dst.len().checked_div(n).unwrap_or(0);
    assert!(lhs.len() == rows * k && dst.len() == rows * n, "product shapes");
    if rows == 0 || n == 0 {
        return;
    }
    // SAFETY: `lhs` is [rows, k], `rhs` is [k, n] and `dst` is [rows, n], all row-major and
    // contiguous (checked above), as the strides passed say; `dst` does not overlap the others.
    unsafe {
        gemm::gemm(
            rows,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            1,
            k as isize,
            rhs.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None },
        );
    }
}

/// Every `[rows, cols]` matrix of `x` (row-major, one after the other) transposed to `[cols, rows]`.
///
/// ```
/// assert_eq!(interfacegan_simd::transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
/// ```
pub fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    let matrix = (rows * cols).max(1);
    for (src, dst) in x.chunks_exact(matrix).zip(out.chunks_exact_mut(matrix)) {
        for (r, row) in src.chunks_exact(cols.max(1)).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                dst[c * rows + r] = v;
            }
        }
    }
    out
}

/// Channel-last maps `[n, pixels, channels]` (NHWC) as channel-first `[n, channels, pixels]`
/// (NCHW, burn's and ONNX's layout): what the CPU engines hand back.
pub fn to_channel_first(x: &[f32], channels: usize, pixels: usize) -> Vec<f32> {
    transpose(x, pixels, channels)
}

/// Channel-first maps `[n, channels, pixels]` as channel-last `[n, pixels, channels]`: what the
/// CPU engines work on.
pub fn to_channel_last(x: &[f32], channels: usize, pixels: usize) -> Vec<f32> {
    transpose(x, channels, pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip() {
        // Two images of 2 channels x 3 pixels, channel-first.
        let nchw: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let nhwc = to_channel_last(&nchw, 2, 3);
        assert_eq!(&nhwc[..6], &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert_eq!(to_channel_first(&nhwc, 2, 3), nchw);
    }

    #[test]
    fn levels_are_ordered_and_named() {
        assert!(Level::Portable < Level::Avx2 && Level::Avx2 < Level::Avx512);
        assert_eq!([Level::Portable, Level::Avx2, Level::Avx512].map(Level::name), ["portable", "avx2", "avx512"]);
        let all = available();
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!(all.contains(&level()));
    }

    #[test]
    fn every_level_runs_the_same_float_code() {
        // Products and sums of small integers are exact: every level must agree to the bit.
        let a: Vec<f32> = (0..1000).map(|i| (i % 17) as f32).collect();
        let dot = || a.iter().map(|x| x * x).sum::<f32>();
        let expected = dot();
        for level in [Level::Portable, Level::Avx2, Level::Avx512] {
            assert_eq!(with_level(level, dot), expected, "{level:?}");
        }
    }
}
