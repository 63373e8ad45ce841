//! Newton's method on the primal SVM with a Huber-smoothed hinge, `delta` driven towards 0.
//!
//! `f(w, b) = 1/2 |w|^2 + C sum_i h(m_i)`, `m_i = y_i (w.x_i + b)`, where `h` is the hinge with its
//! kink rounded over `(1 - delta, 1)`: `0` above 1, `(1 - m)^2 / (2 delta)` inside, `1 - m - delta/2`
//! below. `f` is convex and piecewise quadratic in the `d + 1 = 513` unknowns, so Newton with an
//! exact line search converges in a few steps per `delta`; each step costs two passes over the rows
//! and a `(d + 1)`-square factorisation, independent of how ill-conditioned the SVM dual is (the
//! hard-margin-like case where SMO needs hundreds of thousands of pair updates).
//!
//! Its dual multipliers `alpha_i = -C h'(m_i)` lie in `[0, C]`, satisfy `sum y_i alpha_i = 0` at the
//! optimum and give `w = sum alpha_i y_i x_i`: a feasible point of the exact SVM dual whose KKT
//! violation is about `2 delta`. Once `delta` is below half the tolerance, the libsvm stopping rule
//! holds and the result is an exact-SVM solution in libsvm's sense; otherwise the caller polishes
//! it with SMO.

use crate::active_set::Set;
use crate::dense::{cholesky, cholesky_solve};
use crate::kernels::{add_scaled, dot_f64, gather_f64, gemv};

/// What the continuation hands back.
pub(crate) struct PrimalResult {
    pub outcome: Outcome,
    pub newton_steps: usize,
    pub levels: usize,
}

/// How the continuation ended.
pub(crate) enum Outcome {
    /// The active-set step met libsvm's criterion: the exact solution.
    Exact(crate::active_set::Exact),
    /// The multipliers of the last smoothed solution, feasible for the exact dual.
    Smoothed(Vec<f64>),
}

/// Which piece of the smoothed hinge each row is on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Piece {
    Zero,
    Quadratic,
    Linear,
}

fn piece(m: f64, delta: f64) -> Piece {
    if m >= 1.0 {
        Piece::Zero
    } else if m > 1.0 - delta {
        Piece::Quadratic
    } else {
        Piece::Linear
    }
}

/// `h'(m)`.
fn slope(m: f64, delta: f64) -> f64 {
    match piece(m, delta) {
        Piece::Zero => 0.0,
        Piece::Quadratic => -(1.0 - m) / delta,
        Piece::Linear => -1.0,
    }
}

/// `phi'(t)` of the exact line search along (dw, db): convex, so `phi'` is non-decreasing.
fn line_derivative(t: f64, w_dot_dw: f64, dw2: f64, margins: &[f64], steps: &[f64], c: f64, delta: f64) -> f64 {
    let mut s = w_dot_dw + t * dw2;
    for (&m, &sm) in margins.iter().zip(steps) {
        if sm != 0.0 {
            s += c * slope(m + t * sm, delta) * sm;
        }
    }
    s
}

/// Minimises `phi(t)` over `t >= 0` by a bracketed secant/bisection on `phi'`.
fn line_search(w_dot_dw: f64, dw2: f64, margins: &[f64], steps: &[f64], c: f64, delta: f64) -> f64 {
    let d = |t: f64| line_derivative(t, w_dot_dw, dw2, margins, steps, c, delta);
    let d0 = d(0.0);
    if d0 >= 0.0 {
        return 0.0;
    }
    let (mut lo, mut dlo) = (0.0, d0);
    let (mut hi, mut dhi) = (1.0, d(1.0));
    let mut grow = 0;
    while dhi < 0.0 && grow < 60 {
        lo = hi;
        dlo = dhi;
        hi *= 2.0;
        dhi = d(hi);
        grow += 1;
    }
    if dhi <= 0.0 {
        return hi;
    }
    if dhi.abs() < 1e-14 {
        return hi;
    }
    for k in 0..100 {
        // Secant on the bracket, with bisection every third step to guarantee progress.
        let t = if k % 3 == 2 { 0.5 * (lo + hi) } else { lo - dlo * (hi - lo) / (dhi - dlo) };
        let t = if t > lo && t < hi { t } else { 0.5 * (lo + hi) };
        let dt = d(t);
        if dt.abs() <= 1e-13 * (1.0 + d0.abs()) || (hi - lo) <= 1e-15 * hi {
            return t;
        }
        if dt < 0.0 {
            lo = t;
            dlo = dt;
        } else {
            hi = t;
            dhi = dt;
        }
    }
    0.5 * (lo + hi)
}

/// `sum x x^T` and `sum x` over the rows of the quadratic zone, maintained incrementally.
struct ZoneGram {
    member: Vec<bool>,
    matrix: Vec<f64>,
    sum: Vec<f64>,
}

impl ZoneGram {
    fn new(n: usize, dim: usize) -> Self {
        Self { member: vec![false; n], matrix: vec![0.0; dim * dim], sum: vec![0.0; dim] }
    }

    fn add(&mut self, x: &[f32], dim: usize, rows: &[usize], sign: f64) {
        if rows.is_empty() {
            return;
        }
        let gathered = gather_f64(x, dim, rows);
        // SAFETY: gathered is rows x dim row-major; A = gathered^T, B = gathered, C = dim x dim.
        unsafe {
            matrixmultiply::dgemm(
                dim,
                rows.len(),
                dim,
                sign,
                gathered.as_ptr(),
                1,
                dim as isize,
                gathered.as_ptr(),
                dim as isize,
                1,
                1.0,
                self.matrix.as_mut_ptr(),
                dim as isize,
                1,
            );
        }
        for row in gathered.chunks_exact(dim) {
            for (s, v) in self.sum.iter_mut().zip(row) {
                *s += sign * v;
            }
        }
    }

    /// Makes the zone exactly `zone` (sorted row indices).
    fn update(&mut self, x: &[f32], dim: usize, zone: &[usize]) {
        let mut now = vec![false; self.member.len()];
        for &i in zone {
            now[i] = true;
        }
        let entering: Vec<usize> = zone.iter().copied().filter(|&i| !self.member[i]).collect();
        let leaving: Vec<usize> = (0..now.len()).filter(|&i| self.member[i] && !now[i]).collect();
        if entering.len() + leaving.len() >= zone.len() {
            self.matrix.iter_mut().for_each(|v| *v = 0.0);
            self.sum.iter_mut().for_each(|v| *v = 0.0);
            self.add(x, dim, zone, 1.0);
        } else {
            self.add(x, dim, &entering, 1.0);
            self.add(x, dim, &leaving, -1.0);
        }
        self.member = now;
    }
}

/// A starting point on the hyperplane halfway between the class means, scaled so that about a
/// tenth of the rows lie inside the margin: Newton then starts with a populated quadratic zone
/// instead of discovering it a few rows per step from `w = 0`.
fn class_mean_start(x: &[f32], dim: usize, y: &[f64]) -> (Vec<f64>, f64) {
    let n = y.len();
    let positives = y.iter().filter(|&&v| v > 0.0).count().max(1) as f64;
    let negatives = (n as f64 - positives).max(1.0);
    let mut u = vec![0f64; dim];
    for (i, row) in x.chunks_exact(dim).enumerate() {
        let s = if y[i] > 0.0 { 1.0 / positives } else { -1.0 / negatives };
        add_scaled(&mut u, s, row);
    }
    let norm = dot_f64(&u, &u).sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return (vec![0.0; dim], 0.0);
    }
    u.iter_mut().for_each(|a| *a /= norm);
    let u32: Vec<f32> = u.iter().map(|&a| a as f32).collect();
    let mut proj = vec![0f64; n];
    gemv(x, &u32, &mut proj);
    let mean = |sign: f64| {
        let (s, k) =
            proj.iter().zip(y).filter(|(_, yi)| **yi == sign).fold((0.0, 0.0), |(s, k), (p, _)| (s + p, k + 1.0));
        s / f64::max(k, 1.0)
    };
    let centre = 0.5 * (mean(1.0) + mean(-1.0));
    let mut signed: Vec<f64> = proj.iter().zip(y).map(|(p, yi)| yi * (p - centre)).collect();
    signed.sort_unstable_by(f64::total_cmp);
    let scale = [0.1, 0.2, 0.3, 0.5]
        .iter()
        .map(|q| signed[((n as f64 * q) as usize).min(n - 1)])
        .find(|&v| v > 0.0)
        .map_or(1.0, |v| 1.0 / v);
    (u.iter().map(|a| a * scale).collect(), -scale * centre)
}

/// Runs the continuation until the libsvm KKT gap of the implied multipliers is at most `eps`
/// or `delta` reaches `min_delta`.
pub(crate) fn huber_continuation(x: &[f32], dim: usize, y: &[f64], c: f64, eps: f64) -> PrimalResult {
    let n = y.len();
    let p = dim + 1;
    let (mut w, mut b) = class_mean_start(x, dim, y);
    let mut w32 = vec![0f32; dim];
    let mut margins = vec![0f64; n];
    let mut steps = vec![0f64; n];
    let mut hessian = vec![0f64; p * p];
    let mut gram = ZoneGram::new(n, dim);
    let mut newton_steps = 0;
    let mut levels = 0;
    // Measured on the benchmark regimes: start at 1 and divide by 10 (starting lower or shrinking
    // more slowly made the active-set step miss and cost 3-40x more; docs/svm.md).
    let mut delta: f64 = 1.0;
    let factor = 0.1;
    let min_delta = eps * 0.05;
    loop {
        levels += 1;
        // Fresh margins at each level keep the incremental updates from drifting.
        for (a, v) in w32.iter_mut().zip(&w) {
            *a = *v as f32;
        }
        gemv(x, &w32, &mut margins);
        for i in 0..n {
            margins[i] = y[i] * (margins[i] + b);
        }
        for _ in 0..100 {
            // Gradient.
            let mut gw = w.clone();
            let mut gb = 0.0;
            let mut zone = Vec::new();
            for i in 0..n {
                let a = c * slope(margins[i], delta) * y[i];
                if a != 0.0 {
                    gb += a;
                    add_scaled(&mut gw, a, &x[i * dim..(i + 1) * dim]);
                }
                if piece(margins[i], delta) == Piece::Quadratic {
                    zone.push(i);
                }
            }
            let gnorm = (dot_f64(&gw, &gw) + gb * gb).sqrt();
            let wnorm = dot_f64(&w, &w).sqrt();
            if gnorm <= 1e-7 * (1.0 + wnorm) {
                break;
            }
            // Hessian: I (w block) + (C / delta) sum_zone [x; 1][x; 1]^T, from the zone's Gram
            // matrix, which is kept up to date by adding the rows that enter the zone and
            // subtracting those that leave (products of float32 values are exact in float64).
            gram.update(x, dim, &zone);
            hessian.iter_mut().for_each(|v| *v = 0.0);
            let scale = c / delta;
            for r in 0..dim {
                for (h, g) in hessian[r * p..r * p + dim].iter_mut().zip(&gram.matrix[r * dim..(r + 1) * dim]) {
                    *h = scale * g;
                }
                hessian[r * p + dim] = scale * gram.sum[r];
                hessian[dim * p + r] = scale * gram.sum[r];
            }
            hessian[dim * p + dim] = scale * zone.len() as f64;
            for r in 0..dim {
                hessian[r * p + r] += 1.0;
            }
            // The intercept is unregularised: a tiny ridge keeps the system solvable when no row
            // is in the quadratic zone (the line search then finds the step length).
            hessian[dim * p + dim] += 1e-8 * (1.0 + hessian[dim * p + dim]);
            let mut direction: Vec<f64> = gw.iter().map(|g| -g).chain(std::iter::once(-gb)).collect();
            // Should the factorisation fail in floating point, the steepest descent direction stays.
            if cholesky(&mut hessian, p) {
                cholesky_solve(&hessian, p, &mut direction);
            }
            let (dw, db) = direction.split_at(dim);
            let db = db[0];
            let dw32: Vec<f32> = dw.iter().map(|&v| v as f32).collect();
            gemv(x, &dw32, &mut steps);
            for i in 0..n {
                steps[i] = y[i] * (steps[i] + db);
            }
            let t = line_search(dot_f64(&w, dw), dot_f64(dw, dw), &margins, &steps, c, delta);
            newton_steps += 1;
            if t == 0.0 {
                break;
            }
            let mut changed = false;
            for i in 0..n {
                let before = piece(margins[i], delta);
                margins[i] += t * steps[i];
                changed |= piece(margins[i], delta) != before;
            }
            for (wk, d) in w.iter_mut().zip(dw) {
                *wk += t * d;
            }
            b += t * db;
            // A full step that kept every row on its piece reached this piece's exact minimiser.
            if !changed && (t - 1.0).abs() < 1e-12 {
                break;
            }
        }
        if delta <= min_delta || implied_gap(&margins, y, c, delta) <= eps {
            break;
        }
        if let Some(exact) = try_active_set(x, dim, y, c, eps, &margins, delta) {
            return PrimalResult { outcome: Outcome::Exact(exact), newton_steps, levels };
        }
        delta *= factor;
    }
    let alpha: Vec<f64> = margins.iter().map(|&m| -c * slope(m, delta)).collect();
    PrimalResult { outcome: Outcome::Smoothed(alpha), newton_steps, levels }
}

/// libsvm's KKT gap of the multipliers `alpha_i = -C h'(m_i)` implied by the margins. With
/// `w.x_i + b = y_i m_i` in place of `w.x_i`, every `-y G` moves by the same `b`, which cancels.
fn implied_gap(margins: &[f64], y: &[f64], c: f64, delta: f64) -> f64 {
    let alpha: Vec<f64> = margins.iter().map(|&m| -c * slope(m, delta)).collect();
    let decision: Vec<f64> = margins.iter().zip(y).map(|(m, yi)| m * yi).collect();
    crate::svm::kkt_gap(y, &alpha, &decision, c).0
}

/// Tries the exact active-set solve with the sets the smoothed solution suggests.
fn try_active_set(
    x: &[f32],
    dim: usize,
    y: &[f64],
    c: f64,
    eps: f64,
    margins: &[f64],
    delta: f64,
) -> Option<crate::active_set::Exact> {
    let mut sets: Vec<Set> = margins
        .iter()
        .map(|&m| match piece(m, delta) {
            Piece::Zero => Set::Zero,
            Piece::Quadratic => Set::Free,
            Piece::Linear => Set::Bound,
        })
        .collect();
    // More free rows than dimensions cannot be the free set of an optimum (the system is
    // singular); the next, narrower zone will be closer.
    if sets.iter().filter(|s| **s == Set::Free).count() > dim {
        return None;
    }
    // A good guess converges in one to three solves; a poor one is not worth more.
    crate::active_set::solve_from_sets(x, dim, y, c, eps, &mut sets, 3)
}
