use serde::{Deserialize, Serialize};

use crate::{BoundaryError, Split, SvmParams, SvmReport};

/// Options of [`Boundary::fit`](crate::Boundary::fit), in the style of linfa's `Params`: set by
/// builders, read by getters, checked by [`FitOptions::check`] before anything is read. The
/// defaults are the official `train_boundary` ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    pub(crate) chosen_num_or_ratio: f64,
    pub(crate) split_ratio: f64,
    pub(crate) invalid_value: Option<f32>,
    pub(crate) seed: u64,
    pub(crate) skip_remaining: bool,
    pub(crate) attribute: Option<String>,
    pub(crate) latent_space: Option<String>,
    pub(crate) svm: SvmParams,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            chosen_num_or_ratio: 0.02,
            split_ratio: 0.7,
            invalid_value: None,
            seed: 0,
            skip_remaining: false,
            attribute: None,
            latent_space: None,
            svm: SvmParams::default(),
        }
    }
}

impl FitOptions {
    /// Sets the rows per side: a ratio of the valid rows when in (0, 1], a count when above 1.
    /// Official: 0.02.
    pub fn chosen_num_or_ratio(mut self, value: f64) -> Self {
        self.chosen_num_or_ratio = value;
        self
    }

    /// Sets the share of each side used for training, in [0, 1]; the rest validates. Official: 0.7.
    pub fn split_ratio(mut self, value: f64) -> Self {
        self.split_ratio = value;
        self
    }

    /// Sets the score that marks a row as unusable (dropped before selection). Official: none.
    pub fn invalid_value(mut self, value: Option<f32>) -> Self {
        self.invalid_value = value;
        self
    }

    /// Sets the seed of the two shuffles (upstream's are unseeded).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Skips (or not) the accuracy on the remaining rows (a pass over every unselected code).
    pub fn skip_remaining(mut self, skip: bool) -> Self {
        self.skip_remaining = skip;
        self
    }

    /// Names the attribute, recorded in the boundary.
    pub fn attribute(mut self, name: impl Into<String>) -> Self {
        self.attribute = Some(name.into());
        self
    }

    /// Names the latent space, recorded in the boundary.
    pub fn latent_space(mut self, space: impl Into<String>) -> Self {
        self.latent_space = Some(space.into());
        self
    }

    /// Sets the solver's parameters (official: C = 1, tolerance 1e-3).
    pub fn svm(mut self, svm: SvmParams) -> Self {
        self.svm = svm;
        self
    }

    /// Sets the SVM's C.
    pub fn c(mut self, c: f64) -> Self {
        self.svm = self.svm.c(c);
        self
    }

    /// Sets the SVM's stopping tolerance.
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.svm = self.svm.tolerance(tolerance);
        self
    }

    /// Fails naming the first option out of range (the solver's included).
    pub fn check(&self) -> Result<(), BoundaryError> {
        if !(self.chosen_num_or_ratio.is_finite() && self.chosen_num_or_ratio > 0.0) {
            return Err(BoundaryError::InvalidChosenNumOrRatio(self.chosen_num_or_ratio));
        }
        if !(0.0..=1.0).contains(&self.split_ratio) {
            return Err(BoundaryError::InvalidSplitRatio(self.split_ratio));
        }
        Ok(self.svm.check()?)
    }
}

/// What [`Boundary::fit`](crate::Boundary::fit) did: sample counts, accuracies, solver figures and
/// the rows used, so that the fit can be reproduced or checked against another solver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Rows in the input.
    pub samples: usize,
    /// Rows dropped for carrying the invalid score.
    pub invalid_samples: usize,
    /// Latent dimension.
    pub dim: usize,
    /// Rows taken from each end of the score ranking.
    pub chosen_per_side: usize,
    /// Training rows (both classes).
    pub train_samples: usize,
    /// Validation rows (both classes).
    pub val_samples: usize,
    /// Rows between the two ends.
    pub remaining_samples: usize,
    /// Score at or above which a remaining row counts as positive.
    pub remaining_threshold: f32,
    /// Accuracy on the training rows.
    pub train_accuracy: Option<f64>,
    /// Accuracy on the validation rows (`None` when there are none).
    pub val_accuracy: Option<f64>,
    /// Accuracy on the remaining rows (`None` when there are none or it was skipped).
    pub remaining_accuracy: Option<f64>,
    /// The solver's report.
    pub svm: SvmReport,
    /// Wall-clock seconds of the whole fit (selection, SVM, accuracies).
    pub seconds: f64,
    /// Input rows used for training, positives first (not stored in JSON; see the CLI's
    /// `train_indices.npy`).
    #[serde(skip)]
    pub train_indices: Vec<usize>,
    /// Number of positives at the head of `train_indices`.
    pub train_positives: usize,
    /// Input rows used for validation, positives first (not stored in JSON).
    #[serde(skip)]
    pub val_indices: Vec<usize>,
    /// Number of positives at the head of `val_indices`.
    pub val_positives: usize,
}

/// The three accuracies of a fit (`None` where there are no rows, or the pass was skipped).
pub(crate) struct Accuracies {
    pub train: Option<f64>,
    pub val: Option<f64>,
    pub remaining: Option<f64>,
}

impl FitReport {
    pub(crate) fn new(split: &Split, samples: usize, dim: usize, accuracies: Accuracies, svm: SvmReport) -> Self {
        Self {
            samples,
            invalid_samples: split.invalid,
            dim,
            chosen_per_side: split.chosen_per_side,
            train_samples: split.train.len(),
            val_samples: split.val.len(),
            remaining_samples: split.remaining.len(),
            remaining_threshold: split.remaining_threshold,
            train_accuracy: accuracies.train,
            val_accuracy: accuracies.val,
            remaining_accuracy: accuracies.remaining,
            svm,
            seconds: 0.0,
            train_indices: split.train.clone(),
            train_positives: split.train_positives,
            val_indices: split.val.clone(),
            val_positives: split.val_positives,
        }
    }
}
