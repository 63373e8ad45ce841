//! The learning-rate schedule of the StyleGAN2 projector (Karras et al., 2020): a short linear
//! warm-up, then constant, then a cosine ramp down to zero over the last part of the run.

use crate::error::InversionError;

/// Learning rate over an optimisation of a fixed number of steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearningRate {
    /// The peak rate.
    pub initial: f64,
    /// Fraction of the run spent ramping up linearly from zero (0.05 in the projector).
    pub rampup: f64,
    /// Fraction of the run spent ramping down along a half cosine to zero (0.25 in the projector).
    pub rampdown: f64,
}

impl LearningRate {
    /// The projector's shape with peak `initial`.
    pub fn new(initial: f64) -> Self {
        Self { initial, rampup: 0.05, rampdown: 0.25 }
    }

    /// A constant rate (no ramps).
    pub fn constant(initial: f64) -> Self {
        Self { initial, rampup: 0.0, rampdown: 0.0 }
    }

    /// The rate at step `step` (0-based) of `steps`.
    pub fn at(&self, step: usize, steps: usize) -> f64 {
        let t = step as f64 / steps.max(1) as f64;
        let down = if self.rampdown > 0.0 { ((1.0 - t) / self.rampdown).min(1.0) } else { 1.0 };
        let down = 0.5 - 0.5 * (down * std::f64::consts::PI).cos();
        // The first step of a ramp-up must not be zero, or it is wasted.
        let up = if self.rampup > 0.0 { ((step + 1) as f64 / (self.rampup * steps as f64)).min(1.0) } else { 1.0 };
        self.initial * down * up
    }

    pub(crate) fn validate(&self) -> Result<(), InversionError> {
        let fraction = |v: f64| (0.0..=1.0).contains(&v);
        if !(self.initial.is_finite() && self.initial > 0.0) {
            return Err(InversionError::LearningRate(self.initial));
        }
        if !fraction(self.rampup) || !fraction(self.rampdown) || self.rampup + self.rampdown > 1.0 {
            return Err(InversionError::Ramps { rampup: self.rampup, rampdown: self.rampdown });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_up_holds_and_ramps_down() {
        let lr = LearningRate::new(0.1);
        let steps = 100;
        assert!((lr.at(0, steps) - 0.1 / 5.0).abs() < 1e-12);
        assert!((lr.at(4, steps) - 0.1).abs() < 1e-12);
        assert!((lr.at(50, steps) - 0.1).abs() < 1e-12);
        // Half-way down the last quarter: half the rate.
        assert!((lr.at(87, steps) - 0.1 * (0.5 - 0.5 * (0.52 * std::f64::consts::PI).cos())).abs() < 1e-12);
        assert!(lr.at(99, steps) < 0.001);
        assert_eq!(LearningRate::constant(0.3).at(99, 100), 0.3);
    }

    #[test]
    fn rejects_bad_rates() {
        assert!(LearningRate::new(0.0).validate().is_err());
        assert!(LearningRate::new(f64::NAN).validate().is_err());
        assert!(LearningRate { initial: 0.1, rampup: 0.6, rampdown: 0.5 }.validate().is_err());
        assert!(LearningRate::new(0.1).validate().is_ok());
    }
}
