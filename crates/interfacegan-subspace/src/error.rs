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
    /// An interpolation or measure was given unusable parameters.
    #[error("invalid argument: {0}")]
    Invalid(String),
}
