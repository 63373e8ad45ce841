use std::path::PathBuf;

use interfacegan_attributes::ScorerError;
use interfacegan_generator::GeneratorError;

/// Everything that can go wrong preparing a target, inverting it or training an encoder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InversionError {
    /// The generator failed (codes of the wrong shape, a device error).
    #[error(transparent)]
    Generator(#[from] GeneratorError),
    /// An image file could not be read or decoded.
    #[error("cannot read image {path}: {reason}")]
    UnreadableImage {
        /// The file.
        path: PathBuf,
        /// The decoder's or the operating system's reason.
        reason: String,
    },
    /// An image cannot serve as a target (grayscale, too small, wrong size).
    #[error("{source_name}: {reason}")]
    InvalidTarget {
        /// The file, or a description of the image.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// An option is out of range or options contradict each other.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Codes given to start from do not fit the generator.
    #[error("invalid codes: {0}")]
    InvalidCodes(String),
    /// A weight file (encoder, VGG16) is missing a tensor, has one of another shape, or is damaged.
    #[error("{source_name}: {reason}")]
    Weights {
        /// The file.
        source_name: String,
        /// What is wrong, with the tensor's key and shapes.
        reason: String,
    },
    /// Writing a file failed.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The reason.
        reason: String,
    },
    /// The device could not hand a tensor back.
    #[error("device error: {0}")]
    Device(String),
    /// Preprocessing shared with the scorers failed.
    #[error(transparent)]
    Scorer(#[from] ScorerError),
}
