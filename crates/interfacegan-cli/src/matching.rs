//! `interfacegan match`: which unsupervised direction (SeFa, GANSpace) is which attribute,
//! measured by re-scoring against the SVM boundaries.

use std::path::{Path, PathBuf};

use interfacegan::generator::{Generator, LatentSpace, ZSampler, normalize_z};
use interfacegan::io::{OutputSet, read_f32};
use interfacegan::pipeline::{Direction, MatchOptions, match_directions, match_page, match_sheets, stage_match_files};
use interfacegan::subspace::InterpolateOptions;

use crate::CliError;
use crate::attributes_arg::{as_dyn, built_in_scorers};
use crate::cli_error::refuse_existing;
use crate::codes_input::{latent_space, read_codes};
use crate::model_args::GeneratorArgs;
use crate::progress_bars::Bars;

/// The built-in attributes, the boundaries a folder may hold for them.
const BUILT_IN: [&str; 3] = ["gender", "age", "smile"];

#[derive(clap::Args)]
pub struct Args {
    /// Unsupervised directions: a folder written by `sefa` or `ganspace`, or a .npy of rows [k, D]
    /// (each row taken as a unit direction); repeat for several.
    #[arg(short = 'd', long = "directions", value_name = "DIR|FILE.npy", required = true)]
    directions: Vec<PathBuf>,
    /// Folder of the boundaries to compare with: `<attribute>_boundary.npy` (a `demo` run folder).
    #[arg(long = "boundaries", value_name = "DIR")]
    boundaries: PathBuf,
    /// Attributes to match, comma separated (default: every built-in attribute the folder has a boundary for).
    #[arg(short = 'a', long, value_delimiter = ',')]
    attributes: Vec<String>,
    /// Fresh codes moved along every direction.
    #[arg(short = 'n', long = "num", default_value_t = 256)]
    num: usize,
    /// Codes to move instead (.npy [N, D], [N, L, D] for wp).
    #[arg(short = 'i', long = "input-latent-codes", value_name = "CODES.npy")]
    input: Option<PathBuf>,
    /// Seed of the fresh codes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Space of the codes and directions: z, w or wp (fresh w codes are mapped from fresh z).
    #[arg(short = 's', long = "latent-space", default_value = "z")]
    space: String,
    /// Steps of the re-scoring, comma separated.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, default_value = "-2,-1,0,1,2")]
    distances: Vec<f64>,
    /// Share of the boundary's own effect a direction must reach to match an attribute.
    #[arg(long, default_value_t = 0.5)]
    min_share: f64,
    /// Codes in each edit strip (one row each).
    #[arg(long, default_value_t = 4)]
    strip_samples: usize,
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Where to write match.html, match.json, match.csv and strips/<attribute>_<direction>.png.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: PathBuf,
    /// Replace existing outputs.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    let options = MatchOptions::default().distances(args.distances.clone()).min_share(args.min_share);
    options.check()?;
    refuse_existing(["match.html", "match.json", "match.csv"].map(|f| args.output.join(f)), args.force)?;
    let device = args.generator.device()?;
    let (generator, architecture) = args.generator.load(&device)?;
    let info = generator.info().clone();
    let space = latent_space(&info, &args.space)?;
    let boundaries = read_boundaries(&args.boundaries, &args.attributes, info.latent_dim)?;
    let mut candidates = Vec::new();
    for path in &args.directions {
        candidates.extend(read_directions(path, info.latent_dim)?);
    }
    refuse_repeated_names(&candidates)?;
    let names: Vec<String> = boundaries.iter().map(|b| b.target.clone()).collect();
    let scorers = built_in_scorers(&names, &device, args.generator.scorer_engine())?;
    let normalize = architecture.normalizes_z();
    let codes = match &args.input {
        Some(path) => read_codes(path, &info, space)?.0,
        None => fresh_codes(generator.as_ref(), space, args.num, (args.seed, 0), normalize)?,
    };
    let directions = (boundaries.as_slice(), candidates.as_slice());
    let table =
        match_directions(generator.as_ref(), &as_dyn(&scorers), &codes, space, directions, &options, &Bars::default())?;
    let strip_codes = fresh_codes(generator.as_ref(), space, args.strip_samples, (args.seed, 1), normalize)?;
    let edit = InterpolateOptions { start: -3.0, end: 3.0, steps: 7, ..Default::default() };
    let sheets = match_sheets(generator.as_ref(), &table, directions, (&strip_codes, space), &edit, 64)?;

    let mut outputs = OutputSet::new(args.force);
    stage_match_files(&mut outputs, &table, &sheets, &args.output, &args.output.join("strips"))?;
    outputs.stage_bytes(args.output.join("match.html"), match_page(&table, &sheets)?.as_bytes())?;
    outputs.commit()?;
    for found in &table.matches {
        println!("{}.", found.finding);
    }
    println!("-> {}", args.output.join("match.html").display());
    Ok(())
}

/// `count` fresh codes of `space`: z of stream `stream` of `seed`, mapped to w (repeated per layer
/// for wp).
fn fresh_codes(
    generator: &dyn Generator,
    space: LatentSpace,
    count: usize,
    (seed, stream): (u64, u64),
    normalize: bool,
) -> Result<Vec<f32>, CliError> {
    if count == 0 {
        return Err(CliError::new("-n and --strip-samples must be at least 1"));
    }
    let info = generator.info();
    let mut z = ZSampler::with_stream(info.latent_dim, seed, stream).next_batch(count);
    if normalize {
        normalize_z(&mut z, info.latent_dim);
    }
    if space == LatentSpace::Z {
        return Ok(z);
    }
    let w = generator.map_z(&z)?.ok_or_else(|| CliError::new("this generator maps no z to w; give -i codes"))?;
    let copies = if space == LatentSpace::WPlus { info.wp_layers } else { 1 };
    Ok(w.chunks(info.latent_dim).flat_map(|code| code.repeat(copies)).collect())
}

/// The plain boundaries of `dir` for `wanted` attributes (default: every built-in one there).
fn read_boundaries(dir: &Path, wanted: &[String], dim: usize) -> Result<Vec<Direction>, CliError> {
    let names: Vec<String> = if wanted.is_empty() {
        BUILT_IN.iter().filter(|a| dir.join(format!("{a}_boundary.npy")).is_file()).map(|a| a.to_string()).collect()
    } else {
        wanted.to_vec()
    };
    if names.is_empty() {
        return Err(CliError::new(format!(
            "{}: holds no gender_boundary.npy, age_boundary.npy or smile_boundary.npy (a `demo` run folder does)",
            dir.display()
        )));
    }
    names
        .iter()
        .map(|name| {
            let path = dir.join(format!("{name}_boundary.npy"));
            let boundary = interfacegan::Boundary::load(&path)?;
            if boundary.dim() != dim {
                return Err(CliError::new(format!(
                    "{}: a boundary of dimension {} does not fit this generator (latent dimension {dim})",
                    path.display(),
                    boundary.dim()
                )));
            }
            Ok(Direction { target: name.clone(), conditions: Vec::new(), vector: boundary.normal().to_vec() })
        })
        .collect()
}

/// The directions of a `sefa`/`ganspace` folder (`sefa_000`, ...) or of a `.npy` of rows
/// (`<stem>_000`, ...), each scaled to unit length.
fn read_directions(path: &Path, dim: usize) -> Result<Vec<Direction>, CliError> {
    let (file, prefix) = if path.is_dir() {
        match ["sefa", "ganspace"].iter().find(|m| path.join(format!("{m}.json")).is_file()) {
            Some(&"sefa") => (path.join("directions.npy"), "sefa".to_string()),
            Some(_) => (path.join("components.npy"), "ganspace".to_string()),
            None => {
                return Err(CliError::new(format!(
                    "{}: holds neither sefa.json nor ganspace.json (a folder written by `interfacegan sefa` or \
                     `ganspace`)",
                    path.display()
                )));
            }
        }
    } else {
        (path.to_path_buf(), path.file_stem().map_or("direction".into(), |s| s.to_string_lossy().into_owned()))
    };
    let rows = read_f32(&file)?;
    let fits = matches!(rows.shape(), [_, d] if *d == dim) || rows.shape() == [dim];
    if !fits || rows.data().is_empty() {
        return Err(CliError::new(format!(
            "{}: directions of shape {:?} do not fit this generator's codes ([k, {dim}])",
            file.display(),
            rows.shape()
        )));
    }
    rows.data()
        .chunks(dim)
        .enumerate()
        .map(|(i, row)| {
            let norm = row.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
            if !(norm.is_finite() && norm > 0.0) {
                return Err(CliError::new(format!("{}: row {i} is not a direction (length {norm})", file.display())));
            }
            let vector = row.iter().map(|&v| v as f64 / norm).collect();
            Ok(Direction { target: format!("{prefix}_{i:03}"), conditions: Vec::new(), vector })
        })
        .collect()
}

fn refuse_repeated_names(candidates: &[Direction]) -> Result<(), CliError> {
    match candidates.iter().enumerate().find(|(i, c)| candidates[..*i].iter().any(|o| o.target == c.target)) {
        Some((_, c)) => Err(CliError::new(format!(
            "two directions are named {}: give each sefa/ganspace folder once (or one as a .npy file)",
            c.target
        ))),
        None => Ok(()),
    }
}
