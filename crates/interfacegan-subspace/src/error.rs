/// Why a direction, an interpolation or a measure cannot be computed. Never a NaN instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubspaceError {
    /// A vector has no elements.
    #[error("{what} is empty")]
    Empty {
        /// Which input.
        what: String,
    },
    /// A vector holds NaN or infinity.
    #[error("{what} holds a non-finite value {value} at index {index}")]
    NonFinite {
        /// Which input.
        what: String,
        /// Where.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A direction is the zero vector.
    #[error("{what} is the zero vector: it has no direction")]
    Zero {
        /// Which input.
        what: String,
    },
    /// Two inputs that must have the same dimension do not.
    #[error("{what} has dimension {found}, expected {expected}")]
    Dimension {
        /// Which input.
        what: String,
        /// The dimension required.
        expected: usize,
        /// The dimension found.
        found: usize,
    },
    /// The primal direction lies in the span of the conditions, so nothing of it is left after the
    /// projection.
    #[error(
        "the primal direction lies in the span of the conditions (only {residual:.3e} of its norm is \
         orthogonal to them): conditioning on these would remove the whole edit"
    )]
    PrimalInConditionSpan {
        /// The norm of the projected primal relative to the primal's norm.
        residual: f64,
    },
    /// The conditions are linearly dependent and the options ask to reject that.
    #[error("condition {index} is a linear combination of the conditions before it (rank {rank} of {count})")]
    DependentConditions {
        /// The first condition found redundant.
        index: usize,
        /// The rank of the condition set.
        rank: usize,
        /// The number of conditions.
        count: usize,
    },
    /// More directions asked for than the latent space has, or none.
    #[error("invalid argument: {asked} directions asked for, but the latent space has {dim} dimensions")]
    DirectionCount {
        /// Directions asked for.
        asked: usize,
        /// The latent dimension.
        dim: usize,
    },
    /// A W+ layer the code does not have.
    #[error("invalid argument: layer {layer} does not exist: the code has {layers} layer(s)")]
    NoSuchLayer {
        /// The layer asked for.
        layer: usize,
        /// Layers of the code.
        layers: usize,
    },
    /// An interpolation of no steps.
    #[error("invalid argument: steps must be at least 1")]
    NoSteps,
    /// A distance that is NaN or infinite.
    #[error("invalid argument: {what} is not finite: {value}")]
    NonFiniteDistance {
        /// Which distance.
        what: String,
        /// Its value.
        value: f64,
    },
    /// Saved accumulator state that is not one of this dimension.
    #[error("not a saved PCA state of {dim}-dimensional codes: {reason}")]
    PcaState {
        /// The dimension expected.
        dim: usize,
        /// What is wrong.
        reason: String,
    },
    /// A shift without directions.
    #[error("invalid argument: no direction to move along")]
    NoDirection,
    /// A correlation over fewer than two samples.
    #[error("invalid argument: correlation needs at least 2 samples, got {samples}")]
    TooFewSamples {
        /// Samples given.
        samples: usize,
    },
    /// An attribute whose scores do not vary.
    #[error("invalid argument: scores of attribute {attribute} are constant: no correlation is defined")]
    ConstantScores {
        /// The attribute's place.
        attribute: usize,
    },
}
