//! Stage 4: move codes along a direction and render every step.

use std::path::{Path, PathBuf};

use interfacegan_generator::{Generator, LatentSpace, RgbImage, grid, stage_image};
use interfacegan_io::OutputSet;
use interfacegan_subspace::{InterpolateOptions, interpolate, linspace};

use crate::PipelineError;
use crate::batch::{StageClock, code_length, synthesize_images};

/// The edits of a set of codes along one direction.
#[derive(Debug, Clone)]
pub struct Edits {
    /// Number of input codes.
    pub samples: usize,
    /// The distances, one per step.
    pub distances: Vec<f64>,
    /// Edited codes, sample-major: `[samples, steps, code...]` flattened.
    pub codes: Vec<f32>,
    /// Rendered images in the same order.
    pub images: Vec<RgbImage>,
}

impl Edits {
    /// The image of `sample` at step `step`.
    pub fn image(&self, sample: usize, step: usize) -> &RgbImage {
        &self.images[sample * self.distances.len() + step]
    }

    /// One row per sample, one column per step, 2-pixel white margins.
    pub fn sheet(&self) -> Result<RgbImage, PipelineError> {
        Ok(grid(&self.images, self.samples, self.distances.len(), 2, [255, 255, 255])?)
    }

    /// Writes `{sample:03d}_{step:03d}.png` (the official names) into `dir`, all or none; returns
    /// the paths.
    pub fn save(&self, dir: &Path, overwrite: bool) -> Result<Vec<PathBuf>, PipelineError> {
        let mut outputs = OutputSet::new(overwrite);
        let paths = self.stage(&mut outputs, dir)?;
        outputs.commit()?;
        Ok(paths)
    }

    /// Stages the images [`Edits::save`] writes into `outputs`, creating `dir`; returns the paths.
    pub fn stage(&self, outputs: &mut OutputSet, dir: &Path) -> Result<Vec<PathBuf>, PipelineError> {
        let steps = self.distances.len();
        let paths: Vec<PathBuf> =
            (0..self.images.len()).map(|i| dir.join(format!("{:03}_{:03}.png", i / steps, i % steps))).collect();
        if !outputs.overwrite()
            && let Some(existing) = paths.iter().find(|p| p.exists())
        {
            return Err(PipelineError::file(existing, "already exists (pass overwrite to replace it)"));
        }
        outputs.create_dir_all(dir)?;
        for (path, image) in paths.iter().zip(&self.images) {
            stage_image(outputs, path, image)?;
        }
        Ok(paths)
    }
}

/// The most steps one edit may take between its two distances.
pub const MAX_EDIT_STEPS: usize = 10_000;
/// The most bytes of rendered images one [`edit_codes`] call holds in memory: 4 GiB.
pub const MAX_EDIT_IMAGE_BYTES: u64 = 4 << 30;

/// Checks that editing `codes` codes in `steps` steps at `resolution` pixels fits the limits above,
/// before any code is drawn or read.
pub fn check_edit_size(codes: usize, steps: usize, resolution: usize) -> Result<(), PipelineError> {
    if !(1..=MAX_EDIT_STEPS).contains(&steps) {
        return Err(PipelineError::EditSteps { steps });
    }
    let per_image = (resolution as u64).saturating_mul(resolution as u64).saturating_mul(3);
    let bytes = (codes as u64).saturating_mul(steps as u64).saturating_mul(per_image);
    if codes == 0 || bytes > MAX_EDIT_IMAGE_BYTES {
        let images_at_most = MAX_EDIT_IMAGE_BYTES / per_image.max(1);
        return Err(PipelineError::EditSize { codes, steps, resolution, images_at_most });
    }
    Ok(())
}

/// Moves each code of `codes` (rows of `space`) along `direction` with the official
/// `linear_interpolate` semantics (or those `options` choose) and renders every step.
pub fn edit_codes(
    generator: &dyn Generator,
    codes: &[f32],
    space: LatentSpace,
    direction: &[f64],
    options: &InterpolateOptions,
    batch: usize,
) -> Result<Edits, PipelineError> {
    let info = generator.info();
    let per_code = code_length(generator, codes, space)?;
    if direction.len() != info.latent_dim {
        return Err(PipelineError::DirectionDimension {
            direction: "the direction".to_string(),
            dim: direction.len(),
            latent_dim: info.latent_dim,
        });
    }
    let samples = codes.len() / per_code;
    check_edit_size(samples, options.steps, info.resolution)?;
    let mut edited = Vec::with_capacity(samples * options.steps * per_code);
    for code in codes.chunks(per_code) {
        for step in interpolate(code, direction, options)? {
            edited.extend(step.iter().map(|&v| v as f32));
        }
    }
    let images = synthesize_images(generator, &edited, space, batch, &mut StageClock::new(0))?;
    Ok(Edits { samples, distances: linspace(options.start, options.end, options.steps), codes: edited, images })
}
