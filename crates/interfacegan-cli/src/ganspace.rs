//! `interfacegan ganspace`: directions without labels, the principal components of W (GANSpace,
//! Härkönen et al., NeurIPS 2020).

use std::path::PathBuf;

use interfacegan::generator::{Generator, ZSampler};
use interfacegan::io::{NpyArray, OutputSet, stage_npy};
use interfacegan::subspace::{Pca, PcaAccumulator};

use crate::CliError;
use crate::directions_out::stage_directions;
use crate::model_args::GeneratorArgs;

/// GANSpace estimates each component's spread from this many fresh samples.
const STDEV_SAMPLES: usize = 5_000;
/// At most this many samples (the sampling is linear in them; memory is not).
const MAX_SAMPLES: usize = 1_000_000_000;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    generator: GeneratorArgs,
    /// How many W codes to take the components of (GANSpace's default: 10^6).
    #[arg(short = 'n', long, default_value_t = 1_000_000)]
    samples: usize,
    /// How many components to keep, by variance.
    #[arg(short = 'k', long, default_value_t = 80)]
    k: usize,
    /// Codes mapped per batch.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Seed of the z samples (the spread uses a second stream of it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write components.npy [k, D], component_NNN.npy (1, D) each, lat_mean.npy [D],
    /// lat_stdev.npy [k] and ganspace.json.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: PathBuf,
    /// Replace existing outputs.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    if !(2..=MAX_SAMPLES).contains(&args.samples) || args.batch == 0 {
        return Err(CliError::new(format!("-n must be 2..={MAX_SAMPLES} and --batch at least 1")));
    }
    let device = args.generator.device()?;
    let (generator, architecture) = args.generator.load(&device)?;
    let dim = generator.info().latent_dim;
    let mut accumulator = PcaAccumulator::new(dim);
    let mut sampler = ZSampler::new(dim, args.seed);
    let bar = crate::progress_bars::bar(args.samples as u64, "mapping z to w", "codes");
    let no_mapping = || {
        CliError::new(format!(
            "a {architecture:?} has no mapping network: GANSpace takes components of W (its route for Z-only \
             models, PCA of an early layer's features, is not implemented)"
        ))
    };
    for start in (0..args.samples).step_by(args.batch) {
        let n = args.batch.min(args.samples - start);
        let w = generator.map_z(&sampler.next_batch(n))?.ok_or_else(no_mapping)?;
        accumulator.add(&w)?;
        bar.set_position((start + n) as u64);
    }
    bar.finish_and_clear();
    let pca = accumulator.finish(args.k)?;
    let stdev = spread(generator.as_ref(), &pca, args.seed)?;
    write(&args, &pca, &stdev, &format!("{architecture:?}"))?;
    println!(
        "{} GANSpace components of W from {} samples ({dim}-dimensional), variances {:.3?}... -> {}",
        args.k,
        args.samples,
        &pca.variances[..args.k.min(3)],
        args.output.display()
    );
    Ok(())
}

/// The standard deviation of fresh W codes along each component (GANSpace's `lat_stdev`).
fn spread(generator: &dyn Generator, pca: &Pca, seed: u64) -> Result<Vec<f64>, CliError> {
    let dim = pca.mean.len();
    let z = ZSampler::with_stream(dim, seed, 1).next_batch(STDEV_SAMPLES);
    let w = generator.map_z(&z)?.ok_or_else(|| CliError::new("the generator stopped mapping z to w"))?;
    let stdev = pca
        .components
        .iter()
        .map(|c| {
            let projections: Vec<f64> = w
                .chunks(dim)
                .map(|code| code.iter().zip(&pca.mean).zip(c).map(|((&x, m), c)| (x as f64 - m) * c).sum())
                .collect();
            let mean = projections.iter().sum::<f64>() / projections.len() as f64;
            (projections.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / projections.len() as f64).sqrt()
        })
        .collect();
    Ok(stdev)
}

fn write(args: &Args, pca: &Pca, stdev: &[f64], architecture: &str) -> Result<(), CliError> {
    let dim = pca.mean.len();
    let as_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let mut outputs = OutputSet::new(args.force);
    outputs.create_dir_all(&args.output)?;
    stage_directions(&mut outputs, &args.output, "component", &pca.components)?;
    stage_npy(&mut outputs, args.output.join("lat_mean.npy"), &NpyArray::new(vec![dim], as_f32(&pca.mean))?)?;
    stage_npy(&mut outputs, args.output.join("lat_stdev.npy"), &NpyArray::new(vec![args.k], as_f32(stdev))?)?;
    let report = serde_json::json!({
        "method": "ganspace",
        "architecture": architecture,
        "space": "w",
        "samples": args.samples,
        "seed": args.seed,
        "variances": pca.variances,
        "lat_stdev": stdev,
    });
    let json = serde_json::to_string_pretty(&report).expect("a JSON value serialises");
    outputs.stage_bytes(args.output.join("ganspace.json"), json.as_bytes())?;
    outputs.commit()?;
    Ok(())
}
