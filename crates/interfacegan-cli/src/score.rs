use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use interfacegan::attributes::{BuiltInScorer, Scorer};
use interfacegan::generator::{Device, LatentSpace, RgbImage, normalize_z, to_rgb_images};
use interfacegan::io::{NpyStreamWriter, OutputSet, read_f32};

use crate::CliError;
use crate::attributes_arg::built_in_scorers;
use crate::cli_error::refuse_existing;
use crate::model_args::GeneratorArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Image files to score; their scores are printed (use --images for a folder).
    #[arg(value_name = "IMAGE")]
    files: Vec<PathBuf>,
    /// Attributes to score, comma separated: gender (P(male)), age (expected years), smile (P(happy)).
    #[arg(short = 'a', long, value_delimiter = ',', default_value = "gender,age,smile")]
    attributes: Vec<String>,
    /// Score every image (png, jpg, jpeg, bmp, webp) of this folder, in file-name order.
    #[arg(long = "images", value_name = "DIR", conflicts_with_all = ["files", "codes"])]
    images: Option<PathBuf>,
    /// Synthesise these z codes (.npy [N, D], e.g. from `generate`) and score the images.
    #[arg(long, value_name = "CODES.npy", conflicts_with = "files")]
    codes: Option<PathBuf>,
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Output folder for <attribute>_scores.npy ([N, 1], the official names); required with --images or --codes.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: Option<PathBuf>,
    /// Images per batch.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Do not rescale z codes to norm sqrt(D) (PGGAN/StyleGAN only; see `generate`).
    #[arg(long)]
    no_z_normalization: bool,
    /// Replace existing output files.
    #[arg(long)]
    force: bool,
}

/// Produces the images `start..start + n` of the run.
type BatchSource = dyn FnMut(usize, usize) -> Result<Vec<RgbImage>, CliError>;

const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "webp", "tif"];

fn read_image(path: &Path) -> Result<RgbImage, CliError> {
    Ok(interfacegan::io::open_image(path)?.to_rgb8())
}

fn image_files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::new(format!("cannot list {}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CliError::new(format!(
            "{}: no images (png, jpg, jpeg, bmp, webp, tif) in the folder",
            dir.display()
        )));
    }
    Ok(files)
}

pub fn run(args: Args) -> Result<(), CliError> {
    if args.batch == 0 {
        return Err(CliError::new("--batch must be at least 1"));
    }
    let device = args.generator.device()?;
    let scorers = built_in_scorers(&args.attributes, &device, args.generator.scorer_engine())?;
    if args.images.is_none() && args.codes.is_none() {
        return score_files(&args, &scorers);
    }
    let output = args.output.as_ref().ok_or_else(|| CliError::new("--images and --codes need -o DIR"))?;
    let score_path = |s: &BuiltInScorer| output.join(format!("{}_scores.npy", s.attribute()));
    let list_path = output.join("image_list.txt");
    let mut planned: Vec<PathBuf> = scorers.iter().map(score_path).collect();
    if args.images.is_some() {
        planned.push(list_path.clone());
    }
    refuse_existing(&planned, args.force)?;
    let (count, mut next_batch, image_list) = batch_source(&args, &device)?;

    let mut outputs = OutputSet::new(args.force);
    outputs.create_dir_all(output)?;
    let mut writers = scorers
        .iter()
        .map(|s| NpyStreamWriter::create(score_path(s), &[count, 1], args.force))
        .collect::<Result<Vec<_>, _>>()?;
    let progress = crate::image_progress(count, "scoring");
    let mut source_time = Duration::ZERO;
    let mut score_time = vec![Duration::ZERO; scorers.len()];
    let mut done = 0;
    while done < count {
        let n = args.batch.min(count - done);
        let t = Instant::now();
        let images = next_batch(done, n)?;
        source_time += t.elapsed();
        for ((scorer, writer), time) in scorers.iter().zip(&mut writers).zip(&mut score_time) {
            let t = Instant::now();
            let scores = scorer.score(&images)?;
            *time += t.elapsed();
            writer.push(&scores)?;
        }
        done += n;
        progress.set_position(done as u64);
    }
    progress.finish_and_clear();
    for w in writers {
        outputs.push(w.stage()?)?;
    }
    if let Some(list) = image_list {
        outputs.stage_bytes(&list_path, list.as_bytes())?;
    }
    outputs.commit()?;
    let rate = |d: Duration| count as f64 / d.as_secs_f64().max(1e-9);
    let what = if args.codes.is_some() { "generated" } else { "read" };
    let mut line = format!("{count} images {what} at {:.1} images/s; scored", rate(source_time));
    for (s, d) in scorers.iter().zip(&score_time) {
        line.push_str(&format!(" {} {:.1}/s", s.attribute(), rate(*d)));
    }
    println!("{line} -> {}", output.display());
    Ok(())
}

/// Scores the image files named on the command line and prints one line each.
fn score_files(args: &Args, scorers: &[BuiltInScorer]) -> Result<(), CliError> {
    if args.files.is_empty() {
        return Err(CliError::new("nothing to score: give image files, --images DIR or --codes z.npy"));
    }
    let images = args.files.iter().map(|p| read_image(p)).collect::<Result<Vec<_>, _>>()?;
    let scores = scorers.iter().map(|s| s.score(&images)).collect::<Result<Vec<_>, _>>()?;
    for (i, path) in args.files.iter().enumerate() {
        let values: Vec<String> =
            scorers.iter().zip(&scores).map(|(s, v)| format!("{} {:.4}", s.attribute(), v[i])).collect();
        println!("{}: {}", path.display(), values.join(", "));
    }
    Ok(())
}

/// The batches of images to score and how many there are: read from --images (with the folder's
/// list, written as image_list.txt), or synthesised from --codes.
fn batch_source(args: &Args, device: &Device) -> Result<(usize, Box<BatchSource>, Option<String>), CliError> {
    if let Some(dir) = &args.images {
        let files = image_files(dir)?;
        let list = files.iter().map(|p| format!("{}\n", p.display())).collect();
        let count = files.len();
        let next = move |start: usize, n: usize| files[start..start + n].iter().map(|p| read_image(p)).collect();
        return Ok((count, Box::new(next), Some(list)));
    }
    let codes_path = args.codes.as_ref().ok_or_else(|| CliError::new("give --images DIR or --codes z.npy"))?;
    let (generator, architecture) = args.generator.load(device)?;
    let dim = generator.info().latent_dim;
    let codes = read_f32(codes_path)?;
    if codes.shape().len() != 2 || codes.shape()[1] != dim || codes.shape()[0] == 0 {
        return Err(CliError::new(format!(
            "{}: codes of shape {:?}, the generator takes z codes [N, {dim}]",
            codes_path.display(),
            codes.shape()
        )));
    }
    let count = codes.shape()[0];
    let normalize = architecture.normalizes_z() && !args.no_z_normalization;
    let values = codes.into_data();
    let next = move |start: usize, n: usize| {
        let mut z = values[start * dim..(start + n) * dim].to_vec();
        if normalize {
            normalize_z(&mut z, dim);
        }
        let out = generator.synthesize(&z, LatentSpace::Z)?;
        Ok(to_rgb_images(&out.images, out.image_shape)?)
    };
    Ok((count, Box::new(next), None))
}
