//! Codes to images to scores, one batch at a time, with the time each part took.

use std::time::{Duration, Instant};

use interfacegan_attributes::Scorer;
use interfacegan_generator::{Generator, LatentSpace, RgbImage, to_rgb_images};

use crate::PipelineError;

/// Time spent synthesising and in each scorer.
#[derive(Debug, Clone, Default)]
pub(crate) struct StageClock {
    pub synthesis: Duration,
    pub scorers: Vec<Duration>,
}

impl StageClock {
    pub fn new(scorers: usize) -> Self {
        Self { synthesis: Duration::ZERO, scorers: vec![Duration::ZERO; scorers] }
    }
}

/// The number of values of one `space` code of `generator`, checking that `codes` holds whole codes.
pub(crate) fn code_length(
    generator: &dyn Generator,
    codes: &[f32],
    space: LatentSpace,
) -> Result<usize, PipelineError> {
    let per_code: usize = generator.info().code_shape(space).iter().product();
    if codes.is_empty() || !codes.len().is_multiple_of(per_code) {
        return Err(PipelineError::CodeLength { values: codes.len(), space: space.to_string(), per_code });
    }
    Ok(per_code)
}

/// Synthesises `codes` (rows of `space`) in batches of `batch` and returns the images.
pub(crate) fn synthesize_images(
    generator: &dyn Generator,
    codes: &[f32],
    space: LatentSpace,
    batch: usize,
    clock: &mut StageClock,
) -> Result<Vec<RgbImage>, PipelineError> {
    synthesize_images_and_w(generator, codes, space, batch, clock, None)
}

/// [`synthesize_images`], also appending the w codes on the way to `w` (generators with a mapping).
pub(crate) fn synthesize_images_and_w(
    generator: &dyn Generator,
    codes: &[f32],
    space: LatentSpace,
    batch: usize,
    clock: &mut StageClock,
    mut w: Option<&mut Vec<f32>>,
) -> Result<Vec<RgbImage>, PipelineError> {
    let per_code: usize = generator.info().code_shape(space).iter().product();
    let mut images = Vec::with_capacity(codes.len() / per_code.max(1));
    for part in codes.chunks(batch.max(1) * per_code) {
        let t = Instant::now();
        let out = generator.synthesize(part, space)?;
        images.extend(to_rgb_images(&out.images, out.image_shape)?);
        if let (Some(all), Some(codes)) = (w.as_deref_mut(), &out.w) {
            all.extend_from_slice(codes);
        }
        clock.synthesis += t.elapsed();
    }
    Ok(images)
}

/// Scores `images` with every scorer: one score vector per scorer.
pub(crate) fn score_images(
    scorers: &[&dyn Scorer],
    images: &[RgbImage],
    clock: &mut StageClock,
) -> Result<Vec<Vec<f32>>, PipelineError> {
    let mut all = Vec::with_capacity(scorers.len());
    for (scorer, time) in scorers.iter().zip(&mut clock.scorers) {
        let t = Instant::now();
        let scores = scorer.score(images)?;
        *time += t.elapsed();
        if scores.len() != images.len() {
            return Err(PipelineError::ScoreCount {
                attribute: scorer.attribute().to_string(),
                scores: scores.len(),
                images: images.len(),
            });
        }
        all.push(scores);
    }
    Ok(all)
}
