use std::path::PathBuf;

/// Everything that can go wrong loading a generator or running it.
///
/// Each variant names what it is about (file, tensor key, shapes, values), so that the message
/// alone tells a command-line user what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeneratorError {
    /// A model file of the registry could not be found or is not the registry's.
    #[error(transparent)]
    Model(#[from] interfacegan_models::ModelError),
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
    /// Codes in a space the generator does not take.
    #[error("invalid latent codes: a {architecture} generator does not take codes in {space} (it takes {takes})")]
    SpaceNotTaken {
        /// The generator's architecture.
        architecture: &'static str,
        /// The space given.
        space: String,
        /// The spaces it takes.
        takes: String,
    },
    /// Codes whose values, or whose tensor's shape, do not make whole codes of the space.
    #[error("invalid latent codes: {found} do not make whole codes of shape {code_shape:?}")]
    CodeShape {
        /// What was given: a count of values, or a tensor's shape.
        found: String,
        /// The shape of one code in the space.
        code_shape: Vec<usize>,
    },
    /// A code with a NaN or an infinity.
    #[error("invalid latent codes: code {index} holds a non-finite value")]
    NonFiniteCode {
        /// The code's place.
        index: usize,
    },
    /// A name that is not a latent space.
    #[error("invalid option: unknown latent space `{name}` (use z, w or wp)")]
    UnknownLatentSpace {
        /// The name given.
        name: String,
    },
    /// A name that is not an architecture.
    #[error("invalid option: unknown architecture `{name}` (dcgan, pggan, stylegan, stylegan2, stylegan3)")]
    UnknownArchitecture {
        /// The name given.
        name: String,
    },
    /// A name that is not a noise mode.
    #[error("invalid option: unknown noise mode `{name}` (const, random, none)")]
    UnknownNoiseMode {
        /// The name given.
        name: String,
    },
    /// A configuration that describes no network of the architecture.
    #[error("invalid option: a {model} needs {needs}")]
    Config {
        /// The architecture.
        model: &'static str,
        /// What it lacks.
        needs: String,
    },
    /// A truncation psi that is NaN or infinite.
    #[error("invalid option: truncation psi must be finite")]
    NonFiniteTruncation,
    /// A level of detail outside the progressive model's range.
    #[error("invalid option: lod {lod} is outside [0, {max}) for this {resolution} px {model}")]
    Lod {
        /// The level asked for.
        lod: f32,
        /// The bound.
        max: usize,
        /// The model's resolution.
        resolution: usize,
        /// The architecture.
        model: String,
    },
    /// Raw images whose values do not fill their shape, or that are not RGB.
    #[error("invalid option: {values} raw values of {shape:?} images (RGB images need 3 channels)")]
    RawImages {
        /// Values given.
        values: usize,
        /// The shape `[N, C, H, W]` given.
        shape: [usize; 4],
    },
    /// A grid of no images, of images of different sizes, or too small for them.
    #[error("invalid option: {images} images of sizes {sizes:?} do not fit one {rows} x {columns} grid of one size")]
    Grid {
        /// Images given.
        images: usize,
        /// The first size and the first that differs from it, when one does.
        sizes: Vec<(u32, u32)>,
        /// Rows asked for.
        rows: usize,
        /// Columns asked for.
        columns: usize,
    },
    /// The device could not hand a tensor back.
    #[error("cannot read a tensor back from the device: {reason}")]
    ReadBack {
        /// burn's reason.
        reason: String,
    },
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
