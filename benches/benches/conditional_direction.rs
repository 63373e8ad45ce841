//! `conditional_direction` in R^512 with k = 1..32 conditions.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use interfacegan::conditional_direction;
use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
use rand_distr::StandardNormal;

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut unit = || {
        let v: Vec<f64> = (0..512).map(|_| rng.sample(StandardNormal)).collect();
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.into_iter().map(|x| x / n).collect::<Vec<f64>>()
    };
    let primal = unit();
    let conditions: Vec<Vec<f64>> = (0..32).map(|_| unit()).collect();
    let mut group = c.benchmark_group("conditional_direction_512");
    for k in [1, 2, 3, 4, 8, 16, 32] {
        let refs: Vec<&[f64]> = conditions[..k].iter().map(|v| v.as_slice()).collect();
        group.bench_with_input(BenchmarkId::from_parameter(k), &refs, |b, refs| {
            b.iter(|| conditional_direction(&primal, refs).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
