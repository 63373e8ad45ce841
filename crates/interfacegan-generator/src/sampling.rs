//! Seeded latent codes and the official Z preprocessing.

use rand::SeedableRng;
use rand::rngs::ChaCha12Rng;
use rand_distr::{Distribution, StandardNormal};

/// `n` codes of dimension `dim` from `N(0, I)`, row-major; the same seed gives the same codes on
/// every machine and backend (ChaCha12, sampled on the host).
pub fn sample_z(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    ZSampler::new(dim, seed).next_batch(n)
}

/// Draws the codes of [`sample_z`] batch by batch: any split into batches gives the same codes,
/// so a long run never holds them all.
pub struct ZSampler {
    rng: ChaCha12Rng,
    dim: usize,
}

impl ZSampler {
    /// A sampler of `dim`-dimensional codes.
    pub fn new(dim: usize, seed: u64) -> Self {
        Self { rng: ChaCha12Rng::seed_from_u64(seed), dim }
    }

    /// The next `n` codes, row-major.
    pub fn next_batch(&mut self, n: usize) -> Vec<f32> {
        (0..n * self.dim).map(|_| StandardNormal.sample(&mut self.rng)).collect()
    }
}

/// The official PGGAN/StyleGAN `preprocess` for Z: each code scaled to norm `sqrt(dim)`
/// (`z / ||z|| * sqrt(dim)`). The DCGAN uses raw `N(0, I)` codes. A zero code is left as is.
pub fn normalize_z(codes: &mut [f32], dim: usize) {
    let target = (dim as f64).sqrt();
    for code in codes.chunks_exact_mut(dim) {
        let norm = code.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>().sqrt();
        if norm > 0.0 {
            let scale = target / norm;
            code.iter_mut().for_each(|v| *v = (*v as f64 * scale) as f32);
        }
    }
}
