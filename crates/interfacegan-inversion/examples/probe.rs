use interfacegan_generator::{Generator, LatentSpace, cpu_device, default_generator, sample_z, to_rgb_images};
use interfacegan_inversion::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let steps: usize = args[1].parse().unwrap();
    let lr: f64 = args[2].parse().unwrap();
    let prior: f64 = args[3].parse().unwrap();
    let n: usize = args[4].parse().unwrap();
    let restarts: usize = args[5].parse().unwrap();
    let g = default_generator(&cpu_device().autodiff()).unwrap();
    let z = sample_z(n, 100, 123);
    let s = g.synthesize(&z, LatentSpace::Z).unwrap();
    let targets = to_rgb_images(&s.images, s.image_shape).unwrap();
    let p = InversionParams::default()
        .steps(steps)
        .learning_rate(LearningRate::new(lr))
        .prior_weight(prior)
        .restarts(restarts);
    let inv = Inverter::new(&g, p).unwrap();
    let t = std::time::Instant::now();
    let enc = args.get(6).map(|p| Encoder::load(p).unwrap());
    let codes = enc.as_ref().map(|e| e.encode(&targets, g.device()).unwrap());
    let start = match &codes {
        Some(c) => Start::Codes(c),
        None => Start::Random,
    };
    let out = inv.invert(&targets, start, &mut |_| {}).unwrap();
    let el = t.elapsed().as_secs_f64();
    let psnrs: Vec<f64> = out.reports.iter().map(|r| r.psnr).collect();
    let mean = psnrs.iter().sum::<f64>() / n as f64;
    println!(
        "steps {steps} lr {lr} prior {prior} n {n} r {restarts}: {:.2} s ({:.1} steps/s) mean psnr {mean:.2} {:?}",
        el,
        steps as f64 / el,
        psnrs.iter().map(|p| (p * 10.0).round() / 10.0).collect::<Vec<_>>()
    );
    println!("ssim {:?}", out.reports.iter().map(|r| (r.ssim * 1000.0).round() / 1000.0).collect::<Vec<_>>());
    let c = &out.reports[0].loss_curve;
    println!("curve {:?}", [c[0], c[c.len() / 4], c[c.len() / 2], c[c.len() - 1]]);
}
