//! Images per second of each built-in scorer on the CPU device (batch 64), on the CPU engine (the
//! default) and on burn's operators, beside the DCGAN's generation rate at the same batch, so that a
//! generate-and-score run's bottleneck shows.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use interfacegan::attributes::{Attribute, BuiltInScorer, Engine, Scorer};
use interfacegan::generator::{Generator, LatentSpace, cpu_device, default_generator, sample_z, to_rgb_images};

fn bench(c: &mut Criterion) {
    let device = cpu_device();
    let g = default_generator(&device).unwrap();
    let batch = 64;
    let z = sample_z(batch, 100, 3);
    let out = g.synthesize(&z, LatentSpace::Z).unwrap();
    let faces = to_rgb_images(&out.images, out.image_shape).unwrap();
    let mut group = c.benchmark_group("score");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch as u64));
    group.bench_function("generate-dcgan", |b| b.iter(|| g.synthesize(&z, LatentSpace::Z).unwrap()));
    for engine in [Engine::Cpu, Engine::Burn] {
        for attribute in Attribute::ALL {
            let scorer = BuiltInScorer::new(attribute, &device).unwrap().with_engine(engine).unwrap();
            let id = BenchmarkId::new(format!("{engine:?}").to_lowercase(), attribute.name());
            group.bench_with_input(id, &faces, |b, faces| b.iter(|| scorer.score(faces).unwrap()));
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
