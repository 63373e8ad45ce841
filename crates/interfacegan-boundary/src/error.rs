use std::path::PathBuf;

use interfacegan_svm::SvmError;

/// Why a boundary cannot be fitted, loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum BoundaryError {
    /// Codes and scores do not describe the same samples, or hold unusable values.
    #[error("bad input: {0}")]
    Input(String),
    /// A fit option is out of range.
    #[error("bad option: {0}")]
    Option(String),
    /// The linear SVM refused the training set.
    #[error(transparent)]
    Svm(#[from] SvmError),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] interfacegan_io::IoError),
    /// A boundary file holds something other than one unit-able `(1, D)` or `(D,)` vector.
    #[error("{path}: {reason}")]
    File {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}
