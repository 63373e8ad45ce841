use std::path::PathBuf;

/// Everything that can go wrong reading or writing a file. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The operating system refused an operation (missing file, permission, disk full...).
    #[error("{path}: {action}: {source}")]
    Os {
        /// The file concerned.
        path: PathBuf,
        /// What was being done, e.g. "cannot open".
        action: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid `.npy` file, or is truncated.
    #[error("{path}: not a valid .npy file: {reason}")]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The array's element type is not one this project reads.
    #[error("{path}: unsupported dtype '{dtype}' (expected float32 '<f4', float64 '<f8' or an integer type)")]
    Dtype {
        /// The file concerned.
        path: PathBuf,
        /// The dtype string found in the header.
        dtype: String,
    },
    /// The array's shape does not fit what the caller needs.
    #[error("{path}: shape {found:?} does not fit: {expected}")]
    Shape {
        /// The file concerned.
        path: PathBuf,
        /// What was expected, in words.
        expected: String,
        /// The shape found.
        found: Vec<usize>,
    },
    /// An image could not be read, was refused by the limits, or could not be decoded.
    #[error("cannot read image {path}: {reason}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// The decoder's, the limits' or the system's reason.
        reason: String,
    },
    /// The output exists and overwriting was not allowed.
    #[error("{path}: already exists (allow overwriting to replace it)")]
    AlreadyExists {
        /// The file concerned.
        path: PathBuf,
    },
    /// Data handed to a writer is inconsistent with its shape.
    #[error("shape {shape:?} needs {expected} values, got {found}")]
    DataLength {
        /// The declared shape.
        shape: Vec<usize>,
        /// The number of values the shape implies.
        expected: usize,
        /// The number of values given.
        found: usize,
    },
}

impl IoError {
    pub(crate) fn os(path: &std::path::Path, action: &'static str, source: std::io::Error) -> Self {
        IoError::Os { path: path.to_path_buf(), action, source }
    }

    pub(crate) fn format(path: &std::path::Path, reason: impl Into<String>) -> Self {
        IoError::Format { path: path.to_path_buf(), reason: reason.into() }
    }
}
