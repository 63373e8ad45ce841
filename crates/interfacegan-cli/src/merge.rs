use std::path::PathBuf;

use interfacegan::pipeline::merge_chunks;

use crate::CliError;
use crate::progress_bars::Bars;

#[derive(clap::Args)]
pub struct Args {
    /// Run folders of the shards (each with manifest.json and chunks/).
    #[arg(value_name = "DIR", required = true, num_args = 1..)]
    inputs: Vec<PathBuf>,
    /// Where z.npy and <attr>_scores.npy go.
    #[arg(short = 'o', long = "output-dir", value_name = "OUT")]
    output: PathBuf,
    /// Replace existing outputs.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let report = merge_chunks(&args.inputs, &args.output, args.force, &Bars::default())?;
    let sources: Vec<String> = args
        .inputs
        .iter()
        .zip(&report.chunks_per_input)
        .map(|(dir, n)| format!("{n} from {}", dir.display()))
        .collect();
    println!(
        "{} codes in {} chunks ({}) -> {}",
        report.manifest.samples,
        report.manifest.chunks(),
        sources.join(", "),
        report.outputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}
