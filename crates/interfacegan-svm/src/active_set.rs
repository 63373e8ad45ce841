//! The exact SVM optimum from a guess of its active sets (primal-dual active-set iterations).
//!
//! At the optimum every row is in one of three sets: `Z` (outside the margin, `alpha = 0`), `B`
//! (inside it or misclassified, `alpha = C`) or `F` (exactly on it, `0 < alpha < C`). Given the
//! sets, the multipliers of `F` and the intercept solve one symmetric linear system of size
//! `|F| + 1`:
//!
//! ```text
//! sum_{j in F} Q_ij alpha_j + y_i b = 1 - y_i w_B . x_i   (i in F),   sum_F y_j alpha_j = -C sum_B y_j
//! ```
//!
//! with `Q_ij = y_i y_j x_i . x_j` and `w_B = C sum_B y_j x_j`. The solution is then checked against
//! every row (libsvm's criterion) and the sets corrected where it fails: a semismooth Newton method
//! (Hintermüller, Ito and Kunisch 2002) that needs a handful of solves when the guess is close.
//! In the SVMs of InterFaceGAN `|F|` is at most a few hundred, far fewer than the rows.

use crate::dense::{cholesky, cholesky_solve, lower_gram};
use crate::kernels::{add_scaled, dot_f64, gather_f64, gemv};
use crate::smo::kkt_gap;

/// The membership of a row.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Set {
    Zero,
    Free,
    Bound,
}

/// Multipliers, weights and margins-without-bias of an exact solution.
pub(crate) struct Exact {
    pub alpha: Vec<f64>,
    pub w: Vec<f64>,
    pub wx: Vec<f64>,
    pub iterations: usize,
}

/// The lower triangle of `X_F X_F^T` (row-major, `|F|` square) for the free rows `rows`, kept from
/// one solve to the next: a correction changes a few rows of `F`, and only their products are new.
#[derive(Default)]
struct FreeGram {
    rows: Vec<usize>,
    matrix: Vec<f64>,
}

impl FreeGram {
    /// Makes the matrix that of `free` (sorted), whose rows `xf` holds widened to float64.
    fn update(&mut self, xf: &[f64], dim: usize, free: &[usize]) {
        let f = free.len();
        let kept: Vec<Option<usize>> = free.iter().map(|i| self.rows.binary_search(i).ok()).collect();
        let fresh: Vec<usize> = (0..f).filter(|&r| kept[r].is_none()).collect();
        let mut matrix = vec![0f64; f * f];
        if fresh.len() == f {
            lower_gram(xf, [f, dim], [dim, 1], 1.0, false, &mut matrix);
        } else {
            let old = self.rows.len();
            for r in 0..f {
                if let Some(pr) = kept[r] {
                    for s in 0..=r {
                        if let Some(ps) = kept[s] {
                            matrix[r * f + s] = self.matrix[pr * old + ps];
                        }
                    }
                }
            }
            if !fresh.is_empty() {
                // The new rows against every row: one product, spread over both triangles.
                let new_rows: Vec<f64> =
                    fresh.iter().flat_map(|&r| xf[r * dim..(r + 1) * dim].iter().copied()).collect();
                let mut block = vec![0f64; fresh.len() * f];
                // SAFETY: `new_rows` is fresh.len() x dim, `xf` f x dim (read transposed), `block`
                // fresh.len() x f, all row-major and disjoint.
                unsafe {
                    crate::dense::gemm(
                        [fresh.len(), dim, f],
                        1.0,
                        (new_rows.as_ptr(), [dim as isize, 1]),
                        (xf.as_ptr(), [1, dim as isize]),
                        0.0,
                        (block.as_mut_ptr(), [f as isize, 1]),
                    );
                }
                for (k, &r) in fresh.iter().enumerate() {
                    for s in 0..f {
                        let (row, col) = if s <= r { (r, s) } else { (s, r) };
                        matrix[row * f + col] = block[k * f + s];
                    }
                }
            }
        }
        self.rows = free.to_vec();
        self.matrix = matrix;
    }
}

/// Iterates from the guess `sets` (changed in place) for at most `max_iterations` solves.
/// Returns the solution once libsvm's criterion `gap <= eps` holds with every multiplier in
/// `[0, C]`, or `None` if the iterations run out or cycle.
pub(crate) fn solve_from_sets(
    x: &[f32],
    dim: usize,
    y: &[f64],
    c: f64,
    eps: f64,
    sets: &mut [Set],
    max_iterations: usize,
) -> Option<Exact> {
    let problem = Problem { x, dim, y, c, eps };
    let mut wx = vec![0f64; y.len()];
    let mut seen = std::collections::HashSet::new();
    let mut gram = FreeGram::default();
    for iteration in 1..=max_iterations {
        let candidate = problem.solve(sets, &mut gram)?;
        let w32: Vec<f32> = candidate.w.iter().map(|&v| v as f32).collect();
        gemv(x, &w32, &mut wx);
        let in_box = candidate.alpha.iter().zip(sets.iter()).all(|(&a, s)| *s != Set::Free || (0.0..=c).contains(&a));
        if in_box && kkt_gap(y, &candidate.alpha, &wx, c).0 <= eps {
            return Some(Exact { alpha: candidate.alpha, w: candidate.w, wx, iterations: iteration });
        }
        let changed = problem.correct(sets, &candidate, &wx);
        if !changed || !seen.insert(sets.iter().map(|s| *s as u8).collect::<Vec<u8>>()) {
            return None;
        }
    }
    None
}

/// The training set and the solve's constants.
struct Problem<'a> {
    x: &'a [f32],
    dim: usize,
    y: &'a [f64],
    c: f64,
    eps: f64,
}

/// The multipliers, normal and intercept that one guess of the sets implies.
struct Candidate {
    alpha: Vec<f64>,
    w: Vec<f64>,
    b: f64,
}

impl Problem<'_> {
    /// The exact solution for `sets`: bound rows at `C`, zero rows at 0, the free rows' multipliers
    /// and the intercept from one `(|F| + 1)`-square system; `None` if it does not factorise.
    fn solve(&self, sets: &[Set], gram: &mut FreeGram) -> Option<Candidate> {
        let (x, dim, y, c) = (self.x, self.dim, self.y, self.c);
        let n = y.len();
        let free: Vec<usize> = (0..n).filter(|&i| sets[i] == Set::Free).collect();
        let mut w = vec![0f64; dim];
        let mut sum_bound_y = 0.0;
        for i in (0..n).filter(|&i| sets[i] == Set::Bound) {
            sum_bound_y += y[i];
            add_scaled(&mut w, c * y[i], &x[i * dim..(i + 1) * dim]);
        }
        let mut alpha: Vec<f64> = sets.iter().map(|s| if *s == Set::Bound { c } else { 0.0 }).collect();
        // No free row: the intercept is only bounded; the gap decides.
        let mut b = 0.0;
        if !free.is_empty() {
            let (alpha_free, intercept) = self.solve_free(&free, &w, sum_bound_y, gram)?;
            b = intercept;
            for (&i, a) in free.iter().zip(alpha_free) {
                alpha[i] = a;
                add_scaled(&mut w, a * y[i], &x[i * dim..(i + 1) * dim]);
            }
        }
        Some(Candidate { alpha, w, b })
    }

    /// The free rows' multipliers and the intercept, given the bound rows' part of `w` and of
    /// `sum y alpha`: `alpha = Q^-1 (rhs - y b)` and `y^T alpha = -C sum_B y` give `b` by a Schur
    /// complement.
    fn solve_free(
        &self,
        free: &[usize],
        w_bound: &[f64],
        sum_bound_y: f64,
        gram: &mut FreeGram,
    ) -> Option<(Vec<f64>, f64)> {
        let (dim, y, f) = (self.dim, self.y, free.len());
        let xf = gather_f64(self.x, dim, free);
        gram.update(&xf, dim, free);
        let mut q = gram.matrix.clone();
        let trace: f64 = (0..f).map(|k| q[k * f + k]).sum::<f64>() / f as f64;
        for r in 0..f {
            for s in 0..=r {
                q[r * f + s] *= y[free[r]] * y[free[s]];
            }
            // A whisper of ridge keeps the factorisation alive when |F| exceeds the rank.
            q[r * f + r] += 1e-10 * trace;
        }
        let rhs: Vec<f64> =
            free.iter().zip(xf.chunks_exact(dim)).map(|(&i, row)| 1.0 - y[i] * dot_f64(w_bound, row)).collect();
        if !cholesky(&mut q, f) {
            return None;
        }
        let mut q_rhs = rhs;
        cholesky_solve(&q, f, &mut q_rhs);
        let yf: Vec<f64> = free.iter().map(|&i| y[i]).collect();
        let mut q_y = yf.clone();
        cholesky_solve(&q, f, &mut q_y);
        let b = (dot_f64(&yf, &q_rhs) + self.c * sum_bound_y) / dot_f64(&yf, &q_y);
        Some((q_rhs.iter().zip(&q_y).map(|(r, qy)| r - b * qy).collect(), b))
    }

    /// Corrects the sets where `candidate` breaks the optimality conditions; false if nothing
    /// changed. Rows leave F freely; rows join it worst first, and never beyond the dimension
    /// (past it the system is singular and F cannot be an optimal free set anyway).
    fn correct(&self, sets: &mut [Set], candidate: &Candidate, wx: &[f64]) -> bool {
        let (y, c, eps) = (self.y, self.c, self.eps);
        let mut changed = false;
        let mut joining: Vec<(f64, usize)> = Vec::new();
        let mut free_count = 0usize;
        for i in 0..y.len() {
            let (alpha, margin) = (candidate.alpha[i], y[i] * (wx[i] + candidate.b));
            let next = match sets[i] {
                Set::Free if alpha < 0.0 => Set::Zero,
                Set::Free if alpha > c => Set::Bound,
                Set::Zero if margin < 1.0 - 0.5 * eps => {
                    joining.push((-(1.0 - margin), i));
                    Set::Zero
                }
                Set::Bound if margin > 1.0 + 0.5 * eps => {
                    joining.push((-(margin - 1.0), i));
                    Set::Bound
                }
                s => s,
            };
            changed |= next != sets[i];
            sets[i] = next;
            free_count += (next == Set::Free) as usize;
        }
        let room = self.dim.saturating_sub(free_count);
        if joining.len() > room {
            joining.select_nth_unstable_by(room, |a, b| a.0.total_cmp(&b.0));
            joining.truncate(room);
        }
        for &(_, i) in &joining {
            sets[i] = Set::Free;
            changed = true;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_gram_follows_the_free_set() {
        let (n, dim) = (200, 70);
        let x: Vec<f32> = (0..n * dim).map(|i| ((i * 7919) % 1013) as f32 / 500.0 - 1.0).collect();
        let direct = |free: &[usize]| {
            let f = free.len();
            let mut m = vec![0f64; f * f];
            for r in 0..f {
                for s in 0..=r {
                    let (a, b) = (&x[free[r] * dim..(free[r] + 1) * dim], &x[free[s] * dim..(free[s] + 1) * dim]);
                    m[r * f + s] = a.iter().zip(b).map(|(&u, &v)| u as f64 * v as f64).sum();
                }
            }
            m
        };
        let mut gram = FreeGram::default();
        // The first set in full (more than one block of columns), then sets that keep some rows,
        // drop others and add new ones before, between and after them.
        let sets: [Vec<usize>; 4] = [
            (0..150).map(|i| i + 20).collect(),
            (0..150).map(|i| i + 20).filter(|i| i % 7 != 0).chain([180, 190]).collect(),
            [3, 5].into_iter().chain((30..100).step_by(3)).chain([199]).collect(),
            vec![],
        ];
        for free in &sets {
            gram.update(&gather_f64(&x, dim, free), dim, free);
            let want = direct(free);
            let f = free.len();
            for r in 0..f {
                for s in 0..=r {
                    let (got, want) = (gram.matrix[r * f + s], want[r * f + s]);
                    assert!((got - want).abs() <= 1e-12 * (1.0 + want.abs()), "({r}, {s}): {got} vs {want}");
                }
            }
        }
    }
}
