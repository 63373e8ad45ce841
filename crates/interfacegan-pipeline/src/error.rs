use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong in a pipeline stage. Every message names the file, shape or value at fault.
#[derive(Debug, Error)]
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
    /// An option or argument out of range.
    #[error("{0}")]
    Invalid(String),
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

impl From<image::ImageError> for PipelineError {
    fn from(e: image::ImageError) -> Self {
        Self::Invalid(format!("image encoding: {e}"))
    }
}
