//! Images per second of the embedded DCGAN on the CPU backend at batch 1, 16 and 64.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use interfacegan::generator::{Generator, LatentSpace, cpu_device, default_generator, sample_z};

fn bench(c: &mut Criterion) {
    let g = default_generator(&cpu_device()).unwrap();
    let mut group = c.benchmark_group("dcgan_generate");
    group.sample_size(10);
    for batch in [1usize, 16, 64] {
        let z = sample_z(batch, 100, 1);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &z, |b, z| {
            b.iter(|| g.synthesize(z, LatentSpace::Z).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
