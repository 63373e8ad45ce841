//! The generator architectures, one file each.

pub mod dcgan;
mod dcgan_host;
mod host;
mod nvidia;
pub mod pggan;
mod pggan_host;
pub mod stylegan;
pub mod stylegan2;
mod stylegan2_host;
pub(crate) mod stylegan2_layouts;
pub mod stylegan3;
mod stylegan_host;

use burn::tensor::Tensor;

use crate::error::GeneratorError;
use crate::generator::{Generator, LatentSpace, Synthesis, check_codes};
use crate::ops::{tensor, to_vec};
use crate::weights::Weights;

/// The noise inputs of StyleGAN2/3 synthesis layers (NVIDIA's `noise_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoiseMode {
    /// The stored per-layer constant noise (deterministic; the default).
    #[default]
    Const,
    /// Fresh Gaussian noise on every call.
    Random,
    /// No noise.
    None,
}

impl NoiseMode {
    /// Parses `const`, `random` or `none`.
    pub fn parse(name: &str) -> Result<Self, GeneratorError> {
        match name {
            "const" => Ok(Self::Const),
            "random" => Ok(Self::Random),
            "none" => Ok(Self::None),
            other => Err(GeneratorError::UnknownNoiseMode { name: other.to_string() }),
        }
    }
}

/// `Generator::synthesize` for a style-based generator: host codes in any space to images, with
/// the codes on the way (w from z, and the per-layer ws).
pub(crate) fn synthesize_via_w(
    g: &dyn Generator,
    codes: &[f32],
    space: LatentSpace,
    mapping: impl Fn(Tensor<2>) -> Tensor<2>,
    truncate: impl Fn(Tensor<2>) -> Tensor<3>,
    synthesis: impl Fn(Tensor<3>) -> Result<(Vec<f32>, [usize; 4]), GeneratorError>,
) -> Result<Synthesis, GeneratorError> {
    let info = g.info();
    let (layers, n) = check_codes(info, codes, space)?;
    let d = info.latent_dim;
    let mut out = Synthesis::default();
    let ws = match space {
        LatentSpace::WPlus => tensor(codes, [n, layers, d], g.device()),
        LatentSpace::Z | LatentSpace::W => {
            let input = tensor(codes, [n, d], g.device());
            let w = if space == LatentSpace::Z {
                out.z = Some(codes.to_vec());
                mapping(input)
            } else {
                input
            };
            out.w = Some(to_vec(w.clone())?);
            truncate(w)
        }
    };
    out.wp = Some(to_vec(ws.clone())?);
    (out.images, out.image_shape) = synthesis(ws)?;
    Ok(out)
}

/// A burn image batch as host values and its shape.
pub(crate) fn images_of(images: Tensor<4>) -> Result<(Vec<f32>, [usize; 4]), GeneratorError> {
    let shape = images.dims();
    Ok((to_vec(images)?, shape))
}

/// Whether `device` is the CPU (with or without autodiff), where the generators' own host
/// routes run instead of burn's operators.
pub(crate) fn is_cpu(device: &burn::tensor::Device) -> bool {
    let cpu = burn::tensor::Device::flex();
    *device == cpu || *device == cpu.autodiff()
}

/// The prefix under which a model's state dict lies, found from the key every file of that
/// architecture has (`anchor`); `model` names the architecture in the error.
pub(crate) fn model_prefix(weights: &Weights, anchor: &str, model: &str) -> Result<String, GeneratorError> {
    weights.prefix_of(anchor).ok_or_else(|| GeneratorError::Architecture {
        source_name: weights.source().to_string(),
        reason: format!("no `{anchor}` tensor: not a {model}"),
    })
}

/// A level of detail for a progressive model of `blocks = log2(resolution)` blocks: `[0, blocks - 1)`.
pub(crate) fn checked_lod(lod: f32, blocks: usize, model: &str) -> Result<f32, GeneratorError> {
    if (0.0..blocks as f32 - 1.0).contains(&lod) {
        Ok(lod)
    } else {
        Err(GeneratorError::Lod { lod, max: blocks - 1, resolution: 1usize << blocks, model: model.to_string() })
    }
}
