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

    /// A sampler on stream `stream` of `seed`: independent of every other stream, so chunk `k` of
    /// a long run can be drawn (or redrawn after an interruption, or on another machine) without
    /// drawing the chunks before it. Stream 0 gives the codes of [`ZSampler::new`].
    pub fn with_stream(dim: usize, seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha12Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self { rng, dim }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_streams() {
        let all = sample_z(10, 4, 9);
        let mut sampler = ZSampler::new(4, 9);
        let mut joined = sampler.next_batch(3);
        joined.extend(sampler.next_batch(7));
        assert_eq!(all, joined);
        assert_eq!(ZSampler::with_stream(4, 9, 0).next_batch(10), all);
        let one = ZSampler::with_stream(4, 9, 1).next_batch(10);
        let two = ZSampler::with_stream(4, 9, 2).next_batch(10);
        assert_ne!(one, all);
        assert_ne!(one, two);
        assert_eq!(one, ZSampler::with_stream(4, 9, 1).next_batch(10));
    }
}
