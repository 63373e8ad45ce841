//! InterFaceGAN semantic boundaries: the official sample selection, the fit on
//! [`interfacegan_svm`]'s exact linear SVM (hinge loss, C = 1, free intercept: what
//! `sklearn.svm.SVC(kernel='linear')` solves), and the boundary file format.
//!
//! ```
//! use interfacegan_boundary::{Boundary, FitOptions};
//! // 400 codes in R^8 whose score is mostly their first coordinate.
//! let dim = 8;
//! let codes: Vec<f32> = (0..400 * dim).map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0).collect();
//! let scores: Vec<f32> = codes.chunks(dim).map(|z| z[0] + 0.1 * z[1]).collect();
//! let (boundary, report) = Boundary::fit(&codes, dim, &scores, &FitOptions::default().chosen_num_or_ratio(0.2)).unwrap();
//! assert!(boundary.normal()[0] > 0.9);
//! assert_eq!(report.chosen_per_side, 80);
//! assert!(report.val_accuracy.unwrap() > 0.95);
//! ```

#![warn(missing_docs)]

mod boundary;
mod error;
mod fit;
mod rows;
mod select;

pub use boundary::Boundary;
pub use error::{BoundaryError, NormalProblem};
pub use fit::{FitOptions, FitReport};
pub use interfacegan_svm::{LinearSvm, SvmError, SvmParams, SvmReport};
pub use rows::{CodeRows, CodeSlice};
pub use select::{Split, chosen_count, split_samples};
