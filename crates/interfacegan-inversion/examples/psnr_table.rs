//! The table of docs/inversion.md: mean PSNR/SSIM over 32 faces the embedded DCGAN drew from known
//! codes, by start (random, encoder) and number of optimisation steps.
//!
//! cargo run --release -p interfacegan-inversion --example psnr_table [-- STEPS...]

use interfacegan_generator::{Generator, LatentSpace, cpu_device, default_generator, sample_z, to_rgb_images};
use interfacegan_inversion::{Encoder, InversionParams, Inverter, Start};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let steps: Vec<usize> = match std::env::args().skip(1).map(|s| s.parse()).collect::<Result<Vec<_>, _>>()? {
        s if s.is_empty() => vec![0, 50, 100, 200, 500, 1000],
        s => s,
    };
    let g = default_generator(&cpu_device().autodiff())?;
    // Seed 77 is not a seed the encoder saw (it trains on stream 0 of seed 0).
    let z = sample_z(32, 100, 77);
    let drawn = g.synthesize(&z, LatentSpace::Z)?;
    let targets = to_rgb_images(&drawn.images, drawn.image_shape)?;
    let encoded = Encoder::default_dcgan()?.encode(&targets, g.device())?;
    println!("| start | steps | mean PSNR (dB) | min PSNR | images >= 30 dB | mean SSIM | s / image |");
    println!("|---|---|---|---|---|---|---|");
    for (name, start) in [("random", Start::Random), ("encoder", Start::Codes(&encoded))] {
        for &s in &steps {
            let out = Inverter::new(&g, InversionParams::default().steps(s))?.invert(&targets, start, &mut |_| {})?;
            let psnr: Vec<f64> = out.reports.iter().map(|r| r.psnr.min(99.0)).collect();
            let n = psnr.len() as f64;
            println!(
                "| {name} | {s} | {:.2} | {:.2} | {}/32 | {:.4} | {:.2} |",
                psnr.iter().sum::<f64>() / n,
                psnr.iter().copied().fold(f64::INFINITY, f64::min),
                psnr.iter().filter(|&&p| p >= 30.0).count(),
                out.reports.iter().map(|r| r.ssim).sum::<f64>() / n,
                out.reports[0].seconds
            );
        }
    }
    Ok(())
}
