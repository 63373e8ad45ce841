use std::path::PathBuf;

use interfacegan::io::write_atomic;
use interfacegan::pipeline::{Direction, RescoreOptions, rescore};

use crate::CliError;
use crate::attributes_arg::{as_dyn, built_in_scorers};
use crate::boundary_args::{label, load_boundaries};
use crate::cli_error::refuse_existing;
use crate::codes_input::{codes_or_sample, latent_space};
use crate::model_args::GeneratorArgs;
use crate::progress_bars::Bars;

#[derive(clap::Args)]
pub struct Args {
    /// Boundary to move along; repeat for several.
    #[arg(short = 'b', long = "boundary", value_name = "BOUNDARY.npy", required = true)]
    boundaries: Vec<PathBuf>,
    /// Codes to move (.npy [N, D], [N, L, D] for wp); without it, -n codes are sampled.
    #[arg(short = 'i', long = "input-latent-codes", value_name = "CODES.npy")]
    input: Option<PathBuf>,
    /// Number of codes to sample when -i is not given.
    #[arg(short = 'n', long = "num", default_value_t = 128)]
    num: usize,
    /// Seed of the sampled codes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Space of the codes: z, w or wp.
    #[arg(short = 's', long = "latent-space", default_value = "z")]
    space: String,
    /// Steps along each boundary (relative moves z + d n), comma separated.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, default_value = "-2,-1,0,1,2")]
    distances: Vec<f64>,
    /// Attributes to score, comma separated.
    #[arg(short = 'a', long, value_delimiter = ',', default_value = "gender,age,smile")]
    attributes: Vec<String>,
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Do not rescale sampled z codes to norm sqrt(D) (PGGAN/StyleGAN only).
    #[arg(long)]
    no_z_normalization: bool,
    /// Also write rescore.csv and rescore.json into this folder.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: Option<PathBuf>,
    /// Replace existing outputs.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let device = args.generator.device()?;
    let (generator, architecture) = args.generator.load(&device)?;
    let info = generator.info().clone();
    let space = latent_space(&info, &args.space)?;
    let boundaries = load_boundaries(&args.boundaries, &info)?;
    let scorers = built_in_scorers(&args.attributes, &device, args.generator.scorer_engine())?;
    let normalize = architecture.normalizes_z() && !args.no_z_normalization;
    let (codes, _) = codes_or_sample(args.input.as_deref(), &info, space, args.num, args.seed, normalize)?;
    if let Some(dir) = &args.output {
        refuse_existing(["rescore.csv", "rescore.json"].iter().map(|f| dir.join(f)), args.force)?;
    }
    let directions: Vec<Direction> = args
        .boundaries
        .iter()
        .zip(&boundaries)
        .map(|(path, b)| Direction { target: label(path), conditions: Vec::new(), vector: b.normal().to_vec() })
        .collect();
    let options = RescoreOptions { distances: args.distances.clone(), batch: 64 };
    let table = rescore(generator.as_ref(), &as_dyn(&scorers), &codes, space, &directions, &options, &Bars::default())?;

    print!("{:<24}", "mean change per step");
    for a in &table.attributes {
        print!("{a:>12}");
    }
    println!();
    for row in &table.rows {
        print!("{:<24}", row.direction);
        for s in &row.slopes {
            print!("{s:>+12.4}");
        }
        println!();
    }
    if let Some(dir) = &args.output {
        std::fs::create_dir_all(dir).map_err(|e| CliError::new(format!("cannot create {}: {e}", dir.display())))?;
        write_atomic(dir.join("rescore.csv"), table.to_csv().as_bytes(), args.force)?;
        let json = serde_json::to_string_pretty(&table).expect("table serialises");
        write_atomic(dir.join("rescore.json"), json.as_bytes(), args.force)?;
        println!("wrote {} and rescore.json", dir.join("rescore.csv").display());
    }
    Ok(())
}
