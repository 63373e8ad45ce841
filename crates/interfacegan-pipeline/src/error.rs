use std::path::PathBuf;

use thiserror::Error;

use crate::edit::{MAX_EDIT_IMAGE_BYTES, MAX_EDIT_STEPS};

/// What can go wrong in a pipeline stage. Every message names the file, shape or value at fault.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// Reading or writing a file (`.npy`, images, JSON).
    #[error(transparent)]
    Io(#[from] interfacegan_io::IoError),
    /// The generator refused the codes or failed.
    #[error(transparent)]
    Generator(#[from] interfacegan_generator::GeneratorError),
    /// A scorer refused the images or failed.
    #[error(transparent)]
    Scorer(#[from] interfacegan_attributes::ScorerError),
    /// Fitting, loading or saving a boundary.
    #[error(transparent)]
    Boundary(#[from] interfacegan_boundary::BoundaryError),
    /// Projection, interpolation or a measure.
    #[error(transparent)]
    Subspace(#[from] interfacegan_subspace::SubspaceError),
    /// Codes whose values do not divide into whole codes of their latent space.
    #[error("{values} values do not make whole {space} codes of {per_code} values")]
    CodeLength {
        /// Values given.
        values: usize,
        /// The latent space.
        space: String,
        /// Values per code.
        per_code: usize,
    },
    /// A scorer returned another number of scores than images.
    #[error("scorer `{attribute}` returned {scores} scores for {images} images")]
    ScoreCount {
        /// The scorer's attribute.
        attribute: String,
        /// Scores returned.
        scores: usize,
        /// Images given.
        images: usize,
    },
    /// An edit of no steps or more than [`MAX_EDIT_STEPS`].
    #[error("{steps} steps: an edit takes 1 to {MAX_EDIT_STEPS} steps")]
    EditSteps {
        /// Steps asked for.
        steps: usize,
    },
    /// An edit of no codes, or whose images would not fit [`MAX_EDIT_IMAGE_BYTES`].
    #[error(
        "{codes} codes x {steps} steps of {resolution}x{resolution} images: an edit holds its images in memory, at \
         most {} GiB ({images_at_most} images at this size); edit fewer codes per call",
        MAX_EDIT_IMAGE_BYTES >> 30
    )]
    EditSize {
        /// Codes asked for.
        codes: usize,
        /// Steps asked for.
        steps: usize,
        /// The generator's resolution.
        resolution: usize,
        /// The most images of this size the limit allows.
        images_at_most: u64,
    },
    /// A direction whose dimension is not the generator's latent dimension.
    #[error("{direction} has dimension {dim}, the generator's codes {latent_dim}")]
    DirectionDimension {
        /// The direction, in words (`direction \`smile\``).
        direction: String,
        /// Its dimension.
        dim: usize,
        /// The generator's.
        latent_dim: usize,
    },
    /// A forward pass of no images.
    #[error("the batch must hold at least one image")]
    ZeroBatch,
    /// A match share outside (0, 1].
    #[error("the share of the boundary's effect a match needs must be in (0, 1], got {share}")]
    MatchShare {
        /// The share given.
        share: f64,
    },
    /// Matching was asked for without any unsupervised direction.
    #[error("no unsupervised directions to match")]
    NoCandidates,
    /// Matching needs exactly one boundary per scored attribute.
    #[error("matching: `{name}` {problem}")]
    MatchBoundary {
        /// The boundary or attribute.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Boundaries of different dimensions.
    #[error("boundary `{name}` has dimension {dim}, `{first}` has {first_dim}")]
    BoundaryDimensions {
        /// The boundary that differs.
        name: String,
        /// Its dimension.
        dim: usize,
        /// The first boundary.
        first: String,
        /// Its dimension.
        first_dim: usize,
    },
    /// Fewer than two scorers for a whole run.
    #[error("the pipeline needs at least two attributes (conditional editing removes one from another)")]
    TooFewAttributes,
    /// No fresh samples for the edits or the re-scoring.
    #[error("edit and re-scoring samples must be at least 1")]
    NoFreshSamples,
    /// Re-scoring distances that do not make a slope.
    #[error("re-scoring needs at least two distinct finite distances, got {distances:?}")]
    RescoreDistances {
        /// The distances given.
        distances: Vec<f64>,
    },
    /// A shard outside 1/N..N/N.
    #[error("shard {shard} of {count} does not exist (shards are 1/N to N/N)")]
    NoSuchShard {
        /// The shard, 1-based.
        shard: usize,
        /// Shards in all.
        count: usize,
    },
    /// A shard that is not written `K/N`.
    #[error("shard `{text}`: expected K/N with 1 <= K <= N, e.g. 2/4")]
    ShardSyntax {
        /// What was given.
        text: String,
    },
    /// No samples, chunks or batches.
    #[error("samples ({samples}), chunk size ({chunk_size}) and batch ({batch}) must be at least 1")]
    SampleSizes {
        /// Samples asked for.
        samples: usize,
        /// Chunk size.
        chunk_size: usize,
        /// Batch size.
        batch: usize,
    },
    /// No scorer.
    #[error("no scorers: give at least one attribute")]
    NoScorers,
    /// A generator without a z space.
    #[error("a {architecture} generator takes no z codes")]
    NoZCodes {
        /// The generator's architecture.
        architecture: String,
    },
    /// Two scorers of one attribute.
    #[error("attribute `{attribute}` is scored twice")]
    DuplicateAttribute {
        /// The attribute.
        attribute: String,
    },
    /// A run whose manifest would be refused when read back.
    #[error("this run cannot be written: {reason}")]
    UnwritableRun {
        /// Which limit it breaks.
        reason: String,
    },
    /// `merge` without input folders.
    #[error("merge: no input folders")]
    NoMergeInputs,
    /// `merge` of folders that lack chunks.
    #[error(
        "merge: {} of {total} chunks are in none of the folders (chunk {}{}); finish the shards that own them (chunk k \
         belongs to shard (k mod N) + 1 of N) and merge again",
        .missing.len(),
        .missing.iter().take(10).map(|c| c.to_string()).collect::<Vec<_>>().join(", "),
        if .missing.len() > 10 { ", ..." } else { "" }
    )]
    MissingChunks {
        /// The chunks no folder holds.
        missing: Vec<usize>,
        /// Chunks in the run.
        total: usize,
    },
    /// Encoding an image failed.
    #[error("image encoding: {0}")]
    ImageEncoding(#[from] image::ImageError),
    /// A file or folder whose content does not fit the run (another run's manifest, a chunk of the
    /// wrong shape, a missing chunk).
    #[error("{}: {message}", path.display())]
    File {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Drawing a figure of the report.
    #[error("report figure `{figure}`: {message}")]
    Plot {
        /// Which figure.
        figure: String,
        /// The plotting library's message.
        message: String,
    },
}

impl PipelineError {
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::File { path: path.into(), message: message.into() }
    }
}
