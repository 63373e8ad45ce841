//! Images per second of PGGAN on the CPU at batch 1 and 16: the golden 64 px network of
//! `fixtures/golden/pggan64` (official layout, random weights made by the official code).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use interfacegan::generator::{Generator, LatentSpace, Pggan, Weights, cpu_device, sample_z};

fn bench(c: &mut Criterion) {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/golden/pggan64/weights_legacy.pth");
    let g = Pggan::from_weights(&Weights::from_file(file).unwrap(), &cpu_device()).unwrap();
    let mut group = c.benchmark_group("pggan64_generate");
    group.sample_size(20);
    for batch in [1usize, 16] {
        let z = sample_z(batch, 48, 1);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &z, |b, z| {
            b.iter(|| g.synthesize(z, LatentSpace::Z).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
