//! Dense symmetric positive definite solves (the Newton and active-set systems).

use interfacegan_simd::simd_fn;

use crate::kernels::dot_f64;

/// Products of at least this many multiply-adds run on all cores.
const PARALLEL_PRODUCT: usize = 1 << 22;

/// `C = alpha A B + beta C` for `[m, k, n]` matrices `A` (`m x k`), `B` (`k x n`) and `C`, each given
/// by a pointer and its (row, column) strides; `beta = 0` ignores what `C` held. Large products use
/// every core.
///
/// # Safety
/// The pointers and strides must describe matrices of those sizes inside live allocations, `C`
/// overlapping neither `A` nor `B`.
pub(crate) unsafe fn gemm<T: Copy + PartialEq + Default + 'static>(
    [m, k, n]: [usize; 3],
    alpha: T,
    (a, [a_rows, a_cols]): (*const T, [isize; 2]),
    (b, [b_rows, b_cols]): (*const T, [isize; 2]),
    beta: T,
    (c, [c_rows, c_cols]): (*mut T, [isize; 2]),
) {
    let parallelism = if m * n * k >= PARALLEL_PRODUCT && rayon::current_num_threads() > 1 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: forwarded from the caller; the crate computes `dst = alpha dst + beta lhs rhs`
    // (its names), reading `dst` only when asked to.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            c_cols,
            c_rows,
            beta != T::default(),
            a,
            a_cols,
            a_rows,
            b,
            b_cols,
            b_rows,
            beta,
            alpha,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `C = sign A A^T + (C if accumulate)` on the lower triangle of the row-major `n x n` matrix `c`, for
/// `A` `[n, k]` stored in `a` with `strides` (row, column): one product per block of columns, half
/// the work of the full square. The upper triangle is left as it was.
pub(crate) fn lower_gram(
    a: &[f64],
    [n, k]: [usize; 2],
    [a_rows, a_cols]: [usize; 2],
    sign: f64,
    accumulate: bool,
    c: &mut [f64],
) {
    if n == 0 {
        return;
    }
    assert!(k == 0 || (n - 1) * a_rows + (k - 1) * a_cols < a.len(), "A lies outside its slice");
    assert!(c.len() >= n * n, "C holds {} values, not {n} x {n}", c.len());
    const COLUMNS: usize = 64;
    let mut col = 0;
    while col < n {
        let width = COLUMNS.min(n - col);
        // SAFETY: A's rows col.. ((n - col) x k) and the transpose of its rows col..col+width
        // (k x width) lie in `a` (checked above); C's rows col.., columns col..col+width lie in `c`.
        unsafe {
            gemm(
                [n - col, k, width],
                sign,
                (a.as_ptr().add(col * a_rows), [a_rows as isize, a_cols as isize]),
                (a.as_ptr().add(col * a_rows), [a_cols as isize, a_rows as isize]),
                if accumulate { 1.0 } else { 0.0 },
                (c.as_mut_ptr().add(col * n + col), [n as isize, 1]),
            );
        }
        col += width;
    }
}

/// In-place Cholesky factorisation (lower triangle, row-major) of a symmetric positive definite
/// `n x n` matrix; returns false if a pivot is not positive. Blocked so that nearly all the work is
/// matrix products: each diagonal block is factorised and inverted directly, the panel below it is
/// one product with that inverse, and the trailing update is one product per block column (lower
/// triangle only). The upper triangle is left as scratch.
pub(crate) fn cholesky(a: &mut [f64], n: usize) -> bool {
    let mut inverse = vec![0f64; CHOLESKY_BLOCK * CHOLESKY_BLOCK];
    let mut panel = vec![0f64; n * CHOLESKY_BLOCK];
    let mut k = 0;
    while k < n {
        let kb = CHOLESKY_BLOCK.min(n - k);
        if !factorise_diagonal_block(a, n, k, kb) {
            return false;
        }
        if k + kb == n {
            break;
        }
        invert_diagonal_block(a, n, k, kb, &mut inverse);
        solve_panel(a, n, k, kb, &inverse, &mut panel);
        trailing_update(a, n, k, kb);
        k += kb;
    }
    true
}

/// Small enough that the unblocked factorisation of a diagonal block stays in cache, large enough
/// that the products dominate (docs/svm.md, tuned constants).
const CHOLESKY_BLOCK: usize = 32;

/// Unblocked Cholesky of the diagonal block at rows and columns `k..k + kb` (already updated by
/// the blocks before it); false if a pivot is not positive.
fn factorise_diagonal_block(a: &mut [f64], n: usize, k: usize, kb: usize) -> bool {
    for i in k..k + kb {
        for j in k..=i {
            let (head, tail) = a.split_at_mut(i * n);
            let row_i = &mut tail[..n];
            if i == j {
                let s = row_i[j] - dot_f64(&row_i[k..j], &row_i[k..j]);
                if s <= 0.0 || !s.is_finite() {
                    return false;
                }
                row_i[j] = s.sqrt();
            } else {
                let row_j = &head[j * n..j * n + n];
                let s = row_i[j] - dot_f64(&row_i[k..j], &row_j[k..j]);
                row_i[j] = s / row_j[j];
            }
        }
    }
    true
}

/// `inverse = L11^-1` of the factorised diagonal block at `k` (lower triangular, row stride `kb`).
fn invert_diagonal_block(a: &[f64], n: usize, k: usize, kb: usize, inverse: &mut [f64]) {
    inverse.iter_mut().for_each(|v| *v = 0.0);
    for i in 0..kb {
        let row = (k + i) * n + k;
        let lii = a[row + i];
        inverse[i * kb + i] = 1.0 / lii;
        for j in 0..i {
            let s: f64 = (j..i).map(|m| a[row + m] * inverse[m * kb + j]).sum();
            inverse[i * kb + j] = -s / lii;
        }
    }
}

/// `L21 = A21 L11^-T` for the rows below the diagonal block at `k`, from a copy of `A21`.
fn solve_panel(a: &mut [f64], n: usize, k: usize, kb: usize, inverse: &[f64], panel: &mut [f64]) {
    let rest = n - k - kb;
    for r in 0..rest {
        let row = (k + kb + r) * n + k;
        panel[r * kb..(r + 1) * kb].copy_from_slice(&a[row..row + kb]);
    }
    // SAFETY: A = panel (rest x kb, row-major), B = inverse^T (kb x kb through swapped strides),
    // C = rows k+kb.., columns k..k+kb of `a` (stride n); no buffer overlaps another.
    unsafe {
        gemm(
            [rest, kb, kb],
            1.0,
            (panel.as_ptr(), [kb as isize, 1]),
            (inverse.as_ptr(), [1, kb as isize]),
            0.0,
            (a.as_mut_ptr().add((k + kb) * n + k), [n as isize, 1]),
        );
    }
}

/// `A22 -= L21 L21^T` below the diagonal block at `k`, lower triangle only: one product per block
/// column.
fn trailing_update(a: &mut [f64], n: usize, k: usize, kb: usize) {
    let ptr = a.as_mut_ptr();
    let mut col = k + kb;
    while col < n {
        let width = CHOLESKY_BLOCK.min(n - col);
        // SAFETY: A = the panel's rows col.. (columns k..k+kb), B = the panel's rows
        // col..col+width transposed, C = rows col.., columns col..col+width: the panel's
        // columns lie left of `k + kb <= col`, so C overlaps neither; strides are those of `a`.
        unsafe {
            gemm(
                [n - col, kb, width],
                -1.0,
                (ptr.add(col * n + k), [n as isize, 1]),
                (ptr.add(col * n + k), [1, n as isize]),
                1.0,
                (ptr.add(col * n + col), [n as isize, 1]),
            );
        }
        col += width;
    }
}

/// Solves `L L^T x = rhs` in place.
pub(crate) fn cholesky_solve(l: &[f64], n: usize, x: &mut [f64]) {
    for i in 0..n {
        let s = x[i] - dot_f64(&l[i * n..i * n + i], &x[..i]);
        x[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = x[i];
        for k in i + 1..n {
            s -= l[k * n + i] * x[k];
        }
        x[i] = s / l[i * n + i];
    }
}

/// Turns the lower factor `L` (row-major) into the upper `U = L^T` (row-major): the layout of the
/// rank-one updates and of [`upper_solve`], whose inner loops then run along rows.
pub(crate) fn lower_to_upper(l: &[f64], n: usize, u: &mut [f64]) {
    for r in 0..n {
        for c in r..n {
            u[r * n + c] = l[c * n + r];
        }
        for c in 0..r {
            u[r * n + c] = 0.0;
        }
    }
}

simd_fn! {
    /// Updates `U^T U` to `U^T U + sum_j signs[j] v_j v_j^T` in place, the `v_j` being the rows of
    /// `vectors` (`signs.len() x n`, consumed; a sign is 1 or -1). Returns false when a downdate would
    /// leave the matrix not positive definite; `U` is then unusable.
    ///
    /// The same rotations as one rank-one update after another, in another order: each row of `U`
    /// takes every vector's rotation while it is in cache, so the factor is streamed once rather than
    /// once per vector (at p = 513 it is 2 MB, and a step updates it by up to 48 rows).
    pub(crate) fn rank_updates(u: &mut [f64], n: usize, vectors: &mut [f64], signs: &[f64]) -> bool {
        for k in 0..n {
            let (row, _) = u[k * n..].split_at_mut(n);
            for (v, &sign) in vectors.chunks_exact_mut(n).zip(signs) {
                let ukk = row[k];
                let vk = v[k];
                let r2 = ukk * ukk + sign * vk * vk;
                if r2 <= 0.0 || !r2.is_finite() {
                    return false;
                }
                let r = r2.sqrt();
                let (c, s) = (r / ukk, vk / ukk);
                // Multiplying by 1/c rather than dividing lets the row loop vectorise at full rate.
                let (inverse_c, signed_s) = (1.0 / c, sign * s);
                row[k] = r;
                for (uki, vi) in row[k + 1..].iter_mut().zip(&mut v[k + 1..]) {
                    *uki = (*uki + signed_s * *vi) * inverse_c;
                    *vi = c * *vi - s * *uki;
                }
            }
        }
        true
    }
}

/// Solves `U^T U x = rhs` in place for the upper factor `U` (row-major).
pub(crate) fn upper_solve(u: &[f64], n: usize, x: &mut [f64]) {
    for k in 0..n {
        x[k] /= u[k * n + k];
        let xk = x[k];
        for (xi, uki) in x[k + 1..n].iter_mut().zip(&u[k * n + k + 1..(k + 1) * n]) {
            *xi -= uki * xk;
        }
    }
    for k in (0..n).rev() {
        let s = x[k] - dot_f64(&u[k * n + k + 1..(k + 1) * n], &x[k + 1..n]);
        x[k] = s / u[k * n + k];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_spd_systems() {
        let a = vec![4.0, 2.0, 0.6, 2.0, 5.0, 1.0, 0.6, 1.0, 3.0];
        let mut l = a.clone();
        assert!(cholesky(&mut l, 3));
        let mut x = vec![1.0, 2.0, 3.0];
        cholesky_solve(&l, 3, &mut x);
        for r in 0..3 {
            let ax: f64 = (0..3).map(|k| a[r * 3 + k] * x[k]).sum();
            assert!((ax - [1.0, 2.0, 3.0][r]).abs() < 1e-12);
        }
        let mut not_pd = vec![1.0, 2.0, 2.0, 1.0];
        assert!(!cholesky(&mut not_pd, 2));
        // Larger than one block: A = B B^T + n I.
        let n = 150;
        let b: Vec<f64> = (0..n * n).map(|i| ((i * 7919 % 211) as f64 / 211.0) - 0.5).collect();
        let mut a = vec![0.0; n * n];
        for r in 0..n {
            for c in 0..n {
                a[r * n + c] =
                    (0..n).map(|k| b[r * n + k] * b[c * n + k]).sum::<f64>() + if r == c { n as f64 } else { 0.0 };
            }
        }
        let mut l = a.clone();
        assert!(cholesky(&mut l, n));
        let rhs: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let mut x = rhs.clone();
        cholesky_solve(&l, n, &mut x);
        for r in 0..n {
            let ax: f64 = (0..n).map(|k| a[r * n + k] * x[k]).sum();
            assert!((ax - rhs[r]).abs() < 1e-9 * (1.0 + rhs[r].abs()));
        }
    }

    #[test]
    fn rank_one_updates_match_refactorisation() {
        let n = 70;
        let b: Vec<f64> = (0..n * n).map(|i| ((i * 7919 % 211) as f64 / 211.0) - 0.5).collect();
        let spd = |extra: &[(f64, &[f64])]| {
            let mut a = vec![0.0; n * n];
            for r in 0..n {
                for c in 0..n {
                    a[r * n + c] = (0..n).map(|k| b[r * n + k] * b[c * n + k]).sum::<f64>();
                    for (sign, v) in extra {
                        a[r * n + c] += sign * v[r] * v[c];
                    }
                }
                a[r * n + r] += 1.0;
            }
            a
        };
        let v1: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let v2: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
        // Factor A + v1 v1^T + v2 v2^T, downdate v1, update by nothing else: must equal A + v2 v2^T.
        let mut l = spd(&[(1.0, &v1), (1.0, &v2)]);
        assert!(cholesky(&mut l, n));
        let mut u = vec![0.0; n * n];
        lower_to_upper(&l, n, &mut u);
        assert!(rank_updates(&mut u, n, &mut v1.clone(), &[-1.0]));
        let target = spd(&[(1.0, &v2)]);
        let rhs: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
        let mut x = rhs.clone();
        upper_solve(&u, n, &mut x);
        for r in 0..n {
            let ax: f64 = (0..n).map(|k| target[r * n + k] * x[k]).sum();
            assert!((ax - rhs[r]).abs() < 1e-9 * rhs[r].abs(), "row {r}: {ax} vs {}", rhs[r]);
        }
        // Several vectors in one pass are the same rotations as one after another.
        let half: Vec<f64> = v1.iter().map(|v| 0.5 * v).collect();
        let batch: [(&[f64], f64); 3] = [(&v1, 1.0), (&v2, 1.0), (&half, -1.0)];
        let mut one_by_one = u.clone();
        for (v, sign) in batch {
            assert!(rank_updates(&mut one_by_one, n, &mut v.to_vec(), &[sign]));
        }
        let mut together = u.clone();
        let mut vectors: Vec<f64> = batch.iter().flat_map(|(v, _)| v.iter().copied()).collect();
        assert!(rank_updates(&mut together, n, &mut vectors, &[1.0, 1.0, -1.0]));
        for (a, b) in one_by_one.iter().zip(&together) {
            assert!((a - b).abs() <= 1e-12 * (1.0 + a.abs()), "{a} vs {b}");
        }
        // Updating back, then removing more than was added, must fail rather than produce NaN.
        assert!(rank_updates(&mut u, n, &mut v1.clone(), &[1.0]));
        let big: Vec<f64> = v1.iter().map(|v| 100.0 * v).collect();
        assert!(!rank_updates(&mut u, n, &mut big.clone(), &[-1.0]));
    }
}
