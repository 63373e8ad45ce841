//! `interfacegan ganspace`: directions without labels, the principal components of W (GANSpace,
//! Härkönen et al., NeurIPS 2020).

use std::path::PathBuf;

use interfacegan::generator::{Generator, ZSampler};
use interfacegan::io::{NpyArray, NpyStreamWriter, OutputSet, stage_npy};
use interfacegan::subspace::{Pca, PcaAccumulator};

use crate::CliError;
use crate::cli_error::refuse_existing;
use crate::directions_out::stage_directions;
use crate::ganspace_state::{PARTIAL_FILE, PartialRun, RunKey};
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
    /// Seed of the z samples: chunk c (of --batch codes) draws stream 2 + c of it, the spread stream 1.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write components.npy [k, D], component_NNN.npy (1, D) each, lat_mean.npy [D],
    /// lat_stdev.npy [k] and ganspace.json.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: PathBuf,
    /// Also keep the W codes: DIR/w.npy [n, D] (the components' samples) and DIR/w_spread.npy
    /// [5000, D] (lat_stdev's), to check the components with another PCA.
    #[arg(long, value_name = "DIR")]
    save_samples: Option<PathBuf>,
    /// Replace existing outputs.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    if !(2..=MAX_SAMPLES).contains(&args.samples) || args.batch == 0 {
        return Err(CliError::new(format!("-n must be 2..={MAX_SAMPLES} and --batch at least 1")));
    }
    let files = ["components.npy", "lat_mean.npy", "lat_stdev.npy", "ganspace.json"].map(|f| args.output.join(f));
    refuse_existing(files, args.force)?;
    let device = args.generator.device()?;
    let (generator, architecture) = args.generator.load(&device)?;
    let no_mapping = || {
        CliError::new(format!(
            "a {architecture:?} has no mapping network: GANSpace takes components of W (its route for Z-only \
             models, PCA of an early layer's features, is not implemented)"
        ))
    };
    let z_dim = generator.info().latent_dim;
    let dim = generator.map_z(&vec![0.0; z_dim])?.ok_or_else(no_mapping)?.len();
    let key =
        RunKey { generator: args.generator.describe(), seed: args.seed, samples: args.samples, batch: args.batch, dim };
    let partial = PartialRun::open(&args.output, key)?;
    let mut outputs = OutputSet::new(args.force);
    let accumulator = sum_codes(&args, generator.as_ref(), &partial, &mut outputs)?;
    let pca = accumulator.finish(args.k)?;
    let spread_w = spread_samples(generator.as_ref(), args.seed)?;
    if let Some(dir) = &args.save_samples {
        stage_npy(&mut outputs, dir.join("w_spread.npy"), &NpyArray::new(vec![STDEV_SAMPLES, dim], spread_w.clone())?)?;
    }
    let stdev = spread(&spread_w, &pca);
    write(&args, outputs, &pca, &stdev, &format!("{architecture:?}"))?;
    partial.remove()?;
    println!(
        "{} GANSpace components of W from {} samples ({dim}-dimensional), variances {:.3?}... -> {}",
        args.k,
        args.samples,
        &pca.variances[..args.k.min(3)],
        args.output.display()
    );
    Ok(())
}

/// The sums of all chunks: resumed from the folder's state (saved after each chunk), or, with
/// --save-samples, from the start with every W code kept.
fn sum_codes(
    args: &Args,
    generator: &dyn Generator,
    partial: &PartialRun,
    outputs: &mut OutputSet,
) -> Result<PcaAccumulator, CliError> {
    let dim = partial.dim();
    match &args.save_samples {
        Some(dir) => {
            if partial.exists() {
                return Err(CliError::new(format!(
                    "{}: an interrupted run is there, and --save-samples cannot resume one; remove it or drop \
                     --save-samples",
                    args.output.join(PARTIAL_FILE).display()
                )));
            }
            outputs.create_dir_all(dir)?;
            let mut kept = NpyStreamWriter::create(dir.join("w.npy"), &[args.samples, dim], args.force)?;
            let accumulator = accumulate(args, generator, (PcaAccumulator::new(dim), 0), |_, w, _| {
                kept.push(w).map_err(CliError::from)
            })?;
            outputs.push(kept.stage()?)?;
            Ok(accumulator)
        }
        None => {
            let start = partial.load(args.force)?.unwrap_or((PcaAccumulator::new(dim), 0));
            if start.1 > 0 {
                println!("resumed: {} of {} chunks were already done", start.1, args.samples.div_ceil(args.batch));
            }
            accumulate(args, generator, start, |accumulator, _, done| partial.save(accumulator, done))
        }
    }
}

/// Maps the chunks of z after the `start` chunks already summed, adds their W codes to the
/// accumulator and hands each chunk to `after_chunk` (with the chunks done). Chunk `c` is
/// `--batch` codes of stream `2 + c` of the seed, so any chunk can be drawn on its own.
fn accumulate(
    args: &Args,
    generator: &dyn Generator,
    start: (PcaAccumulator, usize),
    mut after_chunk: impl FnMut(&PcaAccumulator, &[f32], usize) -> Result<(), CliError>,
) -> Result<PcaAccumulator, CliError> {
    let (mut accumulator, first) = start;
    let z_dim = generator.info().latent_dim;
    let chunks = args.samples.div_ceil(args.batch);
    let bar = crate::progress_bars::bar(args.samples as u64, "mapping z to w", "codes");
    for chunk in first..chunks {
        let n = args.batch.min(args.samples - chunk * args.batch);
        let z = ZSampler::with_stream(z_dim, args.seed, 2 + chunk as u64).next_batch(n);
        let w = generator.map_z(&z)?.ok_or_else(|| CliError::new("the generator stopped mapping z to w"))?;
        accumulator.add(&w)?;
        after_chunk(&accumulator, &w, chunk + 1)?;
        bar.set_position((chunk * args.batch + n) as u64);
    }
    bar.finish_and_clear();
    Ok(accumulator)
}

/// GANSpace's fresh W codes for `lat_stdev`: a second stream of the seed.
fn spread_samples(generator: &dyn Generator, seed: u64) -> Result<Vec<f32>, CliError> {
    let z = ZSampler::with_stream(generator.info().latent_dim, seed, 1).next_batch(STDEV_SAMPLES);
    generator.map_z(&z)?.ok_or_else(|| CliError::new("the generator stopped mapping z to w"))
}

/// The standard deviation of the W codes `w` along each component (GANSpace's `lat_stdev`).
fn spread(w: &[f32], pca: &Pca) -> Vec<f64> {
    let dim = pca.mean.len();
    pca.components
        .iter()
        .map(|c| {
            let projections: Vec<f64> = w
                .chunks(dim)
                .map(|code| code.iter().zip(&pca.mean).zip(c).map(|((&x, m), c)| (x as f64 - m) * c).sum())
                .collect();
            let mean = projections.iter().sum::<f64>() / projections.len() as f64;
            (projections.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / projections.len() as f64).sqrt()
        })
        .collect()
}

/// Stages the components' files into `outputs` and commits them with what is staged there.
fn write(args: &Args, mut outputs: OutputSet, pca: &Pca, stdev: &[f64], architecture: &str) -> Result<(), CliError> {
    let dim = pca.mean.len();
    let as_f32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
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
