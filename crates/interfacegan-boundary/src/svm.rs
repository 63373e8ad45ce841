//! An exact linear support vector machine: L2-regularised hinge loss with a free (unregularised)
//! intercept, `min 1/2 |w|^2 + C sum_i max(0, 1 - y_i (w.x_i + b))`, the problem that
//! `sklearn.svm.SVC(kernel='linear')` (libsvm) solves for the official InterFaceGAN.
//!
//! The solver works in three stages, each exact in libsvm's sense when it stops (the maximal KKT
//! violation `m(alpha) - M(alpha)` over all rows is at most `tolerance`, libsvm's `eps`, default
//! 1e-3), each starting from the previous one's result:
//!
//! 1. **Smoothed primal, Newton** (`primal.rs`): the hinge's kink is rounded over a width `delta`
//!    (1, 0.1, 0.01, ...); each level is solved by Newton's method with an exact line search in the
//!    `d + 1` primal unknowns. Cost per step: two passes over the rows plus a `(d+1)^2` Cholesky.
//!    Its multipliers are feasible for the exact dual, with a KKT violation of about `2 delta`.
//! 2. **Active set** (`active_set.rs`): after each level, the rows on the smoothed margin are taken
//!    as the free support vectors and the exact multipliers and intercept solved for directly
//!    (one `(|F| + 1)`-square system), corrected a few times where the KKT conditions fail.
//! 3. **SMO decomposition** (below), only if the first two did not reach the tolerance: the
//!    SVMlight scheme with libsvm's second-order pair selection on a cached kernel block of the
//!    working set (free support vectors plus the worst violators of each side).
//!
//! `w` is kept explicit throughout, so no `n x n` kernel is ever formed, and the intercept is
//! computed as libsvm computes rho (mean over free support vectors). The result agrees with
//! `SVC(kernel='linear')` to the accuracy both stop at (cosine >= 0.99999 on the benchmarks).

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::kernels::{add_scaled, gemv};
use crate::primal::{Outcome, PrimalResult, huber_continuation};

/// Parameters of [`train_linear_svm`]. The defaults are libsvm's (`C = 1`, `eps = 1e-3`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvmParams {
    /// The cost of a margin violation, C.
    pub c: f64,
    /// Stopping tolerance on the maximal KKT violation, libsvm's `eps`.
    pub tolerance: f64,
    /// How many of the worst violators of each side join the working set per round.
    pub violators_per_round: usize,
    /// Give up (and report `converged = false`) after this many rounds.
    pub max_rounds: usize,
    /// Run stages 1 and 2 (smoothed-primal Newton and the active-set solve) before SMO. With
    /// `false`, SMO alone solves the problem from `alpha = 0`, as libsvm does: slower, useful to
    /// cross-check.
    pub primal_newton: bool,
}

impl Default for SvmParams {
    fn default() -> Self {
        Self { c: 1.0, tolerance: 1e-3, violators_per_round: 256, max_rounds: 100_000, primal_newton: true }
    }
}

/// A trained linear classifier: `w . x + b > 0` predicts the positive class.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearSvm {
    /// The normal vector `w` (not normalised).
    pub weights: Vec<f64>,
    /// The intercept `b`.
    pub bias: f64,
}

impl LinearSvm {
    /// `w . x + b` for one row.
    pub fn decision(&self, x: &[f32]) -> f64 {
        crate::kernels::wide_dot(x, &self.weights) + self.bias
    }
}

/// What the solver did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvmReport {
    /// Newton steps on the smoothed primal (stage 1).
    pub newton_steps: usize,
    /// Fresh factorisations of the Newton system (stage 1).
    #[serde(default)]
    pub newton_factorisations: usize,
    /// Rank-one updates of the Newton system's factor in place of a factorisation (stage 1).
    #[serde(default)]
    pub newton_rank_one_updates: usize,
    /// Smoothing levels of the continuation (stage 1).
    pub smoothing_levels: usize,
    /// Linear solves of the active-set step (stage 2; 0 if it did not conclude).
    pub active_set_solves: usize,
    /// SMO decomposition rounds (stage 3; 0 when an earlier stage met the tolerance).
    pub rounds: usize,
    /// SMO pair updates, all rounds together.
    pub smo_iterations: u64,
    /// Rows with a non-zero multiplier.
    pub support_vectors: usize,
    /// Support vectors at the bound C (inside the margin or misclassified).
    pub bounded_support_vectors: usize,
    /// The largest working set used.
    pub max_working_set: usize,
    /// Final maximal KKT violation `m(alpha) - M(alpha)`.
    pub kkt_gap: f64,
    /// Whether `kkt_gap <= tolerance` was reached.
    pub converged: bool,
    /// Dual objective `1/2 |w|^2 - sum(alpha)` at the end.
    pub dual_objective: f64,
    /// Wall-clock seconds of the solver.
    pub seconds: f64,
    /// SIMD level of the dense kernels.
    pub simd: String,
}

/// Why [`train_linear_svm`] cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SvmError {
    /// `x` does not hold `labels.len()` rows of `dim` values.
    #[error("the training matrix holds {values} values, not {rows} rows of dimension {dim}")]
    Shape {
        /// Values given.
        values: usize,
        /// Rows expected (number of labels).
        rows: usize,
        /// Row width.
        dim: usize,
    },
    /// All labels are the same, so there is nothing to separate.
    #[error("training needs both classes: {positives} positive and {negatives} negative rows given")]
    OneClass {
        /// Positive rows.
        positives: usize,
        /// Negative rows.
        negatives: usize,
    },
    /// A parameter is out of range.
    #[error("invalid SVM parameter: {0}")]
    Parameter(String),
    /// A training value is NaN or infinite.
    #[error("training row {row} holds a non-finite value")]
    NonFinite {
        /// The row.
        row: usize,
    },
}

const TAU: f64 = 1e-12;

/// The working set and its kernel block `K[a][b] = x_a . x_b` (float32, row-major).
struct WorkingSet {
    rows: Vec<usize>,
    kernel: Vec<f32>,
}

impl WorkingSet {
    /// Replaces the set by `rows`, reusing the kernel entries of rows already present.
    fn update(&mut self, x: &[f32], dim: usize, position: &mut [u32], rows: Vec<usize>) {
        let old_rows = std::mem::take(&mut self.rows);
        let old_m = old_rows.len();
        let old_kernel = std::mem::take(&mut self.kernel);
        // Order: kept rows first (their block is copied), new rows after (computed).
        let (kept, fresh): (Vec<usize>, Vec<usize>) = rows.into_iter().partition(|&r| position[r] != u32::MAX);
        let old_pos: Vec<usize> = kept.iter().map(|&r| position[r] as usize).collect();
        for &r in &old_rows {
            position[r] = u32::MAX;
        }
        let mut ordered = kept;
        let kept_m = ordered.len();
        ordered.extend(fresh);
        let m = ordered.len();
        for (p, &r) in ordered.iter().enumerate() {
            position[r] = p as u32;
        }
        let mut kernel = vec![0f32; m * m];
        for (a, &pa) in old_pos.iter().enumerate() {
            for (b, &pb) in old_pos.iter().enumerate() {
                kernel[a * m + b] = old_kernel[pa * old_m + pb];
            }
        }
        let new_m = m - kept_m;
        if new_m > 0 {
            let gather = |list: &[usize]| -> Vec<f32> {
                let mut g = Vec::with_capacity(list.len() * dim);
                for &r in list {
                    g.extend_from_slice(&x[r * dim..(r + 1) * dim]);
                }
                g
            };
            let all = gather(&ordered);
            let fresh_rows = &all[kept_m * dim..];
            // block[f][b] = x_fresh[f] . x_all[b], an (new_m x m) product.
            let mut block = vec![0f32; new_m * m];
            // SAFETY: the pointers and strides describe the three buffers above exactly:
            // A is new_m x dim row-major, B = all^T is dim x m (column stride dim), C is new_m x m.
            unsafe {
                crate::dense::gemm(
                    new_m,
                    dim,
                    m,
                    1.0,
                    fresh_rows.as_ptr(),
                    dim as isize,
                    1,
                    all.as_ptr(),
                    1,
                    dim as isize,
                    0.0,
                    block.as_mut_ptr(),
                    m as isize,
                    1,
                );
            }
            for f in 0..new_m {
                for b in 0..m {
                    let v = block[f * m + b];
                    kernel[(kept_m + f) * m + b] = v;
                    kernel[b * m + kept_m + f] = v;
                }
            }
        }
        self.rows = ordered;
        self.kernel = kernel;
    }
}

/// Index sets of the dual: whether `alpha_i` may move up (`I_up`) or down (`I_low`) in the
/// direction `y_i`.
#[inline]
fn in_up(y: f64, alpha: f64, c: f64) -> bool {
    if y > 0.0 { alpha < c } else { alpha > 0.0 }
}

#[inline]
fn in_low(y: f64, alpha: f64, c: f64) -> bool {
    if y > 0.0 { alpha > 0.0 } else { alpha < c }
}

/// libsvm's maximal violation `m(alpha) - M(alpha)`, with `m = max_{I_up} -y G`,
/// `M = min_{I_low} -y G` and `G_i = y_i w.x_i - 1` (so `-y_i G_i = y_i - w.x_i`); returns
/// `(gap, m, M)`.
pub(crate) fn kkt_gap(y: &[f64], alpha: &[f64], wx: &[f64], c: f64) -> (f64, f64, f64) {
    let mut m_up = f64::NEG_INFINITY;
    let mut m_low = f64::INFINITY;
    for i in 0..y.len() {
        let v = y[i] - wx[i];
        if in_up(y[i], alpha[i], c) {
            m_up = m_up.max(v);
        }
        if in_low(y[i], alpha[i], c) {
            m_low = m_low.min(v);
        }
    }
    (m_up - m_low, m_up, m_low)
}

/// Solves the dual restricted to the working set by SMO; `grad` holds the set's gradients on
/// entry and is kept current. Returns the number of pair updates.
fn solve_subproblem(set: &WorkingSet, y: &[f64], alpha: &mut [f64], grad: &mut [f64], c: f64, eps: f64) -> u64 {
    let m = set.rows.len();
    let k = &set.kernel;
    let ys: Vec<f64> = set.rows.iter().map(|&r| y[r]).collect();
    let diag: Vec<f64> = (0..m).map(|a| k[a * m + a] as f64).collect();
    let max_iterations = (100 * m as u64).max(10_000_000);
    let mut iterations = 0u64;
    while iterations < max_iterations {
        // libsvm's WSS 2: i maximises -y G over I_up; j minimises the second-order gain.
        let mut gmax = f64::NEG_INFINITY;
        let mut i = usize::MAX;
        for t in 0..m {
            if in_up(ys[t], alpha[t], c) {
                let v = -ys[t] * grad[t];
                if v >= gmax {
                    gmax = v;
                    i = t;
                }
            }
        }
        if i == usize::MAX {
            break;
        }
        let ki = &k[i * m..(i + 1) * m];
        let mut gmax2 = f64::NEG_INFINITY;
        let mut best = f64::INFINITY;
        let mut j = usize::MAX;
        for t in 0..m {
            if in_low(ys[t], alpha[t], c) {
                let v = ys[t] * grad[t];
                if v >= gmax2 {
                    gmax2 = v;
                }
                let diff = gmax + v;
                if diff > 0.0 {
                    let quad = diag[i] + diag[t] - 2.0 * ki[t] as f64;
                    let gain = -(diff * diff) / if quad > 0.0 { quad } else { TAU };
                    if gain <= best {
                        best = gain;
                        j = t;
                    }
                }
            }
        }
        if gmax + gmax2 < eps || j == usize::MAX {
            break;
        }
        iterations += 1;
        let kj = &k[j * m..(j + 1) * m];
        let (yi, yj) = (ys[i], ys[j]);
        let (old_i, old_j) = (alpha[i], alpha[j]);
        let quad = (diag[i] + diag[j] - 2.0 * ki[j] as f64).max(TAU);
        // Move along y_i e_i - y_j e_j, which keeps sum(y alpha) fixed.
        if yi != yj {
            let delta = (-grad[i] - grad[j]) / quad;
            let diff = alpha[i] - alpha[j];
            alpha[i] += delta;
            alpha[j] += delta;
            if diff > 0.0 {
                if alpha[j] < 0.0 {
                    alpha[j] = 0.0;
                    alpha[i] = diff;
                }
            } else if alpha[i] < 0.0 {
                alpha[i] = 0.0;
                alpha[j] = -diff;
            }
            if diff > 0.0 {
                if alpha[i] > c {
                    alpha[i] = c;
                    alpha[j] = c - diff;
                }
            } else if alpha[j] > c {
                alpha[j] = c;
                alpha[i] = c + diff;
            }
        } else {
            let delta = (grad[i] - grad[j]) / quad;
            let sum = alpha[i] + alpha[j];
            alpha[i] -= delta;
            alpha[j] += delta;
            if sum > c {
                if alpha[i] > c {
                    alpha[i] = c;
                    alpha[j] = sum - c;
                }
            } else if alpha[j] < 0.0 {
                alpha[j] = 0.0;
                alpha[i] = sum;
            }
            if sum > c {
                if alpha[j] > c {
                    alpha[j] = c;
                    alpha[i] = sum - c;
                }
            } else if alpha[i] < 0.0 {
                alpha[i] = 0.0;
                alpha[j] = sum;
            }
        }
        let di = (alpha[i] - old_i) * yi;
        let dj = (alpha[j] - old_j) * yj;
        // G_t += Q_ti dalpha_i + Q_tj dalpha_j, with Q_ts = y_t y_s K_ts.
        for t in 0..m {
            grad[t] += ys[t] * (ki[t] as f64 * di + kj[t] as f64 * dj);
        }
    }
    iterations
}

/// Trains the exact linear SVM on the rows of `x` (`labels.len()` rows of `dim` float32 values,
/// row-major); `labels[i]` is true for the positive class.
pub fn train_linear_svm(
    x: &[f32],
    dim: usize,
    labels: &[bool],
    params: &SvmParams,
) -> Result<(LinearSvm, SvmReport), SvmError> {
    let start = Instant::now();
    let n = labels.len();
    if dim == 0 || x.len() != n * dim {
        return Err(SvmError::Shape { values: x.len(), rows: n, dim });
    }
    if !(params.c.is_finite() && params.c > 0.0) {
        return Err(SvmError::Parameter(format!("C must be positive and finite, got {}", params.c)));
    }
    if !(params.tolerance.is_finite() && params.tolerance > 0.0) {
        return Err(SvmError::Parameter(format!("the tolerance must be positive, got {}", params.tolerance)));
    }
    if params.violators_per_round == 0 {
        return Err(SvmError::Parameter("violators_per_round must be at least 1".into()));
    }
    if let Some((row, _)) = crate::kernels::first_non_finite(x, dim) {
        return Err(SvmError::NonFinite { row });
    }
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 || positives == n {
        return Err(SvmError::OneClass { positives, negatives: n - positives });
    }
    let c = params.c;
    let eps = params.tolerance;
    let y: Vec<f64> = labels.iter().map(|&l| if l { 1.0 } else { -1.0 }).collect();
    let row = |i: usize| &x[i * dim..(i + 1) * dim];

    // Stages 1 and 2: the smoothed primal by Newton, with active-set solves between its levels.
    let primal = if params.primal_newton {
        huber_continuation(x, dim, &y, c, eps)
    } else {
        PrimalResult {
            outcome: Outcome::Smoothed(vec![0.0; n]),
            newton_steps: 0,
            factorisations: 0,
            rank_one_updates: 0,
            levels: 0,
        }
    };
    let active_set_solves = match &primal.outcome {
        Outcome::Exact(e) => e.iterations,
        Outcome::Smoothed(_) => 0,
    };
    let (mut alpha, mut w, mut wx) = match primal.outcome {
        Outcome::Exact(exact) => (exact.alpha, exact.w, exact.wx),
        Outcome::Smoothed(alpha) => {
            let mut w = vec![0f64; dim];
            for i in 0..n {
                if alpha[i] != 0.0 {
                    let s = alpha[i] * y[i];
                    add_scaled(&mut w, s, row(i));
                }
            }
            let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
            let mut wx = vec![0f64; n];
            gemv(x, &w32, &mut wx);
            (alpha, w, wx)
        }
    };
    let mut w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();

    // Stage 3: SMO decomposition from there until libsvm's criterion holds on every row.
    let mut position = vec![u32::MAX; n];
    let mut set = WorkingSet { rows: Vec::new(), kernel: Vec::new() };
    let per_side = params.violators_per_round;
    let mut rounds = 0;
    let mut smo_iterations = 0u64;
    let mut max_working_set = 0;
    let mut gap;
    loop {
        let (g, m_up, m_low) = kkt_gap(&y, &alpha, &wx, c);
        gap = g;
        if gap <= eps || rounds >= params.max_rounds {
            break;
        }
        rounds += 1;
        // Working set: free support vectors plus the worst violators of each side.
        let mut up = Vec::new();
        let mut low = Vec::new();
        let mut next = Vec::new();
        for i in 0..n {
            let v = y[i] - wx[i];
            if alpha[i] > 0.0 && alpha[i] < c {
                next.push(i);
                continue;
            }
            if in_up(y[i], alpha[i], c) && v > m_low + eps * 0.5 {
                up.push((-v, i));
            }
            if in_low(y[i], alpha[i], c) && v < m_up - eps * 0.5 {
                low.push((v, i));
            }
        }
        next.extend(take_smallest(&mut up, per_side));
        next.extend(take_smallest(&mut low, per_side));
        next.sort_unstable();
        next.dedup();
        set.update(x, dim, &mut position, next);
        max_working_set = max_working_set.max(set.rows.len());

        let mut sub_alpha: Vec<f64> = set.rows.iter().map(|&r| alpha[r]).collect();
        let mut sub_grad: Vec<f64> = set.rows.iter().map(|&r| y[r] * wx[r] - 1.0).collect();
        // Solve a little tighter than the outer criterion so one round can finish the job.
        smo_iterations += solve_subproblem(&set, &y, &mut sub_alpha, &mut sub_grad, c, eps * 0.5);
        for (p, &r) in set.rows.iter().enumerate() {
            let delta = sub_alpha[p] - alpha[r];
            if delta != 0.0 {
                alpha[r] = sub_alpha[p];
                let s = delta * y[r];
                add_scaled(&mut w, s, row(r));
            }
        }
        for (a, b) in w32.iter_mut().zip(&w) {
            *a = *b as f32;
        }
        gemv(x, &w32, &mut wx);
    }

    // Intercept as libsvm computes rho.
    let (mut upper, mut lower) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut free, mut free_sum) = (0usize, 0f64);
    let (mut support, mut bounded) = (0usize, 0usize);
    for i in 0..n {
        let yg = y[i] * (y[i] * wx[i] - 1.0);
        if alpha[i] >= c {
            bounded += 1;
            support += 1;
            if y[i] < 0.0 { upper = upper.min(yg) } else { lower = lower.max(yg) }
        } else if alpha[i] <= 0.0 {
            if y[i] > 0.0 { upper = upper.min(yg) } else { lower = lower.max(yg) }
        } else {
            support += 1;
            free += 1;
            free_sum += yg;
        }
    }
    let rho = if free > 0 { free_sum / free as f64 } else { (upper + lower) / 2.0 };
    let norm2: f64 = w.iter().map(|v| v * v).sum();
    let dual_objective = 0.5 * norm2 - alpha.iter().sum::<f64>();
    let model = LinearSvm { weights: w, bias: -rho };
    let report = SvmReport {
        newton_steps: primal.newton_steps,
        newton_factorisations: primal.factorisations,
        newton_rank_one_updates: primal.rank_one_updates,
        smoothing_levels: primal.levels,
        active_set_solves,
        rounds,
        smo_iterations,
        support_vectors: support,
        bounded_support_vectors: bounded,
        max_working_set,
        kkt_gap: gap,
        converged: gap <= eps,
        dual_objective,
        seconds: start.elapsed().as_secs_f64(),
        simd: crate::kernels::simd_level().to_string(),
    };
    Ok((model, report))
}

/// The `count` entries with the smallest keys (all of them if fewer), in no particular order.
fn take_smallest(items: &mut [(f64, usize)], count: usize) -> Vec<usize> {
    if items.len() > count {
        items.select_nth_unstable_by(count, |a, b| a.0.total_cmp(&b.0));
    }
    items.iter().take(count).map(|&(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_point_closed_form() {
        // Points (1, 0) and (-1, 0): hard margin gives w = (1, 0), b = 0.
        let x = [1.0f32, 0.0, -1.0, 0.0];
        let (m, r) = train_linear_svm(&x, 2, &[true, false], &SvmParams::default()).unwrap();
        assert!((m.weights[0] - 1.0).abs() < 1e-9 && m.weights[1].abs() < 1e-12, "{m:?}");
        assert!(m.bias.abs() < 1e-9);
        assert!(r.converged);
    }

    #[test]
    fn soft_margin_closed_form() {
        // Points at +-0.5 on a line: hard margin needs |w| = 2, but C = 0.1 caps alpha; the optimum
        // has both alphas at C and w = 0.1 * (0.5 + 0.5) = 0.1.
        let x = [0.5f32, -0.5];
        let params = SvmParams { c: 0.1, ..Default::default() };
        let (m, r) = train_linear_svm(&x, 1, &[true, false], &params).unwrap();
        assert!((m.weights[0] - 0.1).abs() < 1e-9, "{m:?}");
        assert_eq!(r.bounded_support_vectors, 2);
    }

    #[test]
    fn errors_are_named() {
        assert!(matches!(
            train_linear_svm(&[1.0, 2.0], 2, &[true, false], &SvmParams::default()),
            Err(SvmError::Shape { .. })
        ));
        assert!(matches!(
            train_linear_svm(&[1.0, 2.0], 1, &[true, true], &SvmParams::default()),
            Err(SvmError::OneClass { .. })
        ));
        assert!(matches!(
            train_linear_svm(&[1.0, f32::NAN], 1, &[true, false], &SvmParams::default()),
            Err(SvmError::NonFinite { row: 1 })
        ));
        let bad = SvmParams { c: 0.0, ..Default::default() };
        assert!(matches!(train_linear_svm(&[1.0, 2.0], 1, &[true, false], &bad), Err(SvmError::Parameter(_))));
    }
}
