use std::path::PathBuf;

/// Everything that can go wrong loading a generator or running it.
///
/// Each variant names what it is about (file, tensor key, shapes, values), so that the message
/// alone tells a command-line user what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeneratorError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file is not a weight file in a format we read, or it is damaged.
    #[error("{source_name}: {reason}")]
    Format {
        /// The file (or a description of the bytes' origin).
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A pickle in a `.pth` file asks for something a weight file has no business calling.
    #[error(
        "{source_name}: refusing to load: the pickle refers to `{global}`, which is not a tensor or container type (pickles are parsed, never executed)"
    )]
    UnsafePickle {
        /// The file.
        source_name: String,
        /// `module.name` of the refused global.
        global: String,
    },
    /// The model needs a tensor the file does not hold.
    #[error("{source_name}: missing tensor `{key}` (expected shape {expected:?})")]
    MissingTensor {
        /// The file.
        source_name: String,
        /// The state-dict key.
        key: String,
        /// The shape the model expects.
        expected: Vec<usize>,
    },
    /// A tensor has another shape than the model expects.
    #[error("{source_name}: tensor `{key}` has shape {found:?}, the model expects {expected:?}")]
    ShapeMismatch {
        /// The file.
        source_name: String,
        /// The state-dict key.
        key: String,
        /// The shape the model expects.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// The file holds tensors that the model does not use: probably another architecture.
    #[error("{source_name}: unexpected tensors for a {model} model: {keys}")]
    UnexpectedTensors {
        /// The file.
        source_name: String,
        /// The architecture being loaded.
        model: String,
        /// The unused keys, comma separated (at most ten, then a count).
        keys: String,
    },
    /// The architecture cannot be recognised from the tensors, or the configuration is inconsistent.
    #[error("{source_name}: {reason}")]
    Architecture {
        /// The file.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// Latent codes of the wrong shape or with non-finite values, or an unsupported latent space.
    #[error("invalid latent codes: {0}")]
    InvalidCodes(String),
    /// A bad option value (truncation, lod, grid size...).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// Writing an image failed.
    #[error("cannot write image {path}: {reason}")]
    ImageWrite {
        /// The output file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An output file already exists, or writing it failed.
    #[error(transparent)]
    Output(#[from] interfacegan_io::IoError),
}

pub(crate) fn format_error(source_name: &str, reason: impl Into<String>) -> GeneratorError {
    GeneratorError::Format { source_name: source_name.to_string(), reason: reason.into() }
}
