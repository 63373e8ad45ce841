//! Images per second of the official layouts' PGGAN and StyleGAN on the CPU: the golden networks of
//! `fixtures/golden/` (random weights made by genforce/interfacegan's code; StyleGAN 128 has the
//! fused up-convolution), batch 1 and 16; and NVIDIA's StyleGAN2 at 128 px (the golden pickle
//! with `conv_clamp`) by its CPU route (`synthesize`) beside burn's operators (`forward`).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use interfacegan::generator::{
    Generator, LatentSpace, Pggan, StyleGan, StyleGan2, Tensor, Weights, cpu_device, sample_z,
};

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
    let g = StyleGan2::from_weights(&golden("nvlabs/sg2_128_clamp.pkl"), &device).unwrap();
    bench_generator(c, "stylegan2_128_generate", &g);
    bench_burn_route(c, "stylegan2_128_burn", &g);
}

/// `forward` (burn's operators) on the same codes as [`bench_generator`], images copied to the host.
fn bench_burn_route(c: &mut Criterion, name: &str, g: &dyn Generator) {
    let mut group = c.benchmark_group(name);
    group.sample_size(20);
    let d = g.info().latent_dim;
    for batch in [1usize, 16] {
        let z = sample_z(batch, d, 1);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &z, |b, z| {
            b.iter(|| {
                let codes = Tensor::<1>::from_floats(z.as_slice(), g.device()).reshape([batch, 1, d]);
                g.forward(codes, LatentSpace::Z).unwrap().into_data()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
