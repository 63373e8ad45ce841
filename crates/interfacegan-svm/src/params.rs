//! The solver's parameters, checked once before training.

use serde::{Deserialize, Serialize};

use crate::SvmError;

/// Parameters of [`train_linear_svm`](crate::train_linear_svm): libsvm's defaults (`C = 1`,
/// `eps = 1e-3`), set by builders and checked by [`SvmParams::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvmParams {
    pub(crate) c: f64,
    pub(crate) tolerance: f64,
    pub(crate) violators_per_round: usize,
    pub(crate) max_rounds: usize,
    pub(crate) primal_newton: bool,
}

impl Default for SvmParams {
    fn default() -> Self {
        Self { c: 1.0, tolerance: 1e-3, violators_per_round: 256, max_rounds: 100_000, primal_newton: true }
    }
}

impl SvmParams {
    /// Sets the cost of a margin violation, C (positive).
    pub fn c(mut self, c: f64) -> Self {
        self.c = c;
        self
    }

    /// Sets the stopping tolerance on the maximal KKT violation, libsvm's `eps` (positive).
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Sets how many of the worst violators of each side join the working set per SMO round (at least 1).
    pub fn violators_per_round(mut self, count: usize) -> Self {
        self.violators_per_round = count;
        self
    }

    /// Sets after how many SMO rounds the solver gives up (and reports `converged = false`).
    pub fn max_rounds(mut self, rounds: usize) -> Self {
        self.max_rounds = rounds;
        self
    }

    /// Whether stages 1 and 2 (smoothed-primal Newton and the active-set solve) run before SMO.
    /// With `false`, SMO alone solves the problem from `alpha = 0`, as libsvm does: slower, useful
    /// to cross-check.
    pub fn primal_newton(mut self, enabled: bool) -> Self {
        self.primal_newton = enabled;
        self
    }

    /// Fails naming the first parameter out of range.
    pub fn check(&self) -> Result<(), SvmError> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(SvmError::InvalidC(self.c));
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(SvmError::InvalidTolerance(self.tolerance));
        }
        if self.violators_per_round == 0 {
            return Err(SvmError::NoViolatorsPerRound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_the_parameter() {
        assert_eq!(SvmParams::default().check(), Ok(()));
        assert_eq!(SvmParams::default().c(0.0).check(), Err(SvmError::InvalidC(0.0)));
        assert!(matches!(SvmParams::default().c(f64::NAN).check(), Err(SvmError::InvalidC(_))));
        assert_eq!(SvmParams::default().tolerance(-1.0).check(), Err(SvmError::InvalidTolerance(-1.0)));
        assert_eq!(SvmParams::default().violators_per_round(0).check(), Err(SvmError::NoViolatorsPerRound));
    }
}
