use std::path::PathBuf;
use std::time::Instant;

use interfacegan::generator::{
    GeneratorInfo, LatentSpace, Synthesis, ZSampler, grid, normalize_z, save_image, to_rgb_images,
};
use interfacegan::io::NpyStreamWriter;
use interfacegan::pipeline::MAX_SAMPLES;

use crate::CliError;
use crate::cli_error::refuse_existing;
use crate::codes_input::{latent_space, read_codes};
use crate::model_args::GeneratorArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Number of samples (ignored with -i: every given code is synthesised).
    #[arg(short = 'n', long = "num", default_value_t = 16)]
    num: usize,
    /// Output folder (created if missing).
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    output: PathBuf,
    /// Seed of the sampled codes (same codes on every machine and backend).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Codes per forward pass.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Synthesise these codes (.npy [N, D], or [N, L, D] for wp) instead of sampling.
    #[arg(short = 'i', long = "latent-codes", value_name = "CODES.npy")]
    input: Option<PathBuf>,
    /// Space of the codes given with -i: z, w or wp. Sampled codes are always z (w = mapping(z)).
    #[arg(short = 's', long = "latent-space", default_value = "z")]
    space: String,
    /// Do not rescale z codes to norm sqrt(D) (the official PGGAN/StyleGAN preprocessing; the DCGAN never does).
    #[arg(long)]
    no_z_normalization: bool,
    /// Also write the raw float images as images.npy [N, 3, H, W].
    #[arg(long)]
    raw: bool,
    /// Also write grid.png, all images in a square-ish sheet (at most 256 images).
    #[arg(long)]
    grid: bool,
    /// Write codes only, no PNG files.
    #[arg(long)]
    no_images: bool,
    /// Replace existing output files.
    #[arg(long)]
    force: bool,
}

/// Where the codes come from: a file, or the seeded sampler.
enum Source {
    Given { values: Vec<f32> },
    Sampled { sampler: Box<ZSampler> },
}

pub fn run(args: Args) -> Result<(), CliError> {
    let start = Instant::now();
    if args.batch == 0 {
        return Err(CliError::new("--batch must be at least 1"));
    }
    let device = args.generator.device()?;
    let (generator, architecture) = args.generator.load(&device)?;
    let info = generator.info().clone();
    let space = latent_space(&info, &args.space)?;
    let per_code: usize = info.code_shape(space).iter().product();
    let normalize = architecture.normalizes_z() && !args.no_z_normalization && space == LatentSpace::Z;
    let (mut source, count) = code_source(&args, &info, space)?;
    let written = written_spaces(&info, space);
    refuse_existing_outputs(&args, &written, count)?;
    std::fs::create_dir_all(&args.output)
        .map_err(|e| CliError::new(format!("cannot create {}: {e}", args.output.display())))?;
    let mut writers = Writers::create(&args, &info, &written, count)?;

    let progress = crate::image_progress(count, "generating");
    let mut sheet = Vec::new();
    let mut done = 0;
    while done < count {
        let n = args.batch.min(count - done);
        let mut codes = match &mut source {
            Source::Given { values, .. } => values[done * per_code..(done + n) * per_code].to_vec(),
            Source::Sampled { sampler, .. } => sampler.next_batch(n),
        };
        if normalize {
            normalize_z(&mut codes, info.latent_dim);
        }
        let synthesis = generator.synthesize(&codes, space)?;
        writers.push(&synthesis)?;
        if !args.no_images || args.grid {
            let images = to_rgb_images(&synthesis.images, synthesis.image_shape)?;
            if !args.no_images {
                for (i, image) in images.iter().enumerate() {
                    save_image(args.output.join(format!("{:06}.png", done + i)), image, args.force)?;
                }
            }
            if args.grid {
                sheet.extend(images);
            }
        }
        done += n;
        progress.set_position(done as u64);
    }
    progress.finish_and_clear();
    if args.grid {
        let columns = (count as f64).sqrt().ceil() as usize;
        let rows = count.div_ceil(columns);
        save_image(args.output.join("grid.png"), &grid(&sheet, rows, columns, 2, [255, 255, 255])?, args.force)?;
    }
    writers.finish()?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{count} {}x{} images from a {} generator ({}) in {seconds:.2} s ({} images/s) -> {}",
        info.resolution,
        info.resolution,
        info.architecture,
        written.iter().map(|s| format!("{}.npy", s.short_name())).collect::<Vec<_>>().join(", "),
        rate(count as f64 / seconds),
        args.output.display()
    );
    Ok(())
}

/// The codes to draw and how many: the file given with -i, or `-n` seeded z codes.
fn code_source(args: &Args, info: &GeneratorInfo, space: LatentSpace) -> Result<(Source, usize), CliError> {
    let (source, count) = match &args.input {
        Some(path) => {
            let (values, count) = read_codes(path, info, space)?;
            (Source::Given { values }, count)
        }
        None if space != LatentSpace::Z => {
            return Err(CliError::new("sampled codes are z (w = mapping(z)); give -s w or -s wp only with -i codes"));
        }
        None => (Source::Sampled { sampler: Box::new(ZSampler::new(info.latent_dim, args.seed)) }, args.num),
    };
    if count == 0 {
        return Err(CliError::new("nothing to generate: -n 0 or an empty code file"));
    }
    if count > MAX_SAMPLES {
        return Err(CliError::new(format!("-n {count}: generate draws at most {MAX_SAMPLES} images per call")));
    }
    Ok((source, count))
}

/// The code files a run writes: the space given and, for a generator with a mapping, every later one.
fn written_spaces(info: &GeneratorInfo, space: LatentSpace) -> Vec<LatentSpace> {
    match (info.spaces.contains(&LatentSpace::W), space) {
        (true, LatentSpace::Z) => vec![LatentSpace::Z, LatentSpace::W, LatentSpace::WPlus],
        (true, LatentSpace::W) => vec![LatentSpace::W, LatentSpace::WPlus],
        (_, s) => vec![s],
    }
}

/// Fails before anything is written when an output exists (unless --force) or the grid is too large.
fn refuse_existing_outputs(args: &Args, written: &[LatentSpace], count: usize) -> Result<(), CliError> {
    let out = |name: &str| args.output.join(name);
    let mut planned: Vec<PathBuf> = written.iter().map(|s| out(&format!("{}.npy", s.short_name()))).collect();
    if args.raw {
        planned.push(out("images.npy"));
    }
    if args.grid {
        if count > 256 {
            return Err(CliError::new(format!("--grid takes at most 256 images, not {count}")));
        }
        planned.push(out("grid.png"));
    }
    // The image names are checked one by one, never all held at once.
    let images = (0..if args.no_images { 0 } else { count }).map(|i| out(&format!("{i:06}.png")));
    refuse_existing(planned.into_iter().chain(images), args.force)
}

/// The streamed `.npy` outputs: one per code space, and the raw images with --raw.
struct Writers {
    codes: Vec<(LatentSpace, NpyStreamWriter)>,
    raw: Option<NpyStreamWriter>,
}

impl Writers {
    fn create(args: &Args, info: &GeneratorInfo, written: &[LatentSpace], count: usize) -> Result<Self, CliError> {
        let out = |name: &str| args.output.join(name);
        let codes = written
            .iter()
            .map(|&s| {
                let mut shape = vec![count];
                shape.extend(info.code_shape(s));
                NpyStreamWriter::create(out(&format!("{}.npy", s.short_name())), &shape, args.force).map(|w| (s, w))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let raw_shape = [count, info.channels, info.resolution, info.resolution];
        let raw =
            if args.raw { Some(NpyStreamWriter::create(out("images.npy"), &raw_shape, args.force)?) } else { None };
        Ok(Self { codes, raw })
    }

    fn push(&mut self, synthesis: &Synthesis) -> Result<(), CliError> {
        for (s, writer) in &mut self.codes {
            let values = match s {
                LatentSpace::Z => synthesis.z.as_deref(),
                LatentSpace::W => synthesis.w.as_deref(),
                LatentSpace::WPlus => synthesis.wp.as_deref(),
            };
            writer.push(values.ok_or_else(|| CliError::new(format!("the generator returned no {s} codes")))?)?;
        }
        if let Some(w) = &mut self.raw {
            w.push(&synthesis.images)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), CliError> {
        for (_, w) in self.codes {
            w.finish()?;
        }
        if let Some(w) = self.raw {
            w.finish()?;
        }
        Ok(())
    }
}

/// A rate with three significant digits (0.0371, 4.12, 320).
fn rate(per_second: f64) -> String {
    let decimals = if per_second > 0.0 { (2.0 - per_second.log10().floor()).clamp(0.0, 6.0) as usize } else { 0 };
    format!("{per_second:.decimals$}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_keep_three_significant_digits() {
        assert_eq!(super::rate(320.4), "320");
        assert_eq!(super::rate(4.123), "4.12");
        assert_eq!(super::rate(0.03712), "0.0371");
        assert_eq!(super::rate(0.0), "0");
    }
}
