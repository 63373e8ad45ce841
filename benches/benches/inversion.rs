//! Inversion steps per second (one forward and one backward pass of the DCGAN, and an Adam update)
//! on the CPU backend at batch 1 and 16.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use interfacegan::generator::{Generator, LatentSpace, cpu_device, default_generator, sample_z, to_rgb_images};
use interfacegan::inversion::{InversionParams, Inverter, Start};

const STEPS: usize = 10;

fn bench(c: &mut Criterion) {
    let g = default_generator(&cpu_device().autodiff()).unwrap();
    let mut group = c.benchmark_group("inversion_steps");
    group.sample_size(10);
    for batch in [1usize, 16] {
        let drawn = g.synthesize(&sample_z(batch, 100, 3), LatentSpace::Z).unwrap();
        let targets = to_rgb_images(&drawn.images, drawn.image_shape).unwrap();
        let start = sample_z(batch, 100, 4);
        let inverter = Inverter::new(&g, InversionParams::default().steps(STEPS)).unwrap();
        // Throughput in steps of the whole batch: criterion's "elements" are steps here.
        group.throughput(Throughput::Elements(STEPS as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &targets, |b, targets| {
            b.iter(|| inverter.invert(targets, Start::Codes(&start), &mut |_| {}).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
