use std::path::PathBuf;

use interfacegan::pipeline::{SampleOptions, Shard, sample_and_score};

use crate::CliError;
use crate::attributes_arg::{as_dyn, built_in_scorers};
use crate::model_args::GeneratorArgs;
use crate::progress_bars::Bars;

#[derive(clap::Args)]
pub struct Args {
    /// Number of codes N of the whole run (all shards together).
    #[arg(short = 'n', long = "num")]
    num: usize,
    /// Run folder. Finished chunks go to DIR/chunks/; a whole run also writes DIR/z.npy and
    /// DIR/<attr>_scores.npy. Running again resumes.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: PathBuf,
    /// Attributes to score, comma separated.
    #[arg(short = 'a', long, value_delimiter = ',', default_value = "gender,age,smile")]
    attributes: Vec<String>,
    /// Seed of the run: chunk k draws its codes from stream k of it, wherever it runs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Codes per chunk.
    #[arg(long, default_value_t = 1_000)]
    chunk_size: usize,
    /// Images per forward pass.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Compute only share K of N (chunks K-1, K-1+N, ...); join the shards with `merge`.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Do not rescale z codes to norm sqrt(D) (PGGAN/StyleGAN only).
    #[arg(long)]
    no_z_normalization: bool,
    /// Replace z.npy / scores found in a folder that holds no run.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?.unwrap_or(Shard::WHOLE);
    let device = args.generator.device()?;
    let (generator, architecture) = args.generator.load(&device)?;
    let scorers = built_in_scorers(&args.attributes, &device)?;
    let options = SampleOptions {
        samples: args.num,
        seed: args.seed,
        chunk_size: args.chunk_size,
        batch: args.batch,
        normalize_z: architecture.normalizes_z() && !args.no_z_normalization,
        shard,
        overwrite: args.force,
    };
    let report = sample_and_score(generator.as_ref(), &as_dyn(&scorers), &options, &args.output, &Bars::default())?;
    let (synthesis, rates) = report.rates();
    let rates: Vec<String> = rates.iter().map(|(a, r)| format!("{a} {r:.0}/s")).collect();
    println!(
        "shard {}: {} chunks ({} already done), {} codes run in {:.1} s (synthesis {synthesis:.0} images/s; scoring {})",
        report.shard,
        report.chunks_owned,
        report.chunks_resumed,
        report.samples_run,
        report.seconds,
        rates.join(", ")
    );
    if report.merged {
        println!(
            "wrote {}",
            report
                .manifest
                .output_files()
                .iter()
                .map(|f| args.output.join(f).display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    } else {
        println!("chunks in {}; join all shards with `interfacegan merge DIR1 DIR2 ... -o OUT`", args.output.display());
    }
    Ok(())
}
