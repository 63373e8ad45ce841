//! `Boundary::fit` on the default case of docs/benchmarks.md: 500,000 codes in R^512, top and
//! bottom 2 % (a 14,000 x 512 training set), the "remaining" accuracy over the other 480,000, in the
//! separable (validation accuracy ~0.976) and noisy (~0.905) regimes. The codes are generated here
//! like benches/make_data.py does (z ~ N(0, I), score = z.u + noise; 1 GB in memory). The
//! whole-process comparison with sklearn on the same kind of data is benches/compare_svc.py.

use criterion::{Criterion, criterion_group, criterion_main};
use interfacegan::{Boundary, FitOptions};
use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
use rand_distr::StandardNormal;

const DIM: usize = 512;

fn data(n: usize, noise: f64, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut u: Vec<f64> = (0..DIM).map(|_| rng.sample(StandardNormal)).collect();
    let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
    u.iter_mut().for_each(|v| *v /= norm);
    let codes: Vec<f32> = (0..n * DIM).map(|_| rng.sample(StandardNormal)).collect();
    let scores = codes
        .chunks(DIM)
        .map(|z| {
            let s: f64 = z.iter().zip(&u).map(|(a, b)| *a as f64 * b).sum();
            (s + noise * rng.sample::<f64, _>(StandardNormal)) as f32
        })
        .collect();
    (codes, scores)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("boundary_fit_14000x512");
    group.sample_size(10);
    // The noise levels of benches/make_data.py for the two regimes.
    for (name, noise) in [("separable", 1.0), ("noisy", 1.7)] {
        let (codes, scores) = data(500_000, noise, 1);
        let options = FitOptions::default();
        let (_, report) = Boundary::fit(&codes, DIM, &scores, &options).unwrap();
        eprintln!(
            "{name}: validation accuracy {:.4}, {} support vectors ({} at C), {} Newton steps, {} SMO rounds",
            report.val_accuracy.unwrap(),
            report.svm.support_vectors,
            report.svm.bounded_support_vectors,
            report.svm.newton_steps,
            report.svm.rounds
        );
        group.bench_function(name, |b| b.iter(|| Boundary::fit(&codes, DIM, &scores, &options).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
