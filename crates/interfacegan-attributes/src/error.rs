use std::path::PathBuf;

/// Everything that can go wrong loading a scorer or scoring images; each variant names the file,
/// the image or the value concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScorerError {
    /// A model file is damaged or uses something the interpreter does not support.
    #[error("{source_name}: {reason}")]
    Model {
        /// The model file.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// An image could not be read or decoded.
    #[error("cannot read image {path}: {reason}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// The decoder's or the system's reason.
        reason: String,
    },
    /// Images or scores of the wrong shape, size or channel count, an empty batch or folder.
    #[error("{0}")]
    InvalidInput(String),
    /// Reading or writing a `.npy` file failed.
    #[error(transparent)]
    Io(#[from] interfacegan_io::IoError),
}

pub(crate) fn format_error(source_name: &str, reason: impl Into<String>) -> ScorerError {
    ScorerError::Model { source_name: source_name.to_string(), reason: reason.into() }
}
