use std::path::{Path, PathBuf};

use interfacegan::generator::LatentSpace;
use interfacegan::io::{NpyArray, OutputSet, stage_npy};
use interfacegan::pipeline::{check_edit_size, edit_codes};
use interfacegan::subspace::{DistanceMode, InterpolateOptions, LayerSelection};

use crate::CliError;
use crate::boundary_args::{EditDirection, edit_directions};
use crate::cli_error::refuse_existing;
use crate::codes_input::{codes_or_sample, latent_space};
use crate::inversion_args::InversionArgs;
use crate::layers_arg::{LayerList, parse_layers};
use crate::model_args::GeneratorArgs;

/// Photos are inverted for editing: a prior that keeps the code where the boundaries act as they do
/// on samples (docs/inversion.md: a rougher reconstruction, but a smile edit that looks like one).
const EDITABLE_PRIOR: f64 = 0.1;

#[derive(clap::Args)]
pub struct Args {
    /// Boundary to move along (.npy, (1, D) or (D,)); repeat for several (one subfolder each).
    #[arg(short = 'b', long = "boundary", value_name = "BOUNDARY.npy", required = true)]
    boundaries: Vec<PathBuf>,
    /// Move along row N of each -b file of directions [k, D] (SeFa's directions.npy, GANSpace's
    /// components.npy); the moves are then relative unless --absolute.
    #[arg(long, value_name = "N")]
    index: Option<usize>,
    /// With --index on GANSpace's components: distances are in standard deviations of the
    /// component (lat_stdev.npy beside the file), as GANSpace edits.
    #[arg(long, requires = "index")]
    sigma: bool,
    /// Codes to edit (.npy [N, D], [N, L, D] for wp); without it, -n codes are sampled.
    #[arg(short = 'i', long = "input-latent-codes", value_name = "CODES.npy")]
    input: Option<PathBuf>,
    /// Photos to edit: each is inverted first (as `interfacegan invert`), then edited relatively.
    #[arg(long = "image", value_name = "PHOTO", conflicts_with = "input")]
    images: Vec<PathBuf>,
    /// Optimisation steps of the inversion of --image photos.
    #[arg(long, default_value_t = 500)]
    inversion_steps: usize,
    #[command(flatten)]
    inversion: InversionArgs,
    /// Number of codes to sample when -i is not given.
    #[arg(short = 'n', long = "num", default_value_t = 1)]
    num: usize,
    /// Seed of the sampled codes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Space of the codes: z, w or wp.
    #[arg(short = 's', long = "latent-space", default_value = "z")]
    space: String,
    /// First distance.
    #[arg(long, default_value_t = -3.0, allow_negative_numbers = true)]
    start_distance: f64,
    /// Last distance.
    #[arg(long, default_value_t = 3.0, allow_negative_numbers = true)]
    end_distance: f64,
    /// Number of steps from the first to the last distance.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Move each code by the distances (z + d n) instead of placing it at them (the official choice for
    /// z/w; the default for --image photos, so that distance 0 is the photo itself).
    #[arg(long, conflicts_with = "absolute")]
    relative: bool,
    /// Place each code at the distances from the boundary (the official choice is relative for wp).
    #[arg(long)]
    absolute: bool,
    /// wp only: edit these layers, comma-separated numbers and inclusive ranges (e.g. 0-3 or 0,1,8-11);
    /// the others stay.
    #[arg(long, value_parser = parse_layers)]
    layers: Option<LayerList>,
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Do not rescale sampled z codes to norm sqrt(D) (PGGAN/StyleGAN only).
    #[arg(long)]
    no_z_normalization: bool,
    /// Output folder: {sample:03d}_{step:03d}.png and edited_codes.npy [N, steps, ...].
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: PathBuf,
    /// Replace existing outputs.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> Result<(), CliError> {
    // Inversion needs gradients through the generator.
    let device = if args.images.is_empty() { args.generator.device()? } else { args.generator.device()?.autodiff() };
    let (generator, architecture) = args.generator.load(&device)?;
    let info = generator.info().clone();
    let space = latent_space(&info, &args.space)?;
    if args.layers.is_some() && space != LatentSpace::WPlus {
        return Err(CliError::new("--layers applies to wp codes only"));
    }
    let count = if args.images.is_empty() { args.num } else { args.images.len() };
    if args.input.is_none() {
        check_edit_size(count, args.steps, info.resolution)?;
    }
    let directions = edit_directions(&args.boundaries, args.index, args.sigma, &info)?;
    let normalize = architecture.normalizes_z() && !args.no_z_normalization;
    let dirs = output_dirs(&directions, &args.output);
    let inverted_path = args.output.join("inverted_codes.npy");
    if !args.images.is_empty() {
        // Photos are checked before their (slow) inversion.
        let edits = edit_outputs(&dirs, args.images.len(), args.steps);
        refuse_existing(std::iter::once(inverted_path.clone()).chain(edits), args.force)?;
    }
    let mut outputs = OutputSet::new(args.force);
    let (codes, count) = if args.images.is_empty() {
        codes_or_sample(args.input.as_deref(), &info, space, args.num, args.seed, normalize)?
    } else {
        let inverted = args.inversion.invert(
            &args.images,
            generator.as_ref(),
            args.generator.is_default_model(),
            space,
            args.inversion_steps,
            EDITABLE_PRIOR,
        )?;
        for (photo, report) in args.images.iter().zip(&inverted.inversion.reports) {
            println!("{}: inverted, PSNR {:.2} dB, SSIM {:.4}", photo.display(), report.psnr, report.ssim);
        }
        inverted.stage_codes(&mut outputs, &inverted_path)?;
        (inverted.inversion.codes, args.images.len())
    };
    let options = interpolate_options(&args);
    refuse_existing(edit_outputs(&dirs, count, args.steps), args.force)?;
    for (direction, dir) in directions.iter().zip(&dirs) {
        let codes_path = dir.join("edited_codes.npy");
        let scaled = InterpolateOptions {
            start: options.start * direction.scale,
            end: options.end * direction.scale,
            ..options.clone()
        };
        let edits = edit_codes(generator.as_ref(), &codes, space, &direction.normal, &scaled, 16)?;
        edits.stage(&mut outputs, dir)?;
        let mut shape = vec![count, args.steps];
        shape.extend(info.code_shape(space));
        stage_npy(&mut outputs, &codes_path, &NpyArray::new(shape, edits.codes.clone())?)?;
        let sigma = if args.sigma { format!(" σ (x lat_stdev {:.4})", direction.scale) } else { String::new() };
        println!(
            "{} {}: {count} code(s) x {} steps from {} to {}{sigma} -> {}",
            direction.path.display(),
            direction.label,
            args.steps,
            args.start_distance,
            args.end_distance,
            dir.display()
        );
    }
    outputs.commit()?;
    Ok(())
}

/// One folder per direction under `output` (named by its label, numbered when two labels are the
/// same), or `output` itself for a single direction.
fn output_dirs(directions: &[EditDirection], output: &Path) -> Vec<PathBuf> {
    let mut labels: Vec<String> = directions.iter().map(|d| d.label.clone()).collect();
    if labels.iter().enumerate().any(|(i, l)| labels[..i].contains(l)) {
        labels = (0..labels.len()).map(|i| format!("{i:02}_{}", labels[i])).collect();
    }
    labels.iter().map(|name| if directions.len() == 1 { output.to_path_buf() } else { output.join(name) }).collect()
}

/// The distances, steps, mode and layers the options ask for: the official mode unless one is
/// forced; relative for photos and for rows of unsupervised directions.
fn interpolate_options(args: &Args) -> InterpolateOptions {
    let mode = match (args.relative, args.absolute) {
        (true, _) => Some(DistanceMode::Relative),
        (_, true) => Some(DistanceMode::Absolute),
        _ if !args.images.is_empty() || args.index.is_some() => Some(DistanceMode::Relative),
        _ => None,
    };
    InterpolateOptions {
        start: args.start_distance,
        end: args.end_distance,
        steps: args.steps,
        mode,
        layers: args.layers.clone().map_or(LayerSelection::All, |l| LayerSelection::Only(l.0)),
    }
}

/// The files `edit` writes: per direction folder, the edited codes and one image per code and step.
fn edit_outputs(dirs: &[PathBuf], count: usize, steps: usize) -> impl Iterator<Item = PathBuf> + '_ {
    dirs.iter().flat_map(move |dir| {
        let images = (0..count * steps).map(move |i| dir.join(format!("{:03}_{:03}.png", i / steps, i % steps)));
        std::iter::once(dir.join("edited_codes.npy")).chain(images)
    })
}
