//! The inversion options shared by `invert` and `edit --image`, and the run they describe.

use std::path::{Path, PathBuf};

use image::RgbImage;
use interfacegan::generator::{Generator, LatentSpace};
use interfacegan::inversion::{
    Encoder, IMAGE2STYLEGAN_LAYERS, Inversion, InversionParams, Inverter, LearningRate, Start, Vgg16Features,
    load_target,
};
use interfacegan::io::{NpyArray, OutputSet, stage_npy};

use crate::CliError;
use crate::codes_input::read_codes;

#[derive(clap::Args)]
pub struct InversionArgs {
    /// Where the optimisation starts: `encoder` (the default DCGAN's encoder, or --encoder), `random`
    /// (z ~ N(0, I) in Z; the average code w_avg in W and W+, as NVIDIA's projector), or `auto`: the
    /// encoder where there is one, else `random`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "encoder", "random"], conflicts_with = "start_codes")]
    init: String,
    /// Encoder weights written by `interfacegan train-encoder` (default: the default DCGAN's own, a model file).
    #[arg(long, value_name = "FILE.safetensors")]
    encoder: Option<PathBuf>,
    /// Start from these codes (.npy, one per photo, e.g. an earlier inversion's codes.npy).
    #[arg(long, value_name = "CODES.npy")]
    start_codes: Option<PathBuf>,
    /// Adam's peak learning rate (StyleGAN2 projector ramps).
    #[arg(long, default_value_t = InversionParams::default().learning_rate.initial)]
    lr: f64,
    /// Starting points per photo, optimised together; the best is kept.
    #[arg(long, default_value_t = InversionParams::default().restarts)]
    restarts: usize,
    /// Weight of the latent prior (distance to the mean code): low for fidelity, high for edits that
    /// behave (docs/inversion.md) [default: invert 1e-4, edit --image 0.1].
    #[arg(long)]
    prior_weight: Option<f64>,
    /// torchvision VGG16 weights (.pth or .safetensors) for the perceptual loss of Image2StyleGAN.
    #[arg(long, value_name = "FILE")]
    vgg16: Option<PathBuf>,
    /// Weight of the perceptual loss (with --vgg16).
    #[arg(long, default_value_t = InversionParams::default().perceptual_weight, requires = "vgg16")]
    perceptual_weight: f64,
    /// VGG16 layers compared (with --vgg16), comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = IMAGE2STYLEGAN_LAYERS.map(String::from), requires = "vgg16")]
    vgg16_layers: Vec<String>,
    /// Photos inverted together in one batch.
    #[arg(long, default_value_t = 4)]
    inversion_batch: usize,
    /// Seed of random starts and restarts.
    #[arg(long, default_value_t = 0)]
    inversion_seed: u64,
}

/// Photos prepared as targets, their codes and the inversion reports.
pub struct Inverted {
    pub targets: Vec<RgbImage>,
    pub inversion: Inversion,
}

impl Inverted {
    /// Stages the codes as `[photos, ...code shape]` for `path`, creating its folder.
    pub fn stage_codes(&self, outputs: &mut OutputSet, path: &Path) -> Result<(), CliError> {
        if let Some(dir) = path.parent() {
            outputs.create_dir_all(dir)?;
        }
        let mut shape = vec![self.targets.len()];
        shape.extend(&self.inversion.code_shape);
        stage_npy(outputs, path, &NpyArray::new(shape, self.inversion.codes.clone())?)?;
        Ok(())
    }
}

impl InversionArgs {
    /// Inverts `photos` with `steps` steps into `space` of `generator` (on an autodiff device);
    /// `default_model` says it is the default DCGAN, whose encoder is a model file too;
    /// `prior_weight` applies unless --prior-weight is given.
    pub fn invert(
        &self,
        photos: &[PathBuf],
        generator: &dyn Generator,
        default_model: bool,
        space: LatentSpace,
        steps: usize,
        prior_weight: f64,
    ) -> Result<Inverted, CliError> {
        if self.inversion_batch == 0 {
            return Err(CliError::new("--inversion-batch must be at least 1"));
        }
        let info = generator.info();
        // Every photo is read before any work, so a bad one fails at once.
        let targets = photos.iter().map(|p| load_target(p, info.resolution as u32)).collect::<Result<Vec<_>, _>>()?;
        let params = InversionParams::default()
            .space(space)
            .steps(steps)
            .learning_rate(LearningRate::new(self.lr))
            .restarts(self.restarts)
            .prior_weight(self.prior_weight.unwrap_or(prior_weight))
            .perceptual_weight(self.perceptual_weight)
            .seed(self.inversion_seed);
        let vgg = match &self.vgg16 {
            Some(path) => {
                let layers: Vec<&str> = self.vgg16_layers.iter().map(String::as_str).collect();
                Some(Vgg16Features::load(path, &layers, generator.device())?)
            }
            None => None,
        };
        let mut inverter = Inverter::new(generator, params)?;
        if let Some(vgg) = &vgg {
            inverter = inverter.with_perceptual(vgg);
        }
        let starts = self.starting_codes(&targets, photos, generator, default_model, space)?;

        let mut all: Option<Inversion> = None;
        for (batch, chunk) in targets.chunks(self.inversion_batch).enumerate() {
            let first = batch * self.inversion_batch;
            let names: Vec<String> = photos[first..first + chunk.len()]
                .iter()
                .map(|p| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned()))
                .collect();
            // One bar per photo; the photos of a batch advance together.
            let bars = indicatif::MultiProgress::new();
            let per_photo: Vec<_> = names
                .iter()
                .map(|name| bars.add(crate::progress_bars::bar(steps as u64, &format!("inverting {name}"), "steps")))
                .collect();
            let start = match &starts {
                Some(codes) => {
                    let len = codes.len() / targets.len();
                    Start::Codes(&codes[first * len..(first + chunk.len()) * len])
                }
                None => Start::Random,
            };
            let result = inverter.invert(chunk, start, &mut |step| {
                per_photo.iter().for_each(|bar| bar.set_position(step as u64));
            })?;
            per_photo.iter().for_each(|bar| bar.finish_and_clear());
            all = Some(match all {
                None => result,
                Some(mut so_far) => {
                    so_far.codes.extend(result.codes);
                    so_far.reconstructions.extend(result.reconstructions);
                    so_far.reports.extend(result.reports);
                    so_far
                }
            });
        }
        Ok(Inverted { targets, inversion: all.expect("at least one photo") })
    }

    /// The codes the optimisation starts from, or None for random starts.
    fn starting_codes(
        &self,
        targets: &[RgbImage],
        photos: &[PathBuf],
        generator: &dyn Generator,
        default_model: bool,
        space: LatentSpace,
    ) -> Result<Option<Vec<f32>>, CliError> {
        let info = generator.info();
        if let Some(path) = &self.start_codes {
            let (codes, count) = read_codes(path, info, space)?;
            if count != photos.len() {
                return Err(CliError::new(format!(
                    "{}: {count} code(s) for {} photo(s); give one starting code per photo",
                    path.display(),
                    photos.len()
                )));
            }
            return Ok(Some(codes));
        }
        let has_encoder = self.encoder.is_some() || (default_model && space == LatentSpace::Z);
        if self.init == "random" || (self.init == "auto" && !has_encoder) {
            return Ok(None);
        }
        let encoder = match &self.encoder {
            Some(path) => Encoder::load(path)?,
            None if default_model && space == LatentSpace::Z => Encoder::default_dcgan_in(crate::model_store())?,
            None => {
                return Err(CliError::new(format!(
                    "no encoder for this {} generator in {space}: train one (`interfacegan train-encoder`) and pass --encoder, or use --init random",
                    info.architecture
                )));
            }
        };
        encoder.check_fits(generator, space).map_err(|e| match &self.encoder {
            Some(path) => CliError::new(format!("{}: {e}", path.display())),
            None => CliError::from(e),
        })?;
        Ok(Some(encoder.encode(targets, generator.device())?))
    }
}

/// `{index:03}_{stem}`: output names that stay distinct when photos share a name.
pub fn photo_label(index: usize, photo: &Path) -> String {
    let stem = photo.file_stem().map_or_else(|| "photo".to_string(), |s| s.to_string_lossy().into_owned());
    format!("{index:03}_{stem}")
}
