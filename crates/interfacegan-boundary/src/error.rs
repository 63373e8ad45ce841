use std::path::PathBuf;

use interfacegan_svm::SvmError;

/// Why a boundary cannot be fitted, loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BoundaryError {
    /// `chosen_num_or_ratio` is not a positive number.
    #[error("bad option: chosen_num_or_ratio must be a positive number (a ratio in (0, 1] or a count), got {0}")]
    InvalidChosenNumOrRatio(f64),
    /// `split_ratio` is outside [0, 1].
    #[error("bad option: split_ratio must lie in [0, 1], got {0}")]
    InvalidSplitRatio(f64),
    /// A score is NaN or infinite (and not the invalid value).
    #[error("bad input: score of row {row} is {value}; mark unusable rows with an invalid value (-V) instead")]
    NonFiniteScore {
        /// The row.
        row: usize,
        /// Its score.
        value: f32,
    },
    /// The options select no row per side.
    #[error("bad input: {valid} valid rows and chosen_num_or_ratio {chosen_num_or_ratio} select no sample per side")]
    NothingChosen {
        /// Rows with a usable score.
        valid: usize,
        /// The option.
        chosen_num_or_ratio: f64,
    },
    /// The top and bottom rows share a score: the scores do not separate them.
    #[error(
        "bad input: the top and bottom {chosen} scores overlap (both sides hold the score {score}; the scores range \
         over [{min}, {max}]): they do not tell the samples apart"
    )]
    ScoresOverlap {
        /// Rows per side.
        chosen: usize,
        /// The shared score.
        score: f32,
        /// The lowest valid score.
        min: f32,
        /// The highest valid score.
        max: f32,
    },
    /// Codes and scores of different counts.
    #[error("bad input: {codes} latent codes but {scores} scores: both files must describe the same samples")]
    CountMismatch {
        /// Code rows.
        codes: usize,
        /// Scores.
        scores: usize,
    },
    /// Codes of dimension 0, or values that do not divide into rows.
    #[error("bad input: {values} code values do not form rows of dimension {dim}")]
    CodeShape {
        /// Values given.
        values: usize,
        /// The row width.
        dim: usize,
    },
    /// A code row with a NaN or an infinity.
    #[error("bad input: code row {row} holds a non-finite value{}", .column.map(|c| format!(" at column {c}")).unwrap_or_default())]
    NonFiniteCode {
        /// The row.
        row: usize,
        /// The column, when known.
        column: Option<usize>,
    },
    /// A row index past the codes.
    #[error("bad input: code row {row} asked for, but there are {rows}")]
    RowOutOfRange {
        /// The row asked for.
        row: usize,
        /// Rows held.
        rows: usize,
    },
    /// A buffer that does not hold the rows asked for.
    #[error("bad input: {values} values cannot hold {rows} rows of {dim}")]
    BufferSize {
        /// The buffer's length.
        values: usize,
        /// Rows asked for.
        rows: usize,
        /// The row width.
        dim: usize,
    },
    /// An empty, non-finite or zero normal vector.
    #[error("bad input: {0}")]
    Normal(NormalProblem),
    /// A code whose dimension is not the boundary's.
    #[error("bad input: code of dimension {code} for a boundary of dimension {boundary}")]
    DimensionMismatch {
        /// The code's dimension.
        code: usize,
        /// The boundary's.
        boundary: usize,
    },
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

/// What is wrong with a boundary's normal vector.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NormalProblem {
    /// No values.
    #[error("a boundary normal needs at least one value")]
    Empty,
    /// A NaN or an infinity.
    #[error("boundary normal value {index} is {value}")]
    NonFinite {
        /// Its place.
        index: usize,
        /// The value.
        value: f64,
    },
    /// All zeros.
    #[error("the boundary normal is the zero vector")]
    Zero,
}
