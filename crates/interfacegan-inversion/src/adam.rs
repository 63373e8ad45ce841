//! Adam (Kingma and Ba, 2015) on host vectors.
//!
//! The values optimised here are small (latent codes, an encoder of about a million weights), so the
//! update runs on the host in f64 moments, whatever device computes the gradients.

/// Adam's state for one vector of parameters.
#[derive(Clone, Debug)]
pub struct Adam {
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    first: Vec<f64>,
    second: Vec<f64>,
    steps: i32,
}

impl Adam {
    /// PyTorch's defaults (`betas = (0.9, 0.999)`, `eps = 1e-8`) for `len` parameters.
    pub fn new(len: usize) -> Self {
        Self::with_betas(len, 0.9, 0.999, 1e-8)
    }

    /// Explicit moment decays and epsilon.
    pub fn with_betas(len: usize, beta1: f64, beta2: f64, epsilon: f64) -> Self {
        Self { beta1, beta2, epsilon, first: vec![0.0; len], second: vec![0.0; len], steps: 0 }
    }

    /// One step of size `lr` against `grad`, applied to `params` in place.
    ///
    /// # Panics
    /// When `params` or `grad` does not have the length the optimiser was made for (a programming
    /// error inside this crate, never a user input).
    pub fn step(&mut self, params: &mut [f32], grad: &[f32], lr: f64) {
        assert_eq!(params.len(), self.first.len(), "Adam: parameter count changed");
        assert_eq!(grad.len(), self.first.len(), "Adam: gradient length differs from the parameters");
        self.steps += 1;
        let correction1 = 1.0 - self.beta1.powi(self.steps);
        let correction2 = 1.0 - self.beta2.powi(self.steps);
        for ((p, &g), (m, v)) in params.iter_mut().zip(grad).zip(self.first.iter_mut().zip(self.second.iter_mut())) {
            let g = f64::from(g);
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            let update = lr * (*m / correction1) / ((*v / correction2).sqrt() + self.epsilon);
            *p = (f64::from(*p) - update) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_parameter_by_the_learning_rate() {
        // With bias correction the first update is lr * g / (|g| + eps): the sign of g times lr.
        let mut adam = Adam::new(3);
        let mut p = [1.0f32, -2.0, 0.5];
        adam.step(&mut p, &[4.0, -0.01, 0.0], 0.1);
        assert!((p[0] - 0.9).abs() < 1e-6);
        assert!((p[1] + 1.9).abs() < 1e-5);
        assert_eq!(p[2], 0.5);
    }

    #[test]
    fn minimises_a_quadratic() {
        // f(p) = sum (p - c)^2, gradient 2 (p - c).
        let target = [3.0f32, -1.0, 0.25];
        let mut p = [0.0f32; 3];
        let mut adam = Adam::new(3);
        for _ in 0..2000 {
            let grad: Vec<f32> = p.iter().zip(&target).map(|(a, c)| 2.0 * (a - c)).collect();
            adam.step(&mut p, &grad, 0.01);
        }
        for (a, c) in p.iter().zip(&target) {
            assert!((a - c).abs() < 1e-3, "{p:?}");
        }
    }

    #[test]
    fn matches_pytorch_adam_on_a_known_sequence() {
        // torch.optim.Adam([p], lr=0.1) from p = 1 with gradients 1, -2, 0.5 (PyTorch 2.15, f32).
        let mut adam = Adam::new(1);
        let mut p = [1.0f32];
        for (g, torch) in [(1.0, 0.900_000_04f32), (-2.0, 0.936_610_4), (0.5, 0.950_279_5)] {
            adam.step(&mut p, &[g], 0.1);
            assert!((p[0] - torch).abs() < 1e-6, "{} vs {torch}", p[0]);
        }
    }
}
