//! Dense symmetric positive definite solves (the Newton and active-set systems).

use crate::kernels::dot_f64;

/// In-place Cholesky factorisation (lower triangle, row-major) of a symmetric positive definite
/// `n x n` matrix; returns false if a pivot is not positive. Blocked: the trailing updates, which
/// carry almost all the work, are matrix products. The upper triangle is left as scratch.
pub(crate) fn cholesky(a: &mut [f64], n: usize) -> bool {
    const BLOCK: usize = 64;
    let mut k = 0;
    while k < n {
        let kb = BLOCK.min(n - k);
        // Diagonal block, then the panel below it; earlier panels are already subtracted.
        for i in k..n {
            let top = (i + 1).min(k + kb);
            for j in k..top {
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
        let rest = n - k - kb;
        if rest > 0 {
            let panel = (k + kb) * n + k;
            let trailing = (k + kb) * n + k + kb;
            let ptr = a.as_mut_ptr();
            // SAFETY: the panel (rows k+kb.., columns k..k+kb) and the trailing block (rows and
            // columns k+kb..) of the n x n buffer do not overlap; strides are those of `a`.
            unsafe {
                matrixmultiply::dgemm(
                    rest,
                    kb,
                    rest,
                    -1.0,
                    ptr.add(panel),
                    n as isize,
                    1,
                    ptr.add(panel),
                    1,
                    n as isize,
                    1.0,
                    ptr.add(trailing),
                    n as isize,
                    1,
                );
            }
        }
        k += kb;
    }
    true
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
}
