use std::path::PathBuf;

use interfacegan::pipeline::{SampleOptions, Shard, sample_and_score};

use crate::CliError;
use crate::attributes_arg::as_dyn;
use crate::progress_bars::Bars;
use crate::sampling_args::{SamplingArgs, SamplingRun, rates};

#[derive(clap::Args)]
pub struct Args {
    /// Number of codes N of the whole run (all shards together).
    #[arg(short = 'n', long = "num")]
    num: usize,
    /// Run folder. Finished chunks go to DIR/chunks/; a whole run also writes DIR/z.npy and
    /// DIR/<attr>_scores.npy. Running again resumes.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: PathBuf,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Compute only share K of N (chunks K-1, K-1+N, ...); join the shards with `merge`.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Replace z.npy / scores found in a folder that holds no run.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?.unwrap_or(Shard::WHOLE);
    let SamplingRun { generator, scorers, options } = args.sampling.load(args.num)?;
    let options = SampleOptions { shard, overwrite: args.force, ..options };
    let report = sample_and_score(generator.as_ref(), &as_dyn(&scorers), &options, &args.output, &Bars::default())?;
    println!(
        "shard {}: {} chunks ({} already done), {} codes run in {:.1} s ({})",
        report.shard,
        report.chunks_owned,
        report.chunks_resumed,
        report.samples_run,
        report.seconds,
        rates(&report)
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
