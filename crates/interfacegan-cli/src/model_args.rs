//! The generator options shared by the commands that synthesise images.

use std::path::PathBuf;

use interfacegan::attributes::Engine;
use interfacegan::generator::{
    Architecture, DEFAULT_MODEL, Device, Generator, LoadOptions, NoiseMode, Weights, default_generator_in,
    device_by_name, load_generator,
};

use crate::CliError;

/// Which generator's weights: the built-in model or a file.
#[derive(clap::Args)]
pub struct WeightsArgs {
    /// Built-in model: `dcgan`, the default DigiFace-1M DCGAN (64 px faces).
    #[arg(long, default_value = "dcgan", conflicts_with = "weights")]
    model: String,
    /// Weights of another generator: an NVIDIA StyleGAN2/StyleGAN3 network pickle (.pkl), PyTorch .pth
    /// (zip or legacy) or .safetensors.
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Architecture of --weights (detected from the file when left out).
    #[arg(long, value_parser = ["dcgan", "pggan", "stylegan", "stylegan2", "stylegan3"])]
    arch: Option<String>,
}

impl WeightsArgs {
    /// The weight file these options name (the default model's from the model store), and its
    /// architecture.
    pub fn load(&self) -> Result<(Weights, Architecture), CliError> {
        let weights = match &self.weights {
            None if self.model == "dcgan" => {
                let (found, bytes) = crate::model_store().read(DEFAULT_MODEL)?;
                Weights::from_vec(bytes, &found.path.display().to_string())?
            }
            None => return Err(CliError::new(format!("unknown --model `{}` (built in: dcgan)", self.model))),
            Some(path) => Weights::from_file(path)?,
        };
        let architecture = match (&self.arch, &self.weights) {
            (Some(name), Some(_)) => Architecture::parse(name)?,
            (None, Some(_)) => Architecture::detect(&weights)?,
            (_, None) => Architecture::Dcgan,
        };
        Ok((weights, architecture))
    }

    /// What the weights are, in words: the file, or the built-in model's name.
    pub fn describe(&self) -> String {
        self.weights.as_ref().map_or_else(|| self.model.clone(), |p| p.display().to_string())
    }
}

#[derive(clap::Args)]
pub struct GeneratorArgs {
    #[command(flatten)]
    source: WeightsArgs,
    /// Truncation factor psi for z and w codes [default: 0.7 for StyleGAN (InterFaceGAN), 1 for StyleGAN2/3 (NVIDIA)].
    #[arg(long, value_name = "PSI")]
    truncation_psi: Option<f32>,
    /// How many of the first W+ layers are truncated (the cutoff) [default: 8 for StyleGAN, all for StyleGAN2/3].
    #[arg(long, value_name = "N")]
    truncation_layers: Option<usize>,
    /// No truncation.
    #[arg(long, conflicts_with = "truncation_psi")]
    no_truncation: bool,
    /// StyleGAN2 noise inputs: `const` (the stored noise), `random` or `none` (StyleGAN3 has none).
    #[arg(long, value_name = "MODE", default_value = "const", value_parser = ["const", "random", "none"])]
    noise_mode: String,
    /// cpu, or wgpu in builds with the `wgpu` feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// What runs the scorers' networks: `cpu`, our engine (im2col + GEMM) where the device is the CPU
    /// and the network fits it, else burn (the default), or `burn`, burn's own operators everywhere.
    #[arg(long, value_name = "ENGINE", default_value = "cpu", value_parser = ["cpu", "burn"])]
    pub scorer_engine: String,
}

impl GeneratorArgs {
    /// The burn device named by --device.
    pub fn device(&self) -> Result<Device, CliError> {
        Ok(device_by_name(&self.device)?)
    }

    /// The engine that --scorer-engine forces, if any: `burn` forces burn's operators; `cpu` leaves the
    /// scorers' own choice (our engine on the CPU device, burn on a GPU).
    pub fn scorer_engine(&self) -> Option<Engine> {
        (self.scorer_engine == "burn").then_some(Engine::Burn)
    }

    /// What the weights are, in words: the file, or the built-in model's name.
    pub fn describe(&self) -> String {
        self.source.describe()
    }

    /// The weight file these options name and its architecture, unloaded.
    pub fn weights(&self) -> Result<(Weights, Architecture), CliError> {
        self.source.load()
    }

    /// Whether these options name the default DCGAN (not a weight file).
    pub fn is_default_model(&self) -> bool {
        self.source.weights.is_none()
    }

    /// The generator these options name, and its architecture.
    pub fn load(&self, device: &Device) -> Result<(Box<dyn Generator>, Architecture), CliError> {
        match &self.source.weights {
            None if self.source.model == "dcgan" => {
                Ok((Box::new(default_generator_in(crate::model_store(), device)?), Architecture::Dcgan))
            }
            None => Err(CliError::new(format!("unknown --model `{}` (built in: dcgan)", self.source.model))),
            Some(_) => {
                let (weights, architecture) = self.source.load()?;
                let mut truncation = architecture.default_truncation();
                if let Some(psi) = self.truncation_psi {
                    truncation.psi = Some(psi);
                }
                if let Some(layers) = self.truncation_layers {
                    truncation.layers = layers;
                }
                if self.no_truncation {
                    truncation.psi = None;
                }
                let options = LoadOptions {
                    architecture: Some(architecture),
                    truncation: Some(truncation),
                    noise_mode: Some(NoiseMode::parse(&self.noise_mode)?),
                    lod: None,
                };
                Ok((load_generator(&weights, &options, device)?, architecture))
            }
        }
    }
}
