use std::path::PathBuf;

use interfacegan_generator::GeneratorError;

/// Everything that can go wrong preparing a target, inverting it or training an encoder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InversionError {
    /// A model file of the registry could not be found or is not the registry's.
    #[error(transparent)]
    Model(#[from] interfacegan_models::ModelError),
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
    /// A generator on a device without gradients.
    #[error("invalid option: {what} needs gradients: load the generator on an autodiff device (`device.autodiff()`)")]
    NeedsAutodiff {
        /// `"inversion"` or `"training"`.
        what: &'static str,
    },
    /// A latent space the generator does not have.
    #[error("invalid option: a {architecture} generator has no {space} space (it takes {takes})")]
    NoSuchSpace {
        /// The generator's architecture.
        architecture: &'static str,
        /// The space asked for.
        space: String,
        /// The spaces it takes.
        takes: String,
    },
    /// No start per target.
    #[error("invalid option: at least one start per target is needed (restarts >= 1)")]
    NoRestarts,
    /// More steps or restarts than [`crate::MAX_STEPS`], or a training of no step or pair, or of
    /// batches over its limit.
    #[error("invalid option: {count} {what}: at most {max} (and at least 1)")]
    Count {
        /// What is counted: `"steps"`, `"restarts"`, `"pairs per step"`.
        what: &'static str,
        /// The count given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A weight or noise level that is negative, NaN or infinite.
    #[error("invalid option: {what} must be finite and >= 0, not {value}")]
    Negative {
        /// Which option.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// A learning rate that is not positive and finite.
    #[error("invalid option: the learning rate must be positive and finite, not {0}")]
    LearningRate(f64),
    /// Ramps that are not fractions of the run adding up to at most 1.
    #[error(
        "invalid option: ramp-up {rampup} and ramp-down {rampdown} must be fractions of the run that add up to at most 1"
    )]
    Ramps {
        /// The ramp-up fraction.
        rampup: f64,
        /// The ramp-down fraction.
        rampdown: f64,
    },
    /// No VGG16 layer to compare, or a name that is not one of its convolutions.
    #[error("invalid option: `{name}` is not a VGG16 convolution (conv1_1 ... conv5_3)")]
    VggLayer {
        /// The name given (empty when none was).
        name: String,
    },
    /// A target resolution the encoder or the targets cannot have.
    #[error("invalid option: {resolution} px: targets and encoders take square images of a power-of-two size >= 8")]
    Resolution {
        /// The resolution asked for.
        resolution: usize,
    },
    /// An encoder made for another generator or space.
    #[error(
        "invalid option: the encoder predicts {encoder_space} codes of {encoder_code_len} values from \
         {encoder_resolution} px images; the {architecture} generator needs {space} codes of {code_len} values from \
         {resolution} px images"
    )]
    EncoderMismatch {
        /// The encoder's space.
        encoder_space: String,
        /// Its code length.
        encoder_code_len: usize,
        /// Its image size.
        encoder_resolution: usize,
        /// The generator's architecture.
        architecture: &'static str,
        /// The space asked for.
        space: String,
        /// The generator's code length there.
        code_len: usize,
        /// The generator's resolution.
        resolution: usize,
    },
    /// No targets.
    #[error("invalid option: no targets to invert")]
    NoTargets,
    /// Codes given to start from of the wrong length.
    #[error(
        "invalid codes: {values} starting values for {targets} targets; each code of the {space} space has {code_len} values"
    )]
    StartLength {
        /// Values given.
        values: usize,
        /// Targets given.
        targets: usize,
        /// The space.
        space: String,
        /// Values per code.
        code_len: usize,
    },
    /// A starting code with a NaN or an infinity.
    #[error("invalid codes: a starting code holds a non-finite value")]
    NonFiniteStart,
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
    /// The device could not hand a tensor back, or a gradient is missing.
    #[error("device error: {reason}")]
    Device {
        /// burn's reason, or the missing gradient.
        reason: String,
    },
}
