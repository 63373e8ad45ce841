use std::path::PathBuf;
use std::time::Instant;

use interfacegan::generator::{Generator, LatentSpace};
use interfacegan::pipeline::{Direction, Pipeline, PipelineOptions, RescoreOptions, findings};

use crate::CliError;
use crate::attributes_arg::as_dyn;
use crate::progress_bars::Bars;
use crate::sampling_args::{SamplingArgs, SamplingRun, rates};

#[derive(clap::Args)]
pub struct Args {
    /// Number of sampled codes N.
    #[arg(short = 'n', long = "num", default_value_t = 20_000)]
    num: usize,
    /// Run folder: every artefact and report.html. A folder of the same run is resumed.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR", default_value = "interfacegan-demo")]
    output: PathBuf,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Samples per side for the SVMs (ratio or count). Default: the official 0.02, raised to 100
    /// per side when N is too small for it.
    #[arg(long = "chosen-num-or-ratio")]
    chosen_num_or_ratio: Option<f64>,
    /// Fresh samples in each edit strip.
    #[arg(long, default_value_t = 5)]
    edit_samples: usize,
    /// Fresh samples moved and re-scored along each direction.
    #[arg(long, default_value_t = 128)]
    rescore_samples: usize,
    /// Steps of the re-scoring, comma separated.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, default_value = "-2,-1,0,1,2")]
    rescore_distances: Vec<f64>,
    /// Directions found without labels to measure against the boundaries (the report's
    /// `unsupervised` section, match.json): `sefa` (from the weights; DCGAN and PGGAN, whose SeFa
    /// directions are z directions as the demo's boundaries are) and `ganspace` (needs a W space).
    #[arg(long, value_delimiter = ',', value_parser = ["sefa", "ganspace"])]
    unsupervised: Vec<String>,
    /// How many directions of each unsupervised method.
    #[arg(long, default_value_t = 10)]
    unsupervised_k: usize,
    /// Write into a folder that holds other files.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let start = Instant::now();
    let SamplingRun { generator, scorers, options: sample } = args.sampling.load(args.num)?;
    let scorers = as_dyn(&scorers);
    let unsupervised = unsupervised_directions(&args, generator.as_ref())?;
    let options = PipelineOptions::default()
        .sample(sample)
        .chosen_num_or_ratio(args.chosen_num_or_ratio)
        .edit_samples(args.edit_samples)
        .rescore_samples(args.rescore_samples)
        .rescore(RescoreOptions { distances: args.rescore_distances.clone(), ..Default::default() })
        .overwrite(args.force);
    let outcome = Pipeline::new(generator.as_ref(), &scorers)
        .options(options)
        .unsupervised(unsupervised)
        .run(&args.output, &Bars::default())?;

    let sample = &outcome.sample;
    if sample.chunks_resumed > 0 {
        println!("resumed: {} of {} chunks were already done", sample.chunks_resumed, sample.chunks_owned);
    }
    println!("{} codes sampled and scored ({})", sample.manifest.samples, rates(sample));
    for a in &outcome.attributes {
        let acc = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.3}"));
        println!(
            "{:>7}: validation accuracy {}, remaining {} ({})",
            a.name,
            acc(a.fit.val_accuracy),
            acc(a.fit.remaining_accuracy),
            a.chosen_note
        );
    }
    for row in &outcome.rescore.rows {
        if !outcome.rescore.target_monotonic(row) {
            println!("note: along {} the mean {} score is not monotonic", row.direction, row.target);
        }
    }
    for line in findings(&outcome) {
        println!("  {line}");
    }
    for found in outcome.matching.iter().flat_map(|m| &m.matches) {
        println!("  {}.", found.finding);
    }
    println!("done in {:.0} s -> {}", start.elapsed().as_secs_f64(), args.output.join("report.html").display());
    Ok(())
}

/// The directions `--unsupervised` asks for, named `sefa_000`, ...; refused where they would not
/// live in the demo's z space.
fn unsupervised_directions(args: &Args, generator: &dyn Generator) -> Result<Vec<Direction>, CliError> {
    if args.unsupervised.is_empty() {
        return Ok(Vec::new());
    }
    let info = generator.info();
    if info.spaces.contains(&LatentSpace::W) {
        return Err(CliError::new(format!(
            "--unsupervised: SeFa's and GANSpace's directions of a {} act on W, but the demo fits its boundaries \
             in z; fit W boundaries (`train-boundary -c RUN/w.npy`) and compare with `interfacegan match -s w`",
            info.architecture
        )));
    }
    if args.unsupervised.iter().any(|m| m == "ganspace") {
        return Err(CliError::new(format!(
            "--unsupervised ganspace: GANSpace takes principal components of W, which a {} does not have (its \
             route for z-only models, PCA of an early layer regressed to z, is not implemented); use sefa",
            info.architecture
        )));
    }
    let (weights, architecture) = args.sampling.weights()?;
    let (factorization, _) = crate::sefa::factorize(&weights, architecture, None, args.unsupervised_k)?;
    Ok(factorization
        .directions
        .into_iter()
        .enumerate()
        .map(|(i, vector)| Direction { target: format!("sefa_{i:03}"), conditions: Vec::new(), vector })
        .collect())
}
