//! Training: the checks, stages 1 and 2 (smoothed-primal Newton with active-set solves), stage 3
//! (SMO) only where needed, and libsvm's intercept.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::kernels::{add_scaled, gemv};
use crate::primal::{Outcome, PrimalResult, huber_continuation};
use crate::smo::{Dual, decompose};
use crate::{SvmError, SvmParams};

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
    params.check()?;
    check_training_set(x, dim, labels)?;
    let y: Vec<f64> = labels.iter().map(|&l| if l { 1.0 } else { -1.0 }).collect();
    let (mut dual, primal, active_set_solves) = primal_stages(x, dim, &y, params);
    let smo = decompose(x, dim, &y, params, &mut dual);
    let intercept = Intercept::of(&y, &dual, params.c);
    let norm2: f64 = dual.w.iter().map(|v| v * v).sum();
    let report = SvmReport {
        newton_steps: primal.newton_steps,
        newton_factorisations: primal.factorisations,
        newton_rank_one_updates: primal.rank_one_updates,
        smoothing_levels: primal.levels,
        active_set_solves,
        rounds: smo.rounds,
        smo_iterations: smo.iterations,
        support_vectors: intercept.support,
        bounded_support_vectors: intercept.bounded,
        max_working_set: smo.max_working_set,
        kkt_gap: smo.gap,
        converged: smo.gap <= params.tolerance,
        dual_objective: 0.5 * norm2 - dual.alpha.iter().sum::<f64>(),
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((LinearSvm { weights: dual.w, bias: -intercept.rho }, report))
}

/// Fails unless `x` holds `labels.len()` finite rows of `dim` values and both classes occur.
fn check_training_set(x: &[f32], dim: usize, labels: &[bool]) -> Result<(), SvmError> {
    let n = labels.len();
    if dim == 0 || x.len() != n * dim {
        return Err(SvmError::Shape { values: x.len(), rows: n, dim });
    }
    if let Some((row, _)) = crate::kernels::first_non_finite(x, dim) {
        return Err(SvmError::NonFinite { row });
    }
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 || positives == n {
        return Err(SvmError::OneClass { positives, negatives: n - positives });
    }
    Ok(())
}

/// Stages 1 and 2 (or `alpha = 0` when they are off): the dual iterate they reach, their figures
/// and the active-set solves.
fn primal_stages(x: &[f32], dim: usize, y: &[f64], params: &SvmParams) -> (Dual, PrimalResult, usize) {
    let n = y.len();
    let mut primal = if params.primal_newton {
        huber_continuation(x, dim, y, params.c, params.tolerance)
    } else {
        PrimalResult {
            outcome: Outcome::Smoothed(vec![0.0; n]),
            newton_steps: 0,
            factorisations: 0,
            rank_one_updates: 0,
            levels: 0,
        }
    };
    let outcome = std::mem::replace(&mut primal.outcome, Outcome::Smoothed(Vec::new()));
    let (dual, solves) = match outcome {
        Outcome::Exact(exact) => {
            let solves = exact.iterations;
            (Dual { alpha: exact.alpha, w: exact.w, wx: exact.wx }, solves)
        }
        Outcome::Smoothed(alpha) => {
            let mut w = vec![0f64; dim];
            for (i, &a) in alpha.iter().enumerate() {
                if a != 0.0 {
                    add_scaled(&mut w, a * y[i], &x[i * dim..(i + 1) * dim]);
                }
            }
            let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
            let mut wx = vec![0f64; n];
            gemv(x, &w32, &mut wx);
            (Dual { alpha, w, wx }, 0)
        }
    };
    (dual, primal, solves)
}

/// The intercept as libsvm computes rho (the mean of `y G` over free support vectors, else the
/// middle of its feasible interval), with the support vector counts.
struct Intercept {
    rho: f64,
    support: usize,
    bounded: usize,
}

impl Intercept {
    fn of(y: &[f64], dual: &Dual, c: f64) -> Self {
        let (mut upper, mut lower) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut free, mut free_sum) = (0usize, 0f64);
        let (mut support, mut bounded) = (0usize, 0usize);
        for (i, (&alpha, &wx)) in dual.alpha.iter().zip(&dual.wx).enumerate() {
            let yg = y[i] * (y[i] * wx - 1.0);
            if alpha >= c {
                bounded += 1;
                support += 1;
                if y[i] < 0.0 { upper = upper.min(yg) } else { lower = lower.max(yg) }
            } else if alpha <= 0.0 {
                if y[i] > 0.0 { upper = upper.min(yg) } else { lower = lower.max(yg) }
            } else {
                support += 1;
                free += 1;
                free_sum += yg;
            }
        }
        let rho = if free > 0 { free_sum / free as f64 } else { (upper + lower) / 2.0 };
        Self { rho, support, bounded }
    }
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
        let params = SvmParams::default().c(0.1);
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
        let bad = SvmParams::default().c(0.0);
        assert_eq!(train_linear_svm(&[1.0, 2.0], 1, &[true, false], &bad).unwrap_err(), SvmError::InvalidC(0.0));
    }
}
