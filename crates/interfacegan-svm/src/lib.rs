//! An exact linear support vector machine: L2-regularised hinge loss with a free (unregularised)
//! intercept, `min 1/2 |w|^2 + C sum_i max(0, 1 - y_i (w.x_i + b))`, the problem that
//! `sklearn.svm.SVC(kernel='linear')` (libsvm) solves for the official InterFaceGAN.
//!
//! The solver works in three stages, each exact in libsvm's sense when it stops (the maximal KKT
//! violation `m(alpha) - M(alpha)` over all rows is at most `tolerance`, libsvm's `eps`, default
//! 1e-3), each starting from the previous one's result:
//!
//! 1. **Smoothed primal, Newton** (`primal.rs`): the hinge's kink is rounded over a width `delta`
//!    (1, 0.1, 0.01, ...); each level is solved by Newton's method with an exact line search in the
//!    `d + 1` primal unknowns. Cost per step: two passes over the rows plus a `(d+1)^2` Cholesky.
//!    Its multipliers are feasible for the exact dual, with a KKT violation of about `2 delta`.
//! 2. **Active set** (`active_set.rs`): after each level, the rows on the smoothed margin are taken
//!    as the free support vectors and the exact multipliers and intercept solved for directly
//!    (one `(|F| + 1)`-square system), corrected a few times where the KKT conditions fail.
//! 3. **SMO decomposition** (below), only if the first two did not reach the tolerance: the
//!    SVMlight scheme with libsvm's second-order pair selection on a cached kernel block of the
//!    working set (free support vectors plus the worst violators of each side).
//!
//! `w` is kept explicit throughout, so no `n x n` kernel is ever formed, and the intercept is
//! computed as libsvm computes rho (mean over free support vectors). The result agrees with
//! `SVC(kernel='linear')` to the accuracy both stop at (cosine >= 0.99999 on the benchmarks).
//!
//! ```
//! use interfacegan_svm::{SvmParams, train_linear_svm};
//! // Two rows per class on a line: the hard margin is w = 1, b = 0 (met to libsvm's tolerance).
//! let x = [1.0f32, 2.0, -1.0, -2.0];
//! let (model, report) = train_linear_svm(&x, 1, &[true, true, false, false], &SvmParams::default()).unwrap();
//! assert!((model.weights[0] - 1.0).abs() < 1e-2 && model.bias.abs() < 1e-2, "{model:?}");
//! assert!(report.converged && model.decision(&[0.5]) > 0.0);
//! ```

#![warn(missing_docs)]

mod active_set;
mod dense;
mod error;
pub mod kernels;
mod newton;
mod params;
mod primal;
mod smo;
mod train;

pub use error::SvmError;
pub use params::SvmParams;
pub use train::{LinearSvm, SvmReport, train_linear_svm};
