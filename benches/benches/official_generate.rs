//! Images per second of the official layouts' PGGAN and StyleGAN on the CPU: the golden networks of
//! `fixtures/golden/` (random weights made by genforce/interfacegan's code; StyleGAN 128 has the
//! fused up-convolution), batch 1 and 16.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use interfacegan::generator::{Generator, LatentSpace, Pggan, StyleGan, Weights, cpu_device, sample_z};

fn golden(path: &str) -> Weights {
    Weights::from_file(format!("{}/../fixtures/golden/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn bench_generator(c: &mut Criterion, name: &str, g: &dyn Generator) {
    let mut group = c.benchmark_group(name);
    group.sample_size(20);
    for batch in [1usize, 16] {
        let z = sample_z(batch, g.info().latent_dim, 1);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &z, |b, z| {
            b.iter(|| g.synthesize(z, LatentSpace::Z).unwrap())
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let device = cpu_device();
    bench_generator(
        c,
        "pggan64_generate",
        &Pggan::from_weights(&golden("pggan64/weights_legacy.pth"), &device).unwrap(),
    );
    for model in ["stylegan64", "stylegan128"] {
        let g = StyleGan::from_weights(&golden(&format!("{model}/weights_zip.pth")), &device).unwrap();
        bench_generator(c, &format!("{model}_generate"), &g);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
