//! Why a training set or parameters cannot be used.

/// Why [`train_linear_svm`](crate::train_linear_svm) cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SvmError {
    /// `x` does not hold `labels.len()` rows of `dim` values.
    #[error("the training matrix holds {values} values, not {rows} rows of dimension {dim}")]
    Shape {
        /// Values given.
        values: usize,
        /// Rows expected (number of labels).
        rows: usize,
        /// Row width.
        dim: usize,
    },
    /// All labels are the same, so there is nothing to separate.
    #[error("training needs both classes: {positives} positive and {negatives} negative rows given")]
    OneClass {
        /// Positive rows.
        positives: usize,
        /// Negative rows.
        negatives: usize,
    },
    /// C is not positive and finite.
    #[error("C must be positive and finite, got {0}")]
    InvalidC(f64),
    /// The stopping tolerance is not positive and finite.
    #[error("the tolerance must be positive and finite, got {0}")]
    InvalidTolerance(f64),
    /// No violator would join the working set per round.
    #[error("at least one violator per side must join the working set per round")]
    NoViolatorsPerRound,
    /// A training value is NaN or infinite.
    #[error("training row {row} holds a non-finite value")]
    NonFinite {
        /// The row.
        row: usize,
    },
}
