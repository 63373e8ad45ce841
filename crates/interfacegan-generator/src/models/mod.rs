//! The generator architectures, one file each.

pub mod dcgan;
pub mod pggan;
pub mod stylegan;

use crate::error::GeneratorError;
use crate::weights::Weights;

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
        Err(GeneratorError::InvalidOption(format!(
            "lod {lod} is outside [0, {}) for this {} px {model}",
            blocks - 1,
            1usize << blocks
        )))
    }
}
