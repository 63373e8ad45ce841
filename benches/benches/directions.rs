//! The unsupervised directions' own cost, at the sizes of a 1024 px StyleGAN2 (config F): SeFa on
//! the 6,080 affine rows x 512 that its 18 W+ layers read w through, and GANSpace's accumulation
//! of one batch of 10,000 W codes of 512 values (the mapping network's work is the generator's).

use criterion::{Criterion, criterion_group, criterion_main};
use interfacegan::subspace::{PcaAccumulator, sefa};
use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
use rand_distr::StandardNormal;

/// Input channels of each affine layer of a 1024 px StyleGAN2-F, in W+ order (the last ToRGB's last).
const AFFINE_ROWS: [usize; 18] = [512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 256, 256, 128, 128, 64, 64, 32, 32];

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut normal = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.sample::<f32, _>(StandardNormal)).collect() };
    let blocks: Vec<Vec<f32>> = AFFINE_ROWS.iter().map(|&rows| normal(rows * 512)).collect();
    let refs: Vec<&[f32]> = blocks.iter().map(|b| b.as_slice()).collect();
    c.bench_function("sefa_stylegan2_1024_k5", |b| b.iter(|| sefa(&refs, 512, 5).unwrap()));

    let codes = normal(10_000 * 512);
    let mut group = c.benchmark_group("ganspace");
    group.sample_size(10);
    group.bench_function("accumulate_10000_codes_512", |b| {
        b.iter(|| {
            let mut acc = PcaAccumulator::new(512);
            acc.add(&codes).unwrap();
            acc
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
