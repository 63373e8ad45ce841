//! Conditional editing directions, latent-code interpolation and disentanglement measures:
//! the linear algebra of InterFaceGAN (Shen et al., CVPR 2020) on latent codes.
//!
//! ```
//! use interfacegan_subspace::{conditional_direction, cosine_similarity};
//! let smile = [0.8, 0.6, 0.0];
//! let gender = [1.0, 0.0, 0.0];
//! // Move along "smile" without changing "gender".
//! let n = conditional_direction(&smile, &[&gender[..]]).unwrap();
//! assert!(cosine_similarity(&n, &gender).unwrap().abs() < 1e-12);
//! assert!((n[1] - 1.0).abs() < 1e-12);
//! ```

#![warn(missing_docs)]

mod error;
mod interpolate;
mod measures;
mod pca;
mod project;
mod sefa;

pub use error::SubspaceError;
pub use interpolate::{
    DistanceMode, InterpolateOptions, LayerSelection, interpolate, linear_interpolate, linspace, shift,
};
pub use measures::{correlation_matrix, cosine_similarity, cosine_similarity_matrix};
pub use pca::{Pca, PcaAccumulator};
pub use project::{
    DEFAULT_RANK_TOLERANCE, ProjectOptions, Projection, conditional_direction, conditional_direction_with,
};
pub use sefa::{Factorization, sefa};

/// Checks that a vector is non-empty and finite and returns its Euclidean norm.
pub(crate) fn checked_norm(what: impl Fn() -> String, v: &[f64]) -> Result<f64, SubspaceError> {
    if v.is_empty() {
        return Err(SubspaceError::Empty { what: what() });
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(SubspaceError::NonFinite { what: what(), index: i, value: v[i] });
    }
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm == 0.0 {
        return Err(SubspaceError::Zero { what: what() });
    }
    Ok(norm)
}
